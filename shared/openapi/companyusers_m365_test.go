package openapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// m365Customer is a customer of alpha with two tenants: "m365:tenant", whose Microsoft
// 365 connection reaches the Graph stand-in (the demo tenant's seven users, two a page),
// and "m365:bare", without a connection. Made once, on first use.
func (w *world) m365Customer() string {
	if id := w.state["m365:customer"]; id != "" {
		return id
	}
	ctx := context.Background()
	cust := w.fixtureCustomer(w.alpha.ID, "Fabrikam")
	tenant, clientID, secret := w.graphTenant("Fabrikam M365")
	bare := w.fixtureTenant(w.alpha.ID, "Fabrikam without a connection")
	for _, tn := range []string{tenant, bare} {
		if _, err := w.env.Store.AssociateTenant(ctx, w.alpha.ID, cust, tn, audit.Event{Category: audit.Tenant, Action: "fixture"}); err != nil {
			panic(err)
		}
	}
	res := w.env.Do(w.at("Owner", "POST", connectionsPath, m365Body(tenant, clientID, secret)))
	if res.Status != 201 {
		panic("fixture connection: " + string(res.Body))
	}
	tn, err := w.env.Store.GetTenant(ctx, w.alpha.ID, tenant)
	if err != nil {
		panic(err)
	}
	w.state["m365:customer"], w.state["m365:tenant"], w.state["m365:bare"], w.state["m365:entra"] = cust, tenant, bare, tn.EntraTenantID
	return cust
}

// graphData replaces the stand-in's data of the m365 tenant with change applied to the
// demo tenant's.
func (w *world) graphData(change func(*graphstandin.Tenant)) {
	t := graphstandin.DemoTenant()
	t.ID = w.state["m365:entra"]
	if change != nil {
		change(&t)
	}
	w.env.Graph.PutTenant(t)
}

type m365Preview struct {
	Users []struct {
		ExternalID, Email, Name, Status, CompanyUserID string
		Licensed                                       bool
	}
	Counts struct{ Total, New, Present, Changed int }
}

// m365ImportSteps drive the Microsoft 365 import: validation, the preview, a selective
// import, its idempotence, Graph's paging, throttling and refusals.
func m365ImportSteps() []step {
	path := func(w *world) string { return "/api/msp-portal/customers/" + w.m365Customer() + "/users/import" }
	body := func(w *world, extra map[string]any) map[string]any {
		b := map[string]any{"source": "m365", "tenantId": w.state["m365:tenant"]}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	preview := func(t *testing.T, res *testenv.Response) m365Preview {
		var p m365Preview
		res.JSON(t, &p)
		return p
	}
	return []step{
		{name: "import from m365 without a tenant", want: 400, code: "validation", fields: []string{"tenantId"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), map[string]any{"source": "m365"})
			}},
		{name: "import from m365 with an empty select", want: 400, code: "validation", fields: []string{"select"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), body(w, map[string]any{"select": []string{}}))
			}},
		{name: "import from m365 of a tenant of another customer", want: 400, code: "validation", fields: []string{"tenantId"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), map[string]any{"source": "m365", "tenantId": w.fixtureTenant(w.alpha.ID, "Unassociated")})
			}},
		{name: "import from m365 of a tenant without a connection", want: 409, code: "no-m365-connection",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), map[string]any{"source": "m365", "tenantId": w.state["m365:bare"]})
			}},
		{name: "import from m365 as Read-Only", want: 403,
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "POST", path(w), body(w, map[string]any{"preview": true}))
			}},
		{name: "preview the m365 users, through Graph's pages and a throttle", want: 200,
			req: func(w *world) testenv.Request {
				w.env.Graph.Throttle(1, 1) // the first read waits out Retry-After: 1
				return w.at("Technician", "POST", path(w), body(w, map[string]any{"preview": true}))
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				p := preview(t, res)
				if p.Counts.Total != 7 || p.Counts.New != 7 || len(p.Users) != 7 || p.Users[0].Email != "user1@"+graphstandin.DemoDomain ||
					p.Users[0].Name != "Adele Vance" || !p.Users[0].Licensed || p.Users[6].Licensed {
					t.Errorf("preview %s", res.Body)
				}
				w.state["m365:first"], w.state["m365:second"] = p.Users[0].ExternalID, p.Users[1].ExternalID
			}},
		{name: "import from m365 selecting a user the tenant lacks", want: 400, code: "validation", fields: []string{"select"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), body(w, map[string]any{"select": []string{w.state["m365:first"], "no-such-user"}}))
			}},
		{name: "import two selected m365 users", want: 202,
			req: func(w *world) testenv.Request {
				return w.at("Technician", "POST", path(w), body(w, map[string]any{"select": []string{w.state["m365:first"], w.state["m365:second"]}}))
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				j := finished(t, w, started(t, res, api.KindCompanyUserImport))
				var r struct{ Rows, Created, Failed int64 }
				if err := json.Unmarshal(j.Result, &r); err != nil || r.Rows != 2 || r.Created != 2 || r.Failed != 0 || j.Progress.Done != 2 {
					t.Errorf("import %+v %+v %v", j, r, err)
				}
			}},
		{name: "preview after the import and a rename in Microsoft 365", want: 200,
			req: func(w *world) testenv.Request {
				w.graphData(func(t *graphstandin.Tenant) { t.Users[1].DisplayName = "Alex Wilber-Smith" })
				return w.at("Owner", "POST", path(w), body(w, map[string]any{"preview": true}))
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				p := preview(t, res)
				if p.Counts.Present != 1 || p.Counts.Changed != 1 || p.Counts.New != 5 || p.Users[0].Status != "present" ||
					p.Users[1].Status != "changed" || p.Users[0].CompanyUserID == "" {
					t.Errorf("preview %s", res.Body)
				}
			}},
		{name: "import every m365 user", want: 202,
			req: func(w *world) testenv.Request { return w.at("Owner", "POST", path(w), body(w, nil)) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				j := finished(t, w, started(t, res, api.KindCompanyUserImport))
				var r struct{ Rows, Created, Updated, Unchanged int64 }
				if err := json.Unmarshal(j.Result, &r); err != nil || r.Rows != 7 || r.Created != 5 || r.Updated != 1 || r.Unchanged != 1 {
					t.Errorf("import %+v %v", r, err)
				}
				list := w.env.Get("/api/msp-portal/customers/"+w.state["m365:customer"]+"/users?limit=100", w.tok["Owner"], api.HeaderOrganization, w.alpha.ID)
				var l struct {
					Items []struct{ Name, Source, ExternalID string }
				}
				list.JSON(t, &l)
				renamed := false
				for _, u := range l.Items {
					renamed = renamed || u.Name == "Alex Wilber-Smith"
					if u.Source != domain.SourceM365 || u.ExternalID == "" {
						t.Errorf("imported user %+v", u)
					}
				}
				if len(l.Items) != 7 || !renamed {
					t.Errorf("company users after the import: %s", list.Body)
				}
			}},
		{name: "import from m365 while Graph throttles", want: 502, code: "graph-throttled",
			req: func(w *world) testenv.Request {
				w.env.Graph.Throttle(100, 30) // longer than the client waits
				return w.at("Owner", "POST", path(w), body(w, nil))
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				w.env.Graph.Throttle(0, 0)
				if res.Header.Get("Retry-After") != "30" {
					t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
				}
			}},
		{name: "import from m365 with refused credentials", want: 502, code: "graph-invalid-credentials",
			req: func(w *world) testenv.Request {
				w.graphData(func(t *graphstandin.Tenant) { t.Apps = map[string]string{graphstandin.DemoClientID: "another secret"} })
				return w.at("Owner", "POST", path(w), body(w, map[string]any{"preview": true}))
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), "Entra refused the app credentials") || strings.Contains(string(res.Body), graphstandin.DemoClientSecret) {
					t.Errorf("refused: %s", res.Body)
				}
			}},
		{name: "import from m365 of a tenant without users", want: 409, code: "nothing-to-import",
			req: func(w *world) testenv.Request {
				w.graphData(func(t *graphstandin.Tenant) { t.Users = nil })
				return w.at("Owner", "POST", path(w), body(w, nil))
			},
			check: func(t *testing.T, w *world, res *testenv.Response) { w.graphData(nil) }},
	}
}
