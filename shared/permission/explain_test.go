package permission_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/permission"
)

var (
	selectedT1 = permission.Scope{Mode: permission.ScopeSelected, TenantIDs: []string{"t1"}}
	exceptT1   = permission.Scope{Mode: permission.ScopeAllExcept, TenantIDs: []string{"t1"}}
)

func TestExplainRules(t *testing.T) {
	cases := []struct {
		name    string
		m       permission.Member
		perm    permission.Permission
		tenant  string
		allowed bool
		grant   string
		rule    string
		reason  string // the whole sentence when set
	}{
		{"role denies", permission.Member{Role: permission.ReadOnly}, permission.ManageCustomers, "t1", false, "denied", permission.RuleRoleDenies,
			`Read-Only does not hold "manage customers and tenants (create, edit, associate, import)"`},
		{"unknown role denies", permission.Member{Role: "Viewer"}, permission.ViewData, "t1", false, "denied", permission.RuleRoleDenies, ""},
		{"custom not picked", permission.Member{Role: permission.Custom, Permissions: []permission.Permission{permission.ViewData}}, permission.ManageDevices, "t1", false, "denied", permission.RuleCustomNotPicked, ""},
		{"owner-only for administrator", permission.Member{Role: permission.Administrator}, permission.DeleteOrganization, "", false, "denied", permission.RuleOwnerOnly,
			`"delete the organization, transfer ownership" is the Owner's alone; Administrator does not hold it`},
		{"owner-only even when picked", permission.Member{Role: permission.Custom, Permissions: []permission.Permission{permission.DeleteOrganization}}, permission.DeleteOrganization, "t1", false, "denied", permission.RuleOwnerOnly, ""},
		{"role allows unscoped", permission.Member{Role: permission.ReadOnly, Scope: selectedT1}, permission.ViewData, "t2", true, "allowed", permission.RuleRoleAllows,
			`Read-Only holds "view data, dashboards, reports, usage; export data" for every tenant; the tenant scope does not limit it`},
		{"role allows with no tenant", permission.Member{Role: permission.Owner}, permission.DeleteOrganization, "", true, "allowed", permission.RuleRoleAllows, ""},
		{"scoped with no tenant is held", permission.Member{Role: permission.Technician, Scope: selectedT1}, permission.ManageUsers, "", true, "scoped", permission.RuleRoleAllows,
			`Technician holds "manage users (company users, tenant users)" only within their tenant scope, which is checked per tenant; the scope is the selected tenants t1`},
		{"administrator reaches every tenant", permission.Member{Role: permission.Administrator, Scope: selectedT1}, permission.ManageCustomers, "t2", true, "allowed", permission.RuleAllTenantsRole, ""},
		{"owner reaches every tenant", permission.Member{Role: permission.Owner}, permission.ManageUsers, "t9", true, "allowed", permission.RuleAllTenantsRole, ""},
		{"scope all", permission.Member{Role: permission.Technician, Scope: permission.Scope{Mode: permission.ScopeAll}}, permission.ManageDevices, "t7", true, "scoped", permission.RuleScopeAll, ""},
		{"empty scope is all", permission.Member{Role: permission.Technician}, permission.ManageDevices, "t7", true, "scoped", permission.RuleScopeAll, ""},
		{"selected includes", permission.Member{Role: permission.Technician, Scope: selectedT1}, permission.ManageUsers, "t1", true, "scoped", permission.RuleScopeSelectedIncludes,
			`Technician holds "manage users (company users, tenant users)" only within their tenant scope; tenant t1 is among the selected tenants`},
		{"selected excludes", permission.Member{Role: permission.Technician, Scope: selectedT1}, permission.ManageUsers, "t2", false, "scoped", permission.RuleScopeSelectedExcludes,
			`Technician holds "manage users (company users, tenant users)" only within their tenant scope; tenant t2 is not among the selected tenants`},
		{"all-except excludes", permission.Member{Role: permission.Technician, Scope: exceptT1}, permission.ViewData, "t1", false, "scoped", permission.RuleScopeAllExceptExcludes, ""},
		{"all-except includes", permission.Member{Role: permission.Technician, Scope: exceptT1}, permission.ViewData, "t2", true, "scoped", permission.RuleScopeAllExceptIncludes, ""},
		{"unresolvable scope", permission.Member{Role: permission.Technician, Scope: permission.Scope{Mode: "some"}}, permission.ViewData, "t1", false, "scoped", permission.RuleScopeUnresolvable, ""},
		{"approval in scope", permission.Member{Role: permission.Technician, Scope: selectedT1}, permission.OrderLicenses, "t1", true, "approval", permission.RuleScopeSelectedIncludes,
			`Technician may request "order licenses" (an Administrator approves it) only within their tenant scope; tenant t1 is among the selected tenants`},
		{"custom approval outside scope", permission.Member{Role: permission.Custom, Permissions: []permission.Permission{permission.OrderLicenses}, Scope: exceptT1}, permission.OrderLicenses, "t1", false, "approval", permission.RuleScopeAllExceptExcludes, ""},
		{"unknown permission", permission.Member{Role: permission.Owner}, permission.Permission("fly"), "t1", false, "denied", permission.RuleUnknownPermission, ""},
		{"route permissions are not member permissions", permission.Member{Role: permission.Owner}, permission.Public, "", false, "denied", permission.RuleUnknownPermission, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := permission.Explain(tc.m, tc.perm, tc.tenant)
			if e.Allowed != tc.allowed || e.Grant != tc.grant || e.Rule != tc.rule {
				t.Errorf("Explain = allowed %v grant %q rule %q, want %v %q %q (%s)", e.Allowed, e.Grant, e.Rule, tc.allowed, tc.grant, tc.rule, e.Reason)
			}
			if e.Role != tc.m.Role || e.Permission != tc.perm || e.TenantID != tc.tenant {
				t.Errorf("Explain echoes %q %q %q", e.Role, e.Permission, e.TenantID)
			}
			if tc.reason != "" && e.Reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", e.Reason, tc.reason)
			}
		})
	}
}

// TestExplainAgreesWithTenantAllowed is the guarantee the explain endpoint rests on: it
// never says yes or no where the real check says otherwise.
func TestExplainAgreesWithTenantAllowed(t *testing.T) {
	rules := []string{
		permission.RuleRoleDenies, permission.RuleCustomNotPicked, permission.RuleOwnerOnly,
		permission.RuleRoleAllows, permission.RuleAllTenantsRole, permission.RuleScopeAll,
		permission.RuleScopeSelectedIncludes, permission.RuleScopeSelectedExcludes,
		permission.RuleScopeAllExceptExcludes, permission.RuleScopeAllExceptIncludes,
		permission.RuleScopeUnresolvable, permission.RuleUnknownPermission,
	}
	scopes := []permission.Scope{
		{},
		{Mode: permission.ScopeAll},
		selectedT1,
		{Mode: permission.ScopeSelected},
		{Mode: permission.ScopeSelected, TenantIDs: []string{"t1", "t2"}},
		exceptT1,
		{Mode: permission.ScopeAllExcept},
		{Mode: "some", TenantIDs: []string{"t1"}},
	}
	customs := [][]permission.Permission{nil, permission.All(), {permission.ViewData, permission.OrderLicenses}}
	roles := append(permission.Roles(), "Viewer", "")
	perms := append(permission.All(), permission.Public, permission.Authenticated, "fly")
	seen := map[string]bool{}
	for _, r := range roles {
		for _, picked := range customs {
			for _, s := range scopes {
				m := permission.Member{Role: r, Permissions: picked, Scope: s}
				for _, p := range perms {
					held := permission.GrantFor(r, picked, p) != permission.Denied
					if e := permission.Explain(m, p, ""); e.Allowed != held {
						t.Errorf("%s %v %+v / %s with no tenant: Explain %v, GrantFor held %v", r, picked, s, p, e.Allowed, held)
					}
					for _, tenant := range []string{"t1", "t2", "t3"} {
						e := permission.Explain(m, p, tenant)
						seen[e.Rule] = true
						if want := m.TenantAllowed(p, tenant); e.Allowed != want {
							t.Errorf("%s %v %+v / %s on %s: Explain %v (%s), TenantAllowed %v", r, picked, s, p, tenant, e.Allowed, e.Rule, want)
						}
						if !slices.Contains(rules, e.Rule) {
							t.Errorf("unknown rule %q", e.Rule)
						}
						if e.Reason == "" || permission.Valid(p) && p != permission.Public && p != permission.Authenticated && !strings.Contains(e.Reason, permission.Describe(p)) {
							t.Errorf("%s / %s: reason %q does not name the permission", r, p, e.Reason)
						}
					}
				}
			}
		}
	}
	for _, rule := range rules {
		if !seen[rule] {
			t.Errorf("rule %q never decided", rule)
		}
	}
}

func TestExplanationJSON(t *testing.T) {
	b, err := json.Marshal(permission.Explain(permission.Member{Role: permission.Technician, Scope: selectedT1}, permission.OrderLicenses, "t1"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"allowed": true, "role": "Technician", "permission": "order-licenses", "grant": "approval", "tenantId": "t1", "rule": "scope-selected-includes"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["reason"]; !ok || len(got) != len(want)+1 {
		t.Errorf("fields = %v", got)
	}
	b, _ = json.Marshal(permission.Explain(permission.Member{Role: permission.Owner}, permission.ViewData, ""))
	if strings.Contains(string(b), "tenantId") {
		t.Errorf("tenantId present without a tenant: %s", b)
	}
}

func TestGrantName(t *testing.T) {
	for g, want := range map[permission.Grant]string{
		permission.Allowed: "allowed", permission.Scoped: "scoped",
		permission.ScopedApproval: "approval", permission.Denied: "denied",
	} {
		if got := permission.GrantName(g); got != want {
			t.Errorf("GrantName(%v) = %q, want %q", g, got, want)
		}
	}
}
