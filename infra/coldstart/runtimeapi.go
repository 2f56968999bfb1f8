package coldstart

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The paths of the Lambda Runtime API, version 2018-06-01
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	pathNext      = "/2018-06-01/runtime/invocation/next"
	pathResponse  = "/2018-06-01/runtime/invocation/{id}/response"
	pathError     = "/2018-06-01/runtime/invocation/{id}/error"
	pathInitError = "/2018-06-01/runtime/init/error"
)

// The paths of the Lambda Extensions API, version 2020-01-01
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html): the
// functions register an internal extension (shared/afterresponse).
const (
	pathRegister      = "/2020-01-01/extension/register"
	pathExtensionNext = "/2020-01-01/extension/event/next"
	pathExitError     = "/2020-01-01/extension/exit/error"
)

// Outcome kinds: how a function answered its invocation.
const (
	KindResponse  = "response"
	KindError     = "error"
	KindInitError = "init-error"
)

// outcome is the first answer a function process gave.
type outcome struct {
	at   time.Time
	kind string
	body []byte
}

// runtimeAPI serves the Lambda Runtime API and Extensions API for one function process
// and one invocation, on 127.0.0.1. As in Lambda, extensions register during init; the
// invocation is handed out once the runtime and every extension have asked for their
// next event, to all of them at once; the invocation ends once the runtime has answered
// and every extension has asked again. Later asks block, as Lambda freezes a process
// that waits for work. The first response, error or init error is the outcome.
type runtimeAPI struct {
	ln        net.Listener
	srv       *http.Server
	event     []byte
	requestID string
	arn       string
	deadline  time.Duration

	mu     sync.Mutex
	served bool
	// asked is when the process first asked for an invocation: the end of its init.
	asked time.Time
	done  chan outcome
	once  sync.Once

	// extensions are the registered extensions by identifier; ready is closed once
	// the runtime and each of them have asked for their next event, when the
	// invocation is handed out.
	extensions map[string]*extension
	ready      chan struct{}
	readyOnce  sync.Once
	// released is when the last extension asked for its next event after the
	// invocation; releasedCh is closed then.
	released   time.Time
	releasedCh chan struct{}
	relOnce    sync.Once
	answeredCh chan struct{}
}

// extension is one registered extension's progress.
type extension struct {
	asks int
}

func newRuntimeAPI(function string, event []byte, deadline time.Duration) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &runtimeAPI{ln: ln, event: event, deadline: deadline, done: make(chan outcome, 1),
		extensions: map[string]*extension{}, ready: make(chan struct{}), releasedCh: make(chan struct{}), answeredCh: make(chan struct{}),
		requestID: fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, time.Now().UnixNano()&0xffffffffffff),
		arn:       "arn:aws:lambda:us-east-1:123456789012:function:" + function}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, a.next)
	mux.HandleFunc("POST "+pathResponse, a.answer(KindResponse))
	mux.HandleFunc("POST "+pathError, a.answer(KindError))
	mux.HandleFunc("POST "+pathInitError, a.initError)
	mux.HandleFunc("POST "+pathRegister, a.register)
	mux.HandleFunc("GET "+pathExtensionNext, a.extensionNext)
	mux.HandleFunc("POST "+pathExitError, a.exitError)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

// Addr is the host:port of AWS_LAMBDA_RUNTIME_API.
func (a *runtimeAPI) Addr() string { return a.ln.Addr().String() }

// Close stops the server and unblocks a waiting next.
func (a *runtimeAPI) Close() { _ = a.srv.Close() }

// initDone is when the process first asked for an invocation (zero if it has not).
func (a *runtimeAPI) initDone() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked
}

func (a *runtimeAPI) finish(o outcome) {
	a.once.Do(func() {
		a.done <- o
		close(a.answeredCh)
	})
	a.checkReleased()
}

// answered is closed once the function has answered.
func (a *runtimeAPI) answered() <-chan struct{} { return a.answeredCh }

// releasedAt is when the invocation ended (zero while it has not).
func (a *runtimeAPI) releasedAt() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.released
}

func (a *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	first := !a.served
	if first {
		a.served, a.asked = true, time.Now()
	}
	a.mu.Unlock()
	if !first {
		// One invocation per process: wait, as a frozen sandbox would, until the
		// process is stopped.
		<-r.Context().Done()
		return
	}
	if !a.awaitInvocation(r) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", a.requestID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(a.deadline).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", a.arn)
	h.Set("Lambda-Runtime-Trace-Id", fmt.Sprintf("Root=1-%08x-%024x;Parent=%016x;Sampled=0", time.Now().Unix(), time.Now().UnixNano(), time.Now().UnixNano()))
	_, _ = w.Write(a.event)
}

// awaitInvocation blocks an ask for the next event until the invocation is handed
// out (true), or the asker gives up (false).
func (a *runtimeAPI) awaitInvocation(r *http.Request) bool {
	a.checkReady()
	select {
	case <-a.ready:
		return true
	case <-r.Context().Done():
		return false
	}
}

// checkReady hands out the invocation once the runtime and every extension have asked
// for their next event: the end of init.
func (a *runtimeAPI) checkReady() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.served {
		return
	}
	for _, e := range a.extensions {
		if e.asks == 0 {
			return
		}
	}
	a.readyOnce.Do(func() { close(a.ready) })
}

// checkReleased ends the invocation once the runtime has answered and every extension
// has asked for its next event after it.
func (a *runtimeAPI) checkReleased() {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.answered():
	default:
		return
	}
	for _, e := range a.extensions {
		if e.asks < 2 {
			return
		}
	}
	a.relOnce.Do(func() {
		a.released = time.Now()
		close(a.releasedCh)
	})
}

// register takes an extension's registration, during init only.
func (a *runtimeAPI) register(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Events []string `json:"events"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	a.mu.Lock()
	if a.served || r.Header.Get("Lambda-Extension-Name") == "" {
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errorMessage":"extensions register during init, with a name","errorType":"Extension.InvalidRegistration"}`)
		return
	}
	id := fmt.Sprintf("ext-%d-%d", len(a.extensions)+1, time.Now().UnixNano())
	a.extensions[id] = &extension{}
	a.mu.Unlock()
	w.Header().Set("Lambda-Extension-Identifier", id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"functionName": strings.TrimPrefix(a.arn, "arn:aws:lambda:us-east-1:123456789012:function:"),
		"functionVersion": "$LATEST", "handler": "bootstrap"})
}

// extensionNext is an extension's ask for its next event: the first one ends its
// init and gets the invocation; the second ends its part of the invocation, and waits.
func (a *runtimeAPI) extensionNext(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	e, ok := a.extensions[r.Header.Get("Lambda-Extension-Identifier")]
	if ok {
		e.asks++
	}
	var asks int
	if ok {
		asks = e.asks
	}
	a.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"errorMessage":"unknown extension identifier","errorType":"Extension.UnknownExtensionIdentifier"}`)
		return
	}
	if asks > 1 {
		a.checkReleased()
		<-r.Context().Done()
		return
	}
	if !a.awaitInvocation(r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"eventType": "INVOKE", "requestId": a.requestID, "invokedFunctionArn": a.arn,
		"deadlineMs": time.Now().Add(a.deadline).UnixMilli(), "tracing": map[string]string{"type": "X-Amzn-Trace-Id", "value": "Root=1-00000000-000000000000000000000000"}})
}

// exitError is an extension reporting its failure: the invocation fails.
func (a *runtimeAPI) exitError(w http.ResponseWriter, r *http.Request) {
	a.finish(outcome{at: time.Now(), kind: KindError, body: []byte(`{"errorType":"` + r.Header.Get("Lambda-Extension-Function-Error-Type") + `"}`)})
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func (a *runtimeAPI) answer(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != a.requestID {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"errorMessage":"invalid request id","errorType":"InvalidRequestID"}`)
			return
		}
		body, err := io.ReadAll(r.Body)
		at := time.Now()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.finish(outcome{at: at, kind: kind, body: body})
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"OK"}`)
	}
}

func (a *runtimeAPI) initError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.finish(outcome{at: time.Now(), kind: KindInitError, body: body})
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}
