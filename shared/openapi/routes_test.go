package openapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/openapi"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// spec is the decoded document with a $ref resolver.
type spec struct{ tree map[string]any }

func loadSpec(t *testing.T) spec {
	t.Helper()
	var tree map[string]any
	if err := json.Unmarshal(openapi.Document, &tree); err != nil {
		t.Fatal(err)
	}
	return spec{tree}
}

// deref follows "$ref" until it reaches a value.
func (s spec) deref(v any) map[string]any {
	m, _ := v.(map[string]any)
	for i := 0; i < 10 && m != nil; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		node := any(s.tree)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			node = node.(map[string]any)[strings.NewReplacer("~1", "/", "~0", "~").Replace(part)]
		}
		m, _ = node.(map[string]any)
	}
	return m
}

// operation is one method+path of the document.
type operation struct {
	method, path string
	raw          map[string]any
}

func (s spec) operations() []operation {
	var out []operation
	for path, item := range s.tree["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				out = append(out, operation{strings.ToUpper(method), path, op.(map[string]any)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

// params lists the operation's parameters as "in:name" with their resolved objects.
func (s spec) params(op operation) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := op.raw["parameters"].([]any)
	if item, ok := s.tree["paths"].(map[string]any)[op.path].(map[string]any); ok {
		if shared, ok := item["parameters"].([]any); ok {
			list = append(shared, list...)
		}
	}
	for _, p := range list {
		m := s.deref(p)
		out[m["in"].(string)+":"+m["name"].(string)] = m
	}
	return out
}

func (s spec) responses(op operation) map[string]map[string]any {
	out := map[string]map[string]any{}
	for code, r := range op.raw["responses"].(map[string]any) {
		out[code] = s.deref(r)
	}
	return out
}

// schemaHas reports whether a (resolved) object schema declares property name.
func (s spec) schemaHas(schema any, name string) bool {
	m := s.deref(schema)
	if props, ok := m["properties"].(map[string]any); ok {
		if _, ok := props[name]; ok {
			return true
		}
	}
	for _, key := range []string{"allOf", "oneOf", "anyOf"} {
		if list, ok := m[key].([]any); ok {
			for _, sub := range list {
				if s.schemaHas(sub, name) {
					return true
				}
			}
		}
	}
	return false
}

func (s spec) bodySchema(r map[string]any, mediaType string) any {
	content, _ := r["content"].(map[string]any)
	mt, _ := content[mediaType].(map[string]any)
	if mt == nil {
		return nil
	}
	return mt["schema"]
}

func TestEveryRouteHasExactlyOneOperation(t *testing.T) {
	s := loadSpec(t)
	ops := map[string][]operation{}
	ids := map[string]int{}
	for _, op := range s.operations() {
		key := op.method + " " + op.path
		ops[key] = append(ops[key], op)
		id, _ := op.raw["operationId"].(string)
		ids[id]++
	}
	routes := map[string]bool{}
	for _, rt := range api.Routes() {
		t.Run(rt.Pattern(), func(t *testing.T) {
			if routes[rt.Pattern()] {
				t.Fatalf("the route table lists %s twice", rt.Pattern())
			}
			routes[rt.Pattern()] = true
			found := ops[rt.Pattern()]
			if len(found) != 1 {
				t.Fatalf("%d operations for %s in openapi.json, want 1", len(found), rt.Pattern())
			}
			op := found[0].raw
			if op["operationId"] != rt.Function {
				t.Errorf("operationId = %v, want the route's function %q", op["operationId"], rt.Function)
			}
			if ids[rt.Function] != 1 {
				t.Errorf("operationId %q is used %d times", rt.Function, ids[rt.Function])
			}
			if op["x-permission"] != string(rt.Permission) {
				t.Errorf("x-permission = %v, want %q", op["x-permission"], rt.Permission)
			}
			if op["summary"] != rt.Summary {
				t.Errorf("summary = %q, want the route table's %q", op["summary"], rt.Summary)
			}
		})
	}
	for key := range ops {
		if !routes[key] {
			t.Errorf("openapi.json documents %s, which no route in api.Routes() serves", key)
		}
	}
}

// TestOperationsFollowTheConventions derives, from each route's entry in the table,
// what its operation must say: security, the organization header or path parameter,
// Idempotency-Key, paging parameters, and the statuses its middleware and handler can
// answer.
func TestOperationsFollowTheConventions(t *testing.T) {
	s := loadSpec(t)
	byPattern := map[string]operation{}
	for _, op := range s.operations() {
		byPattern[op.method+" "+op.path] = op
	}
	for _, rt := range api.Routes() {
		t.Run(rt.Pattern(), func(t *testing.T) {
			op, ok := byPattern[rt.Pattern()]
			if !ok {
				t.Fatalf("no operation (see TestEveryRouteHasExactlyOneOperation)")
			}
			params := s.params(op)
			responses := s.responses(op)
			public := rt.Permission == permission.Public
			hasBody := op.raw["requestBody"] != nil

			// Security: the Cognito ID token, except on public routes.
			sec, declared := op.raw["security"].([]any)
			switch {
			case public && (!declared || len(sec) != 0):
				t.Errorf("a public route must override security with []; got %v", op.raw["security"])
			case !public && declared:
				t.Errorf("a route that needs a token must use the document's security, not override it with %v", sec)
			}

			// The organization: from the path for OrgParam routes, else X-Organization-Id
			// on every organization-scoped route, and on no other.
			_, orgHeader := params["header:X-Organization-Id"]
			if want := rt.OrgScoped() && rt.OrgParam == ""; orgHeader != want {
				t.Errorf("X-Organization-Id parameter: %v, want %v", orgHeader, want)
			}
			for _, name := range rt.PathParams() {
				p, ok := params["path:"+name]
				if !ok || p["required"] != true {
					t.Errorf("path parameter {%s} is not declared as required", name)
				}
			}
			for key := range params {
				if name, ok := strings.CutPrefix(key, "path:"); ok && !slices.Contains(rt.PathParams(), name) {
					t.Errorf("path parameter %s is not in the route's path", name)
				}
			}

			// Idempotency-Key on mutating POSTs.
			_, idem := params["header:Idempotency-Key"]
			if want := rt.Method == http.MethodPost && !public; idem != want {
				t.Errorf("Idempotency-Key parameter: %v, want %v", idem, want)
			}

			// Paging: a response with nextCursor ⇔ limit and cursor parameters.
			ok200 := responses["200"]
			paged := ok200 != nil && s.schemaHas(s.bodySchema(ok200, "application/json"), "nextCursor")
			_, limit := params["query:limit"]
			_, cursor := params["query:cursor"]
			if limit != paged || cursor != paged {
				t.Errorf("paged response: %v, but limit: %v, cursor: %v", paged, limit, cursor)
			}
			if limit {
				ls := s.deref(params["query:limit"]["schema"])
				if ls["type"] != "integer" || ls["minimum"] != float64(1) || ls["maximum"] != float64(100) {
					t.Errorf("limit schema = %v, want integer 1..100", ls)
				}
			}

			// The statuses each layer can answer. Success is one 2xx: 204 (no body) for a
			// DELETE, 202 for a POST that starts a job (and documents it), 201 for a POST
			// that creates, or 200 for a POST that acts on an existing resource (and
			// documents no 201), 200 otherwise. The one exception is a POST marked
			// x-records-once (POST /api/sessions): it records a fact once, answering 201
			// the first time and 200 with the same body on a repeat; the fact has no URL
			// of its own, so its 201 has no Location. A job-starting POST marked
			// x-preview (an import from a connection) also answers 200 with what it would
			// import when its body asks for a preview, and starts nothing.
			want := map[string]bool{"500": true}
			success := "200"
			_, startsJob := responses["202"]
			recordsOnce := op.raw["x-records-once"] == true
			preview := op.raw["x-preview"] == true
			// A route whose action the organization may hold for approval answers 202
			// with the approval besides its own success (TestHeldRoutesDocumentTheirApproval).
			if held := responses["202"]; held != nil && isApprovalBody(s, held) {
				startsJob = false
				delete(responses, "202")
			}
			switch rt.Method {
			case http.MethodDelete:
				success = "204"
			case http.MethodPost:
				_, acts := responses["200"]
				switch {
				case startsJob:
					success = "202"
				case !acts || recordsOnce:
					success = "201"
				}
			}
			want[success] = true
			if success == "202" {
				want["503"] = true // the queue refused the job
			}
			if preview {
				if success != "202" {
					t.Errorf("x-preview on an operation that starts no job (success %s)", success)
				}
				want["200"] = true
			}
			if recordsOnce {
				if rt.Method != http.MethodPost {
					t.Errorf("x-records-once on a %s; only a POST records", rt.Method)
				}
				want["200"] = true
			}
			for code := range responses {
				if code[0] == '2' && code != success && !((recordsOnce || preview) && code == "200") {
					t.Errorf("status %s is documented besides %s: an operation has one success status", code, success)
				}
			}
			if !public {
				want["401"] = true
			}
			if rt.OrgScoped() {
				want["403"], want["404"] = true, true
			}
			if hasBody {
				want["400"], want["413"], want["415"] = true, true, true
				if s.schemaHas(s.bodySchema(op.raw["requestBody"].(map[string]any), "application/json"), "version") {
					want["409"] = true // stale version
				}
			}
			if idem {
				want["400"], want["409"] = true, true // key too long; key reused
			}
			if limit {
				want["400"] = true
			}
			for code := range want {
				if _, ok := responses[code]; !ok {
					t.Errorf("status %s is not documented", code)
				}
			}
			if _, ok := responses["default"]; ok {
				t.Errorf("a default response hides undocumented statuses; list each status")
			}

			// Every response has a body of the right kind.
			for code, r := range responses {
				content, _ := r["content"].(map[string]any)
				if code == "204" {
					if len(content) != 0 {
						t.Errorf("204: content types %v, want none", keys(content))
					}
					continue
				}
				if h, _ := r["headers"].(map[string]any); code == "200" && h["Content-Disposition"] != nil {
					// A download: files, each a string of bytes, and no JSON.
					if len(content) == 0 {
						t.Errorf("200: a download documents no content type")
					}
					for mt := range content {
						if strings.Contains(mt, "json") || s.deref(s.bodySchema(r, mt))["type"] != "string" {
							t.Errorf("200: download content type %s, want a file type with a string schema", mt)
						}
					}
					continue
				}
				if code[0] == '2' {
					if _, ok := content["application/json"]; !ok || len(content) != 1 {
						t.Errorf("%s: content types %v, want application/json", code, keys(content))
					}
					continue
				}
				if _, ok := content["application/problem+json"]; !ok {
					t.Errorf("%s: content types %v, want application/problem+json", code, keys(content))
				}
				schema := s.bodySchema(r, "application/problem+json")
				for _, field := range []string{"type", "title", "status", "code", "detail", "instance", "errors"} {
					if !s.schemaHas(schema, field) {
						t.Errorf("%s: the problem schema lacks %q", code, field)
					}
				}
			}
			if created := responses["201"]; created != nil && !recordsOnce {
				if h, _ := created["headers"].(map[string]any); h["Location"] == nil {
					t.Errorf("201 does not declare its Location header")
				}
			}
			// A job-starting POST answers 202 with the job and its Location
			// (/api/jobs/{jobId}); 503 when the queue refuses it, with Retry-After.
			if started := responses["202"]; started != nil {
				h, _ := started["headers"].(map[string]any)
				if loc := s.deref(h["Location"]); loc == nil || loc["required"] != true ||
					!strings.HasPrefix(fmt.Sprint(s.deref(loc["schema"])["pattern"]), "^/api/jobs/") {
					t.Errorf("202 does not declare its Location header as a required /api/jobs/ path: %v", h["Location"])
				}
				if ref, _ := s.bodySchema(started, "application/json").(map[string]any); ref["$ref"] != "#/components/schemas/Job" {
					t.Errorf("202: the body schema is %v, want the Job", ref)
				}
				unavailable := responses["503"]
				if h, _ := unavailable["headers"].(map[string]any); h["Retry-After"] == nil {
					t.Errorf("503 does not declare its Retry-After header")
				}
			}
		})
	}
}

// TestValidationProblemNamesEveryField pins the 400 body: errors[] with field and
// message, at least one.
func TestValidationProblemNamesEveryField(t *testing.T) {
	s := loadSpec(t)
	for _, op := range s.operations() {
		r := s.responses(op)["400"]
		if r == nil {
			continue
		}
		schema := s.deref(s.bodySchema(r, "application/problem+json"))
		raw, _ := json.Marshal(schema)
		if !strings.Contains(string(raw), "#/components/schemas/ValidationProblem") {
			t.Errorf("%s %s: 400 is not a ValidationProblem: %s", op.method, op.path, raw)
		}
	}
	vp := s.deref(map[string]any{"$ref": "#/components/schemas/ValidationProblem"})
	raw, _ := json.Marshal(vp)
	for _, want := range []string{`"required":["errors"]`, `"minItems":1`, `#/components/schemas/FieldError`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("ValidationProblem lacks %s: %s", want, raw)
		}
	}
	fe := s.deref(map[string]any{"$ref": "#/components/schemas/FieldError"})
	if req, _ := fe["required"].([]any); len(req) != 2 {
		t.Errorf("FieldError must require field and message: %v", fe["required"])
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
