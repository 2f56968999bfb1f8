package openapitest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/openapi"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

func request(method, path, token string, body any, headers ...string) *http.Request {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, err := http.NewRequest(method, "http://api.test"+path, bytes.NewReader(raw))
	if err != nil {
		panic(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	} else {
		req.Body = http.NoBody
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

func response(status int, contentType string, body any, headers ...string) *testenv.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("X-Request-Id", "req1")
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	raw, ok := body.([]byte)
	if !ok {
		raw, _ = json.Marshal(body)
	}
	return &testenv.Response{Status: status, Header: h, Body: raw}
}

func access() map[string]any {
	return map[string]any{"id": "org1", "name": "Alpha", "plan": "free", "role": "Owner", "owner": true, "active": true}
}

func me() map[string]any {
	return map[string]any{
		"user":               map[string]any{"id": "u1", "email": "a@alpha.example", "name": "A", "createdAt": "2026-01-02T03:04:05Z"},
		"activeOrganization": access(),
		"organizations":      []any{access()},
		"supportable":        []any{},
	}
}

func problemDoc(status int, code string, fields ...string) map[string]any {
	p := map[string]any{"type": "https://switchboard.dev/problems/" + code, "title": http.StatusText(status),
		"status": status, "code": code, "detail": "d", "instance": "/api/me"}
	var errs []any
	for _, f := range fields {
		errs = append(errs, map[string]any{"field": f, "message": "is wrong"})
	}
	if errs != nil {
		p["errors"] = errs
	}
	return p
}

const problemJSON = "application/problem+json"

func TestCheckAcceptsConformingExchanges(t *testing.T) {
	c := openapitest.New(t)
	tests := []struct {
		name string
		req  *http.Request
		res  *testenv.Response
	}{
		{"the document", request("GET", "/api/openapi.json", "", nil), response(200, "application/json", openapi.Document)},
		{"me", request("GET", "/api/me?limit=10", "tok", nil), response(200, "application/json", me())},
		{"me with no active organization", request("GET", "/api/me", "tok", nil),
			response(200, "application/json", func() map[string]any { m := me(); m["activeOrganization"] = nil; return m }())},
		{"a 400 naming a field", request("GET", "/api/me?cursor=x", "tok", nil), response(400, problemJSON, problemDoc(400, "validation", "cursor"))},
		{"API Gateway's own 401", request("GET", "/api/me", "", nil), response(401, "application/json", map[string]any{"message": "Unauthorized"})},
		{"a created organization", request("POST", "/api/organizations", "tok", map[string]any{"name": "Gamma"}, "Idempotency-Key", "k1"),
			response(201, "application/json", access(), "Location", "/api/organizations/org1")},
		{"an unknown path answered with the catch-all 404", request("GET", "/api/nothing", "tok", nil),
			response(404, problemJSON, problemDoc(404, "not-found"))},
		{"a header-named 400", request("POST", "/api/organizations", "tok", map[string]any{"name": "Gamma"}, "Idempotency-Key", "k1"),
			response(400, problemJSON, problemDoc(400, "validation", "Idempotency-Key"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Check(tt.req, tt.res); len(got) > 0 {
				t.Errorf("conforming exchange flagged:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

// TestCheckFlagsEveryKindOfMismatch is the checker's negative control: each exchange
// breaks the document in one way and must be reported, with a message that says how.
func TestCheckFlagsEveryKindOfMismatch(t *testing.T) {
	c := openapitest.New(t)
	tests := []struct {
		name string
		req  *http.Request
		res  *testenv.Response
		want string // in one of the messages
	}{
		{"an undocumented path", request("GET", "/api/nothing", "tok", nil), response(200, "application/json", map[string]any{}),
			"no operation"},
		{"an undocumented method", request("DELETE", "/api/me", "tok", nil), response(200, "application/json", map[string]any{}),
			"no operation"},
		{"an undocumented path answered 404 as application/json", request("GET", "/api/nothing", "tok", nil),
			response(404, "application/json", problemDoc(404, "not-found")), "no operation"},
		{"an undocumented status", request("GET", "/api/me", "tok", nil), response(418, problemJSON, problemDoc(418, "teapot")),
			"418"},
		{"a 403 on a route without an organization", request("GET", "/api/me", "tok", nil), response(403, problemJSON, problemDoc(403, "forbidden")),
			"403"},
		{"a problem sent as application/json", request("GET", "/api/me?limit=0", "tok", nil),
			response(400, "application/json", problemDoc(400, "validation", "limit")), "content type"},
		{"a success sent as text/plain", request("GET", "/api/me", "tok", nil), response(200, "text/plain", me()), "content type"},
		{"a missing required member", request("GET", "/api/me", "tok", nil),
			response(200, "application/json", func() map[string]any { m := me(); delete(m, "organizations"); return m }()), "organizations"},
		{"an undocumented member", request("GET", "/api/me", "tok", nil),
			response(200, "application/json", func() map[string]any { m := me(); m["secret"] = "x"; return m }()), "secret"},
		{"a role outside the enum", request("PUT", "/api/me/active-organization", "tok", map[string]any{"organizationId": "org1"}),
			response(200, "application/json", func() map[string]any { a := access(); a["role"] = "Viewer"; return a }()), "role"},
		{"a time that is not RFC 3339", request("GET", "/api/me", "tok", nil),
			response(200, "application/json", func() map[string]any {
				m := me()
				m["user"].(map[string]any)["createdAt"] = "yesterday"
				return m
			}()), "createdAt"},
		{"a 400 without errors", request("GET", "/api/me?limit=0", "tok", nil), response(400, problemJSON, problemDoc(400, "validation")),
			"errors"},
		{"a field named by its Go path", request("GET", "/api/me?limit=0", "tok", nil),
			response(400, problemJSON, problemDoc(400, "validation", "Profile.companyName")), "pattern"},
		{"a problem whose status is not the response's", request("GET", "/api/me", "tok", nil),
			response(401, problemJSON, problemDoc(403, "unauthenticated")), "status"},
		{"a 401 code outside the list", request("GET", "/api/me", "tok", nil),
			response(401, problemJSON, problemDoc(401, "expired")), "code"},
		{"a response without X-Request-Id", request("GET", "/api/me", "tok", nil),
			func() *testenv.Response {
				r := response(200, "application/json", me())
				r.Header.Del("X-Request-Id")
				return r
			}(), "X-Request-Id"},
		{"a 201 without Location", request("POST", "/api/organizations", "tok", map[string]any{"name": "Gamma"}),
			response(201, "application/json", access()), "Location"},
		{"a request without a token that is served", request("GET", "/api/me", "", nil), response(200, "application/json", me()),
			"not 401"},
		{"a request without a token that is refused with 403", request("GET", "/api/audit-log", "", nil),
			response(403, problemJSON, problemDoc(403, "forbidden")), "not 401"},
		{"an invalid body that is accepted", request("POST", "/api/organizations", "tok", map[string]any{"name": ""}),
			response(201, "application/json", access(), "Location", "/api/organizations/org1"), "not a 4xx"},
		{"an undeclared content type that is accepted", request("PUT", "/api/me/active-organization", "tok", "organizationId=org1",
			"Content-Type", "application/x-www-form-urlencoded"), response(200, "application/json", access()), "not a 4xx"},
		{"a limit out of range that is accepted", request("GET", "/api/audit-log?limit=500", "tok", nil),
			response(200, "application/json", map[string]any{"items": []any{}}), "not a 4xx"},
		{"an Idempotency-Key too long that is accepted", request("POST", "/api/organizations", "tok", map[string]any{"name": "G"},
			"Idempotency-Key", strings.Repeat("k", 256)), response(201, "application/json", access(), "Location", "/x"), "not a 4xx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Check(tt.req, tt.res)
			if len(got) == 0 {
				t.Fatalf("not flagged")
			}
			if !slices.ContainsFunc(got, func(m string) bool { return strings.Contains(m, tt.want) }) {
				t.Errorf("no message mentions %q:\n%s", tt.want, strings.Join(got, "\n"))
			}
		})
	}
}

func TestValidatorFailsTheTestOnAMismatch(t *testing.T) {
	rec := &recorder{TB: t}
	observe := openapitest.Validator(rec)
	observe(request("GET", "/api/me", "tok", nil), response(200, "application/json", me()))
	if len(rec.errs) != 0 {
		t.Fatalf("a conforming exchange failed the test: %v", rec.errs)
	}
	observe(request("GET", "/api/me", "tok", nil), response(200, "application/json", map[string]any{}))
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "GET /api/me → 200") {
		t.Fatalf("errors %v, want one naming the exchange", rec.errs)
	}
}

func TestValidatorAsTestenvObserve(t *testing.T) {
	env := testenv.New(t)
	rec := &recorder{TB: t}
	env.Observe = openapitest.Validator(rec)
	org := env.NewOrg("owner@observe.example")
	env.Get("/api/msp-portal/settings/profile", org.OwnerToken)
	env.Do(testenv.Request{Method: "PUT", Path: "/api/organizations/" + org.ID, Token: org.OwnerToken, Body: map[string]any{"name": "Renamed"}})
	env.Get("/api/audit-log?limit=1", org.OwnerToken)
	if len(rec.errs) != 0 {
		t.Fatalf("real exchanges flagged:\n%s", strings.Join(rec.errs, "\n"))
	}
}

func TestFindPrefersLiteralSegments(t *testing.T) {
	doc := []byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{
		"/a/{id}":{"get":{"operationId":"by-id","responses":{"200":{"description":"ok"}}}},
		"/a/me":{"get":{"operationId":"me","responses":{"200":{"description":"ok"}}}}}}`)
	c, err := openapitest.NewFor(t, doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ method, path, want string }{
		{"GET", "/a/me", "me"},
		{"GET", "/a/x1", "by-id"},
		{"GET", "/a/", ""},
		{"GET", "/a/x1/y", ""},
		{"PUT", "/a/me", ""},
	}
	for _, tt := range tests {
		op, ok := c.Find(tt.method, tt.path)
		if got := op.ID; ok != (tt.want != "") || got != tt.want {
			t.Errorf("Find(%s %s) = %q, %v; want %q", tt.method, tt.path, got, ok, tt.want)
		}
	}
}

func TestUnobservedListsDocumentedStatusesNotSeen(t *testing.T) {
	c := openapitest.New(t)
	c.Check(request("GET", "/api/openapi.json", "", nil), response(200, "application/json", openapi.Document))
	missing := c.Unobserved("500")
	if slices.Contains(missing, "GET /api/openapi.json 200") {
		t.Errorf("the observed 200 is listed: %v", missing)
	}
	for _, want := range []string{"GET /api/me 200", "GET /api/me 401", "PUT /api/msp-portal/settings/profile 409"} {
		if !slices.Contains(missing, want) {
			t.Errorf("%s is not listed: %v", want, missing)
		}
	}
	if slices.ContainsFunc(missing, func(m string) bool { return strings.HasSuffix(m, " 500") }) {
		t.Errorf("skipped status listed: %v", missing)
	}
}

func TestFieldsNamesTheBadBodyFields(t *testing.T) {
	c := openapitest.New(t)
	body := map[string]any{"companyName": "C", "displayName": "D", "timeZone": "UTC", "dateFormat": "US", "currency": "USD",
		"language": "en-US", "authentication": map[string]any{"sessionTimeoutMinutes": 1},
		"billingContact": map[string]any{"email": "nope"}}
	req := request("PUT", "/api/msp-portal/settings/profile", "tok", body)
	got := openapitest.Fields(c.RequestErrors(req))
	for _, want := range []string{"authentication.sessionTimeoutMinutes", "billingContact.email"} {
		if !slices.Contains(got, want) {
			t.Errorf("Fields = %v, want %s among them", got, want)
		}
	}
	// The request stays readable after validation.
	raw, _ := io.ReadAll(req.Body)
	if !strings.Contains(string(raw), "companyName") {
		t.Errorf("body consumed by validation: %q", raw)
	}
}
