package afterresponse

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func TestFrom(t *testing.T) {
	if From(context.Background()) != nil {
		t.Fatal("tasks outside an invocation")
	}
	tasks := &Tasks{}
	if From(With(context.Background(), tasks)) != tasks {
		t.Fatal("tasks not found in the context")
	}
}

// TestTasksOutliveTheRequest: a task runs on a context the request's cancellation does
// not reach, bounded by Budget.
func TestTasksOutliveTheRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var tasks Tasks
	var sawErr error
	var deadline time.Time
	release := make(chan struct{})
	tasks.Go(ctx, func(ctx context.Context) {
		<-release
		sawErr = ctx.Err()
		deadline, _ = ctx.Deadline()
	})
	cancel()
	close(release)
	tasks.Wait()
	if sawErr != nil || deadline.IsZero() || time.Until(deadline) > Budget {
		t.Fatalf("task context: err %v, deadline %v", sawErr, deadline)
	}
}

// TestHandlerAnswersBeforeItsTasks: aws-lambda-go sends the response's JSON as it is,
// and closes it once sent; closing is what waits for the invocation's tasks.
func TestHandlerAnswersBeforeItsTasks(t *testing.T) {
	release := make(chan struct{})
	var finished atomic.Bool
	h := Handler(func(ctx context.Context, in map[string]string) (map[string]string, error) {
		From(ctx).Go(ctx, func(context.Context) {
			<-release
			finished.Store(true)
		})
		return map[string]string{"answer": in["question"]}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := h(ctx, map[string]string{"question": "<42>"})
	if err != nil {
		t.Fatal(err)
	}
	// What the runtime posts: the handler's output, encoded once.
	body, err := io.ReadAll(res)
	if err != nil || string(body) != `{"answer":"\u003c42\u003e"}` || res.ContentType() != "application/json" {
		t.Fatalf("response %s %v (%s)", body, err, res.ContentType())
	}
	if _, err := json.Marshal(res); err == nil {
		t.Fatal("the response encodes as JSON: aws-lambda-go would send that instead of its body")
	}
	closed := closeAsync(res)
	select {
	case <-closed:
		t.Fatal("the response closed before its task was done")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-closed
	if !finished.Load() {
		t.Fatal("closed before the task finished")
	}
}

// TestThroughTheLambdaLibrary: the handler, as aws-lambda-go runs it, answers with its
// output's JSON and has waited for its tasks once the library is done with it.
func TestThroughTheLambdaLibrary(t *testing.T) {
	var finished atomic.Bool
	h := lambda.NewHandler(Handler(func(ctx context.Context, in json.RawMessage) (map[string]int, error) {
		From(ctx).Go(ctx, func(context.Context) {
			time.Sleep(20 * time.Millisecond)
			finished.Store(true)
		})
		return map[string]int{"statusCode": 200}, nil
	}))
	out, err := h.Invoke(context.Background(), []byte(`{"x":1}`))
	if err != nil || string(out) != `{"statusCode":200}` {
		t.Fatalf("%s %v", out, err)
	}
	if !finished.Load() {
		t.Fatal("the library was done with the response before its task finished")
	}
}

// TestHandlerFailureWaits: a failing handler waits for its tasks before it fails, as
// nothing is left to close.
func TestHandlerFailureWaits(t *testing.T) {
	var finished atomic.Bool
	h := Handler(func(ctx context.Context, _ struct{}) (struct{}, error) {
		From(ctx).Go(ctx, func(context.Context) {
			time.Sleep(20 * time.Millisecond)
			finished.Store(true)
		})
		return struct{}{}, errors.New("no luck")
	})
	if _, err := h(context.Background(), struct{}{}); err == nil || !finished.Load() {
		t.Fatalf("err %v, task finished %v", err, finished.Load())
	}
}

// TestCloseStopsAtTheDeadline: past the invocation's deadline Lambda ends it anyway, so
// a task that outlives it does not hold the runtime.
func TestCloseStopsAtTheDeadline(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	h := Handler(func(ctx context.Context, _ struct{}) (struct{}, error) {
		From(ctx).Go(ctx, func(context.Context) { <-stuck })
		return struct{}{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err := h(ctx, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	closed := closeAsync(res)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited past the invocation's deadline")
	}
}

// closeAsync closes res in a goroutine; the channel is closed once Close returned.
func closeAsync(res *Response) <-chan struct{} {
	closed := make(chan struct{})
	go func() {
		_ = res.Close()
		close(closed)
	}()
	return closed
}
