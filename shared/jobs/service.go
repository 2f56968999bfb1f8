package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Service starts jobs and reads them.
type Service struct {
	Store *store.Store
	Queue Queue
	// Runners are the kinds Start accepts (api.JobRunners); nil accepts none.
	Runners *Registry
}

// Environment variables of the job queue (read by jobs/sqsqueue, which holds the SQS
// side so that this package links no AWS service).
const (
	// EnvQueueURL is the SQS queue of jobs (template.yaml sets it on every function);
	// without it jobs run on the in-process queue.
	EnvQueueURL = "JOBS_QUEUE_URL"
	// EnvSQSEndpoint points the SQS client at moto (or another endpoint).
	EnvSQSEndpoint = "SQS_ENDPOINT"
)

// NewService returns a service that writes jobs to st and sends them to q, accepting
// the kinds of runners.
func NewService(st *store.Store, q Queue, runners *Registry) *Service {
	return &Service{Store: st, Queue: q, Runners: runners}
}

// NewLocal returns a service whose jobs run in this process, on a LocalQueue drained
// by a Worker over st with runners.
func NewLocal(st *store.Store, runners *Registry) *Service {
	q := NewLocalQueue(4, 1024)
	w := NewWorker(st, q)
	w.Runners = runners
	q.SetHandler(w.Handle)
	return NewService(st, q, runners)
}

// StartInput is a job to start.
type StartInput struct {
	Kind           string
	OrganizationID string
	// Input is an optional blob (a CSV file, ...) of at most MaxInput bytes.
	Input []byte
	// Params, when not nil, must encode as a JSON object; the runner reads them with
	// env.Params.
	Params any
	// Total is the number of units of work, when known up front.
	Total int64
	// Category is the audit category of the job's start and finish events.
	Category audit.Category
	// Summary of the start event; "started a <kind> job" when empty.
	Summary string
	Targets audit.Targets
}

// MaxInput is the largest input of a job.
const MaxInput = store.MaxJobInput

// Start creates the job (queued, with its input and its audit event, stamped with the
// request's origin in ctx) and enqueues it. Errors: a 413 problem for an input over
// MaxInput; a 503 problem when the queue refused the message, in which case the job
// returned is already marked failed; store errors.
func (s *Service) Start(ctx context.Context, in StartInput) (Job, error) {
	if in.OrganizationID == "" {
		return Job{}, store.ErrNoOrganization
	}
	if _, ok := s.Runners.Lookup(in.Kind); !ok {
		return Job{}, fmt.Errorf("start job: no runner is registered for kind %q", in.Kind)
	}
	if in.Category == "" {
		return Job{}, fmt.Errorf("start %s job: an audit category is required", in.Kind)
	}
	if len(in.Input) > MaxInput {
		return Job{}, problem.New(problem.PayloadTooLarge, "input-too-large", fmt.Sprintf("the input must be at most %d bytes", MaxInput))
	}
	var params json.RawMessage
	if in.Params != nil {
		raw, err := json.Marshal(in.Params)
		if err != nil || len(raw) == 0 || raw[0] != '{' {
			return Job{}, fmt.Errorf("start %s job: params must encode as a JSON object (%v)", in.Kind, err)
		}
		params = raw
	}
	origin := audit.OriginFrom(ctx)
	j := Job{
		ID: domain.NewID(), OrganizationID: in.OrganizationID, Kind: in.Kind,
		Progress: Progress{Total: max(in.Total, 0)}, Params: params, Category: in.Category,
		CreatedBy: origin.Actor, OnBehalfOf: origin.OnBehalfOf, SourceIP: origin.SourceIP, UserAgent: origin.UserAgent,
	}
	summary := in.Summary
	if summary == "" {
		summary = "started a " + in.Kind + " job"
	}
	ev := audit.New(ctx, in.OrganizationID, in.Category, "job.start", summary)
	ev.Targets = in.Targets
	j, err := s.Store.CreateJob(ctx, j, in.Input, ev)
	if errors.Is(err, store.ErrJobInputTooLarge) {
		return Job{}, problem.New(problem.PayloadTooLarge, "input-too-large", fmt.Sprintf("the input must be at most %d bytes", MaxInput))
	}
	if err != nil {
		return Job{}, fmt.Errorf("start %s job: %w", in.Kind, err)
	}
	if qerr := s.Queue.Enqueue(ctx, j.OrganizationID, j.ID); qerr != nil {
		slog.ErrorContext(ctx, "job not queued; marking it failed", "organizationId", j.OrganizationID, "jobId", j.ID,
			"kind", j.Kind, "err", qerr.Error())
		wctx := context.WithoutCancel(ctx)
		if failed, err := finishJob(wctx, s.Store, j, Failed, NotQueued); err == nil {
			j = failed
		} else {
			slog.ErrorContext(ctx, "job not queued and not marked failed", "jobId", j.ID, "err", err.Error())
		}
		pe := problem.New(problem.Unavailable, "job-not-queued", "the job could not be queued; start it again in a moment")
		pe.RetryAfter = 5
		return j, pe
	}
	return j, nil
}

// NotQueued is the failure of a job whose message the queue refused.
const NotQueued = "the job could not be queued; start it again"

// Get reads a job of organization orgID. Errors: store.ErrNotFound, ErrNoOrganization.
func (s *Service) Get(ctx context.Context, orgID, jobID string) (Job, error) {
	return s.Store.GetJob(ctx, orgID, jobID)
}

// Idle waits until the local queue has nothing queued or running; with SQS it returns
// at once. Tests of features that start jobs use it.
func (s *Service) Idle(ctx context.Context) error {
	if q, ok := s.Queue.(*LocalQueue); ok {
		return q.Idle(ctx)
	}
	return nil
}

// Close stops the local queue's runs (they stay resumable) and waits for them until
// ctx ends; with SQS it does nothing.
func (s *Service) Close(ctx context.Context) error {
	if q, ok := s.Queue.(*LocalQueue); ok {
		return q.Close(ctx)
	}
	return nil
}
