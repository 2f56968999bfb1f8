package openapi_test

import (
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
)

const (
	sessionsPath = "/api/sessions"
	// edgeOnMac is a browser's user agent, as the console sends it.
	edgeOnMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"
)

// sessionSteps record sign-ins through POST /api/sessions: the first call of a session,
// its repeat, the event in the audit log, and the faults of its Idempotency-Key.
func sessionSteps() []step {
	signIn := func(role string, headers ...string) func(w *world) testenv.Request {
		return func(w *world) testenv.Request {
			return w.as(role, "POST", sessionsPath, nil, append([]string{"User-Agent", edgeOnMac}, headers...)...)
		}
	}
	return []step{
		{name: "record a sign-in", want: 201, req: signIn("Read-Only"),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				client, _ := m["client"].(map[string]any)
				if m["identityProvider"] != "Cognito" || m["organizations"] != float64(1) || m["userAgent"] != edgeOnMac ||
					client["browser"] != "Edge" || client["os"] != "macOS" || client["device"] != "Desktop" {
					t.Errorf("sign-in = %s", res.Body)
				}
				w.state["sign-in"] = string(res.Body)
			}},
		{name: "record the same session's sign-in again", want: 200, req: signIn("Read-Only"),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if string(res.Body) != w.state["sign-in"] {
					t.Errorf("repeat answered %s, the first call %s", res.Body, w.state["sign-in"])
				}
			}},
		{name: "the sign-in in the audit log", want: 200,
			req: func(w *world) testenv.Request {
				return w.as("Owner", "GET", "/api/audit-log?limit=5", nil, api.HeaderOrganization, w.alpha.ID)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct{ Items []audit.Event }
				res.JSON(t, &l)
				n := 0
				for _, ev := range l.Items {
					if ev.Category == audit.SignIn && ev.Action == api.ActionSessionSignIn {
						n++
						if ev.Actor.Email != "read-only@alpha.example" || ev.Client == nil || ev.Client.Browser != "Edge" ||
							ev.IdentityProvider != "Cognito" || ev.SourceIP == "" || ev.UserAgent != edgeOnMac {
							t.Errorf("sign-in event %+v", ev)
						}
					}
				}
				if n != 1 {
					t.Errorf("%d sign-in events in the newest of alpha's log, want 1: %s", n, res.Body)
				}
			}},
		{name: "record a sign-in with an Idempotency-Key", want: 201,
			req: signIn("Technician", api.HeaderIdempotencyKey, "sessions-key")},
		{name: "reuse the Idempotency-Key with another body", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				r := signIn("Technician", api.HeaderIdempotencyKey, "sessions-key")(w)
				r.Body = map[string]any{"note": "another request"}
				return r
			}},
		{name: "record a sign-in with a too long Idempotency-Key", want: 400, code: "validation", fields: []string{api.HeaderIdempotencyKey},
			req: signIn("Owner", api.HeaderIdempotencyKey, strings.Repeat("k", 256))},
		{name: "record a sign-in with a keyed body over 1 MiB", want: 413, code: "body-too-large",
			req: func(w *world) testenv.Request {
				r := signIn("Owner", api.HeaderIdempotencyKey, "sessions-large")(w)
				r.Body = `{"note":"` + strings.Repeat("a", 1<<20+64) + `"}`
				return r
			}},
		{name: "record a sign-in without a token", want: 401, code: "unauthenticated", req: signIn("")},
	}
}
