package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/billingbus/eventbridgebus"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/jobs/sqsqueue"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/mail/sesmail"
	"github.com/switchboard-msp/switchboard/shared/objects"
	"github.com/switchboard-msp/switchboard/shared/objects/s3objects"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// TestMain keeps the handlers' request logs out of the output unless -v is given.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}

// eventCase is what invoking a function with its events/<name>.json must give.
type eventCase struct {
	status int
	// check looks at the JSON body (none for a 204 or a contentType other than JSON).
	check func(t *testing.T, body map[string]any)
	// seed writes, before the call, the objects the event names beyond SampleOrgID
	// and SampleJobID, so the call finds them.
	seed func(ctx context.Context, t *testing.T, e *sampleEnv)
	// contentType of the answer, when not application/json; a 204 has none.
	contentType string
	// after checks the whole response and what the call left behind (waiting for the
	// job it started).
	after func(ctx context.Context, t *testing.T, e *sampleEnv, res events.APIGatewayV2HTTPResponse)
}

// sampleEnv is what an invocation runs on: its table and its documents bucket.
type sampleEnv struct {
	st      *store.Store
	objects *s3objects.Store
}

func field(t *testing.T, body map[string]any, path ...string) any {
	t.Helper()
	return dig(body, path...)
}

// eventCases lists, per function, the status its sample event gets. The sample caller
// is new (their first request creates their user and default organization); the
// organization the events name (templategen.SampleOrgID) is created beforehand, owned
// by them, whenever an event names it.
var eventCases = map[string]eventCase{
	"openapi-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if v, _ := field(t, b, "openapi").(string); !strings.HasPrefix(v, "3.") {
			t.Errorf("openapi = %v", b["openapi"])
		}
	}},
	"me-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "user", "email") != templategen.SampleEmail || field(t, b, "activeOrganization", "role") != "Owner" {
			t.Errorf("me = %v", b)
		}
	}},
	"me-active-organization-put": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["id"] != templategen.SampleOrgID || b["active"] != true {
			t.Errorf("switched to %v", b)
		}
	}},
	"organizations-list": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		items, _ := b["items"].([]any)
		if len(items) != 1 || field(t, b, "items", "0", "role") != "Owner" {
			t.Errorf("a new user's organizations: %v", b)
		}
	}},
	"sessions-create": {status: http.StatusCreated, check: func(t *testing.T, b map[string]any) {
		client, _ := b["client"].(map[string]any)
		if b["sourceIp"] != templategen.SampleSourceIP || b["identityProvider"] != templategen.EntraProviderName ||
			b["organizations"] != float64(1) || client["browser"] != "Chrome" || client["os"] != "Windows" {
			t.Errorf("sign-in %v", b)
		}
	}},
	"organizations-create": {status: http.StatusCreated, check: func(t *testing.T, b map[string]any) {
		if b["name"] != "Northwind IT Services" || b["role"] != "Owner" {
			t.Errorf("created %v", b)
		}
	}},
	"organizations-rename": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["id"] != templategen.SampleOrgID || b["name"] != "Contoso Managed Services" {
			t.Errorf("renamed %v", b)
		}
	}},
	"profile-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["organizationId"] != templategen.SampleOrgID || b["companyName"] != "Sample MSP" {
			t.Errorf("profile %v", b)
		}
	}},
	"profile-put": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["companyName"] != "Contoso Managed Services LLC" || b["timeZone"] != "America/Los_Angeles" {
			t.Errorf("profile %v", b)
		}
	}},
	"audit-log-list": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "items", "0", "action") != "organization.create" {
			t.Errorf("audit log %v", b)
		}
	}},
	"audit-log-verify": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["ok"] != true || b["complete"] != true || field(t, b, "head", "seq") != float64(1) {
			t.Errorf("verify %v", b)
		}
	}},
	"jobs-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["id"] != templategen.SampleJobID || b["organizationId"] != templategen.SampleOrgID || b["status"] != "queued" {
			t.Errorf("job %v", b)
		}
	}},
}

// invoke runs the function's handler on a fresh table and an empty documents bucket
// as its Lambda would, through the API Gateway v2 adapter, with jobs run in this
// process; it seeds SampleOrgID when the event names it, then what seed writes.
func invoke(t *testing.T, name string, ev events.APIGatewayV2HTTPRequest, raw []byte,
	seed func(context.Context, *testing.T, *sampleEnv)) (events.APIGatewayV2HTTPResponse, *sampleEnv) {
	t.Helper()
	ctx := context.Background()
	st := lambdaTable(t)
	t.Setenv("CONSOLE_URL", "https://console.example.com")
	t.Setenv(jobs.EnvQueueURL, "")
	s3 := httptest.NewServer(fakes3.Handler())
	t.Cleanup(s3.Close)
	t.Setenv(s3objects.EnvEndpoint, s3.URL)
	t.Setenv(objects.EnvBucket, "documents-events")
	e := &sampleEnv{st: st, objects: s3objects.FromEnv()}
	if err := e.objects.CreateBucket(ctx); err != nil {
		t.Fatalf("bucket: %v", err)
	}

	if ev.RequestContext.Authorizer != nil && strings.Contains(string(raw), templategen.SampleOrgID) {
		seedSampleOrg(ctx, t, st, ev.RequestContext.Authorizer.JWT.Claims)
	}
	if strings.Contains(string(raw), templategen.SampleJobID) {
		seedSampleJob(ctx, t, st, "sample-import")
	}
	if seed != nil {
		seed(ctx, t, e)
	}
	h, err := functionHandler(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := httpadapter.NewV2(h).ProxyWithContext(ctx, ev)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	return res, e
}

// seedSampleOrg signs the claims' user up and makes them Owner of SampleOrgID.
func seedSampleOrg(ctx context.Context, t *testing.T, st *store.Store, claims map[string]string) {
	t.Helper()
	u, err := st.SignUp(ctx, store.SignUpInput{Subject: claims["sub"], Email: claims["email"], Name: claims["name"],
		DefaultOrganization: domain.Organization{ID: domain.NewID(), Name: "Default", Plan: domain.PlanFree, Profile: domain.NewProfile("Default")}})
	if err != nil {
		t.Fatalf("sign up: %v", err)
	}
	org := domain.Organization{ID: templategen.SampleOrgID, Name: "Sample MSP", Plan: domain.PlanFree,
		Profile: domain.NewProfile("Sample MSP"), OwnerUserID: u.ID}
	owner := domain.Membership{OrganizationID: org.ID, UserID: u.ID, Email: u.Email, Name: u.Name,
		Role: permission.Owner, TenantScope: domain.AllTenantsScope(), JoinedAt: time.Now().UTC(), Version: 1}
	ev := audit.Event{Actor: audit.Actor{UserID: u.ID, Email: u.Email}, Category: audit.Settings,
		Action: "organization.create", Summary: `created organization "Sample MSP"`}
	if err := st.CreateOrganization(ctx, org, owner, ev); err != nil {
		t.Fatalf("create %s: %v", org.ID, err)
	}
}

// seedSampleJob creates the job the events name, queued, of kind.
func seedSampleJob(ctx context.Context, t *testing.T, st *store.Store, kind string) {
	t.Helper()
	_, err := st.CreateJob(ctx, store.Job{ID: templategen.SampleJobID, OrganizationID: templategen.SampleOrgID, Kind: kind,
		Category: audit.Customer, CreatedBy: audit.Actor{UserID: "sample-user", Email: templategen.SampleEmail}},
		[]byte("name\nContoso\n"), audit.Event{Category: audit.Customer, Action: "job.start", Summary: "started a sample job"})
	if err != nil {
		t.Fatalf("create %s: %v", templategen.SampleJobID, err)
	}
}

func loadEvent(t *testing.T, name string) (events.APIGatewayV2HTTPRequest, []byte) {
	t.Helper()
	raw := readFile(t, repoRoot(t), "events/"+name+".json")
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("events/%s.json: %v", name, err)
	}
	return ev, raw
}

// TestEventsInvokeTheirFunctions runs every function's handler with its sample event
// and checks the status and the body it answers.
func TestEventsInvokeTheirFunctions(t *testing.T) {
	for name := range eventCases {
		if _, ok := api.RouteByFunction(name); !ok {
			t.Errorf("eventCases has %s, which is no route's function", name)
		}
	}
	for _, rt := range api.Routes() {
		t.Run(rt.Function, func(t *testing.T) {
			want, ok := eventCases[rt.Function]
			if !ok {
				t.Fatalf("add the status events/%s.json must get to eventCases", rt.Function)
			}
			ev, raw := loadEvent(t, rt.Function)
			res, e := invoke(t, rt.Function, ev, raw, want.seed)
			if res.StatusCode != want.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, want.status, res.Body)
			}
			ct := header(res, "Content-Type")
			switch {
			case want.status == http.StatusNoContent:
				if res.Body != "" || ct != "" {
					t.Errorf("a 204 with Content-Type %q and body %q", ct, res.Body)
				}
			case want.contentType != "":
				if !strings.HasPrefix(ct, want.contentType) {
					t.Errorf("Content-Type %q, want %s", ct, want.contentType)
				}
			default:
				if !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
				var body map[string]any
				if err := json.Unmarshal(decodedBody(t, res), &body); err != nil {
					t.Fatalf("body %.300q: %v", res.Body, err)
				}
				want.check(t, body)
			}
			if want.after != nil {
				want.after(context.Background(), t, e, res)
			}
		})
	}
}

// TestEventsWithoutClaimsAreRefused: a route behind the authorizer answers 401 when
// the event carries no claims, as it would if the authorizer were ever detached.
func TestEventsWithoutClaimsAreRefused(t *testing.T) {
	for _, rt := range api.Routes() {
		if rt.Permission == permission.Public {
			continue
		}
		t.Run(rt.Function, func(t *testing.T) {
			ev, _ := loadEvent(t, rt.Function)
			ev.RequestContext.Authorizer = nil
			res, _ := invoke(t, rt.Function, ev, nil, nil)
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401: %s", res.StatusCode, res.Body)
			}
		})
	}
}

// TestEventClaimsAsAPIGatewayRendersThem: claims arrive as strings; "false" is false.
func TestEventClaimsAsAPIGatewayRendersThem(t *testing.T) {
	ev, _ := loadEvent(t, "me-get")
	claims := ev.RequestContext.Authorizer.JWT.Claims
	for k, v := range templategen.SampleClaims() {
		if claims[k] != v {
			t.Errorf("claim %s = %q, want %q", k, claims[k], v)
		}
	}
	claims["email_verified"] = "false"
	res, _ := invoke(t, "me-get", ev, nil, nil)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, "email-not-verified") {
		t.Errorf("unverified email: %d %s, want 401 email-not-verified", res.StatusCode, res.Body)
	}
}

// serviceUses are the Uses that lambdaentry.Services name in the generated main.go.
var serviceUses = map[string]lambdaentry.Use{
	"ses:":         lambdaentry.Mail(sesmail.Connect),
	"cognito-idp:": lambdaentry.Identity(cognito.Connect),
	"sqs:":         lambdaentry.Jobs(sqsqueue.Connect),
	"s3:":          lambdaentry.Objects(s3objects.Connect),
	"events:":      lambdaentry.Events(eventbridgebus.Connect),
}

// functionHandler is what functions/<name>/main.go serves: the route with the Uses
// its Actions name.
func functionHandler(ctx context.Context, name string) (http.Handler, error) {
	rt, ok := api.RouteByFunction(name)
	if !ok {
		return nil, fmt.Errorf("no route is served by function %s", name)
	}
	var uses []lambdaentry.Use
	for _, svc := range lambdaentry.Uses(rt.Actions) {
		use, ok := serviceUses[svc.Prefix]
		if !ok {
			return nil, fmt.Errorf("%s: no Use for service %s in serviceUses", name, svc.Prefix)
		}
		uses = append(uses, use)
	}
	return lambdaentry.HandlerFor(ctx, rt, uses...)
}

func TestEveryServiceHasAUse(t *testing.T) {
	for _, svc := range lambdaentry.Services {
		if _, ok := serviceUses[svc.Prefix]; !ok {
			t.Errorf("lambdaentry.Services has %s; add its Use to serviceUses", svc.Prefix)
		}
	}
}

// decodedBody is a response's body as the client reads it: base64-decoded when API
// Gateway is told it is binary, and gunzipped when sent with Content-Encoding gzip
// (the OpenAPI document, for a sample event that accepts gzip as browsers do).
func decodedBody(t *testing.T, res events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			t.Fatalf("base64 body: %v", err)
		}
	}
	if res.Headers["Content-Encoding"] != "gzip" {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	return out
}
