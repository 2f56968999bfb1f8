package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

func tenantBody(i int) map[string]any {
	return map[string]any{"entraTenantId": fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		"primaryDomain": fmt.Sprintf("t%d.onmicrosoft.com", i), "displayName": fmt.Sprintf("Tenant %d", i), "licensedUsers": 10}
}

// TestFreePlanLimitThenUpgrade: creating beyond a free-plan limit is refused naming the
// limit and the usage; the upgrade is audited and emailed to the billing contact; the
// create then succeeds.
func TestFreePlanLimitThenUpgrade(t *testing.T) {
	env := testenv.New(t)
	org := env.NewFreeOrg("owner@limits.example")
	h := []string{api.HeaderOrganization, org.ID}
	profile := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, h...).Map(t)
	profile["billingContact"] = map[string]any{"name": "Pat Billing", "email": "billing@limits.example", "phone": ""}
	if res := env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: org.OwnerToken, Body: profile,
		Headers: map[string]string{api.HeaderOrganization: org.ID}}); res.Status != http.StatusOK {
		t.Fatalf("profile: %d %s", res.Status, res.Body)
	}
	limit := int(domain.PlanOf(domain.PlanFree).Limits.ManagedTenants)
	post := func(i int) *testenv.Response {
		return env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants", Token: org.OwnerToken, Body: tenantBody(i),
			Headers: map[string]string{api.HeaderOrganization: org.ID}})
	}
	for i := range limit {
		if res := post(i); res.Status != http.StatusCreated {
			t.Fatalf("tenant %d: %d %s", i, res.Status, res.Body)
		}
	}
	res := post(limit)
	p := res.Map(t)
	if res.Status != http.StatusConflict || p["code"] != "plan-limit" || p["limit"] != "managedTenants" ||
		p["used"] != float64(limit) || p["max"] != float64(limit) {
		t.Fatalf("beyond the limit: %d %s", res.Status, res.Body)
	}
	billing := env.Get("/api/billing", org.OwnerToken, h...).Map(t)
	if billing["plan"] != "free" || billing["limits"].(map[string]any)["managedTenants"].(map[string]any)["used"] != float64(limit) {
		t.Fatalf("billing %v", billing)
	}
	viewer := env.AddMember(org.ID, permission.ReadOnly, "viewer@limits.example")
	if res := env.Get("/api/billing", viewer, h...); res.Status != http.StatusForbidden {
		t.Errorf("a viewer sees billing: %d", res.Status)
	}
	up := env.Do(testenv.Request{Method: "PUT", Path: "/api/billing/plan", Token: org.OwnerToken, Body: map[string]any{"plan": "professional"},
		Headers: map[string]string{api.HeaderOrganization: org.ID}})
	if up.Status != http.StatusOK || up.Map(t)["plan"] != "professional" {
		t.Fatalf("upgrade: %d %s", up.Status, up.Body)
	}
	if res := post(limit); res.Status != http.StatusCreated {
		t.Fatalf("after the upgrade: %d %s", res.Status, res.Body)
	}
	mailed := false
	for _, m := range env.Outbox.Messages() {
		mailed = mailed || (m.To[0] == "billing@limits.example" && strings.Contains(m.Subject, "Plan changed from free to professional"))
	}
	if !mailed {
		t.Error("the billing contact was not told of the plan change")
	}
	// Downgrading below usage is refused with what to remove.
	down := env.Do(testenv.Request{Method: "PUT", Path: "/api/billing/plan", Token: org.OwnerToken, Body: map[string]any{"plan": "free"},
		Headers: map[string]string{api.HeaderOrganization: org.ID}})
	if down.Status != http.StatusConflict || !strings.Contains(string(down.Body), `"remove":1`) {
		t.Fatalf("downgrade: %d %s", down.Status, down.Body)
	}
}

// TestAPICallsCountedExactly sends 2,000 calls over 20 goroutines; the month's count
// is exact.
func TestAPICallsCountedExactly(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@calls.example")
	const workers, each = 20, 100
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if res := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, api.HeaderOrganization, org.ID); res.Status != http.StatusOK {
					t.Errorf("call: %d", res.Status)
				}
			}
		})
	}
	wg.Wait()
	months, err := env.Store.APICalls(context.Background(), org.ID, domain.MonthKey(env.Store.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if months[0].Total != workers*each || months[0].ByOrg[org.ID] != workers*each {
		t.Fatalf("counted %d (%v), want %d", months[0].Total, months[0].ByOrg, workers*each)
	}
	// A call refused (another organization's id: 404) is never counted: nobody
	// spends another organization's calls.
	other := env.NewOrg("owner@other-calls.example")
	for range 5 {
		if res := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, api.HeaderOrganization, other.ID); res.Status != http.StatusNotFound {
			t.Fatalf("another organization: %d", res.Status)
		}
	}
	if m, err := env.Store.APICalls(context.Background(), other.ID, domain.MonthKey(env.Store.Now())); err != nil || m[0].Total != 0 {
		t.Fatalf("another organization's calls after refused requests: %+v, %v", m, err)
	}
	usage := env.Get("/api/msp-portal/usage", org.OwnerToken, api.HeaderOrganization, org.ID).Map(t)
	if n := usage["apiCalls"].(map[string]any)["thisMonth"].(float64); n < workers*each {
		t.Errorf("usage shows %v calls", n)
	}
}

// TestAPICallsBeyondTheFreeLimit: once the month's calls reach the free plan's limit
// the next call gets 429 with Retry-After at the start of next month; /api/me, billing
// and invitations stay open; an upgrade lifts it at once.
func TestAPICallsBeyondTheFreeLimit(t *testing.T) {
	env := testenv.New(t)
	org := env.NewFreeOrg("owner@quota.example")
	ctx := context.Background()
	now := env.Store.Now()
	limit := domain.PlanOf(domain.PlanFree).Limits.APICallsPerMonth
	// All but the last call of the month, counted as the middleware counts them.
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := int64(w); i < limit-1; i += 20 {
				if _, err := env.Store.CountAPICall(ctx, org.ID, org.ID, now); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	h := []string{api.HeaderOrganization, org.ID}
	if res := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, h...); res.Status != http.StatusOK {
		t.Fatalf("the last call of the month: %d %s", res.Status, res.Body)
	}
	res := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, h...)
	next := domain.MonthStart(now).AddDate(0, 1, 0)
	after, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.Status != http.StatusTooManyRequests || res.Map(t)["code"] != "api-calls-exhausted" ||
		time.Duration(after)*time.Second < next.Sub(now)-time.Minute || time.Duration(after)*time.Second > next.Sub(now)+time.Minute {
		t.Fatalf("beyond the limit: %d Retry-After %q %s (next month in %s)", res.Status, res.Header.Get("Retry-After"), res.Body, next.Sub(now))
	}
	for _, path := range []string{"/api/me", "/api/billing"} {
		if res := env.Get(path, org.OwnerToken, h...); res.Status != http.StatusOK {
			t.Errorf("%s: %d, want it open", path, res.Status)
		}
	}
	inv := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Body:    map[string]any{"email": "new@quota.example", "displayName": "New", "role": "Technician", "tenantAccess": map[string]any{"mode": "all"}},
		Headers: map[string]string{api.HeaderOrganization: org.ID}})
	if inv.Status != http.StatusCreated {
		t.Errorf("invite: %d %s, want it open", inv.Status, inv.Body)
	}
	up := env.Do(testenv.Request{Method: "PUT", Path: "/api/billing/plan", Token: org.OwnerToken, Body: map[string]any{"plan": "professional"},
		Headers: map[string]string{api.HeaderOrganization: org.ID}})
	if up.Status != http.StatusOK {
		t.Fatalf("upgrade: %d %s", up.Status, up.Body)
	}
	if res := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, h...); res.Status != http.StatusOK {
		t.Fatalf("after the upgrade: %d %s", res.Status, res.Body)
	}
}

// TestSubOrganizationUsageRollsUp: a sub-organization's tenants and calls count on its
// parent's bill; the usage summary breaks them down.
func TestSubOrganizationUsageRollsUp(t *testing.T) {
	env := testenv.New(t)
	org := env.NewFreeOrg("owner@rollup.example")
	sub := testenv.SubOrg(t, env.Store, org.ID, "", "Client", domain.User{})
	h := map[string]string{api.HeaderOrganization: sub.ID}
	for i := range 2 {
		if res := env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants", Token: org.OwnerToken, Body: tenantBody(i), Headers: h}); res.Status != http.StatusCreated {
			t.Fatalf("tenant in the sub-organization: %d %s", res.Status, res.Body)
		}
	}
	// A call refused (another organization's id: 404) is never counted: nobody
	// spends another organization's calls.
	other := env.NewOrg("owner@other-calls.example")
	for range 5 {
		if res := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, api.HeaderOrganization, other.ID); res.Status != http.StatusNotFound {
			t.Fatalf("another organization: %d", res.Status)
		}
	}
	if m, err := env.Store.APICalls(context.Background(), other.ID, domain.MonthKey(env.Store.Now())); err != nil || m[0].Total != 0 {
		t.Fatalf("another organization's calls after refused requests: %+v, %v", m, err)
	}
	usage := env.Get("/api/msp-portal/usage", org.OwnerToken, api.HeaderOrganization, org.ID).Map(t)
	subs, _ := usage["subOrganizations"].([]any)
	if usage["managedTenants"] != float64(2) || usage["managedUsers"] != float64(20) || len(subs) != 1 {
		t.Fatalf("usage %v", usage)
	}
	row := subs[0].(map[string]any)
	if row["id"] != sub.ID || row["managedTenants"] != float64(2) || row["apiCallsThisMonth"] != float64(2) {
		t.Errorf("sub-organization row %v", row)
	}
	// The sub-organization's billing is its parent's.
	b := env.Get("/api/billing", org.OwnerToken, api.HeaderOrganization, sub.ID).Map(t)
	if b["billedTo"] != org.ID || b["plan"] != "free" {
		t.Errorf("sub-organization billing %v", b)
	}
}

// TestConnectionsPlanLimit: a connection beyond the free plan's limit is refused naming
// the limit and the usage; deleting one releases it.
func TestConnectionsPlanLimit(t *testing.T) {
	env := testenv.New(t)
	org := env.NewFreeOrg("owner@conn-limits.example")
	h := map[string]string{api.HeaderOrganization: org.ID}
	limit := int(domain.PlanOf(domain.PlanFree).Limits.Connections)
	post := func(i int) *testenv.Response {
		return env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: org.OwnerToken, Headers: h,
			Body: map[string]any{"type": "halopsa", "label": fmt.Sprintf("Halo %d", i), "credentials": map[string]any{
				"instanceUrl": "https://contoso.halopsa.com", "clientId": "halo-client", "clientSecret": "halo~secret.0123456789abcdef"}}})
	}
	var first string
	for i := range limit {
		res := post(i)
		if res.Status != http.StatusCreated {
			t.Fatalf("connection %d: %d %s", i, res.Status, res.Body)
		}
		if i == 0 {
			first, _ = res.Map(t)["id"].(string)
		}
	}
	res := post(limit)
	p := res.Map(t)
	if res.Status != http.StatusConflict || p["code"] != "plan-limit" || p["limit"] != "connections" ||
		p["used"] != float64(limit) || p["max"] != float64(limit) {
		t.Fatalf("beyond the limit: %d %s", res.Status, res.Body)
	}
	used := func() any {
		b := env.Get("/api/billing", org.OwnerToken, api.HeaderOrganization, org.ID).Map(t)
		return b["limits"].(map[string]any)["connections"].(map[string]any)["used"]
	}
	if u := used(); u != float64(limit) {
		t.Fatalf("billing shows %v connections", u)
	}
	if res := env.Do(testenv.Request{Method: "DELETE", Path: "/api/connections/" + first, Token: org.OwnerToken, Headers: h}); res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if u := used(); u != float64(limit-1) {
		t.Fatalf("billing shows %v connections after a delete", u)
	}
	if res := post(limit + 1); res.Status != http.StatusCreated {
		t.Fatalf("after a delete: %d %s", res.Status, res.Body)
	}
}
