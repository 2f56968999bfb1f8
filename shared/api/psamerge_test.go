package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// Issue 10, item 5: merging customers keeps the target's PSA links and moves the
// source's, with live connectors (the stand-ins). Tickets filed before the merge keep
// their PSA tickets and follow the target; a ticket queued before it is filed under
// the target's record; the ticket sync afterwards reaches them through the target;
// nothing is made twice in the PSA.
func TestMergeKeepsPSAMappings(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	cwConn, atConn := connectPSA(t, w, s, "connectwise"), connectPSA(t, w, s, "autotask")
	cw := s.cw.Seed(psa.Company{Name: "Contoso", Phone: "+1 555 0101"}, psa.Company{Name: "Contoso Ltd (old)", Phone: "+1 555 0102"})
	targetRec, sourceRec := cw[0].ID, cw[1].ID
	atRec := s.at.Seed(psa.Company{Name: "Contoso Ltd", Phone: "+1 555 0103"})[0].ID
	target := linkedCustomer(t, w, "Contoso", domain.PSALink{ConnectionID: cwConn, Type: "connectwise", ExternalID: targetRec})
	source := linkedCustomer(t, w, "Contoso Ltd",
		domain.PSALink{ConnectionID: cwConn, Type: "connectwise", ExternalID: sourceRec},
		domain.PSALink{ConnectionID: atConn, Type: "autotask", ExternalID: atRec})

	// Before the merge: one ticket filed under the source's record, one queued (the PSA down).
	filed := ticketCall(t, w, "POST", "/api/msp-portal/customers/"+source+"/tickets", map[string]any{"subject": "Server room too warm"}, http.StatusCreated)
	s.cw.FailNext(1, http.StatusServiceUnavailable)
	queued := ticketCall(t, w, "POST", "/api/msp-portal/customers/"+source+"/tickets", map[string]any{"subject": "New starter laptop"}, http.StatusCreated)
	if filed.PSA.State != domain.PSASynced || queued.PSA.State != domain.PSAQueued {
		t.Fatalf("before the merge: %+v / %+v", filed.PSA, queued.PSA)
	}

	c := customers{t: t, env: w.env, tok: w.tokens["Owner"]}
	var started jobJSON
	c.do("POST", "/api/msp-portal/customers/"+target+"/merge", map[string]string{"sourceCustomerId": source}, http.StatusAccepted).JSON(t, &started)
	if j := c.waitJob(started.ID); j.Status != "succeeded" || len(j.Errors) != 1 || j.Errors[0].Field != "psaLinks" {
		t.Fatalf("merge: %+v", j)
	}
	var got struct{ PSALinks []domain.PSALink }
	c.do("GET", "/api/msp-portal/customers/"+target, nil, http.StatusOK).JSON(t, &got)
	want := []domain.PSALink{{ConnectionID: cwConn, Type: "connectwise", ExternalID: targetRec}, {ConnectionID: atConn, Type: "autotask", ExternalID: atRec}}
	if len(got.PSALinks) != 2 || got.PSALinks[0] != want[0] || got.PSALinks[1] != want[1] {
		t.Fatalf("target's links: %+v, want %+v", got.PSALinks, want)
	}
	// A sync that meets the Autotask company finds the target by its link.
	if id, err := w.env.Store.LookupCustomerKey(context.Background(), w.org.ID, "psa", atConn+"#"+atRec); err != nil || id != target {
		t.Fatalf("Autotask record's customer: %q %v", id, err)
	}

	// The schedule files the queued ticket, now the target's, under the target's record.
	base := "/api/msp-portal/customers/" + target + "/tickets/"
	if res := syncTickets(t, w, time.Now().Add(10*time.Minute)); res.Pushed != 1 {
		t.Fatalf("sync after the merge: %+v", res)
	}
	queued = ticketCall(t, w, "GET", base+queued.ID, nil, http.StatusOK)
	if queued.CustomerID != target || queued.PSA.State != domain.PSASynced || queued.PSA.CompanyID != targetRec {
		t.Fatalf("queued ticket after the merge: %+v %+v", queued, queued.PSA)
	}
	// A status change in the PSA reaches the ticket filed before the merge.
	s.cw.SetTicketStatus(filed.PSA.TicketID, "Completed")
	if res := syncTickets(t, w, time.Now().Add(20*time.Minute)); res.StatusChanges != 1 {
		t.Fatalf("pull after the merge: %+v", res)
	}
	if filed = ticketCall(t, w, "GET", base+filed.ID, nil, http.StatusOK); filed.Status != "resolved" || filed.CustomerID != target {
		t.Fatalf("filed ticket after the pull: %+v", filed)
	}
	// A new ticket of the target goes to its own record.
	fresh := ticketCall(t, w, "POST", "/api/msp-portal/customers/"+target+"/tickets", map[string]any{"subject": "Printer jam"}, http.StatusCreated)
	if fresh.PSA.CompanyID != targetRec || fresh.PSA.State != domain.PSASynced {
		t.Fatalf("new ticket: %+v", fresh.PSA)
	}
	// Nothing twice: three tickets in ConnectWise, each once; none in Autotask.
	byCompany := map[string]int{}
	for _, tk := range s.cw.Tickets() {
		byCompany[tk.CompanyID]++
	}
	if len(s.cw.Tickets()) != 3 || byCompany[sourceRec] != 1 || byCompany[targetRec] != 2 || len(s.at.Tickets()) != 0 {
		t.Fatalf("PSA tickets: %+v", s.cw.Tickets())
	}
}
