package afterresponse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Name is the extension's name, as Lambda lists it in the function's logs.
const Name = "switchboard-after-response"

// The Extensions API's headers and event types.
const (
	headerName       = "Lambda-Extension-Name"
	headerIdentifier = "Lambda-Extension-Identifier"
	headerErrorType  = "Lambda-Extension-Function-Error-Type"
	EventInvoke      = "INVOKE"
	EventShutdown    = "SHUTDOWN"
)

// Extension holds each invocation open, after its response, until the tasks it left
// behind are done.
type Extension struct {
	base   string
	id     string
	client *http.Client

	mu   sync.Mutex
	done map[string]chan struct{}
}

// Event is what the Extensions API's next returns.
type Event struct {
	EventType  string `json:"eventType"`
	DeadlineMs int64  `json:"deadlineMs"`
	RequestID  string `json:"requestId"`
}

// Register registers the extension, for INVOKE events (an internal extension cannot
// take SHUTDOWN), with the Extensions API at runtimeAPI, the host:port in
// AWS_LAMBDA_RUNTIME_API. Lambda accepts a registration only during init, before the
// runtime asks for its first invocation, so it runs before lambda.Start.
func Register(ctx context.Context, runtimeAPI string) (*Extension, error) {
	e := &Extension{base: "http://" + runtimeAPI + "/2020-01-01/extension", client: &http.Client{}, done: map[string]chan struct{}{}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/register", bytes.NewReader([]byte(`{"events":["INVOKE"]}`)))
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	req.Header.Set(headerName, Name)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("register extension: %s", res.Status)
	}
	if e.id = res.Header.Get(headerIdentifier); e.id == "" {
		return nil, errors.New("register extension: no " + headerIdentifier + " in the answer")
	}
	return e, nil
}

// Handler wraps the function's handler: each invocation gets its Tasks (From finds
// them in the context), and once the handler has returned and its tasks are done, the
// extension may let the invocation end. Wrapping the raw handler, before the event is
// decoded, means every invocation the runtime takes is released, even one whose
// event the handler never sees.
func (e *Extension) Handler(inner lambda.Handler) lambda.Handler {
	return handler{e: e, inner: inner}
}

type handler struct {
	e     *Extension
	inner lambda.Handler
}

func (h handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	t := &Tasks{}
	var id string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		id = lc.AwsRequestID
	}
	defer func() {
		go func() {
			t.Wait()
			h.e.release(id)
		}()
	}()
	return h.inner.Invoke(With(ctx, t), payload)
}

// signal is the channel closed when invocation id's work is done.
func (e *Extension) signal(id string) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.done[id]
	if !ok {
		c = make(chan struct{})
		e.done[id] = c
	}
	return c
}

func (e *Extension) release(id string) {
	c := e.signal(id)
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-c:
	default:
		close(c)
	}
}

// await waits until invocation id's work is done, or its deadline has passed (Lambda
// has then ended the invocation itself).
func (e *Extension) await(ctx context.Context, id string, deadline time.Time) {
	c := e.signal(id)
	wait := time.Until(deadline)
	if deadline.IsZero() {
		wait = 15 * time.Minute // Lambda's longest timeout
	}
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	select {
	case <-c:
	case <-timer.C:
	case <-ctx.Done():
	}
	e.mu.Lock()
	delete(e.done, id)
	e.mu.Unlock()
}

// Run follows the invocations: for each INVOKE it waits for the invocation's work, then
// asks for the next event, which tells Lambda the extension is done with it. It returns
// on SHUTDOWN, when ctx is done, or when the API keeps failing; then it reports the
// failure to Lambda, which resets the environment rather than wait for an extension
// that no longer asks.
func (e *Extension) Run(ctx context.Context) error {
	failures := 0
	for {
		ev, err := e.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failures++; failures >= 5 {
				e.exitError(ctx, "Extension.NextFailed")
				return err
			}
			time.Sleep(time.Duration(failures) * 10 * time.Millisecond)
			continue
		}
		failures = 0
		switch ev.EventType {
		case EventInvoke:
			var deadline time.Time
			if ev.DeadlineMs > 0 {
				deadline = time.UnixMilli(ev.DeadlineMs)
			}
			e.await(ctx, ev.RequestID, deadline)
		case EventShutdown:
			return nil
		}
	}
}

// next long-polls for the next event.
func (e *Extension) next(ctx context.Context) (Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/event/next", nil)
	if err != nil {
		return Event{}, fmt.Errorf("extension next: %w", err)
	}
	req.Header.Set(headerIdentifier, e.id)
	res, err := e.client.Do(req)
	if err != nil {
		return Event{}, fmt.Errorf("extension next: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, res.Body)
		return Event{}, fmt.Errorf("extension next: %s", res.Status)
	}
	var ev Event
	if err := json.NewDecoder(res.Body).Decode(&ev); err != nil {
		return Event{}, fmt.Errorf("extension next: %w", err)
	}
	return ev, nil
}

// exitError tells Lambda the extension failed.
func (e *Extension) exitError(ctx context.Context, kind string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/exit/error", bytes.NewReader([]byte(`{}`)))
	if err != nil {
		return
	}
	req.Header.Set(headerIdentifier, e.id)
	req.Header.Set(headerErrorType, kind)
	if res, err := e.client.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
