// Command localserver is `make run`: every route of the table on one port, on the
// embedded DynamoDB-compatible engine (or DYNAMODB_ENDPOINT), with demo data, the
// development sign-in and the outbox. It is never linked into a Lambda.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	miniserver "github.com/truora/minidyn/server"

	"github.com/switchboard-msp/switchboard/functions/console/web"
	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/devbus"
	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/infra/outbox"
	"github.com/switchboard-msp/switchboard/infra/seed"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/console"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/envelope/kmskeys"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/jobs/sqsqueue"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("local server stopped", "err", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	psaStandinAddrs = makeRunPSAAddrs
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1:%s: %w", port, err)
	}
	return serve(ctx, ln)
}

// serve runs the whole local API on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener) error {
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	engine := "DynamoDB at " + endpoint
	if endpoint == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen for embedded engine: %w", err)
		}
		go func() { _ = http.Serve(ln, miniserver.NewServer()) }()
		endpoint = "http://" + ln.Addr().String()
		engine = "embedded engine (minidyn)"
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return err
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		cfg.Credentials = awsconfig.LocalCredentials()
	}
	db := awsconfig.DynamoDB(cfg, endpoint)
	table := awsconfig.TableName(store.DefaultTable)
	if err := store.EnsureTable(ctx, db, table); err != nil {
		return err
	}
	if err := store.EnableTTL(ctx, db, table); err != nil {
		slog.Info("TTL not enabled; expiry is checked on read", "reason", err.Error())
	}
	st := store.New(db, table)
	if err := seed.Demo(ctx, st); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}

	signer, err := devauth.NewSigner()
	if err != nil {
		return err
	}
	// Tokens carry the user id once the identity is mapped, as the user pool's Pre Token
	// Generation trigger adds it in the cloud.
	signer.UserOf = func(ctx context.Context, subject string) (string, error) { return api.UserOf(ctx, st, subject) }
	mail := &outbox.Outbox{}
	deps := api.NewDeps(st, "http://"+ln.Addr().String())
	deps.Mail = mail
	bus := &devbus.Bus{}
	deps.Events = bus
	// A Cognito user pool is optional: with USER_POOL_ID (and COGNITO_ENDPOINT for moto's,
	// as infra/stack/fuzz-api.sh does) the organization's own Entra ID sign-in can be set
	// up and removed members are signed out; without one SSO answers 503 sso-unavailable.
	dir, err := cognito.FromEnv(ctx)
	if err != nil {
		return err
	}
	if dir != nil { // a nil *Directory in the interface would not read as "no user pool"
		deps.Identity = dir
	}
	keys, err := startKeys(cfg, deps)
	if err != nil {
		return err
	}
	graph := graphstandin.New()
	graph.PutTenant(graphstandin.DemoTenant())
	graphURL := startGraph(deps, "http://"+ln.Addr().String()+graphPrefix)
	psaURLs, stopPSA, err := startPSA(deps)
	if err != nil {
		return err
	}
	defer stopPSA()
	jobsQueue := startJobs(ctx, cfg, st, deps)
	uploads, err := startDocuments(ctx, deps)
	if err != nil {
		return err
	}

	jwksURL := "http://" + ln.Addr().String() + "/dev/.well-known/jwks.json"

	apiMux := http.NewServeMux()
	api.Mount(apiMux, deps, api.Routes())
	// The verifier reads the JWKS over HTTP like any other, so it is built once the
	// listener serves it.
	var once sync.Once
	var verifier *auth.Verifier
	var verr error
	verified := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { verifier, verr = devauth.NewVerifier(context.WithoutCancel(ctx), jwksURL) })
		if verr != nil {
			http.Error(w, "jwks unavailable", http.StatusServiceUnavailable)
			return
		}
		devauth.Verify(verifier, apiMux).ServeHTTP(w, r)
	})

	root := http.NewServeMux()
	root.Handle("POST /dev/sign-in", signer.SignIn())
	root.Handle("GET /dev/.well-known/jwks.json", signer.JWKS())
	root.Handle("GET /dev/outbox", mail.Handler())
	root.Handle("GET /dev/billing-events", bus.Handler())
	root.Handle("POST /dev/schedules/{function}", runSchedule(deps))
	root.Handle("GET /dev/usage-records/{orgId}", usageRecords(st))
	root.Handle(graphPrefix+"/", graph.HandlerAt(graphPrefix))
	root.Handle("/api/", verified)
	// Everything else is the web console, as its catch-all route is behind API Gateway.
	consoleCfg := console.Development()
	consoleCfg.UploadOrigin = uploads
	root.Handle("/", console.Handler(web.Dist(), consoleCfg))

	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		// Runs in flight stop and release their jobs, which stay resumable.
		_ = deps.Jobs.Close(shutdown)
	}()
	slog.Info("Switchboard is serving", "url", "http://"+ln.Addr().String(), "engine", engine, "table", table, "jobs", jobsQueue, "keys", keys, "graph", graphURL, "psa", psaURLs,
		"signIn", "POST /dev/sign-in {\"email\":\""+seed.People[0].Email+"\"}")
	fmt.Fprintf(os.Stderr, "\nSwitchboard on http://%s (%s)\n  console: http://%s/\n  sign in: curl -s -XPOST http://%s/dev/sign-in -d '{\"email\":\"%s\",\"name\":\"%s\"}'\n\n",
		ln.Addr(), engine, ln.Addr(), ln.Addr(), seed.People[0].Email, seed.People[0].Name)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// graphPrefix is where the Entra and Graph stand-in answers: its token endpoint at
// /dev/graph/{tenant}/oauth2/v2.0/token and Graph at /dev/graph/v1.0/..., holding the
// demo tenant (graphstandin.DemoTenant).
const graphPrefix = "/dev/graph"

// startGraph points deps at the Graph stand-in at local, unless GRAPH_AUTHORITY_URL or
// GRAPH_BASE_URL name other endpoints; it returns the Graph base in use.
func startGraph(deps *api.Deps, local string) string {
	if os.Getenv(msgraph.EnvAuthority) != "" || os.Getenv(msgraph.EnvGraphURL) != "" {
		deps.Graph = msgraph.FromEnv()
		return "GRAPH_AUTHORITY_URL / GRAPH_BASE_URL"
	}
	deps.Graph = msgraph.New(local, local, nil)
	return local + " (stand-in)"
}

// startKeys seals connection credentials with KMS when CONNECTIONS_KEY_ID is set (say
// moto's, with KMS_ENDPOINT), else with the local key api.NewDeps made
// (SWITCHBOARD_LOCAL_KEY, or one for this process).
func startKeys(cfg aws.Config, deps *api.Deps) (string, error) {
	if os.Getenv(kmskeys.EnvKeyID) == "" {
		if os.Getenv(envelope.EnvLocalKey) != "" {
			return "local key (SWITCHBOARD_LOCAL_KEY)", nil
		}
		return "local key (this process's: credentials do not survive a restart)", nil
	}
	k, err := kmskeys.Connect(cfg)
	if err != nil {
		return "", err
	}
	deps.Keys = k
	return "KMS key " + os.Getenv(kmskeys.EnvKeyID), nil
}

// runSchedule runs one schedule now, as EventBridge Scheduler would invoke its function
// (POST /dev/schedules/meter-usage), and answers its result.
func runSchedule(deps *api.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("function")
		for _, j := range api.Jobs() {
			if j.Function != name || j.Kind != "schedule" {
				continue
			}
			var res any
			var err error
			if j.RunWith != nil {
				res, err = j.RunWith(r.Context(), deps, deps.Store.Now())
			} else {
				res, err = j.Run(r.Context(), deps.Store, deps.Store.Now())
			}
			w.Header().Set("Content-Type", "application/json")
			if err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				_ = json.NewEncoder(w).Encode(map[string]any{"error": err.Error(), "result": res})
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"function": name, "result": res})
			return
		}
		http.Error(w, "no schedule "+name, http.StatusNotFound)
	})
}

// usageRecords lists an organization's usage records, hourly then monthly, newest
// first (GET /dev/usage-records/{orgId}): what the billing system reads off the bus.
func usageRecords(st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{}
		for _, period := range []string{store.PeriodHour, store.PeriodMonth} {
			recs, _, err := st.ListUsageRecords(r.Context(), r.PathValue("orgId"), period, store.Page{Limit: store.MaxLimit})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			out[period] = recs
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// startJobs runs the jobs that routes start: on the SQS queue of JOBS_QUEUE_URL (say
// moto's, with SQS_ENDPOINT), polled by a worker in this process as the job-worker
// Lambda's event source would, or else on the in-process queue api.NewDeps set up. It
// returns a description of the queue for the start-up log.
func startJobs(ctx context.Context, cfg aws.Config, st *store.Store, deps *api.Deps) string {
	if os.Getenv(jobs.EnvQueueURL) == "" {
		return "in-process queue"
	}
	deps.Jobs = sqsqueue.FromEnv(st, &cfg, api.JobRunners())
	q := deps.Jobs.Queue.(*sqsqueue.Queue)
	w := jobs.NewWorker(st, q)
	w.Runners = deps.Jobs.Runners
	go func() { _ = q.Poll(ctx, w, 10*time.Second) }()
	return "SQS " + q.URL
}
