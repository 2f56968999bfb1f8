package lambdaentry

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// SQSHandler is a queue worker's Lambda handler: one SQS batch in, the records to
// deliver again out (ReportBatchItemFailures).
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Worker runs the queue worker whose Function is name; it does not return. The jobs
// it runs are those registered with jobs.Register by the packages it links (shared/api
// and what it imports).
func Worker(name string) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	h, err := WorkerHandler(context.Background(), name)
	if err != nil {
		slog.Error("start", "function", name, "err", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// WorkerHandler builds the handler of queue worker name from the environment: the
// table (TABLE_NAME, DYNAMODB_ENDPOINT) and the jobs queue (JOBS_QUEUE_URL,
// SQS_ENDPOINT) that continuations go back to.
func WorkerHandler(ctx context.Context, name string) (SQSHandler, error) {
	if !isQueueWorker(name) {
		return nil, fmt.Errorf("no queue-worker job is served by function %s", name)
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	db := awsconfig.DynamoDB(cfg, os.Getenv(awsconfig.EnvDynamoDBEndpoint))
	st := store.New(db, awsconfig.TableName(store.DefaultTable))
	svc := jobs.FromEnv(st, &cfg)
	h := WorkerOn(jobs.NewWorker(st, svc.Queue))
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return h(api.WithFunction(ctx, name), ev)
	}, nil
}

// WorkerOn is the Lambda handler over a worker.
func WorkerOn(w *jobs.Worker) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return w.HandleSQS(ctx, ev), nil
	}
}

func isQueueWorker(name string) bool {
	for _, j := range api.Jobs() {
		if j.Function == name && j.Kind == "queue-worker" {
			return true
		}
	}
	return false
}
