package main

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

func init() { maps.Copy(eventCases, subOrgEventCases) }

// seedSampleSubOrg creates the sub-organization the events name, Northwind Traders, a
// sub-organization of SampleOrgID whose default admin is SampleParam("userId").
func seedSampleSubOrg(_ context.Context, t *testing.T, e *sampleEnv) {
	testenv.SubOrg(t, e.st, templategen.SampleOrgID, templategen.SampleParam("subOrgId"), "Northwind Traders",
		domain.User{ID: templategen.SampleParam("userId"), Email: "northwind-admin@contoso.example", Name: "Sam Patel"})
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
