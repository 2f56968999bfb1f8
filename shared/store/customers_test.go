package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func TestCustomerContract(t *testing.T) {
	suite := []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"customers list by name and created, search by prefix, archive hides", testCustomerList},
		{"association moves counters and health; unlinking moves them back", testAssociation},
		{"50 concurrent associations of one tenant: one winner, exact counters", testAssociationRace},
		{"a customer with tenants cannot be deleted", testDeleteWithTenants},
		{"external ids and PSA links are unique per organization", testCustomerKeys},
		{"Entra tenant ids are unique per organization", testEntraUnique},
		{"unlinking a customer's last tenant leaves no empty tenant set behind", testUnlinkLastTenant},
	}
	for engine, open := range engines(t) {
		for _, tc := range suite {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { tc.run(t, open(t)) })
		}
	}
}

var ev = audit.Event{Category: audit.Customer, Action: "test"}

func mkCustomer(t *testing.T, st *store.Store, org, name string, at time.Time) domain.Customer {
	t.Helper()
	ensureOrg(t, st, org)
	c := domain.Customer{ID: domain.NewID(), Name: name, CreatedAt: at, UpdatedAt: at}
	if err := st.CreateCustomer(context.Background(), org, c, ev); err != nil {
		t.Fatal(err)
	}
	return c
}

// ensureOrg creates organization id, with an owner, unless it exists: a tenant moves
// its organization's usage counters, so it needs one.
func ensureOrg(t *testing.T, st *store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.GetOrganization(ctx, id); err == nil {
		return
	}
	u := domain.User{ID: domain.NewID(), Email: domain.NewID() + "@owner.example", ActiveOrganizationID: id}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	owner := domain.Membership{OrganizationID: id, UserID: u.ID, Email: u.Email, Role: permission.Owner, TenantScope: domain.AllTenantsScope()}
	if err := st.CreateOrganization(ctx, newOrg(id, "Org "+id), owner, audit.Event{Category: audit.Settings, Action: "test"}); err != nil {
		t.Fatal(err)
	}
}

func mkTenant(t *testing.T, st *store.Store, org string, users int64, health string) domain.Tenant {
	t.Helper()
	ensureOrg(t, st, org)
	id := domain.NewID()
	tn := domain.Tenant{ID: id, EntraTenantID: fmt.Sprintf("%08x-0000-4000-8000-%012x", len(id), time.Now().UnixNano()%1e12),
		PrimaryDomain: id + ".onmicrosoft.com", DisplayName: "T " + id, LicensedUsers: users,
		Licenses: []domain.SKULicense{{SKU: "SPE_E3", Assigned: users}}, SecurityScore: 50, Health: health}
	if err := st.CreateTenant(context.Background(), org, tn, audit.Event{Category: audit.Tenant, Action: "test"}); err != nil {
		t.Fatal(err)
	}
	return tn
}

func testCustomerList(t *testing.T, st *store.Store) {
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, n := range []string{"Contoso", "adatum", "Fabrikam", "contoso west", "Northwind"} {
		mkCustomer(t, st, "org-c", n, base.Add(time.Duration(i)*time.Hour))
	}
	mkCustomer(t, st, "org-other", "Contoso elsewhere", base)
	names := func(cs []domain.Customer) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	byName, _, err := st.ListCustomers(ctx, "org-c", store.CustomerQuery{})
	if err != nil || fmt.Sprint(names(byName)) != "[adatum Contoso contoso west Fabrikam Northwind]" {
		t.Fatalf("by name: %v %v", names(byName), err)
	}
	byCreated, _, _ := st.ListCustomers(ctx, "org-c", store.CustomerQuery{SortBy: "created", Descending: true})
	if fmt.Sprint(names(byCreated)) != "[Northwind contoso west Fabrikam adatum Contoso]" {
		t.Fatalf("by created: %v", names(byCreated))
	}
	found, _, _ := st.ListCustomers(ctx, "org-c", store.CustomerQuery{NamePrefix: "CONTOSO"})
	if fmt.Sprint(names(found)) != "[Contoso contoso west]" {
		t.Fatalf("prefix: %v", names(found))
	}
	first, next, _ := st.ListCustomers(ctx, "org-c", store.CustomerQuery{Page: store.Page{Limit: 2}})
	rest, _, _ := st.ListCustomers(ctx, "org-c", store.CustomerQuery{Page: store.Page{Limit: 10, Cursor: next}})
	if len(first) != 2 || len(rest) != 3 {
		t.Fatalf("paging: %d + %d", len(first), len(rest))
	}
	if _, _, err := st.ListCustomers(ctx, "org-c", store.CustomerQuery{SortBy: "created", Page: store.Page{Cursor: next}}); err == nil {
		t.Fatal("a name-order cursor was accepted for the created order")
	}
	// Archive hides, and is undone.
	c := byName[0]
	archive := func(on bool) {
		cur, _ := st.GetCustomer(ctx, "org-c", c.ID)
		if _, err := st.UpdateCustomerFrom(ctx, "org-c", cur.Customer, nil, func(x *domain.Customer) (audit.Event, error) {
			x.Archived = on
			return ev, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	archive(true)
	active, _, _ := st.ListCustomers(ctx, "org-c", store.CustomerQuery{})
	archived, _, _ := st.ListCustomers(ctx, "org-c", store.CustomerQuery{Archived: true})
	if len(active) != 4 || len(archived) != 1 || archived[0].ID != c.ID {
		t.Fatalf("archive: %d active, %v archived", len(active), names(archived))
	}
	archive(false)
	if active, _, _ := st.ListCustomers(ctx, "org-c", store.CustomerQuery{}); len(active) != 5 {
		t.Fatalf("unarchive: %d", len(active))
	}
}

func testAssociation(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-a", "Acme", time.Now())
	t1 := mkTenant(t, st, "org-a", 40, domain.HealthHealthy)
	t2 := mkTenant(t, st, "org-a", 2, domain.HealthCritical)
	for _, tn := range []domain.Tenant{t1, t2} {
		if _, err := st.AssociateTenant(ctx, "org-a", c.ID, tn.ID, ev); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := st.GetCustomer(ctx, "org-a", c.ID)
	if d.Customer.TenantCount != 2 || d.Customer.TotalUsers != 42 || d.Customer.TotalLicenses != 42 || d.Customer.Health() != domain.HealthCritical || len(d.Tenants) != 2 || len(d.Customer.TenantIDs) != 2 {
		t.Fatalf("after associating: %+v, %d tenants", d.Customer.Counters, len(d.Tenants))
	}
	// Updating a linked tenant moves the counters by the difference.
	cur, _ := st.GetTenant(ctx, "org-a", t2.ID)
	if _, err := st.UpdateTenantFrom(ctx, "org-a", cur, nil, func(x *domain.Tenant) (audit.Event, error) {
		x.Health, x.LicensedUsers = domain.HealthWarning, 10
		return ev, nil
	}); err != nil {
		t.Fatal(err)
	}
	d, _ = st.GetCustomer(ctx, "org-a", c.ID)
	if d.Customer.TotalUsers != 50 || d.Customer.Health() != domain.HealthWarning {
		t.Fatalf("after tenant update: %+v", d.Customer.Counters)
	}
	if err := st.UnlinkTenant(ctx, "org-a", c.ID, t2.ID, ev); err != nil {
		t.Fatal(err)
	}
	d, _ = st.GetCustomer(ctx, "org-a", c.ID)
	if d.Customer.TenantCount != 1 || d.Customer.TotalUsers != 40 || d.Customer.Health() != domain.HealthHealthy || len(d.Tenants) != 1 || len(d.Customer.TenantIDs) != 1 {
		t.Fatalf("after unlink: %+v", d.Customer.Counters)
	}
	if err := st.UnlinkTenant(ctx, "org-a", c.ID, t2.ID, ev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unlink twice: %v", err)
	}
}

// testUnlinkLastTenant unlinks and moves away a customer's only tenant, then has a
// transaction cancelled (a PSA sync state written twice from version 0, as two
// concurrent sync jobs do) and reads the customers through their index. The embedded
// engine stores a string set a DELETE empties as an empty set, which the snapshot it
// restores a cancelled transaction from turns into a value of no type, after which
// every Query reading the customer fails; DynamoDB removes the attribute.
func testUnlinkLastTenant(t *testing.T, st *store.Store) {
	ctx := context.Background()
	const org = "org-l"
	unlinked, from, to := mkCustomer(t, st, org, "Unlinked", time.Now()), mkCustomer(t, st, org, "From", time.Now()), mkCustomer(t, st, org, "To", time.Now())
	t1, t2 := mkTenant(t, st, org, 3, domain.HealthHealthy), mkTenant(t, st, org, 4, domain.HealthHealthy)
	for _, link := range []struct{ customer, tenant string }{{unlinked.ID, t1.ID}, {from.ID, t2.ID}} {
		if _, err := st.AssociateTenant(ctx, org, link.customer, link.tenant, ev); err != nil {
			t.Fatal(err)
		}
	}
	mkContact(t, st, org, unlinked.ID, "Kept", 1) // a counter the unlink's Put keeps
	if err := st.UnlinkTenant(ctx, org, unlinked.ID, t1.ID, ev); err != nil {
		t.Fatal(err)
	}
	if err := st.MoveTenant(ctx, org, t2.ID, from.ID, to.ID, ev); err != nil {
		t.Fatal(err)
	}
	state := domain.PSASyncState{ConnectionID: domain.NewID(), ConflictPolicy: domain.PSAHold}
	if _, err := st.PutPSASyncState(ctx, org, state, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutPSASyncState(ctx, org, state, nil); err == nil {
		t.Fatal("a second sync state from version 0 was written")
	}
	page, _, err := st.ListCustomers(ctx, org, store.CustomerQuery{Page: store.Page{Limit: store.MaxLimit}})
	if err != nil {
		t.Fatalf("list customers after a cancelled transaction: %v", err)
	}
	got := map[string]domain.Customer{}
	for _, c := range page {
		got[c.ID] = c
	}
	if len(got) != 3 || len(got[unlinked.ID].TenantIDs) != 0 || len(got[from.ID].TenantIDs) != 0 || !slices.Equal(got[to.ID].TenantIDs, []string{t2.ID}) {
		t.Fatalf("tenant sets after unlink and move: %v", got)
	}
	for id, want := range map[string]int64{unlinked.ID: 0, from.ID: 0, to.ID: 4} {
		if c := got[id].Counters; c.TenantCount != min(want, 1) || c.TotalUsers != want || c.HealthHealthy != min(want, 1) || c.SecurityScoreSum != float64(50*min(want, 1)) {
			t.Errorf("counters of %s: %+v", got[id].Name, c)
		}
	}
	if o, err := st.GetCustomerOverview(ctx, org, unlinked.ID); err != nil || o.Counters.ContactCount != 1 || len(o.Tenants) != 0 {
		t.Fatalf("customer after unlinking its last tenant: %+v, %v", o.Counters, err)
	}
}

func testAssociationRace(t *testing.T, st *store.Store) {
	ctx := context.Background()
	tn := mkTenant(t, st, "org-r", 7, domain.HealthWarning)
	customers := make([]domain.Customer, 50)
	for i := range customers {
		customers[i] = mkCustomer(t, st, "org-r", fmt.Sprint("C", i), time.Now())
	}
	var wg sync.WaitGroup
	errs := make([]error, len(customers))
	for i := range customers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = st.AssociateTenant(ctx, "org-r", customers[i].ID, tn.ID, ev)
		}(i)
	}
	wg.Wait()
	winners := 0
	for _, err := range errs {
		var linked *store.AlreadyLinkedError
		switch {
		case err == nil:
			winners++
		case errors.As(err, &linked):
		default:
			if err.Error() != "tenant-busy: the tenant is being changed concurrently; try again" {
				t.Fatalf("unexpected: %v", err)
			}
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners", winners)
	}
	var total int64
	for _, c := range customers {
		d, _ := st.GetCustomer(ctx, "org-r", c.ID)
		total += d.Customer.TenantCount
		if d.Customer.TotalUsers != 7*d.Customer.TenantCount || int64(len(d.Tenants)) != d.Customer.TenantCount {
			t.Fatalf("customer %s counters %+v with %d links", c.Name, d.Customer.Counters, len(d.Tenants))
		}
	}
	if total != 1 {
		t.Fatalf("tenant counted %d times", total)
	}
}

func testDeleteWithTenants(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-d", "Busy", time.Now())
	tn := mkTenant(t, st, "org-d", 1, domain.HealthHealthy)
	if _, err := st.AssociateTenant(ctx, "org-d", c.ID, tn.ID, ev); err != nil {
		t.Fatal(err)
	}
	var attached *store.TenantsAttachedError
	if err := st.DeleteCustomer(ctx, "org-d", c, ev); !errors.As(err, &attached) || attached.Count != 1 {
		t.Fatalf("delete with a tenant: %v", err)
	}
	if err := st.UnlinkTenant(ctx, "org-d", c.ID, tn.ID, ev); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCustomer(ctx, "org-d", c, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetCustomer(ctx, "org-d", c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func testCustomerKeys(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a := domain.Customer{ID: domain.NewID(), Name: "A", ExternalID: "ext-1",
		PSALinks: []domain.PSALink{{ConnectionID: "cw", Type: domain.PSAConnectWise, ExternalID: "42"}}}
	ensureOrg(t, st, "org-k")
	ensureOrg(t, st, "org-k2")
	if err := st.CreateCustomer(ctx, "org-k", a, ev); err != nil {
		t.Fatal(err)
	}
	var dup *store.DuplicateKeyError
	b := domain.Customer{ID: domain.NewID(), Name: "B", PSALinks: a.PSALinks}
	if err := st.CreateCustomer(ctx, "org-k", b, ev); !errors.As(err, &dup) || dup.CustomerID != a.ID {
		t.Fatalf("same PSA link: %v", err)
	}
	if id, err := st.LookupCustomerKey(ctx, "org-k", "ext", "EXT-1"); err != nil || id != a.ID {
		t.Fatalf("lookup: %q %v", id, err)
	}
	if err := st.CreateCustomer(ctx, "org-k2", b, ev); err != nil {
		t.Fatalf("another organization may use the same PSA id: %v", err)
	}
	// Moving the link frees the old claim.
	cur, _ := st.GetCustomer(ctx, "org-k", a.ID)
	if _, err := st.UpdateCustomerFrom(ctx, "org-k", cur.Customer, nil, func(c *domain.Customer) (audit.Event, error) {
		c.PSALinks = []domain.PSALink{{ConnectionID: "cw", Type: domain.PSAConnectWise, ExternalID: "43"}}
		return ev, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCustomer(ctx, "org-k", domain.Customer{ID: domain.NewID(), Name: "C", PSALinks: a.PSALinks}, ev); err != nil {
		t.Fatalf("freed PSA link: %v", err)
	}
}

func testEntraUnique(t *testing.T, st *store.Store) {
	tn := mkTenant(t, st, "org-e", 1, domain.HealthHealthy)
	again := tn
	again.ID = domain.NewID()
	if err := st.CreateTenant(context.Background(), "org-e", again, ev); !errors.Is(err, store.ErrEntraTenantTaken) {
		t.Fatalf("same Entra id: %v", err)
	}
	ensureOrg(t, st, "org-e2")
	if err := st.CreateTenant(context.Background(), "org-e2", again, ev); err != nil {
		t.Fatalf("another organization: %v", err)
	}
}

func TestActivityLog(t *testing.T) {
	for engine, open := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			c := mkCustomer(t, st, "org-act", "Active", time.Now())
			tn := mkTenant(t, st, "org-act", 3, domain.HealthHealthy)
			ev := audit.Event{Category: audit.Tenant, Action: "tenant.associate", Targets: audit.Targets{CustomerIDs: []string{c.ID}, TenantIDs: []string{tn.ID}}}
			if _, err := st.AssociateTenant(ctx, "org-act", c.ID, tn.ID, ev); err != nil {
				t.Fatal(err)
			}
			got, _, err := st.ListActivity(ctx, "org-act", "customer", c.ID, store.Page{})
			if err != nil || len(got) != 1 || got[0].Action != "tenant.associate" {
				t.Fatalf("customer activity: %+v %v", got, err)
			}
			got, _, _ = st.ListActivity(ctx, "org-act", "tenant", tn.ID, store.Page{})
			if len(got) != 1 {
				t.Fatalf("tenant activity: %+v", got)
			}
			// The activity copies do not disturb the customer read.
			d, err := st.GetCustomer(ctx, "org-act", c.ID)
			if err != nil || len(d.Tenants) != 1 {
				t.Fatalf("customer after activity: %+v %v", d, err)
			}
		})
	}
}
