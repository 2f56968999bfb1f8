package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// psaRecords is what the ticket and contact tests read and change in a stand-in.
type psaRecords interface {
	Seed(...psa.Company) []psa.Company
	SeedContacts(...psa.Contact) []psa.Contact
	Tickets() []psa.Ticket
	Ticket(id string) (psa.Ticket, bool)
	SetTicketStatus(id, status string) bool
	SeedTickets(...psa.Ticket) []psa.Ticket
	FailNext(n, status int)
}

// standinOf is vendor's stand-in.
func standinOf(s *psaStandins, vendor string) psaRecords {
	switch vendor {
	case "connectwise":
		return s.cw
	case "autotask":
		return s.at
	}
	return s.halo
}

// ticketView is what the ticket tests read of a ticket.
type ticketView struct {
	ID         string            `json:"id"`
	CustomerID string            `json:"customerId"`
	Status     string            `json:"status"`
	Version    int64             `json:"version"`
	PSA        *domain.TicketPSA `json:"psa"`
}

// psaCustomer seeds a company in vendor's stand-in, connects vendor and creates a
// customer linked to the company; it answers the connection, the company and the
// customer.
func psaCustomer(t *testing.T, w *world, s *psaStandins, vendor, name string) (conn, company, customer string) {
	t.Helper()
	conn = connectPSA(t, w, s, vendor)
	company = standinOf(s, vendor).Seed(psa.Company{Name: name, Phone: "+1 555 0100"})[0].ID
	customer = linkedCustomer(t, w, name, domain.PSALink{ConnectionID: conn, Type: vendor, ExternalID: company})
	return conn, company, customer
}

// linkedCustomer creates a customer with links and answers its id.
func linkedCustomer(t *testing.T, w *world, name string, links ...domain.PSALink) string {
	t.Helper()
	res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers", Token: w.tokens["Owner"],
		Headers: map[string]string{api.HeaderOrganization: w.org.ID}, Body: map[string]any{"name": name, "psaLinks": append([]domain.PSALink{}, links...)}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create customer: %d %s", res.Status, res.Body)
	}
	var c struct{ ID string }
	res.JSON(t, &c)
	return c.ID
}

// ticketCall sends a ticket request as the Owner and answers the ticket.
func ticketCall(t *testing.T, w *world, method, path string, body any, want int) ticketView {
	t.Helper()
	res := w.env.Do(testenv.Request{Method: method, Path: path, Token: w.tokens["Owner"],
		Headers: map[string]string{api.HeaderOrganization: w.org.ID}, Body: body})
	if res.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
	}
	var v ticketView
	res.JSON(t, &v)
	return v
}

// syncTickets runs the psa-ticket-sync schedule at now.
func syncTickets(t *testing.T, w *world, now time.Time) api.PSATicketSyncResult {
	t.Helper()
	res, err := api.SyncPSATickets(context.Background(), w.env.Deps, now)
	if err != nil {
		t.Fatalf("psa-ticket-sync: %+v %v", res, err)
	}
	return res.(api.PSATicketSyncResult)
}

func ticketsOfCompany(s psaRecords, company string) []psa.Ticket {
	var out []psa.Ticket
	for _, t := range s.Tickets() {
		if t.CompanyID == company {
			out = append(out, t)
		}
	}
	return out
}

func TestPSATicketsFiledAndStatusBothWays(t *testing.T) {
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			w := newWorld(t)
			s := startPSAStandins(t, w.env)
			rec := standinOf(s, vendor)
			statuses := domain.DefaultPSAStatuses(vendor)
			_, company, cust := psaCustomer(t, w, s, vendor, "Northwind "+vendor)
			path := "/api/msp-portal/customers/" + cust + "/tickets"

			tk := ticketCall(t, w, "POST", path, map[string]any{"subject": "Printer on fire", "description": "Third floor"}, http.StatusCreated)
			if tk.PSA == nil || tk.PSA.State != domain.PSASynced || tk.PSA.TicketID == "" || tk.PSA.LastError != nil {
				t.Fatalf("created: %+v", tk.PSA)
			}
			filed := ticketsOfCompany(rec, company)
			if len(filed) != 1 || filed[0].ID != tk.PSA.TicketID || filed[0].Summary != "Printer on fire" {
				t.Fatalf("in the PSA: %+v", filed)
			}

			// Switchboard → PSA.
			tk = ticketCall(t, w, "PUT", path+"/"+tk.ID, map[string]any{"subject": "Printer on fire", "description": "Third floor",
				"status": "in-progress", "version": tk.Version}, http.StatusOK)
			if got, _ := rec.Ticket(tk.PSA.TicketID); got.Status != statuses.Out("in-progress") || tk.PSA.State != domain.PSASynced {
				t.Fatalf("pushed status: PSA %q, ticket %+v", got.Status, tk.PSA)
			}

			// PSA → Switchboard, on the schedule; a second run changes nothing.
			rec.SetTicketStatus(tk.PSA.TicketID, statuses.Out("resolved"))
			now := time.Now().UTC()
			if res := syncTickets(t, w, now); res.StatusChanges != 1 || res.Pulled != 1 {
				t.Fatalf("first pull: %+v", res)
			}
			tk = ticketCall(t, w, "GET", path+"/"+tk.ID, nil, http.StatusOK)
			if tk.Status != "resolved" || tk.PSA.Status != statuses.Out("resolved") {
				t.Fatalf("after the pull: %s %+v", tk.Status, tk.PSA)
			}
			if res := syncTickets(t, w, now.Add(5*time.Minute)); res.StatusChanges != 0 || res.Pushed != 0 {
				t.Fatalf("second pull: %+v", res)
			}
			if n := len(ticketsOfCompany(rec, company)); n != 1 {
				t.Fatalf("%d tickets in the PSA, want 1", n)
			}
			assertAudited(t, w, "ticket.psa-filed", "ticket.status")
		})
	}
}

func TestPSATicketQueuedWhilePSADownIsFiledOnce(t *testing.T) {
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			w := newWorld(t)
			s := startPSAStandins(t, w.env)
			rec := standinOf(s, vendor)
			_, company, cust := psaCustomer(t, w, s, vendor, "Fabrikam "+vendor)
			path := "/api/msp-portal/customers/" + cust + "/tickets"

			rec.FailNext(1, http.StatusServiceUnavailable)
			tk := ticketCall(t, w, "POST", path, map[string]any{"subject": "VPN down"}, http.StatusCreated)
			if tk.PSA == nil || tk.PSA.State != domain.PSAQueued || tk.PSA.LastError == nil || tk.PSA.LastError.Code != "psa-unavailable" ||
				tk.PSA.Attempts != 1 || tk.PSA.NextAttemptAt == nil || tk.PSA.TicketID != "" {
				t.Fatalf("created while down: %+v", tk.PSA)
			}
			if n := len(ticketsOfCompany(rec, company)); n != 0 {
				t.Fatalf("%d tickets in the PSA while it was down", n)
			}
			// Not due yet: the backoff holds it.
			now := time.Now().UTC()
			if res := syncTickets(t, w, now); res.Pushed != 0 {
				t.Fatalf("before its time: %+v", res)
			}
			res := syncTickets(t, w, tk.PSA.NextAttemptAt.Add(time.Second))
			if res.Pushed != 1 {
				t.Fatalf("retry: %+v", res)
			}
			tk = ticketCall(t, w, "GET", path+"/"+tk.ID, nil, http.StatusOK)
			if tk.PSA.State != domain.PSASynced || tk.PSA.TicketID == "" || tk.PSA.LastError != nil || tk.PSA.Attempts != 2 {
				t.Fatalf("after the retry: %+v", tk.PSA)
			}
			for range 2 {
				if res := syncTickets(t, w, now.Add(3*time.Hour)); res.Pushed != 0 {
					t.Fatalf("later runs: %+v", res)
				}
			}
			if n := len(ticketsOfCompany(rec, company)); n != 1 {
				t.Fatalf("%d tickets in the PSA, want exactly 1", n)
			}
		})
	}
}

// loseAnswers lets requests through to the PSA but answers 502 to the first n that
// match: a create the PSA made whose answer never arrived.
type loseAnswers struct {
	base  http.RoundTripper
	match func(*http.Request) bool
	left  atomic.Int32
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.base.RoundTrip(r)
	if err != nil || !l.match(r) || l.left.Add(-1) < 0 {
		return res, err
	}
	_ = res.Body.Close()
	return &http.Response{StatusCode: http.StatusBadGateway, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// worldLosingFirstTicketCreate is a world with the stand-ins whose first ticket create
// in vendor's PSA is made but answered 502, as if the answer were lost.
func worldLosingFirstTicketCreate(t *testing.T, vendor string) (*world, *psaStandins, psaRecords) {
	t.Helper()
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	lose := &loseAnswers{base: http.DefaultTransport, match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(strings.ToLower(r.URL.Path), "tickets")
	}}
	lose.left.Store(1)
	w.env.Deps.PSA.HTTPClient = &http.Client{Transport: lose}
	return w, s, standinOf(s, vendor)
}

func TestPSATicketCreateWithoutAnswerIsNotDuplicated(t *testing.T) {
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			w, s, rec := worldLosingFirstTicketCreate(t, vendor)
			_, company, cust := psaCustomer(t, w, s, vendor, "Contoso "+vendor)
			path := "/api/msp-portal/customers/" + cust + "/tickets"

			tk := ticketCall(t, w, "POST", path, map[string]any{"subject": "Mail bounces"}, http.StatusCreated)
			if tk.PSA.State != domain.PSAQueued || tk.PSA.CreateStartedAt == nil || len(ticketsOfCompany(rec, company)) != 1 {
				t.Fatalf("lost answer: %+v, %d in the PSA", tk.PSA, len(ticketsOfCompany(rec, company)))
			}
			if res := syncTickets(t, w, tk.PSA.NextAttemptAt.Add(time.Second)); res.Pushed != 1 {
				t.Fatalf("retry: %+v", res)
			}
			tk = ticketCall(t, w, "GET", path+"/"+tk.ID, nil, http.StatusOK)
			filed := ticketsOfCompany(rec, company)
			if len(filed) != 1 || tk.PSA.TicketID != filed[0].ID || tk.PSA.State != domain.PSASynced {
				t.Fatalf("after the retry: %+v; in the PSA %+v", tk.PSA, filed)
			}
		})
	}
}

func TestPSATicketRefusedIsFailedUntilFixed(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	conn, company, cust := psaCustomer(t, w, s, "halopsa", "Tailspin")
	h := map[string]string{api.HeaderOrganization: w.org.ID}
	put := s.wrongCredentials("halopsa", "wrong-secret-value-0123456789")
	put["version"] = 1
	if res := w.env.Do(testenv.Request{Method: "PUT", Path: "/api/connections/" + conn, Token: w.tokens["Owner"], Headers: h, Body: put}); res.Status != http.StatusOK {
		t.Fatalf("rotate: %d %s", res.Status, res.Body)
	}
	path := "/api/msp-portal/customers/" + cust + "/tickets"
	tk := ticketCall(t, w, "POST", path, map[string]any{"subject": "Laptop stolen"}, http.StatusCreated)
	if tk.PSA.State != domain.PSAFailed || tk.PSA.LastError == nil || tk.PSA.LastError.Code != "psa-invalid-credentials" ||
		strings.Contains(tk.PSA.LastError.Message, "wrong-secret") {
		t.Fatalf("refused: %+v", tk.PSA)
	}
	// The credentials are fixed; the schedule files it.
	fixed := s.psaConnectionBody("halopsa")
	fixed["version"] = 2
	if res := w.env.Do(testenv.Request{Method: "PUT", Path: "/api/connections/" + conn, Token: w.tokens["Owner"], Headers: h, Body: fixed}); res.Status != http.StatusOK {
		t.Fatalf("fix: %d %s", res.Status, res.Body)
	}
	if res := syncTickets(t, w, tk.PSA.NextAttemptAt.Add(time.Second)); res.Pushed != 1 {
		t.Fatalf("retry: %+v", res)
	}
	if n := len(ticketsOfCompany(s.halo, company)); n != 1 {
		t.Fatalf("%d tickets in the PSA", n)
	}
}

// assertAudited checks that the organization's audit log holds each action.
func assertAudited(t *testing.T, w *world, actions ...string) {
	t.Helper()
	assertAuditedIn(t, w, "customer", actions...)
}
