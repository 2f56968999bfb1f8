package testenv

import (
	"context"

	"github.com/switchboard-msp/switchboard/infra/awsrecord"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Every AWS client a test binary that uses testenv builds through awsconfig.Load (the
// tables' DynamoDB clients, SES through sesmail.NewClient, Cognito through identity,
// SQS and S3 through jobs and objects, and those the Lambda entry points build) carries
// the recorder, which attributes each call made in a function's context to that
// function: the least-privilege gate (infra/awsrecord).
func init() { awsrecord.Enable() }

// recordJobs makes the jobs that deps runs in this process, on its local queue, run in
// the queue worker's context, as they do in the job-worker Lambda, so that their AWS
// calls are checked against the worker's entry. The handler is the one jobs.NewLocal
// sets, a Worker over st and the queue.
func recordJobs(st *store.Store, deps *api.Deps) {
	q, ok := deps.Jobs.Queue.(*jobs.LocalQueue)
	if !ok {
		return
	}
	name := ""
	for _, j := range api.Jobs() {
		if j.Kind == "queue-worker" {
			name = j.Function
		}
	}
	w := jobs.NewWorker(st, q)
	w.Runners = deps.Jobs.Runners
	q.SetHandler(func(ctx context.Context, orgID, jobID string) error {
		return w.Handle(api.WithFunction(ctx, name), orgID, jobID)
	})
}
