// Package psatest is the behaviour every psa.Connector must show against its
// vendor's stand-in (infra/psastandin): paging, changed-since, create and update,
// tickets and their status coming back, contacts, refused credentials, 429 and 5xx
// answers, and cancellation. Each connector's tests run it with a Harness.
package psatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

// StandIn is what the tests need of a stand-in server (psastandin's servers).
type StandIn interface {
	Seed(companies ...psa.Company) []psa.Company
	SeedContacts(contacts ...psa.Contact) []psa.Contact
	SeedTickets(tickets ...psa.Ticket) []psa.Ticket
	SetTicketStatus(id, status string) bool
	Company(id string) (psa.Company, bool)
	Tickets() []psa.Ticket
	FailNextRetryAfter(n, status int, retryAfter string)
	Requests() int
	SetClock(now func() time.Time)
}

// Harness binds a connector to a fresh stand-in.
type Harness struct {
	// New starts a stand-in and answers it with a connector on it, built with the
	// retry policy and page size given; bad makes the credentials wrong.
	New func(t *testing.T, retry psa.Retry, pageSize int, bad bool) (StandIn, psa.Connector)
	// Statuses are two ticket statuses the vendor accepts, the first the default.
	Statuses [2]string
	// FullScan: the vendor cannot filter companies by change time.
	FullScan bool
	// NoAddress: the vendor keeps addresses elsewhere than on the company
	// (HaloPSA's sites), so the connector does not sync them.
	NoAddress bool
	// UnauthorizedHint is text the refused-credentials error must contain, so a
	// person knows what to check.
	UnauthorizedHint string
}

// waits records the retry policy's waits instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) retry() psa.Retry {
	return psa.Retry{Attempts: 3, Base: time.Millisecond, Max: 2 * time.Millisecond, MaxRetryAfter: 10 * time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error {
			w.mu.Lock()
			w.d = append(w.d, d)
			w.mu.Unlock()
			return ctx.Err()
		}}
}

// Run runs every case.
func Run(t *testing.T, h Harness) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"paging over several pages", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 3, false)
			var want []string
			for i := range 8 {
				want = append(want, si.Seed(psa.Company{Name: fmt.Sprintf("Company %d", i), UpdatedAt: base.Add(time.Duration(i) * time.Minute)})[0].ID)
			}
			got, pages := listAll(t, c, base.Add(-time.Hour))
			if !slices.Equal(got, want) {
				t.Fatalf("listed %v, want %v", got, want)
			}
			if pages < 3 {
				t.Fatalf("%d pages for 8 companies of 3 a page", pages)
			}
		}},
		{"changed since", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 50, false)
			old := si.Seed(psa.Company{Name: "Old", UpdatedAt: base.Add(-48 * time.Hour)})[0]
			fresh := si.Seed(psa.Company{Name: "Fresh", UpdatedAt: base.Add(time.Hour)}, psa.Company{Name: "Fresher", UpdatedAt: base.Add(2 * time.Hour)})
			page, err := c.CompaniesChangedSince(context.Background(), base, "")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, co := range page.Companies {
				ids = append(ids, co.ID)
			}
			if h.FullScan {
				if !page.FullScan || !slices.Contains(ids, old.ID) {
					t.Fatalf("a full scan must say so and list everything: %+v", page)
				}
				return
			}
			if !slices.Equal(ids, []string{fresh[0].ID, fresh[1].ID}) {
				t.Fatalf("changed since %s: %v, want %v", base, ids, []string{fresh[0].ID, fresh[1].ID})
			}
			if !page.HighWater.Equal(base.Add(2 * time.Hour)) {
				t.Fatalf("high-water mark %s, want %s", page.HighWater, base.Add(2*time.Hour))
			}
		}},
		{"company create and update round trip", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 50, false)
			ctx := context.Background()
			in := psa.Company{Name: "Northwind Traders", Domain: "northwind.example", Phone: "+1 555 0100", Address1: "1 Main St", City: "Seattle", State: "WA", PostalCode: "98101"}
			created, err := c.CreateCompany(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if created.ID == "" || created.Name != in.Name || created.Domain != in.Domain || created.Phone != in.Phone {
				t.Fatalf("created %+v from %+v", created, in)
			}
			got, err := c.Company(ctx, created.ID)
			if err != nil || got.Name != in.Name || (!h.NoAddress && (got.City != in.City || got.PostalCode != in.PostalCode)) {
				t.Fatalf("read back %+v, %v", got, err)
			}
			got.Name, got.Phone = "Northwind Traders Ltd", "+1 555 0199"
			updated, err := c.UpdateCompany(ctx, got)
			if err != nil || updated.Name != got.Name || updated.Phone != got.Phone || updated.Domain != in.Domain {
				t.Fatalf("updated %+v, %v", updated, err)
			}
			if stored, _ := si.Company(created.ID); stored.Name != "Northwind Traders Ltd" {
				t.Fatalf("the PSA holds %+v", stored)
			}
			if _, err := c.Company(ctx, "999999"); !errors.Is(err, psa.ErrNotFound) {
				t.Fatalf("a missing company: %v, want ErrNotFound", err)
			}
		}},
		{"the website and the address written as SyncedFields says", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 50, false)
			ctx := context.Background()
			sf := psa.SyncedFields(c)
			if !sf.Website || sf.Address == h.NoAddress {
				t.Fatalf("SyncedFields %+v with NoAddress %v", sf, h.NoAddress)
			}
			old := psa.Company{Name: "Tailspin", Phone: "+1 555 0100", Domain: "www.tailspin.example", Address1: "1 Main St",
				Address2: "Suite 5", City: "Springfield", State: "IL", PostalCode: "62701", Country: "United States"}
			co := si.Seed(old)[0]
			want := co
			want.Domain, want.Address1, want.Address2, want.City = "https://tailspin.example", "2 Side St", "", "Shelbyville"
			want.State, want.PostalCode, want.Country = "OR", "97201", "Canada"
			got, err := c.UpdateCompany(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := si.Company(co.ID)
			check := func(what string, on bool, have, wrote, before string) {
				t.Helper()
				if on && (have != wrote) || !on && have != before {
					t.Errorf("%s: the PSA holds %q (synced %v; wrote %q, was %q)", what, have, on, wrote, before)
				}
			}
			check("website", sf.Website, stored.Domain, want.Domain, old.Domain)
			check("address1", sf.Address, stored.Address1, want.Address1, old.Address1)
			check("address2", sf.Address, stored.Address2, want.Address2, old.Address2)
			check("city", sf.Address, stored.City, want.City, old.City)
			check("state", sf.Address, stored.State, want.State, old.State)
			check("postal code", sf.Address, stored.PostalCode, want.PostalCode, old.PostalCode)
			check("country", sf.Country, stored.Country, want.Country, old.Country)
			if got.Domain != stored.Domain || sf.Address && (got.City != stored.City || got.PostalCode != stored.PostalCode) || sf.Country && got.Country != stored.Country {
				t.Errorf("answered %+v, the PSA holds %+v", got, stored)
			}
			if sf.Country {
				// A cleared country is cleared in the PSA.
				want.Country = ""
				if _, err := c.UpdateCompany(ctx, want); err != nil {
					t.Fatal(err)
				}
				if stored, _ := si.Company(co.ID); stored.Country != "" {
					t.Errorf("country after clearing: %q", stored.Country)
				}
			}
		}},
		{"tickets created, updated and their status read back", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 50, false)
			ctx := context.Background()
			now := base
			si.SetClock(func() time.Time { return now })
			co := si.Seed(psa.Company{Name: "Fabrikam"})[0]
			tk, err := c.CreateTicket(ctx, psa.Ticket{CompanyID: co.ID, Summary: "Mailbox full", Description: "Alex's mailbox is full"})
			if err != nil {
				t.Fatal(err)
			}
			if tk.ID == "" || tk.CompanyID != co.ID || tk.Summary != "Mailbox full" || tk.Status != h.Statuses[0] {
				t.Fatalf("created %+v", tk)
			}
			now = now.Add(time.Minute)
			tk.Status, tk.Summary = h.Statuses[1], "Mailbox full (Alex)"
			up, err := c.UpdateTicket(ctx, tk)
			if err != nil || up.Status != h.Statuses[1] || up.Summary != "Mailbox full (Alex)" {
				t.Fatalf("updated %+v, %v", up, err)
			}
			// A technician changes the status in the PSA: it must come back.
			now = now.Add(time.Hour)
			if !si.SetTicketStatus(tk.ID, h.Statuses[0]) {
				t.Fatal("the stand-in lost the ticket")
			}
			page, err := c.TicketsChangedSince(ctx, base.Add(30*time.Minute), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Tickets) != 1 || page.Tickets[0].ID != tk.ID || page.Tickets[0].Status != h.Statuses[0] {
				t.Fatalf("tickets changed since: %+v", page.Tickets)
			}
			if !page.HighWater.Equal(now) {
				t.Fatalf("ticket high-water mark %s, want %s", page.HighWater, now)
			}
		}},
		{"tickets over several pages", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 2, false)
			co := si.Seed(psa.Company{Name: "Contoso"})[0]
			var want []string
			for i := range 5 {
				want = append(want, si.SeedTickets(psa.Ticket{CompanyID: co.ID, Summary: fmt.Sprint("Ticket ", i), Status: h.Statuses[0], UpdatedAt: base.Add(time.Duration(i) * time.Minute)})[0].ID)
			}
			var got []string
			cursor := ""
			for pages := 1; ; pages++ {
				page, err := c.TicketsChangedSince(context.Background(), base, cursor)
				if err != nil {
					t.Fatal(err)
				}
				for _, tk := range page.Tickets {
					got = append(got, tk.ID)
				}
				if cursor = page.Next; cursor == "" {
					break
				}
				if pages > 10 {
					t.Fatal("the cursor never ends")
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("tickets %v, want %v", got, want)
			}
		}},
		{"contacts of a company", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 2, false)
			cos := si.Seed(psa.Company{Name: "Contoso"}, psa.Company{Name: "Other"})
			var want []psa.Contact
			for i := range 5 {
				want = append(want, si.SeedContacts(psa.Contact{CompanyID: cos[0].ID, FirstName: fmt.Sprint("Person", i), LastName: "Smith", Email: fmt.Sprintf("p%d@contoso.example", i), Title: "Engineer"})[0])
			}
			si.SeedContacts(psa.Contact{CompanyID: cos[1].ID, FirstName: "Not", LastName: "Theirs"})
			got, err := c.Contacts(context.Background(), cos[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("contacts %+v, want %+v", got, want)
			}
		}},
		{"bad credentials are ErrUnauthorized with a clear message", func(t *testing.T, h Harness) {
			_, c := h.New(t, psa.Retry{}, 50, true)
			_, err := c.CompaniesChangedSince(context.Background(), base, "")
			if !errors.Is(err, psa.ErrUnauthorized) || psa.Temporary(err) {
				t.Fatalf("bad credentials: %v", err)
			}
			if !strings.Contains(err.Error(), h.UnauthorizedHint) {
				t.Fatalf("the message %q does not say to check %q", err, h.UnauthorizedHint)
			}
		}},
		{"429 is retried after Retry-After", func(t *testing.T, h Harness) {
			var w waits
			si, c := h.New(t, w.retry(), 50, false)
			co := si.Seed(psa.Company{Name: "Contoso"})[0]
			before := si.Requests()
			si.FailNextRetryAfter(2, 429, "3")
			got, err := c.Company(context.Background(), co.ID)
			if err != nil || got.Name != "Contoso" {
				t.Fatalf("after two 429s: %+v, %v", got, err)
			}
			if !slices.Equal(w.d, []time.Duration{3 * time.Second, 3 * time.Second}) {
				t.Fatalf("waited %v, want Retry-After's 3s twice", w.d)
			}
			if n := si.Requests() - before; n != 3 {
				t.Fatalf("%d requests, want 3", n)
			}
		}},
		{"429 without Retry-After backs off; a long Retry-After is returned at once", func(t *testing.T, h Harness) {
			var w waits
			si, c := h.New(t, w.retry(), 50, false)
			co := si.Seed(psa.Company{Name: "Contoso"})[0]
			si.FailNextRetryAfter(1, 429, "")
			if _, err := c.Company(context.Background(), co.ID); err != nil || len(w.d) != 1 || w.d[0] > 2*time.Millisecond {
				t.Fatalf("backoff: %v, waits %v", err, w.d)
			}
			si.FailNextRetryAfter(1, 429, "3600")
			_, err := c.Company(context.Background(), co.ID)
			var rl *psa.RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != time.Hour || len(w.d) != 1 {
				t.Fatalf("an hour's Retry-After: %v, waits %v", err, w.d)
			}
		}},
		{"5xx after the retries is temporary", func(t *testing.T, h Harness) {
			var w waits
			si, c := h.New(t, w.retry(), 50, false)
			co := si.Seed(psa.Company{Name: "Contoso"})[0]
			before := si.Requests()
			si.FailNextRetryAfter(3, 503, "")
			_, err := c.UpdateCompany(context.Background(), psa.Company{ID: co.ID, Name: "Contoso Ltd"})
			var un *psa.UnavailableError
			if !psa.Temporary(err) || !errors.As(err, &un) || un.Status != 503 {
				t.Fatalf("after three 503s: %v", err)
			}
			if n := si.Requests() - before; n != 3 {
				t.Fatalf("%d requests, want 3", n)
			}
			if got, _ := si.Company(co.ID); got.Name != "Contoso" {
				t.Fatalf("the PSA holds %+v", got)
			}
		}},
		{"a create is retried after 429 but not after 5xx", func(t *testing.T, h Harness) {
			var w waits
			si, c := h.New(t, w.retry(), 50, false)
			co := si.Seed(psa.Company{Name: "Contoso"})[0]
			ctx := context.Background()
			before := si.Requests()
			// A 5xx may come after the PSA made the record: repeating could make two.
			si.FailNextRetryAfter(1, 500, "")
			if _, err := c.CreateTicket(ctx, psa.Ticket{CompanyID: co.ID, Summary: "Printer"}); !psa.Temporary(err) {
				t.Fatalf("a create answered 500: %v, want a temporary error", err)
			}
			if n := si.Requests() - before; n != 1 || len(si.Tickets()) != 0 {
				t.Fatalf("%d requests and %d tickets, want 1 and none", n, len(si.Tickets()))
			}
			si.FailNextRetryAfter(1, 429, "1")
			if _, err := c.CreateTicket(ctx, psa.Ticket{CompanyID: co.ID, Summary: "Printer"}); err != nil || len(si.Tickets()) != 1 {
				t.Fatalf("a create after a 429: %v, %d tickets", err, len(si.Tickets()))
			}
		}},
		{"context cancellation", func(t *testing.T, h Harness) {
			si, c := h.New(t, psa.Retry{}, 50, false)
			co := si.Seed(psa.Company{Name: "Contoso"})[0]
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := c.Company(ctx, co.ID); !errors.Is(err, context.Canceled) {
				t.Fatalf("a cancelled context: %v", err)
			}
			// Cancelled while waiting out a Retry-After: no full wait.
			si.FailNextRetryAfter(1, 429, "5")
			ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			if _, err := c.Company(ctx, co.ID); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
				t.Fatalf("deadline during a wait: %v after %s", err, time.Since(start))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, h) })
	}
}

// listAll follows the cursor to the end, answering the ids and the page count.
func listAll(t *testing.T, c psa.Connector, since time.Time) ([]string, int) {
	t.Helper()
	var ids []string
	cursor, pages := "", 0
	for {
		page, err := c.CompaniesChangedSince(context.Background(), since, cursor)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, co := range page.Companies {
			ids = append(ids, co.ID)
		}
		if page.Next == "" {
			return ids, pages
		}
		if pages > 100 {
			t.Fatal("the cursor never ends")
		}
		cursor = page.Next
	}
}
