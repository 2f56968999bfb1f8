package lambdaentry

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/jobs"
)

// SQSHandler is a queue worker's Lambda handler: one SQS batch in, the records to
// deliver again out (ReportBatchItemFailures).
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Worker runs the queue worker whose Function is name with every job kind's runner
// (api.JobRunners), continuing jobs on the queue connect makes (sqsqueue.Connect in
// the generated main.go); it does not return.
func Worker(name string, connect func(aws.Config) (jobs.Queue, error)) {
	startJob(name, func(ctx context.Context, name string) (any, error) {
		return WorkerHandler(ctx, name, api.JobRunners(), connect)
	})
}

// WorkerHandler builds the handler of queue worker name from the environment: the
// table (TABLE_NAME, DYNAMODB_ENDPOINT) and the jobs queue that connect makes, to which
// continuations go back (the in-process queue when it makes none); runners run the jobs.
func WorkerHandler(ctx context.Context, name string, runners *jobs.Registry, connect func(aws.Config) (jobs.Queue, error)) (SQSHandler, error) {
	if !isQueueWorker(name) {
		return nil, fmt.Errorf("no queue-worker job is served by function %s", name)
	}
	st, cfg, err := tableFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	svc, err := jobService(cfg, st, connect)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w := jobs.NewWorker(st, svc.Queue)
	w.Runners = runners
	if q, ok := svc.Queue.(*jobs.LocalQueue); ok {
		q.SetHandler(w.Handle) // continuations without SQS run with the same runners
	}
	h := WorkerOn(w)
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
