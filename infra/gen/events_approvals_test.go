package main

import (
	"context"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func init() { maps.Copy(eventCases, approvalEventCases) }

// sampleRequester is the Technician who asked for the sample order and approval: the
// sample caller, the Owner, decides them.
var sampleRequester = domain.Inviter{UserID: "sample-technician", Email: "sam.tech@example.com", Name: "Sam Tech"}

// sampleApproval is a pending approval of SampleOrgID requested by sampleRequester,
// expiring at expiresAt.
func sampleApproval(id string, action domain.ApprovalAction, expiresAt time.Time) domain.Approval {
	return domain.Approval{ID: id, OrganizationID: templategen.SampleOrgID, Action: action, Status: domain.ApprovalPending,
		RequestedBy: sampleRequester, RequestedAt: expiresAt.Add(-domain.ApprovalTTL), ExpiresAt: expiresAt}
}

// seedSampleOrder writes the pending order the license-order events name: 5 × SPE_E3
// for the sample tenant.
func seedSampleOrder(ctx context.Context, t *testing.T, e *sampleEnv) {
	seedSampleTenant(ctx, t, e)
	a := sampleApproval(templategen.SampleParam("orderId"), domain.ActionLicenseOrder, time.Now().UTC().Add(domain.ApprovalTTL))
	a.Summary = "order 5 × SPE_E3 for tenant Sample Customer"
	a.Order = &domain.LicenseOrder{TenantID: sampleTenant, TenantName: "Sample Customer", SKU: "SPE_E3", Quantity: 5}
	if _, err := e.st.CreateApproval(ctx, a, audit.Event{Category: audit.LicenseOrder, Action: "seed"}); err != nil {
		t.Fatal(err)
	}
}

// seedSampleHeldAction writes the pending approval the approval events name: a change
// of the authentication settings.
func seedSampleHeldAction(ctx context.Context, t *testing.T, e *sampleEnv) {
	a := sampleApproval(templategen.SampleParam("approvalId"), domain.ActionChangeAuthSettings, time.Now().UTC().Add(domain.ApprovalTTL))
	a.Summary = "change the authentication settings"
	a.Request = &domain.HeldAction{Authentication: &domain.AuthSettings{EntraSSOEnabled: true, RequireMFA: true, SessionTimeoutMinutes: 60}}
	if _, err := e.st.CreateApproval(ctx, a, audit.Event{Category: audit.Approval, Action: "seed"}); err != nil {
		t.Fatal(err)
	}
}

// tenantLicenses checks what the sample tenant assigns of SPE_E3 after the call.
func tenantLicenses(want int64) func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
	return func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
		tn, err := e.st.GetTenant(ctx, templategen.SampleOrgID, sampleTenant)
		if err != nil {
			t.Fatal(err)
		}
		if tn.AssignedLicenses() != want {
			t.Errorf("tenant licenses %+v, want %d of SPE_E3", tn.Licenses, want)
		}
	}
}

// approvalEventCases are the license orders and the actions held for approval.
var approvalEventCases = map[string]eventCase{
	// The sample caller owns the organization: their order is approved as placed.
	"license-orders-create": {status: http.StatusCreated, seed: seedSampleTenant, after: tenantLicenses(5),
		check: func(t *testing.T, b map[string]any) {
			if b["status"] != "approved" || b["sku"] != "SPE_E3" || b["quantity"] != float64(5) || b["tenantName"] != "Sample Customer" {
				t.Errorf("order %v", b)
			}
		}},
	"license-orders-list": {status: http.StatusOK, seed: seedSampleOrder, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "items", "0", "id") != templategen.SampleParam("orderId") || field(t, b, "items", "0", "status") != "pending" {
			t.Errorf("orders %v", b)
		}
	}},
	"license-orders-get": {status: http.StatusOK, seed: seedSampleOrder, check: func(t *testing.T, b map[string]any) {
		if b["id"] != templategen.SampleParam("orderId") || field(t, b, "requestedBy", "email") != sampleRequester.Email {
			t.Errorf("order %v", b)
		}
	}},
	"license-orders-approve": {status: http.StatusOK, seed: seedSampleOrder, after: tenantLicenses(5),
		check: func(t *testing.T, b map[string]any) {
			if b["status"] != "approved" || field(t, b, "decidedBy", "email") != templategen.SampleEmail {
				t.Errorf("order %v", b)
			}
		}},
	"license-orders-reject": {status: http.StatusOK, seed: seedSampleOrder, after: tenantLicenses(0),
		check: func(t *testing.T, b map[string]any) {
			if b["status"] != "rejected" || b["reason"] != "Reassign the licenses of the five leavers instead" {
				t.Errorf("order %v", b)
			}
		}},
	"approvals-list": {status: http.StatusOK, seed: seedSampleHeldAction, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "items", "0", "action") != "change-authentication-settings" {
			t.Errorf("approvals %v", b)
		}
	}},
	"approvals-get": {status: http.StatusOK, seed: seedSampleHeldAction, check: func(t *testing.T, b map[string]any) {
		if b["id"] != templategen.SampleParam("approvalId") || field(t, b, "request", "authentication", "sessionTimeoutMinutes") != float64(60) {
			t.Errorf("approval %v", b)
		}
	}},
	"approvals-approve": {status: http.StatusOK, seed: seedSampleHeldAction,
		check: func(t *testing.T, b map[string]any) {
			if b["status"] != "approved" {
				t.Errorf("approval %v", b)
			}
		},
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
			org, err := e.st.GetOrganization(ctx, templategen.SampleOrgID)
			if err != nil || org.Profile.Authentication.SessionTimeoutMinutes != 60 {
				t.Errorf("authentication after approval %+v (%v), want the 60-minute timeout applied", org.Profile.Authentication, err)
			}
		}},
	"approvals-reject": {status: http.StatusOK, seed: seedSampleHeldAction, check: func(t *testing.T, b map[string]any) {
		if b["status"] != "rejected" || b["reason"] == "" {
			t.Errorf("approval %v", b)
		}
	}},
}

// TestScheduleEventExpiresApprovals invokes the approvals' expiry schedule as Lambda
// would, with events/expire-approvals.json, on a table holding an overdue order, an
// overdue held action and a fresh order: the two overdue ones are marked expired, each
// with one audit event of its category, and a second invocation changes nothing.
func TestScheduleEventExpiresApprovals(t *testing.T) {
	const name = "expire-approvals"
	ctx := context.Background()
	raw := readFile(t, repoRoot(t), "events/"+name+".json")
	st := lambdaTable(t)

	now := time.Now().UTC()
	seeds := []struct {
		a    domain.Approval
		want string
	}{
		{sampleApproval(domain.NewApprovalID(now), domain.ActionLicenseOrder, now.Add(-time.Minute)), domain.ApprovalExpired},
		{sampleApproval(domain.NewApprovalID(now), domain.ActionRemoveMember, now.Add(-time.Hour)), domain.ApprovalExpired},
		{sampleApproval(domain.NewApprovalID(now), domain.ActionLicenseOrder, now.Add(time.Hour)), domain.ApprovalPending},
	}
	for _, s := range seeds {
		if s.a.Action == domain.ActionLicenseOrder {
			s.a.Order = &domain.LicenseOrder{TenantID: "sample-tenant", SKU: "EMS", Quantity: 1}
		} else {
			s.a.Request = &domain.HeldAction{PlatformUserID: "sample-member", Email: "leaver@example.com"}
		}
		if _, err := st.CreateApproval(ctx, s.a, audit.Event{Category: audit.Approval, Action: "seed"}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := lambdaentry.ScheduleHandler(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for round, want := range []api.ExpiryResult{{Expired: 2}, {}} {
		out, err := h(ctx, raw)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if res, ok := out.(api.ExpiryResult); !ok || res != want {
			t.Errorf("round %d: result %#v, want %+v", round, out, want)
		}
		for _, s := range seeds {
			got, err := st.GetApproval(ctx, templategen.SampleOrgID, store.QueueOf(s.a), s.a.ID)
			if err != nil || got.Status != s.want {
				t.Errorf("round %d: %s %s: status %q (%v), want %s", round, s.a.Action, s.a.ID, got.Status, err, s.want)
			}
		}
		evs, _, err := st.ListAudit(ctx, templategen.SampleOrgID, store.Page{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		byAction := map[string]audit.Category{}
		for _, ev := range evs {
			if ev.Action == "license-order.expire" || ev.Action == "approval.expire" {
				if _, twice := byAction[ev.Action]; twice {
					t.Errorf("round %d: %s written twice", round, ev.Action)
				}
				byAction[ev.Action] = ev.Category
			}
		}
		if byAction["license-order.expire"] != audit.LicenseOrder || byAction["approval.expire"] != audit.Approval || len(byAction) != 2 {
			t.Errorf("round %d: expiry events %v, want one license-order and one approval", round, byAction)
		}
	}
}
