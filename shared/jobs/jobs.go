// Package jobs runs long work (imports, merges, syncs) outside API requests, as
// DESIGN.md "Long work" describes: a job item in the table (status, progress, errors,
// result) and a worker fed by a queue: SQS and the job-worker Lambda in the cloud, an
// in-process goroutine queue in `make run` and tests.
//
// # Starting a job
//
// A feature adds a Runner for its kind to the registry that shared/api builds
// explicitly (api.JobRunners, one line a kind), which the worker Lambda, the local
// queue and Start are given; there is no global registry, so a binary links the
// runners only where it runs or starts jobs:
//
//	{KindCustomerImport, runCustomerImport}, // in api.jobRunners
//
// and a handler starts a job (its route lists "sqs:SendMessage" in Actions):
//
//	job, err := d.Jobs.Start(r.Context(), jobs.StartInput{
//		Kind: "customer-import", OrganizationID: oc.Org.ID, Input: csv,
//		Params: importOptions{...}, Category: audit.Customer,
//		Summary: "started importing customers.csv"})
//
// then answers 202 with the job, whose progress GET /api/jobs/{jobId} shows.
// Start writes the job item (queued), its input chunks and its audit event, then
// enqueues {organizationId, jobId}. When the queue refuses the message, the job is
// marked failed ("could not be queued") and Start returns a 503 problem, so the client
// starts it again; nothing is left queued with no message to run it.
//
// # The runner contract
//
// A worker claims a job (status running, attempts+1, a lease) and calls its runner
// with the job as last checkpointed. A crash, a timeout or a redelivered message runs
// the runner again from that checkpoint, so:
//
//  1. Resume from the checkpoint: job.Progress.Done units are finished (and
//     job.Cursor, job.Result are as of then); skip them.
//  2. Make each step idempotent relative to the checkpoint. The work between the last
//     checkpoint and a crash is done again, so each write must notice that it was
//     already made: a conditional write keyed by the row (a deterministic id from the
//     job id and line, or the natural key) that also records the job's id, e.g.
//     "attribute_not_exists(PK)", and when that fails "jobId = :thisJob". Count a row
//     in the result when either condition held: a row this job wrote in a batch that
//     was never checkpointed lost its count with that batch, so the redo counts it;
//     a row someone else wrote is a conflict (an error of that line), not a success.
//     Never keep a count in memory across a checkpoint: carry it in Result.
//  3. Checkpoint after each batch with env.Checkpoint: progress, new errors and the
//     running result are written together, conditioned on the job's version, so two
//     workers can never both advance a job. ErrLost means another worker holds the job
//     now: return it and do nothing more.
//  4. Between batches, when env.ShouldYield() reports the invocation's time is nearly
//     spent, checkpoint and return ErrContinue: the job is queued again and a fresh
//     invocation continues it.
//  5. Return nil when done (after a last Checkpoint with the Result); Fail(message)
//     for a failure the client should read ("the file is not UTF-8"); Retry(err) for a
//     transient fault, which the queue redelivers (up to MaxAttempts runs in all); any
//     other error or a panic fails the job as "internal error" and is logged.
//
// The runner's ctx carries the audit origin of the request that started the job, so
// audit.New(ctx, ...) in the runner's writes names the person who started it.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/store"
)

// Job is the job record; see store.Job.
type Job = store.Job

// Status, Progress, Error and Input are the job record's parts.
type (
	Status   = store.JobStatus
	Progress = store.JobProgress
	Error    = store.JobError
	Input    = store.JobInput
)

// The statuses: queued → running → succeeded | failed.
const (
	Queued    = store.JobQueued
	Running   = store.JobRunning
	Succeeded = store.JobSucceeded
	Failed    = store.JobFailed
)

// Runner does the work of one kind of job; see the package comment for its contract.
// job is the job as last checkpointed; env.Checkpoint updates it in place.
type Runner func(ctx context.Context, env *Env, job *Job) error

// Registry maps kinds to runners.
type Registry struct {
	mu      sync.RWMutex
	runners map[string]Runner
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{runners: map[string]Runner{}} }

// empty stands for a nil registry: it knows no kind.
var empty = NewRegistry()

// kindPattern compiles on first use: registering a kind needs it, a cold start of a
// route that starts no job does not.
var kindPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`) })

// Register adds the runner of kind (kebab-case). It panics on a bad kind, a nil runner
// or a kind registered twice: those are programming errors.
func (r *Registry) Register(kind string, run Runner) {
	if !kindPattern().MatchString(kind) || len(kind) > 64 {
		panic(fmt.Sprintf("jobs: kind %q must be kebab-case, at most 64 characters", kind))
	}
	if run == nil {
		panic("jobs: nil runner for kind " + kind)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.runners[kind]; ok {
		panic("jobs: kind " + kind + " registered twice")
	}
	r.runners[kind] = run
}

// Lookup returns the runner of kind; a nil registry has none.
func (r *Registry) Lookup(kind string) (Runner, bool) {
	if r == nil {
		r = empty
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	run, ok := r.runners[kind]
	return run, ok
}

// Kinds lists the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.runners))
	for k := range r.runners {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Outcomes a runner returns besides nil.
var (
	// ErrContinue: the runner checkpointed and wants a fresh invocation to continue.
	ErrContinue = errors.New("jobs: continue in a new invocation")
	// ErrLost: another worker wrote the job since this one read it; stop.
	ErrLost = errors.New("jobs: the job is held by another worker")
)

type retryError struct{ err error }

func (e *retryError) Error() string { return "retry: " + e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// Retry marks err as transient: the job is released and its message redelivered,
// and the run resumes from the last checkpoint.
func Retry(err error) error {
	if err == nil {
		return nil
	}
	return &retryError{err}
}

// Failure is an error whose message a client may read on the failed job.
type Failure struct{ Message string }

func (f *Failure) Error() string { return f.Message }

// Fail fails the job with message, shown to clients as the job's failure.
func Fail(message string) error { return &Failure{Message: message} }

// Failf is Fail with formatting.
func Failf(format string, args ...any) error { return Fail(fmt.Sprintf(format, args...)) }

// Checkpoint is the state a runner records after a batch.
type Checkpoint struct {
	// Done is the absolute count of finished units; it never goes back.
	Done int64
	// Total, when positive, replaces the recorded total.
	Total int64
	// Cursor, when not empty, replaces the recorded cursor.
	Cursor string
	// Errors are appended to the job's errors (the first MaxErrors are kept).
	Errors []Error
	// Result, when not nil, replaces the recorded result; it must encode as a JSON
	// object. Keep running totals here so a resumed run continues them.
	Result any
}

// MaxErrors is how many errors a job keeps; its errorCount counts them all.
const MaxErrors = store.MaxJobErrors

// Env is what a runner gets besides its job: the store, a logger and checkpointing.
type Env struct {
	Store *store.Store
	Log   *slog.Logger

	job      *Job
	deadline time.Time
	margin   time.Duration
	lease    func() time.Time
}

// Params decodes the job's parameters into v.
func (e *Env) Params(v any) error {
	if len(e.job.Params) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.job.Params, v); err != nil {
		return fmt.Errorf("job %s params: %w", e.job.ID, err)
	}
	return nil
}

// Input returns the blob the job was started with. Errors: store.ErrNotFound when it
// was started without one.
func (e *Env) Input(ctx context.Context) ([]byte, error) {
	return e.Store.ReadJobInput(ctx, *e.job)
}

// ShouldYield reports whether the invocation's time is nearly spent: checkpoint and
// return ErrContinue.
func (e *Env) ShouldYield() bool {
	return !e.deadline.IsZero() && time.Until(e.deadline) < e.margin
}

// Checkpoint records cp as the job's progress and renews the worker's lease. The job
// given to the runner is updated in place. Errors: ErrLost when another worker wrote
// the job since (the runner must stop).
func (e *Env) Checkpoint(ctx context.Context, cp Checkpoint) error {
	j := *e.job
	if cp.Done < j.Progress.Done {
		return fmt.Errorf("job %s: checkpoint at %d is before the recorded %d", j.ID, cp.Done, j.Progress.Done)
	}
	j.Progress.Done = cp.Done
	if cp.Total > 0 {
		j.Progress.Total = cp.Total
	}
	if cp.Cursor != "" {
		j.Cursor = cp.Cursor
	}
	if cp.Result != nil {
		raw, err := resultJSON(cp.Result)
		if err != nil {
			return fmt.Errorf("job %s: %w", j.ID, err)
		}
		j.Result = raw
	}
	j.Errors = slices.Clone(j.Errors)
	store.AppendJobErrors(&j, cp.Errors...)
	until := e.lease()
	j.LeaseUntil = &until
	v, err := e.Store.SaveProgress(ctx, j)
	if errors.Is(err, store.ErrJobChanged) {
		return ErrLost
	}
	if err != nil {
		return err
	}
	j.Version = v
	j.UpdatedAt = e.Store.Now()
	*e.job = j
	return nil
}

// resultJSON encodes a result, which must be a JSON object.
func resultJSON(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("result must be a JSON object, not %s", clipBytes(raw))
	}
	return raw, nil
}

func clipBytes(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
