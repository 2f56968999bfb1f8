package api_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

type platformUser struct {
	ID           string             `json:"id"`
	Kind         string             `json:"kind"`
	Email        string             `json:"email"`
	Role         string             `json:"role"`
	Permissions  []string           `json:"permissions"`
	TenantAccess domain.TenantScope `json:"tenantAccess"`
	Status       string             `json:"status"`
	ExpiresAt    *time.Time         `json:"expiresAt"`
	EmailError   string             `json:"emailError"`
	Version      int64              `json:"version"`
}

// team is an organization with its owner and two tenants, A and B.
type team struct {
	env              *testenv.Env
	org              testenv.Org
	tenantA, tenantB string
}

func guid(s string) string {
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(s)))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newTeam(t *testing.T, env *testenv.Env) team {
	t.Helper()
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("megan.bowen@contoso.example")
	tm := team{env: env, org: org}
	for i, name := range []string{"a", "b"} {
		res := env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants", Token: org.OwnerToken,
			Headers: map[string]string{api.HeaderOrganization: org.ID},
			Body: map[string]any{"entraTenantId": guid(name + org.ID), "primaryDomain": name + ".onmicrosoft.com",
				"displayName": "Tenant " + strings.ToUpper(name), "licensedUsers": 1, "securityScore": 50, "health": "healthy"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("create tenant: %d %s", res.Status, res.Body)
		}
		id, _ := res.Map(t)["id"].(string)
		if i == 0 {
			tm.tenantA = id
		} else {
			tm.tenantB = id
		}
	}
	return tm
}

func (tm team) do(method, path, tok string, body any) *testenv.Response {
	return tm.env.Do(testenv.Request{Method: method, Path: path, Token: tok, Body: body,
		Headers: map[string]string{api.HeaderOrganization: tm.org.ID}})
}

func (tm team) invite(t *testing.T, tok string, body map[string]any) (*testenv.Response, platformUser) {
	t.Helper()
	res := tm.do("POST", "/api/settings/platform-users", tok, body)
	var pu platformUser
	if res.Status == http.StatusCreated {
		res.JSON(t, &pu)
	}
	return res, pu
}

// tokenFromOutbox returns the accept token of the newest email to addr.
func tokenFromOutbox(t *testing.T, env *testenv.Env, addr string) (string, mail.Message) {
	t.Helper()
	for _, m := range env.Outbox.Messages() {
		if len(m.To) == 1 && m.To[0] == addr {
			if len(m.Links) != 1 {
				t.Fatalf("links %v", m.Links)
			}
			u, err := url.Parse(m.Links[0])
			if err != nil {
				t.Fatal(err)
			}
			return u.Query().Get("token"), m
		}
	}
	t.Fatalf("no email to %s in the outbox", addr)
	return "", mail.Message{}
}

func fieldNamed(t *testing.T, res *testenv.Response, field string) {
	t.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	res.JSON(t, &p)
	for _, e := range p.Errors {
		if e.Field == field {
			return
		}
	}
	t.Fatalf("problem does not name %s: %s", field, res.Body)
}

func code(t *testing.T, res *testenv.Response) string {
	t.Helper()
	c, _ := res.Map(t)["code"].(string)
	return c
}

// TestInvitationLifecycle is the "done when": invite, read the email, accept,
// see the organization, be limited by role and scope, be removed and refused.
func TestInvitationLifecycle(t *testing.T) {
	env := testenv.New(t)
	tm := newTeam(t, env)
	owner := tm.org.OwnerToken
	colleague := "lee.gu@contoso.example"

	res, inv := tm.invite(t, owner, map[string]any{"email": "Lee.Gu@Contoso.example", "displayName": "Lee Gu", "role": "Technician",
		"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []string{tm.tenantA}}})
	if res.Status != http.StatusCreated || inv.Status != domain.StatusInvited || inv.Email != colleague || inv.Kind != "invitation" {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	if inv.ExpiresAt == nil || time.Until(*inv.ExpiresAt) < domain.InvitationTTL-time.Minute {
		t.Fatalf("expires %v, want in 7 days", inv.ExpiresAt)
	}
	token, msg := tokenFromOutbox(t, env, colleague)
	if !domain.ValidInvitationToken(token) || !strings.HasPrefix(msg.Links[0], "https://console.test/invitations/accept?token=") {
		t.Fatalf("accept link %q", msg.Links[0])
	}
	for _, part := range []string{msg.Text, msg.HTML} {
		for _, want := range []string{"megan.bowen", "Technician", inv.ExpiresAt.UTC().Format("2006")} {
			if !strings.Contains(part, want) {
				t.Errorf("email part lacks %q:\n%s", want, part)
			}
		}
	}
	// The token is stored only as its hash.
	if e, err := env.Store.GetInvitation(context.Background(), tm.org.ID, inv.ID); err != nil || e.TokenHash != domain.HashInvitationToken(token) || strings.Contains(e.TokenHash, token) {
		t.Fatalf("stored invitation %+v, %v", e, err)
	}

	// The public lookup tells organization, inviter, role and expiry, and nothing else.
	look := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/lookup", Body: map[string]string{"token": token}})
	if m := look.Map(t); look.Status != http.StatusOK || len(m) != 4 || m["role"] != "Technician" || m["inviterName"] == "" {
		t.Fatalf("lookup: %d %s", look.Status, look.Body)
	}

	// Someone else cannot use the link.
	other := env.Token("mallory@contoso.example")
	if r := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/accept", Token: other, Body: map[string]string{"token": token}}); r.Status != http.StatusForbidden {
		t.Fatalf("accept as another email: %d %s", r.Status, r.Body)
	}
	leeTok := env.Token("LEE.GU@contoso.example")
	acc := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/accept", Token: leeTok, Body: map[string]string{"token": token}})
	if acc.Status != http.StatusOK {
		t.Fatalf("accept: %d %s", acc.Status, acc.Body)
	}
	// A retry by the same person answers the same; the switcher shows the organization.
	if again := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/accept", Token: leeTok, Body: map[string]string{"token": token}}); again.Status != http.StatusOK {
		t.Fatalf("accept again: %d %s", again.Status, again.Body)
	}
	m := getMe(t, env, leeTok)
	var found bool
	for _, o := range m.Organizations {
		found = found || o.ID == tm.org.ID && o.Role == permission.Technician && !o.Owner
	}
	if !found || m.ActiveOrganization == nil || m.ActiveOrganization.ID != tm.org.ID {
		t.Fatalf("switcher after accepting: %+v", m)
	}
	if r := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/lookup", Body: map[string]string{"token": token}}); r.Status != http.StatusConflict {
		t.Fatalf("lookup of a used token: %d %s", r.Status, r.Body)
	}

	// Role and scope limit the colleague as the seeds say.
	checks := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/api/msp-portal/tenants/" + tm.tenantA, nil, http.StatusOK},
		{"GET", "/api/msp-portal/tenants/" + tm.tenantB, nil, http.StatusNotFound},
		{"PUT", "/api/msp-portal/settings/profile", map[string]any{"companyName": "x"}, http.StatusForbidden},
		{"GET", "/api/settings/platform-users", nil, http.StatusForbidden},
		{"POST", "/api/settings/platform-users", map[string]any{"email": "x@contoso.example", "role": "Read-Only"}, http.StatusForbidden},
		{"POST", "/api/msp-portal/customers", map[string]any{"name": "Needs all tenants"}, http.StatusForbidden},
	}
	for _, c := range checks {
		if r := tm.do(c.method, c.path, leeTok, c.body); r.Status != c.want {
			t.Errorf("%s %s as the scoped Technician: %d, want %d: %s", c.method, c.path, r.Status, c.want, r.Body)
		}
	}
	list := tm.do("GET", "/api/settings/platform-users", owner, nil)
	var page struct{ Items []platformUser }
	list.JSON(t, &page)
	if len(page.Items) != 2 || page.Items[0].Status != domain.StatusActive || page.Items[1].Status != domain.StatusActive {
		t.Fatalf("team after accepting: %s", list.Body)
	}

	// Removal refuses their very next request.
	leeID := m.User.ID
	if r := tm.do("DELETE", "/api/settings/platform-users/"+leeID, owner, nil); r.Status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if r := tm.do("GET", "/api/msp-portal/tenants/"+tm.tenantA, leeTok, nil); r.Status != http.StatusNotFound {
		t.Fatalf("removed colleague: %d", r.Status)
	}

	// Every step is in the audit log as user management, with its change.
	events, _, err := env.Store.ListAudit(context.Background(), tm.org.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Category == audit.UserManagement {
			seen[ev.Action] = true
		}
	}
	for _, a := range []string{"invitation.create", "invitation.accept", "member.remove"} {
		if !seen[a] {
			t.Errorf("no %s audit event (have %v)", a, seen)
		}
	}
}

func TestInvitationRules(t *testing.T) {
	env := testenv.New(t)
	tm := newTeam(t, env)
	owner := tm.org.OwnerToken
	admin := env.AddMember(tm.org.ID, permission.Administrator, "alex.wilber@contoso.example")

	// Validation names each field; an unknown tenant in a scope fails closed.
	res, _ := tm.invite(t, owner, map[string]any{"email": "not-an-email", "role": "Owner"})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("bad invite: %d %s", res.Status, res.Body)
	}
	fieldNamed(t, res, "email")
	fieldNamed(t, res, "role")
	res, _ = tm.invite(t, owner, map[string]any{"email": "x@contoso.example", "role": "Technician",
		"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []string{tm.tenantA, "no-such-tenant"}}})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("unknown tenant: %d %s", res.Status, res.Body)
	}
	fieldNamed(t, res, "tenantAccess.tenantIds[1]")
	res, _ = tm.invite(t, owner, map[string]any{"email": "x@contoso.example", "role": "Custom"})
	fieldNamed(t, res, "permissions")

	// Omitted tenant access means all tenants.
	res, pu := tm.invite(t, owner, map[string]any{"email": "dup@contoso.example", "role": "Read-Only"})
	if res.Status != http.StatusCreated || pu.TenantAccess.Mode != permission.ScopeAll {
		t.Fatalf("invite without scope: %d %s", res.Status, res.Body)
	}
	// A second pending invitation for the email, or a member's email, is a conflict.
	if res, _ := tm.invite(t, admin, map[string]any{"email": "DUP@contoso.example", "role": "Technician"}); res.Status != http.StatusConflict || code(t, res) != "invitation-pending" {
		t.Fatalf("second invitation: %d %s", res.Status, res.Body)
	}
	if res, _ := tm.invite(t, owner, map[string]any{"email": "alex.wilber@contoso.example", "role": "Technician"}); res.Status != http.StatusConflict || code(t, res) != "already-member" {
		t.Fatalf("invite a member: %d %s", res.Status, res.Body)
	}

	// Resend rotates the token and restarts the 7 days; the old link stops working.
	oldToken, _ := tokenFromOutbox(t, env, "dup@contoso.example")
	r := tm.do("POST", "/api/settings/platform-users/"+pu.ID+"/resend", admin, nil)
	var resent platformUser
	r.JSON(t, &resent)
	if r.Status != http.StatusOK || resent.Version <= pu.Version || !resent.ExpiresAt.After(*pu.ExpiresAt) {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	newToken, _ := tokenFromOutbox(t, env, "dup@contoso.example")
	if newToken == oldToken {
		t.Fatal("resend kept the token")
	}
	if r := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/lookup", Body: map[string]string{"token": oldToken}}); r.Status != http.StatusNotFound {
		t.Fatalf("old token after resend: %d", r.Status)
	}
	// Changing the pending invitation's role, then revoking it.
	if r := tm.do("PUT", "/api/settings/platform-users/"+pu.ID, admin, map[string]any{"role": "Technician", "version": resent.Version}); r.Status != http.StatusOK || r.Map(t)["role"] != "Technician" {
		t.Fatalf("change the invitation: %d %s", r.Status, r.Body)
	}
	if r := tm.do("PUT", "/api/settings/platform-users/"+pu.ID, admin, map[string]any{"role": "Read-Only", "version": resent.Version}); r.Status != http.StatusConflict {
		t.Fatalf("stale version: %d %s", r.Status, r.Body)
	}
	if r := tm.do("DELETE", "/api/settings/platform-users/"+pu.ID, admin, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/lookup", Body: map[string]string{"token": newToken}}); r.Status != http.StatusNotFound {
		t.Fatalf("revoked token: %d", r.Status)
	}
	// After revoking, the email can be invited again.
	if res, _ := tm.invite(t, owner, map[string]any{"email": "dup@contoso.example", "role": "Read-Only"}); res.Status != http.StatusCreated {
		t.Fatalf("invite after revoking: %d %s", res.Status, res.Body)
	}

	// The Owner cannot be removed or demoted, not even by an Administrator.
	ownerID := getMe(t, env, owner).User.ID
	if r := tm.do("DELETE", "/api/settings/platform-users/"+ownerID, admin, nil); r.Status != http.StatusConflict || code(t, r) != "owner-protected" {
		t.Fatalf("remove the owner: %d %s", r.Status, r.Body)
	}
	if r := tm.do("PUT", "/api/settings/platform-users/"+ownerID, admin, map[string]any{"role": "Read-Only"}); r.Status != http.StatusConflict {
		t.Fatalf("demote the owner: %d %s", r.Status, r.Body)
	}
	// Another organization's ids are not found.
	other := env.NewOrg("boss@fabrikam.example")
	if r := env.Do(testenv.Request{Method: "DELETE", Path: "/api/settings/platform-users/" + ownerID, Token: other.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: other.ID}}); r.Status != http.StatusNotFound {
		t.Fatalf("another organization's member: %d", r.Status)
	}
}

// TestNoOneGrantsWhatTheyLack: a Custom manager scoped to tenant A can hand out only
// what it holds, inside its scope.
func TestNoOneGrantsWhatTheyLack(t *testing.T) {
	env := testenv.New(t)
	tm := newTeam(t, env)
	mgr := env.AddScopedMember(tm.org.ID, permission.Custom, domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{tm.tenantA}},
		"manager@contoso.example", permission.ManagePlatformUsers, permission.ViewData, permission.ManageUsers)
	cases := []struct {
		name  string
		body  map[string]any
		want  int
		field string
	}{
		{"a higher role", map[string]any{"email": "a@x.example", "role": "Administrator"}, http.StatusForbidden, "role"},
		{"a permission it lacks", map[string]any{"email": "b@x.example", "role": "Custom", "permissions": []string{"manage-billing"},
			"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []string{tm.tenantA}}}, http.StatusForbidden, "permissions"},
		{"a wider scope", map[string]any{"email": "c@x.example", "role": "Custom", "permissions": []string{"manage-users"},
			"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []string{tm.tenantA, tm.tenantB}}}, http.StatusForbidden, "tenantAccess"},
		{"all tenants", map[string]any{"email": "d@x.example", "role": "Custom", "permissions": []string{"view-data"}}, http.StatusForbidden, "tenantAccess"},
		{"within its own", map[string]any{"email": "e@x.example", "role": "Custom", "permissions": []string{"view-data", "manage-users"},
			"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []string{tm.tenantA}}}, http.StatusCreated, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, _ := tm.invite(t, mgr, c.body)
			if res.Status != c.want {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			if c.field != "" {
				fieldNamed(t, res, c.field)
			}
		})
	}
	// Nor may it manage someone who holds more than it does.
	adminID := getMe(t, env, env.AddMember(tm.org.ID, permission.Administrator, "admin@contoso.example")).User.ID
	if r := tm.do("DELETE", "/api/settings/platform-users/"+adminID, mgr, nil); r.Status != http.StatusForbidden {
		t.Fatalf("remove an Administrator: %d %s", r.Status, r.Body)
	}
	// Read-Only gets 403 on every change.
	ro := env.AddMember(tm.org.ID, permission.ReadOnly, "viewer@contoso.example")
	for _, c := range []struct{ method, path string }{{"POST", "/api/settings/platform-users"}, {"PUT", "/api/settings/platform-users/" + adminID},
		{"DELETE", "/api/settings/platform-users/" + adminID}, {"PUT", "/api/settings/authentication"}} {
		if r := tm.do(c.method, c.path, ro, map[string]any{}); r.Status != http.StatusForbidden {
			t.Errorf("Read-Only %s %s: %d", c.method, c.path, r.Status)
		}
	}
}

func TestLastManagerStays(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	// A sub-organization has no Owner: its Administrator is its only manager.
	u := domain.User{ID: domain.NewID(), Email: "admin@sub.example", Name: "Sub Admin"}
	if err := env.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	org := domain.Organization{ID: domain.NewID(), Name: "Sub", Plan: domain.PlanFree, Profile: domain.NewProfile("Sub")}
	admin := domain.Membership{OrganizationID: org.ID, UserID: u.ID, Email: u.Email, Role: permission.Administrator, TenantScope: domain.AllTenantsScope(), Version: 1}
	if err := env.Store.CreateOrganization(ctx, org, admin, audit.Event{Category: audit.Settings, Action: "organization.create"}); err != nil {
		t.Fatal(err)
	}
	tok := env.Token(u.Email)
	do := func(method string, body any) *testenv.Response {
		return env.Do(testenv.Request{Method: method, Path: "/api/settings/platform-users/" + u.ID, Token: tok, Body: body,
			Headers: map[string]string{api.HeaderOrganization: org.ID}})
	}
	if r := do("PUT", map[string]any{"role": "Read-Only"}); r.Status != http.StatusConflict || code(t, r) != "last-manager" {
		t.Fatalf("demote the last manager: %d %s", r.Status, r.Body)
	}
	if r := do("DELETE", nil); r.Status != http.StatusConflict || code(t, r) != "last-manager" {
		t.Fatalf("remove the last manager: %d %s", r.Status, r.Body)
	}
	// With a second Administrator the first may step down.
	env.AddMember(org.ID, permission.Administrator, "second@sub.example")
	if r := do("PUT", map[string]any{"role": "Read-Only"}); r.Status != http.StatusOK {
		t.Fatalf("step down beside another manager: %d %s", r.Status, r.Body)
	}
}

func TestInvitationExpiresAfterSevenDays(t *testing.T) {
	now := time.Now().UTC()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := testenv.NewTable(t, testenv.DynamoDB(t)).WithClock(clock)
	env := testenv.NewOn(t, st)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@expiry.example")
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: map[string]any{"email": "late@expiry.example", "role": "Read-Only"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	token, _ := tokenFromOutbox(t, env, "late@expiry.example")
	mu.Lock()
	now = now.Add(domain.InvitationTTL + time.Minute)
	mu.Unlock()
	// Refused after 7 days although the item is still there (no schedule ran).
	late := env.TokenFor(devauth.Identity{Email: "late@expiry.example", MFA: true, AuthTime: now})
	r := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/accept", Token: late, Body: map[string]string{"token": token}})
	if r.Status != http.StatusConflict || code(t, r) != "invitation-expired" {
		t.Fatalf("accept after 7 days: %d %s", r.Status, r.Body)
	}
	list := env.Do(testenv.Request{Method: "GET", Path: "/api/settings/platform-users", Token: env.TokenFor(devauth.Identity{Email: "owner@expiry.example", MFA: true, AuthTime: now}),
		Headers: map[string]string{api.HeaderOrganization: org.ID}})
	if !strings.Contains(string(list.Body), `"status":"expired"`) {
		t.Fatalf("list shows no expired invitation: %s", list.Body)
	}
}

// TestConcurrentAcceptsMakeOneMembership: 20 accepts of one token at once.
func TestConcurrentAcceptsMakeOneMembership(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@race.example")
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: map[string]any{"email": "racer@race.example", "role": "Technician"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	token, _ := tokenFromOutbox(t, env, "racer@race.example")
	tok := env.Token("racer@race.example")
	getMe(t, env, tok) // the racer's user exists before the race
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/accept", Token: tok, Body: map[string]string{"token": token}}).Status
		}()
	}
	wg.Wait()
	for _, s := range statuses {
		if s != http.StatusOK && s != http.StatusConflict {
			t.Fatalf("statuses %v", statuses)
		}
	}
	events, _, err := env.Store.ListAudit(context.Background(), org.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	accepts := 0
	for _, ev := range events {
		if ev.Action == "invitation.accept" {
			accepts++
		}
	}
	entries, _, err := env.Store.ListTeam(context.Background(), org.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	members := 0
	for _, e := range entries {
		if e.Member != nil {
			members++
		}
		if e.Invitation != nil {
			t.Errorf("the invitation survived its acceptance: %+v", e.Invitation)
		}
	}
	if accepts != 1 || members != 2 {
		t.Fatalf("%d accept events and %d members (want 1 and owner + 1); statuses %v", accepts, members, statuses)
	}
}

// TestSignUpAcceptsPendingInvitations: a person with no account signs up with the
// invited email and is then a member (seed 003).
func TestSignUpAcceptsPendingInvitations(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@signup.example")
	if r := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: map[string]any{"email": "newbie@signup.example", "role": "Read-Only"}}); r.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	token, _ := tokenFromOutbox(t, env, "newbie@signup.example")
	tok := env.Token("newbie@signup.example")
	m := getMe(t, env, tok)
	if m.ActiveOrganization == nil || m.ActiveOrganization.ID != org.ID || m.ActiveOrganization.Role != permission.ReadOnly || len(m.Organizations) != 2 {
		t.Fatalf("after sign-up: %+v", m)
	}
	// The console then posts the link's token: it is answered, not refused.
	if r := env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/accept", Token: tok, Body: map[string]string{"token": token}}); r.Status != http.StatusOK {
		t.Fatalf("accept after sign-up: %d %s", r.Status, r.Body)
	}
}

type failingSender struct{ err error }

func (f failingSender) Send(context.Context, mail.Message) error { return f.err }

// TestEmailFailureKeepsTheInvitation: SES refusing keeps the invitation as email-failed,
// and resend works once mail flows again.
func TestEmailFailureKeepsTheInvitation(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@mailfail.example")
	env.Deps.Mail = failingSender{errors.New("connection refused")}
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: map[string]any{"email": "unlucky@mailfail.example", "role": "Read-Only"}})
	var pu platformUser
	res.JSON(t, &pu)
	if res.Status != http.StatusCreated || pu.Status != domain.StatusEmailFailed || pu.EmailError == "" {
		t.Fatalf("invite with failing mail: %d %s", res.Status, res.Body)
	}
	env.Deps.Mail = env.Outbox
	r := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users/" + pu.ID + "/resend", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}})
	if r.Status != http.StatusOK || r.Map(t)["status"] != domain.StatusInvited {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	if tok, _ := tokenFromOutbox(t, env, "unlucky@mailfail.example"); tok == "" {
		t.Fatal("no token in the resent email")
	}
}

func TestAccessExplain(t *testing.T) {
	env := testenv.New(t)
	tm := newTeam(t, env)
	techTok := env.AddScopedMember(tm.org.ID, permission.Technician, domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{tm.tenantA}}, "tech@contoso.example")
	techID := getMe(t, env, techTok).User.ID
	cases := []struct {
		query   string
		status  int
		allowed bool
		rule    string
	}{
		{"permission=manage-users&tenantId=" + tm.tenantA, http.StatusOK, true, permission.RuleScopeSelectedIncludes},
		{"permission=manage-users&tenantId=" + tm.tenantB, http.StatusOK, false, permission.RuleScopeSelectedExcludes},
		{"permission=manage-billing", http.StatusOK, false, permission.RuleRoleDenies},
		{"permission=manage-users&tenantId=unknowntenant", http.StatusOK, false, "unknown-tenant"},
		{"permission=fly", http.StatusBadRequest, false, ""},
	}
	for _, c := range cases {
		r := tm.do("GET", "/api/settings/platform-users/"+techID+"/access?"+c.query, tm.org.OwnerToken, nil)
		if r.Status != c.status {
			t.Fatalf("%s: %d %s", c.query, r.Status, r.Body)
		}
		if c.status != http.StatusOK {
			continue
		}
		var ex permission.Explanation
		r.JSON(t, &ex)
		if ex.Allowed != c.allowed || ex.Rule != c.rule || ex.Role != permission.Technician || ex.Reason == "" {
			t.Errorf("%s: %+v", c.query, ex)
		}
	}
}

func TestAuthenticationSettings(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@auth.example")
	put := func(tok string, body any) *testenv.Response {
		return env.Do(testenv.Request{Method: "PUT", Path: "/api/settings/authentication", Token: tok, Body: body,
			Headers: map[string]string{api.HeaderOrganization: org.ID}})
	}
	if r := put(org.OwnerToken, map[string]any{"requireMfa": "yes", "sessionTimeoutMinutes": 1}); r.Status != http.StatusBadRequest {
		t.Fatalf("bad settings: %d %s", r.Status, r.Body)
	}
	if r := put(org.OwnerToken, map[string]any{"entraSsoEnabled": true, "requireMfa": false, "sessionTimeoutMinutes": 1}); r.Status != http.StatusBadRequest {
		t.Fatalf("timeout of 1 minute: %d %s", r.Status, r.Body)
	} else {
		fieldNamed(t, r, "sessionTimeoutMinutes")
	}
	tech := env.AddMember(org.ID, permission.Technician, "tech@auth.example")
	if r := put(tech, map[string]any{"entraSsoEnabled": true, "requireMfa": false, "sessionTimeoutMinutes": 60}); r.Status != http.StatusForbidden {
		t.Fatalf("technician: %d", r.Status)
	}
	// Without MFA required, a token without MFA evidence is let in; with it, 401.
	noMFA := env.TokenFor(devauth.Identity{Email: "owner@auth.example"})
	if r := env.Get("/api/msp-portal/settings/profile", noMFA, api.HeaderOrganization, org.ID); r.Status != http.StatusUnauthorized || code(t, r) != "mfa-required" {
		t.Fatalf("no MFA while required: %d %s", r.Status, r.Body)
	}
	if r := put(org.OwnerToken, map[string]any{"entraSsoEnabled": true, "requireMfa": false, "sessionTimeoutMinutes": 60}); r.Status != http.StatusOK {
		t.Fatalf("owner: %d %s", r.Status, r.Body)
	}
	if r := env.Get("/api/msp-portal/settings/profile", noMFA, api.HeaderOrganization, org.ID); r.Status != http.StatusOK {
		t.Fatalf("no MFA while not required: %d %s", r.Status, r.Body)
	}
	// Without a user pool the organization's own SSO cannot be set up.
	r := env.Do(testenv.Request{Method: "PUT", Path: "/api/settings/authentication/sso", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID},
		Body:    map[string]any{"entraTenantId": guid("t"), "clientId": guid("c"), "clientSecret": "s3cret", "domains": []string{"auth.example"}}})
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("sso without a pool: %d %s", r.Status, r.Body)
	}
}
