// Package afterresponse lets a Lambda function answer first and finish its bookkeeping
// (counting the API call, recording the session's activity) after the answer is sent.
//
// Lambda freezes an execution environment once its runtime has posted the response and
// every registered extension has asked for its next event. An internal extension (a
// goroutine of the function's own process, registered through the Lambda Extensions API
// during init) asks for the next event only once the work an invocation left behind is
// done: the caller gets the response without waiting for that work, and Lambda never
// freezes it half-way.
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
package afterresponse

import (
	"context"
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

type tasksKey struct{}

// With returns ctx carrying t: work handed to it may finish after the response.
func With(ctx context.Context, t *Tasks) context.Context {
	return context.WithValue(ctx, tasksKey{}, t)
}

// From returns the tasks of the invocation ctx belongs to, or nil when nothing holds
// the invocation open after the response (a local server, a test, or a function whose
// extension could not register): the caller must then wait for its own work.
func From(ctx context.Context) *Tasks {
	t, _ := ctx.Value(tasksKey{}).(*Tasks)
	return t
}
