package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: the jobs that imports, merges and syncs start (shared/jobs).
var (
	JobsGet = Route{Method: "GET", Path: "/api/jobs/{jobId}", Permission: permission.ViewData, Function: "jobs-get",
		Summary: "A job's status, progress, errors and result", Read: fetchJob}
)

// jobRoutes are the jobs that imports, merges and syncs start (shared/jobs).
func jobRoutes() []Route {
	return []Route{JobsGet}
}

// jobWorker runs every kind of job from the jobs queue (shared/jobs, started by
// lambdaentry.Worker). Its actions are the queue's, the job items', and those of the
// registered runners' code paths: a runner that uses another action adds it here.
func jobWorker() Job {
	return Job{Function: "job-worker", Kind: "queue-worker",
		Summary: "Runs the jobs of the jobs queue: imports, merges and syncs",
		Actions: []string{
			"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
			"sqs:SendMessage", // a job that continues in a new invocation is queued again
			"dynamodb:GetItem", "dynamodb:Query",
			"dynamodb:PutItem", "dynamodb:UpdateItem",
			"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", // a merge moves items and deletes the source
			"dynamodb:BatchGetItem", // the audit chain heads its events extend
			"kms:Decrypt",           // a PSA sync opens its connection's credentials
		}}
}

// JobView is a job as clients see it: its worker's lease, attempts, cursor, parameters
// and request origin stay inside.
type JobView struct {
	ID             string          `json:"id"`
	OrganizationID string          `json:"organizationId"`
	Kind           string          `json:"kind"`
	Status         jobs.Status     `json:"status"`
	Progress       jobs.Progress   `json:"progress"`
	Errors         []jobs.Error    `json:"errors"`
	ErrorCount     int64           `json:"errorCount"`
	Result         json.RawMessage `json:"result"`
	Failure        string          `json:"failure,omitempty"`
	CreatedBy      audit.Actor     `json:"createdBy"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      time.Time       `json:"updatedAt"`
	StartedAt      *time.Time      `json:"startedAt,omitempty"`
	FinishedAt     *time.Time      `json:"finishedAt,omitempty"`
	Version        int64           `json:"version"`
}

// NewJobView is the view of j; handlers that start a job answer 202 with it.
func NewJobView(j jobs.Job) JobView {
	v := JobView{
		ID: j.ID, OrganizationID: j.OrganizationID, Kind: j.Kind, Status: j.Status, Progress: j.Progress,
		Errors: j.Errors, ErrorCount: j.ErrorCount, Result: j.Result, Failure: j.Failure, CreatedBy: j.CreatedBy,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Version: j.Version,
	}
	if v.Errors == nil {
		v.Errors = []jobs.Error{}
	}
	if len(v.Result) == 0 {
		v.Result = json.RawMessage("{}")
	}
	return v
}

// fetchJob reads one job of the organization; another organization's job id is
// simply not in this organization's partition: 404.
func fetchJob(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	id := r.PathValue("jobId")
	if !domain.ValidID(id) {
		return nil, problem.NotFoundf("the job was not found")
	}
	j, err := d.Store.GetJob(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, problem.NotFoundf("the job was not found")
	}
	if err != nil {
		return nil, err
	}
	return NewJobView(j), nil
}

// jobDeps are the deps of each store's job runners that use services beyond the table
// (a PSA sync opens credentials with Deps.Keys and calls the PSA): the jobs framework
// hands runners only the store, so the process that runs jobs over a store names its
// deps here (NewDeps, and the job worker's Lambda with its wired services).
var jobDeps sync.Map // *store.Store → *Deps

// ServeJobsWith makes d the deps of the job runners of d.Store in this process.
func ServeJobsWith(d *Deps) { jobDeps.Store(d.Store, d) }

// depsOfJob answers the deps of the store a job runs on; without any, the runner
// fails its job with a message that says why.
func depsOfJob(env *jobs.Env) (*Deps, error) {
	if d, ok := jobDeps.Load(env.Store); ok {
		return d.(*Deps), nil
	}
	return nil, jobs.Fail("this job worker was started without the services the job needs (the connections key)")
}
