package main

import (
	"net/http"
	"testing"
	"time"
)

// demoPSACredentials are README's: the stand-ins' accounts; the hosts are sent to the
// stand-ins by make run.
var demoPSACredentials = map[string]map[string]any{
	"connectwise": {"site": "api-na.myconnectwise.net", "companyId": "contoso", "publicKey": "pub", "privateKey": "priv", "clientId": "stand-in-client"},
	"autotask":    {"username": "api@contoso.example", "secret": "secret", "integrationCode": "STANDINCODE"},
	"halopsa":     {"instanceUrl": "https://demo.halopsa.com", "clientId": "stand-in-app", "clientSecret": "stand-in-secret"},
}

// TestMakeRunPSAFlow is the PSA issue's "done when" (matching and sync) against the
// `make run` server and its stand-ins: connect each PSA, preview matches and accept
// them, run a dry-run sync and then a real one, and a second sync changes nothing.
func TestMakeRunPSAFlow(t *testing.T) {
	c := startLocal(t)
	const org = "contoso-msp"
	owner := c.signIn("megan.bowen@contosomsp.com")
	for _, body := range []map[string]string{{"name": "Northwind Traders", "primaryContactEmail": "megan@northwindtraders.com"}, {"name": "Fabrikam"}} {
		if st, out := c.call("POST", "/api/msp-portal/customers", owner, org, body); st != http.StatusCreated {
			t.Fatalf("customer: %d %v", st, out)
		}
	}
	sync := func(conn string) map[string]any {
		t.Helper()
		st, job := c.call("POST", "/api/psa/"+conn+"/sync", owner, org, nil)
		if st != http.StatusAccepted {
			t.Fatalf("sync: %d %v", st, job)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, j := c.call("GET", "/api/jobs/"+job["id"].(string), owner, org, nil)
			if j["status"] == "succeeded" {
				return j["result"].(map[string]any)["counts"].(map[string]any)
			}
			if j["status"] == "failed" || time.Now().After(deadline) {
				t.Fatalf("sync job: %v", j)
			}
		}
	}
	for i, vendor := range []string{"connectwise", "autotask", "halopsa"} {
		st, conn := c.call("POST", "/api/connections", owner, org, map[string]any{"type": vendor, "label": vendor + " demo", "credentials": demoPSACredentials[vendor]})
		if st != http.StatusCreated {
			t.Fatalf("%s: connect: %d %v", vendor, st, conn)
		}
		id := conn["id"].(string)
		if st, out := c.call("POST", "/api/connections/"+id+"/test", owner, org, nil); st != http.StatusOK || out["ok"] != true {
			t.Fatalf("%s: test: %d %v", vendor, st, out)
		}
		st, m := c.call("GET", "/api/psa/"+id+"/matches", owner, org, nil)
		items, _ := m["items"].([]any)
		// Northwind by domain, Fabrikam by name; the companies the first sync created
		// here are likely matches of the next PSA's.
		if st != http.StatusOK || len(items) != 2+2*min(i, 1) {
			t.Fatalf("%s: matches: %d %v", vendor, st, m)
		}
		var accept []any
		seen := map[string]bool{}
		for _, it := range items {
			p := it.(map[string]any)
			if !seen[p["externalId"].(string)] { // the best proposal of each company
				seen[p["externalId"].(string)] = true
				accept = append(accept, map[string]any{"customerId": p["customerId"], "externalId": p["externalId"]})
			}
		}
		if st, out := c.call("POST", "/api/psa/"+id+"/matches/accept", owner, org, map[string]any{"matches": accept}); st != http.StatusOK {
			t.Fatalf("%s: accept: %d %v", vendor, st, out)
		}
		if st, out := c.call("PUT", "/api/psa/"+id+"/sync", owner, org, map[string]any{"conflictPolicy": "psa-wins"}); st != http.StatusOK {
			t.Fatalf("%s: policy: %d %v", vendor, st, out)
		}
		st, dry := c.call("POST", "/api/psa/"+id+"/sync?dryRun=true", owner, org, nil)
		creates, _ := dry["createsHere"].([]any)
		if st != http.StatusOK || len(creates) != 2-2*min(i, 1) {
			t.Fatalf("%s: dry run: %d %v", vendor, st, dry)
		}
		counts := sync(id)
		if counts["createdHere"] != float64(len(creates)) {
			t.Fatalf("%s: sync: %v", vendor, counts)
		}
		counts = sync(id)
		for _, k := range []string{"createdHere", "updatedHere", "updatedInPsa", "conflicts"} {
			if counts[k] != float64(0) {
				t.Fatalf("%s: the second sync changed something: %v", vendor, counts)
			}
		}
	}
	_, list := c.call("GET", "/api/msp-portal/customers?limit=100", owner, org, nil)
	if items, _ := list["items"].([]any); len(items) != 4 {
		t.Fatalf("customers after three PSAs: %v (want Northwind, Fabrikam, Adventure Works, Tailspin once each)", list)
	}
}
