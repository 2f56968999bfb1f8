// Package openapitest checks requests and responses against the committed OpenAPI
// document (shared/openapi), so any test driving the API through testenv can switch
// conformance checking on with one line:
//
//	env.Observe = openapitest.Validator(t)
//
// Every observed exchange must match the document: the operation exists (a method and
// path that none serves may only get the API's 404 not-found problem), the response
// status is documented for it, the Content-Type is one the document lists for that
// status, and the body and documented headers match their schemas. Requests are
// checked too: a request that the document rejects (a missing token, a bad parameter,
// an undeclared Content-Type, a body that breaks its schema) must get a 4xx answer
// (401 when it is the token that is missing), so the API never accepts what the
// contract forbids. Validation uses github.com/pb33f/libopenapi-validator, which
// implements OpenAPI 3.1 and JSON Schema 2020-12, with format assertions on.
package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/openapi"
)

// Validator returns a testenv Env.Observe hook that fails t on any exchange that does
// not conform to the document.
func Validator(t testing.TB) func(*http.Request, *testenv.Response) {
	t.Helper()
	return New(t).Observe
}

// Operation is one documented method and path template.
type Operation struct {
	Method string
	// Path is the document's template, e.g. /api/organizations/{orgId}.
	Path string
	// ID is the operationId.
	ID string
	// Statuses are the documented response codes, as written ("200", "4XX", "default").
	Statuses []string
}

// Key is "METHOD /path/template".
func (o Operation) Key() string { return o.Method + " " + o.Path }

// Checker validates exchanges against the document and remembers which documented
// responses it has seen.
type Checker struct {
	t   testing.TB
	v   validator.Validator
	ops []Operation

	mu   sync.Mutex
	seen map[string]map[int]int // operation key → status → count
}

// New parses the embedded document and builds a checker that reports to t.
func New(t testing.TB) *Checker {
	t.Helper()
	c, err := NewFor(t, openapi.Document)
	if err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	return c
}

// NewFor builds a checker over another document; tests of this package use it.
func NewFor(t testing.TB, document []byte) (*Checker, error) {
	doc, err := libopenapi.NewDocument(document)
	if err != nil {
		return nil, fmt.Errorf("parse document: %w", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		return nil, fmt.Errorf("build validator: %v", errs)
	}
	ops, err := Operations(document)
	if err != nil {
		return nil, err
	}
	return &Checker{t: t, v: v, ops: ops, seen: map[string]map[int]int{}}, nil
}

// Operations lists the document's operations, sorted by path then method.
func Operations(document []byte) ([]Operation, error) {
	var raw struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(document, &raw); err != nil {
		return nil, fmt.Errorf("read paths: %w", err)
	}
	var ops []Operation
	for path, item := range raw.Paths {
		for method, body := range item {
			m := strings.ToUpper(method)
			switch m {
			case "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE":
			default:
				continue // parameters, summary, servers...
			}
			var o struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(body, &o); err != nil {
				return nil, fmt.Errorf("read %s %s: %w", m, path, err)
			}
			op := Operation{Method: m, Path: path, ID: o.OperationID}
			for code := range o.Responses {
				op.Statuses = append(op.Statuses, code)
			}
			sort.Strings(op.Statuses)
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, nil
}

// Operations lists the document's operations.
func (c *Checker) Operations() []Operation { return c.ops }

// Find returns the documented operation that serves method and path.
func (c *Checker) Find(method, path string) (Operation, bool) {
	var best Operation
	found, bestLiteral := false, -1
	for _, op := range c.ops {
		if op.Method != method {
			continue
		}
		if literal, ok := match(op.Path, path); ok && literal > bestLiteral {
			best, found, bestLiteral = op, true, literal
		}
	}
	return best, found
}

// match reports whether path fits template, and how many of its segments are literal
// (a literal segment wins over a parameter, as in net/http's ServeMux).
func match(template, path string) (int, bool) {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return 0, false
	}
	literal := 0
	for i := range ts {
		switch {
		case strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}"):
			if ps[i] == "" {
				return 0, false
			}
		case ts[i] == ps[i]:
			literal++
		default:
			return 0, false
		}
	}
	return literal, true
}

// Observe checks one exchange and fails the checker's test on any mismatch. It has the
// signature of testenv.Env.Observe.
func (c *Checker) Observe(req *http.Request, res *testenv.Response) {
	c.t.Helper()
	for _, msg := range c.Check(req, res) {
		c.t.Errorf("openapi: %s %s → %d: %s\n  response body: %s", req.Method, req.URL.RequestURI(), res.Status, msg, clip(res.Body))
	}
}

// Check returns every way the exchange breaks the document; none when it conforms.
func (c *Checker) Check(req *http.Request, res *testenv.Response) []string {
	op, ok := c.Find(req.Method, req.URL.Path)
	if !ok {
		return unrouted(res)
	}
	c.mu.Lock()
	if c.seen[op.Key()] == nil {
		c.seen[op.Key()] = map[int]int{}
	}
	c.seen[op.Key()][res.Status]++
	c.mu.Unlock()

	var out []string
	reqErrs := c.RequestErrors(req)
	if len(reqErrs) > 0 {
		security := false
		for _, e := range reqErrs {
			if e.ValidationType == helpers.SecurityValidation {
				security = true
			}
		}
		switch {
		case security && res.Status != http.StatusUnauthorized:
			out = append(out, fmt.Sprintf("the request lacks the credentials the document requires, but the API answered %d, not 401 (%s)",
				res.Status, describe(reqErrs)))
		case res.Status < 400 || res.Status > 499:
			out = append(out, fmt.Sprintf("the document rejects this request, but the API answered %d, not a 4xx: %s",
				res.Status, describe(reqErrs)))
		}
	}
	for _, e := range c.ResponseErrors(req, res) {
		out = append(out, "response: "+describe([]*verrors.ValidationError{e}))
	}
	return out
}

// unrouted checks the answer to a method and path that no operation serves: the API's
// catch-all 404 problem, and nothing else.
func unrouted(res *testenv.Response) []string {
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	mt, _, _ := strings.Cut(res.Header.Get("Content-Type"), ";")
	if res.Status == http.StatusNotFound && strings.TrimSpace(mt) == "application/problem+json" &&
		json.Unmarshal(res.Body, &p) == nil && p.Status == http.StatusNotFound && p.Code == "not-found" {
		return nil
	}
	return []string{"no operation in the document serves this method and path, yet the API did not answer with its 404 not-found problem"}
}

// RequestErrors validates the request alone: path, query and header parameters,
// credentials, Content-Type and body. The request's body is left readable.
func (c *Checker) RequestErrors(req *http.Request) []*verrors.ValidationError {
	r, restore := withBody(req)
	defer restore()
	ok, errs := c.v.ValidateHttpRequestSync(r)
	if ok {
		return nil
	}
	return errs
}

// ResponseErrors validates the response to req: status, Content-Type, body and the
// documented headers.
func (c *Checker) ResponseErrors(req *http.Request, res *testenv.Response) []*verrors.ValidationError {
	r, restore := withBody(req)
	defer restore()
	hres := &http.Response{
		StatusCode: res.Status,
		Header:     res.Header.Clone(),
		Body:       io.NopCloser(bytes.NewReader(res.Body)),
		Request:    r,
	}
	if hres.Header == nil {
		hres.Header = http.Header{}
	}
	ok, errs := c.v.ValidateHttpResponse(r, hres)
	if ok {
		return nil
	}
	return errs
}

// withBody returns a copy of req whose body can be read, and restores req's own body
// afterwards, so a request can be validated and still be inspected by the caller.
func withBody(req *http.Request) (*http.Request, func()) {
	var raw []byte
	switch {
	case req.GetBody != nil:
		if b, err := req.GetBody(); err == nil {
			raw, _ = io.ReadAll(b)
			_ = b.Close()
		}
	case req.Body != nil && req.Body != http.NoBody:
		raw, _ = io.ReadAll(req.Body)
		_ = req.Body.Close()
	}
	orig := req.Body
	r := req.Clone(req.Context())
	if raw != nil {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		r.ContentLength = int64(len(raw))
	} else {
		r.Body = http.NoBody
	}
	return r, func() {
		if req.GetBody == nil && raw != nil {
			req.Body = io.NopCloser(bytes.NewReader(raw))
			return
		}
		req.Body = orig
	}
}

// Seen returns the statuses observed for an operation, with their counts.
func (c *Checker) Seen(op Operation) map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for s, n := range c.seen[op.Key()] {
		out[s] = n
	}
	return out
}

// Unobserved lists "METHOD /path STATUS" for each documented response status that no
// observed exchange produced, skipping the statuses in skip (e.g. "500").
func (c *Checker) Unobserved(skip ...string) []string {
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	var out []string
	for _, op := range c.ops {
		seen := c.Seen(op)
		for _, code := range op.Statuses {
			if skipped[code] {
				continue
			}
			var n int
			if _, err := fmt.Sscan(code, &n); err != nil {
				continue // ranges and default are not single statuses
			}
			if seen[n] == 0 {
				out = append(out, op.Key()+" "+code)
			}
		}
	}
	return out
}

// describe renders validation errors with their schema failures.
func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			b.WriteString(" (" + e.Reason + ")")
		}
		for _, f := range e.SchemaValidationErrors {
			loc := f.FieldPath
			if loc == "" {
				loc = "/" + strings.Join(f.InstancePath, "/")
			}
			fmt.Fprintf(&b, " [%s: %s]", loc, f.Reason)
		}
	}
	return b.String()
}

// Fields returns the body fields that schema failures point at, as dotted paths
// (billingContact.email), for tests that compare them with a 400's errors[].
func Fields(errs []*verrors.ValidationError) []string {
	set := map[string]bool{}
	for _, e := range errs {
		for _, f := range e.SchemaValidationErrors {
			path := f.InstancePath
			if len(path) == 0 && f.FieldPath != "" {
				path = strings.Split(strings.TrimPrefix(strings.TrimPrefix(f.FieldPath, "$"), "."), ".")
			}
			if len(path) > 0 {
				set[strings.Join(path, ".")] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func clip(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
