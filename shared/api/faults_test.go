package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/infra/faults"
	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/infra/outbox"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/mail/sesmail"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// TestFaultsLeaveWholeChanges fails, one at a time, every AWS call that a successful
// request of every mutating route makes (DynamoDB always; SES and Cognito where moto
// runs), each in several ways (infra/faults), each on fresh data, and checks that:
//
//   - the table holds the whole change or none of it: compared with a snapshot taken
//     before, a request that failed changed nothing, and a request that answered a
//     success (or failed after its change committed) changed exactly what the
//     fault-free request changed (the same items added, deleted and changed, by type
//     and attribute; audit events and activity copies included). The only side items
//     are the session's activity (never written here: each request's session is warmed
//     first) and the key's idempotency record, which a keyed POST writes with its
//     change and which is checked on its own. Counters, claims, copies and the member
//     epoch agree with the items they count or mirror, in the whole table, after
//     every request (checkTable);
//   - a failure is a 503 application/problem+json with Retry-After, no SDK text;
//   - a fault on the first attempt only is absorbed by the SDK's retryer: the request
//     answers as the fault-free one did;
//   - a keyed POST repeated after the fault (no fault then) gives one result: exactly
//     one change in the table, answered as a fresh success or as the replay of the
//     first answer.
func TestFaultsLeaveWholeChanges(t *testing.T) {
	var covered []api.Route
	for _, rt := range api.Routes() {
		if rt.Method != http.MethodGet {
			covered = append(covered, rt)
		}
	}
	start := time.Now()
	var mu sync.Mutex
	var runs, routes int
	t.Cleanup(func() {
		t.Logf("%d mutating routes (%d cases with their variants), %d requests with a fault, in %s",
			len(covered), routes, runs, time.Since(start).Round(time.Millisecond))
	})
	for _, rt := range covered {
		cases := append([]faultVariant{{}}, faultVariants[rt.Function]...)
		for _, v := range cases {
			name := rt.Function
			if v.name != "" {
				name += " (" + v.name + ")"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				n := newFaultSuite(t, rt, v).run(t)
				mu.Lock()
				runs += n
				routes++
				mu.Unlock()
			})
		}
	}
}

// faultVariant is a case of a route besides its plain one: other objects, or other
// states of them. prepare runs after the path's fixtures.
type faultVariant struct {
	name    string
	prepare func(t *testing.T, f *faultRun, r *faultReq)
}

// faultReq is a request being built, with the values of its path parameters.
type faultReq struct {
	testenv.Request
	params map[string]string
}

// faultBodies are the bodies of successful requests, as the console sends them (after
// the samples of infra/gen/templategen), made for the run's fixtures. A mutating route
// added later without one fails this test until it gets one.
var faultBodies = map[string]func(t *testing.T, f *faultRun, r *faultReq) any{
	"me-active-organization-put": func(t *testing.T, f *faultRun, r *faultReq) any {
		// Another organization of the caller's; creating it made it the active one.
		res := f.env.Do(testenv.Request{Method: http.MethodPost, Path: "/api/organizations", Token: r.Token,
			Body: map[string]string{"name": "Second organization"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("second organization: %d %s", res.Status, res.Body)
		}
		return map[string]string{"organizationId": f.org.ID}
	},
	// The console sends no body: the sign-in is the token's and the connection's.
	"sessions-create": func(*testing.T, *faultRun, *faultReq) any { return nil },
	"connections-create": func(t *testing.T, f *faultRun, r *faultReq) any {
		tenant := fixtureTenant(t, f.world, f.org.ID, nil)
		return map[string]any{"type": "m365", "label": "Fabrikam Graph", "tenantId": tenant,
			"credentials": map[string]any{"clientId": graphstandin.DemoClientID, "clientSecret": graphstandin.DemoClientSecret}}
	},
	"connections-update": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"label": "Fabrikam Graph (rotated)", "version": 1,
			"credentials": map[string]any{"clientId": graphstandin.DemoClientID, "clientSecret": "rotated~secret.value_0123456789"}}
	},
	"connections-test": func(*testing.T, *faultRun, *faultReq) any { return nil },
	// A customer and a company of the stand-in, both unlinked (psaconnect_test.go).
	"psa-matches-accept": func(t *testing.T, f *faultRun, r *faultReq) any {
		return map[string]any{"matches": []any{fixturePSAMatch(t, f.world, f.org.ID)}}
	},
	"psa-sync-run":          func(*testing.T, *faultRun, *faultReq) any { return nil },
	"psa-sync-update":       func(*testing.T, *faultRun, *faultReq) any { return map[string]any{"conflictPolicy": "psa-wins"} },
	"psa-conflicts-resolve": func(*testing.T, *faultRun, *faultReq) any { return map[string]any{"winner": "psa"} },
	// Back to the vendor's default maps: valid whatever the run's PSA is.
	"psa-ticket-settings-update": func(*testing.T, *faultRun, *faultReq) any { return map[string]any{} },
	"tenants-refresh":            func(*testing.T, *faultRun, *faultReq) any { return nil },
	// A downgrade of the run's organization (on professional, with little in use).
	"billing-plan-put": func(*testing.T, *faultRun, *faultReq) any { return map[string]string{"plan": "free"} },
	"organizations-create": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"name": "Northwind IT Services"}
	},
	"organizations-rename": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"name": "Contoso Managed Services", "version": 1}
	},
	"profile-put": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{
			"companyName": "Contoso Managed Services LLC", "displayName": "Contoso MSP", "address": "1 Microsoft Way, Redmond, WA 98052",
			"phone": "+1 (555) 123-4567", "primaryContactEmail": "ops@contoso.example", "website": "https://contoso.example",
			"taxId": "12-3456789", "timeZone": "America/Los_Angeles", "dateFormat": "US", "currency": "USD", "language": "en-US",
			"billingContact": map[string]any{"name": "Pat Kim", "email": "billing@contoso.example", "phone": "+1 (555) 987-6543"},
			"authentication": map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 480},
		}
	},
	"customers-import": func(_ *testing.T, _ *faultRun, r *faultReq) any {
		r.Headers["Content-Type"] = "text/csv"
		return "Customer Name,Primary Contact,Primary Contact Email,Phone,External ID\r\n" +
			"Fabrikam Inc.,Dana Lee,dana.lee@fabrikam.example,+1 (555) 234-5678,FAB-1001\r\n" +
			"Northwind Traders,Sam Patel,sam.patel@northwind.example,+1 (555) 345-6789,NWT-2002\r\n"
	},
	"customers-merge": func(t *testing.T, f *faultRun, r *faultReq) any {
		source := fixtures["customerId"](t, f.world, f.org.ID, nil)
		fixtures["tenantId"](t, f.world, f.org.ID, map[string]string{"customerId": source})
		fixtureContact(t, f.world, f.org.ID, map[string]string{"customerId": source})
		return map[string]any{"sourceCustomerId": source}
	},
	"customers-create": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{
			"name": "Fabrikam Inc.", "primaryContactName": "Dana Lee", "primaryContactEmail": "dana.lee@fabrikam.example",
			"phone": "+1 (555) 234-5678", "address": "200 Fabrikam Way, Seattle, WA 98101", "notes": "Onboarded with two tenants",
			"externalId": "FAB-1001",
			"psaLinks":   []any{map[string]any{"connectionId": "connectwise-main", "type": "connectwise", "externalId": "1001"}},
		}
	},
	"customers-update": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{
			"name": "Sample Customer Ltd", "primaryContactName": "Jordan Smith", "primaryContactEmail": "jordan.smith@sample-customer.example",
			"phone": "+1 (555) 456-7890", "archived": false, "externalId": "SAMPLE-7",
		}
	},
	"customers-tenants-associate": func(t *testing.T, f *faultRun, _ *faultReq) any {
		return map[string]any{"tenantId": fixtures["tenantId"](t, f.world, f.org.ID, nil)}
	},
	"tenants-create": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{
			"entraTenantId": "8c2f0d4e-6b1a-4f3c-9d7e-2a5b8c1d0e3f", "primaryDomain": "fabrikam.onmicrosoft.com",
			"displayName": "Fabrikam", "licensedUsers": 45,
			"licenses":      []any{map[string]any{"sku": "O365_BUSINESS_PREMIUM", "assigned": 45}},
			"securityScore": 68.5, "health": "warning",
		}
	},
	"tenants-update": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{
			"entraTenantId": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "primaryDomain": "samplecustomer.onmicrosoft.com",
			"displayName": "Sample Customer (production)", "licensedUsers": 120,
			"licenses":      []any{map[string]any{"sku": "SPE_E3", "assigned": 100}, map[string]any{"sku": "EMS", "assigned": 20}},
			"securityScore": 81, "health": "critical",
		}
	},
	"customers-contacts-create": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{
			"name": "Riley Chen", "email": "riley.chen@sample-customer.example", "phone": "+1 (555) 567-8901",
			"title": "Operations Manager", "notes": "Call after 30 minutes without an answer from IT",
		}
	},
	"customers-contacts-update": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{
			"name": "Jordan Smith", "email": "jordan.smith@sample-customer.example", "phone": "+1 (555) 456-7890",
			"title": "Head of IT", "escalationOrder": 1,
		}
	},
	"customers-tickets-create": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"subject": "Outlook keeps asking for a password",
			"description": "Since this morning, for everyone in the Berlin office.", "priority": "high"}
	},
	"customers-tickets-update": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"subject": "Outlook keeps asking for a password",
			"description": "Conditional access policy fixed; monitoring.", "status": "resolved", "priority": "high"}
	},
	"customers-documents-create": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"name": "Network diagram.pdf", "contentType": "application/pdf", "size": 482133}
	},
	"platform-users-invite": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"email": "jamie.lee@invitee.example", "displayName": "Jamie Lee", "role": "Technician",
			"tenantAccess": map[string]any{"mode": "all"}}
	},
	"platform-users-update": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"role": "Custom", "permissions": []any{"view-data", "manage-users"},
			"tenantAccess": map[string]any{"mode": "all"}}
	},
	"platform-users-resend": func(*testing.T, *faultRun, *faultReq) any { return map[string]any{} },
	"invitations-lookup": func(t *testing.T, f *faultRun, _ *faultReq) any {
		return map[string]any{"token": f.invitation(t, "lookup-"+domain.NewID()+"@invitee.example")}
	},
	"invitations-accept": func(t *testing.T, f *faultRun, r *faultReq) any {
		email := "accept-" + strings.ToLower(domain.NewID()) + "@invitee.example"
		// The invitee signs up first, or the sign-up would accept the invitation.
		r.Token = f.env.Token(email)
		if res := f.env.Get("/api/me", r.Token); res.Status != http.StatusOK {
			t.Fatalf("invitee sign-up: %d %s", res.Status, res.Body)
		}
		delete(r.Headers, api.HeaderOrganization)
		return map[string]any{"token": f.invitation(t, email)}
	},
	"authentication-put": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 240}
	},
	"sub-organizations-create": func(*testing.T, *faultRun, *faultReq) any {
		email := "admin-" + strings.ToLower(domain.NewID()) + "@northwind.example"
		return map[string]any{"companyName": "Northwind Traders", "phone": "+1 (555) 345-6789", "email": email,
			"confirmEmail": email, "firstName": "Sam", "lastName": "Patel"}
	},
	"sub-organizations-admins-reset": func(*testing.T, *faultRun, *faultReq) any { return map[string]any{} },
	"license-orders-create": func(t *testing.T, f *faultRun, r *faultReq) any {
		// A tenant of the organization the request acts in (a variant supports a sub-organization).
		return map[string]any{"tenantId": fixtures["tenantId"](t, f.world, r.Headers[api.HeaderOrganization], nil), "sku": "SPE_E3",
			"quantity": 5, "note": "Five new starters on Monday"}
	},
	"license-orders-approve": func(*testing.T, *faultRun, *faultReq) any { return map[string]any{} },
	"license-orders-reject": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"reason": "Reassign the leavers' licenses"}
	},
	"customers-users-create": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"email": "diego.siciliani@northwind.example", "name": "Diego Siciliani", "jobTitle": "Buyer",
			"role": "Manager", "portalAccess": true}
	},
	"customers-users-update": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"email": "lynne.robbins@northwind.example", "name": "Lynne Robbins", "jobTitle": "Controller",
			"role": "Admin", "portalAccess": true}
	},
	"customers-users-training-assign": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"course": "Phishing awareness", "url": "https://learn.example/phishing", "dueAt": "2027-01-31T00:00:00Z"}
	},
	"customers-users-import": func(_ *testing.T, _ *faultRun, r *faultReq) any {
		r.Headers["Content-Type"] = "text/csv"
		return "Email,Name,Job Title,Role\r\nalan.steiner@northwind.example,Alan Steiner,CFO,Manager\r\n" +
			"beth.davies@northwind.example,Beth Davies,,Training Only\r\n"
	},
	"portal-invitations-accept": func(t *testing.T, f *faultRun, r *faultReq) any {
		email := "portal-" + strings.ToLower(domain.NewID()) + "@company.example"
		// The invitee signs in first (the run warms the session in their own organization).
		r.Token = f.env.Token(email)
		if res := f.env.Get("/api/me", r.Token); res.Status != http.StatusOK {
			t.Fatalf("invitee sign-up: %d %s", res.Status, res.Body)
		}
		delete(r.Headers, api.HeaderOrganization)
		token, hash := domain.NewInvitationToken()
		now := time.Now().UTC()
		exp := now.Add(domain.InvitationTTL)
		u := domain.CompanyUser{ID: domain.NewID(), CustomerID: f.world.portalCompany(t, f.org.ID).customerID, Email: email, Name: "Invitee",
			Role: domain.CompanyUserRole, PortalAccess: true, PortalStatus: domain.PortalInvited, Source: domain.SourceManual,
			InviteTokenHash: hash, InviteExpiresAt: &exp, InvitedAt: &now, CreatedAt: now, UpdatedAt: now}
		if err := f.store.CreateCompanyUser(context.Background(), f.org.ID, u, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
		return map[string]any{"token": token}
	},
	"portal-tickets-create": func(t *testing.T, f *faultRun, r *faultReq) any {
		r.Token = f.world.portalCompany(t, f.org.ID).tokens[string(domain.CompanyUserRole)]
		delete(r.Headers, api.HeaderOrganization)
		return map[string]any{"subject": "Printer on fire", "description": "Third floor, next to the kitchen.", "priority": "high"}
	},
	"portal-users-create": func(t *testing.T, f *faultRun, r *faultReq) any {
		r.Token = f.world.portalCompany(t, f.org.ID).tokens[string(domain.CompanyAdmin)]
		delete(r.Headers, api.HeaderOrganization)
		return map[string]any{"email": "megan." + strings.ToLower(domain.NewID()) + "@company.example", "name": "Megan Bowen", "role": "User", "portalAccess": true}
	},
	"portal-users-update": func(t *testing.T, f *faultRun, r *faultReq) any {
		r.Token = f.world.portalCompany(t, f.org.ID).tokens[string(domain.CompanyAdmin)]
		delete(r.Headers, api.HeaderOrganization)
		return map[string]any{"email": "renamed." + strings.ToLower(domain.NewID()) + "@company.example", "name": "Renamed", "role": "Manager"}
	},
	"onboarding-steps-complete": func(*testing.T, *faultRun, *faultReq) any { return nil },
	"onboarding-steps-reopen": func(t *testing.T, f *faultRun, _ *faultReq) any {
		mark := &domain.OnboardingMark{CompletedAt: time.Now().UTC(), CompletedBy: f.org.OwnerEmail}
		if _, err := f.store.MarkOnboardingStep(context.Background(), f.org.ID, domain.StepCompanyUsers, false, mark,
			audit.Event{Category: audit.Settings, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
		return nil
	},
	"approvals-approve": func(*testing.T, *faultRun, *faultReq) any { return map[string]any{} },
	"approvals-reject": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"reason": "Too short for the night shift"}
	},
	"authentication-sso-put": func(*testing.T, *faultRun, *faultReq) any {
		return map[string]any{"entraTenantId": "11111111-2222-3333-4444-555555555555", "clientId": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
			"clientSecret": "sample-client-secret-value", "domains": []any{"c" + strings.ToLower(domain.NewID())[:12] + ".example"}}
	},
}

// faultPrepare adjusts the fixtures of every case of a route.
var faultPrepare = map[string]func(t *testing.T, f *faultRun, r *faultReq){
	// The tenant's Microsoft 365 connection, whose readings then move its customer's
	// counters and the organization's licenses.
	"tenants-refresh": func(t *testing.T, f *faultRun, r *faultReq) {
		customer := fixtures["customerId"](t, f.world, f.org.ID, nil)
		tenant := fixtureTenant(t, f.world, f.org.ID, map[string]string{"customerId": customer})
		fixtureM365Connection(t, f.world, f.org.ID, tenant)
		r.params["tenantId"] = tenant
	},
	// An invitation sent an hour ago: its resend moves every time it holds (whether a
	// time to the second changes must not depend on the clock).
	"platform-users-resend": func(t *testing.T, f *faultRun, r *faultReq) {
		sent := time.Now().UTC().Add(-time.Hour)
		_, hash := domain.NewInvitationToken()
		inv := domain.Invitation{ID: domain.NewID(), OrganizationID: f.org.ID, Email: domain.NewID() + "@invitee.example",
			Role: permission.Technician, TenantScope: domain.AllTenantsScope(),
			InvitedBy: domain.Inviter{UserID: "fixture", Email: f.org.OwnerEmail, Name: "Owner"}, Status: domain.InvitationPending,
			CreatedAt: sent, SentAt: sent, ExpiresAt: sent.Add(domain.InvitationTTL), TokenHash: hash}
		if err := f.store.CreateInvitation(context.Background(), inv, audit.Event{Category: audit.UserManagement, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
		r.params["id"] = inv.ID
	},
}

// faultVariants are the routes' other cases: states that take other code paths.
var faultVariants = map[string][]faultVariant{
	// The sign-in is written in each organization of the caller's, in one transaction.
	"sessions-create": {{name: "a member of two organizations", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		other := f.env.NewOrg("owner-" + strings.ToLower(domain.NewID()) + "@faults.example")
		m := domain.Membership{OrganizationID: other.ID, UserID: getMe(t, f.env, r.Token).User.ID, Email: f.org.OwnerEmail,
			Name: "Owner", Role: permission.Technician, TenantScope: domain.AllTenantsScope(), JoinedAt: time.Now().UTC()}
		if err := f.store.PutMember(context.Background(), m, audit.Event{Category: audit.UserManagement, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
	}}},
	"platform-users-update": {{name: "a member who manages platform users", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		r.params["id"] = f.member(t, permission.Administrator)
	}}},
	// The default admin, still a member, gets a new temporary password: Cognito and SES
	// on moto, so only where moto runs.
	"sub-organizations-admins-reset": {{name: "a member admin's password", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		if !f.suite.moto {
			t.Skip("moto is not running: no user pool to reset a password in")
		}
		sub := newSubOrg(t, f.store, f.org.ID, "Reset Ltd")
		r.params["subOrgId"], r.params["userId"] = sub.ID, sub.DefaultAdmin.UserID
	}}},
	// A sub-organization's usage rolls up to its parent in the same transaction.
	"tenants-create": {{name: "in a sub-organization, supporting it", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		r.Headers[api.HeaderOrganization] = newSubOrg(t, f.store, f.org.ID, "Supported Ltd").ID
	}}},
	"platform-users-remove": {{name: "a member who manages platform users", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		r.params["id"] = f.member(t, permission.Administrator)
	}}, {name: "a member of a sub-organization, supporting it", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		sub := newSubOrg(t, f.store, f.org.ID, "Supported Ltd")
		f.env.AddMember(sub.ID, permission.Administrator, "second-"+strings.ToLower(domain.NewID())+"@sub.example")
		r.Headers[api.HeaderOrganization], r.params["id"] = sub.ID, sub.DefaultAdmin.UserID
	}}},
	// A Technician's order waits, and the approvers are emailed.
	"license-orders-create": {{name: "by a Technician: pending", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		r.Token = f.env.AddMember(f.org.ID, permission.Technician, "tech-"+strings.ToLower(domain.NewID())+"@faults.example")
	}}, {name: "in a sub-organization, supporting it: the parent's totals move", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		r.Headers[api.HeaderOrganization] = newSubOrg(t, f.store, f.org.ID, "Supported Ltd").ID
	}}},
	// Approving moves the customer's counters, and a sub-organization's parent's totals.
	"license-orders-approve": {{name: "a tenant of a customer in a sub-organization, supporting it", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		sub := newSubOrg(t, f.store, f.org.ID, "Supported Ltd").ID
		customer := fixtures["customerId"](t, f.world, sub, nil)
		r.params["orderId"] = fixtureOrder(t, f.store, sub, fixtureTenant(t, f.world, sub, map[string]string{"customerId": customer}))
		r.Headers[api.HeaderOrganization] = sub
	}}},
	// Each held action, performed in the transaction of its approval.
	"approvals-approve": {
		{name: "a held customer deletion", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
			customer := fixtures["customerId"](t, f.world, f.org.ID, nil)
			fixtureContact(t, f.world, f.org.ID, map[string]string{"customerId": customer})
			r.params["approvalId"] = fixtureHeld(t, f.store, f.org.ID, domain.ActionDeleteCustomer, domain.HeldAction{CustomerID: customer})
		}},
		{name: "a held removal of a member", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
			r.params["approvalId"] = fixtureHeld(t, f.store, f.org.ID, domain.ActionRemoveMember,
				domain.HeldAction{PlatformUserID: f.member(t, permission.Administrator)})
		}},
		{name: "a held invitation of an Administrator", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
			r.params["approvalId"] = fixtureHeld(t, f.store, f.org.ID, domain.ActionGrantAdministrator, domain.HeldAction{
				Email: "new-admin-" + strings.ToLower(domain.NewID()) + "@faults.example", DisplayName: "New Admin",
				Access: &domain.Access{Role: permission.Administrator, TenantScope: domain.AllTenantsScope()}})
		}},
		{name: "a held promotion to Administrator", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
			r.params["approvalId"] = fixtureHeld(t, f.store, f.org.ID, domain.ActionGrantAdministrator, domain.HeldAction{
				PlatformUserID: f.member(t, permission.Technician),
				Access:         &domain.Access{Role: permission.Administrator, TenantScope: domain.AllTenantsScope()}})
		}},
	},
	// Held instead of happening: only the approval and its event are written.
	"customers-delete": {{name: "held for approval", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		requireApproval(t, f, domain.ActionDeleteCustomer)
	}}, {name: "with contacts, tickets, documents and activity", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		p := map[string]string{"customerId": r.params["customerId"]}
		fixtureContact(t, f.world, f.org.ID, p)
		fixtureTicket(t, f.world, f.org.ID, p)
		fixtureDocument(t, f.world, f.org.ID, p)
		ev := audit.Event{Category: audit.Customer, Action: "fixture", Targets: audit.Targets{CustomerIDs: []string{r.params["customerId"]}}}
		if err := f.store.CreateContact(context.Background(), f.org.ID, domain.Contact{ID: domain.NewID(), CustomerID: r.params["customerId"],
			Name: "Second contact", EscalationOrder: 2, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}, ev); err != nil {
			t.Fatal(err)
		}
	}}},
	"tenants-update": {{name: "a tenant of a customer", prepare: func(t *testing.T, f *faultRun, r *faultReq) {
		customer := fixtures["customerId"](t, f.world, f.org.ID, nil)
		if _, err := f.store.AssociateTenant(context.Background(), f.org.ID, customer, r.params["tenantId"],
			audit.Event{Category: audit.Tenant, Action: "fixture"}); err != nil {
			t.Fatal(err)
		}
	}}},
}

// faultRetry is the production retryer (attempts, retryable errors, quota) with waits
// of milliseconds.
var faultRetry = awsconfig.Retry{MaxAttempts: awsconfig.DefaultRetry.MaxAttempts, BaseDelay: time.Millisecond,
	ThrottleBaseDelay: 2 * time.Millisecond, MaxBackoff: 5 * time.Millisecond}

// faultSuite runs one case of one route: the fault-free request, then one request per
// fault, each on a fresh table.
type faultSuite struct {
	rt       api.Route
	variant  faultVariant
	inj      *faults.Injector
	cfg      aws.Config
	endpoint string
	signer   *devauth.Signer
	verifier *auth.Verifier
	// table is the case's table: its runs follow each other, each with its own
	// organization and users, and each compares the table before and after itself.
	table string
	// moto: SES and Cognito on moto (MOTO_ENDPOINT), else the outbox and no user pool.
	moto                  bool
	motoEndpoint, sesFrom string
	poolID, appClientID   string
	tokenEngine           bool
}

func newFaultSuite(t *testing.T, rt api.Route, v faultVariant) *faultSuite {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &faultSuite{rt: rt, variant: v, inj: faults.New(), endpoint: os.Getenv(awsconfig.EnvDynamoDBEndpoint)}
	if s.endpoint == "" {
		s.endpoint = testenv.EmbeddedEndpoint()
	}
	// DynamoDB Local honours ClientRequestToken; the embedded engine does not.
	s.tokenEngine = testenv.Engine() == "dynamodb-local"
	cfg, err := awsconfig.Load(ctx, awsconfig.WithRetry(faultRetry))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	cfg.APIOptions = append(cfg.APIOptions, s.inj.APIOption)
	s.cfg = cfg
	if s.signer, err = devauth.NewSigner(); err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(s.signer.JWKS())
	t.Cleanup(jwks.Close)
	if s.verifier, err = devauth.NewVerifier(ctx, jwks.URL); err != nil {
		t.Fatal(err)
	}
	if ep := os.Getenv("MOTO_ENDPOINT"); ep != "" && (rt.Function == "platform-users-invite" || rt.Function == "platform-users-resend" ||
		rt.Function == "platform-users-remove" || rt.Function == "authentication-sso-put" ||
		rt.Function == "sub-organizations-create" || rt.Function == "sub-organizations-admins-reset" ||
		rt.Function == "license-orders-create" || rt.Function == "approvals-approve") {
		s.moto, s.motoEndpoint = true, ep
		ses := sesmail.NewClient(cfg, ep)
		sender := "mail-" + strings.ToLower(domain.NewID()) + ".example"
		if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
			t.Fatal(err)
		}
		s.sesFrom = "Switchboard <no-reply@" + sender + ">"
		_, s.poolID, s.appClientID = cognitoPool(t)
	}
	return s
}

// faultRun is one request's world: a fresh table, the API over it, an organization.
type faultRun struct {
	suite *faultSuite
	store *store.Store
	env   *testenv.Env
	world *world
	org   testenv.Org
}

func (s *faultSuite) newRun(t *testing.T) *faultRun {
	// A client per run: its own retry quota, as a fresh Lambda has.
	db := dynamodb.NewFromConfig(s.cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(s.endpoint)
		o.DisableValidateResponseChecksum = true
	})
	if s.table == "" {
		s.table = testenv.NewTable(t, db).TableName()
	}
	st := store.New(db, s.table)
	deps := api.NewDeps(st, "https://console.test")
	box := &outbox.Outbox{}
	deps.Mail = box
	if s.moto {
		deps.Mail = sesmail.New(sesmail.NewClient(s.cfg, s.motoEndpoint), s.sesFrom)
		c := cip.NewFromConfig(s.cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(s.motoEndpoint) })
		deps.Identity = cognito.New(c, s.poolID).WithAppClient(s.appClientID)
	}
	if strings.HasPrefix(s.rt.Function, "customers-documents-") {
		deps.Objects = fakes3.Start(t)
	}
	srv := httptest.NewServer(s.inj.Scope(devauth.Verify(s.verifier, api.Handler(deps))))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = deps.Jobs.Close(ctx)
	})
	env := &testenv.Env{T: t, Store: st, Deps: deps, Signer: s.signer, Server: srv, Outbox: box, Graph: testenv.StartGraph(t, deps)}
	f := &faultRun{suite: s, store: st, env: env, world: &world{env: env}}
	f.org = env.NewOrg("owner-" + strings.ToLower(domain.NewID()) + "@faults.example")
	return f
}

// member adds a member of role and returns their user id.
func (f *faultRun) member(t *testing.T, role permission.Role) string {
	email := "member-" + strings.ToLower(domain.NewID()) + "@faults.example"
	tok := f.env.AddMember(f.org.ID, role, email)
	return getMe(t, f.env, tok).User.ID
}

// invitation makes a pending invitation of the run's organization for email and returns
// its token.
func (f *faultRun) invitation(t *testing.T, email string) string {
	now := time.Now().UTC()
	token, hash := domain.NewInvitationToken()
	inv := domain.Invitation{ID: domain.NewID(), OrganizationID: f.org.ID, Email: email, Role: permission.Technician,
		TenantScope: domain.AllTenantsScope(), InvitedBy: domain.Inviter{UserID: "fixture", Email: f.org.OwnerEmail, Name: "Owner"},
		Status: domain.InvitationPending, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(domain.InvitationTTL), TokenHash: hash}
	if err := f.store.CreateInvitation(context.Background(), inv, audit.Event{Category: audit.UserManagement, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return token
}

// request builds the case's request on the run's fixtures and warms its caller's
// session, so that the request itself writes no session activity.
func (f *faultRun) request(t *testing.T) testenv.Request {
	rt := f.suite.rt
	r := &faultReq{Request: testenv.Request{Method: rt.Method, Token: f.org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: f.org.ID}}, params: map[string]string{}}
	for _, name := range rt.PathParams() {
		fx, ok := fixtures[name]
		if !ok {
			t.Fatalf("route %s has path parameter {%s} without a fixture in authz_test.go", rt.Pattern(), name)
		}
		r.params[name] = fx(t, f.world, f.org.ID, r.params)
	}
	if prepare := faultPrepare[rt.Function]; prepare != nil {
		prepare(t, f, r)
	}
	if f.suite.variant.prepare != nil {
		f.suite.variant.prepare(t, f, r)
	}
	r.Path = rt.Path
	for name, v := range r.params {
		r.Path = strings.Replace(r.Path, "{"+name+"}", v, 1)
	}
	if rt.Portal() {
		// A portal request is a company user's (the body's maker may pick another role).
		r.Token = f.world.portalCompany(t, f.org.ID).tokens[string(domain.CompanyAdmin)]
		delete(r.Headers, api.HeaderOrganization)
	}
	if rt.Method != http.MethodDelete {
		body, ok := faultBodies[rt.Function]
		if !ok {
			t.Fatalf("route %s has no body of a successful request in faultBodies (faults_test.go)", rt.Pattern())
		}
		r.Body = body(t, f, r)
	}
	if rt.Permission == permission.Public {
		r.Token = ""
		delete(r.Headers, api.HeaderOrganization)
	} else {
		// The caller's session is seen, in this process, before the request.
		warm := "/api/msp-portal/settings/profile"
		if rt.Portal() {
			warm = "/api/portal/training"
		}
		if res := f.env.Get(warm, r.Token); res.Status != http.StatusOK {
			t.Fatalf("warm the session: %d %s", res.Status, res.Body)
		}
	}
	if rt.Method == http.MethodPost && rt.Permission != permission.Public {
		r.Headers[api.HeaderIdempotencyKey] = "faults-" + domain.NewID()
	}
	return r.Request
}

// do sends req under plan and waits for the jobs it started.
func (f *faultRun) do(t *testing.T, req testenv.Request, plan faults.Plan) *testenv.Response {
	f.suite.inj.Arm(plan)
	res := f.env.Do(req)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.env.Deps.Jobs.Idle(ctx); err != nil {
		t.Fatalf("jobs did not finish: %v", err)
	}
	return res
}

// faultMode is one way of failing a call.
type faultMode struct {
	kind       faults.Kind
	persistent bool
}

func (m faultMode) String() string {
	if m.persistent {
		return m.kind.String()
	}
	return m.kind.String() + " once"
}

// modes are the faults tried on call c: throttles and 500s on every attempt (the
// request fails) and on the first only (the retryer recovers); for writes, an answer
// lost after the service applied the call; for transactions, conflicts.
func (s *faultSuite) modes(c faults.Call) []faultMode {
	throttle := faults.Throttle
	if c.Service == "DynamoDB" {
		throttle = faults.Capacity
	}
	out := []faultMode{{faults.Throttle, true}, {faults.Internal, true}, {throttle, false}}
	// The embedded engine ignores ClientRequestToken, and the SDK's repeat of a
	// transaction it applied breaks its state (later Queries fail validation):
	// answers lost after a transaction are tried on DynamoDB Local, which keeps the
	// token as DynamoDB does.
	if writes(c) && (s.tokenEngine || c.Operation != "TransactWriteItems") {
		out = append(out, faultMode{faults.LostResponse, true}, faultMode{faults.LostResponse, false})
	}
	if c.Operation == "TransactWriteItems" {
		out = append(out, faultMode{faults.Conflict, true}, faultMode{faults.Conflict, false})
	}
	return out
}

func writes(c faults.Call) bool {
	for _, p := range []string{"Get", "Query", "Scan", "BatchGet", "TransactGet", "Describe", "List"} {
		if strings.HasPrefix(c.Operation, p) {
			return false
		}
	}
	return true
}

// run runs the case and returns the number of requests sent with a fault.
func (s *faultSuite) run(t *testing.T) int {
	base := s.newRun(t)
	req := base.request(t)
	before := snapshotTable(t, base.store)
	ok := base.do(t, req, faults.Plan{})
	calls := s.inj.Calls()
	after := snapshotTable(t, base.store)
	checkTable(t, after)
	checkEpochs(t, before, after)
	success := changes(before, after)
	succeeded := ok.Status < 300
	if !succeeded && !(s.rt.Function == "authentication-sso-put" && ok.Status == http.StatusServiceUnavailable) {
		t.Fatalf("the fault-free request answered %d %s", ok.Status, ok.Body)
	}
	if !succeeded {
		success = nil // no user pool here: nothing to change
	} else {
		checkCategories(t, s.rt, strings.Contains(s.variant.name, "supporting"), before, after)
	}
	keyed := req.Headers[api.HeaderIdempotencyKey] != ""
	if keyed {
		checkIdemRecord(t, before, after, ok, true)
	}
	t.Logf("%d AWS calls: %v", len(calls), calls)
	seen := map[string]int{}
	n := 0
	for _, c := range calls {
		seen[c.String()]++
		for _, m := range s.modes(c) {
			plan := faults.Plan{Call: c.String(), N: seen[c.String()], Kind: m.kind, Persistent: m.persistent}
			t.Run(fmt.Sprintf("%s#%d %s", c, plan.N, m), func(t *testing.T) {
				s.runFault(t, plan, ok, success, keyed)
			})
			n++
		}
	}
	if len(calls) == 0 {
		t.Fatalf("the request made no AWS call")
	}
	return n
}

// runFault sends the case's request with one fault on fresh data and checks what it
// answered and left.
func (s *faultSuite) runFault(t *testing.T, plan faults.Plan, ok *testenv.Response, success []string, keyed bool) {
	f := s.newRun(t)
	req := f.request(t)
	before := snapshotTable(t, f.store)
	res := f.do(t, req, plan)
	after := snapshotTable(t, f.store)
	checkTable(t, after)
	checkEpochs(t, before, after)
	got := changes(before, after)
	faulted := 0
	for _, c := range s.inj.Calls() {
		faulted += c.Faulted
	}
	if faulted == 0 {
		t.Fatalf("no call was faulted (the request made %v)", s.inj.Calls())
	}
	whole := slices.Equal(got, success)
	switch {
	case !plan.Persistent:
		// The retryer absorbs a fault of one attempt.
		if res.Status != ok.Status || !whole {
			t.Fatalf("a fault of the first attempt was not absorbed: %d %s; table changes %v, the fault-free request's %v",
				res.Status, res.Body, got, success)
		}
	case res.Status < 300:
		if !whole {
			t.Fatalf("answered %d but the table changes %v; the fault-free request's are %v", res.Status, got, success)
		}
	case ok.Status >= 300 && res.Status == ok.Status && code(t, res) == code(t, ok) && len(got) == 0:
		// The fault-free request's own refusal (authentication-sso-put without a user
		// pool: 503 sso-unavailable, which no retry cures): the fault fell on a call
		// beside its path, such as the call's count, which runs alongside the request
		// here and in no fixed order with its other calls.
	case res.Status == http.StatusServiceUnavailable:
		checkUnavailable(t, res)
		if len(got) > 0 && !whole {
			t.Fatalf("answered 503 with part of the change: %v; the whole change is %v", got, success)
		}
	case res.Status == http.StatusConflict && plan.Kind == faults.Conflict && code(t, res) == "tenant-busy":
		// The documented answer of a tenant that concurrent writers keep changing.
		if len(got) > 0 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("tenant-busy with changes %v, Retry-After %q", got, res.Header.Get("Retry-After"))
		}
	default:
		t.Fatalf("answered %d %s; a fault answers 503 with Retry-After", res.Status, res.Body)
	}
	if !keyed {
		return
	}
	checkIdemRecord(t, before, after, res, len(got) > 0)
	if !plan.Persistent {
		return
	}
	// The client repeats the request with the same key, without a fault.
	again := f.do(t, req, faults.Plan{})
	final := snapshotTable(t, f.store)
	checkTable(t, final)
	checkEpochs(t, before, final)
	if all := changes(before, final); !slices.Equal(all, success) {
		t.Fatalf("after the repeat (%d %s) the table changes %v; one request changes %v", again.Status, again.Body, all, success)
	}
	replayed := again.Header.Get("Idempotent-Replayed") == "true"
	switch {
	case res.Status < 300:
		rec, _ := idemRecord(before, after)
		if rec.Applied() {
			// The response could not be stored (the fault hit that write): the change
			// is applied once, and the repeat says the response is not kept.
			if again.Status != http.StatusConflict || code(t, again) != "idempotency-key-in-progress" {
				t.Fatalf("repeat of an applied request whose response was not stored: %d %s", again.Status, again.Body)
			}
			return
		}
		if !replayed || again.Status != res.Status || string(again.Body) != string(res.Body) {
			t.Fatalf("repeat of %d %s answered %d %s (replayed %v), not the first answer", res.Status, res.Body,
				again.Status, again.Body, replayed)
		}
	case len(got) == 0:
		if again.Status != ok.Status || replayed {
			t.Fatalf("repeat after a failure that changed nothing answered %d %s (replayed %v), not a fresh success",
				again.Status, again.Body, replayed)
		}
	default:
		t.Fatalf("a keyed request answered %d %s after its change committed", res.Status, res.Body)
	}
}

// checkUnavailable: a fault's answer is a problem document, a 503 with Retry-After,
// with no word of the SDK's.
func checkUnavailable(t *testing.T, res *testenv.Response) {
	t.Helper()
	if res.Status != http.StatusServiceUnavailable {
		t.Fatalf("answered %d %s; a fault answers 503", res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("503 with Content-Type %q", ct)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra <= 0 {
		t.Fatalf("503 without a Retry-After: %q", res.Header.Get("Retry-After"))
	}
	doc := res.Map(t)
	delete(doc, "instance") // the path, with ids in it
	body := strings.ToLower(canonical(doc))
	for _, leak := range []string{"operation error", "statuscode", "requestid", "exception", "internalservererror",
		"internalfailure", "throughput", "api error", "https response", "faults-injected", "dynamodb", "cognito", "sesv2",
		"attempts", "retry quota", "transaction"} {
		if strings.Contains(body, leak) {
			t.Fatalf("the 503 shows %q: %s", leak, res.Body)
		}
	}
}

// checkIdemRecord: a keyed POST leaves its key's record exactly when it changed the
// table (written in its change's transaction), or when it answered below 500.
func checkIdemRecord(t *testing.T, before, after tableSnapshot, res *testenv.Response, changed bool) {
	t.Helper()
	rec, has := idemRecord(before, after)
	switch {
	case changed && !has:
		t.Fatalf("the change was applied without its idempotency record (answered %d)", res.Status)
	case !changed && res.Status >= 500 && has:
		t.Fatalf("a failed request that changed nothing left an idempotency record %+v", rec)
	case has && !rec.Applied() && rec.Status != res.Status:
		t.Fatalf("the record holds %d, the request answered %d", rec.Status, res.Status)
	}
}

// tableSnapshot is every item of a table, by key, in a canonical form.
type tableSnapshot map[string]snapItem

type snapItem struct {
	typ   string
	attrs map[string]string // attribute → canonical JSON
	raw   map[string]any
}

func snapshotTable(t *testing.T, st *store.Store) tableSnapshot {
	t.Helper()
	out := tableSnapshot{}
	var start map[string]dynamoAttr
	for {
		page, err := st.Client().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(st.TableName()),
			ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			si := snapItem{attrs: map[string]string{}, raw: map[string]any{}}
			for k, v := range it {
				si.raw[k] = plain(v)
				si.attrs[k] = canonical(si.raw[k])
			}
			si.typ, _ = si.raw[store.AttrType].(string)
			out[si.raw[store.AttrPK].(string)+"|"+si.raw[store.AttrSK].(string)] = si
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out
		}
		start = page.LastEvaluatedKey
	}
}

// changes lists what a request changed: items added (+type), deleted (-type) and
// changed (~type), sorted; the idempotency record is left out (checked on
// its own), and so are session activity and the API-call counters (metering, written
// concurrently with the request and counted by billing_test.go).
func changes(before, after tableSnapshot) []string {
	var out []string
	side := func(it snapItem) bool { return it.typ == "Idempotency" || it.typ == "Session" || it.typ == "APICalls" }
	for k, a := range after {
		b, ok := before[k]
		switch {
		case side(a):
		case !ok:
			out = append(out, "+"+a.typ)
		default:
			var diff []string
			for name, v := range a.attrs {
				if b.attrs[name] != v {
					diff = append(diff, name)
				}
			}
			for name := range b.attrs {
				if _, ok := a.attrs[name]; !ok {
					diff = append(diff, name)
				}
			}
			if len(diff) > 0 {
				// By type only: which attributes change can depend on the clock (a
				// key holding a time to the second), not on what the request did.
				out = append(out, "~"+a.typ)
			}
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok && !side(b) {
			out = append(out, "-"+b.typ)
		}
	}
	sort.Strings(out)
	return out
}

// idemRecord is the idempotency record a request wrote: new or changed in after.
func idemRecord(before, after tableSnapshot) (store.IdempotentResult, bool) {
	for k, it := range after {
		if b, ok := before[k]; ok && canonical(b.raw) == canonical(it.raw) {
			continue
		}
		if it.typ == "Idempotency" {
			var r store.IdempotentResult
			r.Fingerprint, _ = it.raw["fingerprint"].(string)
			r.RequestID, _ = it.raw["requestId"].(string)
			if n, ok := it.raw["status"].(float64); ok {
				r.Status = int(n)
			}
			return r, true
		}
	}
	return store.IdempotentResult{}, false
}

// TestIdempotencyKeyConcurrentDuplicates: the same keyed POST sent several times at once
// makes one customer; every answer is that request's (fresh or replayed) or asks to
// repeat in a moment.
func TestIdempotencyKeyConcurrentDuplicates(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@idem-race.example")
	req := testenv.Request{Method: http.MethodPost, Path: "/api/msp-portal/customers", Token: org.OwnerToken,
		Body:    map[string]any{"name": "Raced Ltd", "externalId": "RACE-1"},
		Headers: map[string]string{api.HeaderOrganization: org.ID, api.HeaderIdempotencyKey: "race-" + domain.NewID()}}
	const n = 6
	answers := make([]*testenv.Response, n)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = env.Do(req)
		}()
	}
	wg.Wait()
	var created string
	for _, res := range answers {
		switch {
		case res.Status == http.StatusCreated:
			if created != "" && string(res.Body) != created {
				t.Fatalf("two different answers:\n%s\n%s", created, res.Body)
			}
			created = string(res.Body)
		case res.Status == http.StatusConflict && code(t, res) == "idempotency-key-in-progress" && res.Header.Get("Retry-After") != "":
		default:
			t.Fatalf("answered %d %s", res.Status, res.Body)
		}
	}
	list := env.Get("/api/msp-portal/customers", org.OwnerToken, api.HeaderOrganization, org.ID)
	var page struct{ Items []struct{ Name string } }
	list.JSON(t, &page)
	if created == "" || len(page.Items) != 1 {
		t.Fatalf("%d customers (first answer %q)", len(page.Items), created)
	}
	// Once settled, a repeat replays the first answer.
	if again := env.Do(req); again.Status != http.StatusCreated || string(again.Body) != created ||
		again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d %s", again.Status, again.Body)
	}
}

// requireApproval makes the run's organization hold action for approval.
func requireApproval(t *testing.T, f *faultRun, action domain.ApprovalAction) {
	t.Helper()
	if _, err := f.store.UpdateOrganization(context.Background(), f.org.ID, nil, func(o *domain.Organization) (audit.Event, error) {
		o.Profile.RequireApprovalFor = []domain.ApprovalAction{action}
		return audit.Event{Category: audit.Settings, Action: "fixture"}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// fixtureHeld writes a pending held action of orgID, requested by someone else.
func fixtureHeld(t *testing.T, st *store.Store, orgID string, action domain.ApprovalAction, req domain.HeldAction) string {
	t.Helper()
	now := time.Now().UTC()
	a := domain.Approval{ID: domain.NewApprovalID(now), OrganizationID: orgID, Action: action, Status: domain.ApprovalPending,
		Summary: string(action), RequestedBy: fixtureRequester, RequestedAt: now, ExpiresAt: now.Add(domain.ApprovalTTL), Request: &req}
	if _, err := st.CreateApproval(context.Background(), a, audit.Event{Category: audit.Approval, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return a.ID
}
