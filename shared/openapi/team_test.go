package openapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// Platform users and their invitations (seeds 000 and 003), accepting an invitation,
// and the authentication settings (seed 000).

const (
	teamPath   = "/api/settings/platform-users"
	lookupPath = "/api/invitations/lookup"
	acceptPath = "/api/invitations/accept"
	authPath   = "/api/settings/authentication"
	ssoPath    = authPath + "/sso"

	// platformManager is a Custom member whose only permission is to manage platform
	// users: whatever else they grant exceeds their own access.
	platformManager = "Custom(manage-platform-users)"

	ownerEmail = "owner@alpha.example"
	techEmail  = "technician@alpha.example"
	adminEmail = "administrator@alpha.example"

	entraTenant = "8c5b2f4e-1d3a-4b6c-9e7f-0a1b2c3d4e5f"
	entraClient = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
)

// isTeamRoute reports whether a route is one of platform users, invitations or
// authentication settings, whose statuses TestTeamConformsToTheDocument observes.
func isTeamRoute(path string) bool {
	return strings.HasPrefix(path, teamPath) || strings.HasPrefix(path, "/api/invitations/") ||
		strings.HasPrefix(path, authPath)
}

// mailbox is the API's mail sender in these tests: it keeps what is sent, or refuses
// the next message once failNext was called, as SES does when it does not answer.
type mailbox struct {
	mu      sync.Mutex
	sent    []mail.Message
	failing bool
}

var _ mail.Sender = (*mailbox)(nil)

func (m *mailbox) Send(_ context.Context, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		m.failing = false
		return errors.New("the email service did not answer (staged by the test)")
	}
	m.sent = append(m.sent, msg)
	return nil
}

func (m *mailbox) failNext() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failing = true
}

// token is the invitation token of the last email sent to address ("" when none was).
func (m *mailbox) token(address string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		msg := m.sent[i]
		if !slices.ContainsFunc(msg.To, func(to string) bool { return strings.Contains(to, address) }) || len(msg.Links) == 0 {
			continue
		}
		u, err := url.Parse(msg.Links[0])
		if err != nil {
			return ""
		}
		return u.Query().Get("token")
	}
	return ""
}

// newTeamWorld is newWorld with an Administrator, a member who may only manage platform
// users, two tenants of alpha and one of beta, a mailbox, and no user pool.
func newTeamWorld(t *testing.T) (*world, *mailbox) {
	t.Helper()
	w := newWorld(t)
	box := &mailbox{}
	w.env.Deps.Mail = box
	w.env.Deps.Identity = nil // no user pool: setting up SSO answers 503
	w.tok["Administrator"] = w.env.AddMember(w.alpha.ID, permission.Administrator, adminEmail)
	w.tok[platformManager] = w.env.AddMember(w.alpha.ID, permission.Custom, "platform-users@alpha.example",
		permission.ManagePlatformUsers)
	w.state["tenant"] = w.fixtureTenant(w.alpha.ID, "Team tenant")
	w.state["tenant2"] = w.fixtureTenant(w.alpha.ID, "Other team tenant")
	w.state["beta-tenant"] = w.fixtureTenant(w.beta.ID, "Beta tenant")
	return w, box
}

// person is a request by someone signed in as email (a first sign-in the first time).
func (w *world) person(email, method, path string, body any, headers ...string) testenv.Request {
	r := w.as("", method, path, body, headers...)
	r.Token = w.env.Token(email)
	return r
}

// user is the path of the platform user remembered under email.
func (w *world) user(email string) string { return teamPath + "/" + w.state["id:"+email] }

// remember keeps a platform user's id, version and row under its email, and the
// members it encodes (see checkKeys).
func (w *world) remember(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var row map[string]any
	if err := json.Unmarshal(raw, &row); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	email, _ := row["email"].(string)
	w.state["id:"+email] = fmt.Sprint(row["id"])
	w.state["v:"+email] = fmt.Sprint(row["version"])
	w.state["row:"+email] = string(raw)
	w.recordKeys("PlatformUser", row)
	return row
}

// recordKeys notes the members a response of schema encoded, for checkKeys.
func (w *world) recordKeys(schema string, obj map[string]any) {
	for k := range obj {
		w.state["keys:"+schema+":"+k] = "seen"
	}
}

// checkKeys compares the members the responses of schema encoded with the schema's
// properties: a property that the API never writes is as wrong as a missing one. It
// stands in for TestTeamSchemasMatchTheGoTypes where the view's Go type is unexported.
func checkKeys(t *testing.T, w *world, schema string) {
	t.Helper()
	var seen []string
	for k := range w.state {
		if name, ok := strings.CutPrefix(k, "keys:"+schema+":"); ok {
			seen = append(seen, name)
		}
	}
	sch := loadSpec(t).deref(map[string]any{"$ref": "#/components/schemas/" + schema})
	var props []string
	for p := range sch["properties"].(map[string]any) {
		props = append(props, p)
	}
	if got, want := sorted(seen), sorted(props); !slices.Equal(got, want) {
		t.Errorf("%s: the responses encoded %v, the schema has %v", schema, got, want)
	}
}

// expiredInvitation records, through the store, an invitation of alpha that expired an
// hour ago but was not yet marked so by the schedule, and returns its token.
func (w *world) expiredInvitation(email string) string {
	token, hash := domain.NewInvitationToken()
	now := time.Now().UTC()
	inv := domain.Invitation{ID: domain.NewID(), OrganizationID: w.alpha.ID, Email: email, Role: permission.ReadOnly,
		TenantScope: domain.AllTenantsScope(),
		InvitedBy:   domain.Inviter{UserID: w.state["id:"+ownerEmail], Email: ownerEmail, Name: "owner"},
		Status:      domain.InvitationPending, CreatedAt: now.Add(-8 * 24 * time.Hour), SentAt: now.Add(-8 * 24 * time.Hour),
		ExpiresAt: now.Add(-time.Hour), TokenHash: hash}
	ev := audit.Event{Category: audit.UserManagement, Action: "fixture", Targets: audit.Targets{Emails: []string{email}}}
	if err := w.env.Store.CreateInvitation(context.Background(), inv, ev); err != nil {
		panic(err)
	}
	return token
}

// fixtureSSO records, through the store, that alpha signs in with its own Entra tenant,
// as PUT /api/settings/authentication/sso does once Cognito has the provider.
func (w *world) fixtureSSO() {
	ctx := context.Background()
	org, err := w.env.Store.GetOrganization(ctx, w.alpha.ID)
	if err != nil {
		panic(err)
	}
	_, err = w.env.Store.UpdateOrganizationFrom(ctx, org, nil, func(o *domain.Organization) (audit.Event, error) {
		o.SSO = &domain.SSOSettings{ProviderName: identity.ProviderName(o.ID), EntraTenantID: entraTenant, ClientID: entraClient,
			Domains: []string{"alpha.example"}, Issuer: identity.Issuer(entraTenant), UpdatedAt: time.Now().UTC()}
		return audit.Event{Category: audit.Settings, Action: "fixture"}, nil
	})
	if err != nil {
		panic(err)
	}
}

// problemFields returns a problem's errors[].field, for the checks of a 403 that names
// the field to change.
func problemFields(t *testing.T, res *testenv.Response) []string {
	t.Helper()
	var p struct{ Errors []struct{ Field string } }
	res.JSON(t, &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func wantFields(want ...string) func(t *testing.T, w *world, res *testenv.Response) {
	return func(t *testing.T, _ *world, res *testenv.Response) {
		if got := problemFields(t, res); !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("errors name %v, want %v: %s", got, want, res.Body)
		}
	}
}

// teamSteps drive every platform-user, invitation and authentication route through each
// documented status but 500 (and the 200 of setting up SSO, which needs a user pool:
// TestSSOConformsToTheDocumentOnMoto).
func teamSteps(box *mailbox) []step {
	long := func(n int) string { return strings.Repeat("x", n) }
	var steps []step
	add := func(s ...step) { steps = append(steps, s...) }
	denied := func(name, method string, path func(w *world) string, body any) {
		add(
			step{name: name + " without a token", want: 401, code: "unauthenticated",
				req: func(w *world) testenv.Request { return w.at("", method, path(w), body) }},
			step{name: name + " as a Technician", want: 403, code: "forbidden",
				req: func(w *world) testenv.Request { return w.at("Technician", method, path(w), body) }},
			step{name: name + " in another organization", want: 404, code: "not-found",
				req: func(w *world) testenv.Request {
					return w.as("Owner", method, path(w), body, api.HeaderOrganization, w.beta.ID)
				}},
		)
	}
	list := func(*world) string { return teamPath }

	// Listing.
	add(
		step{name: "team: list as the Owner", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", teamPath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct{ Items []json.RawMessage }
				res.JSON(t, &l)
				for _, raw := range l.Items {
					row := w.remember(t, raw)
					if row["kind"] != "member" || row["status"] != "active" || row["joinedAt"] == nil {
						t.Errorf("a member's row: %s", raw)
					}
				}
				if len(l.Items) != 6 {
					t.Errorf("%d rows, want the 6 members: %s", len(l.Items), res.Body)
				}
				owner := map[string]any{}
				_ = json.Unmarshal([]byte(w.state["row:"+ownerEmail]), &owner)
				if owner["role"] != "Owner" || owner["tenantAccess"].(map[string]any)["mode"] != "all" {
					t.Errorf("the Owner's row: %v", owner)
				}
			}},
		step{name: "team: list two at a time", want: 200,
			req: func(w *world) testenv.Request { return w.at("Administrator", "GET", teamPath+"?limit=2", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				ids := map[string]bool{}
				for page := 0; ; page++ {
					var l struct {
						Items []struct {
							ID string `json:"id"`
						}
						NextCursor string
					}
					res.JSON(t, &l)
					if len(l.Items) > 2 {
						t.Fatalf("a page of %d with limit=2", len(l.Items))
					}
					for _, it := range l.Items {
						ids[it.ID] = true
					}
					if l.NextCursor == "" || page > 5 {
						break
					}
					w.state["team-cursor"] = l.NextCursor
					res = w.env.Do(w.at("Administrator", "GET", teamPath+"?limit=2&cursor="+l.NextCursor, nil))
					if res.Status != 200 {
						t.Fatalf("next page: %d %s", res.Status, res.Body)
					}
				}
				if len(ids) != 6 {
					t.Errorf("paged through %d platform users, want 6", len(ids))
				}
			}},
		step{name: "team: list as a member who may only manage platform users", want: 200,
			req: func(w *world) testenv.Request { return w.at(platformManager, "GET", teamPath, nil) }},
		step{name: "team: list with limit=0", want: 400, code: "validation", fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", teamPath+"?limit=0", nil) }},
		step{name: "team: list with a bad cursor", want: 400, code: "validation", fields: []string{"cursor"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", teamPath+"?cursor=bogus", nil) }},
		step{name: "team: list in beta with alpha's cursor", want: 400, code: "validation", fields: []string{"cursor"},
			req: func(w *world) testenv.Request {
				r := w.asBeta("GET", teamPath+"?cursor="+w.state["team-cursor"], nil)
				r.Headers[api.HeaderOrganization] = w.beta.ID
				return r
			}},
		step{name: "team: list as a Read-Only member", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", teamPath, nil) }},
	)
	denied("team: list", "GET", list, nil)

	// Inviting.
	invite := func(role string, body map[string]any, headers ...string) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.at(role, "POST", teamPath, body, headers...) }
	}
	selected := func(w *world) map[string]any {
		return map[string]any{"mode": "selected", "tenantIds": []any{w.state["tenant"]}}
	}
	add(
		step{name: "team: invite while the email service is down", want: 201,
			req: func(w *world) testenv.Request {
				box.failNext()
				return w.at("Owner", "POST", teamPath, map[string]any{"email": "erin@invitee.example", "displayName": "Erin",
					"role": "Technician", "tenantAccess": selected(w)})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				row := w.remember(t, res.Body)
				if row["kind"] != "invitation" || row["status"] != "email-failed" || row["emailError"] == nil ||
					row["role"] != "Technician" || row["displayName"] != "Erin" {
					t.Errorf("invitation %s", res.Body)
				}
				by, _ := row["invitedBy"].(map[string]any)
				if by["email"] != ownerEmail || by["userId"] != w.state["id:"+ownerEmail] {
					t.Errorf("invitedBy %v", by)
				}
				if loc := res.Header.Get("Location"); loc != teamPath+"/"+fmt.Sprint(row["id"]) {
					t.Errorf("Location %q", loc)
				}
				exp, _ := time.Parse(time.RFC3339, fmt.Sprint(row["expiresAt"]))
				if d := time.Until(exp); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
					t.Errorf("expires in %v, want 7 days", d)
				}
			}},
		step{name: "team: invite the same email again", want: 409, code: "invitation-pending",
			req: invite("Owner", map[string]any{"email": "erin@invitee.example", "role": "Read-Only"})},
		step{name: "team: invite a member", want: 409, code: "already-member",
			req: invite("Owner", map[string]any{"email": techEmail, "role": "Read-Only"})},
		step{name: "team: invite with an Idempotency-Key", want: 201,
			req: invite("Owner", map[string]any{"email": "frank@invitee.example", "role": "Read-Only"},
				api.HeaderIdempotencyKey, "invite-frank"),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				row := w.remember(t, res.Body)
				if row["status"] != "invited" || row["emailError"] != nil {
					t.Errorf("invitation %s", res.Body)
				}
				if w.state["token:frank"] = box.token("frank@invitee.example"); w.state["token:frank"] == "" {
					t.Errorf("no invitation email to frank")
				}
			}},
		step{name: "team: invite again with the same Idempotency-Key replays", want: 201,
			req: invite("Owner", map[string]any{"email": "frank@invitee.example", "role": "Read-Only"},
				api.HeaderIdempotencyKey, "invite-frank"),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if res.Header.Get("Idempotent-Replayed") != "true" || res.Map(t)["id"] != w.state["id:frank@invitee.example"] {
					t.Errorf("not a replay: %v %s", res.Header, res.Body)
				}
			}},
		step{name: "team: the same Idempotency-Key with another body", want: 409, code: "idempotency-key-reused",
			req: invite("Owner", map[string]any{"email": "frank@invitee.example", "role": "Technician"},
				api.HeaderIdempotencyKey, "invite-frank")},
		step{name: "team: invite with an Idempotency-Key of 256 characters", want: 400, code: "validation",
			fields: []string{api.HeaderIdempotencyKey},
			req: invite("Owner", map[string]any{"email": "x@invitee.example", "role": "Read-Only"},
				api.HeaderIdempotencyKey, long(256))},
		step{name: "team: invite a Custom member to all tenants but one", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", teamPath, map[string]any{"email": "grace@invitee.example", "role": "Custom",
					"permissions":  []any{"view-data", "manage-customers", "view-data"},
					"tenantAccess": map[string]any{"mode": "all-except", "tenantIds": []any{w.state["tenant"]}}})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				row := w.remember(t, res.Body)
				if got := fmt.Sprint(row["permissions"]); got != "[manage-customers view-data]" {
					t.Errorf("permissions %s, want them sorted and once each", got)
				}
				w.state["token:grace"] = box.token("grace@invitee.example")
			}},
		step{name: "team: invite an Administrator", want: 201,
			req: invite("Owner", map[string]any{"email": "ivan@invitee.example", "role": "Administrator",
				"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []any{"ignored-for-administrators"}}}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				row := w.remember(t, res.Body)
				if ta := row["tenantAccess"].(map[string]any); ta["mode"] != "all" || ta["tenantIds"] != nil {
					t.Errorf("an Administrator's tenant access %v, want all", ta)
				}
			}},
		step{name: "team: invite someone who will join by other means", want: 201,
			req: invite("Administrator", map[string]any{"email": "judy@invitee.example", "role": "Read-Only"}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				w.remember(t, res.Body)
				w.state["token:judy"] = box.token("judy@invitee.example")
			}},
		step{name: "team: invite someone from outside alpha's Entra tenant", want: 201,
			req: invite("Owner", map[string]any{"email": "leo@invitee.example", "role": "Read-Only"}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				w.remember(t, res.Body)
				w.state["token:leo"] = box.token("leo@invitee.example")
			}},
		step{name: "team: invite as a member who may only manage platform users", want: 201,
			req: invite(platformManager, map[string]any{"email": "hank@invitee.example", "role": "Custom",
				"permissions": []any{"manage-platform-users"}}),
			check: func(t *testing.T, w *world, res *testenv.Response) { w.remember(t, res.Body) }},
		step{name: "team: invite with every field wrong", want: 400, code: "validation",
			fields: []string{"email", "displayName", "role", "tenantAccess.mode"},
			req: invite("Owner", map[string]any{"email": "not-an-email", "displayName": long(201), "role": "Boss",
				"tenantAccess": map[string]any{"mode": "some"}})},
		step{name: "team: invite without a body's fields", want: 400, code: "validation", fields: []string{"email", "role"},
			req: invite("Owner", map[string]any{})},
		step{name: "team: invite an Owner", want: 400, code: "validation", fields: []string{"role"},
			req: invite("Owner", map[string]any{"email": "x@invitee.example", "role": "Owner"})},
		step{name: "team: invite a Custom member without permissions", want: 400, code: "validation", fields: []string{"permissions"},
			req: invite("Owner", map[string]any{"email": "x@invitee.example", "role": "Custom"})},
		step{name: "team: invite a Custom member with the Owner's permission", want: 400, code: "validation",
			fields: []string{"permissions"},
			req:    invite("Owner", map[string]any{"email": "x@invitee.example", "role": "Custom", "permissions": []any{"delete-organization"}})},
		step{name: "team: invite to selected tenants without any", want: 400, code: "validation",
			fields: []string{"tenantAccess.tenantIds"},
			req: invite("Owner", map[string]any{"email": "x@invitee.example", "role": "Technician",
				"tenantAccess": map[string]any{"mode": "selected"}})},
		step{name: "team: invite to a malformed tenant id", want: 400, code: "validation",
			fields: []string{"tenantAccess.tenantIds[0]"},
			req: invite("Owner", map[string]any{"email": "x@invitee.example", "role": "Technician",
				"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []any{"not a tenant!"}}})},
		step{name: "team: invite to another organization's tenant", want: 400, code: "validation",
			fields: []string{"tenantAccess.tenantIds[0]"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", teamPath, map[string]any{"email": "x@invitee.example", "role": "Technician",
					"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []any{w.state["beta-tenant"]}}})
			}},
		step{name: "team: invite with a role that is a number", want: 400, code: "validation", fields: []string{"role"},
			req: invite("Owner", map[string]any{"email": "x@invitee.example", "role": 3})},
		step{name: "team: invite as a Read-Only member", want: 403, code: "forbidden",
			req: invite("Read-Only", map[string]any{"email": "x@invitee.example", "role": "Read-Only"})},
		step{name: "team: invite a Read-Only member as one who may only manage platform users", want: 403,
			code: "grant-exceeds-own-access", check: wantFields("role"),
			req: invite(platformManager, map[string]any{"email": "x@invitee.example", "role": "Read-Only"})},
		step{name: "team: invite a Custom member with more than one holds", want: 403,
			code: "grant-exceeds-own-access", check: wantFields("permissions"),
			req: invite(platformManager, map[string]any{"email": "x@invitee.example", "role": "Custom",
				"permissions": []any{"manage-platform-users", "view-data"}})},
	)
	denied("team: invite", "POST", list, map[string]any{"email": "x@invitee.example", "role": "Read-Only"})

	// Changing role and access.
	put := func(role, email string, body func(w *world) map[string]any) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.at(role, "PUT", w.user(email), body(w)) }
	}
	fixed := func(m map[string]any) func(*world) map[string]any { return func(*world) map[string]any { return m } }
	add(
		step{name: "team: change the unsent invitation", want: 200,
			req: put("Owner", "erin@invitee.example", func(w *world) map[string]any {
				return map[string]any{"role": "Read-Only", "displayName": "Erin E.", "version": w.version("v:erin@invitee.example")}
			}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				w.state["stale:erin"] = w.state["v:erin@invitee.example"]
				row := w.remember(t, res.Body)
				ta, _ := row["tenantAccess"].(map[string]any)
				if row["role"] != "Read-Only" || row["displayName"] != "Erin E." || row["status"] != "email-failed" || ta["mode"] != "all" {
					t.Errorf("changed invitation %s", res.Body)
				}
			}},
		step{name: "team: change the invitation from a stale version", want: 409, code: "stale-version",
			req: put("Owner", "erin@invitee.example", func(w *world) map[string]any {
				return map[string]any{"role": "Technician", "version": w.version("stale:erin")}
			})},
		step{name: "team: put a member's row as the list shows it", want: 200,
			req: put("Owner", techEmail, func(w *world) map[string]any {
				var row map[string]any
				_ = json.Unmarshal([]byte(w.state["row:"+techEmail]), &row)
				return row
			}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				before := w.version("v:" + techEmail)
				row := w.remember(t, res.Body)
				if row["role"] != "Technician" || w.version("v:"+techEmail) != before+1 {
					t.Errorf("the round trip changed %s", res.Body)
				}
			}},
		step{name: "team: make the Technician a Custom member of one tenant", want: 200,
			req: put("Administrator", techEmail, func(w *world) map[string]any {
				return map[string]any{"role": "Custom", "permissions": []any{"manage-customers"}, "tenantAccess": selected(w),
					"version": w.version("v:" + techEmail)}
			}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				row := w.remember(t, res.Body)
				if row["role"] != "Custom" || fmt.Sprint(row["permissions"]) != "[manage-customers]" {
					t.Errorf("changed member %s", res.Body)
				}
			}},
		step{name: "team: change the Owner", want: 409, code: "owner-protected",
			req: put("Administrator", ownerEmail, fixed(map[string]any{"role": "Read-Only"}))},
		step{name: "team: change a member with every field wrong", want: 400, code: "validation",
			fields: []string{"role", "tenantAccess.mode", "tenantAccess.tenantIds[0]"},
			req: put("Owner", techEmail, fixed(map[string]any{"role": "Boss",
				"tenantAccess": map[string]any{"mode": "some", "tenantIds": []any{"bad id!"}}}))},
		step{name: "team: change with a version that is not a number", want: 400, code: "validation", fields: []string{"version"},
			req: put("Owner", techEmail, fixed(map[string]any{"role": "Technician", "version": "v2"}))},
		step{name: "team: change the Administrator as one who may only manage platform users", want: 403,
			code: "exceeds-own-access", req: put(platformManager, adminEmail, fixed(map[string]any{"role": "Read-Only"}))},
		step{name: "team: give more than one holds", want: 403, code: "grant-exceeds-own-access", check: wantFields("role"),
			req: put(platformManager, "hank@invitee.example", fixed(map[string]any{"role": "Administrator"}))},
		step{name: "team: change as a Read-Only member", want: 403, code: "forbidden",
			req: put("Read-Only", techEmail, fixed(map[string]any{"role": "Technician"}))},
		step{name: "team: change a platform user that does not exist", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", teamPath+"/no-such-user", map[string]any{"role": "Technician"})
			}},
		step{name: "team: change alpha's member from beta", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.asBeta("PUT", w.user(techEmail), map[string]any{"role": "Technician"})
			}},
		step{name: "team: change without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request {
				return w.at("", "PUT", w.user(techEmail), map[string]any{"role": "Technician"})
			}},
	)

	// Resending.
	resend := func(role, email string, body any, headers ...string) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.at(role, "POST", w.user(email)+"/resend", body, headers...) }
	}
	add(
		step{name: "team: resend the unsent invitation", want: 200, req: resend("Owner", "erin@invitee.example", nil),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				row := w.remember(t, res.Body)
				if row["status"] != "invited" || row["emailError"] != nil {
					t.Errorf("resent %s", res.Body)
				}
				if w.state["token:erin"] = box.token("erin@invitee.example"); w.state["token:erin"] == "" {
					t.Errorf("no email to erin")
				}
			}},
		step{name: "team: resend grace's invitation with an Idempotency-Key", want: 200,
			req: resend("Administrator", "grace@invitee.example", nil, api.HeaderIdempotencyKey, "resend-grace"),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				w.state["old-token:grace"] = w.state["token:grace"]
				w.state["token:grace"] = box.token("grace@invitee.example")
				if w.state["token:grace"] == w.state["old-token:grace"] {
					t.Errorf("the resend kept the link")
				}
			}},
		step{name: "team: resend again with the same Idempotency-Key replays", want: 200,
			req: resend("Administrator", "grace@invitee.example", nil, api.HeaderIdempotencyKey, "resend-grace"),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if res.Header.Get("Idempotent-Replayed") != "true" || box.token("grace@invitee.example") != w.state["token:grace"] {
					t.Errorf("not a replay: %v", res.Header)
				}
			}},
		step{name: "team: the same Idempotency-Key with a body", want: 409, code: "idempotency-key-reused",
			req: resend("Administrator", "grace@invitee.example", map[string]any{"note": "again"}, api.HeaderIdempotencyKey, "resend-grace")},
		step{name: "team: resend with an Idempotency-Key of 256 characters", want: 400, code: "validation",
			fields: []string{api.HeaderIdempotencyKey},
			req:    resend("Owner", "grace@invitee.example", nil, api.HeaderIdempotencyKey, long(256))},
		step{name: "team: resend with a body over 1 MiB and an Idempotency-Key", want: 413, code: "body-too-large",
			req: resend("Owner", "grace@invitee.example", `{"note":"`+strings.Repeat("a", 1<<20+64)+`"}`,
				api.HeaderIdempotencyKey, "resend-big")},
		step{name: "team: resend to a member", want: 409, code: "not-an-invitation", req: resend("Owner", techEmail, nil)},
		step{name: "team: resend an Administrator's invitation as one who may only manage platform users", want: 403,
			code: "exceeds-own-access", req: resend(platformManager, "ivan@invitee.example", nil)},
		step{name: "team: resend an invitation that does not exist", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", teamPath+"/no-such-invitation/resend", nil)
			}},
		step{name: "team: resend as a Read-Only member", want: 403, code: "forbidden", req: resend("Read-Only", "ivan@invitee.example", nil)},
	)
	denied("team: resend", "POST", func(w *world) string { return w.user("ivan@invitee.example") + "/resend" }, nil)

	// Explaining access.
	explain := func(role, email, query string) func(w *world) testenv.Request {
		return func(w *world) testenv.Request {
			return w.at(role, "GET", w.user(email)+"/access?"+strings.NewReplacer("{tenant}", w.state["tenant"],
				"{tenant2}", w.state["tenant2"]).Replace(query), nil)
		}
	}
	explained := func(allowed bool, grant, rule string) func(t *testing.T, w *world, res *testenv.Response) {
		return func(t *testing.T, _ *world, res *testenv.Response) {
			var e permission.Explanation
			res.JSON(t, &e)
			if e.Allowed != allowed || e.Grant != grant || e.Rule != rule || e.Reason == "" {
				t.Errorf("explanation %s, want allowed=%v grant=%s rule=%s", res.Body, allowed, grant, rule)
			}
		}
	}
	add(
		step{name: "team: explain a scoped permission on a selected tenant", want: 200,
			req: explain("Owner", techEmail, "permission=manage-customers&tenantId={tenant}"), check: explained(true, "scoped", permission.RuleScopeSelectedIncludes)},
		step{name: "team: explain it on a tenant outside the scope", want: 200,
			req: explain("Owner", techEmail, "permission=manage-customers&tenantId={tenant2}"), check: explained(false, "scoped", permission.RuleScopeSelectedExcludes)},
		step{name: "team: explain it on a tenant alpha does not have", want: 200,
			req: explain("Administrator", techEmail, "permission=manage-customers&tenantId=no-such-tenant"), check: explained(false, "scoped", "unknown-tenant")},
		step{name: "team: explain a permission not picked", want: 200,
			req: explain("Owner", techEmail, "permission=view-data"), check: explained(false, "denied", permission.RuleCustomNotPicked)},
		step{name: "team: explain the Owner's own permission", want: 200,
			req: explain("Owner", ownerEmail, "permission=delete-organization"), check: explained(true, "allowed", permission.RuleRoleAllows)},
		step{name: "team: explain an invitation's access", want: 200,
			req: explain("Owner", "erin@invitee.example", "permission=view-data&tenantId={tenant}"), check: explained(true, "allowed", permission.RuleRoleAllows)},
		step{name: "team: explain without a permission", want: 400, code: "validation", fields: []string{"permission"},
			req: explain("Owner", techEmail, "")},
		step{name: "team: explain an unknown permission on a malformed tenant", want: 400, code: "validation",
			fields: []string{"permission", "tenantId"}, req: explain("Owner", techEmail, "permission=everything&tenantId=bad%21")},
		step{name: "team: explain for nobody", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", teamPath+"/nobody/access?permission=view-data", nil)
			}},
		step{name: "team: explain as a Read-Only member", want: 403, code: "forbidden", req: explain("Read-Only", techEmail, "permission=view-data")},
	)
	denied("team: explain", "GET", func(w *world) string { return w.user(techEmail) + "/access?permission=view-data" }, nil)

	// Looking up and accepting invitations.
	lookup := func(token func(w *world) any) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.as("", "POST", lookupPath, map[string]any{"token": token(w)}) }
	}
	tok := func(key string) func(w *world) any { return func(w *world) any { return w.state[key] } }
	constant := func(v any) func(*world) any { return func(*world) any { return v } }
	accept := func(email string, token func(w *world) any, headers ...string) func(w *world) testenv.Request {
		return func(w *world) testenv.Request {
			return w.person(email, "POST", acceptPath, map[string]any{"token": token(w)}, headers...)
		}
	}
	unknown, _ := domain.NewInvitationToken()
	add(
		step{name: "invitations: look up frank's invitation", want: 200, req: lookup(tok("token:frank")),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				w.recordKeys("InvitationLookup", m)
				if m["role"] != "Read-Only" || m["organizationName"] == "" || m["inviterName"] != "owner" {
					t.Errorf("lookup %s", res.Body)
				}
			}},
		step{name: "invitations: look up with the token padded", want: 200,
			req: lookup(func(w *world) any { return " " + w.state["token:frank"] + "\n" })},
		step{name: "invitations: look up a token that is not one", want: 400, code: "validation", fields: []string{"token"},
			req: lookup(constant("abc"))},
		step{name: "invitations: look up without a token", want: 400, code: "validation", fields: []string{"token"},
			req: func(w *world) testenv.Request { return w.as("", "POST", lookupPath, map[string]any{}) }},
		step{name: "invitations: look up a token that is a number", want: 400, code: "validation", fields: []string{"token"},
			req: lookup(constant(42))},
		step{name: "invitations: look up a token no invitation holds", want: 404, code: "not-found", req: lookup(constant(unknown))},
		step{name: "invitations: look up grace's link that the resend replaced", want: 404, code: "not-found",
			req: lookup(tok("old-token:grace"))},
		step{name: "invitations: look up an expired invitation", want: 409, code: "invitation-expired",
			req: func(w *world) testenv.Request {
				w.state["token:expired"] = w.expiredInvitation("olga@invitee.example")
				return w.as("", "POST", lookupPath, map[string]any{"token": w.state["token:expired"]})
			}},
		step{name: "invitations: accept frank's invitation as someone else", want: 403, code: "invitation-email-mismatch",
			req: func(w *world) testenv.Request {
				r := w.as("", "POST", acceptPath, map[string]any{"token": w.state["token:frank"]})
				r.Token = w.beta.OwnerToken
				return r
			}},
		step{name: "invitations: frank signs in with the link and accepts", want: 200,
			req: accept("frank@invitee.example", tok("token:frank")),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				w.recordKeys("AcceptedInvitation", m)
				org, _ := m["organization"].(map[string]any)
				raw, _ := json.Marshal(m["member"])
				mem := w.remember(t, raw)
				if org["id"] != w.alpha.ID || mem["email"] != "frank@invitee.example" || mem["role"] != "Read-Only" || mem["kind"] != "member" {
					t.Errorf("accepted %s", res.Body)
				}
			}},
		step{name: "invitations: frank accepts again with an Idempotency-Key", want: 200,
			req: accept("frank@invitee.example", tok("token:frank"), api.HeaderIdempotencyKey, "accept-frank")},
		step{name: "invitations: the same Idempotency-Key with another token", want: 409, code: "idempotency-key-reused",
			req: accept("frank@invitee.example", constant(unknown), api.HeaderIdempotencyKey, "accept-frank")},
		step{name: "invitations: accept with an Idempotency-Key of 256 characters", want: 400, code: "validation",
			fields: []string{api.HeaderIdempotencyKey},
			req:    accept("frank@invitee.example", tok("token:frank"), api.HeaderIdempotencyKey, long(256))},
		step{name: "invitations: accept frank's used invitation as someone else", want: 409, code: "invitation-used",
			req: func(w *world) testenv.Request {
				r := w.as("", "POST", acceptPath, map[string]any{"token": w.state["token:frank"]})
				r.Token = w.beta.OwnerToken
				return r
			}},
		step{name: "invitations: look up frank's used invitation", want: 409, code: "invitation-used", req: lookup(tok("token:frank"))},
		step{name: "invitations: accept an expired invitation", want: 409, code: "invitation-expired",
			req: accept("olga@invitee.example", tok("token:expired"))},
		step{name: "invitations: accept as a member already", want: 409, code: "already-member",
			req: func(w *world) testenv.Request {
				w.env.AddMember(w.alpha.ID, permission.ReadOnly, "judy@invitee.example")
				return w.person("judy@invitee.example", "POST", acceptPath, map[string]any{"token": w.state["token:judy"]})
			}},
		step{name: "invitations: accept a token no invitation holds", want: 404, code: "not-found",
			req: accept("frank@invitee.example", constant(unknown))},
		step{name: "invitations: accept a token that is not one", want: 400, code: "validation", fields: []string{"token"},
			req: accept("frank@invitee.example", constant("abc"))},
		step{name: "invitations: accept without signing in", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request {
				return w.as("", "POST", acceptPath, map[string]any{"token": w.state["token:grace"]})
			}},
		step{name: "invitations: accept with an unverified email", want: 401, code: "email-not-verified",
			req: func(w *world) testenv.Request {
				r := w.as("", "POST", acceptPath, map[string]any{"token": w.state["token:grace"]})
				r.Token = w.env.TokenFor(devauth.Identity{Email: "grace@invitee.example", Unverified: true, MFA: true})
				return r
			}},
	)

	// The authentication settings.
	settings := func(role string, body func(w *world) any) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.at(role, "PUT", authPath, body(w)) }
	}
	value := func(v any) func(*world) any { return func(*world) any { return v } }
	goodSSO := func(w *world) map[string]any {
		return map[string]any{"entraTenantId": strings.ToUpper(entraTenant), "clientId": entraClient, "clientSecret": "s3cret",
			"domains": []any{"alpha.example", "Alpha.Example"}}
	}
	sso := func(role string, body func(w *world) map[string]any) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.at(role, "PUT", ssoPath, body(w)) }
	}
	add(
		step{name: "authentication: get", want: 200,
			req: func(w *world) testenv.Request { return w.at("Administrator", "GET", authPath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				if _, ok := m["sso"]; !ok || m["sso"] != nil || m["requireMfa"] != true {
					t.Errorf("settings %s", res.Body)
				}
				w.state["auth"] = string(res.Body)
				w.state["auth-version"] = fmt.Sprint(jsonVersion(t, res))
			}},
		step{name: "authentication: get as a member without permissions", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", authPath, nil) }},
		step{name: "authentication: put the settings as GET returned them", want: 200,
			req: settings("Owner", func(w *world) any {
				var body map[string]any
				_ = json.Unmarshal([]byte(w.state["auth"]), &body)
				return body
			}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				w.state["auth-stale"] = w.state["auth-version"]
				w.state["auth-version"] = fmt.Sprint(jsonVersion(t, res))
			}},
		step{name: "authentication: shorten the session timeout", want: 200,
			req: settings("Administrator", func(w *world) any {
				return map[string]any{"entraSsoEnabled": false, "requireMfa": true, "sessionTimeoutMinutes": 60,
					"version": w.version("auth-version")}
			}),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				m := res.Map(t)
				if m["sessionTimeoutMinutes"] != float64(60) || m["entraSsoEnabled"] != false {
					t.Errorf("settings %s", res.Body)
				}
				w.state["auth-version"] = fmt.Sprint(jsonVersion(t, res))
			}},
		step{name: "authentication: put from a stale version", want: 409, code: "stale-version",
			req: settings("Owner", func(w *world) any {
				return map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 480,
					"version": w.version("auth-stale")}
			})},
		step{name: "authentication: put nothing", want: 400, code: "validation",
			fields: []string{"entraSsoEnabled", "requireMfa", "sessionTimeoutMinutes"}, req: settings("Owner", value(map[string]any{}))},
		step{name: "authentication: put a timeout of one minute", want: 400, code: "validation",
			fields: []string{"sessionTimeoutMinutes"},
			req:    settings("Owner", value(map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 1}))},
		step{name: "authentication: put settings of the wrong types", want: 400, code: "validation",
			fields: []string{"requireMfa", "sessionTimeoutMinutes"},
			req:    settings("Owner", value(map[string]any{"entraSsoEnabled": true, "requireMfa": "yes", "sessionTimeoutMinutes": "8h"}))},
		step{name: "authentication: put as a Technician", want: 403, code: "forbidden",
			req: settings("Technician", value(map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 480}))},
		step{name: "authentication: put in another organization", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "PUT", authPath, map[string]any{"entraSsoEnabled": true, "requireMfa": true,
					"sessionTimeoutMinutes": 480}, api.HeaderOrganization, w.beta.ID)
			}},

		// The organization's own Entra ID sign-in.
		step{name: "sso: set up without a client secret", want: 400, code: "validation", fields: []string{"clientSecret"},
			req: sso("Owner", func(w *world) map[string]any { return with(goodSSO(w), "clientSecret", "") })},
		step{name: "sso: set up with every field wrong", want: 400, code: "validation",
			fields: []string{"entraTenantId", "clientId", "clientSecret", "domains[0]", "domains[1]"},
			req: sso("Owner", fixedSSO(map[string]any{"entraTenantId": "contoso", "clientId": "app", "clientSecret": long(1025),
				"domains": []any{"not a domain", "sso-" + strings.Repeat("a", 40) + ".example"}}))},
		step{name: "sso: set up without domains", want: 400, code: "validation", fields: []string{"domains"},
			req: sso("Owner", func(w *world) map[string]any { return with(goodSSO(w), "domains", []any{}) })},
		step{name: "sso: set up from a stale version", want: 409, code: "stale-version",
			req: sso("Owner", func(w *world) map[string]any { return with(goodSSO(w), "version", w.version("auth-stale")) })},
		step{name: "sso: set up without a user pool", want: 503, code: "sso-unavailable",
			req: sso("Owner", func(w *world) map[string]any { return with(goodSSO(w), "version", w.version("auth-version")) })},
		step{name: "sso: set up as a Read-Only member", want: 403, code: "forbidden", req: sso("Read-Only", goodSSO)},
		step{name: "sso: set up in another organization", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "PUT", ssoPath, goodSSO(w), api.HeaderOrganization, w.beta.ID)
			}},
		step{name: "authentication: get with the organization's own Entra sign-in", want: 200,
			req: func(w *world) testenv.Request {
				w.fixtureSSO()
				return w.at("Owner", "GET", authPath, nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var v struct {
					SSO struct {
						ProviderName, EntraTenantID string
						HasClientSecret             bool
					}
				}
				res.JSON(t, &v)
				if v.SSO.ProviderName != identity.ProviderName(w.alpha.ID) || v.SSO.EntraTenantID != entraTenant || !v.SSO.HasClientSecret {
					t.Errorf("settings %s", res.Body)
				}
			}},
		step{name: "sso: update without the client secret, which is kept", want: 503, code: "sso-unavailable",
			req: sso("Owner", func(w *world) map[string]any { return with(goodSSO(w), "clientSecret", "") })},
		step{name: "invitations: accept from outside the organization's Entra tenant", want: 403, code: "entra-tenant-mismatch",
			req: accept("leo@invitee.example", tok("token:leo"))},
		step{name: "invitations: accept through the organization's Entra tenant", want: 200,
			req: func(w *world) testenv.Request {
				r := w.as("", "POST", acceptPath, map[string]any{"token": w.state["token:leo"]})
				r.Token = w.env.TokenFor(devauth.Identity{Email: "leo@invitee.example", Name: "leo", MFA: true, EntraTenantID: entraTenant})
				return r
			}},
	)
	denied("authentication: get", "GET", func(*world) string { return authPath }, nil)

	// Removing members and revoking invitations.
	remove := func(role, email string) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.at(role, "DELETE", w.user(email), nil) }
	}
	add(
		step{name: "team: the list shows members and invitations in every status", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", teamPath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct{ Items []json.RawMessage }
				res.JSON(t, &l)
				statuses := map[string]bool{}
				for _, raw := range l.Items {
					statuses[w.remember(t, raw)["status"].(string)] = true
				}
				for _, s := range []string{domain.StatusActive, domain.StatusInvited, domain.StatusExpired} {
					if !statuses[s] {
						t.Errorf("no row of status %s: %s", s, res.Body)
					}
				}
			}},
		step{name: "team: revoke erin's invitation", want: 204, req: remove("Owner", "erin@invitee.example")},
		step{name: "invitations: look up erin's revoked invitation", want: 404, code: "not-found", req: lookup(tok("token:erin"))},
		step{name: "team: revoke it again", want: 404, code: "not-found", req: remove("Owner", "erin@invitee.example")},
		step{name: "team: remove the Owner", want: 409, code: "owner-protected", req: remove("Administrator", ownerEmail)},
		step{name: "team: remove the Administrator as one who may only manage platform users", want: 403,
			code: "exceeds-own-access", req: remove(platformManager, adminEmail)},
		step{name: "team: remove as a Read-Only member", want: 403, code: "forbidden", req: remove("Read-Only", "frank@invitee.example")},
		step{name: "team: remove alpha's member from beta", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return w.asBeta("DELETE", w.user("frank@invitee.example"), nil) }},
		step{name: "team: remove without a token", want: 401, code: "unauthenticated", req: remove("", "frank@invitee.example")},
		step{name: "team: remove frank", want: 204, req: remove("Administrator", "frank@invitee.example")},
		step{name: "team: frank's next request in alpha", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.person("frank@invitee.example", "GET", profilePath, nil, api.HeaderOrganization, w.alpha.ID)
			}},
		step{name: "audit: the invitations' events name the invitees", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", "/api/audit-log?limit=100", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct {
					Items []audit.Event
				}
				res.JSON(t, &l)
				want := map[string]bool{"invitation.create": false, "invitation.update": false, "invitation.resend": false,
					"invitation.revoke": false, "invitation.accept": false, "member.update": false, "member.remove": false,
					"authentication.update": false}
				for _, ev := range l.Items {
					if _, ok := want[ev.Action]; ok {
						want[ev.Action] = true
					}
					if strings.HasPrefix(ev.Action, "invitation.") && len(ev.Targets.Emails) == 0 {
						t.Errorf("%s names no email: %+v", ev.Action, ev.Targets)
					}
				}
				for action, seen := range want {
					if !seen {
						t.Errorf("no %s event", action)
					}
				}
			}},
	)
	steps = append(steps, reasonSteps(isTeamRoute, func(w *world, path string) string {
		return strings.ReplaceAll(path, "{id}", w.state["id:"+ownerEmail])
	})...)
	return append(steps, teamBodySteps()...)
}

func fixedSSO(m map[string]any) func(*world) map[string]any {
	return func(*world) map[string]any { return m }
}

// teamBodySteps are the faults every body can have, for the routes of this file that
// take one.
func teamBodySteps() []step {
	var out []step
	for _, rt := range api.Routes() {
		if !isTeamRoute(rt.Path) || rt.Method != http.MethodPut && rt.Method != http.MethodPost || !takesJSON(rt) {
			continue
		}
		req := func(w *world, role string, body any, ct string) testenv.Request {
			path := strings.ReplaceAll(rt.Path, "{id}", w.state["id:"+ownerEmail])
			r := w.as(role, rt.Method, path, body)
			if rt.OrgScoped() {
				r.Headers[api.HeaderOrganization] = w.alpha.ID
			}
			if ct != "" {
				r.Headers["Content-Type"] = ct
			}
			return r
		}
		if rt.Permission != permission.Public {
			out = append(out, step{name: rt.Pattern() + " without a token", want: 401, code: "unauthenticated",
				req: func(w *world) testenv.Request { return req(w, "", map[string]any{}, "") }})
		}
		out = append(out, bodyFaultSteps(rt, req, "token")...)
	}
	return out
}

// TestTeamConformsToTheDocument runs teamSteps on a world of their own with every
// exchange checked against openapi.json, then checks that each status documented for
// these routes was seen (but 500: nothing from outside should cause one; and the 200 of
// setting up SSO, which needs a user pool).
func TestTeamConformsToTheDocument(t *testing.T) {
	w, box := newTeamWorld(t)
	if !w.run(t, teamSteps(box)) {
		return
	}
	var ops int
	for _, op := range w.chk.Operations() {
		if isTeamRoute(op.Path) {
			ops++
		}
	}
	if ops != 11 {
		t.Errorf("%d operations of platform users, invitations and authentication in the document, want 11", ops)
	}
	for _, m := range w.chk.Unobserved("500", "503", "429") {
		if m == "PUT "+ssoPath+" 200" {
			continue // TestSSOConformsToTheDocumentOnMoto
		}
		if heldStatus(m) {
			continue // TestApprovalsConformToTheDocument
		}
		if _, path, _ := strings.Cut(m, " "); isTeamRoute(strings.Fields(path)[0]) {
			t.Errorf("documented but never observed: %s", m)
		}
	}
	for _, schema := range []string{"PlatformUser", "InvitationLookup", "AcceptedInvitation"} {
		checkKeys(t, w, schema)
	}
}

// TestSSOConformsToTheDocumentOnMoto sets up an organization's Entra ID sign-in against
// moto's Cognito, so the 200 of PUT /api/settings/authentication/sso is observed too.
func TestSSOConformsToTheDocumentOnMoto(t *testing.T) {
	ep := testenv.MotoEndpoint(t)
	w, _ := newTeamWorld(t)
	w.env.Deps.Identity = motoDirectory(t, ep)
	good := map[string]any{"entraTenantId": entraTenant, "clientId": entraClient, "clientSecret": "s3cret",
		"domains": []any{"@Alpha-" + strings.ToLower(domain.NewID()[:8]) + ".example."}}
	steps := []step{
		{name: "sso: set up", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "PUT", ssoPath, good) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var v struct {
					SSO struct {
						ProviderName, Issuer string
						Domains              []string
						HasClientSecret      bool
					}
					Version int64
				}
				res.JSON(t, &v)
				want := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(good["domains"].([]any)[0].(string)), "@"), ".")
				if v.SSO.ProviderName != identity.ProviderName(w.alpha.ID) || !slices.Equal(v.SSO.Domains, []string{want}) ||
					v.SSO.Issuer != identity.Issuer(entraTenant) || !v.SSO.HasClientSecret {
					t.Errorf("settings %s", res.Body)
				}
				w.state["auth-version"] = fmt.Sprint(v.Version)
			}},
		{name: "sso: update without the secret, from the current version", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", ssoPath, with(good, "clientSecret", "", "version", w.version("auth-version")))
			}},
		{name: "sso: get", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", authPath, nil) }},
	}
	if !w.run(t, steps) {
		return
	}
	for _, op := range w.chk.Operations() {
		if op.Key() == "PUT "+ssoPath && w.chk.Seen(op)[200] == 0 {
			t.Errorf("PUT %s 200 was not observed", ssoPath)
		}
	}
}

// motoDirectory is a Directory on a new user pool of moto's Cognito.
func motoDirectory(t *testing.T, endpoint string) *cognito.Directory {
	t.Helper()
	ctx := t.Context()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	c := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(endpoint) })
	up, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("switchboard-" + domain.NewID())})
	if err != nil {
		t.Fatalf("create user pool: %v", err)
	}
	return cognito.New(c, aws.ToString(up.UserPool.Id))
}

// TestTeamSchemasMatchTheGoTypes holds the response schemas of these routes to the
// JSON their Go types encode, as TestResponseSchemasMatchTheGoTypes does for the rest.
// Views whose Go type is unexported are held to what the API encodes by checkKeys.
func TestTeamSchemasMatchTheGoTypes(t *testing.T) {
	s := loadSpec(t)
	tests := []struct {
		schema string
		goType any
		change override
	}{
		{"TenantAccess", permission.Scope{}, override{}},
		{"Inviter", domain.Inviter{}, override{}},
		{"AccessExplanation", permission.Explanation{}, override{}},
		{"PlatformUserList", api.List[struct{}]{}, override{}},
		// authSettingsView (unexported): the profile's settings, the provider and the
		// organization's version.
		{"AuthenticationSettingsDetail", domain.AuthSettings{}, override{add: []string{"sso", "version"}}},
		// ssoView (unexported): the provider as recorded, and whether a secret is stored.
		{"SSOSettings", domain.SSOSettings{}, override{add: []string{"hasClientSecret"}}},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) { s.matchesGoType(t, tt.schema, tt.goType, tt.change) })
	}
}

// TestTeamSchemasMatchTheDomainRules pins these routes' enums, limits and patterns to
// the Go constants and functions they come from.
func TestTeamSchemasMatchTheDomainRules(t *testing.T) {
	s := loadSpec(t)
	anys := func(in ...string) []any {
		out := make([]any, len(in))
		for i, v := range in {
			out[i] = v
		}
		return out
	}
	var perms, invitable []string
	for _, p := range permission.All() {
		perms = append(perms, string(p))
	}
	for _, r := range permission.Roles() {
		if r != permission.Owner {
			invitable = append(invitable, string(r))
		}
	}
	modes := anys(permission.ScopeAll, permission.ScopeSelected, permission.ScopeAllExcept)
	timeout := []float64{domain.MinSessionTimeoutMinutes, domain.MaxSessionTimeoutMinutes}
	tests := []struct {
		pointer string
		want    any
	}{
		{"/components/schemas/Permission/enum", anys(perms...)},
		{"/components/schemas/InvitableRole/enum", anys(invitable...)},
		{"/components/schemas/TenantAccess/properties/mode/enum", modes},
		{"/components/schemas/TenantAccessInput/properties/mode/enum", modes},
		{"/components/schemas/TenantAccess/properties/tenantIds/maxItems", float64(domain.MaxScopeTenants)},
		{"/components/schemas/TenantAccessInput/properties/tenantIds/maxItems", float64(domain.MaxScopeTenants)},
		{"/components/schemas/PlatformUser/properties/status/enum",
			anys(domain.StatusActive, domain.StatusInvited, domain.StatusExpired, domain.StatusEmailFailed)},
		{"/components/schemas/InvitePlatformUserInput/properties/displayName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/UpdatePlatformUserInput/properties/displayName/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/AccessExplanation/properties/grant/enum", anys(permission.GrantName(permission.Allowed),
			permission.GrantName(permission.Scoped), permission.GrantName(permission.ScopedApproval), permission.GrantName(permission.Denied))},
		{"/components/schemas/AccessExplanation/properties/rule/enum", anys(permission.RuleRoleDenies, permission.RuleCustomNotPicked,
			permission.RuleOwnerOnly, permission.RuleRoleAllows, permission.RuleAllTenantsRole, permission.RuleScopeAll,
			permission.RuleScopeSelectedIncludes, permission.RuleScopeSelectedExcludes, permission.RuleScopeAllExceptExcludes,
			permission.RuleScopeAllExceptIncludes, permission.RuleScopeUnresolvable, permission.RuleUnknownPermission, "unknown-tenant")},
		{"/components/schemas/SSOSettingsInput/properties/clientSecret/maxLength", float64(identity.MaxClientSecret)},
		{"/components/schemas/SSOSettingsInput/properties/domains/maxItems", float64(identity.MaxSSODomains)},
		{"/components/schemas/SSOSettings/properties/domains/maxItems", float64(identity.MaxSSODomains)},
		{"/components/schemas/SSOSettings/properties/domains/items/maxLength", float64(identity.MaxSSODomainLength)},
		{"/components/schemas/AuthenticationSettingsDetail/properties/sessionTimeoutMinutes/minimum", timeout[0]},
		{"/components/schemas/AuthenticationSettingsDetail/properties/sessionTimeoutMinutes/maximum", timeout[1]},
		{"/components/schemas/UpdateAuthenticationSettingsInput/properties/sessionTimeoutMinutes/minimum", timeout[0]},
		{"/components/schemas/UpdateAuthenticationSettingsInput/properties/sessionTimeoutMinutes/maximum", timeout[1]},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			got, ok := s.at(tt.pointer)
			if !ok {
				t.Fatalf("nothing at %s", tt.pointer)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.pointer, got, tt.want)
			}
		})
	}

	// Patterns: what the code issues must match them.
	token, _ := domain.NewInvitationToken()
	patterns := []struct {
		pointer string
		match   []string
		reject  []string
	}{
		{"/components/schemas/InvitationTokenInput/properties/token/pattern", []string{token, " " + token + "\n"},
			[]string{token[:42], token + "A", "abc"}},
		{"/components/schemas/SSOSettings/properties/providerName/pattern", []string{identity.ProviderName("acme")}, []string{"entra-acme"}},
		{"/components/schemas/SSOSettings/properties/entraTenantId/pattern", []string{entraTenant}, []string{strings.ToUpper(entraTenant)}},
		{"/components/schemas/SSOSettingsInput/properties/domains/items/pattern", []string{"contoso.com", " @Contoso.COM. "},
			[]string{"contoso", "not a domain", "-contoso.com"}},
	}
	for _, p := range patterns {
		t.Run(p.pointer, func(t *testing.T) {
			raw, ok := s.at(p.pointer)
			if !ok {
				t.Fatalf("nothing at %s", p.pointer)
			}
			re := regexp.MustCompile(raw.(string))
			for _, v := range p.match {
				if !re.MatchString(v) {
					t.Errorf("%q does not match %s", v, raw)
				}
			}
			for _, v := range p.reject {
				if re.MatchString(v) {
					t.Errorf("%q matches %s", v, raw)
				}
			}
		})
	}
	if !domain.ValidInvitationToken(token) {
		t.Errorf("a new token is not valid: %q", token)
	}
}
