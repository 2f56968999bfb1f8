package permission_test

import (
	"testing"

	"github.com/switchboard-msp/switchboard/shared/permission"
)

func TestGrantsFollowThePinnedTable(t *testing.T) {
	cases := []struct {
		role permission.Role
		perm permission.Permission
		want permission.Grant
	}{
		{permission.Owner, permission.DeleteOrganization, permission.Allowed},
		{permission.Administrator, permission.DeleteOrganization, permission.Denied},
		{permission.Technician, permission.ViewData, permission.Scoped},
		{permission.Technician, permission.OrderLicenses, permission.ScopedApproval},
		{permission.Technician, permission.ApproveRequests, permission.Denied},
		{permission.Technician, permission.DeleteCustomers, permission.Denied},
		{permission.ReadOnly, permission.ViewAuditLog, permission.Allowed},
		{permission.ReadOnly, permission.ManageCustomers, permission.Denied},
		{permission.ReadOnly, permission.ManageBilling, permission.Denied},
		{permission.Administrator, permission.ManageSubOrgs, permission.Allowed},
		{permission.Role("Viewer"), permission.ViewData, permission.Denied},
		{permission.Owner, permission.Permission("anything"), permission.Denied},
		{permission.Owner, permission.Public, permission.Denied},
	}
	for _, tc := range cases {
		if got := permission.GrantFor(tc.role, nil, tc.perm); got != tc.want {
			t.Errorf("%s / %s = %v, want %v", tc.role, tc.perm, got, tc.want)
		}
	}
	if permission.GrantFor(permission.Custom, []permission.Permission{permission.DeleteOrganization}, permission.DeleteOrganization) != permission.Denied {
		t.Error("a Custom role holds an Owner-only permission")
	}
	if permission.ValidateCustom([]permission.Permission{permission.DeleteOrganization}) == nil {
		t.Error("an Owner-only permission may be picked for a Custom role")
	}
}

func TestTenantScope(t *testing.T) {
	selected := permission.Scope{Mode: permission.ScopeSelected, TenantIDs: []string{"t1"}}
	except := permission.Scope{Mode: permission.ScopeAllExcept, TenantIDs: []string{"t1"}}
	cases := []struct {
		name    string
		m       permission.Member
		perm    permission.Permission
		tenant  string
		want    bool
		wantAll bool
	}{
		{"admin ignores a scope", permission.Member{Role: permission.Administrator, Scope: selected}, permission.ManageCustomers, "t2", true, true},
		{"technician in selected scope", permission.Member{Role: permission.Technician, Scope: selected}, permission.ManageCustomers, "t1", true, false},
		{"technician outside selected scope", permission.Member{Role: permission.Technician, Scope: selected}, permission.ManageCustomers, "t2", false, false},
		{"technician all-except", permission.Member{Role: permission.Technician, Scope: except}, permission.ViewData, "t2", true, false},
		{"technician excluded tenant", permission.Member{Role: permission.Technician, Scope: except}, permission.ViewData, "t1", false, false},
		{"technician without scope has all", permission.Member{Role: permission.Technician}, permission.ManageCustomers, "t9", true, true},
		{"unknown scope mode denies", permission.Member{Role: permission.Technician, Scope: permission.Scope{Mode: "some"}}, permission.ViewData, "t1", false, false},
		{"empty tenant id denies", permission.Member{Role: permission.Owner}, permission.ViewData, "", false, true},
		{"read-only cannot manage in scope", permission.Member{Role: permission.ReadOnly}, permission.ManageCustomers, "t1", false, false},
		{"custom with the permission, in scope", permission.Member{Role: permission.Custom, Permissions: []permission.Permission{permission.ManageDevices}, Scope: selected}, permission.ManageDevices, "t1", true, false},
		{"custom without the permission", permission.Member{Role: permission.Custom, Scope: selected}, permission.ManageDevices, "t1", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.TenantAllowed(tc.perm, tc.tenant); got != tc.want {
				t.Errorf("TenantAllowed = %v, want %v", got, tc.want)
			}
			if got := tc.m.AllTenantsAllowed(tc.perm); got != tc.wantAll {
				t.Errorf("AllTenantsAllowed = %v, want %v", got, tc.wantAll)
			}
		})
	}
}
