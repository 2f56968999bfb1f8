package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/awsrecord"
	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/afterresponse"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

type me struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
	ActiveOrganization *domain.OrganizationAccess  `json:"activeOrganization"`
	Organizations      []domain.OrganizationAccess `json:"organizations"`
}

func getMe(t *testing.T, env *testenv.Env, tok string) me {
	t.Helper()
	res := env.Get("/api/me", tok)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /api/me: %d %s", res.Status, res.Body)
	}
	var m me
	res.JSON(t, &m)
	return m
}

func TestOrganizationsLifecycle(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	tok := env.Token("Dana@Example.com")
	first := getMe(t, env, tok)
	if first.User.Email != "dana@example.com" || len(first.Organizations) != 1 || first.ActiveOrganization == nil ||
		!first.ActiveOrganization.Owner || first.ActiveOrganization.Role != permission.Owner || first.ActiveOrganization.Plan != "free" {
		t.Fatalf("first sign-in: %+v", first)
	}
	defaultOrg := first.ActiveOrganization.ID

	// Create: 201, empty, free, active.
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/organizations", Token: tok, Body: map[string]string{"name": "  Northwind IT  "}})
	if res.Status != http.StatusCreated || !strings.HasPrefix(res.Header.Get("Location"), "/api/organizations/") {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var created domain.OrganizationAccess
	res.JSON(t, &created)
	if created.Name != "Northwind IT" || created.Plan != "free" || !created.Active || !created.Owner {
		t.Fatalf("created = %+v", created)
	}
	m := getMe(t, env, tok)
	if m.ActiveOrganization.ID != created.ID || len(m.Organizations) != 2 {
		t.Fatalf("after create: %+v", m)
	}

	// Switch back; a new session (new token) remembers it.
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/me/active-organization", Token: tok, Body: map[string]string{"organizationId": defaultOrg}})
	if res.Status != http.StatusOK {
		t.Fatalf("switch: %d %s", res.Status, res.Body)
	}
	if m := getMe(t, env, env.Token("dana@example.com")); m.ActiveOrganization.ID != defaultOrg {
		t.Fatalf("active organization not remembered: %+v", m.ActiveOrganization)
	}

	// Acting in another organization by header, without switching.
	res = env.Get("/api/msp-portal/settings/profile", tok, api.HeaderOrganization, created.ID)
	if got := res.Map(t)["organizationId"]; got != created.ID {
		t.Fatalf("X-Organization-Id ignored: %v", got)
	}

	// Rename with and without version; stale version is 409.
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/organizations/" + created.ID, Token: tok, Body: map[string]any{"name": "Northwind Managed IT", "version": 1}})
	if res.Status != http.StatusOK || res.Map(t)["version"].(float64) != 2 {
		t.Fatalf("rename: %d %s", res.Status, res.Body)
	}
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/organizations/" + created.ID, Token: tok, Body: map[string]any{"name": "Stale", "version": 1}})
	if res.Status != http.StatusConflict {
		t.Fatalf("stale rename: %d %s", res.Status, res.Body)
	}
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/organizations/" + created.ID, Token: tok, Body: map[string]any{"name": ""}})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), `"field":"name"`) {
		t.Fatalf("empty name: %d %s", res.Status, res.Body)
	}

	// Switching to an organization the caller cannot reach is 404.
	stranger := env.NewOrg("stranger@example.com")
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/me/active-organization", Token: tok, Body: map[string]string{"organizationId": stranger.ID}})
	if res.Status != http.StatusNotFound {
		t.Fatalf("switch to a stranger's organization: %d %s", res.Status, res.Body)
	}

	// The audit log has the rename with who, what, from where.
	res = env.Get("/api/audit-log", tok, api.HeaderOrganization, created.ID)
	var log api.List[audit.Event]
	res.JSON(t, &log)
	if len(log.Items) != 2 || log.Items[0].Action != "organization.rename" || log.Items[0].Actor.Email != "dana@example.com" ||
		log.Items[0].SourceIP == "" || log.Items[0].UserAgent == "" || len(log.Items[0].Changes) != 1 {
		t.Fatalf("audit log: %+v", log.Items)
	}
}

func TestProfile(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@profile.example")
	viewer := env.AddMember(org.ID, permission.ReadOnly, "viewer@profile.example")
	tech := env.AddMember(org.ID, permission.Technician, "tech@profile.example")

	res := env.Get("/api/msp-portal/settings/profile", org.OwnerToken)
	p := res.Map(t)
	auth := p["authentication"].(map[string]any)
	if auth["requireMfa"] != true || auth["sessionTimeoutMinutes"].(float64) != 480 || p["billingContact"] == nil {
		t.Fatalf("new profile: %s", res.Body)
	}
	for _, tok := range []string{viewer, tech} {
		if got := env.Get("/api/msp-portal/settings/profile", tok).Map(t); got["billingContact"] != nil || got["companyName"] == nil {
			t.Fatalf("a member without billing rights sees: %v", got)
		}
	}

	// The GET body is accepted as is.
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: org.OwnerToken, Body: p})
	if res.Status != http.StatusOK {
		t.Fatalf("PUT of the GET body: %d %s", res.Status, res.Body)
	}
	p["companyName"] = "Fabrikam Managed Services"
	p["timeZone"] = "Europe/Amsterdam"
	p["billingContact"] = map[string]any{"name": "Bill", "email": "bill@fabrikam.example", "phone": "+31 20 123 4567"}
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: org.OwnerToken, Body: p})
	if res.Status != http.StatusConflict {
		t.Fatalf("stale version: %d %s", res.Status, res.Body)
	}
	delete(p, "version")
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: org.OwnerToken, Body: p})
	if res.Status != http.StatusOK || res.Map(t)["timeZone"] != "Europe/Amsterdam" {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}

	bad := map[string]any{"companyName": "", "displayName": strings.Repeat("x", 201), "phone": "call me", "primaryContactEmail": "nope",
		"website": "javascript:alert(1)", "timeZone": "Mars/Olympus", "dateFormat": "ISO", "currency": "DOLLARS", "language": "!!",
		"billingContact": map[string]any{"email": "x@"}, "authentication": map[string]any{"sessionTimeoutMinutes": 0}}
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: org.OwnerToken, Body: bad})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("bad profile: %d %s", res.Status, res.Body)
	}
	for _, f := range []string{"companyName", "displayName", "phone", "primaryContactEmail", "website", "timeZone", "dateFormat",
		"currency", "language", "billingContact.email", "authentication.sessionTimeoutMinutes"} {
		if !strings.Contains(string(res.Body), `"field":"`+f+`"`) {
			t.Errorf("400 does not name %s: %s", f, res.Body)
		}
	}
	if got := env.Get("/api/msp-portal/settings/profile", org.OwnerToken).Map(t); got["companyName"] != "Fabrikam Managed Services" {
		t.Fatalf("bad input changed the profile: %v", got["companyName"])
	}
	res = env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: viewer, Body: bad})
	if res.Status != http.StatusForbidden {
		t.Fatalf("viewer PUT: %d", res.Status)
	}
}

func TestBadInputIsNeverAServerError(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@input.example")
	cases := []struct {
		name, method, path, contentType string
		body                            any
		status                          int
	}{
		{"malformed JSON", "PUT", "/api/msp-portal/settings/profile", "", `{"companyName":`, 400},
		{"wrong type", "PUT", "/api/msp-portal/settings/profile", "", `{"companyName": 5}`, 400},
		{"several wrong types", "PUT", "/api/msp-portal/settings/profile", "",
			`{"companyName": 5, "phone": true, "authentication": {"sessionTimeoutMinutes": "x", "requireMfa": "yes"}, "version": "1"}`, 400},
		{"array body", "POST", "/api/organizations", "", `[]`, 400},
		{"two objects", "POST", "/api/organizations", "", `{"name":"a"}{"name":"b"}`, 400},
		{"empty body", "POST", "/api/organizations", "", ``, 400},
		{"form content type", "POST", "/api/organizations", "application/x-www-form-urlencoded", `name=x`, 415},
		{"huge body", "POST", "/api/organizations", "", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"bad limit", "GET", "/api/audit-log?limit=1000", "", nil, 400},
		{"bad cursor", "GET", "/api/audit-log?cursor=abc", "", nil, 400},
		{"bad organization id", "GET", "/api/msp-portal/settings/profile", "", nil, 404},
		{"unknown route", "GET", "/api/nothing-here", "", nil, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.contentType != "" {
				h["Content-Type"] = tc.contentType
			}
			if tc.name == "bad organization id" {
				h[api.HeaderOrganization] = "../../etc/passwd"
			}
			res := env.Do(testenv.Request{Method: tc.method, Path: tc.path, Token: org.OwnerToken, Body: tc.body, Headers: h})
			if res.Status != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%d %s %s", res.Status, res.Header.Get("Content-Type"), res.Body)
			}
			if tc.name == "several wrong types" {
				for _, f := range []string{"companyName", "phone", "authentication.sessionTimeoutMinutes", "authentication.requireMfa", "version"} {
					if !strings.Contains(string(res.Body), `"field":"`+f+`"`) {
						t.Errorf("the 400 does not name %s: %s", f, res.Body)
					}
				}
			}
		})
	}
}

func TestSignInRules(t *testing.T) {
	now := time.Now().UTC()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	env := testenv.NewOn(t, testenv.NewTable(t, testenv.DynamoDB(t)).WithClock(clock))
	org := env.NewOrg("rules@example.com")

	noMFA := env.TokenFor(devauth.Identity{Email: "rules@example.com", MFA: false})
	res := env.Get("/api/msp-portal/settings/profile", noMFA)
	if res.Status != http.StatusUnauthorized || res.Map(t)["code"] != "mfa-required" {
		t.Fatalf("without MFA: %d %s", res.Status, res.Body)
	}

	unverified := env.TokenFor(devauth.Identity{Email: "new@example.com", Unverified: true, MFA: true})
	if res := env.Get("/api/me", unverified); res.Status != http.StatusUnauthorized || res.Map(t)["code"] != "email-not-verified" {
		t.Fatalf("unverified email: %d %s", res.Status, res.Body)
	}

	// Inactivity: the session's last request, not its start, counts.
	tok := org.OwnerToken
	for i := 0; i < 3; i++ {
		advance(7 * time.Hour)
		if res := env.Get("/api/msp-portal/settings/profile", tok); res.Status != http.StatusOK {
			t.Fatalf("active session after %d×7h: %d %s", i+1, res.Status, res.Body)
		}
	}
	advance(8*time.Hour + time.Minute)
	res = env.Get("/api/msp-portal/settings/profile", tok)
	if res.Status != http.StatusUnauthorized || res.Map(t)["code"] != "session-expired" {
		t.Fatalf("after 8h idle: %d %s", res.Status, res.Body)
	}
	// A new sign-in is a new session.
	if res := env.Get("/api/msp-portal/settings/profile", env.Token("rules@example.com")); res.Status != http.StatusOK {
		t.Fatalf("new session: %d %s", res.Status, res.Body)
	}
}

// TestUserClaim: a token that carries auth.ClaimUserID (the Pre Token Generation
// trigger copies it from the identity mapping) acts as that user without the mapping
// being read: the token's subject and email belong to no one, so only the claim can
// name the Owner; without it the same token signs a new person up, who cannot reach
// the organization. A claim that is no valid id is ignored and the mapping is used.
func TestUserClaim(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("claimed@example.com")
	me := env.Get("/api/me", org.OwnerToken)
	if me.Status != http.StatusOK {
		t.Fatalf("me: %d %s", me.Status, me.Body)
	}
	ownerID := me.Map(t)["user"].(map[string]any)["id"].(string)
	for _, tc := range []struct {
		name    string
		id      devauth.Identity
		wantOrg bool
	}{
		{"the claim names the user", devauth.Identity{Email: "stranger@example.com", Subject: "unmapped-1", UserID: ownerID, MFA: true}, true},
		{"no claim: a new person", devauth.Identity{Email: "stranger@example.com", Subject: "unmapped-2", MFA: true}, false},
		{"the mapped subject without the claim", devauth.Identity{Email: "claimed@example.com", MFA: true}, true},
		{"a malformed claim falls back to the mapping", devauth.Identity{Email: "claimed@example.com", UserID: "not an id", MFA: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := env.Do(testenv.Request{Method: "GET", Path: "/api/msp-portal/settings/profile", Token: env.TokenFor(tc.id),
				Headers: map[string]string{"X-Organization-Id": org.ID}})
			if (res.Status == http.StatusOK) != tc.wantOrg {
				t.Fatalf("profile: %d %s", res.Status, res.Body)
			}
		})
	}
}

func TestRemovedMemberLosesAccessAtOnce(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("boss@example.com")
	tok := env.AddMember(org.ID, permission.Administrator, "leaver@example.com")
	if res := env.Get("/api/msp-portal/settings/profile", tok); res.Status != http.StatusOK || res.Map(t)["organizationId"] != org.ID {
		t.Fatalf("member: %d %s", res.Status, res.Body)
	}
	// The leaver owns an organization of their own, made on a first sign-in elsewhere.
	ctx := context.Background()
	leaver := getMe(t, env, tok).User.ID
	own := domain.Organization{ID: "leaver-own", Name: "Own", Plan: "free", Profile: domain.NewProfile("Own")}
	if err := env.Store.CreateOrganization(ctx, own, domain.Membership{OrganizationID: own.ID, UserID: leaver, Role: permission.Owner},
		audit.Event{Category: audit.Settings, Action: "organization.create"}); err != nil {
		t.Fatal(err)
	}
	_ = env.Store.SetActiveOrganization(ctx, leaver, org.ID)
	if err := removeMember(env.Store, org.ID, leaver); err != nil {
		t.Fatal(err)
	}
	if res := env.Get("/api/msp-portal/settings/profile", tok, api.HeaderOrganization, org.ID); res.Status != http.StatusNotFound {
		t.Fatalf("removed member with the organization's id: %d", res.Status)
	}
	res := env.Get("/api/msp-portal/settings/profile", tok)
	if res.Status != http.StatusOK || res.Map(t)["organizationId"] != "leaver-own" {
		t.Fatalf("removed member is not switched back to their own organization: %d %s", res.Status, res.Body)
	}
}

// A warm process caches memberships against the organization's member epoch: a role
// change must still apply to the very next request.
func TestRoleChangeAppliesToTheNextRequest(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("boss@example.com")
	tok := env.AddMember(org.ID, permission.Administrator, "demoted@example.com")
	put := func() int {
		return env.Do(testenv.Request{Method: "PUT", Path: "/api/organizations/" + org.ID, Token: tok,
			Body: map[string]string{"name": "Renamed " + domain.NewID()}}).Status
	}
	for range 2 { // the second request is served from the cached membership
		if st := put(); st != http.StatusOK {
			t.Fatalf("administrator rename: %d", st)
		}
	}
	userID := getMe(t, env, tok).User.ID
	m := domain.Membership{OrganizationID: org.ID, UserID: userID, Email: "demoted@example.com", Role: permission.ReadOnly,
		TenantScope: domain.AllTenantsScope()}
	if err := env.Store.PutMember(context.Background(), m, audit.Event{Category: audit.UserManagement, Action: "member.update"}); err != nil {
		t.Fatal(err)
	}
	if st := put(); st != http.StatusForbidden {
		t.Fatalf("rename after the demotion to Read-Only: %d, want 403", st)
	}
}

func TestIdempotencyKey(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	tok := env.Token("idem@example.com")
	post := func(name, key string) *testenv.Response {
		return env.Do(testenv.Request{Method: "POST", Path: "/api/organizations", Token: tok, Body: map[string]string{"name": name},
			Headers: map[string]string{api.HeaderIdempotencyKey: key}})
	}
	a, b := post("Once", "key-1"), post("Once", "key-1")
	if a.Status != 201 || b.Status != 201 || string(a.Body) != string(b.Body) || b.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s / %d %s", a.Status, a.Body, b.Status, b.Body)
	}
	if c := post("Other", "key-1"); c.Status != http.StatusConflict {
		t.Fatalf("same key, other body: %d %s", c.Status, c.Body)
	}
	if d := post("Once", "key-2"); d.Status != 201 || string(d.Body) == string(a.Body) {
		t.Fatalf("new key: %d %s", d.Status, d.Body)
	}
	if n := len(getMe(t, env, tok).Organizations); n != 3 {
		t.Fatalf("%d organizations, want default + 2", n)
	}
}

// removeMember deletes a membership directly; the team routes arrive with their issue.
func removeMember(st *store.Store, orgID, userID string) error {
	return st.DeleteMember(context.Background(), orgID, userID, audit.Event{Category: audit.UserManagement, Action: "member.remove"})
}

// TestIdempotencyKeyInLambda: where the runtime holds the invocation open after the
// response (afterresponse), a keyed POST answers before its response is stored, and a
// repeat once the invocation ended replays it. The record, read beside the
// authorization, is replayed only to a caller still authorized in the organization.
func TestIdempotencyKeyInLambda(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@idem-lambda.example")
	tech := env.AddMember(org.ID, permission.Technician, "tech@idem-lambda.example")
	techID := getMe(t, env, tech).User.ID
	invoke := func(ctx context.Context, tok, key, name string) (*httptest.ResponseRecorder, *afterresponse.Tasks) {
		body, _ := json.Marshal(map[string]string{"name": name})
		req := httptest.NewRequest(http.MethodPost, "/api/msp-portal/customers", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(api.HeaderOrganization, org.ID)
		if key != "" {
			req.Header.Set(api.HeaderIdempotencyKey, key)
		}
		tasks := &afterresponse.Tasks{}
		rec := httptest.NewRecorder()
		env.Server.Config.Handler.ServeHTTP(rec, req.WithContext(afterresponse.With(ctx, tasks)))
		return rec, tasks
	}
	first, tasks := invoke(context.Background(), tech, "k-1", "Lambda Ltd")
	tasks.Wait()
	// The record is read beside the authorization, not after it.
	ctx, calls := awsrecord.With(context.Background())
	again, tasks := invoke(ctx, tech, "k-1", "Lambda Ltd")
	answered := time.Now()
	tasks.Wait()
	var before []string
	for _, c := range calls.Calls() {
		if c.Start.Before(answered) {
			before = append(before, c.Operation)
		}
	}
	// As many round trips as the authorization alone takes: a request refused by its
	// validation (no key, no name) makes no other call.
	actx, authCalls := awsrecord.With(context.Background())
	refused, tasks := invoke(actx, tech, "", "")
	authDepth := authCalls.DepthBefore(time.Now())
	tasks.Wait()
	if refused.Code != http.StatusBadRequest {
		t.Fatalf("no name: %d %s", refused.Code, refused.Body)
	}
	if len(before) < 2 || authDepth < 1 || calls.DepthBefore(answered) != authDepth {
		t.Errorf("the replay made %v in %d round trips, the authorization alone %d: the record was not read beside it",
			before, calls.DepthBefore(answered), authDepth)
	}
	if first.Code != http.StatusCreated || again.Code != http.StatusCreated || again.Body.String() != first.Body.String() ||
		again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d %s; repeat %d %s %v", first.Code, first.Body, again.Code, again.Body, again.Header())
	}
	if other, _ := invoke(context.Background(), tech, "k-1", "Other Ltd"); other.Code != http.StatusConflict {
		t.Fatalf("same key, other body: %d %s", other.Code, other.Body)
	}
	// Removed from the organization, the caller gets its 404, not the stored 201.
	if err := removeMember(env.Store, org.ID, techID); err != nil {
		t.Fatal(err)
	}
	if gone, _ := invoke(context.Background(), tech, "k-1", "Lambda Ltd"); gone.Code != http.StatusNotFound || strings.Contains(gone.Body.String(), "Lambda Ltd") {
		t.Fatalf("removed member's repeat: %d %s", gone.Code, gone.Body)
	}
}

// TestMeInTwoRoundTrips: /api/me lists the sub-organizations its caller may support
// beside the read of the caller's organizations, not after it.
func TestMeInTwoRoundTrips(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@me-depth.example")
	testenv.SubOrg(t, env.Store, org.ID, "", "Depth Sub", domain.User{})
	getMe(t, env, org.OwnerToken) // the caller's identity is resolved and cached
	ctx, calls := awsrecord.With(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/api/me", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+org.OwnerToken)
	rec := httptest.NewRecorder()
	env.Server.Config.Handler.ServeHTTP(rec, req)
	answered := time.Now()
	var got struct {
		Supportable []struct {
			SubOrganizations []struct{ Name string } `json:"subOrganizations"`
		} `json:"supportable"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if len(got.Supportable) != 1 || len(got.Supportable[0].SubOrganizations) != 1 || got.Supportable[0].SubOrganizations[0].Name != "Depth Sub" {
		t.Fatalf("supportable %+v", got.Supportable)
	}
	var ops []string
	for _, c := range calls.Calls() {
		ops = append(ops, c.Operation)
	}
	if d := calls.DepthBefore(answered); d > 2 {
		t.Errorf("/api/me made %v in %d round trips, want 2", ops, d)
	}
}
