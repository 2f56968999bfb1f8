package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Queue delivers {organizationId, jobId} messages to a worker, at least once.
type Queue interface {
	// Enqueue sends the message of job jobID of organization orgID.
	Enqueue(ctx context.Context, orgID, jobID string) error
}

var _ Queue = (*LocalQueue)(nil)

// ErrQueueFull: the local queue's buffer is full.
var ErrQueueFull = errors.New("jobs: local queue is full")

// ErrQueueClosed: the local queue was closed.
var ErrQueueClosed = errors.New("jobs: local queue is closed")

// LocalQueue is the in-process queue of `make run` and of tests without moto: a
// buffered channel drained by up to Workers goroutines, started on demand and ended
// when the channel is empty. Like SQS it delivers a message again when its handler
// fails, up to MaxReceives times. Messages live in memory only: a job queued when the
// process stops stays queued.
type LocalQueue struct {
	handle      func(ctx context.Context, orgID, jobID string) error
	ch          chan localMessage
	workers     int
	maxReceives int
	// RetryDelay is the wait before delivering a failed message again, after its
	// receives-th delivery: 200 ms doubling to 10 s unless set before the first Enqueue.
	RetryDelay func(receives int) time.Duration

	mu      sync.Mutex
	running int
	closed  bool
	pending sync.WaitGroup // queued, in flight or waiting to be delivered again
	ctx     context.Context
	cancel  context.CancelFunc
}

type localMessage struct {
	orgID, jobID string
	receives     int
}

// NewLocalQueue returns a queue of buffer messages handled by up to workers goroutines.
// SetHandler must be called before the first Enqueue.
func NewLocalQueue(workers, buffer int) *LocalQueue {
	ctx, cancel := context.WithCancel(context.Background())
	return &LocalQueue{
		ch: make(chan localMessage, buffer), workers: max(workers, 1), maxReceives: 5,
		RetryDelay: func(n int) time.Duration { return min(100*time.Millisecond<<n, 10*time.Second) },
		ctx:        ctx, cancel: cancel,
	}
}

// SetHandler sets what handles each message, typically a Worker's Handle.
func (q *LocalQueue) SetHandler(h func(ctx context.Context, orgID, jobID string) error) { q.handle = h }

// Enqueue adds a message without blocking. Errors: ErrQueueFull, ErrQueueClosed.
func (q *LocalQueue) Enqueue(ctx context.Context, orgID, jobID string) error {
	return q.send(localMessage{orgID: orgID, jobID: jobID}, false)
}

func (q *LocalQueue) send(m localMessage, redelivery bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		if redelivery {
			q.pending.Done()
		}
		return ErrQueueClosed
	}
	if !redelivery {
		q.pending.Add(1)
	}
	select {
	case q.ch <- m:
	default:
		q.pending.Done()
		return ErrQueueFull
	}
	if q.running < q.workers {
		q.running++
		go q.loop()
	}
	return nil
}

func (q *LocalQueue) loop() {
	for {
		q.mu.Lock()
		select {
		case m := <-q.ch:
			q.mu.Unlock()
			q.deliver(m)
		default:
			q.running--
			q.mu.Unlock()
			return
		}
	}
}

func (q *LocalQueue) deliver(m localMessage) {
	m.receives++
	err := q.call(m)
	if err == nil || q.ctx.Err() != nil {
		q.pending.Done()
		return
	}
	if m.receives >= q.maxReceives {
		slog.Error("local job queue: message dropped after its last delivery", "organizationId", m.orgID, "jobId", m.jobID,
			"receives", m.receives, "err", err.Error())
		q.pending.Done()
		return
	}
	time.AfterFunc(q.RetryDelay(m.receives), func() { _ = q.send(m, true) })
}

func (q *LocalQueue) call(m localMessage) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v}
		}
	}()
	if q.handle == nil {
		return errors.New("jobs: local queue has no handler")
	}
	return q.handle(q.ctx, m.orgID, m.jobID)
}

// Idle waits until no message is queued, in flight or waiting for redelivery.
func (q *LocalQueue) Idle(ctx context.Context) error {
	done := make(chan struct{})
	go func() { q.pending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close refuses new messages, cancels the runs in flight (they release their jobs,
// which stay resumable) and waits for them until ctx ends.
func (q *LocalQueue) Close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	// Drain what was queued but never delivered.
	for {
		select {
		case <-q.ch:
			q.pending.Done()
			continue
		default:
		}
		break
	}
	return q.Idle(ctx)
}
