package templategen

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

func route(fn, method, path string) api.Route {
	return api.Route{Method: method, Path: path, Permission: permission.ViewData, Function: fn, Summary: "s"}
}

func TestFunctionsOfRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		routes []api.Route
		jobs   []api.Job
		want   string
	}{
		{"upper case", []api.Route{route("Me-get", "GET", "/api/me")}, nil, "kebab-case"},
		{"underscore", []api.Route{route("me_get", "GET", "/api/me")}, nil, "kebab-case"},
		{"double hyphen", []api.Route{route("me--get", "GET", "/api/me")}, nil, "kebab-case"},
		{"twice", []api.Route{route("me-get", "GET", "/api/me"), route("me-get", "PUT", "/api/me")}, nil, "two entries"},
		{"route and job", []api.Route{route("sync", "GET", "/api/x")}, []api.Job{{Function: "sync"}}, "two entries"},
		{"same logical id", []api.Route{route("a-1b", "GET", "/api/x"), route("a1b", "GET", "/api/y")}, nil, "same logical id"},
		{"relative path", []api.Route{route("x-get", "GET", "api/x")}, nil, "absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FunctionsOf(tc.routes, tc.jobs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	fns, err := FunctionsOf([]api.Route{route("b-get", "GET", "/b"), route("a-get", "GET", "/a")}, nil)
	if err != nil || len(fns) != 2 || fns[0].Name != "a-get" {
		t.Errorf("FunctionsOf = %v, %v; want both, sorted", fns, err)
	}
}

func TestTemplateRefuses(t *testing.T) {
	long := strings.Repeat("a", MaxFunctionNameLength+1)
	ses := route("mail-send", "POST", "/api/mail")
	ses.Actions = []string{"ses:SendEmail"}
	sqs := route("queue-send", "POST", "/api/queue")
	sqs.Actions = []string{"sqs:SendMessage"}
	for _, tc := range []struct {
		name   string
		routes []api.Route
		jobs   []api.Job
		want   string
	}{
		{"long name", []api.Route{route(long, "GET", "/x")}, nil, "longer than"},
		{"unknown service", []api.Route{sqs}, nil, "no resources known for sqs"},
		{"job", nil, []api.Job{{Function: "expire-invitations", Kind: "schedule"}}, "cannot wire its trigger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fns, err := FunctionsOf(tc.routes, tc.jobs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Template(fns); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	fns, _ := FunctionsOf([]api.Route{ses}, nil)
	tpl, err := Template(fns)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(tpl, []byte("identity/${SesSenderIdentity}")) || !bytes.Contains(tpl, []byte("- ses:SendEmail")) {
		t.Errorf("SES actions are not granted on the sender identity:\n%s", tpl)
	}
}

func TestEventShape(t *testing.T) {
	for _, tc := range []struct {
		route        api.Route
		authorizer   bool
		orgHeader    bool
		body         bool
		idempotency  bool
		rawPath      string
		organization string
	}{
		{api.Route{Method: http.MethodGet, Path: "/api/openapi.json", Permission: permission.Public, Function: "openapi-get"},
			false, false, false, false, "/api/openapi.json", ""},
		{api.Route{Method: http.MethodPost, Path: "/api/organizations", Permission: permission.Authenticated, Function: "organizations-create"},
			true, false, true, true, "/api/organizations", ""},
		{api.Route{Method: http.MethodPut, Path: "/api/organizations/{orgId}", Permission: permission.RenameOrganization,
			Function: "organizations-rename", OrgParam: "orgId"}, true, false, true, false, "/api/organizations/" + SampleOrgID, ""},
		{api.Route{Method: http.MethodGet, Path: "/api/customers/{customerId}/tenants/{tenantId}", Permission: permission.ViewData,
			Function: "tenants-get"}, true, true, false, false, "/api/customers/sample-customer/tenants/sample-tenant", SampleOrgID},
	} {
		t.Run(tc.route.Function, func(t *testing.T) {
			raw, err := Event(tc.route)
			if err != nil {
				t.Fatal(err)
			}
			s := string(raw)
			for _, c := range []struct {
				what string
				has  bool
				want bool
			}{
				{"authorizer", strings.Contains(s, `"authorizer"`), tc.authorizer},
				{"x-organization-id", strings.Contains(s, `"x-organization-id": "`+SampleOrgID+`"`), tc.orgHeader},
				{"body", strings.Contains(s, `"body"`), tc.body},
				{"idempotency-key", strings.Contains(s, `"idempotency-key"`), tc.idempotency},
				{"rawPath", strings.Contains(s, `"rawPath": "`+tc.rawPath+`"`), true},
			} {
				if c.has != c.want {
					t.Errorf("%s: present %v, want %v\n%s", c.what, c.has, c.want, s)
				}
			}
		})
	}
}

func TestSampleParam(t *testing.T) {
	for in, want := range map[string]string{"orgId": SampleOrgID, "customerId": "sample-customer",
		"companyUserId": "sample-company-user", "name": "sample-name"} {
		if got := SampleParam(in); got != want {
			t.Errorf("SampleParam(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestWrite generates into an empty tree, then regenerates without changes, then
// removes what it generated for a function that is gone and keeps hand-written files.
func TestWrite(t *testing.T) {
	root := t.TempDir()
	changed, err := Write(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(files) {
		t.Errorf("first run wrote %d files, want %d", len(changed), len(files))
	}
	if changed, err := Write(root); err != nil || len(changed) != 0 {
		t.Errorf("second run changed %v (%v), want nothing", changed, err)
	}
	gone := filepath.Join(root, "functions", "gone-get")
	handWritten := filepath.Join(root, "functions", "hand-written")
	for dir, src := range map[string]string{gone: "// " + Generated + "\npackage main\n", handWritten: "package main\n"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "events", "gone-get.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err = Write(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"events/gone-get.json (removed)", "functions/gone-get (removed)"}
	if !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	if _, err := os.Stat(handWritten); err != nil {
		t.Errorf("a hand-written function folder was removed: %v", err)
	}
}
