package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

const approvalsPath = "/api/approvals"

// holdAll makes orgID hold every action for approval, through the profile.
func holdAll(t *testing.T, env *testenv.Env, token, orgID string) {
	t.Helper()
	p := env.Get("/api/msp-portal/settings/profile", token, api.HeaderOrganization, orgID).Map(t)
	p["requireApprovalFor"] = []string{"remove-member", "delete-customer", "change-authentication-settings", "grant-administrator"}
	res := env.Do(testenv.Request{Method: http.MethodPut, Path: "/api/msp-portal/settings/profile", Token: token, Body: p,
		Headers: map[string]string{api.HeaderOrganization: orgID}})
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body),
		`"requireApprovalFor":["delete-customer","grant-administrator","remove-member","change-authentication-settings"]`) {
		t.Fatalf("require approval: %d %s", res.Status, res.Body)
	}
}

type approvalView struct {
	ID, Action, Status, Summary string
	RequestedBy, DecidedBy      *domain.Inviter
}

// TestHeldActions takes each held action through its route: it is answered 202 with a
// pending approval and does not happen; another Administrator approves it and it
// happens, audited in the categories of both; the requester cannot approve it.
func TestHeldActions(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@litware.example")
	admin := env.AddMember(org.ID, permission.Administrator, "admin@litware.example")
	w := &world{env: env}
	tech := env.AddMember(org.ID, permission.Technician, "tech@litware.example")
	techID := getMe(t, env, tech).User.ID
	leaver := env.AddMember(org.ID, permission.ReadOnly, "leaver@litware.example")
	leaverID := getMe(t, env, leaver).User.ID
	customer := fixtures["customerId"](t, w, org.ID, nil)
	holdAll(t, env, org.OwnerToken, org.ID)
	at := func(token, method, path string, body any) *testenv.Response {
		return env.Do(testenv.Request{Method: method, Path: path, Token: token, Body: body, Headers: map[string]string{api.HeaderOrganization: org.ID}})
	}
	tests := []struct {
		name     string
		action   string
		take     func() *testenv.Response
		happened func() bool
		category audit.Category
	}{
		{"delete a customer", "delete-customer",
			func() *testenv.Response {
				return at(org.OwnerToken, http.MethodDelete, "/api/msp-portal/customers/"+customer, nil)
			},
			func() bool {
				_, err := env.Store.GetCustomer(context.Background(), org.ID, customer)
				return err != nil
			}, audit.Customer},
		{"invite an Administrator", "grant-administrator",
			func() *testenv.Response {
				return at(org.OwnerToken, http.MethodPost, "/api/settings/platform-users", map[string]any{"email": "new.admin@litware.example", "role": "Administrator"})
			},
			func() bool {
				m := env.Outbox.Messages()
				return len(m) > 0 && m[0].To[0] == "new.admin@litware.example"
			}, audit.UserManagement},
		{"make a Technician an Administrator", "grant-administrator",
			func() *testenv.Response {
				return at(org.OwnerToken, http.MethodPut, "/api/settings/platform-users/"+techID, map[string]any{"role": "Administrator"})
			},
			func() bool {
				m, err := env.Store.GetMember(context.Background(), org.ID, techID)
				return err == nil && m.Role == permission.Administrator
			}, audit.UserManagement},
		{"remove a member", "remove-member",
			func() *testenv.Response {
				return at(org.OwnerToken, http.MethodDelete, "/api/settings/platform-users/"+leaverID, nil)
			},
			func() bool {
				_, err := env.Store.GetMember(context.Background(), org.ID, leaverID)
				return err != nil
			}, audit.UserManagement},
		{"change the authentication settings", "change-authentication-settings",
			func() *testenv.Response {
				return at(org.OwnerToken, http.MethodPut, "/api/settings/authentication",
					map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 45})
			},
			func() bool {
				o, err := env.Store.GetOrganization(context.Background(), org.ID)
				return err == nil && o.Profile.Authentication.SessionTimeoutMinutes == 45
			}, audit.Settings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.take()
			if res.Status != http.StatusAccepted {
				t.Fatalf("held: %d %s", res.Status, res.Body)
			}
			var a approvalView
			res.JSON(t, &a)
			if a.Action != tt.action || a.Status != domain.ApprovalPending || res.Header.Get("Location") != approvalsPath+"/"+a.ID || tt.happened() {
				t.Fatalf("held %s (Location %q); happened: %v", res.Body, res.Header.Get("Location"), tt.happened())
			}
			if res := at(org.OwnerToken, http.MethodPost, approvalsPath+"/"+a.ID+"/approve", nil); res.Status != http.StatusForbidden ||
				!strings.Contains(string(res.Body), "self-approval") {
				t.Errorf("the requester approves: %d %s", res.Status, res.Body)
			}
			res = at(admin, http.MethodPost, approvalsPath+"/"+a.ID+"/approve", nil)
			if res.Status != http.StatusOK || !tt.happened() {
				t.Fatalf("approved: %d %s; happened: %v", res.Status, res.Body, tt.happened())
			}
			evs, _, err := env.Store.ListAudit(context.Background(), org.ID, store.Page{Limit: 2})
			if err != nil || len(evs) != 2 {
				t.Fatal(err)
			}
			// One transaction: the action's event and the approval's.
			cats := []audit.Category{evs[0].Category, evs[1].Category}
			if !slices.Contains(cats, audit.Approval) || !slices.Contains(cats, tt.category) {
				t.Errorf("newest events %s/%s and %s/%s", evs[0].Category, evs[0].Action, evs[1].Category, evs[1].Action)
			}
		})
	}
	var l struct{ Items []approvalView }
	env.Get(approvalsPath+"?status=approved", admin, api.HeaderOrganization, org.ID).JSON(t, &l)
	if len(l.Items) != len(tests) {
		t.Errorf("%d approved, want %d", len(l.Items), len(tests))
	}
}

// TestApprovingChecksTheActionAgain: an approval performs its action on the state of
// now; what its route would refuse now is refused (409) and the request stays pending,
// to be rejected.
func TestApprovingChecksTheActionAgain(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@adatum.example")
	admin := env.AddMember(org.ID, permission.Administrator, "admin@adatum.example")
	w := &world{env: env}
	holdAll(t, env, org.OwnerToken, org.ID)
	at := func(token, method, path string, body any) *testenv.Response {
		return env.Do(testenv.Request{Method: method, Path: path, Token: token, Body: body, Headers: map[string]string{api.HeaderOrganization: org.ID}})
	}
	held := func(res *testenv.Response) string {
		t.Helper()
		if res.Status != http.StatusAccepted {
			t.Fatalf("held: %d %s", res.Status, res.Body)
		}
		var a approvalView
		res.JSON(t, &a)
		return a.ID
	}
	customer := fixtures["customerId"](t, w, org.ID, nil)
	deleteID := held(at(org.OwnerToken, http.MethodDelete, "/api/msp-portal/customers/"+customer, nil))
	fixtureTenant(t, w, org.ID, map[string]string{"customerId": customer})
	// The Owner asks to remove the Administrator, who may decide it: it is not their
	// own request, even though it is about them.
	adminID := getMe(t, env, admin).User.ID
	removeID := held(at(org.OwnerToken, http.MethodDelete, "/api/settings/platform-users/"+adminID, nil))
	gone := env.AddMember(org.ID, permission.ReadOnly, "gone@adatum.example")
	goneID := getMe(t, env, gone).User.ID
	removeGoneID := held(at(admin, http.MethodDelete, "/api/settings/platform-users/"+goneID, nil))
	if err := removeMember(env.Store, org.ID, goneID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, token, code string
	}{
		{"the customer gained a tenant", deleteID, admin, "customer-has-tenants"},
		{"the member is gone", removeGoneID, org.OwnerToken, "approval-target-gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := at(tt.token, http.MethodPost, approvalsPath+"/"+tt.id+"/approve", nil)
			if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), `"`+tt.code+`"`) {
				t.Fatalf("approve: %d %s, want 409 %s", res.Status, res.Body, tt.code)
			}
			var a approvalView
			env.Get(approvalsPath+"/"+tt.id, org.OwnerToken, api.HeaderOrganization, org.ID).JSON(t, &a)
			if a.Status != domain.ApprovalPending {
				t.Errorf("after a refused approval: %s", a.Status)
			}
			res = at(tt.token, http.MethodPost, approvalsPath+"/"+tt.id+"/reject", map[string]any{"reason": "no longer applies"})
			if res.Status != http.StatusOK {
				t.Errorf("reject: %d %s", res.Status, res.Body)
			}
		})
	}
	if res := at(admin, http.MethodPost, approvalsPath+"/"+removeID+"/approve", nil); res.Status != http.StatusOK {
		t.Errorf("approve the removal: %d %s", res.Status, res.Body)
	}
}

// TestRequireApprovalForIsASettingsChange: the list is validated, kept when a PUT
// omits it, audited, and keeps the profile from changing authentication behind it.
func TestRequireApprovalForIsASettingsChange(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@proseware.example")
	put := func(p map[string]any) *testenv.Response {
		return env.Do(testenv.Request{Method: http.MethodPut, Path: "/api/msp-portal/settings/profile", Token: org.OwnerToken, Body: p,
			Headers: map[string]string{api.HeaderOrganization: org.ID}})
	}
	get := func() map[string]any {
		p := env.Get("/api/msp-portal/settings/profile", org.OwnerToken, api.HeaderOrganization, org.ID).Map(t)
		delete(p, "version")
		return p
	}
	if p := get(); len(p["requireApprovalFor"].([]any)) != 0 {
		t.Fatalf("a new organization holds %v", p["requireApprovalFor"])
	}
	tests := []struct {
		name   string
		set    any // nil: omitted
		auth   map[string]any
		status int
		want   string
	}{
		{"an unknown action", []string{"delete-tenant"}, nil, http.StatusBadRequest, `"requireApprovalFor[0]"`},
		{"an action twice", []string{"remove-member", "remove-member"}, nil, http.StatusBadRequest, `"requireApprovalFor[1]"`},
		{"not a list", "remove-member", nil, http.StatusBadRequest, `"requireApprovalFor"`},
		{"two actions", []string{"change-authentication-settings", "remove-member"}, nil, http.StatusOK,
			`"requireApprovalFor":["remove-member","change-authentication-settings"]`},
		{"omitted: kept", nil, nil, http.StatusOK, `"requireApprovalFor":["remove-member","change-authentication-settings"]`},
		{"authentication changed while held", nil, map[string]any{"entraSsoEnabled": false, "requireMfa": true, "sessionTimeoutMinutes": 480},
			http.StatusConflict, `"approval-required"`},
		{"emptied", []string{}, nil, http.StatusOK, `"requireApprovalFor":[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := get()
			delete(p, "requireApprovalFor")
			if tt.set != nil {
				p["requireApprovalFor"] = tt.set
			}
			if tt.auth != nil {
				p["authentication"] = tt.auth
			}
			res := put(p)
			if res.Status != tt.status || !strings.Contains(string(res.Body), tt.want) {
				t.Errorf("%d %s, want %d with %s", res.Status, res.Body, tt.status, tt.want)
			}
		})
	}
	evs, _, err := env.Store.ListAudit(context.Background(), org.ID, store.Page{Limit: 1})
	if err != nil || len(evs) != 1 || evs[0].Category != audit.Settings || len(evs[0].Changes) != 1 || evs[0].Changes[0].Field != "requireApprovalFor" {
		t.Errorf("the last change's event %+v (%v)", evs, err)
	}
}
