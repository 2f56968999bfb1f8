package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// customTicketMaps are per-connection maps that differ from every vendor's defaults:
// the JSON body of PUT ticket-settings, and the vendor values it sets as text.
func customTicketMaps(vendor string) (body map[string]any, statuses domain.PSAStatusMap, priorities domain.PSAPriorityMap) {
	if vendor == "connectwise" {
		statuses = domain.PSAStatusMap{"open": "Received", "in-progress": "Working", "waiting": "On Hold - Client",
			"resolved": "Resolved", "closed": "Closed - Final"}
		priorities = domain.PSAPriorityMap{"low": "P4 Low", "normal": "P3 Normal", "high": "P2 High", "urgent": "P1 Critical"}
	} else {
		statuses = domain.PSAStatusMap{"open": "21", "in-progress": "22", "waiting": "23", "resolved": "24", "closed": "25"}
		priorities = domain.PSAPriorityMap{"low": "31", "normal": "32", "high": "33", "urgent": "34"}
	}
	asJSON := func(m map[string]string) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
			if vendor != "connectwise" {
				n := 0
				for _, r := range v {
					n = n*10 + int(r-'0')
				}
				out[k] = n
			}
		}
		return out
	}
	return map[string]any{"ticketStatusMap": asJSON(statuses), "ticketPriorityMap": asJSON(priorities)}, statuses, priorities
}

// psaCall sends a request as the Owner and checks its status.
func psaCall(t *testing.T, w *world, method, path string, body any, want int) *testenv.Response {
	t.Helper()
	res := w.env.Do(testenv.Request{Method: method, Path: path, Token: w.tokens["Owner"],
		Headers: map[string]string{api.HeaderOrganization: w.org.ID}, Body: body})
	if res.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
	}
	return res
}

// TestPSATicketCustomMapsAndPriority sets a connection's own maps and checks, against
// each stand-in, that pushes (create and update, status and priority) and the status
// pull use them.
func TestPSATicketCustomMapsAndPriority(t *testing.T) {
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			w := newWorld(t)
			s := startPSAStandins(t, w.env)
			rec := standinOf(s, vendor)
			conn, _, cust := psaCustomer(t, w, s, vendor, "Litware "+vendor)
			body, statuses, priorities := customTicketMaps(vendor)
			settings := "/api/psa/" + conn + "/ticket-settings"
			res := psaCall(t, w, "PUT", settings, body, http.StatusOK)
			if !strings.Contains(string(res.Body), `"custom":["ticketStatusMap","ticketPriorityMap"]`) {
				t.Fatalf("PUT answered %s", res.Body)
			}
			path := "/api/msp-portal/customers/" + cust + "/tickets"

			tk := ticketCall(t, w, "POST", path, map[string]any{"subject": "Server room hot", "status": "waiting", "priority": "urgent"}, http.StatusCreated)
			got, _ := rec.Ticket(tk.PSA.TicketID)
			if tk.PSA.State != domain.PSASynced || got.Status != statuses["waiting"] || got.Priority != priorities["urgent"] {
				t.Fatalf("created: %+v; in the PSA %+v", tk.PSA, got)
			}
			tk = ticketCall(t, w, "PUT", path+"/"+tk.ID, map[string]any{"subject": "Server room hot", "status": "waiting", "priority": "low",
				"version": tk.Version}, http.StatusOK)
			if got, _ := rec.Ticket(tk.PSA.TicketID); got.Priority != priorities["low"] || tk.PSA.State != domain.PSASynced {
				t.Fatalf("priority pushed on update: PSA %+v, ticket %+v", got, tk.PSA)
			}

			rec.SetTicketStatus(tk.PSA.TicketID, statuses["in-progress"])
			if res := syncTickets(t, w, time.Now().UTC()); res.StatusChanges != 1 {
				t.Fatalf("pull: %+v", res)
			}
			if tk = ticketCall(t, w, "GET", path+"/"+tk.ID, nil, http.StatusOK); tk.Status != "in-progress" {
				t.Fatalf("after the pull: %s %+v", tk.Status, tk.PSA)
			}

			// Back to the defaults: a PUT without maps.
			res = psaCall(t, w, "PUT", settings, map[string]any{}, http.StatusOK)
			if !strings.Contains(string(res.Body), `"custom":[]`) {
				t.Fatalf("reset answered %s", res.Body)
			}
			tk = ticketCall(t, w, "PUT", path+"/"+tk.ID, map[string]any{"subject": "Server room hot", "status": "waiting", "priority": "high",
				"version": tk.Version}, http.StatusOK)
			if got, _ := rec.Ticket(tk.PSA.TicketID); got.Status != domain.DefaultPSAStatuses(vendor)["waiting"] ||
				got.Priority != domain.DefaultPSAPriorities(vendor)["high"] {
				t.Fatalf("default maps: %+v", got)
			}
			assertAuditedIn(t, w, "settings", "connection.psa-ticket-settings")
		})
	}
}

func TestPSATicketSettingsValidation(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	cw, at := connectPSA(t, w, s, "connectwise"), connectPSA(t, w, s, "autotask")
	full := func(v any) map[string]any {
		return map[string]any{"open": v, "in-progress": v, "waiting": v, "resolved": v, "closed": v}
	}
	without := func(m map[string]any, k string) map[string]any { delete(m, k); return m }
	with := func(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
	cases := []struct {
		name, conn string
		body       map[string]any
		field      string
	}{
		{"a status left out", cw, map[string]any{"ticketStatusMap": without(full("New"), "waiting")}, "ticketStatusMap.waiting"},
		{"an unknown status", cw, map[string]any{"ticketStatusMap": with(full("New"), "parked", "New")}, "ticketStatusMap.parked"},
		{"a number for ConnectWise", cw, map[string]any{"ticketStatusMap": with(full("New"), "closed", 5)}, "ticketStatusMap.closed"},
		{"an empty name", cw, map[string]any{"ticketStatusMap": with(full("New"), "open", " ")}, "ticketStatusMap.open"},
		{"a name for Autotask", at, map[string]any{"ticketStatusMap": with(full(1), "waiting", "Waiting Customer")}, "ticketStatusMap.waiting"},
		{"zero for Autotask", at, map[string]any{"ticketStatusMap": with(full(1), "resolved", 0)}, "ticketStatusMap.resolved"},
		{"a fraction", at, map[string]any{"ticketPriorityMap": map[string]any{"low": 1.5, "normal": 2, "high": 3, "urgent": 4}}, "ticketPriorityMap.low"},
		{"a priority left out", at, map[string]any{"ticketPriorityMap": map[string]any{"low": 1, "normal": 2, "high": 3}}, "ticketPriorityMap.urgent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := psaCall(t, w, "PUT", "/api/psa/"+c.conn+"/ticket-settings", c.body, http.StatusBadRequest)
			if !strings.Contains(string(res.Body), `"`+c.field+`"`) {
				t.Errorf("want %s named: %s", c.field, res.Body)
			}
		})
	}
	psaCall(t, w, "PUT", "/api/psa/"+at+"/ticket-settings", map[string]any{"ticketStatusMap": full(1), "version": 7}, http.StatusConflict)
}

// TestPSATicketMadeInPSAImportedOnce: a ticket made in the PSA for a linked company is
// imported once (the pull runs twice), one of an unlinked company is skipped, and the
// pull runs though no ticket was ever filed from here.
func TestPSATicketMadeInPSAImportedOnce(t *testing.T) {
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			w := newWorld(t)
			s := startPSAStandins(t, w.env)
			rec := standinOf(s, vendor)
			_, company, cust := psaCustomer(t, w, s, vendor, "Adatum "+vendor)
			// No ticket was ever filed on the connection: its company sync starts the pull.
			runPSASyncSchedule(t, w)
			stranger := rec.Seed(psa.Company{Name: "Not linked", Phone: "+1 555 0199"})[0].ID
			statuses, priorities := domain.DefaultPSAStatuses(vendor), domain.DefaultPSAPriorities(vendor)
			rec.SeedTickets(psa.Ticket{CompanyID: company, Summary: "Phones down", Description: "All of them",
				Status: statuses["waiting"], Priority: priorities["high"]},
				psa.Ticket{CompanyID: stranger, Summary: "Not ours", Status: statuses["open"]})

			now := time.Now().UTC()
			if res := syncTickets(t, w, now); res.Imported != 1 || res.Unlinked != 1 || res.Pulled != 1 {
				t.Fatalf("first pull: %+v", res)
			}
			if res := syncTickets(t, w, now.Add(5*time.Minute)); res.Imported != 0 || res.Pushed != 0 {
				t.Fatalf("second pull: %+v", res)
			}
			var list struct {
				Items []struct {
					ticketView
					Subject, Description, Priority string
				} `json:"items"`
			}
			psaCall(t, w, "GET", "/api/msp-portal/customers/"+cust+"/tickets", nil, http.StatusOK).JSON(t, &list)
			if len(list.Items) != 1 {
				t.Fatalf("%d tickets here, want 1: %+v", len(list.Items), list.Items)
			}
			got := list.Items[0]
			if got.Subject != "Phones down" || got.Description != "All of them" || got.Status != "waiting" || got.Priority != "high" ||
				got.PSA == nil || got.PSA.State != domain.PSASynced || got.PSA.CompanyID != company {
				t.Fatalf("imported: %+v %+v", got, got.PSA)
			}
			if n := len(rec.Tickets()); n != 2 {
				t.Fatalf("%d tickets in the PSA, want the 2 seeded", n)
			}
			// Imported tickets then flow both ways as filed ones do.
			rec.SetTicketStatus(got.PSA.TicketID, statuses["closed"])
			if res := syncTickets(t, w, now.Add(10*time.Minute)); res.StatusChanges != 1 || res.Imported != 0 {
				t.Fatalf("status of an imported ticket: %+v", res)
			}
			assertAudited(t, w, "ticket.psa-import")
		})
	}
}

// TestPSATicketLostCreateNotImported: a ticket we filed whose create answer was lost
// is in the PSA before Switchboard knows its id; the pull must leave it to the push,
// which links it, and nothing is imported then or later.
func TestPSATicketLostCreateNotImported(t *testing.T) {
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			w, s, rec := worldLosingFirstTicketCreate(t, vendor)
			_, company, cust := psaCustomer(t, w, s, vendor, "Proseware "+vendor)
			runPSASyncSchedule(t, w)
			path := "/api/msp-portal/customers/" + cust + "/tickets"

			tk := ticketCall(t, w, "POST", path, map[string]any{"subject": "Backups failing"}, http.StatusCreated)
			if tk.PSA.TicketID != "" || tk.PSA.CreateStartedAt == nil || len(ticketsOfCompany(rec, company)) != 1 {
				t.Fatalf("lost answer: %+v", tk.PSA)
			}
			// The pull runs before the retry is due: it sees the PSA's ticket.
			if res := syncTickets(t, w, time.Now().UTC()); res.Imported != 0 || res.Pushed != 0 || res.Pulled != 1 {
				t.Fatalf("pull before the retry: %+v", res)
			}
			if res := syncTickets(t, w, tk.PSA.NextAttemptAt.Add(time.Second)); res.Pushed != 1 || res.Imported != 0 {
				t.Fatalf("retry: %+v", res)
			}
			if res := syncTickets(t, w, tk.PSA.NextAttemptAt.Add(10*time.Minute)); res.Imported != 0 {
				t.Fatalf("later pull: %+v", res)
			}
			var list struct {
				Items []ticketView `json:"items"`
			}
			psaCall(t, w, "GET", path, nil, http.StatusOK).JSON(t, &list)
			if filed := ticketsOfCompany(rec, company); len(list.Items) != 1 || len(filed) != 1 || list.Items[0].PSA.TicketID != filed[0].ID {
				t.Fatalf("here %+v; in the PSA %+v", list.Items, filed)
			}
		})
	}
}

// assertAuditedIn checks that the organization's audit log holds each action in category.
func assertAuditedIn(t *testing.T, w *world, category string, actions ...string) {
	t.Helper()
	res := psaCall(t, w, "GET", "/api/audit-log?category="+category+"&limit=100", nil, http.StatusOK)
	for _, a := range actions {
		if !strings.Contains(string(res.Body), `"action":"`+a+`"`) {
			t.Errorf("no %s event in %s", a, res.Body)
		}
	}
}

// TestPSATicketValuesFromEachPSA reads each stand-in's statuses and priorities through
// GET ticket-values and sets a map picked from them.
func TestPSATicketValuesFromEachPSA(t *testing.T) {
	cases := []struct {
		vendor                 string
		statuses, priorities   string // the answer's lists, as JSON
		statusMap, priorityMap map[string]any
	}{
		{"connectwise", `"statuses":null`, `{"value":"Priority 1 - Emergency Response","name":"Priority 1 - Emergency Response","active":true}`,
			nil, map[string]any{"low": "Priority 4 - Schedule Maintenance", "normal": "Priority 3 - Normal Response",
				"high": "Priority 2 - Quick Response", "urgent": "Priority 1 - Emergency Response"}},
		{"autotask", `{"value":7,"name":"Waiting Customer","active":true}`, `{"value":4,"name":"Critical","active":true}`,
			map[string]any{"open": 1, "in-progress": 8, "waiting": 7, "resolved": 5, "closed": 5},
			map[string]any{"low": 3, "normal": 2, "high": 1, "urgent": 4}},
		{"halopsa", `{"value":9,"name":"Closed","active":true}`, `"priorities":null`,
			map[string]any{"open": 1, "in-progress": 2, "waiting": 4, "resolved": 9, "closed": 9}, nil},
	}
	for _, c := range cases {
		t.Run(c.vendor, func(t *testing.T) {
			w := newWorld(t)
			s := startPSAStandins(t, w.env)
			conn := connectPSA(t, w, s, c.vendor)
			res := psaCall(t, w, "GET", "/api/psa/"+conn+"/ticket-values", nil, http.StatusOK)
			for _, want := range []string{c.statuses, c.priorities} {
				if !strings.Contains(string(res.Body), want) {
					t.Errorf("want %s in %s", want, res.Body)
				}
			}
			body := map[string]any{}
			if c.statusMap != nil {
				body["ticketStatusMap"] = c.statusMap
			}
			if c.priorityMap != nil {
				body["ticketPriorityMap"] = c.priorityMap
			}
			psaCall(t, w, "PUT", "/api/psa/"+conn+"/ticket-settings", body, http.StatusOK)
			standinOf(s, c.vendor).FailNext(8, http.StatusServiceUnavailable)
			res = psaCall(t, w, "GET", "/api/psa/"+conn+"/ticket-values", nil, http.StatusBadGateway)
			if !strings.Contains(string(res.Body), "psa-unavailable") {
				t.Errorf("PSA down: %s", res.Body)
			}
		})
	}
}

// runPSASyncSchedule runs the psa-sync schedule as if every connection were due.
func runPSASyncSchedule(t *testing.T, w *world) {
	t.Helper()
	if res, err := api.SyncPSAConnections(context.Background(), w.env.Deps, time.Now().Add(3*time.Hour)); err != nil {
		t.Fatalf("psa-sync: %+v %v", res, err)
	}
}
