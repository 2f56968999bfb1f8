// Package lambdaentry starts one route's handler as a Lambda function behind API
// Gateway's HTTP API (payload v2). Each functions/<name>/main.go calls Serve once.
package lambdaentry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard-msp/switchboard/shared/afterresponse"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/objects"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Serve serves rt as a Lambda function; it does not return. uses wire the services
// beyond the table that rt's code path calls, as Uses derives them from its Actions;
// functions/<name>/main.go is generated with both. Naming its route and services here,
// rather than looking them up, is what keeps each binary to its own handler and SDK
// clients: the linker drops every other route.
func Serve(rt api.Route, uses ...Use) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	h, err := handlerFor(context.Background(), rt, uses)
	if err != nil {
		slog.Error("start", "function", rt.Function, "err", err.Error())
		os.Exit(1)
	}
	// The call's count and the session's activity finish after the response is sent,
	// before the runtime asks for the next invocation (shared/afterresponse).
	proxy := httpadapter.NewV2(h).ProxyWithContext
	lambda.Start(afterresponse.Handler(proxy))
}

// A Use adds one AWS service to a function's deps, on the configuration loaded at start.
type Use func(ctx context.Context, cfg aws.Config, d *api.Deps) error

// Mail wires the sender that connect makes (sesmail.Connect in the generated main.go,
// so that only functions that send email link SES) on the configuration loaded at start.
// Without MAIL_FROM nothing is wired and invitations are kept as email-failed; a
// MAIL_FROM that is not an address fails the start.
func Mail(connect func(aws.Config) (mail.Sender, error)) Use {
	return func(_ context.Context, cfg aws.Config, d *api.Deps) error {
		if os.Getenv(mail.EnvMailFrom) == "" {
			return nil
		}
		s, err := connect(cfg)
		if err != nil {
			return err
		}
		d.Mail = s
		return nil
	}
}

// wire is the Use that puts what connect makes, on the configuration loaded at start,
// into d with set.
func wire[T any](connect func(aws.Config) (T, error), set func(*api.Deps, T)) Use {
	return func(_ context.Context, cfg aws.Config, d *api.Deps) error {
		v, err := connect(cfg)
		if err != nil {
			return err
		}
		set(d, v)
		return nil
	}
}

// Keys wires the key provider that connect makes (kmskeys.Connect in the generated
// main.go, so that only functions that seal or open credentials link KMS); it fails
// the start without CONNECTIONS_KEY_ID.
func Keys(connect func(aws.Config) (envelope.Keys, error)) Use {
	return wire(connect, func(d *api.Deps, k envelope.Keys) { d.Keys = k })
}

// Events wires the billing bus publisher that connect makes (eventbridgebus.Connect in
// the generated main.go, so that only the functions that publish link EventBridge).
func Events(connect func(aws.Config) (billingbus.Publisher, error)) Use {
	return wire(connect, func(d *api.Deps, p billingbus.Publisher) { d.Events = p })
}

// Identity wires the Cognito directory that connect makes (cognito.Connect in the
// generated main.go, so that only functions that make Cognito calls link Cognito): the
// user pool of USER_POOL_ID, or none when it is unset.
func Identity(connect func(aws.Config) (identity.Directory, error)) Use {
	return wire(connect, func(d *api.Deps, dir identity.Directory) { d.Identity = dir })
}

// Objects wires the documents bucket that connect makes (s3objects.Connect in the
// generated main.go, so that only functions that keep documents link S3); the client
// is built on first use.
func Objects(connect func(aws.Config) (objects.Bucket, error)) Use {
	return wire(connect, func(d *api.Deps, b objects.Bucket) { d.Objects = b })
}

// Jobs wires the job service on the queue that connect makes (sqsqueue.Connect in the
// generated main.go, so that only functions that start jobs link SQS): the SQS queue of
// JOBS_QUEUE_URL (always set in Lambda), or the in-process queue without one. Its
// registry is every runner's, so that Start knows the kinds.
func Jobs(connect func(aws.Config) (jobs.Queue, error)) Use {
	return func(_ context.Context, cfg aws.Config, d *api.Deps) error {
		svc, err := jobService(cfg, d.Store, connect)
		if err != nil {
			return err
		}
		d.Jobs = svc
		return nil
	}
}

// jobService is the service on connect's queue with every runner, or the in-process
// one when connect has no queue.
func jobService(cfg aws.Config, st *store.Store, connect func(aws.Config) (jobs.Queue, error)) (*jobs.Service, error) {
	q, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	if q == nil {
		return jobs.NewLocal(st, api.JobRunners()), nil
	}
	return jobs.NewService(st, q, api.JobRunners()), nil
}

// A Service is an AWS service beyond DynamoDB that a route's Actions may name, and the
// Use that wires it, as Go source for the generated main.go. The Uses are named here,
// not referenced, so that this package links none of them.
type Service struct {
	// Prefix is the IAM action prefix, e.g. "ses:".
	Prefix string
	// Use is the expression passed to Serve; Import, when set, is the package it needs.
	Use, Import string
}

// Services are the services a route may use, in the order main.go lists them.
var Services = []Service{
	{Prefix: "ses:", Use: "lambdaentry.Mail(sesmail.Connect)", Import: "github.com/switchboard-msp/switchboard/shared/mail/sesmail"},
	{Prefix: "cognito-idp:", Use: "lambdaentry.Identity(cognito.Connect)", Import: "github.com/switchboard-msp/switchboard/shared/identity/cognito"},
	{Prefix: "sqs:", Use: "lambdaentry.Jobs(sqsqueue.Connect)", Import: "github.com/switchboard-msp/switchboard/shared/jobs/sqsqueue"},
	{Prefix: "s3:", Use: "lambdaentry.Objects(s3objects.Connect)", Import: "github.com/switchboard-msp/switchboard/shared/objects/s3objects"},
	{Prefix: "kms:", Use: "lambdaentry.Keys(kmskeys.Connect)", Import: "github.com/switchboard-msp/switchboard/shared/envelope/kmskeys"},
	{Prefix: "events:", Use: "lambdaentry.Events(eventbridgebus.Connect)", Import: "github.com/switchboard-msp/switchboard/shared/billingbus/eventbridgebus"},
}

// Uses are the services a route with actions uses.
func Uses(actions []string) []Service {
	var out []Service
	for _, svc := range Services {
		if slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, svc.Prefix) }) {
			out = append(out, svc)
		}
	}
	return out
}

// Adapter is the API Gateway v2 adapter over one function's handler built on deps; the
// bench and tests drive a function exactly as Lambda does with it.
func Adapter(deps *api.Deps, name string) (*httpadapter.HandlerAdapterV2, error) {
	rt, ok := api.RouteByFunction(name)
	if !ok {
		return nil, errUnknown(name)
	}
	return httpadapter.NewV2(mount(deps, rt)), nil
}

// mount puts rt behind the middleware on a mux, so path parameters resolve as they do
// in the local server.
func mount(deps *api.Deps, rt api.Route) http.Handler {
	mux := http.NewServeMux()
	api.Mount(mux, deps, []api.Route{rt})
	return mux
}

// HandlerFor builds, from the environment, the http.Handler that serves rt with uses:
// what Serve runs, for tests that drive a function's handler in process.
func HandlerFor(ctx context.Context, rt api.Route, uses ...Use) (http.Handler, error) {
	return handlerFor(ctx, rt, uses)
}

func handlerFor(ctx context.Context, rt api.Route, with []Use) (http.Handler, error) {
	st, cfg, err := tableFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	deps := api.BaseDeps(st, os.Getenv("CONSOLE_URL"))
	for _, use := range with {
		if err := use(ctx, cfg, deps); err != nil {
			return nil, fmt.Errorf("%s: %w", rt.Function, err)
		}
	}
	return mount(deps, rt), nil
}

type errUnknown string

func (e errUnknown) Error() string { return "no route is served by function " + string(e) }

// firstRoundTrip is how many calls a request's first round trip makes at most, as a
// rule: the connections opened ahead.
const firstRoundTrip = 3

// tableFromEnv loads the AWS configuration and opens the table of TABLE_NAME (through
// DYNAMODB_ENDPOINT when set): what every function starts with.
func tableFromEnv(ctx context.Context) (*store.Store, aws.Config, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, aws.Config{}, err
	}
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		// Connected while the runtime asks for the first invocation: as many as a
		// request's first round trip makes at once (an organization-scoped request reads
		// its authorization beside its own first read, a change beside its audit chain
		// head and its idempotency record).
		go awsconfig.Preconnect(context.WithoutCancel(ctx), cfg, endpoint, firstRoundTrip)
	}
	db := awsconfig.DynamoDB(cfg, endpoint)
	return store.New(db, awsconfig.TableName(store.DefaultTable)), cfg, nil
}

// startJob builds the handler of job function name and runs it under Lambda, logging
// JSON; it does not return. A handler that cannot be built stops the process at start.
func startJob(name string, build func(context.Context, string) (any, error)) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	h, err := build(context.Background(), name)
	if err != nil {
		slog.Error("start", "function", name, "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}
