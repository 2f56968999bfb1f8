package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
		{"20 concurrent connection creates at limit − 1: exactly one succeeds; a delete releases one", testConnectionLimitRace},
		{"an organization written before plans is limited by the default plan", testLegacyOrgLimited},
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

// raceAtLimit runs 20 concurrent creates, each on its own store as separate Lambda
// processes are, at one below metric's limit: exactly one succeeds and the others get
// plan-limit naming the metric and the usage at the limit.
func raceAtLimit(t *testing.T, st *store.Store, m domain.Metric, limit int64, create func(st *store.Store, i int) error) {
	t.Helper()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- create(store.New(st.Client(), st.TableName()), i) })
	}
	wg.Wait()
	close(errs)
	ok, refused := 0, 0
	for err := range errs {
		switch pe := planLimit(err); {
		case err == nil:
			ok++
		case pe != nil:
			refused++
			if pe.Extra["limit"] != string(m) || pe.Extra["used"] != limit || pe.Extra["max"] != limit {
				t.Errorf("plan-limit names %v", pe.Extra)
			}
		default:
			t.Errorf("create: %v", err)
		}
	}
	if ok != 1 || refused != n-1 {
		t.Fatalf("%d created, %d refused; want 1 and %d", ok, refused, n-1)
	}
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
	raceAtLimit(t, st, domain.MetricManagedTenants, limit, func(st *store.Store, i int) error {
		return st.CreateTenant(ctx, org, tenantFor(100+i), audit.Event{Category: audit.Tenant, Action: "tenant.create"})
	})
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

func psaConnection(i int) domain.Connection {
	now := time.Now().UTC()
	return domain.Connection{ID: domain.NewID(), Type: domain.ConnectionConnectWise, Label: fmt.Sprintf("PSA %d", i),
		Status: domain.ConnectionUntested, CreatedAt: now, UpdatedAt: now, RotatedAt: now}
}

func testConnectionLimitRace(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := "org-conn-race"
	freeOrg(t, st, org)
	limit := domain.PlanOf(domain.PlanFree).Limits.Connections
	ev := audit.Event{Category: audit.Settings, Action: "connection.create"}
	var kept domain.Connection
	for i := range int(limit - 1) {
		kept = psaConnection(i)
		if err := st.CreateConnection(ctx, org, kept, ev); err != nil {
			t.Fatal(err)
		}
	}
	raceAtLimit(t, st, domain.MetricConnections, limit, func(st *store.Store, i int) error {
		return st.CreateConnection(ctx, org, psaConnection(100+i), ev)
	})
	if b, err := st.GetBill(ctx, org); err != nil || b.Used[domain.MetricConnections] != limit {
		t.Fatalf("bill = %+v, %v", b.Used, err)
	}
	// A delete releases one: the next create fits; a repeated delete releases nothing.
	del := audit.Event{Category: audit.Settings, Action: "connection.delete"}
	if err := st.DeleteConnection(ctx, org, kept, del); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteConnection(ctx, org, kept, del); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if b, err := st.GetBill(ctx, org); err != nil || b.Used[domain.MetricConnections] != limit-1 {
		t.Fatalf("bill after the delete = %+v, %v", b.Used, err)
	}
	if err := st.CreateConnection(ctx, org, psaConnection(999), ev); err != nil {
		t.Fatalf("create after the delete: %v", err)
	}
	// The downgrade check counts connections too.
	pro := domain.PlanOf(domain.PlanProfessional)
	if _, _, err := st.SetPlan(ctx, org, pro, audit.Event{Category: audit.Billing, Action: "billing.plan-change"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConnection(ctx, org, psaConnection(1000), ev); err != nil {
		t.Fatalf("create on professional: %v", err)
	}
	_, _, err := st.SetPlan(ctx, org, domain.PlanOf(domain.PlanFree), audit.Event{Category: audit.Billing, Action: "billing.plan-change"})
	pe := planLimit(err)
	over, _ := pe.Extra["over"].([]domain.Excess)
	if pe == nil || len(over) != 1 || over[0].Metric != domain.MetricConnections || over[0].Remove != 1 {
		t.Fatalf("downgrade with a connection too many: %v", err)
	}
}

// testLegacyOrgLimited: an organization item without plan or limit attributes (written
// before billing) is held to the default plan's limits by the create's own condition.
func testLegacyOrgLimited(t *testing.T, st *store.Store) {
	ctx := context.Background()
	org := "org-legacy"
	freeOrg(t, st, org)
	if _, err := st.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(st.TableName()),
		Key:                      map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "ORG"}},
		UpdateExpression:         aws.String("REMOVE #p, limitCustomers, limitManagedTenants, limitConnections, limitSubOrganizations"),
		ExpressionAttributeNames: map[string]string{"#p": "plan"}}); err != nil {
		t.Fatal(err)
	}
	free := domain.PlanOf(domain.DefaultPlan).Limits
	ev := audit.Event{Category: audit.Tenant, Action: "tenant.create"}
	for i := range int(free.ManagedTenants) {
		if err := st.CreateTenant(ctx, org, tenantFor(i), ev); err != nil {
			t.Fatal(err)
		}
	}
	pe := planLimit(st.CreateTenant(ctx, org, tenantFor(99), ev))
	if pe == nil || pe.Extra["plan"] != domain.DefaultPlan || pe.Extra["max"] != free.ManagedTenants {
		t.Fatalf("a tenant beyond the default plan's limit: %v", pe)
	}
	for i := range int(free.Connections) {
		if err := st.CreateConnection(ctx, org, psaConnection(i), audit.Event{Category: audit.Settings}); err != nil {
			t.Fatal(err)
		}
	}
	if pe := planLimit(st.CreateConnection(ctx, org, psaConnection(9), audit.Event{Category: audit.Settings})); pe == nil {
		t.Fatal("a connection beyond the default plan's limit was created")
	}
	// Setting the plan writes its limits; professional's are then the ones that hold.
	if _, changed, err := st.SetPlan(ctx, org, domain.PlanOf(domain.PlanProfessional), audit.Event{Category: audit.Billing}); err != nil || !changed {
		t.Fatalf("upgrade: %v %v", changed, err)
	}
	if err := st.CreateTenant(ctx, org, tenantFor(99), ev); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
}
