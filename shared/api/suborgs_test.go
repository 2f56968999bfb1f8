package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

const subOrgsPath = "/api/msp-admin/sub-organizations"

// newSubOrg creates, through the store, a sub-organization of parent whose default
// admin is a new user (its Administrator), and returns it.
func newSubOrg(t *testing.T, st *store.Store, parent, name string) domain.Organization {
	t.Helper()
	return testenv.SubOrg(t, st, parent, "", name, domain.User{})
}

// fixtureSubOrg is a sub-organization of orgID. Inside a sub-organization, which has
// none of its own, it is a sibling: the route must not find it there either.
func fixtureSubOrg(t *testing.T, w *world, orgID string, _ map[string]string) string {
	parent := orgID
	if o, err := w.env.Store.GetOrganization(context.Background(), orgID); err == nil && o.ParentID != "" {
		parent = o.ParentID
	}
	return newSubOrg(t, w.env.Store, parent, "Fixture sub-organization").ID
}

// fixtureSubOrgAdmin is the default admin of the path's sub-organization, no member any
// more (another Administrator took over): re-issuing their access is an invitation,
// which needs no user pool.
func fixtureSubOrgAdmin(t *testing.T, w *world, _ string, params map[string]string) string {
	ctx := context.Background()
	sub, err := w.env.Store.GetOrganization(ctx, params["subOrgId"])
	if err != nil || sub.DefaultAdmin == nil {
		t.Fatalf("sub-organization %s: %v", params["subOrgId"], err)
	}
	w.env.AddMember(sub.ID, permission.Administrator, "successor-"+strings.ToLower(domain.NewID())+"@sub.example")
	if err := w.env.Store.DeleteMember(ctx, sub.ID, sub.DefaultAdmin.UserID, audit.Event{Category: audit.UserManagement, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return sub.DefaultAdmin.UserID
}

// supports reports whether a caller of the matrix may support sub-organizations.
func supports(caller string) bool {
	return caller == "Owner" || caller == string(permission.Administrator) || strings.HasPrefix(caller, "Supporter(") ||
		caller == "Custom("+string(permission.ManageSubOrgs)+")"
}

// TestSupportPathEnforcesThePermissionTable is the authorization matrix of the support
// path: every organization-scoped route, acting in a sub-organization of the callers'
// organization, for every role there. A caller who may support acts with the rights of
// their role in the parent (a Custom role: its permissions); one who may not cannot
// reach the sub-organization (404). Inside a sub-organization, sub-organizations of
// the path (siblings) are never found.
func TestSupportPathEnforcesThePermissionTable(t *testing.T) {
	w := newWorld(t)
	sub := newSubOrg(t, w.env.Store, w.org.ID, "Supported Ltd")
	for _, rt := range api.Routes() {
		if !rt.OrgScoped() {
			continue
		}
		t.Run(rt.Pattern(), func(t *testing.T) {
			expect := w.callers(t, rt)
			// A Custom role granted support and exactly this route's permission.
			name := "Supporter(" + string(rt.Permission) + ")"
			perms := []permission.Permission{permission.ManageSubOrgs}
			if rt.Permission != permission.ManageSubOrgs {
				perms = append(perms, rt.Permission)
			}
			if permission.ValidateCustom(perms) != nil {
				perms = perms[:1]
			}
			if _, ok := w.tokens[name]; !ok {
				w.tokens[name] = w.env.AddMember(w.org.ID, permission.Custom, "supporter-"+domain.NewID()+"@alpha.example", perms...)
			}
			expect[name] = len(perms) == 2 || rt.Permission == permission.ManageSubOrgs
			siblings := len(rt.PathParams()) > 0 && strings.Contains(rt.Path, "{subOrgId}")
			for caller, allowed := range expect {
				res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, sub.ID), Token: w.tokens[caller], Body: body(rt),
					Headers: map[string]string{api.HeaderOrganization: sub.ID, api.HeaderSupportReason: "matrix"}})
				switch {
				case res.Status >= 500:
					t.Errorf("%s: %d %s", caller, res.Status, res.Body)
				case !supports(caller) && res.Status != http.StatusNotFound:
					t.Errorf("%s may not support, but reached the sub-organization: %d %s", caller, res.Status, res.Body)
				case !supports(caller):
				case allowed && siblings && res.Status != http.StatusNotFound:
					t.Errorf("%s reached a sibling sub-organization: %d %s", caller, res.Status, res.Body)
				case allowed && !siblings && (res.Status == http.StatusForbidden || res.Status == http.StatusNotFound || res.Status == http.StatusUnauthorized):
					t.Errorf("%s supports with a role that allows this, but got %d %s", caller, res.Status, res.Body)
				case !allowed && res.Status != http.StatusForbidden:
					t.Errorf("%s supports with a role that denies this, but got %d %s", caller, res.Status, res.Body)
				}
			}
			// The sub-organization's own Administrator cannot reach its parent.
			res := w.env.Do(testenv.Request{Method: rt.Method, Path: w.path(t, rt, w.org.ID), Token: w.env.Token(sub.DefaultAdmin.Email),
				Body: body(rt), Headers: map[string]string{api.HeaderOrganization: w.org.ID}})
			if res.Status != http.StatusNotFound {
				t.Errorf("the sub-organization's admin in the parent: %d %s", res.Status, res.Body)
			}
		})
	}
}

// msp is an MSP organization for the sub-organization tests, with a member of each kind.
type msp struct {
	env                 *testenv.Env
	org                 testenv.Org
	admin, tech, viewer string
}

func newMSP(t *testing.T) *msp {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	m := &msp{env: env, org: env.NewOrg("owner@contoso-msp.example")}
	m.admin = env.AddMember(m.org.ID, permission.Administrator, "admin@contoso-msp.example")
	m.tech = env.AddMember(m.org.ID, permission.Technician, "tech@contoso-msp.example")
	m.viewer = env.AddMember(m.org.ID, permission.ReadOnly, "viewer@contoso-msp.example")
	return m
}

// do sends a request acting in orgID (none when "").
func (m *msp) do(tok, method, path, orgID string, body any, headers ...string) *testenv.Response {
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	if orgID != "" {
		h[api.HeaderOrganization] = orgID
	}
	return m.env.Do(testenv.Request{Method: method, Path: path, Token: tok, Body: body, Headers: h})
}

func subOrgBody(company, email string) map[string]any {
	return map[string]any{"companyName": company, "phone": "+1 (555) 010-2000", "email": email, "confirmEmail": email,
		"firstName": "Dana", "lastName": "Lee"}
}

// withField is body with one member changed.
func withField(body map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for key, val := range body {
		out[key] = val
	}
	out[k] = v
	return out
}

type createdSubOrg struct {
	ID               string
	CompanyName      string
	LicensesConsumed domain.Usage
	DefaultAdmin     struct {
		UserID, Email, Account string
		EmailSent              bool
	}
}

func (m *msp) create(t *testing.T, company, email string) createdSubOrg {
	t.Helper()
	res := m.do(m.org.OwnerToken, "POST", subOrgsPath, m.org.ID, subOrgBody(company, email))
	if res.Status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", company, res.Status, res.Body)
	}
	var c createdSubOrg
	res.JSON(t, &c)
	if loc := res.Header.Get("Location"); loc != subOrgsPath+"/"+c.ID {
		t.Errorf("Location %q", loc)
	}
	return c
}

type subOrgRow struct {
	ID, CompanyName, Phone, DefaultAdminEmail string
	LicensesConsumed                          domain.Usage
}

func (m *msp) list(t *testing.T, tok, query string) (rows []subOrgRow, next string) {
	t.Helper()
	res := m.do(tok, "GET", subOrgsPath+query, m.org.ID, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, res.Status, res.Body)
	}
	var l api.List[subOrgRow]
	res.JSON(t, &l)
	return l.Items, l.NextCursor
}

func (m *msp) auditOf(t *testing.T, tok, orgID string) []audit.Event {
	t.Helper()
	res := m.do(tok, "GET", "/api/audit-log", orgID, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("audit log of %s: %d %s", orgID, res.Status, res.Body)
	}
	var l api.List[audit.Event]
	res.JSON(t, &l)
	return l.Items
}

// TestSubOrganizationsDoneWhen is the "done when", in the suite: create two
// sub-organizations, read the welcome emails, search the list and see licenses consumed
// move as tenants are added inside one (while supporting it), find those actions in its
// audit log on behalf of it, and fail to reach the sibling as its member.
func TestSubOrganizationsDoneWhen(t *testing.T) {
	m := newMSP(t)
	north := m.create(t, "Northwind Traders", "North.Admin@Northwind.example")
	fab := m.create(t, "Fabrikam Inc.", "admin@fabrikam.example")
	if north.DefaultAdmin.Account != "not-configured" || !north.DefaultAdmin.EmailSent || north.LicensesConsumed.MemberSeats != 1 {
		t.Errorf("created %+v", north)
	}

	// The welcome emails.
	for _, c := range []createdSubOrg{north, fab} {
		_, msg := tokenFromOutbox(t, m.env, c.DefaultAdmin.Email)
		if !strings.Contains(msg.Subject, c.CompanyName) || !strings.Contains(msg.Text, c.DefaultAdmin.Email) ||
			!strings.Contains(msg.Text, "owner") {
			t.Errorf("welcome email to %s: %s\n%s", c.DefaultAdmin.Email, msg.Subject, msg.Text)
		}
	}

	// Search, case-insensitive, and page.
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"Fabrikam Inc.", "Northwind Traders"}},
		{"?q=NORTH", []string{"Northwind Traders"}},
		{"?q=%20fab", []string{"Fabrikam Inc."}},
		{"?q=contoso", nil},
	}
	for _, tc := range tests {
		rows, _ := m.list(t, m.org.OwnerToken, tc.query)
		var got []string
		for _, r := range rows {
			got = append(got, r.CompanyName)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("list%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	first, next := m.list(t, m.org.OwnerToken, "?limit=1")
	second, next := m.list(t, m.org.OwnerToken, "?limit=1&cursor="+next)
	if len(first) != 1 || len(second) != 1 || first[0].ID == second[0].ID {
		t.Errorf("pages %v / %v", first, second)
	}
	if next != "" {
		if third, _ := m.list(t, m.org.OwnerToken, "?limit=1&cursor="+next); len(third) != 0 {
			t.Errorf("a third page of two: %v", third)
		}
	}

	// Support Northwind: register two tenants inside it, with a reason.
	for i, lic := range []int64{25, 10} {
		res := m.do(m.admin, "POST", "/api/msp-portal/tenants", north.ID, map[string]any{
			"entraTenantId": fmt.Sprintf("1b2c3d4e-0000-4000-8000-00000000000%d", i), "primaryDomain": fmt.Sprintf("north%d.onmicrosoft.com", i),
			"displayName": fmt.Sprintf("Northwind %d", i), "licensedUsers": lic,
			"licenses": []any{map[string]any{"sku": "SPE_E3", "assigned": lic}}, "health": "healthy"},
			api.HeaderSupportReason, "ticket 4711: onboarding")
		if res.Status != http.StatusCreated {
			t.Fatalf("tenant in the supported sub-organization: %d %s", res.Status, res.Body)
		}
	}
	rows, _ := m.list(t, m.org.OwnerToken, "?q=north")
	if len(rows) != 1 || rows[0].LicensesConsumed != (domain.Usage{MemberSeats: 1, ManagedTenants: 2, AssignedLicenses: 35}) {
		t.Errorf("licenses consumed after two tenants: %+v", rows)
	}
	var dash struct {
		SubOrganizations int64
		LicensesConsumed domain.Usage
	}
	m.do(m.org.OwnerToken, "GET", "/api/msp-admin/dashboard", m.org.ID, nil).JSON(t, &dash)
	if dash.SubOrganizations != 2 || dash.LicensesConsumed != (domain.Usage{MemberSeats: 2, ManagedTenants: 2, AssignedLicenses: 35}) {
		t.Errorf("dashboard %+v", dash)
	}

	// Its own admin sees the supporter's actions in its audit log, on behalf of it.
	northAdmin := m.env.Token("north.admin@northwind.example")
	var onBehalf int
	for _, ev := range m.auditOf(t, northAdmin, north.ID) {
		if ev.Action != "tenant.create" {
			continue
		}
		onBehalf++
		if ev.OnBehalfOf == nil || ev.OnBehalfOf.MSPOrganizationID != m.org.ID || ev.OnBehalfOf.SubOrganizationID != north.ID ||
			ev.OnBehalfOf.Reason != "ticket 4711: onboarding" || ev.Actor.Email != "admin@contoso-msp.example" {
			t.Errorf("event %+v", ev)
		}
	}
	if onBehalf != 2 {
		t.Errorf("%d tenant events on behalf of the sub-organization", onBehalf)
	}
	if evs := m.auditOf(t, m.org.OwnerToken, m.org.ID); len(evs) == 0 || evs[0].Action != "sub-organization.create" {
		t.Errorf("the parent's log: %+v", evs)
	}

	// As Northwind's admin: the sibling and the parent are not found.
	for _, orgID := range []string{fab.ID, m.org.ID} {
		for _, path := range []string{"/api/msp-portal/tenants", "/api/audit-log", "/api/msp-portal/settings/profile"} {
			if res := m.do(northAdmin, "GET", path, orgID, nil); res.Status != http.StatusNotFound {
				t.Errorf("Northwind's admin in %s: GET %s: %d %s", orgID, path, res.Status, res.Body)
			}
		}
	}
	if res := m.do(northAdmin, "GET", subOrgsPath+"/"+fab.ID, north.ID, nil); res.Status != http.StatusNotFound {
		t.Errorf("Northwind's admin reading the sibling by id: %d %s", res.Status, res.Body)
	}
}

// TestSupportAccessEndsOnTheNextRequest: a supporter removed from the MSP, or whose role
// loses the permission, cannot support on their next request, in a warm process.
func TestSupportAccessEndsOnTheNextRequest(t *testing.T) {
	m := newMSP(t)
	sub := newSubOrg(t, m.env.Store, m.org.ID, "Warm Ltd")
	ctx := context.Background()
	tests := []struct {
		name   string
		role   permission.Role
		perms  []permission.Permission
		change func(userID string)
	}{
		{"removed from the MSP", permission.Administrator, nil, func(userID string) {
			if err := m.env.Store.DeleteMember(ctx, m.org.ID, userID, audit.Event{Category: audit.UserManagement, Action: "test"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"demoted to Technician", permission.Administrator, nil, func(userID string) {
			mem, err := m.env.Store.GetMember(ctx, m.org.ID, userID)
			if err != nil {
				t.Fatal(err)
			}
			next := mem
			next.Role = permission.Technician
			if _, err := m.env.Store.UpdateMember(ctx, next, mem, audit.Event{Category: audit.UserManagement, Action: "test"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a Custom role that loses the permission", permission.Custom, []permission.Permission{permission.ManageSubOrgs, permission.ViewData}, func(userID string) {
			mem, err := m.env.Store.GetMember(ctx, m.org.ID, userID)
			if err != nil {
				t.Fatal(err)
			}
			next := mem
			next.Permissions = []permission.Permission{permission.ViewData}
			if _, err := m.env.Store.UpdateMember(ctx, next, mem, audit.Event{Category: audit.UserManagement, Action: "test"}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := m.env.AddMember(m.org.ID, tc.role, "supporter-"+strings.ToLower(domain.NewID())+"@contoso-msp.example", tc.perms...)
			// Warm: the memberships are cached in this process.
			for i := 0; i < 2; i++ {
				if res := m.do(tok, "GET", "/api/msp-portal/tenants", sub.ID, nil); res.Status != http.StatusOK {
					t.Fatalf("supporting: %d %s", res.Status, res.Body)
				}
			}
			tc.change(getMe(t, m.env, tok).User.ID)
			if res := m.do(tok, "GET", "/api/msp-portal/tenants", sub.ID, nil); res.Status != http.StatusNotFound {
				t.Errorf("the next request: %d %s", res.Status, res.Body)
			}
		})
	}
}

// TestSubOrganizationRules: validation names each field, mismatched emails name
// confirmEmail, a stale sign-in is refused, nesting is a conflict, only members who may
// support list and create, and /api/me lists what the caller can support.
func TestSubOrganizationRules(t *testing.T) {
	m := newMSP(t)
	sub := m.create(t, "Contoso Child", "child-admin@contoso-child.example")
	stale := m.env.TokenFor(devauth.Identity{Email: "owner@contoso-msp.example", Name: "owner", MFA: true,
		AuthTime: time.Now().Add(-6 * time.Minute)})
	good := subOrgBody("Second Child", "second@child.example")
	tests := []struct {
		name   string
		tok    string
		orgID  string
		body   any
		status int
		code   string
		fields []string
	}{
		{"emails that differ", m.org.OwnerToken, m.org.ID, withField(good, "confirmEmail", "other@child.example"), 400, "validation", []string{"confirmEmail"}},
		{"emails that differ in case only are the same", m.admin, m.org.ID, withField(good, "confirmEmail", "SECOND@Child.example"), 201, "", nil},
		{"every field wrong", m.org.OwnerToken, m.org.ID, map[string]any{"companyName": " ", "phone": "call me", "email": "nope",
			"firstName": strings.Repeat("x", 101), "lastName": "a\u0007b"}, 400, "validation",
			[]string{"companyName", "phone", "email", "confirmEmail", "firstName", "lastName"}},
		{"a sign-in older than 5 minutes", stale, m.org.ID, good, 401, "reauthentication-required", nil},
		{"a Technician", m.tech, m.org.ID, good, 403, "forbidden", nil},
		{"inside a sub-organization", m.org.OwnerToken, sub.ID, withField(good, "companyName", "Grandchild"), 409, "nesting-not-allowed", nil},
		{"a stale sign-in of a Technician is told to sign in first", m.env.TokenFor(devauth.Identity{Email: "tech@contoso-msp.example",
			MFA: true, AuthTime: time.Now().Add(-time.Hour)}), m.org.ID, good, 401, "reauthentication-required", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := m.do(tc.tok, "POST", subOrgsPath, tc.orgID, tc.body)
			if res.Status != tc.status || tc.code != "" && code(t, res) != tc.code {
				t.Fatalf("%d %s, want %d %s", res.Status, res.Body, tc.status, tc.code)
			}
			if len(tc.fields) > 0 {
				var p struct{ Errors []struct{ Field string } }
				res.JSON(t, &p)
				var got []string
				for _, e := range p.Errors {
					got = append(got, e.Field)
				}
				if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
					t.Errorf("fields %v, want %v", got, tc.fields)
				}
			}
		})
	}
	for _, tc := range []struct {
		name   string
		tok    string
		status int
	}{{"Owner", m.org.OwnerToken, 200}, {"Administrator", m.admin, 200}, {"Technician", m.tech, 403}, {"Read-Only", m.viewer, 403}} {
		if res := m.do(tc.tok, "GET", subOrgsPath, m.org.ID, nil); res.Status != tc.status {
			t.Errorf("%s lists: %d %s", tc.name, res.Status, res.Body)
		}
	}
	// An over-long reason is a 400 naming the header.
	for _, orgID := range []string{sub.ID, m.org.ID} {
		res := m.do(m.admin, "GET", "/api/msp-portal/tenants", orgID, nil, api.HeaderSupportReason, strings.Repeat("r", 501))
		if res.Status != 400 || !strings.Contains(string(res.Body), api.HeaderSupportReason) {
			t.Errorf("a long reason: %d %s", res.Status, res.Body)
		}
	}
	// Supporting is per request: the active organization stays a membership.
	res := m.do(m.admin, "PUT", "/api/me/active-organization", "", map[string]string{"organizationId": sub.ID})
	if res.Status != http.StatusConflict || code(t, res) != "supported-organization" {
		t.Errorf("switching to a supported organization: %d %s", res.Status, res.Body)
	}
	var me struct {
		Organizations []struct{ ID string }
		Supportable   []struct {
			OrganizationID   string
			SubOrganizations []struct{ ID, Name string }
		}
	}
	getMeRaw(t, m.env, m.admin).JSON(t, &me)
	if len(me.Organizations) != 1 || len(me.Supportable) != 1 || me.Supportable[0].OrganizationID != m.org.ID ||
		len(me.Supportable[0].SubOrganizations) != 2 {
		t.Errorf("me of an MSP Administrator: %+v", me)
	}
	getMeRaw(t, m.env, m.tech).JSON(t, &me)
	if len(me.Supportable) != 0 {
		t.Errorf("a Technician can support %+v", me.Supportable)
	}
}

func getMeRaw(t *testing.T, env *testenv.Env, tok string) *testenv.Response {
	t.Helper()
	res := env.Get("/api/me", tok)
	if res.Status != http.StatusOK {
		t.Fatalf("me: %d %s", res.Status, res.Body)
	}
	return res
}

// TestSubOrganizationAdmins: an address that already has a Switchboard account (the MSP
// Administrator's own) becomes the Administrator without a new account; the
// sub-organization's Administrator adds users through the team's invitation flow; the
// default admin who left is restored by a new invitation, and nothing else in the
// sub-organization changes.
func TestSubOrganizationAdmins(t *testing.T) {
	m := newMSP(t)
	own := m.create(t, "Own Address Ltd", "admin@contoso-msp.example")
	adminID := getMe(t, m.env, m.admin).User.ID
	if own.DefaultAdmin.Account != "existing" || own.DefaultAdmin.UserID != adminID {
		t.Errorf("an existing account: %+v", own.DefaultAdmin)
	}
	if _, msg := tokenFromOutbox(t, m.env, "admin@contoso-msp.example"); !strings.Contains(msg.Text, "as you usually do") {
		t.Errorf("email to an existing account:\n%s", msg.Text)
	}
	// Now a member: the admin acts there through membership, not support.
	if res := m.do(m.admin, "GET", "/api/settings/platform-users", own.ID, nil); res.Status != http.StatusOK {
		t.Fatalf("the MSP admin in the sub-organization they administer: %d %s", res.Status, res.Body)
	}

	c := m.create(t, "Invites Ltd", "boss@invites.example")
	boss := m.env.Token("boss@invites.example")
	res := m.do(boss, "POST", "/api/settings/platform-users", c.ID, map[string]any{"email": "worker@invites.example", "role": "Technician"})
	if res.Status != http.StatusCreated {
		t.Fatalf("the sub-organization's admin invites: %d %s", res.Status, res.Body)
	}
	token, _ := tokenFromOutbox(t, m.env, "worker@invites.example")
	worker := m.env.Token("worker@invites.example")
	if res := m.do(worker, "POST", "/api/invitations/accept", "", map[string]string{"token": token}); res.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", res.Status, res.Body)
	}
	rows, _ := m.list(t, m.org.OwnerToken, "?q=invites")
	if len(rows) != 1 || rows[0].LicensesConsumed.MemberSeats != 2 {
		t.Errorf("seats after the worker joined: %+v", rows)
	}

	// Re-issuing: the default admin, a member, needs a user pool for a password.
	reset := subOrgsPath + "/" + c.ID + "/admins/" + c.DefaultAdmin.UserID + "/reset"
	if res := m.do(m.org.OwnerToken, "POST", reset, m.org.ID, nil); res.Status != 503 || code(t, res) != "identity-unavailable" {
		t.Errorf("password reset without a pool: %d %s", res.Status, res.Body)
	}
	// The default admin leaves (the worker is made Administrator first): a new invitation.
	workerID := getMe(t, m.env, worker).User.ID
	ctx := context.Background()
	wm, _ := m.env.Store.GetMember(ctx, c.ID, workerID)
	promoted := wm
	promoted.Role = permission.Administrator
	if _, err := m.env.Store.UpdateMember(ctx, promoted, wm, audit.Event{Category: audit.UserManagement, Action: "test"}); err != nil {
		t.Fatal(err)
	}
	if res := m.do(boss, "DELETE", "/api/settings/platform-users/"+c.DefaultAdmin.UserID, c.ID, nil); res.Status != http.StatusNoContent {
		t.Fatalf("the default admin leaves: %d %s", res.Status, res.Body)
	}
	tenantsBefore := m.do(worker, "GET", "/api/msp-portal/tenants", c.ID, nil).Body
	res = m.do(m.org.OwnerToken, "POST", reset, m.org.ID, nil)
	var r struct {
		Method, InvitationID string
		EmailSent            bool
	}
	res.JSON(t, &r)
	if res.Status != http.StatusOK || r.Method != "invitation" || !r.EmailSent || r.InvitationID == "" {
		t.Fatalf("re-invite: %d %s", res.Status, res.Body)
	}
	token, _ = tokenFromOutbox(t, m.env, "boss@invites.example")
	if res := m.do(boss, "POST", "/api/invitations/accept", "", map[string]string{"token": token}); res.Status != http.StatusOK {
		t.Fatalf("the default admin accepts again: %d %s", res.Status, res.Body)
	}
	if res := m.do(boss, "GET", "/api/settings/platform-users", c.ID, nil); res.Status != http.StatusOK {
		t.Errorf("the restored admin: %d %s", res.Status, res.Body)
	}
	if after := m.do(worker, "GET", "/api/msp-portal/tenants", c.ID, nil).Body; string(after) != string(tenantsBefore) {
		t.Errorf("the reset touched the sub-organization's data")
	}
	var sawReset bool
	for _, ev := range m.auditOf(t, boss, c.ID) {
		if ev.Action == "admin.reset" && ev.OnBehalfOf != nil && ev.OnBehalfOf.MSPOrganizationID == m.org.ID {
			sawReset = true
		}
	}
	if !sawReset {
		t.Errorf("the sub-organization's log does not show the reset")
	}
	// Anyone else is no admin of it.
	for _, id := range []string{workerID + "x", getMe(t, m.env, m.tech).User.ID} {
		if res := m.do(m.org.OwnerToken, "POST", subOrgsPath+"/"+c.ID+"/admins/"+id+"/reset", m.org.ID, nil); res.Status != 404 {
			t.Errorf("reset of %s: %d %s", id, res.Status, res.Body)
		}
	}
}
