package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func TestApprovalContract(t *testing.T) {
	suite := []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"lists are newest first, by status, expired before the schedule stores it", testApprovalLists},
		{"a decision is written once; the index keeps answering after it", testApprovalDecision},
		{"a rider commits with the change it rides on, or not at all", testApprovalRider},
		{"the schedule expires what is due, once", testApprovalExpiry},
	}
	for engine, open := range engines(t) {
		for _, tc := range suite {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { tc.run(t, open(t)) })
		}
	}
}

// mkApproval writes a pending approval of orgID requested at, of action.
func mkApproval(t *testing.T, st *store.Store, orgID string, action domain.ApprovalAction, at time.Time) domain.Approval {
	t.Helper()
	a := domain.Approval{ID: domain.NewApprovalID(at), OrganizationID: orgID, Action: action, Status: domain.ApprovalPending,
		Summary: string(action), RequestedBy: domain.Inviter{UserID: "requester", Email: "requester@example.com"},
		RequestedAt: at, ExpiresAt: at.Add(domain.ApprovalTTL)}
	if action == domain.ActionLicenseOrder {
		a.Order = &domain.LicenseOrder{TenantID: "t1", TenantName: "T", SKU: "SPE_E3", Quantity: 1}
	} else {
		a.Request = &domain.HeldAction{CustomerID: "c1"}
	}
	saved, err := st.CreateApproval(context.Background(), a, audit.Event{Category: audit.Approval, Action: "approval.request"})
	if err != nil {
		t.Fatal(err)
	}
	return saved
}

func ids(as []domain.Approval) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func testApprovalLists(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	org, other := domain.NewID(), domain.NewID()
	old := mkApproval(t, st, org, domain.ActionLicenseOrder, now.Add(-8*24*time.Hour)) // past its expiry
	mid := mkApproval(t, st, org, domain.ActionLicenseOrder, now.Add(-time.Hour))
	rejected := mkApproval(t, st, org, domain.ActionLicenseOrder, now.Add(-time.Minute))
	if _, err := st.DecideApproval(ctx, rejected.Decide(domain.ApprovalRejected, domain.Inviter{UserID: "d"}, "no", now), rejected,
		audit.Event{Category: audit.LicenseOrder, Action: "license-order.reject"}); err != nil {
		t.Fatal(err)
	}
	held := mkApproval(t, st, org, domain.ActionDeleteCustomer, now)
	mkApproval(t, st, other, domain.ActionLicenseOrder, now)
	tests := []struct {
		q      store.Queue
		status string
		want   []string
	}{
		{store.LicenseOrders, "", []string{rejected.ID, mid.ID, old.ID}},
		{store.LicenseOrders, domain.ApprovalPending, []string{mid.ID}},
		{store.LicenseOrders, domain.ApprovalExpired, []string{old.ID}},
		{store.LicenseOrders, domain.ApprovalRejected, []string{rejected.ID}},
		{store.LicenseOrders, domain.ApprovalApproved, []string{}},
		{store.HeldActions, "", []string{held.ID}},
		{store.HeldActions, domain.ApprovalPending, []string{held.ID}},
	}
	for _, tt := range tests {
		got, _, err := st.ListApprovals(ctx, org, tt.q, tt.status, now, store.Page{})
		if err != nil || !slices.Equal(ids(got), tt.want) {
			t.Errorf("%s %q: %v (%v), want %v", tt.q, tt.status, ids(got), err, tt.want)
		}
	}
	// One at a time, and a cursor of another organization's list is refused.
	page, next, err := st.ListApprovals(ctx, org, store.LicenseOrders, "", now, store.Page{Limit: 1})
	if err != nil || len(page) != 1 || next == "" {
		t.Fatalf("first page %v %q %v", ids(page), next, err)
	}
	if _, _, err := st.ListApprovals(ctx, other, store.LicenseOrders, "", now, store.Page{Cursor: next}); problem.As(err).Kind != problem.Invalid {
		t.Errorf("another organization's cursor: %v", err)
	}
	if _, err := st.GetApproval(ctx, other, store.LicenseOrders, mid.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another organization's order: %v", err)
	}
	if _, err := st.GetApproval(ctx, org, store.HeldActions, mid.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an order read as a held action: %v", err)
	}
}

func testApprovalDecision(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	org := domain.NewID()
	a := mkApproval(t, st, org, domain.ActionRemoveMember, now)
	approved := a.Decide(domain.ApprovalApproved, domain.Inviter{UserID: "d"}, "", now)
	if _, err := st.DecideApproval(ctx, approved, a, audit.Event{Category: audit.Approval, Action: "approval.approve"}); err != nil {
		t.Fatal(err)
	}
	// A second decision over the same read loses.
	rejected := a.Decide(domain.ApprovalRejected, domain.Inviter{UserID: "e"}, "late", now)
	_, err := st.DecideApproval(ctx, rejected, a, audit.Event{Category: audit.Approval, Action: "approval.reject"})
	if problem.As(err).Code != "approval-not-pending" {
		t.Errorf("second decision: %v", err)
	}
	got, err := st.GetApproval(ctx, org, store.HeldActions, a.ID)
	if err != nil || got.Status != domain.ApprovalApproved || got.Version != 2 || got.DecidedBy.UserID != "d" {
		t.Errorf("stored %+v (%v)", got, err)
	}
	// The index still answers (a Put that dropped the item's GSI1 keys broke it).
	if _, _, _, err := st.ListMemberships(ctx, "someone", store.Page{}); err != nil {
		t.Errorf("GSI1 after a decision: %v", err)
	}
	if due, _, err := st.SystemDueApprovals(ctx, now.Add(domain.ApprovalTTL+time.Hour), store.Page{}); err != nil || slices.Contains(ids(due), a.ID) {
		t.Errorf("a decided approval is due: %v (%v)", ids(due), err)
	}
}

func testApprovalRider(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	org := newOrg(domain.NewID(), "Rider")
	owner := domain.User{ID: domain.NewID(), Email: "owner-" + org.ID + "@example.com", Name: "Owner"}
	if err := st.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateOrganization(ctx, org, domain.Membership{OrganizationID: org.ID, UserID: owner.ID, Role: permission.Owner},
		audit.Event{Category: audit.Settings, Action: "test"}); err != nil {
		t.Fatal(err)
	}
	a := mkApproval(t, st, org.ID, domain.ActionChangeAuthSettings, now)
	next := a.Decide(domain.ApprovalApproved, domain.Inviter{UserID: "d"}, "", now)
	change := func(o *domain.Organization) (audit.Event, error) {
		o.Profile.Authentication.SessionTimeoutMinutes = 60
		return audit.Event{Category: audit.Settings, Action: "authentication.update"}, nil
	}
	// The change fails its own condition: the decision is not written either.
	stale := int64(99)
	r, err := st.DecisionRider(next, &a, &audit.Event{Category: audit.Approval, Action: "approval.approve"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateOrganization(store.WithRider(ctx, r), org.ID, &stale, change); problem.As(err).Code != "stale-version" || r.Committed() {
		t.Fatalf("stale change: %v, rider committed %v", err, r.Committed())
	}
	if got, _ := st.GetApproval(ctx, org.ID, store.HeldActions, a.ID); got.Status != domain.ApprovalPending {
		t.Fatalf("the decision was written without its change: %s", got.Status)
	}
	// Then both commit together.
	if _, err := st.UpdateOrganization(store.WithRider(ctx, r), org.ID, nil, change); err != nil || !r.Committed() {
		t.Fatalf("change: %v, rider committed %v", err, r.Committed())
	}
	got, _ := st.GetApproval(ctx, org.ID, store.HeldActions, a.ID)
	o, _ := st.GetOrganization(ctx, org.ID)
	if got.Status != domain.ApprovalApproved || o.Profile.Authentication.SessionTimeoutMinutes != 60 {
		t.Errorf("after commit: approval %s, timeout %d", got.Status, o.Profile.Authentication.SessionTimeoutMinutes)
	}
	// A rider over a decided approval fails the change with it.
	r2, err := st.DecisionRider(next, &a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateOrganization(store.WithRider(ctx, r2), org.ID, nil, change); problem.As(err).Code != "approval-not-pending" {
		t.Errorf("a rider over a decided approval: %v", err)
	}
}

func testApprovalExpiry(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	org := domain.NewID()
	due := mkApproval(t, st, org, domain.ActionLicenseOrder, now.Add(-domain.ApprovalTTL-time.Minute))
	fresh := mkApproval(t, st, org, domain.ActionLicenseOrder, now)
	list, _, err := st.SystemDueApprovals(ctx, now, store.Page{})
	if err != nil || !slices.Contains(ids(list), due.ID) || slices.Contains(ids(list), fresh.ID) {
		t.Fatalf("due %v (%v)", ids(list), err)
	}
	ev := func(domain.Approval) audit.Event {
		return audit.Event{Category: audit.LicenseOrder, Action: "license-order.expire"}
	}
	for round, want := range []bool{true, false} {
		changed, err := st.ExpireApproval(ctx, due, now, ev)
		if err != nil || changed != want {
			t.Errorf("round %d: changed %v (%v), want %v", round, changed, err, want)
		}
	}
	if changed, err := st.ExpireApproval(ctx, fresh, now, ev); err != nil || changed {
		t.Errorf("a fresh approval expired: %v %v", changed, err)
	}
	got, _ := st.GetApproval(ctx, org, store.LicenseOrders, due.ID)
	if got.Status != domain.ApprovalExpired {
		t.Errorf("stored %s", got.Status)
	}
}
