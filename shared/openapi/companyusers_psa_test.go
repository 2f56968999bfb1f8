package openapi_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// psaOf holds each world's ConnectWise stand-in, started by the first PSA step.
var psaOf sync.Map // *world → *psastandin.ConnectWise

// psaImportSteps import the customer's company users from a PSA: connect ConnectWise
// (its stand-in), link the customer, preview, import, and a preview while the PSA is
// down.
func psaImportSteps() []step {
	path := func(w *world) string { return "/api/msp-portal/customers/" + w.state["customer"] + "/users/import" }
	body := func(w *world, preview bool) map[string]any {
		return map[string]any{"source": "psa", "connectionId": w.state["psa:conn"], "preview": preview}
	}
	return []step{
		{name: "connect a PSA to import company users from", want: 201,
			req: func(w *world) testenv.Request {
				cw := psastandin.NewConnectWise()
				w.env.T.Cleanup(cw.Close)
				psaOf.Store(w, cw)
				w.env.Deps.PSA = &api.PSAEndpoints{ConnectWise: cw.URL()}
				w.state["psa:company"] = cw.Seed(psa.Company{Name: "Northwind Traders", Phone: "+1 555 0100"})[0].ID
				cw.SeedContacts(psa.Contact{CompanyID: w.state["psa:company"], FirstName: "Nancy", LastName: "Davolio", Email: "nancy@northwind.example"},
					psa.Contact{CompanyID: w.state["psa:company"], FirstName: "Andrew", LastName: "Fuller", Email: "andrew@northwind.example"})
				return w.at("Owner", "POST", "/api/connections", map[string]any{"type": "connectwise", "label": "ConnectWise", "credentials": map[string]any{
					"site": "api-na.myconnectwise.net", "companyId": cw.CompanyID, "publicKey": cw.PublicKey, "privateKey": cw.PrivateKey, "clientId": cw.ClientID}})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c struct{ ID string }
				res.JSON(t, &c)
				w.state["psa:conn"] = c.ID
				// Link the customer to the PSA company: its GET body, PUT back with the link.
				get := w.env.Do(w.at("Owner", "GET", "/api/msp-portal/customers/"+w.state["customer"], nil))
				var cust map[string]any
				if err := json.Unmarshal(get.Body, &cust); err != nil {
					t.Fatalf("customer: %d %s", get.Status, get.Body)
				}
				cust["psaLinks"] = []any{map[string]any{"connectionId": c.ID, "type": "connectwise", "externalId": w.state["psa:company"]}}
				if put := w.env.Do(w.at("Owner", "PUT", "/api/msp-portal/customers/"+w.state["customer"], cust)); put.Status != http.StatusOK {
					t.Fatalf("link the customer: %d %s", put.Status, put.Body)
				}
			}},
		{name: "preview the PSA contacts", want: 200,
			req: func(w *world) testenv.Request { return w.at("Technician", "POST", path(w), body(w, true)) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var p struct{ Counts map[string]int }
				if res.JSON(t, &p); p.Counts["new"] != 2 {
					t.Errorf("preview: %s", res.Body)
				}
			}},
		{name: "import the PSA contacts", want: 202,
			req: func(w *world) testenv.Request { return w.at("Technician", "POST", path(w), body(w, false)) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				j := finished(t, w, started(t, res, api.KindCompanyUserPSAImport))
				var r struct{ Created int64 }
				if err := json.Unmarshal(j.Result, &r); err != nil || r.Created != 2 {
					t.Errorf("import: %+v %v", j, err)
				}
			}},
		{name: "import from a PSA connection the customer is not linked on", want: 400, fields: []string{"connectionId"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", path(w), map[string]any{"source": "psa", "connectionId": "nosuchconnection"})
			}},
		{name: "preview while the PSA is down", want: 502, code: "psa-unavailable",
			req: func(w *world) testenv.Request {
				if cw, ok := psaOf.Load(w); ok {
					cw.(*psastandin.ConnectWise).FailNext(8, http.StatusServiceUnavailable)
				}
				return w.at("Owner", "POST", path(w), body(w, true))
			}},
	}
}
