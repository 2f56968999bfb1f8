// Package lambdaentry starts one route's handler as a Lambda function behind API
// Gateway's HTTP API (payload v2). Each functions/<name>/main.go calls Route once.
package lambdaentry

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	netmail "net/mail"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Route serves the route whose Function is name; it does not return.
func Route(name string) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	h, err := Handler(context.Background(), name)
	if err != nil {
		slog.Error("start", "function", name, "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// Adapter is the API Gateway v2 adapter over one function's handler built on deps; the
// bench and tests drive a function exactly as Lambda does with it.
func Adapter(deps *api.Deps, name string) (*httpadapter.HandlerAdapterV2, error) {
	h, err := handlerOn(deps, name)
	if err != nil {
		return nil, err
	}
	return httpadapter.NewV2(h), nil
}

func handlerOn(deps *api.Deps, name string) (http.Handler, error) {
	rt, ok := api.RouteByFunction(name)
	if !ok {
		return nil, errUnknown(name)
	}
	mux := http.NewServeMux()
	api.Mount(mux, deps, []api.Route{rt})
	return mux, nil
}

// Handler builds the http.Handler of one function: its route behind the middleware,
// on a mux so path parameters resolve as they do in the local server.
func Handler(ctx context.Context, name string) (http.Handler, error) {
	if _, ok := api.RouteByFunction(name); !ok {
		return nil, errUnknown(name)
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	db := awsconfig.DynamoDB(cfg, os.Getenv(awsconfig.EnvDynamoDBEndpoint))
	st := store.New(db, awsconfig.TableName(store.DefaultTable))
	deps := api.NewDeps(st, os.Getenv("CONSOLE_URL"))
	// In Lambda JOBS_QUEUE_URL is always set: jobs go to SQS with this configuration.
	deps.Jobs = jobs.FromEnv(st, &cfg)
	if os.Getenv(mail.EnvMailFrom) != "" {
		if deps.Mail, err = lazySESFromEnv(); err != nil {
			return nil, err
		}
	}
	if deps.Identity, err = identity.FromEnv(ctx); err != nil {
		return nil, err
	}
	return handlerOn(deps, name)
}

// lazySESFromEnv is mail.SESFromEnv connected on the first email rather than at start:
// few requests send one, and each cold start would otherwise load the AWS
// configuration again for it. MAIL_FROM is checked now, as SESFromEnv checks it, so a
// misconfigured function still fails at start.
func lazySESFromEnv() (mail.Sender, error) {
	from := strings.TrimSpace(os.Getenv(mail.EnvMailFrom))
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("%s: %w", mail.EnvMailFrom, err)
	}
	return &lazySES{}, nil
}

type lazySES struct {
	once sync.Once
	ses  *mail.SES
	err  error
}

func (l *lazySES) Send(ctx context.Context, m mail.Message) error {
	l.once.Do(func() { l.ses, l.err = mail.SESFromEnv(context.WithoutCancel(ctx)) })
	if l.err != nil {
		return l.err
	}
	return l.ses.Send(ctx, m)
}

type errUnknown string

func (e errUnknown) Error() string { return "no route is served by function " + string(e) }
