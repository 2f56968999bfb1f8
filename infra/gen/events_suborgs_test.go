package main

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func init() { maps.Copy(eventCases, subOrgEventCases) }

// seedSampleSubOrg creates the sub-organization the events name, Northwind Traders, a
// sub-organization of SampleOrgID whose default admin is SampleParam("userId").
func seedSampleSubOrg(ctx context.Context, t *testing.T, e *sampleEnv) {
	now := time.Now().UTC()
	email := "northwind-admin@contoso.example"
	sub := domain.Organization{ID: templategen.SampleParam("subOrgId"), Name: "Northwind Traders", Plan: domain.PlanFree,
		ParentID: templategen.SampleOrgID, CreatedAt: now, Version: 1, Profile: domain.NewProfile("Northwind Traders")}
	u := domain.User{ID: templategen.SampleParam("userId"), Email: email, Name: "Sam Patel", ActiveOrganizationID: sub.ID, CreatedAt: now}
	sub.DefaultAdmin = &domain.DefaultAdmin{UserID: u.ID, Email: email, FirstName: "Sam", LastName: "Patel"}
	err := e.st.CreateSubOrganization(ctx, store.SubOrganizationCreate{Organization: sub, NewUser: &u,
		Admin: domain.Membership{OrganizationID: sub.ID, UserID: u.ID, Email: email, Name: u.Name, Role: permission.Administrator,
			TenantScope: domain.AllTenantsScope(), JoinedAt: now, Version: 1},
		ParentEvent: audit.Event{Category: audit.Settings, Action: "seed"}, Event: audit.Event{Category: audit.Settings, Action: "seed"}})
	if err != nil {
		t.Fatal(err)
	}
}

// reauthenticate checks the answer of a route that re-confirms the caller: the sample
// token's auth_time (November 2023) is long past the five minutes it allows.
func reauthenticate(_ context.Context, t *testing.T, _ *sampleEnv, res events.APIGatewayV2HTTPResponse) {
	if !strings.Contains(res.Body, `"reauthentication-required"`) {
		t.Errorf("answer %s, want reauthentication-required", res.Body)
	}
}

// subOrgEventCases are seed 004's MSP Admin routes.
var subOrgEventCases = map[string]eventCase{
	"sub-organizations-create": {status: http.StatusUnauthorized, contentType: "application/problem+json", after: reauthenticate},
	"sub-organizations-admins-reset": {status: http.StatusUnauthorized, contentType: "application/problem+json", seed: seedSampleSubOrg,
		after: reauthenticate},
	"sub-organizations-list": {status: http.StatusOK, seed: seedSampleSubOrg, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "items", "0", "companyName") != "Northwind Traders" || field(t, b, "items", "0", "licensesConsumed", "memberSeats") != float64(1) {
			t.Errorf("list %v", b)
		}
	}},
	"sub-organizations-get": {status: http.StatusOK, seed: seedSampleSubOrg, check: func(t *testing.T, b map[string]any) {
		if b["id"] != templategen.SampleParam("subOrgId") || field(t, b, "defaultAdmin", "email") != "northwind-admin@contoso.example" {
			t.Errorf("sub-organization %v", b)
		}
	}},
	"msp-dashboard-get": {status: http.StatusOK, seed: seedSampleSubOrg, check: func(t *testing.T, b map[string]any) {
		if b["subOrganizations"] != float64(1) || field(t, b, "licensesConsumed", "memberSeats") != float64(1) {
			t.Errorf("dashboard %v", b)
		}
	}},
}
