package main

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/psa/connectwise"
)

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestMakeRunPSATicketFlow is issue 10's "create a ticket that appears in the stand-in
// PSA" against the `make run` server: connect ConnectWise (its stand-in), link a
// customer to a demo company, preview its contacts, open a ticket and find it in
// ConnectWise; a status changed there comes back with the psa-ticket-sync schedule.
func TestMakeRunPSATicketFlow(t *testing.T) {
	saved := psaStandinAddrs
	psaStandinAddrs[0] = freeAddr(t) // known, so the test can read the stand-in too
	t.Cleanup(func() { psaStandinAddrs = saved })
	c := startLocal(t)
	const org = "contoso-msp"
	owner := c.signIn("megan.bowen@contosomsp.com")
	stand := psastandin.NewConnectWise() // only for its default credentials
	stand.Close()
	cw, err := connectwise.New(connectwise.Config{Site: "http://" + psaStandinAddrs[0], CompanyID: stand.CompanyID, PublicKey: stand.PublicKey,
		PrivateKey: stand.PrivateKey, ClientID: stand.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	companies, err := cw.CompaniesChangedSince(ctx, time.Time{}, "")
	if err != nil || len(companies.Companies) == 0 || companies.Companies[0].Name != "Northwind Traders" {
		t.Fatalf("the demo companies: %+v %v", companies, err)
	}
	company := companies.Companies[0].ID

	st, conn := c.call("POST", "/api/connections", owner, org, map[string]any{"type": "connectwise", "label": "ConnectWise", "credentials": map[string]any{
		"site": "api-na.myconnectwise.net", "companyId": stand.CompanyID, "publicKey": stand.PublicKey, "privateKey": stand.PrivateKey, "clientId": stand.ClientID}})
	if st != http.StatusCreated {
		t.Fatalf("connect: %d %v", st, conn)
	}
	connID := conn["id"].(string)
	st, cust := c.call("POST", "/api/msp-portal/customers", owner, org, map[string]any{"name": "Northwind Traders (PSA)",
		"psaLinks": []any{map[string]any{"connectionId": connID, "type": "connectwise", "externalId": company}}})
	if st != http.StatusCreated {
		t.Fatalf("customer: %d %v", st, cust)
	}
	custID := cust["id"].(string)
	st, preview := c.call("POST", "/api/msp-portal/customers/"+custID+"/users/import", owner, org,
		map[string]any{"source": "psa", "connectionId": connID, "preview": true})
	if counts, _ := preview["counts"].(map[string]any); st != http.StatusOK || counts["new"] != float64(2) {
		t.Fatalf("contacts preview: %d %v", st, preview)
	}

	st, ticket := c.call("POST", "/api/msp-portal/customers/"+custID+"/tickets", owner, org, map[string]any{"subject": "Printer on fire", "priority": "high"})
	p, _ := ticket["psa"].(map[string]any)
	if st != http.StatusCreated || p == nil || p["state"] != "synced" || p["ticketId"] == nil {
		t.Fatalf("ticket: %d %v", st, ticket)
	}
	tickets, err := cw.TicketsChangedSince(ctx, time.Now().Add(-time.Hour), "")
	if err != nil || len(tickets.Tickets) != 1 || tickets.Tickets[0].ID != p["ticketId"] || tickets.Tickets[0].Summary != "Printer on fire" ||
		tickets.Tickets[0].CompanyID != company {
		t.Fatalf("ConnectWise's tickets: %+v %v", tickets, err)
	}

	// Closed in ConnectWise; the schedule brings it back.
	if _, err := cw.UpdateTicket(ctx, psa.Ticket{ID: tickets.Tickets[0].ID, Summary: "Printer on fire", Status: "Closed"}); err != nil {
		t.Fatal(err)
	}
	if st, out := c.call("POST", "/dev/schedules/psa-ticket-sync", "", "", nil); st != http.StatusOK {
		t.Fatalf("schedule: %d %v", st, out)
	}
	_, ticket = c.call("GET", "/api/msp-portal/customers/"+custID+"/tickets/"+ticket["id"].(string), owner, org, nil)
	if ticket["status"] != "closed" {
		t.Fatalf("after the schedule: %v", ticket)
	}
}
