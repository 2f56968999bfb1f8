// Package afterresponse lets a Lambda function answer first and finish its bookkeeping
// (counting the API call, recording the session's activity) after the answer is sent.
//
// A runtime posts each invocation's response to the Runtime API, and only then asks
// for the next invocation; Lambda returns the response to the caller when it is
// posted, and ends the invocation (and may freeze the environment) when the runtime
// asks for the next one. The time between is the runtime's cleanup step
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html: "send data to
// other services, or perform additional tasks before getting the next event").
// aws-lambda-go closes a response that is an io.Closer after sending it and before it
// asks for the next invocation, so Handler's response waits there for the tasks the
// invocation left behind: the caller does not wait for them, and Lambda never freezes
// them half-way.
package afterresponse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Budget bounds each piece of work left behind: the environment is held open for it,
// billed, and unable to take the next invocation, so a stuck call must not hold it long.
const Budget = 3 * time.Second

// Tasks is the work one invocation left behind.
type Tasks struct {
	wg sync.WaitGroup
}

// Go runs f in its own goroutine, on a context detached from the request's cancellation
// (the response may be sent, and the request's context done, before f finishes) and
// bounded by Budget.
func (t *Tasks) Go(ctx context.Context, f func(context.Context)) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Budget)
		defer cancel()
		f(ctx)
	}()
}

// Wait returns once every task has finished.
func (t *Tasks) Wait() { t.wg.Wait() }

// waitUntil waits for the tasks, or until deadline (zero: no deadline); it reports
// whether they finished.
func (t *Tasks) waitUntil(deadline time.Time) bool {
	if deadline.IsZero() {
		t.Wait()
		return true
	}
	done := make(chan struct{})
	go func() {
		t.Wait()
		close(done)
	}()
	timer := time.NewTimer(max(time.Until(deadline), 0))
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

type tasksKey struct{}

// With returns ctx carrying t: work handed to it may finish after the response.
func With(ctx context.Context, t *Tasks) context.Context {
	return context.WithValue(ctx, tasksKey{}, t)
}

// From returns the tasks of the invocation ctx belongs to, or nil when nothing holds
// the invocation open after the response (a local server, a test): the caller must
// then wait for its own work.
func From(ctx context.Context) *Tasks {
	t, _ := ctx.Value(tasksKey{}).(*Tasks)
	return t
}

// Handler is h as a handler for lambda.Start: each invocation gets its Tasks (From
// finds them in the context), and its response, sent as h's output in JSON, waits for
// them only once sent. An invocation whose h fails waits for its tasks before failing.
func Handler[In, Out any](h func(context.Context, In) (Out, error)) func(context.Context, In) (*Response, error) {
	return func(ctx context.Context, in In) (*Response, error) {
		t := &Tasks{}
		deadline, _ := ctx.Deadline()
		out, err := h(With(ctx, t), in)
		if err != nil {
			t.waitUntil(deadline)
			return nil, err
		}
		body, err := json.Marshal(out)
		if err != nil {
			t.waitUntil(deadline)
			return nil, fmt.Errorf("encode the response: %w", err)
		}
		return &Response{body: bytes.NewReader(body), tasks: t, deadline: deadline}, nil
	}
}

// Response is an invocation's JSON response, which aws-lambda-go sends as it is (an
// io.Reader that is not JSON itself) and closes once sent, before it asks for the next
// invocation: Close waits for the invocation's tasks, up to its deadline.
type Response struct {
	body     *bytes.Reader
	tasks    *Tasks
	deadline time.Time
}

// errRaw is what MarshalJSON answers, so that aws-lambda-go sends the body as it is.
var errRaw = errors.New("afterresponse: the response is sent as it is")

// Read reads the response's JSON.
func (r *Response) Read(p []byte) (int, error) { return r.body.Read(p) }

// ContentType is the response's content type, for the Runtime API.
func (r *Response) ContentType() string { return "application/json" }

// MarshalJSON refuses: aws-lambda-go then sends what Read gives instead of encoding
// the response again.
func (r *Response) MarshalJSON() ([]byte, error) { return nil, errRaw }

// Close waits for the invocation's tasks, up to its deadline; past it, Lambda ends the
// invocation anyway, so the tasks left are logged and the next invocation may find
// them frozen half-way.
func (r *Response) Close() error {
	if !r.tasks.waitUntil(r.deadline) {
		slog.Warn("work left after the response outlived the invocation's deadline")
	}
	return nil
}
