package permission

import (
	"errors"
	"testing"
)

func sel(ids ...string) Scope    { return Scope{Mode: ScopeSelected, TenantIDs: ids} }
func except(ids ...string) Scope { return Scope{Mode: ScopeAllExcept, TenantIDs: ids} }

func custom(s Scope, perms ...Permission) Member {
	return Member{Role: Custom, Permissions: perms, Scope: s}
}

func TestCanGrant(t *testing.T) {
	all := Scope{Mode: ScopeAll}
	// technicianLike is a Custom role holding what a Technician holds, minus ordering.
	technicianLike := func(s Scope) Member {
		return custom(s, ViewData, ManageCustomers, ManageUsers, ManageDevices, RunAutomation)
	}
	cases := []struct {
		name      string
		granter   Member
		grantee   Member
		wantPerm  Permission
		wantField string // "" means allowed
	}{
		{"owner grants administrator", Member{Role: Owner}, Member{Role: Administrator}, "", ""},
		{"owner cannot grant owner", Member{Role: Owner}, Member{Role: Owner}, "", FieldRole},
		{"administrator grants administrator", Member{Role: Administrator}, Member{Role: Administrator}, "", ""},
		{"administrator cannot grant owner", Member{Role: Administrator}, Member{Role: Owner}, "", FieldRole},
		{"administrator grants scoped technician", Member{Role: Administrator}, Member{Role: Technician, Scope: sel("t1")}, "", ""},
		{"administrator grants any custom", Member{Role: Administrator}, custom(except("t1"), ManageUsers, OrderLicenses), "", ""},
		{"administrator's own scope is ignored", Member{Role: Administrator, Scope: sel("t1")}, custom(sel("t9"), ManageUsers), "", ""},
		{"read-only grants read-only", Member{Role: ReadOnly}, Member{Role: ReadOnly}, "", ""},
		{"read-only cannot grant technician", Member{Role: ReadOnly}, Member{Role: Technician}, ManageCustomers, FieldRole},
		{"technician grants technician in all scope", Member{Role: Technician}, Member{Role: Technician, Scope: sel("t1")}, "", ""},
		{"technician cannot grant read-only's unscoped view", Member{Role: Technician, Scope: sel("t1")}, Member{Role: ReadOnly}, ViewData, FieldRole},
		{"technician cannot grant administrator", Member{Role: Technician}, Member{Role: Administrator}, ViewData, FieldRole},
		{"technician-like custom cannot grant billing", technicianLike(all), custom(all, ManageUsers, ManageBilling), ManageBilling, FieldPermissions},
		{"technician-like custom cannot grant technician's ordering", technicianLike(all), Member{Role: Technician}, OrderLicenses, FieldRole},
		{"technician-like custom grants a subset", technicianLike(sel("t1", "t2")), custom(sel("t1"), ManageUsers, ViewData), "", ""},
		{"custom lacking a permission before a scope problem", custom(sel("t1"), ManageUsers), custom(sel("t2"), ManageUsers, ManageDevices), ManageDevices, FieldPermissions},
		{"scoped custom within its scope", custom(sel("t1", "t2"), ManageUsers), custom(sel("t2"), ManageUsers), "", ""},
		{"scoped custom same scope", custom(sel("t1", "t2"), ManageUsers), custom(sel("t2", "t1"), ManageUsers), "", ""},
		{"scoped custom empty selection", custom(sel("t1"), ManageUsers), custom(sel(), ManageUsers), "", ""},
		{"scoped custom outside its scope", custom(sel("t1", "t2"), ManageUsers), custom(sel("t2", "t3"), ManageUsers), ManageUsers, FieldTenantAccess},
		{"selected granter cannot grant all", custom(sel("t1"), ManageUsers), custom(all, ManageUsers), ManageUsers, FieldTenantAccess},
		{"selected granter cannot grant empty mode", custom(sel("t1"), ManageUsers), custom(Scope{}, ManageUsers), ManageUsers, FieldTenantAccess},
		{"selected granter cannot grant all-except", custom(sel("t1"), ManageUsers), custom(except("t2", "t3"), ManageUsers), ManageUsers, FieldTenantAccess},
		{"selected custom cannot grant read-only's unscoped view", custom(sel("t1"), ViewData), Member{Role: ReadOnly}, ViewData, FieldRole},
		{"scope of permissions the grantee lacks is not checked", custom(sel("t1"), ManageUsers, ManageDevices), custom(sel("t9")), "", ""},
		{"all-scope custom grants any scope", custom(all, ManageUsers), custom(except("t1"), ManageUsers), "", ""},
		{"empty-mode custom grants any scope", custom(Scope{}, ManageUsers), custom(sel("t5"), ManageUsers), "", ""},
		{"all-except granter, wider exclusion", custom(except("t1"), ManageUsers), custom(except("t1", "t2"), ManageUsers), "", ""},
		{"all-except granter, same exclusion", custom(except("t1"), ManageUsers), custom(except("t1"), ManageUsers), "", ""},
		{"all-except granter, narrower exclusion", custom(except("t1", "t2"), ManageUsers), custom(except("t1"), ManageUsers), ManageUsers, FieldTenantAccess},
		{"all-except granter, other exclusion", custom(except("t1"), ManageUsers), custom(except("t2"), ManageUsers), ManageUsers, FieldTenantAccess},
		{"all-except granter, disjoint selection", custom(except("t1"), ManageUsers), custom(sel("t2", "t3"), ManageUsers), "", ""},
		{"all-except granter, selection hits exclusion", custom(except("t1"), ManageUsers), custom(sel("t2", "t1"), ManageUsers), ManageUsers, FieldTenantAccess},
		{"all-except granter cannot grant all", custom(except("t1"), ManageUsers), custom(all, ManageUsers), ManageUsers, FieldTenantAccess},
		{"all-except granter cannot grant technician with all", Member{Role: Technician, Scope: except("t1")}, Member{Role: Technician}, ViewData, FieldTenantAccess},
		{"all-except technician grants technician inside", Member{Role: Technician, Scope: except("t1")}, Member{Role: Technician, Scope: sel("t2")}, "", ""},
		{"unknown granter mode fails closed", custom(Scope{Mode: "some"}, ManageUsers), custom(sel(), ManageUsers), ManageUsers, FieldTenantAccess},
		{"unknown grantee mode fails closed", custom(all, ManageUsers), custom(Scope{Mode: "some"}, ManageUsers), ManageUsers, FieldTenantAccess},
		{"unknown grantee mode under limited granter", custom(sel("t1"), ManageUsers), custom(Scope{Mode: "some", TenantIDs: []string{"t1"}}, ManageUsers), ManageUsers, FieldTenantAccess},
		{"approval grants approval", custom(sel("t1"), OrderLicenses), custom(sel("t1"), OrderLicenses), "", ""},
		{"technician grants custom ordering in scope", Member{Role: Technician, Scope: sel("t1")}, custom(sel("t1"), OrderLicenses), "", ""},
		{"approval outside scope", custom(sel("t1"), OrderLicenses), custom(sel("t2"), OrderLicenses), OrderLicenses, FieldTenantAccess},
		{"unknown grantee role holds nothing", Member{Role: ReadOnly}, Member{Role: "Viewer"}, "", ""},
		{"owner-only picks are not held, so not granted", Member{Role: ReadOnly}, custom(all, DeleteOrganization), "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CanGrant(tc.granter, tc.grantee)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("CanGrant = %v, want nil", err)
				}
				return
			}
			var ge *GrantError
			if !errors.As(err, &ge) {
				t.Fatalf("CanGrant = %v, want a *GrantError", err)
			}
			if ge.Field != tc.wantField || ge.Permission != tc.wantPerm {
				t.Errorf("CanGrant = field %q permission %q (%v), want field %q permission %q", ge.Field, ge.Permission, err, tc.wantField, tc.wantPerm)
			}
			if ge.Reason == "" {
				t.Error("empty reason")
			}
		})
	}
}

// TestOrderLicensesRank checks the order-licenses row alone, where the built-in roles
// differ by approval against outright: a request that needs approval must not become
// an outright grant.
func TestOrderLicensesRank(t *testing.T) {
	cases := []struct {
		name       string
		granter    Member
		grantee    Member
		wantReason string // "" means allowed
	}{
		{"technician cannot grant outright ordering", Member{Role: Technician}, Member{Role: Administrator}, "you may only request it, for an Administrator to approve"},
		{"approval custom cannot grant outright ordering", custom(Scope{}, OrderLicenses), Member{Role: Owner}, "you may only request it, for an Administrator to approve"},
		{"read-only cannot grant a request", Member{Role: ReadOnly}, Member{Role: Technician}, "you do not hold it"},
		{"administrator grants a request", Member{Role: Administrator}, Member{Role: Technician}, ""},
		{"technician grants a request", Member{Role: Technician}, custom(Scope{}, OrderLicenses), ""},
		{"custom without ordering grants none", custom(Scope{}), Member{Role: ReadOnly}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ge := exceeds(tc.granter, tc.grantee, OrderLicenses)
			switch {
			case tc.wantReason == "" && ge != nil:
				t.Fatalf("exceeds = %v, want nil", ge)
			case tc.wantReason != "" && ge == nil:
				t.Fatalf("exceeds = nil, want %q", tc.wantReason)
			case ge != nil && ge.Reason != tc.wantReason:
				t.Errorf("reason = %q, want %q", ge.Reason, tc.wantReason)
			}
		})
	}
	if !(rank(Denied) < rank(ScopedApproval) && rank(ScopedApproval) < rank(Scoped) && rank(Scoped) < rank(Allowed)) {
		t.Error("grants are not ranked Denied < ScopedApproval < Scoped < Allowed")
	}
}

func TestGrantErrorMessage(t *testing.T) {
	err := CanGrant(custom(Scope{}, ManageUsers), custom(Scope{}, ManageBilling))
	if got, want := err.Error(), `you cannot grant "manage-billing": you do not hold it`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = CanGrant(Member{Role: Administrator}, Member{Role: Owner})
	if got, want := err.Error(), "you cannot grant this role: the Owner role is transferred, not granted"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = CanGrant(custom(sel("t1"), ManageUsers), custom(sel("t2"), ManageUsers))
	if got, want := err.Error(), `you cannot grant "manage-users": the tenant access reaches beyond your tenant scope`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestCanGrantSelf checks that anyone but the Owner may grant exactly what they hold:
// the rule is "not more than you hold", never "less than you hold".
func TestCanGrantSelf(t *testing.T) {
	scopes := []Scope{{}, {Mode: ScopeAll}, sel("t1"), sel(), except("t1", "t2")}
	for _, r := range Roles() {
		for _, s := range scopes {
			m := Member{Role: r, Scope: s, Permissions: []Permission{ViewData, ManageUsers, OrderLicenses}}
			err := CanGrant(m, m)
			if r == Owner {
				if err == nil {
					t.Errorf("Owner granted the Owner role")
				}
				continue
			}
			if err != nil {
				t.Errorf("%s with scope %+v cannot grant itself: %v", r, s, err)
			}
		}
	}
}
