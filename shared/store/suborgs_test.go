package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func TestSubOrganizationContract(t *testing.T) {
	suite := []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"a sub-organization is listed under its parent only, searched by name prefix in any case", testSubOrgList},
		{"members and tenants move the sub-organization's usage and the parent's totals", testSubOrgUsage},
		{"an email that has a user makes that user the admin; a claimed email is refused", testSubOrgExistingUser},
		{"renaming a sub-organization moves it in the list, and keeps its counters", testSubOrgRename},
		{"another parent's sub-organization is not found", testSubOrgOtherParent},
	}
	for engine, open := range engines(t) {
		for _, tc := range suite {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { tc.run(t, open(t)) })
		}
	}
}

// mkSubOrg creates a sub-organization of parent named name whose default admin is a new
// user with email, and returns it.
func mkSubOrg(t *testing.T, st *store.Store, parent, name, email string) store.SubOrganization {
	t.Helper()
	sub := testenv.SubOrg(t, st, parent, "", name, domain.User{ID: domain.NewID(), Email: email, Name: "Ad Min"})
	got, err := st.GetSubOrganization(context.Background(), parent, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func names(subs []store.SubOrganization) []string {
	var out []string
	for _, s := range subs {
		out = append(out, s.Organization.Name)
	}
	return out
}

func testSubOrgList(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ensureOrg(t, st, "msp")
	ensureOrg(t, st, "msp-other")
	for _, n := range []string{"Contoso West", "contoso", "Fabrikam", "CONTOSO East"} {
		mkSubOrg(t, st, "msp", n, domain.NewID()+"@admin.example")
	}
	mkSubOrg(t, st, "msp-other", "Contoso Elsewhere", domain.NewID()+"@admin.example")
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"contoso", "CONTOSO East", "Contoso West", "Fabrikam"}},
		{"CONTOSO", []string{"contoso", "CONTOSO East", "Contoso West"}},
		{"contoso e", []string{"CONTOSO East"}},
		{"north", nil},
	}
	for _, tc := range tests {
		subs, _, err := st.ListSubOrganizations(ctx, "msp", tc.prefix, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(subs); !slices.Equal(got, tc.want) {
			t.Errorf("prefix %q: %v, want %v", tc.prefix, got, tc.want)
		}
	}
	// Paging: one at a time, a cursor of another parent's list is refused.
	var all []string
	cursor := ""
	for i := 0; i < 10; i++ {
		subs, next, err := st.ListSubOrganizations(ctx, "msp", "", store.Page{Limit: 1, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, names(subs)...)
		if cursor = next; cursor == "" {
			break
		}
		if _, _, err := st.ListSubOrganizations(ctx, "msp-other", "", store.Page{Limit: 1, Cursor: cursor}); err == nil {
			t.Fatalf("another parent's list accepted the cursor")
		}
	}
	if len(all) != 4 {
		t.Errorf("paged through %v", all)
	}
	totals, err := st.SubOrganizationTotals(ctx, "msp")
	if err != nil || totals.SubOrganizations != 4 || totals.MemberSeats != 4 {
		t.Errorf("totals %+v, %v", totals, err)
	}
}

func testSubOrgUsage(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ensureOrg(t, st, "msp-u")
	a := mkSubOrg(t, st, "msp-u", "Alpha", domain.NewID()+"@admin.example")
	b := mkSubOrg(t, st, "msp-u", "Beta", domain.NewID()+"@admin.example")
	t1 := mkTenant(t, st, a.Organization.ID, 30, domain.HealthHealthy)
	mkTenant(t, st, a.Organization.ID, 5, domain.HealthHealthy)
	mkTenant(t, st, b.Organization.ID, 7, domain.HealthHealthy)
	// A tenant's licenses change: the difference moves.
	cur, err := st.GetTenant(ctx, a.Organization.ID, t1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateTenantFrom(ctx, a.Organization.ID, cur, nil, func(x *domain.Tenant) (audit.Event, error) {
		x.Licenses = []domain.SKULicense{{SKU: "SPE_E3", Assigned: 20}, {SKU: "EMS", Assigned: 4}}
		return audit.Event{Category: audit.Tenant, Action: "test"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// A member joins Beta and leaves again; another stays.
	for _, email := range []string{"stays@beta.example", "leaves@beta.example"} {
		u := domain.User{ID: email[:5], Email: email}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := st.PutMember(ctx, domain.Membership{OrganizationID: b.Organization.ID, UserID: u.ID, Email: email,
			Role: permission.ReadOnly}, audit.Event{Category: audit.UserManagement, Action: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteMember(ctx, b.Organization.ID, "leave", audit.Event{Category: audit.UserManagement, Action: "test"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   string
		want domain.Usage
	}{
		{a.Organization.ID, domain.Usage{MemberSeats: 1, ManagedTenants: 2, AssignedLicenses: 24 + 5}},
		{b.Organization.ID, domain.Usage{MemberSeats: 2, ManagedTenants: 1, AssignedLicenses: 7}},
	}
	var sum domain.Usage
	for _, tc := range tests {
		got, err := st.GetSubOrganization(ctx, "msp-u", tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Usage != tc.want {
			t.Errorf("%s: usage %+v, want %+v", got.Organization.Name, got.Usage, tc.want)
		}
		sum = sum.Add(tc.want)
	}
	totals, err := st.SubOrganizationTotals(ctx, "msp-u")
	if err != nil {
		t.Fatal(err)
	}
	if want := (domain.SubOrganizationTotals{SubOrganizations: 2, Usage: sum}); totals != want {
		t.Errorf("totals %+v, want %+v", totals, want)
	}
	// The parent's own tenants are its own usage, not its sub-organizations'.
	mkTenant(t, st, "msp-u", 100, domain.HealthHealthy)
	if again, _ := st.SubOrganizationTotals(ctx, "msp-u"); again != totals {
		t.Errorf("the parent's own tenant moved its totals: %+v", again)
	}
}

func testSubOrgExistingUser(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ensureOrg(t, st, "msp-x")
	u := domain.User{ID: domain.NewID(), Email: "ops@msp.example", Name: "Ops"}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	create := func(userID string, newUser *domain.User) error {
		sub := domain.Organization{ID: domain.NewID(), Name: "Client", Plan: domain.PlanFree, ParentID: "msp-x", CreatedAt: now,
			Version: 1, Profile: domain.NewProfile("Client"), DefaultAdmin: &domain.DefaultAdmin{UserID: userID, Email: u.Email}}
		return st.CreateSubOrganization(ctx, store.SubOrganizationCreate{Organization: sub, NewUser: newUser,
			Admin: domain.Membership{OrganizationID: sub.ID, UserID: userID, Email: u.Email, Role: permission.Administrator,
				TenantScope: domain.AllTenantsScope(), JoinedAt: now, Version: 1},
			ParentEvent: audit.Event{Category: audit.Settings, Action: "test"}, Event: audit.Event{Category: audit.Settings, Action: "test"}})
	}
	tests := []struct {
		name    string
		userID  string
		newUser *domain.User
		want    error
	}{
		{"the user that holds the email", u.ID, nil, nil},
		{"another user than the one that holds it", "someone-else", nil, store.ErrEmailClaimed},
		{"a new user for an email that has one", "new-user", &domain.User{ID: "new-user", Email: u.Email}, store.ErrEmailClaimed},
	}
	for _, tc := range tests {
		if err := create(tc.userID, tc.newUser); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	members, _, _, err := st.ListMemberships(ctx, u.ID, store.Page{})
	if err != nil || len(members) != 1 || members[0].Role != permission.Administrator {
		t.Errorf("memberships of the existing user: %+v, %v", members, err)
	}
	if totals, _ := st.SubOrganizationTotals(ctx, "msp-x"); totals.SubOrganizations != 1 {
		t.Errorf("refused creations moved the totals: %+v", totals)
	}
}

func testSubOrgRename(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ensureOrg(t, st, "msp-r")
	s := mkSubOrg(t, st, "msp-r", "Old Name", domain.NewID()+"@admin.example")
	mkTenant(t, st, s.Organization.ID, 3, domain.HealthHealthy)
	if _, err := st.UpdateOrganization(ctx, s.Organization.ID, nil, func(o *domain.Organization) (audit.Event, error) {
		o.Name = "Zeta Renamed"
		return audit.Event{Category: audit.Settings, Action: "test"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for prefix, want := range map[string]int{"old": 0, "zeta": 1} {
		subs, _, err := st.ListSubOrganizations(ctx, "msp-r", prefix, store.Page{})
		if err != nil || len(subs) != want {
			t.Errorf("prefix %q: %v, %v", prefix, names(subs), err)
		}
	}
	got, _ := st.GetSubOrganization(ctx, "msp-r", s.Organization.ID)
	if got.Usage != (domain.Usage{MemberSeats: 1, ManagedTenants: 1, AssignedLicenses: 3}) || got.Organization.DefaultAdmin == nil {
		t.Errorf("after the rename: %+v", got)
	}
}

func testSubOrgOtherParent(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for _, id := range []string{"msp-p", "msp-p-2"} {
		ensureOrg(t, st, id)
	}
	s := mkSubOrg(t, st, "msp-p", "Mine", domain.NewID()+"@admin.example")
	for _, tc := range []struct{ parent, id string }{{"msp-p-2", s.Organization.ID}, {"msp-p", "msp-p-2"}, {"msp-p", "bad#id"}} {
		if _, err := st.GetSubOrganization(ctx, tc.parent, tc.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of %s: %v", tc.id, tc.parent, err)
		}
	}
	if subs, _, err := st.ListSubOrganizations(ctx, "msp-p-2", "", store.Page{}); err != nil || len(subs) != 0 {
		t.Errorf("the other parent lists %v (%v)", names(subs), err)
	}
	if _, _, err := st.ListSubOrganizations(ctx, "", "", store.Page{}); !errors.Is(err, store.ErrNoOrganization) {
		t.Errorf("no parent: %v", err)
	}
}
