// Package testenv starts the API for tests: a table on DynamoDB Local when
// DYNAMODB_ENDPOINT is set (as `make test` does) or on the embedded engine otherwise,
// the development signer and its JWKS, and an HTTP server with every route mounted the
// way the local server mounts them. Members of any role are created through the store.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	miniserver "github.com/truora/minidyn/server"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/infra/outbox"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

var (
	embeddedOnce sync.Once
	embeddedURL  string
)

// Engine names the DynamoDB engine tests run on.
func Engine() string {
	if os.Getenv(awsconfig.EnvDynamoDBEndpoint) != "" {
		return "dynamodb-local"
	}
	return "embedded"
}

// EmbeddedEndpoint starts (once per test binary) the embedded engine and returns its URL.
func EmbeddedEndpoint() string {
	embeddedOnce.Do(func() {
		srv := httptest.NewServer(miniserver.NewServer())
		embeddedURL = srv.URL
	})
	return embeddedURL
}

// DynamoDB returns a client for the engine of this run: DYNAMODB_ENDPOINT, or the
// embedded engine.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	if endpoint == "" {
		endpoint = EmbeddedEndpoint()
	}
	return DynamoDBAt(t, endpoint)
}

// DynamoDBAt returns a client for the engine at endpoint.
func DynamoDBAt(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	return awsconfig.DynamoDB(cfg, endpoint)
}

// NewTable creates a fresh table with the project's definition and returns a store on it.
func NewTable(t testing.TB, db *dynamodb.Client) *store.Store {
	t.Helper()
	name := "test-" + domain.NewID()
	if err := store.EnsureTable(context.Background(), db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name})
	})
	return store.New(db, name)
}

// Env is a running API for one test.
type Env struct {
	T      testing.TB
	Store  *store.Store
	Deps   *api.Deps
	Signer *devauth.Signer
	Server *httptest.Server
	// Outbox receives the emails the API sends (Deps.Mail), unless a test sets another
	// sender.
	Outbox *outbox.Outbox
	// Observe, when set, sees every request and response the Env sends.
	Observe func(req *http.Request, res *Response)
	// Graph is the Entra and Microsoft Graph stand-in Deps.Graph talks to.
	Graph *graphstandin.Server
}

// New starts an API on a fresh table.
func New(t testing.TB) *Env {
	t.Helper()
	return NewOn(t, NewTable(t, DynamoDB(t)))
}

// NewOn starts an API over st.
func NewOn(t testing.TB, st *store.Store) *Env {
	t.Helper()
	signer, err := devauth.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(signer.JWKS())
	t.Cleanup(jwks.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	verifier, err := devauth.NewVerifier(ctx, jwks.URL)
	if err != nil {
		t.Fatal(err)
	}
	env := NewWithVerifier(t, st, verifier)
	env.Signer = signer
	return env
}

// NewWithVerifier starts an API over st whose tokens verifier checks, e.g. one reading
// moto's Cognito JWKS.
func NewWithVerifier(t testing.TB, st *store.Store, verifier *auth.Verifier) *Env {
	t.Helper()
	deps := api.NewDeps(st, "https://console.test")
	recordJobs(st, deps)
	box := &outbox.Outbox{}
	deps.Mail = box
	watchOutbox(box) // a Watch (watch.go) reads the emails sent here
	graph := StartGraph(t, deps)
	srv := httptest.NewServer(watched(devauth.Verify(verifier, api.Handler(deps))))
	t.Cleanup(srv.Close)
	return &Env{T: t, Store: st, Deps: deps, Server: srv, Outbox: box, Graph: graph}
}

// StartGraph starts an Entra and Graph stand-in for the test, holding the demo tenant
// (graphstandin.DemoTenant), and points deps at it: no test reaches Microsoft.
func StartGraph(t testing.TB, deps *api.Deps) *graphstandin.Server {
	t.Helper()
	g := graphstandin.New()
	g.PutTenant(graphstandin.DemoTenant())
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	deps.Graph = msgraph.New(srv.URL, srv.URL, srv.Client())
	return g
}

// GraphTenant makes entraTenantID a tenant of the stand-in with the demo tenant's data
// and app registration, and returns that app's client id and secret.
func (e *Env) GraphTenant(entraTenantID string) (clientID, secret string) {
	t := graphstandin.DemoTenant()
	t.ID = entraTenantID
	e.Graph.PutTenant(t)
	return graphstandin.DemoClientID, graphstandin.DemoClientSecret
}

// Token signs in as email with MFA.
func (e *Env) Token(email string) string {
	e.T.Helper()
	return e.TokenFor(devauth.Identity{Email: email, Name: strings.Split(email, "@")[0], MFA: true})
}

// TokenFor signs in as id.
func (e *Env) TokenFor(id devauth.Identity) string {
	e.T.Helper()
	tok, err := e.Signer.Token(id)
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Map decodes the body as an object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Request describes one call.
type Request struct {
	Method, Path, Token string
	// Body is sent as JSON unless it is a string or []byte, which are sent as is.
	Body    any
	Headers map[string]string
}

// Do sends a request.
func (e *Env) Do(r Request) *Response {
	e.T.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(r.Method, e.Server.URL+r.Path, body)
	if err != nil {
		e.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	res, err := e.Server.Client().Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	out := &Response{Status: res.StatusCode, Header: res.Header, Body: raw}
	if e.Observe != nil {
		req.Body = nil
		if r.Body != nil {
			var raw []byte
			switch b := r.Body.(type) {
			case string:
				raw = []byte(b)
			case []byte:
				raw = b
			default:
				raw, _ = json.Marshal(b)
			}
			req.Body = io.NopCloser(bytes.NewReader(raw))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
		}
		e.Observe(req, out)
	}
	return out
}

// Get is a GET with a token.
func (e *Env) Get(path, token string, headers ...string) *Response {
	e.T.Helper()
	return e.Do(Request{Method: http.MethodGet, Path: path, Token: token, Headers: pairs(headers)})
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Org is an organization made for a test, with a token for its owner.
type Org struct {
	ID         string
	OwnerToken string
	OwnerEmail string
}

// NewOrg signs a new user in (creating their default organization), moves it to the
// professional plan, so that fixtures do not run into the free plan's limits, and
// returns it. NewFreeOrg leaves it on the free plan.
func (e *Env) NewOrg(ownerEmail string) Org {
	e.T.Helper()
	o := e.NewFreeOrg(ownerEmail)
	if _, _, err := e.Store.SetPlan(context.Background(), o.ID, domain.PlanOf(domain.PlanProfessional),
		audit.Event{Category: audit.Billing, Action: "billing.plan-change", Summary: "test fixture on the professional plan"}); err != nil {
		e.T.Fatalf("upgrade %s: %v", o.ID, err)
	}
	return o
}

// NewFreeOrg signs a new user in (creating their default organization, on the free
// plan) and returns it.
func (e *Env) NewFreeOrg(ownerEmail string) Org {
	e.T.Helper()
	tok := e.Token(ownerEmail)
	res := e.Get("/api/me", tok)
	if res.Status != http.StatusOK {
		e.T.Fatalf("sign in %s: %d %s", ownerEmail, res.Status, res.Body)
	}
	var me struct {
		ActiveOrganization struct{ ID string } `json:"activeOrganization"`
	}
	res.JSON(e.T, &me)
	return Org{ID: me.ActiveOrganization.ID, OwnerToken: tok, OwnerEmail: ownerEmail}
}

// AddMember creates a user with role in orgID directly through the store and returns
// their token. Custom members get perms. The member reaches all tenants.
func (e *Env) AddMember(orgID string, role permission.Role, email string, perms ...permission.Permission) string {
	e.T.Helper()
	return e.AddScopedMember(orgID, role, domain.AllTenantsScope(), email, perms...)
}

// AddScopedMember is AddMember with a tenant scope.
func (e *Env) AddScopedMember(orgID string, role permission.Role, scope domain.TenantScope, email string, perms ...permission.Permission) string {
	e.T.Helper()
	ctx := context.Background()
	u := domain.User{ID: domain.NewID(), Email: email, Name: strings.Split(email, "@")[0], ActiveOrganizationID: orgID}
	if err := e.Store.CreateUser(ctx, u); err != nil {
		e.T.Fatalf("create user %s: %v", email, err)
	}
	m := domain.Membership{OrganizationID: orgID, UserID: u.ID, Email: u.Email, Name: u.Name, Role: role,
		Permissions: perms, TenantScope: scope, JoinedAt: time.Now().UTC()}
	ev := audit.Event{Category: audit.UserManagement, Action: "member.add", Summary: "test member " + email,
		Targets: audit.Targets{UserIDs: []string{u.ID}}}
	if err := e.Store.PutMember(ctx, m, ev); err != nil {
		e.T.Fatalf("add member %s: %v", email, err)
	}
	return e.Token(email)
}

// EnvRequireStack names the variable `make test` sets: tests that need the local stack
// (moto, DynamoDB Local) then fail instead of skipping when it is missing.
const EnvRequireStack = "SWITCHBOARD_REQUIRE_STACK"

// MotoEndpoint returns moto's URL, skipping the test when moto is not running and the
// stack is not required (plain `go test ./...`).
func MotoEndpoint(t testing.TB) string {
	t.Helper()
	ep := os.Getenv("MOTO_ENDPOINT")
	if ep == "" {
		if os.Getenv(EnvRequireStack) != "" {
			t.Fatal("MOTO_ENDPOINT is not set but the local stack is required: run `make test`")
		}
		t.Skip("moto is not running; `make test` starts it")
	}
	return ep
}

// SubOrg creates, through the store, sub-organization id (a new id when empty) of
// parentID named name, whose default admin is the new user admin (a new user with a
// random email when admin.ID is empty), its Administrator.
func SubOrg(t testing.TB, st *store.Store, parentID, id, name string, admin domain.User) domain.Organization {
	t.Helper()
	now := time.Now().UTC()
	if id == "" {
		id = domain.NewID()
	}
	if admin.ID == "" {
		admin = domain.User{ID: domain.NewID(), Email: "admin-" + strings.ToLower(domain.NewID()) + "@sub.example", Name: "Sub Admin"}
	}
	admin.ActiveOrganizationID, admin.CreatedAt = id, now
	first, last, _ := strings.Cut(admin.Name, " ")
	sub := domain.Organization{ID: id, Name: name, Plan: domain.PlanFree, ParentID: parentID, CreatedAt: now, Version: 1,
		Profile: domain.NewProfile(name), DefaultAdmin: &domain.DefaultAdmin{UserID: admin.ID, Email: admin.Email, FirstName: first, LastName: last}}
	err := st.CreateSubOrganization(context.Background(), store.SubOrganizationCreate{Organization: sub, NewUser: &admin,
		Admin: domain.Membership{OrganizationID: id, UserID: admin.ID, Email: admin.Email, Name: admin.Name, Role: permission.Administrator,
			TenantScope: domain.AllTenantsScope(), JoinedAt: now, Version: 1},
		ParentEvent: audit.Event{Category: audit.Settings, Action: "sub-organization.create"},
		Event:       audit.Event{Category: audit.Settings, Action: "organization.create"}})
	if err != nil {
		t.Fatalf("sub-organization %s of %s: %v", name, parentID, err)
	}
	return sub
}

// AddCompanyUser creates, directly through the store, a Switchboard user with no
// organization and a company user of customerID in orgID with role, portal access on
// and accepted by that user, and returns the user's token and the company user's id.
func (e *Env) AddCompanyUser(orgID, customerID string, role domain.CompanyRole, email string) (token, companyUserID string) {
	e.T.Helper()
	ctx := context.Background()
	u := domain.User{ID: domain.NewID(), Email: email, Name: strings.Split(email, "@")[0]}
	if err := e.Store.CreateUser(ctx, u); err != nil {
		e.T.Fatalf("create user %s: %v", email, err)
	}
	now := time.Now().UTC()
	cu := domain.CompanyUser{ID: domain.NewID(), CustomerID: customerID, Email: email, Name: u.Name, Role: role,
		PortalAccess: true, PortalStatus: domain.PortalActive, PortalUserID: u.ID, Source: domain.SourceManual, CreatedAt: now, UpdatedAt: now}
	ev := audit.Event{Category: audit.Customer, Action: "company-user.create", Summary: "test company user " + email,
		Targets: audit.Targets{CustomerIDs: []string{customerID}, Emails: []string{email}}}
	if err := e.Store.CreateCompanyUser(ctx, orgID, cu, ev); err != nil {
		e.T.Fatalf("add company user %s: %v", email, err)
	}
	return e.Token(email), cu.ID
}
