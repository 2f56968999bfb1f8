package lambdaentry

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/jobs"
)

// SQSHandler is a queue worker's Lambda handler: one SQS batch in, the records to
// deliver again out (ReportBatchItemFailures).
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Worker runs the queue worker whose Function is name; it does not return. The jobs
// it runs are those registered with jobs.Register by the packages it links (shared/api
// and what it imports); uses wire the services its runners use beyond the table (the
// connections key of a PSA sync).
func Worker(name string, uses ...Use) {
	startJob(name, func(ctx context.Context, name string) (any, error) { return WorkerHandler(ctx, name, uses...) })
}

// WorkerHandler builds the handler of queue worker name from the environment: the
// table (TABLE_NAME, DYNAMODB_ENDPOINT) and the jobs queue (JOBS_QUEUE_URL,
// SQS_ENDPOINT) that continuations go back to, and the services uses wire.
func WorkerHandler(ctx context.Context, name string, uses ...Use) (SQSHandler, error) {
	if !isQueueWorker(name) {
		return nil, fmt.Errorf("no queue-worker job is served by function %s", name)
	}
	st, cfg, err := tableFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	deps := api.BaseDeps(st, os.Getenv("CONSOLE_URL"))
	for _, use := range uses {
		if err := use(ctx, cfg, deps); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	api.ServeJobsWith(deps)
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
