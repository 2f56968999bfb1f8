package openapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

const (
	billingPath = "/api/billing"
	planPath    = "/api/billing/plan"
	usagePath   = "/api/msp-portal/usage"
)

// billingSteps drive the plan, its limits and the usage summary through their
// statuses (the body faults and the support reason are bodySteps' and reasonSteps').
// alpha starts on the professional plan (testenv.NewOrg).
func billingSteps() []step {
	gamma := func(w *world) testenv.Request {
		// A free organization whose API calls of the month are used up.
		if w.state["billing:gamma"] == "" {
			o := w.env.NewFreeOrg("owner@gamma-billing.example")
			if _, err := w.env.Store.MarkAPICallsExhausted(context.Background(), o.ID, domain.MonthKey(time.Now()), domain.PlanFree); err != nil {
				panic(err)
			}
			w.state["billing:gamma"], w.tok["billing:gamma"] = o.ID, o.OwnerToken
		}
		return testenv.Request{}
	}
	return []step{
		{name: "billing as the Owner", want: 200, req: func(w *world) testenv.Request { return w.at("Owner", "GET", billingPath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				b := res.Map(t)
				if b["plan"] != domain.PlanProfessional {
					t.Errorf("billing %s", res.Body)
				}
			}},
		{name: "billing as Read-Only: viewers never see billing", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", billingPath, nil) }},
		{name: "billing of another organization", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "GET", billingPath, nil, api.HeaderOrganization, w.beta.ID)
			}},
		{name: "billing without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.as("", "GET", billingPath, nil) }},
		{name: "plan: an unknown plan", want: 400, code: "validation", fields: []string{"plan"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", planPath, map[string]any{"plan": "gold"})
			}},
		{name: "plan as a Technician", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Technician", "PUT", planPath, map[string]any{"plan": "free"})
			}},
		{name: "plan of another organization", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "PUT", planPath, map[string]any{"plan": "free"}, api.HeaderOrganization, w.beta.ID)
			}},
		{name: "plan of a sub-organization", want: 409, code: "plan-inherited",
			req: func(w *world) testenv.Request {
				sub := w.fixtureSubOrg(w.alpha.ID, "Billed to alpha")
				return w.as("Owner", "PUT", planPath, map[string]any{"plan": "free"}, api.HeaderOrganization, sub.ID)
			}},
		{name: "plan: a downgrade below usage names what to remove", want: 409, code: "plan-limit",
			req: func(w *world) testenv.Request {
				for {
					b, err := w.env.Store.GetBill(context.Background(), w.alpha.ID)
					if err != nil {
						panic(err)
					}
					if b.Used[domain.MetricManagedTenants] > domain.PlanOf(domain.PlanFree).Limits.ManagedTenants {
						break
					}
					w.fixtureTenant(w.alpha.ID, "Over the free plan")
				}
				return w.at("Owner", "PUT", planPath, map[string]any{"plan": "free"})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if over, _ := res.Map(t)["over"].([]any); len(over) == 0 {
					t.Errorf("no excess named: %s", res.Body)
				}
			}},
		{name: "plan: stay on professional", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", planPath, map[string]any{"plan": "professional"})
			}},
		{name: "usage as Read-Only", want: 200, req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", usagePath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				b := res.Map(t)
				if b["managedTenants"] == float64(0) {
					t.Errorf("usage %s", res.Body)
				}
			}},
		{name: "usage of an MSP, one sub-organization a page", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", usagePath+"?limit=1", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				subs, _ := res.Map(t)["subOrganizations"].([]any)
				if len(subs) != 1 {
					t.Errorf("usage %s", res.Body)
				}
			}},
		{name: "usage with limit=0", want: 400, code: "validation", fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", usagePath+"?limit=0", nil) }},
		{name: "usage as a member without permissions", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", usagePath, nil) }},
		{name: "usage of another organization", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "GET", usagePath, nil, api.HeaderOrganization, w.beta.ID)
			}},
		{name: "usage without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.as("", "GET", usagePath, nil) }},
		{name: "usage once the month's API calls are used up", want: 429, code: "api-calls-exhausted",
			req: func(w *world) testenv.Request {
				gamma(w)
				return w.as("billing:gamma", "GET", usagePath, nil, api.HeaderOrganization, w.state["billing:gamma"])
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if res.Header.Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
			}},
		{name: "billing stays open once the month's API calls are used up", want: 200,
			req: func(w *world) testenv.Request {
				gamma(w)
				return w.as("billing:gamma", "GET", billingPath, nil, api.HeaderOrganization, w.state["billing:gamma"])
			}},
	}
}
