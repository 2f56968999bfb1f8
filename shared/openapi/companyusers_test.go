package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// isCompanyUserRoute reports whether path is one of TestCompanyUsersConformToTheDocument's:
// company users, the client portal and the onboarding checklist.
func isCompanyUserRoute(path string) bool {
	return strings.HasPrefix(path, "/api/msp-portal/customers/{customerId}/users") || strings.HasPrefix(path, "/api/portal/") ||
		strings.HasPrefix(path, "/api/onboarding")
}

// newCompanyWorld is newWorld with a customer of alpha and a company user of every role
// with portal access (tokens named "portal:<role>").
func newCompanyWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	w.state["customer"] = w.fixtureCustomer(w.alpha.ID, "Northwind Traders")
	for _, role := range domain.CompanyRoles() {
		tok, id := w.env.AddCompanyUser(w.alpha.ID, w.state["customer"], role, strings.ReplaceAll(strings.ToLower(string(role)), " ", "-")+"@northwind.example")
		w.tok["portal:"+string(role)] = tok
		w.state["cu:"+string(role)] = id
	}
	return w
}

// portalToken is the token of the latest portal invitation link in the outbox.
func portalToken(w *world) string {
	msgs := w.env.Outbox.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, l := range msgs[i].Links {
			if _, tok, ok := strings.Cut(l, "/portal/accept?token="); ok {
				return tok
			}
		}
	}
	return ""
}

// postFaults are the faults of any JSON POST or PUT sent by role through req, and, for
// a POST, an Idempotency-Key over 255 characters.
func postFaults(name string, req func(w *world, body any, ct string, headers ...string) testenv.Request, post bool) []step {
	out := []step{
		{name: name + " as text/xml", want: 415, code: "unsupported-media-type",
			req: func(w *world) testenv.Request { return req(w, "<x/>", "text/xml") }},
		{name: name + " with malformed JSON", want: 400, code: "validation", fields: []string{"body"},
			req: func(w *world) testenv.Request { return req(w, `{"name": "x",`, "") }},
		{name: name + " with a body over 1 MiB", want: 413, code: "body-too-large",
			req: func(w *world) testenv.Request { return req(w, `{"name":"`+strings.Repeat("a", 1<<20+64)+`"}`, "") }},
	}
	if post {
		out = append(out, step{name: name + " with an Idempotency-Key of 256 characters", want: 400, code: "validation",
			fields: []string{api.HeaderIdempotencyKey},
			req: func(w *world) testenv.Request {
				return req(w, map[string]any{}, "", api.HeaderIdempotencyKey, strings.Repeat("k", 256))
			}})
	}
	return out
}

// keyReused sends body with a key, then another body with it: 409.
func keyReused(name string, req func(w *world, body any, ct string, headers ...string) testenv.Request, first, second any, firstStatus int) []step {
	key := "reuse-" + domain.NewID()
	return []step{
		{name: name + " with an Idempotency-Key", want: firstStatus,
			req: func(w *world) testenv.Request { return req(w, first, "", api.HeaderIdempotencyKey, key) }},
		{name: name + " with the key and another body", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request { return req(w, second, "", api.HeaderIdempotencyKey, key) }},
	}
}

func TestCompanyUsersConformToTheDocument(t *testing.T) {
	w := newCompanyWorld(t)
	users := func(w *world) string { return "/api/msp-portal/customers/" + w.state["customer"] + "/users" }
	user := func(w *world) string { return users(w) + "/" + w.state["diego"] }
	msp := func(role, method string, path func(w *world) string) func(w *world, body any, ct string, headers ...string) testenv.Request {
		return func(w *world, body any, ct string, headers ...string) testenv.Request {
			r := w.at(role, method, path(w), body, headers...)
			if ct != "" {
				r.Headers["Content-Type"] = ct
			}
			return r
		}
	}
	portalReq := func(role, method, path string) func(w *world, body any, ct string, headers ...string) testenv.Request {
		return func(w *world, body any, ct string, headers ...string) testenv.Request {
			r := w.as("portal:"+role, method, path, body, headers...)
			if ct != "" {
				r.Headers["Content-Type"] = ct
			}
			return r
		}
	}
	steps := []step{
		// Company users, as the MSP manages them.
		{name: "list company users without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "GET", users(w), nil) }},
		{name: "list company users as Custom(none)", want: 403, req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", users(w), nil) }},
		{name: "list company users with limit=0", want: 400, fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", users(w)+"?limit=0", nil) }},
		{name: "list company users of another organization's customer", want: 404,
			req: func(w *world) testenv.Request { return w.asBeta("GET", users(w), nil) }},
		{name: "create a company user without a token", want: 401,
			req: func(w *world) testenv.Request { return w.as("", "POST", users(w), map[string]any{}) }},
		{name: "create a company user as Read-Only", want: 403,
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "POST", users(w), map[string]any{"version": "x"})
			}},
		{name: "create a company user with bad fields", want: 400, fields: []string{"email", "name", "role"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", users(w), map[string]any{"email": "nope", "name": " ", "role": "Boss"})
			}},
		{name: "create a company user of an unknown customer", want: 404,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", "/api/msp-portal/customers/no-such-customer/users", map[string]any{"email": "a@b.example", "name": "A"})
			}},
		{name: "create a company user with portal access", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Technician", "POST", users(w), map[string]any{"email": "Diego@Northwind.example", "name": "Diego Siciliani",
					"jobTitle": "Buyer", "role": "Manager", "portalAccess": true})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				if m["email"] != "diego@northwind.example" || m["portalStatus"] != "invited" || m["source"] != "manual" || m["inviteExpiresAt"] == nil {
					t.Errorf("created %s", res.Body)
				}
				if strings.Contains(string(res.Body), "inviteTokenHash") || portalToken(w) == "" {
					t.Errorf("the hash is shown, or no invitation was sent: %s", res.Body)
				}
				w.state["diego"] = m["id"].(string)
				w.state["token"] = portalToken(w)
			}},
		{name: "create a company user with the same email", want: 409, code: "duplicate-email",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", users(w), map[string]any{"email": "diego@northwind.example", "name": "Other Diego"})
			}},
		{name: "get a company user without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "GET", user(w), nil) }},
		{name: "get a company user as Custom(none)", want: 403, req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", user(w), nil) }},
		{name: "get an unknown company user", want: 404,
			req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", users(w)+"/no-such-user", nil) }},
		{name: "get a company user", want: 200, req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", user(w), nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if m := res.Map(t); m["name"] != "Diego Siciliani" || m["role"] != "Manager" || m["version"] != float64(1) {
					t.Errorf("got %s", res.Body)
				}
			}},
		{name: "list company users", want: 200, req: func(w *world) testenv.Request { return w.at("Technician", "GET", users(w)+"?limit=2", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct {
					Items      []struct{ Name string }
					NextCursor string
				}
				res.JSON(t, &l)
				if len(l.Items) != 2 || l.NextCursor == "" || l.Items[0].Name != "admin" {
					t.Errorf("listed %s", res.Body)
				}
			}},

		// Portal invitation: accept as Diego, who then uses the portal.
		{name: "accept a portal invitation without a token", want: 401,
			req: func(w *world) testenv.Request {
				return w.as("", "POST", "/api/portal/invitations/accept", map[string]any{"token": w.state["token"]})
			}},
		{name: "accept a portal invitation with a malformed token", want: 400, fields: []string{"token"},
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "POST", "/api/portal/invitations/accept", map[string]any{"token": "short"})
			}},
		{name: "accept an unknown portal invitation", want: 404,
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "POST", "/api/portal/invitations/accept", map[string]any{"token": strings.Repeat("A", 43)})
			}},
		{name: "accept a portal invitation as someone else", want: 403, code: "invitation-email-mismatch",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "POST", "/api/portal/invitations/accept", map[string]any{"token": w.state["token"]})
			}},
		{name: "Diego's first request lands in no organization of his own", want: 404,
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "GET", "/api/msp-portal/settings/profile", nil)
			}},
		{name: "accept the portal invitation", want: 200,
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "POST", "/api/portal/invitations/accept", map[string]any{"token": w.state["token"]})
			}},
		{name: "accept it again", want: 200,
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "POST", "/api/portal/invitations/accept", map[string]any{"token": " " + w.state["token"] + " "})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var a struct {
					CompanyName string
					User        struct{ PortalStatus, Email string }
				}
				res.JSON(t, &a)
				if a.CompanyName != "Northwind Traders" || a.User.PortalStatus != "active" || a.User.Email != "diego@northwind.example" {
					t.Errorf("accepted %s", res.Body)
				}
			}},
		{name: "Diego submits a ticket", want: 201,
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "POST", "/api/portal/tickets", map[string]any{"subject": "Printer on fire", "priority": "high"})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if m := res.Map(t); m["status"] != "open" || m["priority"] != "high" || m["customerId"] != w.state["customer"] {
					t.Errorf("ticket %s", res.Body)
				}
			}},
		{name: "the MSP sees Diego's ticket", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", "/api/msp-portal/customers/"+w.state["customer"]+"/tickets", nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), "Printer on fire") {
					t.Errorf("tickets %s", res.Body)
				}
			}},
		{name: "Diego cannot reach the MSP's routes", want: 404,
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "GET", users(w), nil, api.HeaderOrganization, w.alpha.ID)
			}},

		// Update and portal access off.
		{name: "update a company user without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "PUT", user(w), map[string]any{}) }},
		{name: "update a company user as Read-Only", want: 403,
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "PUT", user(w), map[string]any{"version": "x"})
			}},
		{name: "update an unknown company user", want: 404,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", users(w)+"/no-such-user", map[string]any{"email": "a@b.example", "name": "A"})
			}},
		{name: "update a company user with a bad email", want: 400, fields: []string{"email"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", user(w), map[string]any{"email": "nope", "name": "Diego"})
			}},
		{name: "update a company user with a stale version", want: 409, code: "stale-version",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", user(w), map[string]any{"email": "diego@northwind.example", "name": "Diego", "version": 99})
			}},
		{name: "turn Diego's portal access off", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", user(w), map[string]any{"email": "diego@northwind.example", "name": "Diego Siciliani",
					"role": "Manager", "portalAccess": false, "version": 2})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if m := res.Map(t); m["portalStatus"] != "off" || m["version"] != float64(3) {
					t.Errorf("updated %s", res.Body)
				}
			}},
		{name: "Diego's next portal request is refused", want: 404,
			req: func(w *world) testenv.Request {
				return w.person("diego@northwind.example", "GET", "/api/portal/training", nil)
			}},
		{name: "assign training without a token", want: 401,
			req: func(w *world) testenv.Request { return w.as("", "POST", user(w)+"/training", map[string]any{}) }},
		{name: "assign training as Read-Only", want: 403,
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "POST", user(w)+"/training", map[string]any{"version": "x"})
			}},
		{name: "assign training to an unknown company user", want: 404,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", users(w)+"/nobody/training", map[string]any{"course": "x"})
			}},
		{name: "assign training without a course", want: 400, fields: []string{"course", "url"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", user(w)+"/training", map[string]any{"url": "http://insecure.example"})
			}},
		{name: "assign training to the Training Only user", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", users(w)+"/"+w.state["cu:Training Only"]+"/training",
					map[string]any{"course": "Phishing awareness", "url": "https://learn.example/phishing", "dueAt": "2027-01-31T00:00:00Z"})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), "Phishing awareness") {
					t.Errorf("assigned %s", res.Body)
				}
			}},
		{name: "Training Only sees its training", want: 200,
			req: func(w *world) testenv.Request {
				return w.as("portal:Training Only", "GET", "/api/portal/training", nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), "Phishing awareness") {
					t.Errorf("training %s", res.Body)
				}
			}},
		{name: "an MSP member has no portal", want: 404,
			req: func(w *world) testenv.Request { return w.as("Owner", "GET", "/api/portal/training", nil) }},
		{name: "training without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "GET", "/api/portal/training", nil) }},

		// The portal's other routes.
		{name: "portal tickets without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "GET", "/api/portal/tickets", nil) }},
		{name: "portal tickets as Training Only", want: 403,
			req: func(w *world) testenv.Request { return w.as("portal:Training Only", "GET", "/api/portal/tickets", nil) }},
		{name: "portal tickets as an MSP member", want: 404, req: func(w *world) testenv.Request { return w.as("Owner", "GET", "/api/portal/tickets", nil) }},
		{name: "portal tickets with limit=0", want: 400, fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.as("portal:User", "GET", "/api/portal/tickets?limit=0", nil) }},
		{name: "portal tickets", want: 200, req: func(w *world) testenv.Request { return w.as("portal:User", "GET", "/api/portal/tickets", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), "Printer on fire") {
					t.Errorf("the company's tickets %s", res.Body)
				}
			}},
		{name: "submit a ticket without a token", want: 401,
			req: func(w *world) testenv.Request { return w.as("", "POST", "/api/portal/tickets", map[string]any{}) }},
		{name: "submit a ticket as Training Only", want: 403,
			req: func(w *world) testenv.Request {
				return w.as("portal:Training Only", "POST", "/api/portal/tickets", map[string]any{})
			}},
		{name: "submit a ticket as an MSP member", want: 404,
			req: func(w *world) testenv.Request { return w.as("Owner", "POST", "/api/portal/tickets", map[string]any{}) }},
		{name: "submit a ticket without a subject", want: 400, fields: []string{"subject"},
			req: func(w *world) testenv.Request {
				return w.as("portal:User", "POST", "/api/portal/tickets", map[string]any{})
			}},
		{name: "dashboard without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "GET", "/api/portal/dashboard", nil) }},
		{name: "dashboard as User", want: 403, req: func(w *world) testenv.Request { return w.as("portal:User", "GET", "/api/portal/dashboard", nil) }},
		{name: "dashboard as an MSP member", want: 404, req: func(w *world) testenv.Request { return w.as("Owner", "GET", "/api/portal/dashboard", nil) }},
		{name: "dashboard as Manager", want: 200, req: func(w *world) testenv.Request { return w.as("portal:Manager", "GET", "/api/portal/dashboard", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				if m["companyName"] != "Northwind Traders" || m["userCount"] != float64(5) || m["openTicketCount"] != float64(1) {
					t.Errorf("dashboard %s", res.Body)
				}
			}},
		{name: "portal users without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "GET", "/api/portal/users", nil) }},
		{name: "portal users as User", want: 403, req: func(w *world) testenv.Request { return w.as("portal:User", "GET", "/api/portal/users", nil) }},
		{name: "portal users as an MSP member", want: 404, req: func(w *world) testenv.Request { return w.as("Owner", "GET", "/api/portal/users", nil) }},
		{name: "portal users with limit=0", want: 400, fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.as("portal:Manager", "GET", "/api/portal/users?limit=0", nil) }},
		{name: "portal users as Manager", want: 200, req: func(w *world) testenv.Request { return w.as("portal:Manager", "GET", "/api/portal/users", nil) }},
		{name: "add a portal user without a token", want: 401,
			req: func(w *world) testenv.Request { return w.as("", "POST", "/api/portal/users", map[string]any{}) }},
		{name: "add a portal user as Manager", want: 403,
			req: func(w *world) testenv.Request {
				return w.as("portal:Manager", "POST", "/api/portal/users", map[string]any{})
			}},
		{name: "add a portal user as an MSP member", want: 404,
			req: func(w *world) testenv.Request { return w.as("Owner", "POST", "/api/portal/users", map[string]any{}) }},
		{name: "add a portal user without an email", want: 400, fields: []string{"email"},
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "POST", "/api/portal/users", map[string]any{"name": "Megan"})
			}},
		{name: "add a portal user whose email is taken", want: 409, code: "duplicate-email",
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "POST", "/api/portal/users", map[string]any{"email": "user@northwind.example", "name": "Dup"})
			}},
		{name: "add a portal user", want: 201,
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "POST", "/api/portal/users", map[string]any{"email": "lynne@northwind.example", "name": "Lynne", "source": "m365"})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				if m["source"] != "manual" || m["portalStatus"] != "off" {
					t.Errorf("added %s", res.Body)
				}
				w.state["lynne"] = m["id"].(string)
			}},
		{name: "update a portal user without a token", want: 401,
			req: func(w *world) testenv.Request {
				return w.as("", "PUT", "/api/portal/users/"+w.state["lynne"], map[string]any{})
			}},
		{name: "update a portal user as Manager", want: 403,
			req: func(w *world) testenv.Request {
				return w.as("portal:Manager", "PUT", "/api/portal/users/"+w.state["lynne"], map[string]any{})
			}},
		{name: "update a portal user as an MSP member", want: 404,
			req: func(w *world) testenv.Request {
				return w.as("Owner", "PUT", "/api/portal/users/"+w.state["lynne"], map[string]any{})
			}},
		{name: "update an unknown portal user", want: 404,
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "PUT", "/api/portal/users/nobody", map[string]any{})
			}},
		{name: "update a portal user with a bad role", want: 400, fields: []string{"role"},
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "PUT", "/api/portal/users/"+w.state["lynne"], map[string]any{"email": "lynne@northwind.example", "name": "Lynne", "role": "Boss"})
			}},
		{name: "the Admin cannot change their own account", want: 409, code: "own-portal-account",
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "PUT", "/api/portal/users/"+w.state["cu:Admin"], map[string]any{"email": "admin@northwind.example", "name": "Admin"})
			}},
		{name: "update a portal user", want: 200,
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "PUT", "/api/portal/users/"+w.state["lynne"], map[string]any{"email": "lynne@northwind.example", "name": "Lynne Robbins", "role": "Manager"})
			}},
		{name: "remove a portal user without a token", want: 401,
			req: func(w *world) testenv.Request { return w.as("", "DELETE", "/api/portal/users/"+w.state["lynne"], nil) }},
		{name: "remove a portal user as Manager", want: 403,
			req: func(w *world) testenv.Request {
				return w.as("portal:Manager", "DELETE", "/api/portal/users/"+w.state["lynne"], nil)
			}},
		{name: "remove a portal user as an MSP member", want: 404,
			req: func(w *world) testenv.Request {
				return w.as("Owner", "DELETE", "/api/portal/users/"+w.state["lynne"], nil)
			}},
		{name: "the Admin cannot remove themselves", want: 409, code: "own-portal-account",
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "DELETE", "/api/portal/users/"+w.state["cu:Admin"], nil)
			}},
		{name: "remove a portal user", want: 204,
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "DELETE", "/api/portal/users/"+w.state["lynne"], nil)
			}},
		{name: "remove an unknown portal user", want: 404,
			req: func(w *world) testenv.Request {
				return w.as("portal:Admin", "DELETE", "/api/portal/users/"+w.state["lynne"], nil)
			}},

		// Delete (MSP).
		{name: "delete a company user without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "DELETE", user(w), nil) }},
		{name: "delete a company user as Read-Only", want: 403, req: func(w *world) testenv.Request { return w.at("Read-Only", "DELETE", user(w), nil) }},
		{name: "delete a company user", want: 204, req: func(w *world) testenv.Request { return w.at("Owner", "DELETE", user(w), nil) }},
		{name: "delete it again", want: 404, req: func(w *world) testenv.Request { return w.at("Owner", "DELETE", user(w), nil) }},

		// Onboarding.
		{name: "onboarding without a token", want: 401, req: func(w *world) testenv.Request { return w.as("", "GET", "/api/onboarding", nil) }},
		{name: "onboarding as Custom(none)", want: 403, req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", "/api/onboarding", nil) }},
		{name: "onboarding of another organization", want: 404,
			req: func(w *world) testenv.Request {
				return w.as("Owner", "GET", "/api/onboarding", nil, api.HeaderOrganization, w.beta.ID)
			}},
		{name: "onboarding", want: 200, req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", "/api/onboarding", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var o struct {
					Steps []struct{ Step, Status, Completion string }
				}
				res.JSON(t, &o)
				got := map[string]string{}
				for _, s := range o.Steps {
					got[s.Step] = s.Status
				}
				if got["add-customers"] != "complete" || got["company-users"] != "in-progress" || got["invite-platform-users"] != "complete" ||
					got["organization-profile"] != "not-started" || got["connect-m365"] != "not-started" {
					t.Errorf("onboarding %s", res.Body)
				}
			}},
		{name: "mark a step complete without a token", want: 401,
			req: func(w *world) testenv.Request {
				return w.as("", "POST", "/api/onboarding/steps/company-users/complete", nil)
			}},
		{name: "mark a step complete as Read-Only", want: 403,
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "POST", "/api/onboarding/steps/company-users/complete", nil)
			}},
		{name: "mark an unknown step complete", want: 404,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", "/api/onboarding/steps/bake-cake/complete", nil)
			}},
		{name: "mark company users complete", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", "/api/onboarding/steps/company-users/complete", nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), `"step":"company-users","title":"Company users","status":"complete"`) {
					t.Errorf("marked %s", res.Body)
				}
			}},
		{name: "reopen a step without a token", want: 401,
			req: func(w *world) testenv.Request {
				return w.as("", "POST", "/api/onboarding/steps/company-users/reopen", nil)
			}},
		{name: "reopen a step as Read-Only", want: 403,
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "POST", "/api/onboarding/steps/company-users/reopen", nil)
			}},
		{name: "reopen an unknown step", want: 404,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", "/api/onboarding/steps/bake-cake/reopen", nil)
			}},
		{name: "reopen company users", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", "/api/onboarding/steps/company-users/reopen", nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), `"step":"company-users","title":"Company users","status":"in-progress"`) {
					t.Errorf("reopened %s", res.Body)
				}
			}},
	}
	// Body faults, key faults and reused keys.
	for _, f := range []struct {
		name          string
		req           func(w *world, body any, ct string, headers ...string) testenv.Request
		post          bool
		first, second any
		firstStatus   int
	}{
		{"create a company user", msp("Owner", "POST", users), true, map[string]any{"email": "k1@northwind.example", "name": "K"}, map[string]any{"email": "k2@northwind.example", "name": "K"}, 201},
		{"update a company user", msp("Owner", "PUT", func(w *world) string { return users(w) + "/" + w.state["cu:User"] }), false, nil, nil, 0},
		{"assign training", msp("Owner", "POST", func(w *world) string { return users(w) + "/" + w.state["cu:User"] + "/training" }), true,
			map[string]any{"course": "A"}, map[string]any{"course": "B"}, 200},
		{"accept a portal invitation", func(w *world, body any, ct string, headers ...string) testenv.Request {
			r := w.as("Owner", "POST", "/api/portal/invitations/accept", body, headers...)
			if ct != "" {
				r.Headers["Content-Type"] = ct
			}
			return r
		}, true, map[string]any{"token": strings.Repeat("B", 43)}, map[string]any{"token": strings.Repeat("C", 43)}, 404},
		{"submit a ticket", portalReq("User", "POST", "/api/portal/tickets"), true, map[string]any{"subject": "A"}, map[string]any{"subject": "B"}, 201},
		{"add a portal user", portalReq("Admin", "POST", "/api/portal/users"), true, map[string]any{"email": "k3@northwind.example", "name": "K"},
			map[string]any{"email": "k4@northwind.example", "name": "K"}, 201},
		{"update a portal user", func(w *world, body any, ct string, headers ...string) testenv.Request {
			return portalReq("Admin", "PUT", "/api/portal/users/"+w.state["cu:User"])(w, body, ct, headers...)
		}, false, nil, nil, 0},
		{"mark a step complete", msp("Owner", "POST", func(*world) string { return "/api/onboarding/steps/connect-psa/complete" }), true, nil, map[string]any{"x": 1}, 200},
		{"reopen a step", msp("Owner", "POST", func(*world) string { return "/api/onboarding/steps/connect-psa/reopen" }), true, nil, map[string]any{"x": 1}, 200},
	} {
		faults := postFaults(f.name, f.req, f.post)
		if strings.Contains(f.name, "step") {
			faults = faults[3:] // no body: only the key's fault
		}
		steps = append(steps, faults...)
		if f.post {
			steps = append(steps, keyReused(f.name, f.req, f.first, f.second, f.firstStatus)...)
		}
	}
	steps = append(steps, companyImportSteps()...)
	steps = append(steps, psaImportSteps()...)
	steps = append(steps, reasonSteps(isCompanyUserRoute, func(w *world, path string) string {
		return strings.NewReplacer("{customerId}", w.state["customer"], "{userId}", w.state["cu:User"], "{step}", "connect-psa").Replace(path)
	})...)
	if !w.run(t, steps) {
		return
	}
	for _, m := range w.chk.Unobserved("500", "503", "429") {
		if _, path, _ := strings.Cut(m, " "); isCompanyUserRoute(strings.Fields(path)[0]) {
			t.Errorf("documented but never observed: %s", m)
		}
	}
}

// companyImportSteps drive the company user import through its statuses.
func companyImportSteps() []step {
	path := func(w *world) string { return "/api/msp-portal/customers/" + w.state["customer"] + "/users/import" }
	file := "Email,Name,Job Title,Role\nalan@northwind.example,Alan Steiner,CFO,manager\nbad-email,Bad,,\nbeth@northwind.example,Beth,,Training Only\n"
	csv := func(w *world, role, body, ct string, headers ...string) testenv.Request {
		return w.at(role, "POST", path(w), body, append([]string{"Content-Type", ct}, headers...)...)
	}
	key := "import-" + domain.NewID()
	return append([]step{
		{name: "import company users without a token", want: 401,
			req: func(w *world) testenv.Request {
				return w.as("", "POST", path(w), map[string]any{"source": "csv", "csv": file})
			}},
		{name: "import company users as Read-Only", want: 403,
			req: func(w *world) testenv.Request { return csv(w, "Read-Only", file, "text/csv") }},
		{name: "import company users of an unknown customer", want: 404,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", "/api/msp-portal/customers/nobody/users/import", file, "Content-Type", "text/csv")
			}},
		{name: "import company users from a psa without a connection", want: 400, fields: []string{"connectionId"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), map[string]any{"source": "psa"})
			}},
		{name: "import a file without an email column", want: 400, fields: []string{"body"},
			req: func(w *world) testenv.Request { return csv(w, "Owner", "Name\nAlan\n", "text/csv") }},
		{name: "import as XML", want: 415, req: func(w *world) testenv.Request { return csv(w, "Owner", "<x/>", "text/xml") }},
		{name: "import a file over 5 MiB", want: 413,
			req: func(w *world) testenv.Request {
				return csv(w, "Owner", "Email\n"+strings.Repeat("a", 5<<20+10), "text/csv")
			}},
		{name: "import company users", want: 202,
			req: func(w *world) testenv.Request {
				return csv(w, "Technician", file, "text/csv", api.HeaderIdempotencyKey, key)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				j := finished(t, w, started(t, res, api.KindCompanyUserImport))
				var r struct{ Rows, Created, Failed int64 }
				if err := json.Unmarshal(j.Result, &r); err != nil || r.Rows != 3 || r.Created != 2 || r.Failed != 1 || len(j.Errors) != 1 || j.Errors[0].Line != 3 {
					t.Errorf("import %+v %+v %v", j, r, err)
				}
			}},
		{name: "import with the key and another file", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				return csv(w, "Technician", "Email\nx@y.example\n", "text/csv", api.HeaderIdempotencyKey, key)
			}},
		{name: "import the same file again as JSON", want: 202,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), map[string]any{"source": "csv", "csv": file})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				j := finished(t, w, started(t, res, api.KindCompanyUserImport))
				var r struct{ Created, Unchanged, Failed int64 }
				if err := json.Unmarshal(j.Result, &r); err != nil || r.Created != 0 || r.Unchanged != 2 || r.Failed != 1 {
					t.Errorf("re-import %+v %v", r, err)
				}
			}},
	}, m365ImportSteps()...)
}
