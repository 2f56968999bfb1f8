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

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
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
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// A Use adds one AWS service to a function's deps, on the configuration loaded at start.
type Use func(ctx context.Context, cfg aws.Config, d *api.Deps) error

// Mail sends email through SES v2 from MAIL_FROM; a MAIL_FROM that is not an address
// fails the start. Without MAIL_FROM, invitations are kept as email-failed.
func Mail(_ context.Context, cfg aws.Config, d *api.Deps) error {
	if os.Getenv(mail.EnvMailFrom) == "" {
		return nil
	}
	ses, err := mail.SESFromEnvConfig(cfg)
	if err != nil {
		return err
	}
	d.Mail = ses
	return nil
}

// Identity makes Cognito admin calls on USER_POOL_ID, when set.
func Identity(_ context.Context, cfg aws.Config, d *api.Deps) error {
	d.Identity = identity.FromEnvConfig(cfg)
	return nil
}

// Jobs starts jobs on the SQS queue of JOBS_QUEUE_URL (always set in Lambda).
func Jobs(_ context.Context, cfg aws.Config, d *api.Deps) error {
	d.Jobs = jobs.FromEnv(d.Store, &cfg)
	return nil
}

// Objects keeps customer documents in DOCUMENTS_BUCKET; it connects on first use.
func Objects(_ context.Context, _ aws.Config, d *api.Deps) error {
	d.Objects = objects.FromEnv()
	return nil
}

// uses maps an IAM action's service prefix to the Use that wires its client. A route
// whose Actions name a service gets its Use; DynamoDB is every route's.
var uses = []struct {
	prefix, name string
	use          Use
}{
	{"ses:", "Mail", Mail},
	{"cognito-idp:", "Identity", Identity},
	{"sqs:", "Jobs", Jobs},
	{"s3:", "Objects", Objects},
}

// Uses names, in a fixed order, the Uses a route with actions needs: the generator
// writes them into its main.go.
func Uses(actions []string) []string {
	var out []string
	for _, u := range uses {
		if slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, u.prefix) }) {
			out = append(out, u.name)
		}
	}
	return out
}

func usesOf(actions []string) []Use {
	var out []Use
	for _, name := range Uses(actions) {
		for _, u := range uses {
			if u.name == name {
				out = append(out, u.use)
			}
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

// Handler builds, from the environment, the http.Handler that function name's binary
// serves: its route with the services its Actions use.
func Handler(ctx context.Context, name string) (http.Handler, error) {
	rt, ok := api.RouteByFunction(name)
	if !ok {
		return nil, errUnknown(name)
	}
	return handlerFor(ctx, rt, usesOf(rt.Actions))
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

// tableFromEnv loads the AWS configuration and opens the table of TABLE_NAME (through
// DYNAMODB_ENDPOINT when set): what every function starts with.
func tableFromEnv(ctx context.Context) (*store.Store, aws.Config, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, aws.Config{}, err
	}
	db := awsconfig.DynamoDB(cfg, os.Getenv(awsconfig.EnvDynamoDBEndpoint))
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
