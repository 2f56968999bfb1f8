package api_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// TestCompanyUsersFollowTheTenantScopeAndRoles (issue 9, part 8): a Technician scoped to
// some tenants sees and changes the company users of customers with a tenant in scope
// only, and imports from Microsoft 365 only the tenants in scope; Read-Only views them
// and changes nothing, the import included.
func TestCompanyUsersFollowTheTenantScopeAndRoles(t *testing.T) {
	w := newWorld(t)
	h := map[string]string{api.HeaderOrganization: w.org.ID}
	inCust := fixtures["customerId"](t, w, w.org.ID, nil)
	outCust := fixtures["customerId"](t, w, w.org.ID, nil)
	inTenant := fixtureTenant(t, w, w.org.ID, map[string]string{"customerId": inCust})
	// A second tenant of the same customer, outside the scope, with its own connection.
	outTenant := fixtureTenant(t, w, w.org.ID, map[string]string{"customerId": inCust})
	fixtureTenant(t, w, w.org.ID, map[string]string{"customerId": outCust})
	fixtureM365Connection(t, w, w.org.ID, inTenant)
	fixtureM365Connection(t, w, w.org.ID, outTenant)
	scoped := w.env.AddScopedMember(w.org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{inTenant}}, "scoped-tech@alpha.example")
	users := func(c string) string { return "/api/msp-portal/customers/" + c + "/users" }
	do := func(tok, method, path string, body any) *testenv.Response {
		return w.env.Do(testenv.Request{Method: method, Path: path, Token: tok, Headers: h, Body: body})
	}
	// The Owner adds a user to each customer.
	ids := map[string]string{}
	for _, c := range []string{inCust, outCust} {
		res := do(w.tokens["Owner"], "POST", users(c), map[string]any{"email": "pat@" + c + ".example", "name": "Pat", "role": "User"})
		if res.Status != http.StatusCreated {
			t.Fatalf("fixture user: %d %s", res.Status, res.Body)
		}
		ids[c], _ = res.Map(t)["id"].(string)
	}
	user := func(c string) string { return users(c) + "/" + ids[c] }
	m365 := func(tenant string) map[string]any {
		return map[string]any{"source": "m365", "tenantId": tenant, "preview": true}
	}
	cases := []struct {
		name, caller, method, path string
		body                       any
		want                       int
	}{
		{"scoped lists in scope", "scoped", "GET", users(inCust), nil, http.StatusOK},
		{"scoped reads in scope", "scoped", "GET", user(inCust), nil, http.StatusOK},
		{"scoped lists out of scope", "scoped", "GET", users(outCust), nil, http.StatusNotFound},
		{"scoped reads out of scope", "scoped", "GET", user(outCust), nil, http.StatusNotFound},
		{"scoped adds in scope", "scoped", "POST", users(inCust), map[string]any{"email": "new@in.example", "name": "New", "role": "User"}, http.StatusCreated},
		{"scoped adds out of scope", "scoped", "POST", users(outCust), map[string]any{"email": "new@out.example", "name": "New", "role": "User"}, http.StatusNotFound},
		{"scoped changes out of scope", "scoped", "PUT", user(outCust), map[string]any{"email": "pat@x.example", "name": "Pat", "role": "Admin"}, http.StatusNotFound},
		{"scoped removes out of scope", "scoped", "DELETE", user(outCust), nil, http.StatusNotFound},
		{"scoped imports a csv out of scope", "scoped", "POST", users(outCust) + "/import", map[string]any{"source": "csv", "csv": "Email\na@b.example\n"}, http.StatusNotFound},
		{"scoped previews the tenant in scope", "scoped", "POST", users(inCust) + "/import", m365(inTenant), http.StatusOK},
		{"scoped previews a tenant out of scope", "scoped", "POST", users(inCust) + "/import", m365(outTenant), http.StatusBadRequest},
		{"scoped changes in scope", "scoped", "PUT", user(inCust), map[string]any{"email": "pat@in.example", "name": "Pat", "role": "Manager"}, http.StatusOK},
		{"read-only lists", "Read-Only", "GET", users(outCust), nil, http.StatusOK},
		{"read-only reads", "Read-Only", "GET", user(outCust), nil, http.StatusOK},
		{"read-only adds", "Read-Only", "POST", users(inCust), map[string]any{"email": "ro@in.example", "name": "RO", "role": "User"}, http.StatusForbidden},
		{"read-only changes", "Read-Only", "PUT", user(inCust), map[string]any{"email": "pat@in.example", "name": "Pat", "role": "Admin"}, http.StatusForbidden},
		{"read-only removes", "Read-Only", "DELETE", user(inCust), nil, http.StatusForbidden},
		{"read-only imports a csv", "Read-Only", "POST", users(inCust) + "/import", map[string]any{"source": "csv", "csv": "Email\na@b.example\n"}, http.StatusForbidden},
		{"read-only previews m365", "Read-Only", "POST", users(inCust) + "/import", m365(inTenant), http.StatusForbidden},
		{"read-only assigns training", "Read-Only", "POST", user(inCust) + "/training", map[string]any{"course": "Phishing 101"}, http.StatusForbidden},
		{"read-only exports customers", "Read-Only", "GET", "/api/msp-portal/customers/export", nil, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := w.tokens[tc.caller]
			if tc.caller == "scoped" {
				tok = scoped
			}
			if res := do(tok, tc.method, tc.path, tc.body); res.Status != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, res.Status, res.Body, tc.want)
			}
		})
	}
}
