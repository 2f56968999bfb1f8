package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard-msp/switchboard/infra/coldstart"
	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/billingbus/eventbridgebus"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/envelope/kmskeys"
	"github.com/switchboard-msp/switchboard/shared/jobs/sqsqueue"
	"github.com/switchboard-msp/switchboard/shared/mail/sesmail"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Cold start targets of issue 5: each function against the floor (infra/coldstart/floor).
const (
	maxColdRatio = 1.3
	maxSizeRatio = 1.5
	coldRuns     = 5
	floorName    = "floor"
	// The committed sample events name these objects.
	sampleOrg      = "sample-org"
	sampleCustomer = "sample-customer"
	sampleTenant   = "sample-tenant"
)

// coldBuild builds every function and the floor in the background while the bench
// counts requests; wait returns the binaries' directory.
type coldBuild struct {
	dir  string
	done chan error
	took time.Duration
	once sync.Once
	err  error
}

func startColdBuild(ctx context.Context, root string) *coldBuild {
	b := &coldBuild{dir: filepath.Join(cacheDir(), "coldstart", runtime.GOOS+"_"+runtime.GOARCH), done: make(chan error, 1)}
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	go func() {
		start := time.Now()
		err := coldstart.Build(ctx, goCmd, root, b.dir, "./functions/...", "./infra/coldstart/floor")
		b.took = time.Since(start)
		b.done <- err
	}()
	return b
}

// wait waits for the build (once; later calls return the same result).
func (c *coldBuild) wait() (string, error) {
	c.once.Do(func() { c.err = <-c.done })
	return c.dir, c.err
}

// cacheDir is where `make test` keeps its tools (SWITCHBOARD_CACHE); the binaries live
// there between runs so that an unchanged function is not linked again.
func cacheDir() string {
	if d := os.Getenv("SWITCHBOARD_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "switchboard")
	}
	return filepath.Join(os.TempDir(), "switchboard")
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// coldStart cold-starts every function and the floor on the bench's table and prints
// each one's median against the floor's, and its size against the floor's. It reports
// whether a function misses a target without a reason recorded on its route.
func (b *bench) coldStart(ctx context.Context, root string, build *coldBuild, endpoint string) (bool, error) {
	runs := coldRuns
	if v := os.Getenv("BENCH_COLDSTART_RUNS"); v != "" {
		if _, err := fmt.Sscan(v, &runs); err != nil || runs < 1 {
			return false, fmt.Errorf("BENCH_COLDSTART_RUNS=%q: want a positive number", v)
		}
	}
	dir, err := build.wait()
	if err != nil {
		return false, err
	}
	env := functionEnv(ctx, b.cfg, b.table, endpoint)
	// The PSA connection's samples talk to the ConnectWise stand-in, with its demo
	// companies, as they would to the PSA.
	cw := psastandin.NewConnectWise()
	defer cw.Close()
	first := cw.Seed(psastandin.DemoCompanies()...)[0]
	cw.SeedContacts(psastandin.DemoContacts(first.ID)...)
	env = append(env, api.EnvPSAConnectWiseURL+"="+cw.URL())
	if moto, keyID := os.Getenv("MOTO_ENDPOINT"), envValue(env, kmskeys.EnvKeyID); moto != "" && !strings.HasPrefix(keyID, "alias/") {
		cfg := b.cfg.Copy()
		cfg.Credentials = awsconfig.LocalCredentials()
		b.keys = kmskeys.New(kmskeys.NewClient(cfg, moto), keyID)
	}
	if err := b.seedSamples(ctx, root); err != nil {
		return false, fmt.Errorf("seed the sample organization: %w", err)
	}

	floorEvent, err := os.ReadFile(filepath.Join(root, "events", "profile-get.json"))
	if err != nil {
		return false, err
	}
	fns := []coldstart.Function{{Name: floorName, Path: filepath.Join(dir, floorName), Event: floorEvent}}
	names, err := functionNames(root)
	if err != nil {
		return false, err
	}
	if only := os.Getenv("BENCH_COLDSTART_FUNCTIONS"); only != "" {
		keep := strings.Split(only, ",")
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(keep, n) })
	}
	// Destructive samples go last in each round, so the others find the sample objects;
	// the table is put back after each round.
	slices.SortStableFunc(names, func(x, y string) int { return boolInt(destructive(x)) - boolInt(destructive(y)) })
	sampleUser, err := b.deps.Store.LookupIdentity(ctx, templategen.SampleSubject)
	if err != nil {
		return false, fmt.Errorf("the sample user: %w", err)
	}
	for _, name := range names {
		ev, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
		if err != nil {
			return false, err
		}
		if ev, err = withUserClaim(ev, sampleUser); err != nil {
			return false, fmt.Errorf("events/%s.json: %w", name, err)
		}
		fns = append(fns, coldstart.Function{Name: name, Path: filepath.Join(dir, name), Event: ev})
	}

	// Each round starts from the same table: the samples seeded, nothing any round made.
	start, err := readTable(ctx, b.db, b.table)
	if err != nil {
		return false, err
	}
	var restoreErr error
	measureStart := time.Now()
	results := coldstart.Measure(ctx, fns, coldstart.Options{Env: env, Runs: runs, Warmup: 1, Baseline: true, Warm: true,
		Prepare: freshRequest, Progress: func(round, _ int) {
			if _, err := start.restore(ctx, b.db, b.table); err != nil {
				restoreErr = err
			}
		}})
	if restoreErr != nil {
		return false, fmt.Errorf("the rounds' table: %w", restoreErr)
	}
	measured := time.Since(measureStart)

	floor := results[0]
	if floor.Err != nil {
		return false, fmt.Errorf("floor: %w", floor.Err)
	}
	fmt.Printf("\nCold start: exec → first response, through the Lambda Runtime API on 127.0.0.1 (init: exec → first request for an invocation)\n")
	fmt.Printf("  median of %d per function after 1 warm-up, the floor started before each; %s/%s binaries built with the deployment's flags\n"+
		"  (%s, while the requests above were counted; unchanged binaries are kept in %s); measured in %s\n",
		runs, runtime.GOOS, runtime.GOARCH, build.took.Round(time.Second), dir, measured.Round(time.Second))
	floorAdded := coldstart.Median(added(floor))
	fmt.Printf("  floor (infra/coldstart/floor: aws-lambda-go, AWS config, one GetItem): %.1f ms, init %.1f ms, warm %.1f ms, %.1f MB (%d runs)\n",
		ms(floor.Median()), ms(coldstart.Median(floor.Inits)), ms(coldstart.Median(floor.Warms)), mb(floor.Size), len(floor.Samples))
	verbose := os.Getenv("BENCH_COLDSTART_VERBOSE") != ""
	fmt.Printf("  done ms: exec → the end of the invocation, once the work a function leaves for after its response (the call's\n" +
		"  count, the session's activity: shared/afterresponse) is done; the caller does not wait for it\n")
	fmt.Printf("  warm ms: the same event again, once the first invocation ended: the request on a warm process. added: what the\n"+
		"  cold start added to the request (cold − warm, per run), against the floor's %.1f ms; a function whose request alone\n"+
		"  takes longer than the floor's whole cold start cannot be within its ratio, however little its cold start adds\n", ms(floorAdded))
	fmt.Printf("%-28s %8s %8s %6s %8s %6s %8s %8s %6s  %-14s %s\n", "function", "init ms", "cold ms", "ratio", "warm ms", "added", "done ms", "size MB", "ratio", "first answer", "")
	routes := map[string]api.Route{}
	for _, rt := range api.Routes() {
		routes[rt.Function] = rt
	}
	res := results[1:]
	slices.SortFunc(res, func(x, y coldstart.Result) int { return strings.Compare(x.Function, y.Function) })
	var coldOK, initOK, addedOK, sizeOK, sizeExcused, broken int
	var misses []string
	var worstCold, worstSize coldstart.Result
	for _, r := range res {
		if r.Err != nil {
			broken++
			misses = append(misses, r.Function)
			fmt.Printf("%-28s  failed: %v\n", r.Function, r.Err)
			continue
		}
		cold := float64(r.Median()) / float64(floor.Median())
		if float64(coldstart.Median(r.Inits)) <= maxColdRatio*float64(coldstart.Median(floor.Inits)) {
			initOK++
		}
		addedRatio := float64(coldstart.Median(added(r))) / float64(floorAdded)
		if addedRatio <= maxColdRatio {
			addedOK++
		}
		size := float64(r.Size) / float64(floor.Size)
		var notes []string
		miss := false
		if cold <= maxColdRatio {
			coldOK++
		} else {
			notes, miss = append(notes, "cold start over target"), true
		}
		reason := routes[r.Function].SizeReason
		switch {
		case size <= maxSizeRatio:
			sizeOK++
		case reason != "":
			sizeExcused++
			notes = append(notes, "size: "+reason)
		default:
			notes, miss = append(notes, "size over target"), true
		}
		if miss {
			misses = append(misses, r.Function)
		}
		if worstCold.Function == "" || r.Median() > worstCold.Median() {
			worstCold = r
		}
		if worstSize.Function == "" || r.Size > worstSize.Size {
			worstSize = r
		}
		if a, w := answer(r.Last), answerOf(r.Last.WarmKind, r.Last.WarmBody); w != a {
			notes = append(notes, "warm answer "+w)
		}
		fmt.Printf("%-28s %8.1f %8.1f %6.2f %8.1f %6.2f %8.1f %8.1f %6.2f  %-14s %s\n", r.Function, ms(coldstart.Median(r.Inits)), ms(r.Median()), cold,
			ms(coldstart.Median(r.Warms)), addedRatio, ms(coldstart.Median(r.Dones)), mb(r.Size), size, answer(r.Last), strings.Join(notes, "; "))
		if verbose {
			fmt.Printf("%28s %s\n", "", samples(r))
			if a := answer(r.Last); a != "response" && !strings.HasPrefix(a, "HTTP 2") && !strings.HasPrefix(a, "HTTP 4") {
				fmt.Printf("%28s %.300s\n%28s %.600s\n", "", r.Last.Body, "", lastOutput(r.Last.Output))
			}
		}
	}
	n := len(res)
	fmt.Printf("  cold start ≤ %.1f× floor: %d of %d functions; size ≤ %.1f× floor: %d of %d (%d more over with a reason recorded on the route)",
		maxColdRatio, coldOK, n, maxSizeRatio, sizeOK, n, sizeExcused)
	if broken > 0 {
		fmt.Printf("; %d failed to answer", broken)
	}
	fmt.Printf("\n  (init alone ≤ %.1f× the floor's: %d of %d; what the cold start added to the request ≤ %.1f× the floor's: %d of %d)\n",
		maxColdRatio, initOK, n, maxColdRatio, addedOK, n)
	if worstCold.Function != "" {
		fmt.Printf("  slowest: %s %.1f ms (%.2f×); largest: %s %.1f MB (%.2f×)\n", worstCold.Function, ms(worstCold.Median()),
			float64(worstCold.Median())/float64(floor.Median()), worstSize.Function, mb(worstSize.Size), float64(worstSize.Size)/float64(floor.Size))
	}
	if len(misses) > 0 {
		fmt.Printf("  over target without a recorded reason: %s\n", strings.Join(misses, ", "))
	}
	return len(misses) > 0, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// destructive reports whether a function's sample removes or moves the sample objects.
func destructive(name string) bool {
	return strings.HasSuffix(name, "-delete") || strings.HasSuffix(name, "-remove") || strings.HasSuffix(name, "-unlink") ||
		name == "customers-merge"
}

// functionNames are the folders under functions/ that hold a main package.
func functionNames(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); e.IsDir() && err == nil {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// functionEnv is the template's Globals environment, on the bench's table and the
// local stack: moto for SES, Cognito, S3, SQS, KMS and EventBridge when MOTO_ENDPOINT
// is set, with the user pool, queue, bucket, key, billing bus and sender identity made
// there, otherwise a closed port
// (those calls fail fast; any well-formed answer counts).
func functionEnv(ctx context.Context, cfg aws.Config, table, dynamoEndpoint string) []string {
	moto := os.Getenv("MOTO_ENDPOINT")
	env := map[string]string{
		awsconfig.EnvTable:            table,
		awsconfig.EnvDynamoDBEndpoint: dynamoEndpoint,
		"CONSOLE_URL":                 "https://console.example.com",
		"SES_SENDER":                  "example.com",
		"MAIL_FROM":                   "Switchboard <no-reply@example.com>",
		"USER_POOL_ID":                "us-east-1_coldstart",
		"USER_POOL_CLIENT_ID":         "coldstartclient",
		"DOCUMENTS_BUCKET":            "switchboard-coldstart",
		"JOBS_QUEUE_URL":              "http://127.0.0.1:9/123456789012/switchboard-coldstart",
		kmskeys.EnvKeyID:              "alias/switchboard-coldstart",
		// Graph is never reached by a sample event that the bench times; a closed port
		// keeps a stray call local and quick.
		msgraph.EnvAuthority: "http://127.0.0.1:9",
		msgraph.EnvGraphURL:  "http://127.0.0.1:9",
	}
	endpoint := "http://127.0.0.1:9"
	if moto != "" {
		endpoint = moto
		if err := motoResources(ctx, cfg, moto, env); err != nil {
			fmt.Fprintf(os.Stderr, "bench: cold start without moto's resources: %v\n", err)
		}
	}
	for _, k := range []string{"SES_ENDPOINT", "COGNITO_ENDPOINT", "S3_ENDPOINT", "SQS_ENDPOINT", kmskeys.EnvEndpoint, eventbridgebus.EnvEndpoint} {
		env[k] = endpoint
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// envValue is the value of name in env (NAME=value entries), or "".
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// sealedConnection is a connection of orgID with creds sealed by keys, as the API
// stores one.
func sealedConnection(ctx context.Context, keys envelope.Keys, orgID string, c domain.Connection, creds domain.Credentials) (domain.Connection, error) {
	plain, err := json.Marshal(creds)
	if err != nil {
		return c, err
	}
	if c.Sealed, err = envelope.Seal(ctx, keys, plain, c.EncryptionContext(orgID)); err != nil {
		return c, fmt.Errorf("seal %s: %w", c.ID, err)
	}
	c.Hint, c.Status = domain.Hint(creds.MainSecret(c.Type)), domain.ConnectionUntested
	return c, nil
}

// motoResources makes, in moto, what the template makes in AWS for the functions: the
// user pool and its app client, the jobs queue, the documents bucket and the verified
// sender domain; env gets their ids.
func motoResources(ctx context.Context, cfg aws.Config, moto string, env map[string]string) error {
	cfg.Credentials = awsconfig.LocalCredentials()
	q, err := sqsqueue.NewClient(cfg, moto).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("switchboard-coldstart")})
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	env["JOBS_QUEUE_URL"] = aws.ToString(q.QueueUrl)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(moto), true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(env["DOCUMENTS_BUCKET"])}); err != nil {
		var owned *s3types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return fmt.Errorf("bucket: %w", err)
		}
	}
	cognito := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(moto) })
	pool, err := cognito.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("switchboard-coldstart")})
	if err != nil {
		return fmt.Errorf("user pool: %w", err)
	}
	client, err := cognito.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: pool.UserPool.Id, ClientName: aws.String("console")})
	if err != nil {
		return fmt.Errorf("app client: %w", err)
	}
	env["USER_POOL_ID"], env["USER_POOL_CLIENT_ID"] = aws.ToString(pool.UserPool.Id), aws.ToString(client.UserPoolClient.ClientId)
	key, err := kmskeys.NewClient(cfg, moto).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("switchboard-coldstart")})
	if err != nil {
		return fmt.Errorf("kms key: %w", err)
	}
	env[kmskeys.EnvKeyID] = aws.ToString(key.KeyMetadata.KeyId)
	// The usage meter publishes on the billing bus.
	env[billingbus.EnvBusName] = "switchboard-billing-coldstart"
	bus := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(moto) })
	if _, err := bus.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(env[billingbus.EnvBusName])}); err != nil {
		var exists *ebtypes.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return fmt.Errorf("billing bus: %w", err)
		}
	}
	ses := sesmail.NewClient(cfg, moto)
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(env["SES_SENDER"])}); err != nil {
		var exists *sestypes.AlreadyExistsException
		if !errors.As(err, &exists) {
			return fmt.Errorf("sender identity: %w", err)
		}
	}
	return nil
}

// withUserClaim adds auth.ClaimUserID to the token claims of a route's sample event, as
// the user pool's Pre Token Generation trigger puts it in every token of a mapped
// identity: the committed events cannot carry it, since the sample user's id is made
// when the bench signs it up. Other events are returned as they are.
func withUserClaim(raw []byte, userID string) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	rc, _ := ev["requestContext"].(map[string]any)
	authz, _ := rc["authorizer"].(map[string]any)
	jwt, _ := authz["jwt"].(map[string]any)
	claims, ok := jwt["claims"].(map[string]any)
	if !ok {
		return raw, nil
	}
	claims[auth.ClaimUserID] = userID
	return json.Marshal(ev)
}

// idempotencyKeyHeader is a sample event's Idempotency-Key header with its value.
var idempotencyKeyHeader = regexp.MustCompile(`"idempotency-key":\s*"[^"]*"`)

// freshRequest makes an invocation's event from a sample's as a new request would
// come: with a new Idempotency-Key, so that it makes its change instead of replaying
// the answer stored for the key the round before; with new values where an
// organization takes each value once (uniqueFields), so that a create creates instead
// of answering 409 for what the round before made; and with a token just issued after
// a sign-in (auth_time, iat, exp), so that a route that asks for a fresh sign-in serves
// it rather than answering 401.
func freshRequest(_ string, event []byte) []byte {
	event = idempotencyKeyHeader.ReplaceAll(event, []byte(`"idempotency-key":"`+randomHex(16)+`"`))
	var ev map[string]any
	if json.Unmarshal(event, &ev) != nil {
		return event
	}
	changed := freshToken(ev, time.Now())
	body, _ := ev["body"].(string)
	var payload any
	if body != "" && json.Unmarshal([]byte(body), &payload) == nil && uniqueValues(payload, randomHex(8)) {
		if b, err := json.Marshal(payload); err == nil {
			ev["body"], changed = string(b), true
		}
	}
	if !changed {
		return event
	}
	if out, err := json.Marshal(ev); err == nil {
		return out
	}
	return event
}

// freshToken dates the JWT claims of an API Gateway event as a token issued at now,
// right after a sign-in; it reports whether the event had claims.
func freshToken(ev map[string]any, now time.Time) bool {
	rc, _ := ev["requestContext"].(map[string]any)
	authz, _ := rc["authorizer"].(map[string]any)
	jwt, _ := authz["jwt"].(map[string]any)
	claims, ok := jwt["claims"].(map[string]any)
	if !ok {
		return false
	}
	at := fmt.Sprint(now.Unix())
	claims["auth_time"], claims["iat"], claims["exp"] = at, at, fmt.Sprint(now.Add(time.Hour).Unix())
	return true
}

// uniqueFields are the body fields whose values an organization holds once (a
// customer's external id and PSA link, a user's or invitee's email, a tenant's Entra
// id), each with how a sample value becomes a new one.
var uniqueFields = map[string]func(v, suffix string) string{
	"externalId": func(v, suffix string) string { return v + "-" + suffix },
	"email":      func(v, suffix string) string { return "b" + suffix + "." + v },
	// The same suffix gives the confirmation the same new value as the email.
	"confirmEmail": func(v, suffix string) string { return "b" + suffix + "." + v },
	"entraTenantId": func(_, _ string) string {
		h := randomHex(16)
		return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:]
	},
}

// uniqueValues gives the uniqueFields in v, at any depth, new values; it reports
// whether it changed any.
func uniqueValues(v any, suffix string) bool {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if s, ok := x.(string); ok && uniqueFields[k] != nil {
				t[k], changed = uniqueFields[k](s, suffix), true
				continue
			}
			changed = uniqueValues(x, suffix) || changed
		}
	case []any:
		for _, x := range t {
			changed = uniqueValues(x, suffix) || changed
		}
	}
	return changed
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// seedSamples makes the objects the committed sample events name: the signed-in user
// of events/me-get.json (by a first sign-in), the organization sample-org they own,
// and its sample customer and tenant. It is idempotent.
func (b *bench) seedSamples(ctx context.Context, root string) error {
	raw, err := os.ReadFile(filepath.Join(root, "events", "me-get.json"))
	if err != nil {
		return err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return err
	}
	res, err := b.adapter["me-get"](ctx, ev)
	if err != nil || res.StatusCode != http.StatusOK {
		return fmt.Errorf("sample sign-in: %v %d %s", err, res.StatusCode, res.Body)
	}
	userID, err := b.deps.Store.LookupIdentity(ctx, ev.RequestContext.Authorizer.JWT.Claims["sub"])
	if err != nil {
		return err
	}
	if _, err := b.deps.Store.GetOrganization(ctx, sampleOrg); err != nil {
		org := domain.Organization{ID: sampleOrg, Name: "Sample organization", Plan: domain.PlanProfessional, Profile: domain.NewProfile("Sample organization"),
			CreatedAt: time.Now().UTC()}
		if err := b.deps.Store.CreateOrganization(ctx, org, domain.Membership{OrganizationID: sampleOrg, UserID: userID, Role: permission.Owner},
			audit.Event{Category: audit.Settings, Action: "organization.create"}); err != nil {
			return err
		}
	}
	c := domain.Customer{ID: sampleCustomer, Name: "Sample customer", CreatedAt: time.Now().UTC()}
	_ = b.deps.Store.CreateCustomer(ctx, sampleOrg, c, audit.Event{Category: audit.Customer, Action: "bench"})
	t := domain.Tenant{ID: sampleTenant, EntraTenantID: benchGUID(), PrimaryDomain: "sample.onmicrosoft.com", DisplayName: "Sample tenant",
		LicensedUsers: 25, Health: domain.HealthHealthy, CreatedAt: time.Now().UTC()}
	_ = b.deps.Store.CreateTenant(ctx, sampleOrg, t, audit.Event{Category: audit.Tenant, Action: "bench"})
	_, _ = b.deps.Store.AssociateTenant(ctx, sampleOrg, sampleCustomer, sampleTenant, audit.Event{Category: audit.Tenant, Action: "bench"})
	return b.seedSampleDetails(ctx, userID)
}

// seedSampleDetails makes the other objects the committed sample events name, so that
// their cold starts serve the object rather than answer 404 ("already exists" is
// expected when the bench's table had them already).
func (b *bench) seedSampleDetails(ctx context.Context, ownerID string) error {
	st, now := b.deps.Store, time.Now().UTC()
	ev := func(cat audit.Category) audit.Event { return audit.Event{Category: cat, Action: "bench"} }
	_ = st.CreateContact(ctx, sampleOrg, domain.Contact{ID: "sample-contact", CustomerID: sampleCustomer, Name: "Sample contact",
		Email: "contact@sample.example", EscalationOrder: 1, CreatedAt: now, Version: 1}, ev(audit.Customer))
	_ = st.CreateTicket(ctx, sampleOrg, domain.Ticket{ID: "sample-ticket", CustomerID: sampleCustomer, Subject: "Sample ticket",
		Status: domain.TicketStatuses()[0], Priority: domain.TicketPriorities()[0], CreatedAt: now, UpdatedAt: now, Version: 1}, ev(audit.Customer))
	_ = st.CreateCompanyUser(ctx, sampleOrg, domain.CompanyUser{ID: "sample-user", CustomerID: sampleCustomer, Email: "user@sample.example",
		Name: "Sample user", Role: domain.CompanyUserRole, Source: "manual", CreatedAt: now, UpdatedAt: now, Version: 1}, ev(audit.Customer))
	_ = st.CreateDocument(ctx, sampleOrg, domain.Document{ID: "sample-document", CustomerID: sampleCustomer, Name: "sample.pdf",
		ContentType: "application/pdf", Size: 1, Key: "documents/" + sampleOrg + "/" + sampleCustomer + "/sample-document", CreatedAt: now},
		ev(audit.Customer))
	// A second member of the sample organization, the platform user the samples name.
	if _, err := st.GetMember(ctx, sampleOrg, "sample-id"); errors.Is(err, store.ErrNotFound) {
		// Taken already when an earlier round removed the membership: kept then.
		_ = st.CreateUser(ctx, domain.User{ID: "sample-id", Email: "member@sample.example", Name: "Sample member", CreatedAt: now})
		if err := st.PutMember(ctx, domain.Membership{OrganizationID: sampleOrg, UserID: "sample-id", Role: permission.Technician, JoinedAt: now},
			ev(audit.UserManagement)); err != nil {
			return fmt.Errorf("sample member: %w", err)
		}
	}
	// The sample user's own account in the client portal: an Admin of the sample
	// customer, bound to them, which the portal samples act as.
	_ = st.CreateCompanyUser(ctx, sampleOrg, domain.CompanyUser{ID: "sample-portal-admin", CustomerID: sampleCustomer,
		Email: "portal-admin@sample.example", Name: "Sample portal admin", Role: domain.CompanyAdmin, Source: "manual",
		PortalAccess: true, PortalStatus: domain.PortalActive, PortalUserID: ownerID, CreatedAt: now, UpdatedAt: now, Version: 1},
		ev(audit.Customer))
	// A customer import the sample user started: what jobs-get reads and the job
	// worker's sample message runs.
	if _, err := st.GetJob(ctx, sampleOrg, "sample-job"); errors.Is(err, store.ErrNotFound) {
		csv := []byte("Customer Name,Primary Contact,Primary Contact Email,Phone,External ID\r\nSample Imported Ltd,Pat Doe,pat@imported.example,,IMP-1\r\n")
		if _, err := st.CreateJob(ctx, store.Job{ID: "sample-job", OrganizationID: sampleOrg, Kind: api.KindCustomerImport,
			Progress: store.JobProgress{Total: 1}, Category: audit.Customer, CreatedBy: audit.Actor{UserID: ownerID}}, csv, ev(audit.Customer)); err != nil {
			return fmt.Errorf("sample job: %w", err)
		}
	}
	// A Microsoft 365 connection of a tenant of its own (the create sample connects the
	// sample tenant; Graph is a closed port), and a ConnectWise connection to the
	// stand-in.
	if _, err := st.GetConnection(ctx, sampleOrg, "sample-connection"); b.keys != nil && errors.Is(err, store.ErrNotFound) {
		_ = st.CreateTenant(ctx, sampleOrg, domain.Tenant{ID: "sample-connected-tenant", EntraTenantID: benchGUID(),
			PrimaryDomain: "connected.onmicrosoft.com", DisplayName: "Connected tenant", LicensedUsers: 10, Health: domain.HealthHealthy,
			CreatedAt: now}, ev(audit.Tenant))
		for _, sc := range []struct {
			c     domain.Connection
			creds domain.Credentials
		}{
			{domain.Connection{ID: "sample-connection", Type: domain.ConnectionM365, Label: "Sample Graph app", TenantID: "sample-connected-tenant"},
				domain.Credentials{EntraTenantID: benchGUID(), ClientID: benchGUID(), ClientSecret: "sample~secret.value-0123456789"}},
			{domain.Connection{ID: "sample-psa-connection", Type: domain.ConnectionConnectWise, Label: "Sample ConnectWise"},
				domain.Credentials{Site: "api-na.myconnectwise.net", CompanyID: "contoso", PublicKey: "pub", PrivateKey: "priv",
					ClientID: "stand-in-client"}},
		} {
			sc.c.OrganizationID, sc.c.CreatedAt, sc.c.UpdatedAt, sc.c.RotatedAt = sampleOrg, now, now, now
			c, err := sealedConnection(ctx, b.keys, sampleOrg, sc.c, sc.creds)
			if err == nil {
				err = st.CreateConnection(ctx, sampleOrg, c, ev(audit.Settings))
			}
			if err != nil {
				return fmt.Errorf("sample connection %s: %w", sc.c.ID, err)
			}
		}
	}
	// Two pending requests of the second member, which the sample user decides: a
	// license order, and the deletion of a customer kept for it.
	requester := domain.Inviter{UserID: "sample-id", Email: "member@sample.example", Name: "Sample member"}
	if _, err := st.GetApproval(ctx, sampleOrg, store.LicenseOrders, "sample-order"); errors.Is(err, store.ErrNotFound) {
		if _, err := st.CreateApproval(ctx, domain.Approval{ID: "sample-order", OrganizationID: sampleOrg, Action: domain.ActionLicenseOrder,
			Status: domain.ApprovalPending, Summary: "order 5 × SPE_E3", RequestedBy: requester, RequestedAt: now,
			ExpiresAt: now.Add(domain.ApprovalTTL), Order: &domain.LicenseOrder{TenantID: sampleTenant, TenantName: "Sample tenant",
				SKU: "SPE_E3", Quantity: 5}}, ev(audit.LicenseOrder)); err != nil {
			return fmt.Errorf("sample license order: %w", err)
		}
	}
	if _, err := st.GetApproval(ctx, sampleOrg, store.HeldActions, "sample-approval"); errors.Is(err, store.ErrNotFound) {
		_ = st.CreateCustomer(ctx, sampleOrg, domain.Customer{ID: "sample-held-customer", Name: "Customer to delete", CreatedAt: now}, ev(audit.Customer))
		if _, err := st.CreateApproval(ctx, domain.Approval{ID: "sample-approval", OrganizationID: sampleOrg, Action: domain.ActionDeleteCustomer,
			Status: domain.ApprovalPending, Summary: `delete customer "Customer to delete"`, RequestedBy: requester, RequestedAt: now,
			ExpiresAt: now.Add(domain.ApprovalTTL), Request: &domain.HeldAction{CustomerID: "sample-held-customer"}}, ev(audit.Approval)); err != nil {
			return fmt.Errorf("sample approval: %w", err)
		}
	}
	if _, err := st.GetOrganization(ctx, "sample-sub-org"); errors.Is(err, store.ErrNotFound) {
		// Its default administrator is the user the admin-reset sample names.
		admin := domain.User{ID: "sample-user", Email: "sub-admin@sample.example", Name: "Sample Admin", CreatedAt: now}
		_ = st.CreateUser(ctx, admin)
		sub := domain.Organization{ID: "sample-sub-org", ParentID: sampleOrg, Name: "Sample sub-organization", Plan: domain.PlanProfessional,
			Profile: domain.NewProfile("Sample sub-organization"), CreatedAt: now,
			DefaultAdmin: &domain.DefaultAdmin{UserID: admin.ID, Email: admin.Email, FirstName: "Sample", LastName: "Admin"}}
		if err := st.CreateSubOrganization(ctx, store.SubOrganizationCreate{Organization: sub,
			Admin: domain.Membership{OrganizationID: sub.ID, UserID: admin.ID, Email: admin.Email, Role: permission.Administrator,
				JoinedAt: now},
			ParentEvent: ev(audit.Settings), Event: ev(audit.Settings)}); err != nil {
			return fmt.Errorf("sample sub-organization: %w", err)
		}
	}
	return nil
}

// answer is the first answer in short: an API Gateway status, or the kind.
func answer(inv coldstart.Invocation) string { return answerOf(inv.Kind, inv.Body) }

// answerOf is an answer of kind with body in short.
func answerOf(kind string, body []byte) string {
	var r struct {
		StatusCode int `json:"statusCode"`
	}
	if kind == coldstart.KindResponse && json.Unmarshal(body, &r) == nil && r.StatusCode != 0 {
		return fmt.Sprint("HTTP ", r.StatusCode)
	}
	return kind
}

// added is, per run, what the cold start added to the request: the cold answer's time
// less the warm one's.
func added(r coldstart.Result) []time.Duration {
	out := make([]time.Duration, 0, len(r.Samples))
	for i, d := range r.Samples {
		if i < len(r.Warms) {
			out = append(out, d-r.Warms[i])
		}
	}
	return out
}

// lastOutput is the last line of a process's output.
func lastOutput(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// samples lists a result's runs as init/total milliseconds.
func samples(r coldstart.Result) string {
	var parts []string
	for i, d := range r.Samples {
		parts = append(parts, fmt.Sprintf("%.1f/%.1f", ms(r.Inits[i]), ms(d)))
	}
	return strings.Join(parts, " ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(n int64) float64         { return float64(n) / (1 << 20) }
