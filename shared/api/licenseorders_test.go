package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

const ordersPath = "/api/msp-portal/license-orders"

// orderView is what the tests read of a license order.
type orderView struct {
	ID, Status, TenantID, SKU, Reason, NotifyError string
	Quantity                                       int64
	RequestedBy, DecidedBy                         *domain.Inviter
	ExpiresAt                                      *time.Time
	Version                                        int64
}

// licensed writes a tenant of orgID assigning n licenses of sku, associated with
// customerID when set.
func licensed(t *testing.T, env *testenv.Env, orgID, customerID, sku string, n int64) string {
	t.Helper()
	w := &world{env: env}
	id := fixtureTenant(t, w, orgID, map[string]string{"customerId": customerID})
	tn, err := env.Store.GetTenant(context.Background(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.UpdateTenantFrom(context.Background(), orgID, tn, nil, func(t *domain.Tenant) (audit.Event, error) {
		t.Licenses = []domain.SKULicense{{SKU: sku, Assigned: n}}
		return audit.Event{Category: audit.Tenant, Action: "fixture"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// assignedOf reads how many licenses of sku a tenant assigns.
func assignedOf(t *testing.T, st *store.Store, orgID, tenantID, sku string) int64 {
	t.Helper()
	tn, err := st.GetTenant(context.Background(), orgID, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range tn.Licenses {
		if l.SKU == sku {
			return l.Assigned
		}
	}
	return 0
}

// actionsOf lists the actions of orgID's audit events of category, oldest first.
func actionsOf(t *testing.T, st *store.Store, orgID string, category audit.Category) []string {
	t.Helper()
	evs, _, err := st.ListAudit(context.Background(), orgID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range slices.Backward(evs) {
		if ev.Category == category {
			out = append(out, ev.Action)
		}
	}
	return out
}

func order(env *testenv.Env, token, orgID string, body any) *testenv.Response {
	return env.Do(testenv.Request{Method: http.MethodPost, Path: ordersPath, Token: token, Body: body,
		Headers: map[string]string{api.HeaderOrganization: orgID}})
}

func decide(env *testenv.Env, token, orgID, path string, body any) *testenv.Response {
	return env.Do(testenv.Request{Method: http.MethodPost, Path: path, Token: token, Body: body,
		Headers: map[string]string{api.HeaderOrganization: orgID}})
}

// TestLicenseOrderFlow is the done-when: a Technician orders licenses and sees
// the order wait, the Administrators are emailed, an Administrator approves it and the
// tenant's licenses (and the organization's usage) change, and the requester, made an
// Administrator by then, fails to approve their own.
func TestLicenseOrderFlow(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@contoso.example")
	admin := env.AddMember(org.ID, permission.Administrator, "admin@contoso.example")
	tech := env.AddMember(org.ID, permission.Technician, "tech@contoso.example")
	customer := fixtures["customerId"](t, &world{env: env}, org.ID, nil)
	tenant := licensed(t, env, org.ID, customer, "SPE_E3", 10)

	res := order(env, tech, org.ID, map[string]any{"tenantId": tenant, "sku": "SPE_E3", "quantity": 5, "note": "Berlin starters"})
	var o orderView
	if res.Status != http.StatusCreated {
		t.Fatalf("order: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &o)
	if o.Status != domain.ApprovalPending || o.ExpiresAt == nil || o.NotifyError != "" || assignedOf(t, env.Store, org.ID, tenant, "SPE_E3") != 10 {
		t.Fatalf("pending order %s; tenant has %d", res.Body, assignedOf(t, env.Store, org.ID, tenant, "SPE_E3"))
	}
	mail := env.Outbox.Messages()
	if len(mail) != 1 || !slices.Equal(sorted(mail[0].To), []string{"admin@contoso.example", "owner@contoso.example"}) ||
		!strings.Contains(mail[0].Text, "Berlin starters") || !strings.HasSuffix(mail[0].Links[0], "/license-orders/"+o.ID) {
		t.Fatalf("approvers' email %+v", mail)
	}
	if res := env.Get(ordersPath+"?status=pending", tech, api.HeaderOrganization, org.ID); !strings.Contains(string(res.Body), o.ID) {
		t.Errorf("the Technician does not see the order wait: %s", res.Body)
	}
	// The Technician may not approve; Read-Only may not order.
	if res := decide(env, tech, org.ID, ordersPath+"/"+o.ID+"/approve", nil); res.Status != http.StatusForbidden {
		t.Errorf("a Technician approves: %d %s", res.Status, res.Body)
	}
	viewer := env.AddMember(org.ID, permission.ReadOnly, "viewer@contoso.example")
	if res := order(env, viewer, org.ID, map[string]any{"tenantId": tenant, "sku": "SPE_E3", "quantity": 1}); res.Status != http.StatusForbidden {
		t.Errorf("Read-Only orders: %d %s", res.Status, res.Body)
	}

	res = decide(env, admin, org.ID, ordersPath+"/"+o.ID+"/approve", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", res.Status, res.Body)
	}
	o = orderView{}
	res.JSON(t, &o)
	if o.Status != domain.ApprovalApproved || o.DecidedBy == nil || o.DecidedBy.Email != "admin@contoso.example" || o.ExpiresAt != nil {
		t.Errorf("approved order %s", res.Body)
	}
	if n := assignedOf(t, env.Store, org.ID, tenant, "SPE_E3"); n != 15 {
		t.Errorf("tenant licenses after approval %d, want 15", n)
	}
	c, err := env.Store.GetCustomer(context.Background(), org.ID, customer)
	if err != nil || c.Customer.TotalLicenses != 15 {
		t.Errorf("customer's licenses %d (%v), want 15", c.Customer.TotalLicenses, err)
	}

	// The requester is an Administrator by now, and still cannot decide their own order.
	res = order(env, tech, org.ID, map[string]any{"tenantId": tenant, "sku": "EMS", "quantity": 2})
	res.JSON(t, &o)
	promote(t, env, org.ID, "tech@contoso.example", permission.Administrator)
	for _, action := range []string{"approve", "reject"} {
		res := decide(env, tech, org.ID, ordersPath+"/"+o.ID+"/"+action, map[string]any{"reason": "mine"})
		if res.Status != http.StatusForbidden || !strings.Contains(string(res.Body), `"self-approval"`) {
			t.Errorf("%s one's own order: %d %s", action, res.Status, res.Body)
		}
	}
	if want := []string{"license-order.submit", "license-order.approve", "license-order.submit"}; !slices.Equal(actionsOf(t, env.Store, org.ID, audit.LicenseOrder), want) {
		t.Errorf("license-order events %v, want %v", actionsOf(t, env.Store, org.ID, audit.LicenseOrder), want)
	}
}

// promote changes a member's role through the store.
func promote(t *testing.T, env *testenv.Env, orgID, email string, role permission.Role) {
	t.Helper()
	entries, _, err := env.Store.ListTeam(context.Background(), orgID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Member != nil && e.Member.Email == email {
			next := *e.Member
			next.Role = role
			if _, err := env.Store.UpdateMember(context.Background(), next, *e.Member, audit.Event{Category: audit.UserManagement, Action: "fixture"}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no member %s", email)
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
}

// TestLicenseOrderRules: who may order, where, and what an order may ask for.
func TestLicenseOrderRules(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@fabrikam.example")
	other := env.NewOrg("owner@northwind.example")
	inScope := licensed(t, env, org.ID, "", "SPE_E3", 10)
	outOfScope := fixtureTenant(t, &world{env: env}, org.ID, nil)
	full := licensed(t, env, org.ID, "", "EMS", 9_999_999)
	foreign := fixtureTenant(t, &world{env: env}, other.ID, nil)
	scoped := env.AddScopedMember(org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{inScope}}, "scoped@fabrikam.example")
	custom := env.AddMember(org.ID, permission.Custom, "custom@fabrikam.example", permission.OrderLicenses)
	good := func(tenant string) map[string]any {
		return map[string]any{"tenantId": tenant, "sku": "SPE_E3", "quantity": 3}
	}
	tests := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
		want   string // the order's status
	}{
		{"Owner: approved at once", org.OwnerToken, good(inScope), http.StatusCreated, "", domain.ApprovalApproved},
		{"scoped Technician, inside the scope: pending", scoped, good(inScope), http.StatusCreated, "", domain.ApprovalPending},
		{"Custom role with order-licenses: pending", custom, good(inScope), http.StatusCreated, "", domain.ApprovalPending},
		{"scoped Technician, outside the scope", scoped, good(outOfScope), http.StatusNotFound, "not-found", ""},
		{"another organization's tenant", org.OwnerToken, good(foreign), http.StatusNotFound, "not-found", ""},
		{"a tenant that does not exist", org.OwnerToken, good("no-such-tenant"), http.StatusNotFound, "not-found", ""},
		{"zero licenses", org.OwnerToken, map[string]any{"tenantId": inScope, "sku": "SPE_E3", "quantity": 0}, http.StatusBadRequest, "validation", ""},
		{"too many licenses", org.OwnerToken, map[string]any{"tenantId": inScope, "sku": "SPE_E3", "quantity": 10001}, http.StatusBadRequest, "validation", ""},
		{"a fraction of a license", org.OwnerToken, map[string]any{"tenantId": inScope, "sku": "SPE_E3", "quantity": 1.5}, http.StatusBadRequest, "validation", ""},
		{"a SKU with spaces", org.OwnerToken, map[string]any{"tenantId": inScope, "sku": "SPE E3", "quantity": 1}, http.StatusBadRequest, "validation", ""},
		{"past the tenant's limit of a SKU", org.OwnerToken, map[string]any{"tenantId": full, "sku": "EMS", "quantity": 2}, http.StatusConflict, "tenant-license-limit", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := order(env, tt.token, org.ID, tt.body)
			if res.Status != tt.status || tt.code != "" && !strings.Contains(string(res.Body), `"code":"`+tt.code+`"`) {
				t.Fatalf("%d %s, want %d %s", res.Status, res.Body, tt.status, tt.code)
			}
			if tt.want != "" {
				var o orderView
				res.JSON(t, &o)
				if o.Status != tt.want {
					t.Errorf("status %q, want %q", o.Status, tt.want)
				}
			}
		})
	}
	// The scoped Technician lists only the orders of their tenants.
	var l struct{ Items []orderView }
	env.Get(ordersPath, scoped, api.HeaderOrganization, org.ID).JSON(t, &l)
	for _, o := range l.Items {
		if o.TenantID != inScope {
			t.Errorf("the scoped Technician sees an order of tenant %s", o.TenantID)
		}
	}
}

// TestConcurrentDecisionsDecideOnce: of an approval and a rejection sent together, and
// of two approvals, exactly one wins and the licenses are added at most once.
func TestConcurrentDecisionsDecideOnce(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@tailspin.example")
	admin := env.AddMember(org.ID, permission.Administrator, "admin@tailspin.example")
	tech := env.AddMember(org.ID, permission.Technician, "tech@tailspin.example")
	tenant := licensed(t, env, org.ID, "", "SPE_E3", 0)
	for round := range 5 {
		res := order(env, tech, org.ID, map[string]any{"tenantId": tenant, "sku": "SPE_E3", "quantity": 1})
		var o orderView
		res.JSON(t, &o)
		var wg sync.WaitGroup
		statuses := make([]int, 4)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				token, action := []string{org.OwnerToken, admin}[i%2], []string{"approve", "reject"}[i/2%2]
				statuses[i] = decide(env, token, org.ID, ordersPath+"/"+o.ID+"/"+action, map[string]any{"reason": "race"}).Status
			}()
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				won++
			case http.StatusConflict, http.StatusServiceUnavailable:
			default:
				t.Errorf("round %d: status %d", round, s)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d decisions won (%v), want 1", round, won, statuses)
		}
	}
	var l struct{ Items []orderView }
	env.Get(ordersPath+"?status=approved", org.OwnerToken, api.HeaderOrganization, org.ID).JSON(t, &l)
	if n := assignedOf(t, env.Store, org.ID, tenant, "SPE_E3"); n != int64(len(l.Items)) {
		t.Errorf("tenant has %d licenses, but %d orders were approved", n, len(l.Items))
	}
}

// TestOrdersExpireAfterSevenDays: past its expiry an order reads expired at once and
// cannot be approved; the schedule then stores it, with one license-order.expire event.
func TestOrdersExpireAfterSevenDays(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@woodgrove.example")
	tech := env.AddMember(org.ID, permission.Technician, "tech@woodgrove.example")
	tenant := licensed(t, env, org.ID, "", "SPE_E3", 1)
	var o orderView
	order(env, tech, org.ID, map[string]any{"tenantId": tenant, "sku": "SPE_E3", "quantity": 1}).JSON(t, &o)

	later := time.Now().Add(domain.ApprovalTTL + time.Minute)
	env.Deps.Store = env.Store.WithClock(func() time.Time { return later })
	res := env.Get(ordersPath+"/"+o.ID, org.OwnerToken, api.HeaderOrganization, org.ID)
	if !strings.Contains(string(res.Body), `"status":"expired"`) {
		t.Errorf("a week later: %s", res.Body)
	}
	if res := env.Get(ordersPath+"?status=expired", org.OwnerToken, api.HeaderOrganization, org.ID); !strings.Contains(string(res.Body), o.ID) {
		t.Errorf("not listed as expired: %s", res.Body)
	}
	if res := decide(env, org.OwnerToken, org.ID, ordersPath+"/"+o.ID+"/approve", nil); res.Status != http.StatusConflict {
		t.Errorf("approve an expired order: %d %s", res.Status, res.Body)
	}
	for round, want := range []api.ExpiryResult{{Expired: 1}, {}} {
		got, err := api.ExpireApprovals(context.Background(), env.Store, later)
		if err != nil || got != want {
			t.Errorf("round %d: %+v (%v), want %+v", round, got, err, want)
		}
	}
	a, err := env.Store.GetApproval(context.Background(), org.ID, store.LicenseOrders, o.ID)
	if err != nil || a.Status != domain.ApprovalExpired || assignedOf(t, env.Store, org.ID, tenant, "SPE_E3") != 1 {
		t.Errorf("stored %+v (%v)", a, err)
	}
	if got := actionsOf(t, env.Store, org.ID, audit.LicenseOrder); !slices.Equal(got, []string{"license-order.submit", "license-order.expire"}) {
		t.Errorf("events %v", got)
	}
}

// TestOrderInASubOrganizationMovesTheParentsTotals: an MSP member supporting a
// sub-organization approves its Technician's order; the licenses it consumes, and the
// parent's totals, grow in the same transaction, audited on behalf of the MSP.
func TestOrderInASubOrganizationMovesTheParentsTotals(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	msp := env.NewOrg("owner@msp.example")
	sub := newSubOrg(t, env.Store, msp.ID, "Northwind Traders")
	tech := env.AddMember(sub.ID, permission.Technician, "tech@northwind.example")
	tenant := licensed(t, env, sub.ID, "", "SPE_E3", 4)
	var o orderView
	order(env, tech, sub.ID, map[string]any{"tenantId": tenant, "sku": "SPE_E3", "quantity": 6}).JSON(t, &o)
	dashboard := func() int64 {
		var d struct{ LicensesConsumed domain.Usage }
		env.Get("/api/msp-admin/dashboard", msp.OwnerToken, api.HeaderOrganization, msp.ID).JSON(t, &d)
		return d.LicensesConsumed.AssignedLicenses
	}
	if n := dashboard(); n != 4 {
		t.Fatalf("parent's totals before %d, want 4", n)
	}
	res := env.Do(testenv.Request{Method: http.MethodPost, Path: ordersPath + "/" + o.ID + "/approve", Token: msp.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: sub.ID, api.HeaderSupportReason: "ticket 4711"}})
	if res.Status != http.StatusOK {
		t.Fatalf("approve while supporting: %d %s", res.Status, res.Body)
	}
	if n := dashboard(); n != 10 {
		t.Errorf("parent's totals after %d, want 10", n)
	}
	evs, _, err := env.Store.ListAudit(context.Background(), sub.ID, store.Page{Limit: 1})
	if err != nil || len(evs) != 1 || evs[0].Action != "license-order.approve" || evs[0].OnBehalfOf == nil ||
		evs[0].OnBehalfOf.MSPOrganizationID != msp.ID || evs[0].OnBehalfOf.Reason != "ticket 4711" {
		t.Errorf("newest event of the sub-organization %+v (%v)", evs, err)
	}
}
