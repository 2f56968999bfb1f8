package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Worker defaults.
const (
	// DefaultLease holds a claimed job when the run has no deadline (the local queue);
	// each checkpoint renews it. In Lambda the lease ends LeaseGrace after the
	// invocation's deadline, when the worker is certainly gone.
	DefaultLease = 5 * time.Minute
	LeaseGrace   = 30 * time.Second
	// DefaultYieldMargin is the time left before the deadline at which ShouldYield
	// reports true; a runner's batch must take less.
	DefaultYieldMargin = time.Minute
	// MaxAttempts runs of one job, crashes and retries included, after which the next
	// delivery fails it. It is one less than the queue's maxReceiveCount (5), so the
	// last delivery before the dead-letter queue can still record the failure.
	MaxAttempts = 4
)

// ErrBadMessage: a queue message that is not {organizationId, jobId}.
var ErrBadMessage = errors.New("jobs: bad queue message")

// Worker runs the jobs named by queue messages.
type Worker struct {
	Store *store.Store
	// Queue receives the message of a job that continues in a new invocation.
	Queue Queue
	// Runners run the jobs' kinds (api.JobRunners); a job of a kind not there fails.
	Runners *Registry
	// Lease, YieldMargin and MaxAttempts are the defaults above when zero.
	Lease       time.Duration
	YieldMargin time.Duration
	MaxAttempts int
	Log         *slog.Logger
}

// NewWorker returns a worker over st whose continuations go to q.
func NewWorker(st *store.Store, q Queue) *Worker { return &Worker{Store: st, Queue: q} }

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

func (w *Worker) leaseUntil(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d.Add(LeaseGrace)
	}
	lease := w.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	return w.Store.Now().Add(lease)
}

// Handle runs the job orgID/jobID named by one message. It returns nil when the
// message is done with: the job finished (now or before), failed, is held by another
// worker (whose own message is in flight), or no longer exists. It returns an error
// when the message must be delivered again: the store failed, the runner asked to
// retry, or the invocation ended before the runner did.
func (w *Worker) Handle(ctx context.Context, orgID, jobID string) error {
	if !domain.ValidID(orgID) || !domain.ValidID(jobID) {
		return fmt.Errorf("%w: organization %q, job %q", ErrBadMessage, orgID, jobID)
	}
	log := w.log().With("organizationId", orgID, "jobId", jobID)
	j, err := w.Store.GetJob(ctx, orgID, jobID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.WarnContext(ctx, "job not found; message dropped")
		return nil
	case err != nil:
		return err
	}
	log = log.With("kind", j.Kind)
	if j.Status.Finished() {
		log.InfoContext(ctx, "job already finished; message dropped", "status", j.Status)
		return nil
	}
	if j.Status == Running && j.LeaseUntil != nil && w.Store.Now().Before(*j.LeaseUntil) {
		log.InfoContext(ctx, "job held by another worker; message dropped", "leaseUntil", j.LeaseUntil)
		return nil
	}
	run, ok := w.Runners.Lookup(j.Kind)
	if !ok {
		return w.fail(ctx, log, j, fmt.Sprintf("no runner handles jobs of kind %q", j.Kind))
	}
	maxAttempts := w.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = MaxAttempts
	}
	if j.Attempts >= maxAttempts {
		return w.fail(ctx, log, j, fmt.Sprintf("the job stopped after %d attempts without finishing", j.Attempts))
	}
	j, err = w.Store.ClaimJob(ctx, j, w.leaseUntil(ctx))
	if errors.Is(err, store.ErrJobChanged) {
		log.InfoContext(ctx, "job claimed by another worker; message dropped")
		return nil
	}
	if err != nil {
		return err
	}
	margin := w.YieldMargin
	if margin <= 0 {
		margin = DefaultYieldMargin
	}
	env := &Env{Store: w.Store, Log: log, job: &j, margin: margin, lease: func() time.Time { return w.leaseUntil(ctx) }}
	if d, ok := ctx.Deadline(); ok {
		env.deadline = d
	}
	log.InfoContext(ctx, "job running", "attempt", j.Attempts, "done", j.Progress.Done, "total", j.Progress.Total)
	runCtx := audit.WithOrigin(ctx, j.Origin())
	err = safeRun(runCtx, run, env, &j)
	return w.settle(ctx, log, &j, err)
}

// safeRun calls the runner and turns a panic into an error.
func safeRun(ctx context.Context, run Runner, env *Env, j *Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return run(ctx, env, j)
}

type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// settle records what the run came to.
func (w *Worker) settle(ctx context.Context, log *slog.Logger, j *Job, runErr error) error {
	var failure *Failure
	var retry *retryError
	var pe *panicError
	// Writes after the run must happen even when ctx ends with it.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case errors.Is(runErr, ErrLost):
		log.InfoContext(ctx, "job taken over by another worker; this run stops")
		return nil
	case runErr == nil:
		_, err := w.finish(wctx, *j, Succeeded, "")
		if err == nil {
			log.InfoContext(ctx, "job succeeded", "done", j.Progress.Done, "errors", j.ErrorCount)
		}
		return ignoreChanged(err)
	case errors.Is(runErr, ErrContinue):
		released, err := w.Store.ReleaseJob(wctx, *j, true)
		if err != nil {
			return ignoreChanged(err)
		}
		if err := w.Queue.Enqueue(wctx, released.OrganizationID, released.ID); err != nil {
			// The lease is released: this message's redelivery continues the job.
			return fmt.Errorf("continue job %s: %w", j.ID, err)
		}
		log.InfoContext(ctx, "job continues in a new invocation", "done", j.Progress.Done)
		return nil
	case errors.As(runErr, &retry), ctx.Err() != nil && !errors.As(runErr, &failure) && !errors.As(runErr, &pe):
		if _, err := w.Store.ReleaseJob(wctx, *j, false); err != nil && !errors.Is(err, store.ErrJobChanged) {
			log.WarnContext(ctx, "job lease not released", "err", err.Error())
		}
		log.WarnContext(ctx, "job run interrupted; it resumes on redelivery", "done", j.Progress.Done, "err", runErr.Error())
		return fmt.Errorf("job %s: %w", j.ID, runErr)
	case errors.As(runErr, &failure):
		return w.fail(wctx, log, *j, failure.Message)
	case errors.As(runErr, &pe):
		log.ErrorContext(ctx, "job runner panicked", "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
		return w.fail(wctx, log, *j, "internal error")
	default:
		log.ErrorContext(ctx, "job runner failed", "err", runErr.Error())
		return w.fail(wctx, log, *j, "internal error")
	}
}

func ignoreChanged(err error) error {
	if errors.Is(err, store.ErrJobChanged) {
		return nil
	}
	return err
}

// fail records the job as failed with message; a job written by someone else in the
// meantime is theirs to finish.
func (w *Worker) fail(ctx context.Context, log *slog.Logger, j Job, message string) error {
	_, err := w.finish(ctx, j, Failed, message)
	if err == nil {
		log.WarnContext(ctx, "job failed", "failure", message)
	}
	return ignoreChanged(err)
}

// finish writes the final status with its audit event, stamped with the origin of the
// request that started the job.
func (w *Worker) finish(ctx context.Context, j Job, status Status, failure string) (Job, error) {
	return finishJob(ctx, w.Store, j, status, failure)
}

func finishJob(ctx context.Context, st *store.Store, j Job, status Status, failure string) (Job, error) {
	var ev *audit.Event
	if j.Category != "" {
		summary := fmt.Sprintf("%s job %s %s: %d of %d done, %d errors", j.Kind, j.ID, status, j.Progress.Done, j.Progress.Total, j.ErrorCount)
		if status == Failed {
			summary += ": " + failure
		}
		e := audit.New(audit.WithOrigin(ctx, j.Origin()), j.OrganizationID, j.Category, "job."+string(status), domain.Truncate(summary, 500))
		ev = &e
	}
	return st.FinishJob(ctx, j, status, failure, ev)
}

// Message is the body of a queue message.
type Message struct {
	OrganizationID string `json:"organizationId"`
	JobID          string `json:"jobId"`
}

// ParseMessage reads a message body. Errors: ErrBadMessage.
func ParseMessage(body string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if !domain.ValidID(m.OrganizationID) || !domain.ValidID(m.JobID) {
		return Message{}, fmt.Errorf("%w: organizationId and jobId are required ids", ErrBadMessage)
	}
	return m, nil
}

// HandleSQS handles a batch from SQS, each record concurrently, and reports the
// records to deliver again (a failed run, or a body that is no job message, which
// then ends in the dead-letter queue) as batch item failures.
func (w *Worker) HandleSQS(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	failed := make([]bool, len(ev.Records))
	var wg sync.WaitGroup
	for i, rec := range ev.Records {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := ParseMessage(rec.Body)
			if err == nil {
				err = w.Handle(ctx, m.OrganizationID, m.JobID)
			}
			if err != nil {
				failed[i] = true
				w.log().WarnContext(ctx, "queue message not done", "messageId", rec.MessageId,
					"receiveCount", rec.Attributes["ApproximateReceiveCount"], "err", err.Error())
			}
		}()
	}
	wg.Wait()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	return resp
}
