package testenv

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/switchboard-msp/switchboard/infra/outbox"
	"github.com/switchboard-msp/switchboard/shared/mail"
)

// Exchange is one request an Env's API served, with its response, as a Watch saw it
// on the server side (so requests a test sends without Env.Do are seen too).
type Exchange struct {
	Method   string
	Path     string
	RawQuery string
	// RequestHeader holds the request's headers, Authorization included.
	RequestHeader http.Header
	// RequestBody is the start of the request body (at most watchBodyLimit bytes).
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
}

// watchBodyLimit bounds how much of a request body a Watch keeps; the handler still
// reads the whole body.
const watchBodyLimit = 4 << 20

// Watch collects, for a whole test binary, every exchange every Env's API serves, every
// line written through slog's default logger (and so the log package's), and every
// email sent to an Env's outbox, so that TestMain can check them all once the tests
// ran: for example that no secret ever reaches a response or a log line. Without a
// started Watch nothing is collected.
type Watch struct {
	mu        sync.Mutex
	exchanges []Exchange
	logs      []string
	partial   []byte
	outboxes  []*outbox.Outbox
}

var activeWatch atomic.Pointer[Watch]

// StartWatch starts collecting and makes slog's default logger write JSON lines to
// also and to the watch. Call it once, from TestMain, before the tests run.
func StartWatch(also io.Writer) *Watch {
	w := &Watch{}
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.MultiWriter(also, w), nil)))
	activeWatch.Store(w)
	return w
}

// Write collects log output, one entry per line.
func (w *Watch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.logs = append(w.logs, string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

// Exchanges returns what was collected so far, in the order the responses finished.
func (w *Watch) Exchanges() []Exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Exchange(nil), w.exchanges...)
}

// Len is the number of exchanges collected so far: a mark for ExchangesSince.
func (w *Watch) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.exchanges)
}

// ExchangesSince returns the exchanges collected after mark (a Len).
func (w *Watch) ExchangesSince(mark int) []Exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	if mark > len(w.exchanges) {
		return nil
	}
	return append([]Exchange(nil), w.exchanges[mark:]...)
}

// LogLines returns the log lines collected so far.
func (w *Watch) LogLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]string(nil), w.logs...)
	if len(w.partial) > 0 {
		out = append(out, string(w.partial))
	}
	return out
}

// LogLen is the number of log lines collected so far: a mark for LogLinesSince.
func (w *Watch) LogLen() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.logs)
}

// LogLinesSince returns the log lines collected after mark (a LogLen).
func (w *Watch) LogLinesSince(mark int) []string {
	all := w.LogLines()
	if mark > len(all) {
		return nil
	}
	return all[mark:]
}

// Mail returns every message the Envs' outboxes received. Tests that replace
// Deps.Mail send elsewhere (SES on moto, a failing sender); those messages are not here.
func (w *Watch) Mail() []mail.Message {
	w.mu.Lock()
	boxes := append([]*outbox.Outbox(nil), w.outboxes...)
	w.mu.Unlock()
	var out []mail.Message
	for _, b := range boxes {
		out = append(out, b.Messages()...)
	}
	return out
}

// watchOutbox makes the active watch read box's messages.
func watchOutbox(box *outbox.Outbox) {
	if w := activeWatch.Load(); w != nil {
		w.mu.Lock()
		w.outboxes = append(w.outboxes, box)
		w.mu.Unlock()
	}
}

// watched hands every exchange next serves to the active watch, if any.
func watched(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := activeWatch.Load()
		if w == nil {
			next.ServeHTTP(rw, r)
			return
		}
		var head []byte
		if r.Body != nil && r.Body != http.NoBody {
			head, _ = io.ReadAll(io.LimitReader(r.Body, watchBodyLimit))
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		}
		reqHeader := r.Header.Clone()
		rec := &watchRecorder{ResponseWriter: rw}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		ex := Exchange{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, RequestHeader: reqHeader, RequestBody: head,
			Status: status, Header: rw.Header().Clone(), Body: rec.body.Bytes()}
		w.mu.Lock()
		w.exchanges = append(w.exchanges, ex)
		w.mu.Unlock()
	})
}

// watchRecorder copies a response as it is written.
type watchRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *watchRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *watchRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Flush passes a flush on, for handlers that stream.
func (r *watchRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
