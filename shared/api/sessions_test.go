package api_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// signInEvents are the session.sign-in events of orgID's audit log, as its Owner reads it.
func signInEvents(t *testing.T, env *testenv.Env, org testenv.Org) []audit.Event {
	t.Helper()
	res := env.Get("/api/audit-log", org.OwnerToken, api.HeaderOrganization, org.ID)
	if res.Status != http.StatusOK {
		t.Fatalf("audit log of %s: %d %s", org.ID, res.Status, res.Body)
	}
	var page struct{ Items []audit.Event }
	res.JSON(t, &page)
	var out []audit.Event
	for _, ev := range page.Items {
		if ev.Category == audit.SignIn && ev.Action == api.ActionSessionSignIn {
			out = append(out, ev)
		}
	}
	return out
}

// TestSessionSignIn: POST /api/sessions records one sign-in per session in every
// organization of the caller, with the client parsed from the user agent and the
// identity provider of the token, and in no other organization.
func TestSessionSignIn(t *testing.T) {
	env := testenv.New(t)
	alpha := env.NewOrg("owner@alpha-signin.example")
	beta := env.NewOrg("owner@beta-signin.example")
	gamma := env.NewOrg("owner@gamma-signin.example")
	const email = "pat@signin.example"
	env.AddMember(alpha.ID, permission.Technician, email)
	if res := env.Do(testenv.Request{Method: http.MethodPost, Path: "/api/settings/platform-users", Token: beta.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: beta.ID},
		Body:    map[string]any{"email": email, "role": "Read-Only", "tenantAccess": map[string]any{"mode": "all"}}}); res.Status != http.StatusCreated {
		t.Fatalf("invite to beta: %d %s", res.Status, res.Body)
	}

	const chromeOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	const safariOnIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	sessionA := env.Token(email)
	sessionB := env.TokenFor(devauth.Identity{Email: email, Name: "Pat", MFA: true, Subject: "entra-pat", Provider: "entra-" + alpha.ID})
	for _, tc := range []struct {
		name      string
		token, ua string
		want      int
		browser   string
		os        string
		device    string
		provider  string
		events    int // sign-in events in alpha's log afterwards
	}{
		{"first call of a session", sessionA, chromeOnWindows, http.StatusCreated, "Chrome", "Windows", "Desktop", "Cognito", 1},
		{"repeat in the same session, from another browser", sessionA, safariOnIPhone, http.StatusOK, "Chrome", "Windows", "Desktop", "Cognito", 1},
		{"another session, federated", sessionB, safariOnIPhone, http.StatusCreated, "Safari", "iOS", "Mobile", "entra-" + alpha.ID, 2},
		{"repeat of the federated session", sessionB, "", http.StatusOK, "Safari", "iOS", "Mobile", "entra-" + alpha.ID, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{}
			if tc.ua != "" {
				headers["User-Agent"] = tc.ua
			}
			res := env.Do(testenv.Request{Method: http.MethodPost, Path: "/api/sessions", Token: tc.token, Headers: headers})
			if res.Status != tc.want {
				t.Fatalf("answered %d %s, want %d", res.Status, res.Body, tc.want)
			}
			var got struct {
				SessionID        string        `json:"sessionId"`
				SourceIP         string        `json:"sourceIp"`
				Client           *audit.Client `json:"client"`
				IdentityProvider string        `json:"identityProvider"`
				Organizations    int           `json:"organizations"`
			}
			res.JSON(t, &got)
			if got.Client == nil || got.Client.Browser != tc.browser || got.Client.OS != tc.os || got.Client.Device != tc.device ||
				got.IdentityProvider != tc.provider || got.Organizations != 1 || got.SourceIP != "127.0.0.1" || got.SessionID == "" {
				t.Errorf("recorded %s", res.Body)
			}
			evs := signInEvents(t, env, alpha)
			if len(evs) != tc.events {
				t.Fatalf("alpha holds %d sign-in events, want %d", len(evs), tc.events)
			}
			if ev := evs[0]; ev.Client == nil || ev.Client.Browser != tc.browser || ev.IdentityProvider != tc.provider ||
				ev.Actor.Email != email || ev.SourceIP != "127.0.0.1" || len(ev.Targets.UserIDs) != 1 {
				t.Errorf("newest sign-in event %+v", ev)
			}
		})
	}
	// Only organizations the user is a member of see the sign-in: beta invited the
	// user, who has not accepted, and gamma never knew them.
	for _, org := range []testenv.Org{beta, gamma} {
		if evs := signInEvents(t, env, org); len(evs) != 0 {
			t.Errorf("%s, where the user is no member, holds %+v", org.ID, evs)
		}
	}
	// Without a token: 401, and nothing recorded.
	if res := env.Do(testenv.Request{Method: http.MethodPost, Path: "/api/sessions"}); res.Status != http.StatusUnauthorized {
		t.Errorf("without a token: %d %s", res.Status, res.Body)
	}
}
