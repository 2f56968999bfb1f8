package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func TestBillingContract(t *testing.T) {
	suite := []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"20 concurrent creates at limit − 1: exactly one succeeds, the rest get plan-limit", testLimitRace},
		{"a sub-organization counts against its parent's limits and rolls up to it", testSubOrgBill},
		{"a downgrade below usage is refused with what to remove; an upgrade lifts the limit", testDowngrade},
		{"2,000 API calls over 20 goroutines are counted exactly, per organization", testAPICallCount},
	}
	for engine, open := range engines(t) {
		for _, tc := range suite {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { tc.run(t, open(t)) })
		}
	}
}

// freeOrg signs up an organization on the free plan.
func freeOrg(t *testing.T, st *store.Store, id string) {
	t.Helper()
	signUp(t, st, "sub-"+id, id+"@example.com", id)
}

func tenantFor(i int) domain.Tenant {
	id := domain.NewID()
	return domain.Tenant{ID: id, EntraTenantID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), PrimaryDomain: id + ".onmicrosoft.com",
		DisplayName: "T " + id, LicensedUsers: 10, Health: "healthy"}
}

func planLimit(err error) *problem.Error {
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Code == "plan-limit" {
		return pe
	}
	return nil
}

func testLimitRace(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := "org-race"
	freeOrg(t, st, org)
	limit := domain.PlanOf(domain.PlanFree).Limits.ManagedTenants
	for i := range int(limit - 1) {
		if err := st.CreateTenant(ctx, org, tenantFor(i), audit.Event{Category: audit.Tenant, Action: "tenant.create"}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			// Each its own store, as separate Lambda processes are.
			st := store.New(st.Client(), st.TableName())
			errs <- st.CreateTenant(ctx, org, tenantFor(100+i), audit.Event{Category: audit.Tenant, Action: "tenant.create"})
		})
	}
	wg.Wait()
	close(errs)
	ok, refused := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case planLimit(err) != nil:
			refused++
			if pe := planLimit(err); pe.Extra["limit"] != string(domain.MetricManagedTenants) || pe.Extra["used"] != limit {
				t.Errorf("plan-limit names %v", pe.Extra)
			}
		default:
			t.Errorf("create: %v", err)
		}
	}
	if ok != 1 || refused != n-1 {
		t.Fatalf("%d created, %d refused; want 1 and %d", ok, refused, n-1)
	}
	b, err := st.GetBill(ctx, org)
	if err != nil || b.Used[domain.MetricManagedTenants] != limit || b.ManagedUsers != 10*limit {
		t.Fatalf("bill = %+v, %v", b.Used, err)
	}
}

func testSubOrgBill(t *testing.T, st *store.Store) {
	ctx := context.Background()
	parent := "org-msp-bill"
	freeOrg(t, st, parent)
	limits := domain.PlanOf(domain.PlanFree).Limits
	var subs []string
	for i := range int(limits.SubOrganizations) + 1 {
		sub := fmt.Sprintf("%s-sub%d", parent, i)
		err := createSub(ctx, st, parent, sub)
		if int64(i) == limits.SubOrganizations {
			if planLimit(err) == nil {
				t.Fatalf("sub-organization beyond the limit: %v", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	// Tenants of the parent and of its sub-organizations share the parent's limit.
	for i := range int(limits.ManagedTenants) {
		org := subs[i%len(subs)]
		if i == 0 {
			org = parent
		}
		if err := st.CreateTenant(ctx, org, tenantFor(i), audit.Event{Category: audit.Tenant, Action: "tenant.create"}); err != nil {
			t.Fatal(err)
		}
	}
	err := st.CreateTenant(ctx, subs[0], tenantFor(99), audit.Event{Category: audit.Tenant, Action: "tenant.create"})
	if planLimit(err) == nil {
		t.Fatalf("a sub-organization's tenant beyond its parent's limit: %v", err)
	}
	b, err := st.GetBill(ctx, subs[0])
	if err != nil || b.OrganizationID != parent || b.Used[domain.MetricManagedTenants] != limits.ManagedTenants ||
		b.Used[domain.MetricSubOrganizations] != limits.SubOrganizations {
		t.Fatalf("bill of the sub-organization = %s %+v, %v", b.OrganizationID, b.Used, err)
	}
	// The sub-organization's plan is its parent's.
	if _, _, err := st.SetPlan(ctx, parent, domain.PlanOf(domain.PlanProfessional), audit.Event{Category: audit.Billing, Action: "billing.plan-change"}); err != nil {
		t.Fatal(err)
	}
	sub, err := st.GetOrganization(ctx, subs[0])
	if err != nil {
		t.Fatal(err)
	}
	if plan, err := st.PlanOf(ctx, sub); err != nil || plan != domain.PlanProfessional {
		t.Fatalf("plan of the sub-organization = %q, %v", plan, err)
	}
	if err := st.CreateTenant(ctx, subs[0], tenantFor(99), audit.Event{Category: audit.Tenant, Action: "tenant.create"}); err != nil {
		t.Fatalf("after the parent's upgrade: %v", err)
	}
	if _, _, err := st.SetPlan(ctx, subs[0], domain.PlanOf(domain.PlanFree), audit.Event{Category: audit.Billing}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a sub-organization's own plan change: %v", err)
	}
}

func createSub(ctx context.Context, st *store.Store, parent, id string) error {
	admin := domain.User{ID: domain.NewID(), Email: id + "@admin.example", Name: "Admin"}
	return st.CreateSubOrganization(ctx, store.SubOrganizationCreate{
		Organization: domain.Organization{ID: id, Name: "Client " + id, ParentID: parent, Profile: domain.NewProfile(id), CreatedAt: time.Now().UTC()},
		Admin:        domain.Membership{OrganizationID: id, UserID: admin.ID, Email: admin.Email, Role: "Administrator", TenantScope: domain.AllTenantsScope()},
		NewUser:      &admin, ParentEvent: audit.Event{Category: audit.Support, Action: "sub-organization.create"},
		Event: audit.Event{Category: audit.Settings, Action: "organization.create"},
	})
}

func testDowngrade(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := "org-down"
	freeOrg(t, st, org)
	ev := audit.Event{Category: audit.Billing, Action: "billing.plan-change"}
	if _, changed, err := st.SetPlan(ctx, org, domain.PlanOf(domain.PlanProfessional), ev); err != nil || !changed {
		t.Fatalf("upgrade: %v %v", changed, err)
	}
	free := domain.PlanOf(domain.PlanFree).Limits
	for i := range int(free.ManagedTenants) + 2 {
		if err := st.CreateTenant(ctx, org, tenantFor(i), audit.Event{Category: audit.Tenant, Action: "tenant.create"}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := st.SetPlan(ctx, org, domain.PlanOf(domain.PlanFree), ev)
	pe := planLimit(err)
	if pe == nil {
		t.Fatalf("downgrade below usage: %v", err)
	}
	over, _ := pe.Extra["over"].([]domain.Excess)
	if len(over) != 1 || over[0].Metric != domain.MetricManagedTenants || over[0].Remove != 2 {
		t.Fatalf("over = %+v", pe.Extra["over"])
	}
	if b, _ := st.GetBill(ctx, org); b.Plan != domain.PlanProfessional {
		t.Fatalf("plan after a refused downgrade = %s", b.Plan)
	}
}

func testAPICallCount(t *testing.T, st *store.Store) {
	ctx := context.Background()
	parent := "org-calls"
	freeOrg(t, st, parent)
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	const workers, each = 20, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			org := parent
			if w%4 == 0 {
				org = "org-calls-sub" // counted on the parent's bill, under its own name
			}
			for range each {
				if _, err := st.CountAPICall(ctx, parent, org, at); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	months, err := st.APICalls(ctx, parent, domain.MonthKey(at), domain.MonthKey(at.AddDate(0, -1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if months[0].Total != workers*each || months[0].ByOrg["org-calls-sub"] != 5*each || months[0].ByOrg[parent] != 15*each || months[1].Total != 0 {
		t.Fatalf("calls = %+v", months)
	}
	if ok, err := st.MarkAPICallsExhausted(ctx, parent, domain.MonthKey(at), domain.PlanFree); err != nil || !ok {
		t.Fatalf("mark: %v %v", ok, err)
	}
	if ok, err := st.MarkAPICallsExhausted(ctx, parent, domain.MonthKey(at), domain.PlanFree); err != nil || ok {
		t.Fatalf("second mark: %v %v", ok, err)
	}
}
