package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// steps reads the onboarding checklist as step → status.
func steps(t *testing.T, env *testenv.Env, tok, orgID string) map[string]string {
	t.Helper()
	res := env.Get("/api/onboarding", tok, api.HeaderOrganization, orgID)
	if res.Status != http.StatusOK {
		t.Fatalf("onboarding: %d %s", res.Status, res.Body)
	}
	var v struct {
		Steps []struct{ Step, Status, Completion string }
	}
	res.JSON(t, &v)
	out := map[string]string{}
	for _, s := range v.Steps {
		out[s.Step] = s.Status
		if (s.Step == domain.StepConnectM365 || s.Step == domain.StepConnectPSA) && s.Completion != "derived" {
			t.Errorf("%s completes %s, want derived", s.Step, s.Completion)
		}
	}
	return out
}

// TestOnboardingDerivesFromTheOrganization (issue 9, part 7): each derived step moves
// with what the system sees: the profile's fields, invitations (an expired one does not
// count) and members, connections (added: in progress; tested connected: complete),
// customers and company users.
func TestOnboardingDerivesFromTheOrganization(t *testing.T) {
	w := newWorld(t) // its Administrator, Technician and Read-Only joined: a colleague did
	env, org := w.env, w.org
	fresh := env.NewOrg("solo@onboarding.example")
	owner := fresh.OwnerToken
	h := map[string]string{api.HeaderOrganization: fresh.ID}
	want := func(step, status string) {
		t.Helper()
		if got := steps(t, env, owner, fresh.ID)[step]; got != status {
			t.Errorf("%s = %s, want %s", step, got, status)
		}
	}
	for _, s := range domain.OnboardingSteps() {
		want(s, domain.StepNotStarted)
	}
	if got := steps(t, env, w.tokens["Read-Only"], org.ID)[domain.StepInvitePlatformUsers]; got != domain.StepComplete {
		t.Errorf("invite with colleagues = %s", got)
	}

	// Profile: some fields, then all.
	profile := env.Get("/api/msp-portal/settings/profile", owner, api.HeaderOrganization, fresh.ID).Map(t)
	profile["phone"] = "+1 555 0100"
	put := func() {
		t.Helper()
		if res := env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: owner, Body: profile, Headers: h}); res.Status != http.StatusOK {
			t.Fatalf("profile: %d %s", res.Status, res.Body)
		}
	}
	put()
	want(domain.StepOrganizationProfile, domain.StepInProgress)
	profile = env.Get("/api/msp-portal/settings/profile", owner, api.HeaderOrganization, fresh.ID).Map(t)
	profile["address"], profile["primaryContactEmail"] = "1 Main St, Springfield", "hello@onboarding.example"
	put()
	want(domain.StepOrganizationProfile, domain.StepComplete)

	// Invitations: an expired one does not count; a pending one does.
	now := time.Now().UTC()
	_, hash := domain.NewInvitationToken()
	expired := domain.Invitation{ID: domain.NewID(), OrganizationID: fresh.ID, Email: "late@onboarding.example", Role: permission.ReadOnly,
		TenantScope: domain.AllTenantsScope(), Status: domain.InvitationPending, CreatedAt: now.Add(-8 * 24 * time.Hour),
		SentAt: now.Add(-8 * 24 * time.Hour), ExpiresAt: now.Add(-time.Hour), TokenHash: hash}
	if err := env.Store.CreateInvitation(context.Background(), expired, audit.Event{Category: audit.UserManagement, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	want(domain.StepInvitePlatformUsers, domain.StepNotStarted)
	if res := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: owner, Headers: h,
		Body: map[string]any{"email": "new@onboarding.example", "displayName": "New", "role": "Technician", "tenantAccess": map[string]any{"mode": "all"}}}); res.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	want(domain.StepInvitePlatformUsers, domain.StepInProgress)

	// Connections: a Microsoft 365 one added is in progress, tested connected complete;
	// a PSA one added (not checked yet) is in progress.
	tenant := fixtureTenant(t, w, fresh.ID, nil)
	tn, err := env.Store.GetTenant(context.Background(), fresh.ID, tenant)
	if err != nil {
		t.Fatal(err)
	}
	clientID, secret := env.GraphTenant(tn.EntraTenantID)
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: owner, Headers: h, Body: connectionBody(tenant, clientID, secret)})
	if res.Status != http.StatusCreated {
		t.Fatalf("connection: %d %s", res.Status, res.Body)
	}
	want(domain.StepConnectM365, domain.StepInProgress)
	want(domain.StepConnectPSA, domain.StepNotStarted)
	if res := env.Do(testenv.Request{Method: "POST", Path: "/api/connections/" + res.Map(t)["id"].(string) + "/test", Token: owner, Headers: h}); res.Status != http.StatusOK {
		t.Fatalf("test: %d %s", res.Status, res.Body)
	}
	want(domain.StepConnectM365, domain.StepComplete)
	if res := env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: owner, Headers: h,
		Body: map[string]any{"type": "halopsa", "label": "Halo", "credentials": map[string]any{
			"instanceUrl": "https://contoso.halopsa.com", "clientId": "halo-client", "clientSecret": "halo~secret.0123456789abcdef"}}}); res.Status != http.StatusCreated {
		t.Fatalf("psa connection: %d %s", res.Status, res.Body)
	}
	want(domain.StepConnectPSA, domain.StepInProgress)

	// Customers, then company users (in progress: seed 002 completes it by hand).
	res = env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers", Token: owner, Headers: h, Body: map[string]any{"name": "Northwind"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("customer: %d %s", res.Status, res.Body)
	}
	want(domain.StepAddCustomers, domain.StepComplete)
	want(domain.StepCompanyUsers, domain.StepNotStarted)
	if res := env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers/" + res.Map(t)["id"].(string) + "/users", Token: owner, Headers: h,
		Body: map[string]any{"email": "ann@northwind.example", "name": "Ann", "role": "User"}}); res.Status != http.StatusCreated {
		t.Fatalf("company user: %d %s", res.Status, res.Body)
	}
	want(domain.StepCompanyUsers, domain.StepInProgress)
	if res := env.Do(testenv.Request{Method: "POST", Path: "/api/onboarding/steps/company-users/complete", Token: owner, Headers: h}); res.Status != http.StatusOK {
		t.Fatalf("mark: %d %s", res.Status, res.Body)
	}
	want(domain.StepCompanyUsers, domain.StepComplete)
}
