package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// world is two organizations with a member of every role in the first.
type world struct {
	env    *testenv.Env
	org    testenv.Org
	other  testenv.Org
	tokens map[string]string // by caller name
}

func newWorld(t *testing.T) *world {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	w := &world{env: env, org: env.NewOrg("owner@alpha.example"), other: env.NewOrg("owner@beta.example"), tokens: map[string]string{}}
	w.tokens["Owner"] = w.org.OwnerToken
	for _, role := range []permission.Role{permission.Administrator, permission.Technician, permission.ReadOnly} {
		w.tokens[string(role)] = env.AddMember(w.org.ID, role, strings.ToLower(string(role))+"@alpha.example")
	}
	w.tokens["Custom(none)"] = env.AddMember(w.org.ID, permission.Custom, "custom-none@alpha.example")
	return w
}

// callers are the roles of the generated tests with the grant each is expected to have.
func (w *world) callers(t *testing.T, rt api.Route) map[string]bool {
	expect := map[string]bool{}
	for _, role := range []permission.Role{permission.Owner, permission.Administrator, permission.Technician, permission.ReadOnly} {
		expect[string(role)] = permission.GrantFor(role, nil, rt.Permission) != permission.Denied
	}
	expect["Custom(none)"] = false
	// A Custom member granted exactly this route's permission, unless it is owner-only.
	name := "Custom(" + string(rt.Permission) + ")"
	if _, ok := w.tokens[name]; !ok {
		perms := []permission.Permission{rt.Permission}
		if permission.ValidateCustom(perms) != nil {
			perms = nil
		}
		w.tokens[name] = w.env.AddMember(w.org.ID, permission.Custom, "custom-"+domain.NewID()+"@alpha.example", perms...)
	}
	expect[name] = permission.ValidateCustom([]permission.Permission{rt.Permission}) == nil
	return expect
}

// fixtures give a value for each path parameter, by name, inside organization orgID;
// earlier parameters of the same path are in params. Each call makes fresh objects, so
// a route that deletes one leaves the next caller its own. A route added later with a
// new parameter gets its fixture here once; routes reusing a parameter need nothing.
var fixtures = map[string]func(t *testing.T, w *world, orgID string, params map[string]string) string{
	"orgId": func(_ *testing.T, _ *world, orgID string, _ map[string]string) string { return orgID },
	"customerId": func(t *testing.T, w *world, orgID string, _ map[string]string) string {
		c := domain.Customer{ID: domain.NewID(), Name: "Fixture customer", CreatedAt: time.Now().UTC()}
		if err := w.env.Store.CreateCustomer(context.Background(), orgID, c, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
		return c.ID
	},
	"tenantId": fixtureTenant,
	"jobId": func(t *testing.T, w *world, orgID string, _ map[string]string) string {
		return fixtureJob(t, w.env.Store, orgID)
	},
	// A platform user any manager may manage: an invitation holding only the permission
	// to manage platform users (so a Custom role with just that permission holds it too).
	"id": func(t *testing.T, w *world, orgID string, _ map[string]string) string {
		now := time.Now().UTC()
		_, hash := domain.NewInvitationToken()
		inv := domain.Invitation{ID: domain.NewID(), OrganizationID: orgID, Email: domain.NewID() + "@invitee.example",
			Role: permission.Custom, Permissions: []permission.Permission{permission.ManagePlatformUsers}, TenantScope: domain.AllTenantsScope(),
			InvitedBy: domain.Inviter{UserID: "fixture-inviter", Email: "inviter@fixture.example", Name: "Fixture Inviter"},
			Status:    domain.InvitationPending, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(domain.InvitationTTL), TokenHash: hash}
		if err := w.env.Store.CreateInvitation(context.Background(), inv, audit.Event{Category: audit.UserManagement, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
		return inv.ID
	},
	// A Technician's pending order, on a tenant of its own, which any caller who may
	// approve requests reaches (an Administrator's scope is every tenant).
	"orderId": func(t *testing.T, w *world, orgID string, _ map[string]string) string {
		return fixtureOrder(t, w.env.Store, orgID, fixtureTenant(t, w, orgID, nil))
	},
	// A pending change of the authentication settings, requested by someone else: no
	// check on an object stands between any approver and it.
	"approvalId": func(t *testing.T, w *world, orgID string, _ map[string]string) string {
		return fixtureHeldAction(t, w.env.Store, orgID)
	},
	"contactId":  fixtureContact,
	"ticketId":   fixtureTicket,
	"documentId": fixtureDocument,
	"subOrgId":   fixtureSubOrg,
	"userId":     fixtureUserID,
	// A Microsoft 365 connection on a tenant of its own, whose credentials the Graph
	// stand-in accepts.
	"connectionId": func(t *testing.T, w *world, orgID string, _ map[string]string) string {
		return fixtureM365Connection(t, w, orgID, fixtureTenant(t, w, orgID, nil))
	},
	"step": func(*testing.T, *world, string, map[string]string) string { return domain.StepCompanyUsers },
	// A ConnectWise connection to the world's stand-in, and a conflict of it held for
	// review (psaconnect_test.go).
	"psaConnectionId": fixturePSAConnection,
	"externalId":      fixtureHeldConflict,
}

// fixtureUserID is a sub-organization's former default admin on the sub-organization
// routes, else a company user (role User): of the path's customer, or of orgID's portal
// company on the portal's routes.
func fixtureUserID(t *testing.T, w *world, orgID string, params map[string]string) string {
	if params["subOrgId"] != "" {
		return fixtureSubOrgAdmin(t, w, orgID, params)
	}
	customer := params["customerId"]
	if customer == "" {
		customer = w.portalCompany(t, orgID).customerID
	}
	now := time.Now().UTC()
	u := domain.CompanyUser{ID: domain.NewID(), CustomerID: customer, Email: strings.ToLower(domain.NewID()) + "@company.example",
		Name: "Fixture company user", Role: domain.CompanyUserRole, Source: domain.SourceManual, CreatedAt: now, UpdatedAt: now}
	if err := w.env.Store.CreateCompanyUser(context.Background(), orgID, u, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// portalCompanyOf is a customer of an organization with a company user of every
// company role, each signed in to the portal.
type portalCompanyOf struct {
	customerID string
	tokens     map[string]string // by company role
}

var portalCompanies sync.Map // world and organization id → *portalCompanyOf

// portalCompany returns orgID's portal company, made on first use.
func (w *world) portalCompany(t *testing.T, orgID string) *portalCompanyOf {
	key := fmt.Sprintf("%p/%s", w, orgID)
	if pc, ok := portalCompanies.Load(key); ok {
		return pc.(*portalCompanyOf)
	}
	c := domain.Customer{ID: domain.NewID(), Name: "Portal company", CreatedAt: time.Now().UTC()}
	if err := w.env.Store.CreateCustomer(context.Background(), orgID, c, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	pc := &portalCompanyOf{customerID: c.ID, tokens: map[string]string{}}
	for _, role := range domain.CompanyRoles() {
		email := strings.ToLower(strings.ReplaceAll(string(role), " ", "-")+"-"+domain.NewID()) + "@company.example"
		pc.tokens[string(role)], _ = w.env.AddCompanyUser(orgID, pc.customerID, role, email)
	}
	portalCompanies.Store(key, pc)
	return pc
}

// fixtureTenant writes a tenant of orgID, associated with params' customer when the path has one.
func fixtureTenant(t *testing.T, w *world, orgID string, params map[string]string) string {
	id := domain.NewID()
	tn := domain.Tenant{ID: id, EntraTenantID: uuid(id), PrimaryDomain: id + ".onmicrosoft.com", DisplayName: "Fixture tenant",
		Health: domain.HealthHealthy, CreatedAt: time.Now().UTC()}
	ctx := context.Background()
	if err := w.env.Store.CreateTenant(ctx, orgID, tn, audit.Event{Category: audit.Tenant, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	if c := params["customerId"]; c != "" {
		if _, err := w.env.Store.AssociateTenant(ctx, orgID, c, id, audit.Event{Category: audit.Tenant, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// uuid shapes a fixture id as a GUID.
func uuid(id string) string {
	h := fmt.Sprintf("%x", id)
	for len(h) < 32 {
		h += h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (w *world) path(t *testing.T, rt api.Route, orgID string) string {
	p := rt.Path
	params := map[string]string{}
	for _, name := range rt.PathParams() {
		f, ok := fixtures[name]
		if !ok {
			t.Fatalf("route %s has path parameter {%s} without a fixture in authz_test.go", rt.Pattern(), name)
		}
		if orgID == "no-such-org" {
			params[name] = orgID
		} else {
			params[name] = f(t, w, orgID, params)
		}
		p = strings.Replace(p, "{"+name+"}", params[name], 1)
	}
	return p
}

// body is deliberately invalid for mutating routes: a denied role must get 403 before
// validation (400), and an allowed role must get past the permission check to it.
func body(rt api.Route) any {
	if rt.Method == http.MethodGet || rt.Method == http.MethodDelete {
		return nil
	}
	return map[string]any{"version": "not-a-number"}
}

func TestRoutesEnforceThePermissionTable(t *testing.T) {
	w := newWorld(t)
	for _, rt := range api.Routes() {
		t.Run(rt.Pattern(), func(t *testing.T) {
			if !permission.Valid(rt.Permission) {
				t.Fatalf("route has permission %q, which is not in the table", rt.Permission)
			}
			if rt.Permission == permission.Public {
				res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Body: body(rt)})
				if res.Status == http.StatusUnauthorized || res.Status >= 500 {
					t.Fatalf("public route without a token: %d %s", res.Status, res.Body)
				}
				return
			}
			// No token: 401, whatever else is wrong with the request.
			res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Body: body(rt),
				Headers: map[string]string{api.HeaderOrganization: w.org.ID}})
			if res.Status != http.StatusUnauthorized {
				t.Fatalf("no token: %d %s", res.Status, res.Body)
			}
			// A forged token: 401.
			res = w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: w.tokens["Owner"] + "x", Body: body(rt)})
			if res.Status != http.StatusUnauthorized {
				t.Fatalf("forged token: %d %s", res.Status, res.Body)
			}
			if rt.Portal() {
				w.portalRoute(t, rt)
				return
			}
			if !rt.OrgScoped() {
				res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: w.tokens["Read-Only"], Body: body(rt)})
				if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden || res.Status >= 500 {
					t.Fatalf("authenticated route as a member: %d %s", res.Status, res.Body)
				}
				return
			}
			for caller, allowed := range w.callers(t, rt) {
				res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: w.tokens[caller], Body: body(rt),
					Headers: map[string]string{api.HeaderOrganization: w.org.ID}})
				switch {
				case res.Status >= 500:
					t.Errorf("%s: %d %s", caller, res.Status, res.Body)
				case allowed && (res.Status == http.StatusForbidden || res.Status == http.StatusNotFound || res.Status == http.StatusUnauthorized):
					t.Errorf("%s is allowed by the table but got %d %s", caller, res.Status, res.Body)
				case !allowed && res.Status != http.StatusForbidden:
					t.Errorf("%s is denied by the table but got %d %s", caller, res.Status, res.Body)
				}
			}
			// A company user of this organization's customer (a portal Admin) is no
			// member: 404, naming the organization or not.
			admin := w.portalCompany(t, w.org.ID).tokens[string(domain.CompanyAdmin)]
			for _, headers := range []map[string]string{{api.HeaderOrganization: w.org.ID}, nil} {
				res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: admin, Body: body(rt), Headers: headers})
				if res.Status != http.StatusNotFound {
					t.Errorf("a company user (portal Admin) on an MSP route, headers %v: %d %s", headers, res.Status, res.Body)
				}
			}
			// Another organization's Owner naming this organization: 404, never data,
			// both through X-Organization-Id and through the ids in the path.
			res = w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: w.other.OwnerToken, Body: body(rt),
				Headers: map[string]string{api.HeaderOrganization: w.org.ID}})
			if res.Status != http.StatusNotFound {
				t.Errorf("another organization's owner with X-Organization-Id: %d %s", res.Status, res.Body)
			}
			res = w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: w.other.OwnerToken, Body: body(rt)})
			if namesObjects(rt) && res.Status != http.StatusNotFound {
				t.Errorf("another organization's owner with this organization's ids in the path: %d %s", res.Status, res.Body)
			}
			// An organization id that does not exist at all looks the same.
			res = w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, "no-such-org"), Token: w.tokens["Owner"], Body: body(rt),
				Headers: map[string]string{api.HeaderOrganization: "no-such-org"}})
			if res.Status != http.StatusNotFound {
				t.Errorf("unknown organization: %d %s", res.Status, res.Body)
			}
		})
	}
}

// portalRoute checks a client portal route: each company role as the portal table says
// (shared/permission/portal.go); every MSP role, who has no company user, 404; another
// organization's company Admin with this organization's ids in the path, 404.
func (w *world) portalRoute(t *testing.T, rt api.Route) {
	pc := w.portalCompany(t, w.org.ID)
	for role, tok := range pc.tokens {
		res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: tok, Body: body(rt)})
		allowed := permission.PortalAllows(role, rt.Permission)
		switch {
		case res.Status >= 500:
			t.Errorf("company %s: %d %s", role, res.Status, res.Body)
		case allowed && (res.Status == http.StatusForbidden || res.Status == http.StatusNotFound || res.Status == http.StatusUnauthorized):
			t.Errorf("company %s is allowed by the portal table but got %d %s", role, res.Status, res.Body)
		case !allowed && res.Status != http.StatusForbidden:
			t.Errorf("company %s is denied by the portal table but got %d %s", role, res.Status, res.Body)
		}
	}
	for caller, tok := range w.tokens {
		res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: tok, Body: body(rt),
			Headers: map[string]string{api.HeaderOrganization: w.org.ID}})
		if res.Status != http.StatusNotFound {
			t.Errorf("MSP %s on a portal route: %d %s", caller, res.Status, res.Body)
		}
	}
	if namesObjects(rt) {
		other := w.portalCompany(t, w.other.ID).tokens[string(domain.CompanyAdmin)]
		res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: other, Body: body(rt)})
		if res.Status != http.StatusNotFound {
			t.Errorf("another organization's company Admin with this organization's ids in the path: %d %s", res.Status, res.Body)
		}
	}
}

// namesObjects reports whether the route's path names objects of an organization:
// every path parameter but {step}, an onboarding step's name, which every organization has.
func namesObjects(rt api.Route) bool {
	for _, p := range rt.PathParams() {
		if p != "step" {
			return true
		}
	}
	return false
}

func TestEveryRouteIsInTheTableOnce(t *testing.T) {
	seen := map[string]bool{}
	fns := map[string]bool{}
	for _, rt := range api.Routes() {
		if seen[rt.Pattern()] {
			t.Errorf("route %s listed twice", rt.Pattern())
		}
		if fns[rt.Function] {
			t.Errorf("function %s serves two routes", rt.Function)
		}
		seen[rt.Pattern()], fns[rt.Function] = true, true
		if (rt.Handler == nil) == (rt.Read == nil) || rt.Summary == "" || rt.Function == "" {
			t.Errorf("route %s needs exactly one of Handler and Read, a summary and a function", rt.Pattern())
		}
		if rt.OrgParam != "" && !strings.Contains(rt.Path, "{"+rt.OrgParam+"}") {
			t.Errorf("route %s names org parameter %s not in its path", rt.Pattern(), rt.OrgParam)
		}
	}
	fmt.Fprintf(testWriter{t}, "%d routes\n", len(seen))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fixtureRequester is who asked for the fixtures' approvals: no caller of the tests.
var fixtureRequester = domain.Inviter{UserID: "fixture-requester", Email: "requester@fixture.example", Name: "Fixture Requester"}

// fixtureOrder writes a pending order of 3 × SPE_E3 for tenantID in orgID.
func fixtureOrder(t *testing.T, st *store.Store, orgID, tenantID string) string {
	t.Helper()
	now := time.Now().UTC()
	a := domain.Approval{ID: domain.NewApprovalID(now), OrganizationID: orgID, Action: domain.ActionLicenseOrder, Status: domain.ApprovalPending,
		Summary: "order 3 × SPE_E3", RequestedBy: fixtureRequester, RequestedAt: now, ExpiresAt: now.Add(domain.ApprovalTTL),
		Order: &domain.LicenseOrder{TenantID: tenantID, TenantName: "Fixture tenant", SKU: "SPE_E3", Quantity: 3}}
	if _, err := st.CreateApproval(context.Background(), a, audit.Event{Category: audit.LicenseOrder, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// fixtureHeldAction writes a pending change of orgID's authentication settings.
func fixtureHeldAction(t *testing.T, st *store.Store, orgID string) string {
	t.Helper()
	now := time.Now().UTC()
	a := domain.Approval{ID: domain.NewApprovalID(now), OrganizationID: orgID, Action: domain.ActionChangeAuthSettings, Status: domain.ApprovalPending,
		Summary: "change the authentication settings", RequestedBy: fixtureRequester, RequestedAt: now, ExpiresAt: now.Add(domain.ApprovalTTL),
		Request: &domain.HeldAction{Authentication: &domain.AuthSettings{EntraSSOEnabled: true, RequireMFA: true, SessionTimeoutMinutes: 120}}}
	if _, err := st.CreateApproval(context.Background(), a, audit.Event{Category: audit.Approval, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// TestMutatingRoutesHaveAnAuditCategory: every route that changes something (any
// method but GET) names the audit category of its events, or why it writes none;
// TestFaultsLeaveWholeChanges checks, on each route's successful request, that the
// events written carry that category (checkCategories).
func TestMutatingRoutesHaveAnAuditCategory(t *testing.T) {
	for _, rt := range api.Routes() {
		mutating := rt.Method != http.MethodGet
		switch {
		case mutating && (rt.Category == "") == (rt.Unaudited == ""):
			t.Errorf("route %s changes something: it needs exactly one of Category and Unaudited", rt.Pattern())
		case mutating && rt.Category != "" && !rt.Category.Valid():
			t.Errorf("route %s has category %q, which is not one of %v", rt.Pattern(), rt.Category, audit.Categories())
		case !mutating && (rt.Category != "" || rt.Unaudited != ""):
			t.Errorf("route %s changes nothing but declares an audit category", rt.Pattern())
		}
	}
}
