package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// sampleCompanyUser is the company user the events name in their paths; samplePortalAdmin
// is the sample caller's own company user on the portal's events.
var sampleCompanyUser = templategen.SampleParam("userId")

const samplePortalAdmin = "sample-portal-admin"

func init() { maps.Copy(eventCases, companyUserEventCases) }

// companyUserEventCases are the company user, client portal and onboarding routes' cases.
var companyUserEventCases = map[string]eventCase{
	"customers-users-list": {status: http.StatusOK, seed: seedCompanyUser, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); len(items) != 1 || field(t, b, "items", "0", "id") != sampleCompanyUser {
			t.Errorf("company users %v", b)
		}
	}},
	"customers-users-create": {status: http.StatusCreated, seed: seedCustomer, check: func(t *testing.T, b map[string]any) {
		if b["email"] != "diego.siciliani@sample-customer.example" || b["role"] != "Manager" || b["portalAccess"] != true || b["source"] != "manual" {
			t.Errorf("company user %v", b)
		}
	}},
	"customers-users-get": {status: http.StatusOK, seed: seedCompanyUser, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleCompanyUser || b["name"] != "Lynne Robbins" {
			t.Errorf("company user %v", b)
		}
	}},
	"customers-users-update": {status: http.StatusOK, seed: seedCompanyUser, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleCompanyUser || b["role"] != "Admin" || b["jobTitle"] != "Controller" || b["version"] != float64(2) {
			t.Errorf("company user %v", b)
		}
	}},
	"customers-users-delete": {status: http.StatusNoContent, seed: seedCompanyUser,
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
			if _, err := e.st.GetCompanyUser(ctx, templategen.SampleOrgID, sampleCustomer, sampleCompanyUser); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the company user after its deletion: %v", err)
			}
		}},
	"customers-users-training-assign": {status: http.StatusOK, seed: seedCompanyUser, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "training", "0", "course") != "Phishing awareness" {
			t.Errorf("company user %v", b)
		}
	}},
	"customers-users-import": {status: http.StatusAccepted, seed: seedCustomer,
		check: func(t *testing.T, b map[string]any) {
			if b["kind"] != "company-user-import" || field(t, b, "progress", "total") != float64(1) {
				t.Errorf("import job %v", b)
			}
		},
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, res events.APIGatewayV2HTTPResponse) {
			j := finishedJob(ctx, t, e, res)
			var r struct{ Rows, Created, Failed int64 }
			if err := json.Unmarshal(j.Result, &r); err != nil || j.Status != jobs.Succeeded || r.Created != 1 {
				t.Errorf("import job %+v, result %s", j, j.Result)
			}
		}},
	"portal-invitations-accept": {status: http.StatusOK, seed: seedPortalInvitation, check: func(t *testing.T, b map[string]any) {
		if b["companyName"] != "Sample Customer" || field(t, b, "user", "portalStatus") != "active" {
			t.Errorf("accepted %v", b)
		}
	}},
	"portal-tickets-list": {status: http.StatusOK, seed: seedPortalUser, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); items == nil {
			t.Errorf("tickets %v", b)
		}
	}},
	"portal-tickets-create": {status: http.StatusCreated, seed: seedPortalUser, check: func(t *testing.T, b map[string]any) {
		if b["subject"] != "Printer on fire" || b["status"] != "open" || b["customerId"] != sampleCustomer {
			t.Errorf("ticket %v", b)
		}
	}},
	"portal-dashboard-get": {status: http.StatusOK, seed: seedPortalUser, check: func(t *testing.T, b map[string]any) {
		if b["companyName"] != "Sample Customer" || b["userCount"] != float64(1) {
			t.Errorf("dashboard %v", b)
		}
	}},
	"portal-users-list": {status: http.StatusOK, seed: seedPortalUser, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); len(items) != 1 {
			t.Errorf("users %v", b)
		}
	}},
	"portal-users-create": {status: http.StatusCreated, seed: seedPortalUser, check: func(t *testing.T, b map[string]any) {
		if b["email"] != "megan.bowen@sample-customer.example" || b["source"] != "manual" {
			t.Errorf("user %v", b)
		}
	}},
	"portal-users-update": {status: http.StatusOK, seed: seedPortalUserAndOther, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleCompanyUser || b["role"] != "Manager" {
			t.Errorf("user %v", b)
		}
	}},
	"portal-users-delete": {status: http.StatusNoContent, seed: seedPortalUserAndOther},
	"portal-training-list": {status: http.StatusOK, seed: seedPortalUser, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); items == nil {
			t.Errorf("training %v", b)
		}
	}},
	"onboarding-get": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if steps, _ := b["steps"].([]any); len(steps) != 6 || b["total"] != float64(6) {
			t.Errorf("onboarding %v", b)
		}
	}},
	"onboarding-steps-complete": {status: http.StatusOK, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "steps", "5", "status") != "complete" {
			t.Errorf("onboarding %v", b)
		}
	}},
	"onboarding-steps-reopen": {status: http.StatusOK,
		seed: func(ctx context.Context, t *testing.T, e *sampleEnv) {
			mark := &domain.OnboardingMark{CompletedAt: time.Now().UTC(), CompletedBy: templategen.SampleEmail}
			if _, err := e.st.MarkOnboardingStep(ctx, templategen.SampleOrgID, domain.StepCompanyUsers, false, mark, fixtureEvent(audit.Settings, "onboarding.complete")); err != nil {
				t.Fatalf("seed mark: %v", err)
			}
		},
		check: func(t *testing.T, b map[string]any) {
			if field(t, b, "steps", "5", "status") != "not-started" {
				t.Errorf("onboarding %v", b)
			}
		}},
}

// seedCompanyUserAs writes a company user of the sample customer.
func seedCompanyUserAs(ctx context.Context, t *testing.T, e *sampleEnv, u domain.CompanyUser) {
	t.Helper()
	ensureCustomer(ctx, t, e)
	now := time.Now().UTC()
	u.CustomerID, u.Source, u.CreatedAt, u.UpdatedAt = sampleCustomer, domain.SourceManual, now, now
	ev := fixtureEvent(audit.Customer, "company-user.create")
	ev.Targets.CustomerIDs = []string{sampleCustomer}
	if err := e.st.CreateCompanyUser(ctx, templategen.SampleOrgID, u, ev); err != nil {
		t.Fatalf("seed company user %s: %v", u.ID, err)
	}
}

func seedCompanyUser(ctx context.Context, t *testing.T, e *sampleEnv) {
	seedCompanyUserAs(ctx, t, e, domain.CompanyUser{ID: sampleCompanyUser, Email: "lynne.robbins@sample-customer.example",
		Name: "Lynne Robbins", JobTitle: "Buyer", Role: domain.CompanyUserRole})
}

// seedPortalInvitation invites the sample caller's email to the sample customer's
// portal, with the token the sample accept event carries.
func seedPortalInvitation(ctx context.Context, t *testing.T, e *sampleEnv) {
	// The portal's events name no organization: the sample one is seeded here.
	seedSampleOrg(ctx, t, e.st, templategen.SampleClaims())
	now := time.Now().UTC()
	exp := now.Add(domain.InvitationTTL)
	seedCompanyUserAs(ctx, t, e, domain.CompanyUser{ID: samplePortalAdmin, Email: templategen.SampleEmail, Name: templategen.SampleName,
		Role: domain.CompanyAdmin, PortalAccess: true, PortalStatus: domain.PortalInvited,
		InviteTokenHash: domain.HashInvitationToken(templategen.SamplePortalToken), InviteExpiresAt: &exp, InvitedAt: &now})
}

// seedPortalUser makes the sample caller the sample customer's portal Admin.
func seedPortalUser(ctx context.Context, t *testing.T, e *sampleEnv) {
	t.Helper()
	seedSampleOrg(ctx, t, e.st, templategen.SampleClaims())
	userID, err := e.st.LookupIdentity(ctx, templategen.SampleSubject)
	if err != nil {
		t.Fatalf("sample user: %v", err)
	}
	seedCompanyUserAs(ctx, t, e, domain.CompanyUser{ID: samplePortalAdmin, Email: templategen.SampleEmail, Name: templategen.SampleName,
		Role: domain.CompanyAdmin, PortalAccess: true, PortalStatus: domain.PortalActive, PortalUserID: userID})
}

func seedPortalUserAndOther(ctx context.Context, t *testing.T, e *sampleEnv) {
	seedPortalUser(ctx, t, e)
	seedCompanyUser(ctx, t, e)
}
