// Command bench prints the figures of `make bench`: the DynamoDB requests and
// sequential round trips each route makes (counted by an SDK middleware), and the warm
// latency of GET /api/msp-portal/settings/profile through the Lambda adapter against a
// bare GetItem on the same table, as a ratio. It runs on DYNAMODB_ENDPOINT (DynamoDB
// Local under `make bench`), or on the embedded engine when that is unset.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniserver "github.com/truora/minidyn/server"

	"github.com/switchboard-msp/switchboard/infra/awsrecord"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Targets of the foundation issue.
const (
	maxReadDepth = 1
	maxRatio     = 1.5
)

type bench struct {
	deps    *api.Deps
	db      *dynamodb.Client
	table   string
	orgID   string
	claims  map[string]string
	adapter map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

func run(ctx context.Context) error {
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	engine := "DynamoDB Local at " + endpoint
	if endpoint == "" {
		srv := httptest.NewServer(miniserver.NewServer())
		defer srv.Close()
		endpoint, engine = srv.URL, "embedded engine (set DYNAMODB_ENDPOINT for DynamoDB Local)"
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return err
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	awsrecord.Install(&cfg)
	db := awsconfig.DynamoDB(cfg, endpoint)
	table := "bench-" + domain.NewID()
	if err := store.EnsureTable(ctx, db, table); err != nil {
		return err
	}
	defer func() { _, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) }()

	b := &bench{deps: api.NewDeps(store.New(db, table), "http://console.bench"), db: db, table: table,
		adapter: map[string]func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error){}}
	b.claims = map[string]string{"sub": "bench-sub", "email": "bench@example.com", "email_verified": "true",
		"auth_time": fmt.Sprint(time.Now().Unix()), "origin_jti": "bench-session", "custom:amr": "[mfa]"}
	for _, rt := range api.Routes() {
		a, err := lambdaentry.Adapter(b.deps, rt.Function)
		if err != nil {
			return err
		}
		b.adapter[rt.Function] = a.ProxyWithContext
	}
	// First sign-in creates the bench user and their organization.
	res, err := b.invoke(ctx, "me-get", "GET", "/api/me", nil, nil)
	if err != nil || res.StatusCode != http.StatusOK {
		return fmt.Errorf("sign in: %v %d %s", err, res.StatusCode, res.Body)
	}
	var me struct {
		ActiveOrganization struct{ ID string } `json:"activeOrganization"`
	}
	if err := json.Unmarshal([]byte(res.Body), &me); err != nil {
		return err
	}
	b.orgID = me.ActiveOrganization.ID

	fmt.Printf("Switchboard bench on %s\n\n", engine)
	fmt.Println("DynamoDB requests per route (warm: identity cached, session activity written within the minute)")
	fmt.Printf("%-26s %-7s %-36s %6s %6s  %s\n", "function", "method", "path", "calls", "depth", "operations")
	failed := false
	for _, rt := range api.Routes() {
		calls, depth, status, err := b.countRoute(ctx, rt)
		if err != nil {
			return err
		}
		ops := map[string]int{}
		for _, c := range calls {
			ops[c.Operation]++
		}
		var parts []string
		for op, n := range ops {
			parts = append(parts, fmt.Sprintf("%s×%d", op, n))
		}
		sort.Strings(parts)
		mark := ""
		if rt.Method == http.MethodGet && rt.OrgScoped() && depth > maxReadDepth {
			mark, failed = "  (over target)", true
		}
		fmt.Printf("%-26s %-7s %-36s %6d %6d  %s [%d]%s\n", rt.Function, rt.Method, rt.Path, len(calls), depth, strings.Join(parts, " "), status, mark)
	}

	adapterNs, bareNs, err := b.latency(ctx)
	if err != nil {
		return err
	}
	ratio := float64(adapterNs) / float64(bareNs)
	fmt.Printf("\nWarm latency, GET /api/msp-portal/settings/profile\n")
	fmt.Printf("  through the Lambda adapter: %8.1f µs/op\n", float64(adapterNs)/1e3)
	fmt.Printf("  bare GetItem, same table:   %8.1f µs/op\n", float64(bareNs)/1e3)
	fmt.Printf("  ratio:                      %8.2f  (target ≤ %.1f)\n", ratio, maxRatio)
	if ratio > maxRatio {
		failed = true
	}
	if failed {
		fmt.Println("\nsome figures are over target")
	}
	return nil
}

func (b *bench) event(method, path string, body any, headers map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"content-type": "application/json", "user-agent": "switchboard-bench"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: path, Headers: h,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: domain.NewID(), Stage: "$default",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "127.0.0.1", UserAgent: "switchboard-bench"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: b.claims}},
		},
	}
	if body != nil {
		raw, _ := json.Marshal(body)
		ev.Body = string(raw)
	}
	return ev
}

func (b *bench) invoke(ctx context.Context, fn, method, path string, body any, headers map[string]string) (events.APIGatewayV2HTTPResponse, error) {
	return b.adapter[fn](ctx, b.event(method, path, body, headers))
}

// sample is a representative, valid request for a route.
func (b *bench) sample(rt api.Route) (string, any) {
	path := strings.ReplaceAll(rt.Path, "{orgId}", b.orgID)
	switch rt.Function {
	case "organizations-create":
		return path, map[string]string{"name": "Bench " + domain.NewID()}
	case "organizations-rename":
		return path, map[string]string{"name": "Bench renamed"}
	case "me-active-organization-put":
		return path, map[string]string{"organizationId": b.orgID}
	case "profile-put":
		p := domain.NewProfile("Bench")
		return path, p
	}
	if rt.Method == http.MethodGet || rt.Method == http.MethodDelete {
		return path, nil
	}
	return path, map[string]string{}
}

// countRoute calls a route three times and records the last call's AWS requests.
func (b *bench) countRoute(ctx context.Context, rt api.Route) ([]awsrecord.Call, int, int, error) {
	path, body := b.sample(rt)
	var log *awsrecord.Log
	var res events.APIGatewayV2HTTPResponse
	var err error
	for i := 0; i < 3; i++ {
		var rctx context.Context
		rctx, log = awsrecord.With(ctx)
		res, err = b.invoke(rctx, rt.Function, rt.Method, path, body, map[string]string{api.HeaderOrganization: b.orgID})
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s: %w", rt.Function, err)
		}
		if res.StatusCode >= 500 {
			return nil, 0, 0, fmt.Errorf("%s: %d %s", rt.Function, res.StatusCode, res.Body)
		}
	}
	var ddb []awsrecord.Call
	for _, c := range log.Calls() {
		if c.Service == "DynamoDB" {
			ddb = append(ddb, c)
		}
	}
	return ddb, log.Depth(), res.StatusCode, nil
}

func (b *bench) latency(ctx context.Context) (int64, int64, error) {
	ev := b.event("GET", "/api/msp-portal/settings/profile", nil, map[string]string{api.HeaderOrganization: b.orgID})
	get := b.adapter["profile-get"]
	if res, err := get(ctx, ev); err != nil || res.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("profile-get: %v %d %s", err, res.StatusCode, res.Body)
	}
	var failure error
	adapterRun := func(tb *testing.B) {
		for tb.Loop() {
			if res, err := get(ctx, ev); err != nil || res.StatusCode != http.StatusOK {
				failure = fmt.Errorf("profile-get: %v %d", err, res.StatusCode)
				return
			}
		}
	}
	key := map[string]types.AttributeValue{
		store.AttrPK: &types.AttributeValueMemberS{Value: "ORG#" + b.orgID},
		store.AttrSK: &types.AttributeValueMemberS{Value: "ORG"},
	}
	bareRun := func(tb *testing.B) {
		for tb.Loop() {
			out, err := b.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(b.table), Key: key})
			if err != nil || out.Item == nil {
				failure = fmt.Errorf("bare GetItem: %v", err)
				return
			}
		}
	}
	// DynamoDB Local runs on a JVM whose JIT warms over the first thousands of
	// requests: interleave the two and keep each one's best round, so neither is
	// measured cold.
	var adapterNs, bareNs int64
	for round := 0; round < 4; round++ {
		a, g := testing.Benchmark(adapterRun).NsPerOp(), testing.Benchmark(bareRun).NsPerOp()
		if round == 0 {
			continue
		}
		if adapterNs == 0 || a < adapterNs {
			adapterNs = a
		}
		if bareNs == 0 || g < bareNs {
			bareNs = g
		}
	}
	return adapterNs, bareNs, failure
}
