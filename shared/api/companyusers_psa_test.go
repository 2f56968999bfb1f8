package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

type contactPreview struct {
	Contacts []struct {
		ExternalID    string `json:"externalId"`
		ContactID     string `json:"contactId"`
		Email         string `json:"email"`
		Status        string `json:"status"`
		CompanyUserID string `json:"companyUserId"`
	} `json:"contacts"`
	Counts map[string]int `json:"counts"`
}

func TestCompanyUsersImportFromPSA(t *testing.T) {
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			w := newWorld(t)
			s := startPSAStandins(t, w.env)
			rec := standinOf(s, vendor)
			conn, company, cust := psaCustomer(t, w, s, vendor, "Northwind "+vendor)
			seeded := rec.SeedContacts(
				psa.Contact{CompanyID: company, FirstName: "Nancy", LastName: "Davolio", Email: "nancy@northwind.example", Title: "Office Manager"},
				psa.Contact{CompanyID: company, FirstName: "Andrew", LastName: "Fuller", Email: "andrew@northwind.example", Title: "VP"},
				psa.Contact{CompanyID: company, FirstName: "No", LastName: "Mail"})
			other := rec.Seed(psa.Company{Name: "Elsewhere", Phone: "+1 555 0199"})[0].ID
			rec.SeedContacts(psa.Contact{CompanyID: other, FirstName: "Not", LastName: "Ours", Email: "not@elsewhere.example"})
			c := customers{t: t, env: w.env, tok: w.tokens["Owner"]}
			path := "/api/msp-portal/customers/" + cust + "/users/import"
			preview := func(sel ...string) contactPreview {
				t.Helper()
				body := map[string]any{"source": "psa", "connectionId": conn, "preview": true}
				if sel != nil {
					body["select"] = sel
				}
				var p contactPreview
				c.do("POST", path, body, http.StatusOK).JSON(t, &p)
				return p
			}
			importAll := func(body map[string]any) jobJSON {
				t.Helper()
				var j jobJSON
				c.do("POST", path, body, http.StatusAccepted).JSON(t, &j)
				return c.waitJob(j.ID)
			}

			p := preview()
			if len(p.Contacts) != 3 || p.Counts["new"] != 2 || p.Counts["skipped"] != 1 {
				t.Fatalf("first preview: %+v", p)
			}
			nancy := psaContactExternalIDFor(conn, seeded[0].ID)
			// Import only Nancy, then everybody.
			j := importAll(map[string]any{"source": "psa", "connectionId": conn, "select": []string{nancy}})
			if j.Status != "succeeded" || j.n("created") != 1 || j.Progress.Done != 1 {
				t.Fatalf("select import: %+v", j)
			}
			if p = preview(); p.Counts["present"] != 1 || p.Counts["new"] != 1 {
				t.Fatalf("preview after one: %+v", p)
			}
			j = importAll(map[string]any{"source": "psa", "connectionId": conn})
			if j.Status != "succeeded" || j.n("created") != 1 || j.n("unchanged") != 1 || j.n("skipped") != 1 {
				t.Fatalf("import all: %+v", j)
			}
			// A rerun changes nothing.
			j = importAll(map[string]any{"source": "psa", "connectionId": conn})
			if j.n("created") != 0 || j.n("updated") != 0 || j.n("unchanged") != 2 {
				t.Fatalf("rerun: %+v", j)
			}
			var users struct {
				Items []struct {
					Email, Source, ExternalID string
				}
			}
			c.do("GET", "/api/msp-portal/customers/"+cust+"/users", nil, http.StatusOK).JSON(t, &users)
			if len(users.Items) != 2 || users.Items[0].Source != domain.SourcePSA {
				t.Fatalf("users: %+v", users)
			}
			// A change in the PSA shows as changed, and the import updates it.
			changed := seeded[1]
			changed.Title = "Vice President, Sales"
			rec.SeedContacts(changed)
			if p = preview(); p.Counts["changed"] != 1 || p.Counts["present"] != 1 {
				t.Fatalf("preview after a PSA change: %+v", p)
			}
			if j = importAll(map[string]any{"source": "psa", "connectionId": conn}); j.n("updated") != 1 || j.n("created") != 0 {
				t.Fatalf("import of the change: %+v", j)
			}
		})
	}
}

func psaContactExternalIDFor(conn, contact string) string { return conn + ":" + contact }

func TestCompanyUsersImportFromPSARefusals(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	conn, _, linked := psaCustomer(t, w, s, "connectwise", "Linked")
	unlinked := linkedCustomer(t, w, "Unlinked")
	h := map[string]string{api.HeaderOrganization: w.org.ID}
	cases := []struct {
		name, customer string
		body           map[string]any
		status         int
		field          string
	}{
		{"no connection", linked, map[string]any{"source": "psa"}, http.StatusBadRequest, "connectionId"},
		{"unknown connection", linked, map[string]any{"source": "psa", "connectionId": "nosuchconnection"}, http.StatusBadRequest, "connectionId"},
		{"not linked", unlinked, map[string]any{"source": "psa", "connectionId": conn}, http.StatusBadRequest, "connectionId"},
		{"empty select", linked, map[string]any{"source": "psa", "connectionId": conn, "select": []string{}}, http.StatusBadRequest, "select"},
		{"unknown contact", linked, map[string]any{"source": "psa", "connectionId": conn, "select": []string{"x:1"}}, http.StatusBadRequest, "select[0]"},
		{"another organization's customer", "nosuchcustomer", map[string]any{"source": "psa", "connectionId": conn}, http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers/" + tc.customer + "/users/import", Token: w.tokens["Owner"], Headers: h, Body: tc.body})
		if res.Status != tc.status || (tc.field != "" && !strings.Contains(string(res.Body), `"`+tc.field+`"`)) {
			t.Errorf("%s: %d %s", tc.name, res.Status, res.Body)
		}
	}
	// The PSA down: 502 naming the vendor, nothing imported.
	s.cw.FailNext(8, http.StatusServiceUnavailable)
	res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers/" + linked + "/users/import", Token: w.tokens["Owner"], Headers: h,
		Body: map[string]any{"source": "psa", "connectionId": conn, "preview": true}})
	if res.Status != http.StatusBadGateway || !strings.Contains(string(res.Body), "psa-unavailable") {
		t.Errorf("PSA down: %d %s", res.Status, res.Body)
	}
}
