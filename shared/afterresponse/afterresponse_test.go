package afterresponse

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
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

// fakeAPI is the Extensions API's side of one extension, with invocations pushed by
// the test.
type fakeAPI struct {
	events chan Event
	asks   atomic.Int32
	// asked receives each ask for a next event after the first (the end of an
	// invocation for the extension).
	asked chan struct{}
	name  string
	mu    sync.Mutex
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/extension/register"):
		f.mu.Lock()
		f.name = r.Header.Get(headerName)
		f.mu.Unlock()
		w.Header().Set(headerIdentifier, "ext-1")
		_, _ = w.Write([]byte(`{}`))
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/extension/event/next"):
		if r.Header.Get(headerIdentifier) != "ext-1" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if f.asks.Add(1) > 1 {
			f.asked <- struct{}{}
		}
		select {
		case ev := <-f.events:
			_ = json.NewEncoder(w).Encode(ev)
		case <-r.Context().Done():
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestExtensionHoldsTheInvocation: the extension asks for its next event only once the
// handler has returned and the work it left is done.
func TestExtensionHoldsTheInvocation(t *testing.T) {
	api := &fakeAPI{events: make(chan Event, 1), asked: make(chan struct{}, 4)}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ext, err := Register(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if api.name != Name {
		t.Fatalf("registered as %q", api.name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = ext.Run(ctx) }()

	release := make(chan struct{})
	h := ext.Handler(lambda.NewHandler(func(ctx context.Context, _ json.RawMessage) (string, error) {
		From(ctx).Go(ctx, func(context.Context) { <-release })
		return "answered", nil
	}))
	for _, id := range []string{"req-1", "req-2"} {
		api.events <- Event{EventType: EventInvoke, RequestID: id, DeadlineMs: time.Now().Add(time.Minute).UnixMilli()}
		out, err := h.Invoke(lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id}), []byte(`{}`))
		if err != nil || string(out) != `"answered"` {
			t.Fatalf("%s: %s %v", id, out, err)
		}
		// The handler has answered; its task still runs, so the extension holds on.
		select {
		case <-api.asked:
			t.Fatalf("%s: the extension let the invocation end before its work was done", id)
		case <-time.After(50 * time.Millisecond):
		}
		release <- struct{}{}
		<-api.asked
	}
}

// TestRegisterRefused: a refused registration is an error, so the function falls back
// to waiting for its own work.
func TestRegisterRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer srv.Close()
	if _, err := Register(context.Background(), strings.TrimPrefix(srv.URL, "http://")); err == nil {
		t.Fatal("registered")
	}
}
