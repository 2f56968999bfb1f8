package main

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// samplePlatformUser is the member or invitation the platform-user events name.
var samplePlatformUser = templategen.SampleParam("id")

func init() { maps.Copy(eventCases, teamEventCases) }

func seedSampleTenant(ctx context.Context, t *testing.T, e *sampleEnv) {
	tn := domain.Tenant{ID: sampleTenant, EntraTenantID: templategen.SampleManagedTenant, PrimaryDomain: "samplecustomer.onmicrosoft.com",
		DisplayName: "Sample Customer", Health: domain.HealthHealthy, CreatedAt: time.Now().UTC()}
	if err := e.st.CreateTenant(ctx, templategen.SampleOrgID, tn, audit.Event{Category: audit.Tenant, Action: "seed"}); err != nil {
		t.Fatal(err)
	}
}

func seedSampleMember(ctx context.Context, t *testing.T, e *sampleEnv) {
	seedSampleTenant(ctx, t, e)
	m := domain.Membership{OrganizationID: templategen.SampleOrgID, UserID: samplePlatformUser, Email: "sam.tech@example.com",
		Name: "Sam Tech", Role: permission.Technician, TenantScope: domain.AllTenantsScope()}
	if err := e.st.PutMember(ctx, m, audit.Event{Category: audit.UserManagement, Action: "seed"}); err != nil {
		t.Fatal(err)
	}
}

// seedSampleInvitation invites email to the sample organization under the sample token.
func seedSampleInvitation(email, id string) func(ctx context.Context, t *testing.T, e *sampleEnv) {
	return func(ctx context.Context, t *testing.T, e *sampleEnv) {
		now := time.Now().UTC()
		inv := domain.Invitation{ID: id, OrganizationID: templategen.SampleOrgID, Email: email, DisplayName: "Alex Rivera",
			Role: permission.ReadOnly, TenantScope: domain.AllTenantsScope(),
			InvitedBy: domain.Inviter{UserID: "inviter", Email: "megan.bowen@contoso.example", Name: "Megan Bowen"},
			Status:    domain.InvitationPending, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(domain.InvitationTTL),
			TokenHash: domain.HashInvitationToken(templategen.SampleInvitationToken)}
		if err := e.st.CreateInvitation(ctx, inv, audit.Event{Category: audit.UserManagement, Action: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
}

// seedInvitingOrg invites the sample caller, under the sample token, to an
// organization they are not in.
func seedInvitingOrg(ctx context.Context, t *testing.T, e *sampleEnv) {
	// The sample caller owns SampleOrgID; the invitation is to a second organization.
	org := domain.Organization{ID: "sample-inviting-org", Name: "Fabrikam MSP", Plan: domain.PlanFree, Profile: domain.NewProfile("Fabrikam MSP")}
	if err := e.st.CreateUser(ctx, domain.User{ID: "fabrikam-owner", Email: "owner@fabrikam.example", Name: "Fabrikam Owner"}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateOrganization(ctx, org, domain.Membership{OrganizationID: org.ID, UserID: "fabrikam-owner", Role: permission.Owner},
		audit.Event{Category: audit.Settings, Action: "seed"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	inv := domain.Invitation{ID: "sample-invitation", OrganizationID: org.ID, Email: templategen.SampleEmail, DisplayName: "Alex Rivera",
		Role: permission.Technician, TenantScope: domain.AllTenantsScope(),
		InvitedBy: domain.Inviter{UserID: "fabrikam-owner", Email: "owner@fabrikam.example", Name: "Fabrikam Owner"},
		Status:    domain.InvitationPending, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(domain.InvitationTTL),
		TokenHash: domain.HashInvitationToken(templategen.SampleInvitationToken)}
	if err := e.st.CreateInvitation(ctx, inv, audit.Event{Category: audit.UserManagement, Action: "seed"}); err != nil {
		t.Fatal(err)
	}
}

// teamEventCases are the platform users, invitations and authentication settings.
var teamEventCases = map[string]eventCase{
	"platform-users-list": {status: http.StatusOK, seed: seedSampleMember, check: func(t *testing.T, b map[string]any) {
		items, _ := b["items"].([]any)
		if len(items) != 2 {
			t.Errorf("the owner and the sample member: %v", b)
		}
	}},
	"platform-users-invite": {status: http.StatusCreated, seed: func(ctx context.Context, t *testing.T, e *sampleEnv) { seedSampleTenant(ctx, t, e) },
		check: func(t *testing.T, b map[string]any) {
			if b["email"] != "jamie.lee@example.com" || b["kind"] != "invitation" || b["role"] != "Technician" ||
				field(t, b, "tenantAccess", "tenantIds", "0") != sampleTenant {
				t.Errorf("invited %v", b)
			}
		}},
	"platform-users-update": {status: http.StatusOK, seed: seedSampleMember, check: func(t *testing.T, b map[string]any) {
		if b["role"] != "Custom" || field(t, b, "tenantAccess", "mode") != "all-except" || b["version"] != float64(2) {
			t.Errorf("updated %v", b)
		}
	}},
	"platform-users-remove": {status: http.StatusNoContent, seed: seedSampleMember},
	"platform-users-resend": {status: http.StatusOK, seed: seedSampleInvitation("jamie.lee@example.com", samplePlatformUser),
		check: func(t *testing.T, b map[string]any) {
			// Without a mail sender the resent invitation is kept as email-failed (version 3).
			if b["id"] != samplePlatformUser || b["kind"] != "invitation" || b["status"] != "email-failed" || b["version"] != float64(3) {
				t.Errorf("resent %v", b)
			}
		}},
	"platform-users-access": {status: http.StatusOK, seed: seedSampleMember, check: func(t *testing.T, b map[string]any) {
		if b["allowed"] != true || b["role"] != "Technician" || b["permission"] != "manage-users" || b["rule"] == "" {
			t.Errorf("explained %v", b)
		}
	}},
	"invitations-lookup": {status: http.StatusOK, seed: seedInvitingOrg,
		check: func(t *testing.T, b map[string]any) {
			if b["inviterName"] != "Fabrikam Owner" || b["role"] != "Technician" || b["organizationName"] != "Fabrikam MSP" || len(b) != 4 {
				t.Errorf("lookup %v", b)
			}
		}},
	"invitations-accept": {status: http.StatusOK, seed: seedInvitingOrg, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "organization", "id") != "sample-inviting-org" || field(t, b, "member", "role") != "Technician" ||
			field(t, b, "member", "status") != "active" {
			t.Errorf("accepted %v", b)
		}
	}},
	"authentication-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["requireMfa"] != true || b["sessionTimeoutMinutes"] != float64(480) {
			t.Errorf("authentication %v", b)
		}
	}},
	"authentication-put": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if b["sessionTimeoutMinutes"] != float64(240) {
			t.Errorf("authentication %v", b)
		}
	}},
	// The sample runs without a user pool, as `sam local invoke` does.
	"authentication-sso-put": {status: http.StatusServiceUnavailable, contentType: "application/problem+json"},
}
