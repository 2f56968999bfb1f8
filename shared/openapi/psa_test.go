package openapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

func isPSARoute(path string) bool { return strings.HasPrefix(path, "/api/psa/") }

// fillPSA puts the PSA connection and held company of the steps into a path.
func (w *world) fillPSA(path string) string {
	return strings.NewReplacer("{psaConnectionId}", w.state["psa"], "{externalId}", w.state["held"]).Replace(path)
}

// TestPSAConformsToTheDocument drives the PSA matching and sync routes, against a
// ConnectWise stand-in, through their documented statuses (the 503s are faults_test.go's,
// the 409 of a reused Idempotency-Key the idempotency tests').
func TestPSAConformsToTheDocument(t *testing.T) {
	w := newWorld(t)
	cw := psastandin.NewConnectWise()
	t.Cleanup(cw.Close)
	w.env.Deps.PSA = &api.PSAEndpoints{ConnectWise: cw.URL()}
	co := cw.Seed(psa.Company{Name: "Northwind Traders", Domain: "northwindtraders.com", Phone: "+1 555 0101"},
		psa.Company{Name: "Held Co", Phone: "+1 555 0102"})
	res := w.env.Do(w.at("Owner", "POST", "/api/connections", map[string]any{"type": "connectwise", "label": "CW", "credentials": map[string]any{
		"site": "api-na.myconnectwise.net", "companyId": cw.CompanyID, "publicKey": cw.PublicKey, "privateKey": cw.PrivateKey, "clientId": cw.ClientID}}))
	if res.Status != http.StatusCreated {
		t.Fatalf("connection: %d %s", res.Status, res.Body)
	}
	w.state["psa"] = res.Map(t)["id"].(string)
	customer := func(name, email string) string {
		res := w.env.Do(w.at("Owner", "POST", "/api/msp-portal/customers", map[string]any{"name": name, "primaryContactEmail": email}))
		if res.Status != http.StatusCreated {
			t.Fatalf("customer: %d %s", res.Status, res.Body)
		}
		return res.Map(t)["id"].(string)
	}
	nw, held := customer("Northwind", "a@northwindtraders.com"), customer("Held", "")
	w.state["held"] = co[1].ID
	base := "/api/psa/" + w.state["psa"]
	accept := func(c, e string) map[string]any {
		return map[string]any{"matches": []any{map[string]any{"customerId": c, "externalId": e}}}
	}
	steps := []step{
		{name: "matches", want: 200, req: func(w *world) testenv.Request { return w.at("Technician", "GET", base+"/matches", nil) }},
		{name: "matches as Read-Only", want: 403, req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", base+"/matches", nil) }},
		{name: "matches of another organization's connection", want: 404, req: func(w *world) testenv.Request { return w.asBeta("GET", base+"/matches", nil) }},
		{name: "matches without a token", want: 401, req: func(w *world) testenv.Request { return w.at("", "GET", base+"/matches", nil) }},
		{name: "accept nothing", want: 400, code: "validation", fields: []string{"matches"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", base+"/matches/accept", map[string]any{"matches": []any{}})
			}},
		{name: "accept", want: 200, req: func(w *world) testenv.Request {
			return w.at("Owner", "POST", base+"/matches/accept", accept(nw, co[0].ID))
		}},
		{name: "accept a linked record", want: 409, code: "psa-record-linked",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", base+"/matches/accept", accept(held, co[0].ID))
			}},
		{name: "accept as Read-Only", want: 403, req: func(w *world) testenv.Request {
			return w.at("Read-Only", "POST", base+"/matches/accept", accept(held, co[1].ID))
		}},
		{name: "accept another organization's", want: 404, req: func(w *world) testenv.Request {
			return w.asBeta("POST", base+"/matches/accept", accept(held, co[1].ID))
		}},
		{name: "accept the held pair", want: 200, req: func(w *world) testenv.Request {
			return w.at("Owner", "POST", base+"/matches/accept", accept(held, co[1].ID))
		}},
		{name: "dry run", want: 200, req: func(w *world) testenv.Request { return w.at("Owner", "POST", base+"/sync?dryRun=true", nil) }},
		{name: "dry run=maybe", want: 400, code: "validation", fields: []string{"dryRun"},
			req: func(w *world) testenv.Request { return w.at("Owner", "POST", base+"/sync?dryRun=maybe", nil) }},
		{name: "sync", want: 202, req: func(w *world) testenv.Request { return w.at("Owner", "POST", base+"/sync", nil) }},
		{name: "sync state", want: 200, req: func(w *world) testenv.Request { return w.at("Owner", "GET", base+"/sync", nil) }},
		{name: "policy", want: 200, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/sync", map[string]any{"conflictPolicy": "hold"})
		}},
		{name: "policy unknown", want: 400, code: "validation", fields: []string{"conflictPolicy"}, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/sync", map[string]any{"conflictPolicy": "coin-toss"})
		}},
		{name: "policy stale", want: 409, code: "stale-version", req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/sync", map[string]any{"conflictPolicy": "hold", "version": 99})
		}},
		{name: "policy as Technician", want: 403, req: func(w *world) testenv.Request {
			return w.at("Technician", "PUT", base+"/sync", map[string]any{"conflictPolicy": "hold"})
		}},
		{name: "ticket settings", want: 200, req: func(w *world) testenv.Request { return w.at("Technician", "GET", base+"/ticket-settings", nil) }},
		{name: "ticket settings as Read-Only", want: 403, req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", base+"/ticket-settings", nil) }},
		{name: "ticket settings of another organization's connection", want: 404, req: func(w *world) testenv.Request {
			return w.asBeta("GET", base+"/ticket-settings", nil)
		}},
		{name: "set ticket maps", want: 200, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/ticket-settings", map[string]any{
				"ticketStatusMap":   map[string]any{"open": "New", "in-progress": "Working", "waiting": "Waiting", "resolved": "Done", "closed": "Closed"},
				"ticketPriorityMap": map[string]any{"low": "P4", "normal": "P3", "high": "P2", "urgent": "P1"}})
		}},
		{name: "ticket maps reset", want: 200, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/ticket-settings", map[string]any{"ticketStatusMap": nil})
		}},
		{name: "ticket map missing a status", want: 400, code: "validation", fields: []string{"ticketStatusMap.waiting"}, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/ticket-settings", map[string]any{
				"ticketStatusMap": map[string]any{"open": "New", "in-progress": "Working", "resolved": "Done", "closed": "Closed"}})
		}},
		{name: "ticket map of the wrong type", want: 400, code: "validation", fields: []string{"ticketPriorityMap.low"}, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/ticket-settings", map[string]any{
				"ticketPriorityMap": map[string]any{"low": 4, "normal": "P3", "high": "P2", "urgent": "P1"}})
		}},
		{name: "ticket maps stale", want: 409, code: "stale-version", req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", base+"/ticket-settings", map[string]any{"version": 99})
		}},
		{name: "ticket maps as Technician", want: 403, req: func(w *world) testenv.Request {
			return w.at("Technician", "PUT", base+"/ticket-settings", map[string]any{})
		}},
		{name: "ticket values", want: 200, req: func(w *world) testenv.Request { return w.at("Technician", "GET", base+"/ticket-values", nil) }},
		{name: "ticket values as Read-Only", want: 403, req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", base+"/ticket-values", nil) }},
		{name: "ticket values of another organization's connection", want: 404, req: func(w *world) testenv.Request {
			return w.asBeta("GET", base+"/ticket-values", nil)
		}},
		{name: "resolve what is not held", want: 404, req: func(w *world) testenv.Request {
			return w.at("Owner", "POST", base+"/conflicts/424242/resolve", map[string]any{"winner": "psa"})
		}},
		{name: "the PSA down", want: 502, code: "psa-unavailable", req: func(w *world) testenv.Request {
			// The sync job started above runs in the background and would take the
			// faults meant for this request.
			waitPSASyncDone(t, w, base)
			cw.FailNextRetryAfter(8, http.StatusServiceUnavailable, "")
			return w.at("Owner", "GET", base+"/matches", nil)
		}},
	}
	for _, rt := range []api.Route{api.PsaMatchesAccept, api.PsaSyncUpdate, api.PsaConflictsResolve, api.PsaTicketSettingsUpdate} {
		steps = append(steps, bodyFaultSteps(rt, func(w *world, role string, body any, ct string) testenv.Request {
			r := w.at(role, rt.Method, w.fillPSA(rt.Path), body)
			if ct != "" {
				r.Headers["Content-Type"] = ct
			}
			return r
		}, "matches")...)
	}
	steps = append(steps, reasonSteps(isPSARoute, func(w *world, path string) string { return w.fillPSA(path) })...)
	w.run(t, steps)
}

// waitPSASyncDone waits until the connection at base has finished a sync and runs none.
func waitPSASyncDone(t *testing.T, w *world, base string) {
	t.Helper()
	for range 400 {
		res := w.env.Do(w.at("Owner", "GET", base+"/sync", nil))
		body := string(res.Body)
		if res.Status == http.StatusOK && strings.Contains(body, `"lastSyncAt"`) && !strings.Contains(body, `"run"`) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("the PSA sync job did not finish")
}
