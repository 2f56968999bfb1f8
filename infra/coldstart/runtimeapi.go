package coldstart

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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

// runtimeAPI serves the Lambda Runtime API for one function process and one
// invocation (and, with warm, the same event once more), on 127.0.0.1. As in Lambda, the invocation ends once the runtime has
// answered and asked for the next one: what it does between (shared/afterresponse) is
// part of the invocation, but not of the caller's wait. The next ask blocks, as Lambda
// freezes a process that waits for work. The first response, error or init error is
// the outcome.
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

	// released is when the runtime asked for the next invocation after answering;
	// releasedCh is closed then.
	released   time.Time
	releasedCh chan struct{}
	relOnce    sync.Once
	answeredCh chan struct{}

	// warm, when set, hands the same event out once more when the runtime asks again:
	// the same request on a warm process. warmID is its request id, warmAt when it was
	// handed out, and warmDone receives its answer.
	warm bool
	// warmEvent is the event the warm invocation gets (event when nil).
	warmEvent []byte
	warmID    string
	warmAt    time.Time
	warmDone  chan outcome
	warmOnce  sync.Once
}

func newRuntimeAPI(function string, event []byte, deadline time.Duration) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &runtimeAPI{ln: ln, event: event, deadline: deadline, done: make(chan outcome, 1),
		releasedCh: make(chan struct{}), answeredCh: make(chan struct{}), warmDone: make(chan outcome, 1),
		requestID: fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, time.Now().UnixNano()&0xffffffffffff),
		arn:       "arn:aws:lambda:us-east-1:123456789012:function:" + function}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathNext, a.next)
	mux.HandleFunc("POST "+pathResponse, a.answer(KindResponse))
	mux.HandleFunc("POST "+pathError, a.answer(KindError))
	mux.HandleFunc("POST "+pathInitError, a.initError)
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
	id := a.requestID
	if !first {
		// An ask after the answer ends the invocation. Then the same event once more
		// when asked for, or else wait, as a frozen sandbox would, until the process
		// is stopped.
		again := false
		select {
		case <-a.answered():
			a.relOnce.Do(func() {
				a.mu.Lock()
				a.released = time.Now()
				again = a.warm
				a.mu.Unlock()
				close(a.releasedCh)
			})
		default:
		}
		if !again {
			<-r.Context().Done()
			return
		}
		a.mu.Lock()
		id, a.warmID, a.warmAt = a.requestID+"-warm", a.requestID+"-warm", time.Now()
		a.mu.Unlock()
	}
	event := a.event
	if !first && a.warmEvent != nil {
		event = a.warmEvent
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(a.deadline).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", a.arn)
	h.Set("Lambda-Runtime-Trace-Id", fmt.Sprintf("Root=1-%08x-%024x;Parent=%016x;Sampled=0", time.Now().Unix(), time.Now().UnixNano(), time.Now().UnixNano()))
	_, _ = w.Write(event)
}

func (a *runtimeAPI) answer(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		warmID := a.warmID
		a.mu.Unlock()
		if id := r.PathValue("id"); id != a.requestID && (warmID == "" || id != warmID) {
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
		if warmID != "" && r.PathValue("id") == warmID {
			a.warmOnce.Do(func() { a.warmDone <- outcome{at: at, kind: kind, body: body} })
		} else {
			a.finish(outcome{at: at, kind: kind, body: body})
		}
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
