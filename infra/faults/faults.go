// Package faults injects AWS faults into the calls of one API request, for tests: the
// N-th DynamoDB, SES or Cognito call a request makes answers with a throttling error or
// an internal server error, as the service itself would answer it.
//
// The fault is made at the transport: an SDK middleware at the innermost place of the
// deserialize step hands the operation's deserializer a synthesized HTTP response
// (status, error-type header, JSON body in the service's protocol), so the SDK reads a
// real error response and its retryer behaves as in production: it retries throttles
// and 5xx, backs off, and gives up after its attempts. A fault is Persistent (every
// attempt of the call fails, so the request sees the error) or transient (the first
// attempt only, so the retryer recovers). LostResponse sends the request and replaces
// the service's answer with a 500: the change is applied but the caller is told it
// failed, as a connection reset or a 500 after commit does.
//
// Calls are counted per request: Scope marks each request's context, and only calls
// made in that context (or one derived from it) count, so a background worker's calls
// never shift the count. Never linked into a Lambda.
package faults

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind is what a faulted call answers.
type Kind int

// The kinds of fault.
const (
	// Throttle: DynamoDB's ThrottlingException, SES's and Cognito's
	// TooManyRequestsException (a throttle, which the retryer retries).
	Throttle Kind = iota
	// Capacity: DynamoDB's ProvisionedThroughputExceededException (a throttle); other
	// services answer Throttle's error.
	Capacity
	// Internal: HTTP 500 InternalServerError (DynamoDB), InternalErrorException
	// (Cognito), InternalFailure (SES); the request never reached the service.
	Internal
	// LostResponse: the request reaches the service and is applied; its answer is
	// replaced by Internal's 500.
	LostResponse
	// Conflict: DynamoDB's TransactionCanceledException, every item's reason
	// TransactionConflict or None, as when a concurrent transaction holds an item (for
	// TransactWriteItems and TransactGetItems; other calls answer Throttle's error).
	Conflict
)

func (k Kind) String() string {
	switch k {
	case Throttle:
		return "throttle"
	case Capacity:
		return "capacity"
	case Internal:
		return "internal"
	case LostResponse:
		return "lost-response"
	case Conflict:
		return "conflict"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Plan says which call of the next request fails, and how.
type Plan struct {
	// Call, when set ("DynamoDB.TransactWriteItems"), counts only the calls of that
	// service and operation: calls a request makes concurrently start in any order,
	// but the k-th call of one operation is the same call in every run.
	Call string
	// N is the 1-based number of the call (among those Call selects), in the order the
	// request starts them; 0 injects nothing (the request's calls are only counted).
	N    int
	Kind Kind
	// Persistent fails every attempt of the call; otherwise only its first attempt.
	Persistent bool
}

func (p Plan) String() string {
	mode := "first attempt"
	if p.Persistent {
		mode = "every attempt"
	}
	call := "call"
	if p.Call != "" {
		call = p.Call
	}
	return fmt.Sprintf("%s #%d: %s, %s", call, p.N, p.Kind, mode)
}

// Call is one AWS call a scoped request made.
type Call struct {
	Service   string // the SDK's service id: "DynamoDB", "SESv2", "Cognito Identity Provider"
	Operation string
	// Attempts the SDK made; Faulted of them were answered by the injector.
	Attempts, Faulted int
}

func (c Call) String() string { return c.Service + "." + c.Operation }

// Injector counts and fails the calls of the requests it scopes. Arm it before a
// request; Calls tells what that request did.
type Injector struct {
	mu    sync.Mutex
	plan  Plan
	armed bool
	last  *scope
}

// New returns an injector that injects nothing until armed.
func New() *Injector { return &Injector{} }

// Arm makes the next request that Scope sees run under p (and only that one).
func (in *Injector) Arm(p Plan) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.plan, in.armed = p, true
}

// Calls returns the calls of the last scoped request, in the order they started.
func (in *Injector) Calls() []Call {
	in.mu.Lock()
	s := in.last
	in.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = *c
	}
	return out
}

// Scope marks the context of each request next serves: an armed plan applies to the
// first request after Arm; every request's calls are counted, for Calls.
func (in *Injector) Scope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		s := &scope{}
		if in.armed {
			s.plan, in.armed = in.plan, false
		}
		in.last = s
		in.mu.Unlock()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), scopeKey{}, s)))
	})
}

type scopeKey struct{}

// scope is one request's count of calls.
type scope struct {
	plan    Plan
	mu      sync.Mutex
	calls   []*Call
	matched int // calls the plan's Call selects
}

type decisionKey struct{}

// decision is the fault of one call, shared by its attempts.
type decision struct {
	plan Plan
	call *Call
	mu   *sync.Mutex
	// items is the number of items of a transaction, for Conflict's reasons.
	items int
}

// APIOption adds the injector's middleware to an SDK client's stack: use it in the
// client's APIOptions (aws.Config.APIOptions or the client's Options).
func (in *Injector) APIOption(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("FaultsCount", count), middleware.Before); err != nil {
		return err
	}
	// After everything else in the deserialize step: innermost, next to the transport,
	// so the operation's deserializer reads what this returns.
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("FaultsInject", inject), middleware.After)
}

// count numbers the calls of a scoped request (once per call, before the retry loop)
// and marks the one the plan fails.
func count(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	s, ok := ctx.Value(scopeKey{}).(*scope)
	if !ok {
		return next.HandleInitialize(ctx, in)
	}
	c := &Call{Service: cmp.Or(middleware.GetServiceID(ctx), awsmiddleware.GetServiceID(ctx)),
		Operation: cmp.Or(middleware.GetOperationName(ctx), awsmiddleware.GetOperationName(ctx))}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	hit := false
	if s.plan.Call == "" || s.plan.Call == c.String() {
		s.matched++
		hit = s.plan.N == s.matched
	}
	s.mu.Unlock()
	d := &decision{call: c, mu: &s.mu}
	if hit {
		d.plan = s.plan
	}
	switch p := in.Parameters.(type) {
	case *dynamodb.TransactWriteItemsInput:
		d.items = len(p.TransactItems)
	case *dynamodb.TransactGetItemsInput:
		d.items = len(p.TransactItems)
	}
	return next.HandleInitialize(context.WithValue(ctx, decisionKey{}, d), in)
}

// inject answers an attempt of the marked call with the planned error response.
func inject(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	d, ok := ctx.Value(decisionKey{}).(*decision)
	if !ok {
		return next.HandleDeserialize(ctx, in)
	}
	d.mu.Lock()
	d.call.Attempts++
	fail := d.plan.N > 0 && (d.plan.Persistent || d.call.Attempts == 1)
	if fail {
		d.call.Faulted++
	}
	d.mu.Unlock()
	if !fail {
		return next.HandleDeserialize(ctx, in)
	}
	if d.plan.Kind == LostResponse {
		out, md, err := next.HandleDeserialize(ctx, in)
		if err != nil {
			return out, md, err // the transport failed on its own
		}
		if raw, ok := out.RawResponse.(*smithyhttp.Response); ok && raw.Body != nil {
			_, _ = io.Copy(io.Discard, raw.Body)
			_ = raw.Body.Close()
		}
		out.RawResponse = errorResponse(d.call.Service, Internal, 0)
		return out, md, nil
	}
	return middleware.DeserializeOutput{RawResponse: errorResponse(d.call.Service, d.plan.Kind, d.items)}, middleware.Metadata{}, nil
}

// errorResponse is the HTTP answer of service for a fault of kind, in its protocol:
// DynamoDB and Cognito speak AWS JSON (the error type in the body's __type), SES v2
// REST-JSON (the error type in X-Amzn-ErrorType).
func errorResponse(service string, kind Kind, items int) *smithyhttp.Response {
	status, code, msg := http.StatusBadRequest, "ThrottlingException", "Rate of requests exceeds the allowed throughput."
	internal := kind == Internal || kind == LostResponse
	switch service {
	case "DynamoDB":
		switch {
		case kind == Conflict && items > 0:
			reasons := make([]map[string]string, items)
			for i := range reasons {
				reasons[i] = map[string]string{"Code": "None"}
			}
			reasons[0] = map[string]string{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
			raw, _ := json.Marshal(map[string]any{
				"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
				"message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
				"CancellationReasons": reasons})
			return rawResponse(status, "application/x-amz-json-1.0", raw, true)
		case internal:
			status, code, msg = http.StatusInternalServerError, "InternalServerError", "Internal server error"
		case kind == Capacity:
			code = "ProvisionedThroughputExceededException"
			msg = "The level of configured provisioned throughput for the table was exceeded."
		}
		return jsonResponse(status, "application/x-amz-json-1.0", map[string]string{
			"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg}, true)
	case "SESv2":
		status, code, msg = http.StatusTooManyRequests, "TooManyRequestsException", "Too many requests have been made to the operation."
		if internal {
			status, code, msg = http.StatusInternalServerError, "InternalFailure", "An internal error occurred."
		}
		r := jsonResponse(status, "application/json", map[string]string{"message": msg}, false)
		r.Header.Set("X-Amzn-ErrorType", code)
		return r
	default: // "Cognito Identity Provider" and other AWS JSON 1.1 services
		code, msg = "TooManyRequestsException", "Too many requests."
		if internal {
			status, code, msg = http.StatusInternalServerError, "InternalErrorException", "An internal error occurred."
		}
		return jsonResponse(status, "application/x-amz-json-1.1", map[string]string{"__type": code, "message": msg}, false)
	}
}

func jsonResponse(status int, contentType string, body map[string]string, crc bool) *smithyhttp.Response {
	raw, _ := json.Marshal(body)
	return rawResponse(status, contentType, raw, crc)
}

func rawResponse(status int, contentType string, raw []byte, crc bool) *smithyhttp.Response {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	h.Set("X-Amzn-Requestid", "faults-injected")
	if crc {
		h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(raw)), 10))
	}
	return &smithyhttp.Response{Response: &http.Response{
		StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(raw)), ContentLength: int64(len(raw)),
	}}
}
