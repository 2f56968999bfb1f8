package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// engines runs the one store suite on the embedded engine and, when `make test` has
// started it, on DynamoDB Local.
func engines(t *testing.T) map[string]func(t *testing.T) *store.Store {
	out := map[string]func(t *testing.T) *store.Store{
		"embedded": func(t *testing.T) *store.Store {
			return testenv.NewTable(t, testenv.DynamoDBAt(t, testenv.EmbeddedEndpoint()))
		},
	}
	if ep := os.Getenv(awsconfig.EnvDynamoDBEndpoint); ep != "" {
		out["dynamodb-local"] = func(t *testing.T) *store.Store { return testenv.NewTable(t, testenv.DynamoDBAt(t, ep)) }
	}
	return out
}

func TestStoreContract(t *testing.T) {
	suite := []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"sign-up creates user, default organization, owner membership and audit event", testSignUp},
		{"a second identity with the same email maps to the same user", testSecondIdentity},
		{"concurrent first sign-ins of one identity make one user", testConcurrentSignUp},
		{"organization ids that prefix each other stay isolated", testPrefixIsolation},
		{"update is conditioned on version and audited in the same transaction", testUpdateVersion},
		{"memberships page with a cursor that refuses other partitions", testMembershipPaging},
		{"audit log pages newest first", testAuditPaging},
		{"organization calls refuse an empty organization id", testNoOrganization},
		{"session activity is written at most once per interval", testTouchSession},
		{"idempotency records replay within the window and expire on read", testIdempotency},
		{"every membership write advances the member epoch, and organization edits keep it", testMemberEpoch},
		{"a session's sign-in is recorded once in each organization of the user", testSignInOnce},
		{"an authentication is recorded in every organization of the user", testRecordAuthentication},
	}
	for engine, open := range engines(t) {
		for _, tc := range suite {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { tc.run(t, open(t)) })
		}
	}
}

// newOrg is on the professional plan, so that the contract tests' fixtures do not run
// into the free plan's limits; billing_test.go tests the limits.
func newOrg(id, name string) domain.Organization {
	return domain.Organization{ID: id, Name: name, Plan: domain.PlanProfessional, Profile: domain.NewProfile(name)}
}

func signUp(t *testing.T, st *store.Store, sub, email, orgID string) domain.User {
	t.Helper()
	org := newOrg(orgID, "Org "+orgID)
	org.Plan = domain.PlanFree // a first sign-in's organization starts on the free plan
	u, err := st.SignUp(context.Background(), store.SignUpInput{Subject: sub, Email: email, Name: "N", DefaultOrganization: org})
	if err != nil {
		t.Fatalf("sign up %s: %v", email, err)
	}
	return u
}

func testSignUp(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := signUp(t, st, "sub-1", "Ann@Example.com", "org-a")
	if u.Email != "ann@example.com" || u.ActiveOrganizationID != "org-a" {
		t.Fatalf("user = %+v", u)
	}
	id, err := st.LookupIdentity(ctx, "sub-1")
	if err != nil || id != u.ID {
		t.Fatalf("lookup = %q, %v", id, err)
	}
	// Both authorization reads read the same items; only the transaction's is a
	// snapshot the membership may be cached from.
	for _, read := range []struct {
		name     string
		read     func(context.Context, string, string, string) (store.Access, error)
		snapshot bool
	}{{"ResolveAccess", st.ResolveAccess, true}, {"ReadAccess", st.ReadAccess, false}} {
		a, err := read.read(ctx, u.ID, "org-a", "s1")
		if err != nil {
			t.Fatalf("%s: %v", read.name, err)
		}
		if a.Org == nil || a.Member == nil || a.Member.Role != permission.Owner || a.Org.OwnerUserID != u.ID || a.Org.Plan != domain.PlanFree ||
			a.MemberEpoch == 0 || a.Snapshot != read.snapshot {
			t.Fatalf("%s: access = %+v", read.name, a)
		}
		if !a.Org.Profile.Authentication.RequireMFA || a.Org.Profile.Authentication.SessionTimeoutMinutes != 480 {
			t.Fatalf("%s: new organization auth settings = %+v", read.name, a.Org.Profile.Authentication)
		}
	}
	events, _, err := st.ListAudit(ctx, "org-a", store.Page{})
	if err != nil || len(events) != 1 || events[0].Action != "organization.create" || events[0].Actor.UserID != u.ID {
		t.Fatalf("audit = %+v, %v", events, err)
	}
}

func testSecondIdentity(t *testing.T, st *store.Store) {
	first := signUp(t, st, "native-sub", "bo@example.com", "org-b")
	second, err := st.SignUp(context.Background(), store.SignUpInput{Subject: "entra-sub", Email: "BO@example.com", DefaultOrganization: newOrg("org-unused", "x")})
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID {
		t.Fatalf("second identity made user %s, want %s", second.ID, first.ID)
	}
	if _, err := st.GetOrganization(context.Background(), "org-unused"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a default organization was created for a known email: %v", err)
	}
}

func testConcurrentSignUp(t *testing.T, st *store.Store) {
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, results[i] = st.SignUp(context.Background(), store.SignUpInput{Subject: "race", Email: "race@example.com",
				DefaultOrganization: newOrg(fmt.Sprintf("race-%d", i), "r")})
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrIdentityTaken):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d sign-ups succeeded, want 1", wins)
	}
}

func testPrefixIsolation(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := signUp(t, st, "sub-acme", "acme@example.com", "acme")
	other := signUp(t, st, "sub-corp", "corp@example.com", "acme-corp")
	for name, read := range map[string]func(context.Context, string, string, string) (store.Access, error){
		"ResolveAccess": st.ResolveAccess, "ReadAccess": st.ReadAccess} {
		if a, _ := read(ctx, other.ID, "acme", "s"); a.Member != nil {
			t.Fatalf("%s: acme-corp's owner is a member of acme", name)
		}
		if a, _ := read(ctx, u.ID, "acme-corp", "s"); a.Member != nil {
			t.Fatalf("%s: acme's owner is a member of acme-corp", name)
		}
	}
	for _, org := range []string{"acme", "acme-corp"} {
		events, _, err := st.ListAudit(ctx, org, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if ev.OrganizationID != org {
				t.Fatalf("audit of %s holds an event of %s", org, ev.OrganizationID)
			}
		}
		if len(events) != 1 {
			t.Fatalf("audit of %s has %d events, want 1", org, len(events))
		}
	}
}

func testUpdateVersion(t *testing.T, st *store.Store) {
	ctx := context.Background()
	signUp(t, st, "sub-v", "v@example.com", "org-v")
	rename := func(expected *int64, name string) (domain.Organization, error) {
		return st.UpdateOrganization(ctx, "org-v", expected, func(o *domain.Organization) (audit.Event, error) {
			o.Name = name
			return audit.Event{Category: audit.Settings, Action: "organization.rename", Summary: name}, nil
		})
	}
	one := int64(1)
	o, err := rename(&one, "Second")
	if err != nil || o.Version != 2 || o.Name != "Second" {
		t.Fatalf("rename = %+v, %v", o, err)
	}
	_, err = rename(&one, "Stale")
	if pe := problem.As(err); pe.Code != "stale-version" {
		t.Fatalf("stale rename err = %v", err)
	}
	if o, err = rename(nil, "Third"); err != nil || o.Version != 3 {
		t.Fatalf("rename without version = %+v, %v", o, err)
	}
	events, _, _ := st.ListAudit(ctx, "org-v", store.Page{})
	if len(events) != 3 {
		t.Fatalf("want create + 2 renames audited, got %d events", len(events))
	}
	if _, err := st.UpdateOrganization(ctx, "missing", nil, func(*domain.Organization) (audit.Event, error) { return audit.Event{}, nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing organization: %v", err)
	}
}

func testMembershipPaging(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := signUp(t, st, "sub-p", "p@example.com", "org-p0")
	for i := 1; i < 5; i++ {
		id := fmt.Sprintf("org-p%d", i)
		err := st.CreateOrganization(ctx, newOrg(id, id), domain.Membership{OrganizationID: id, UserID: u.ID, Role: permission.Owner},
			audit.Event{Category: audit.Settings, Action: "organization.create"})
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		ms, orgs, next, err := st.ListMemberships(ctx, u.ID, store.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) > 2 || len(orgs) != len(ms) {
			t.Fatalf("page of %d memberships, %d organizations", len(ms), len(orgs))
		}
		for _, m := range ms {
			seen[m.OrganizationID] = true
		}
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d organizations, want 5", len(seen))
	}
	other := signUp(t, st, "sub-q", "q@example.com", "org-q")
	_, _, next, _ := st.ListMemberships(ctx, u.ID, store.Page{Limit: 1})
	if _, _, _, err := st.ListMemberships(ctx, other.ID, store.Page{Cursor: next}); problem.As(err).Kind != problem.Invalid {
		t.Fatalf("another user's cursor: %v", err)
	}
	for _, bad := range []string{"!!", "e30", "bm90LWpzb24"} {
		if _, _, _, err := st.ListMemberships(ctx, u.ID, store.Page{Cursor: bad}); problem.As(err).Kind != problem.Invalid {
			t.Fatalf("cursor %q: %v", bad, err)
		}
	}
}

func testAuditPaging(t *testing.T, st *store.Store) {
	ctx := context.Background()
	signUp(t, st, "sub-au", "au@example.com", "org-au")
	for i := 0; i < 4; i++ {
		_, err := st.UpdateOrganization(ctx, "org-au", nil, func(o *domain.Organization) (audit.Event, error) {
			o.Name = fmt.Sprint("n", i)
			return audit.Event{Category: audit.Settings, Action: "organization.rename", Summary: o.Name}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var all []audit.Event
	cursor := ""
	for {
		evs, next, err := st.ListAudit(ctx, "org-au", store.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 5 || all[0].Summary != "n3" || all[4].Action != "organization.create" {
		t.Fatalf("audit order: %+v", all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].At.After(all[i-1].At) {
			t.Fatal("audit log is not newest first")
		}
	}
}

func testNoOrganization(t *testing.T, st *store.Store) {
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["GetOrganization"] = st.GetOrganization(ctx, "")
	_, checks["ResolveAccess"] = st.ResolveAccess(ctx, "u", "", "s")
	_, checks["ReadAccess"] = st.ReadAccess(ctx, "u", "", "s")
	_, _, checks["ListAudit"] = st.ListAudit(ctx, "", store.Page{})
	checks["PutMember"] = st.PutMember(ctx, domain.Membership{UserID: "u"}, audit.Event{})
	checks["CreateOrganization"] = st.CreateOrganization(ctx, domain.Organization{}, domain.Membership{}, audit.Event{})
	for name, err := range checks {
		if !errors.Is(err, store.ErrNoOrganization) {
			t.Errorf("%s without organization: %v", name, err)
		}
	}
}

func testTouchSession(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := signUp(t, st, "sub-s", "s@example.com", "org-s")
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{t0, t0.Add(30 * time.Second)} {
		wrote, err := st.TouchSession(ctx, u.ID, "sess", at, time.Minute)
		if err != nil || wrote != at.Equal(t0) {
			t.Fatalf("touch at %v: wrote %v, %v", at, wrote, err)
		}
	}
	a, _ := st.ResolveAccess(ctx, u.ID, "org-s", "sess")
	if !a.LastSeen().Equal(t0) {
		t.Fatalf("last seen %v, want %v (the write 30s later must be skipped)", a.LastSeen(), t0)
	}
	_, _ = st.TouchSession(ctx, u.ID, "sess", t0.Add(2*time.Minute), time.Minute)
	a, _ = st.ResolveAccess(ctx, u.ID, "org-s", "sess")
	if !a.LastSeen().Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("last seen %v after 2 minutes", a.LastSeen())
	}
	if a, _ = st.ReadAccess(ctx, u.ID, "org-s", "sess"); !a.LastSeen().Equal(t0.Add(2 * time.Minute)) {
		t.Fatalf("last seen %v after 2 minutes, read without the snapshot", a.LastSeen())
	}
}

func testIdempotency(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	clock := &now
	st = st.WithClock(func() time.Time { return *clock })
	if _, err := st.GetIdempotent(ctx, "u", "POST /x", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	if err := st.PutIdempotent(ctx, "u", "POST /x", "k", store.IdempotentResult{Fingerprint: "f", Status: 201, Body: "{}"}); err != nil {
		t.Fatal(err)
	}
	_ = st.PutIdempotent(ctx, "u", "POST /x", "k", store.IdempotentResult{Fingerprint: "g", Status: 500})
	r, err := st.GetIdempotent(ctx, "u", "POST /x", "k")
	if err != nil || r.Fingerprint != "f" || r.Status != 201 {
		t.Fatalf("replay = %+v, %v", r, err)
	}
	later := now.Add(store.IdempotencyWindow + time.Second)
	clock = &later
	if _, err := st.GetIdempotent(ctx, "u", "POST /x", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after 24h: %v", err)
	}
}

func testMemberEpoch(t *testing.T, st *store.Store) {
	ctx := context.Background()
	u := signUp(t, st, "sub-e", "e@example.com", "org-e")
	epoch := func() int64 {
		t.Helper()
		a, err := st.OrganizationEpoch(ctx, "org-e")
		if err != nil || a.Org == nil {
			t.Fatalf("organization epoch: %+v, %v", a, err)
		}
		return a.MemberEpoch
	}
	if e := epoch(); e != 1 {
		t.Fatalf("new organization epoch %d, want 1", e)
	}
	a, err := st.ResolveAccess(ctx, u.ID, "org-e", "")
	if err != nil || !a.Snapshot || a.MemberEpoch != 1 || a.Member == nil || a.Member.Role != permission.Owner {
		t.Fatalf("snapshot = %+v, %v", a, err)
	}
	ev := audit.Event{Category: audit.UserManagement, Action: "member.add"}
	m := domain.Membership{OrganizationID: "org-e", UserID: "tech", Role: permission.Technician}
	if err := st.PutMember(ctx, m, ev); err != nil {
		t.Fatal(err)
	}
	if e := epoch(); e != 2 {
		t.Fatalf("after adding a member: epoch %d, want 2", e)
	}
	// An edit of the organization itself must not write back an epoch it read earlier.
	org := *a.Org
	org.OwnerUserID = ""
	if _, err := st.UpdateOrganizationFrom(ctx, org, nil, func(o *domain.Organization) (audit.Event, error) {
		o.Name = "Renamed"
		return audit.Event{Category: audit.Settings, Action: "organization.rename"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetOrganization(ctx, "org-e")
	if err != nil || got.Name != "Renamed" || got.OwnerUserID != "" || got.Version != org.Version+1 {
		t.Fatalf("after rename: %+v, %v", got, err)
	}
	if e := epoch(); e != 2 {
		t.Fatalf("after rename: epoch %d, want 2", e)
	}
	if err := st.DeleteMember(ctx, "org-e", "tech", ev); err != nil {
		t.Fatal(err)
	}
	if e := epoch(); e != 3 {
		t.Fatalf("after removing a member: epoch %d, want 3", e)
	}
	if err := st.PutMember(ctx, domain.Membership{OrganizationID: "no-such-org", UserID: "x", Role: permission.ReadOnly}, ev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("member of a missing organization: %v", err)
	}
}
