// Package psastandin serves local stand-ins for the PSAs Switchboard syncs with:
// ConnectWise Manage, Autotask and HaloPSA. Each follows its vendor's documented
// REST shapes (docs/psa.md) closely enough for the real connectors in shared/psa
// to run against it unchanged: the vendor's authentication and its refusal,
// paging, changed-since filters, create and update, tickets, contacts, and
// injectable rate-limit and server-error answers. Each server keeps its records in
// memory; tests and `make run` seed and inspect them through the methods here.
package psastandin

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

// store is the in-memory PSA behind each stand-in: records by numeric id, a clock,
// and the queue of injected faults.
type store struct {
	mu        sync.Mutex
	now       func() time.Time
	nextID    int
	companies map[int]psa.Company
	tickets   map[int]psa.Ticket
	contacts  map[int]psa.Contact
	// values are the ticket statuses and priorities the PSA offers (its lists).
	values   psa.TicketValues
	faults   []fault
	requests int
	server   *httptest.Server
}

type fault struct {
	status     int
	retryAfter string
}

func newStore() *store {
	return &store{
		now:       time.Now,
		nextID:    100,
		companies: map[int]psa.Company{},
		tickets:   map[int]psa.Ticket{},
		contacts:  map[int]psa.Contact{},
	}
}

// start serves h on l, or on a free local port when l is nil.
func (s *store) start(h http.Handler, l net.Listener) {
	if l == nil {
		s.server = httptest.NewServer(h)
		return
	}
	s.server = httptest.NewUnstartedServer(h)
	s.server.Listener.Close()
	s.server.Listener = l
	s.server.Start()
}

// on starts srv, whose store is st, on the fixed address addr (`make run`).
func on[T http.Handler](addr string, srv T, st *store) (T, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("psastandin: listening on %s: %w", addr, err)
	}
	st.start(srv, l)
	return srv, nil
}

// URL is the stand-in's base URL (http://127.0.0.1:port).
func (s *store) URL() string { return s.server.URL }

// Close stops the server.
func (s *store) Close() { s.server.Close() }

// SetClock replaces the clock that stamps changes (tests move time on with it).
func (s *store) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// FailNext makes the next n API requests answer status (429 carries
// Retry-After: 1). Authentication and zone look-ups are not counted.
func (s *store) FailNext(n, status int) { s.FailNextRetryAfter(n, status, "1") }

// FailNextRetryAfter is FailNext with the Retry-After value of 429 answers
// ("" sends none).
func (s *store) FailNextRetryAfter(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, retryAfter: retryAfter})
	}
}

// Requests counts the API requests served, faults included.
func (s *store) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// nextFault counts a request and pops the next injected fault, if any.
func (s *store) nextFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if len(s.faults) == 0 {
		return fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func (s *store) id(id string) int {
	if n, err := strconv.Atoi(id); err == nil && n > 0 {
		if n >= s.nextID {
			s.nextID = n + 1
		}
		return n
	}
	s.nextID++
	return s.nextID - 1
}

// stamp is the time a change is recorded at: whole seconds, as the vendors show it.
func (s *store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = s.now()
	}
	return t.UTC().Truncate(time.Second)
}

// upsert stores items under their ids (assigning one to an empty ID) through
// set, which writes the id and any stamp, and answers the stored items.
func upsert[T any](s *store, m map[int]T, items []T, id func(T) string, set func(*T, int)) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(items))
	for _, item := range items {
		n := s.id(id(item))
		set(&item, n)
		m[n] = item
		out = append(out, item)
	}
	return out
}

// Seed adds companies, or replaces those whose ID exists (a change made in the
// PSA). An empty ID is assigned, a zero UpdatedAt is now; the stored records are
// answered.
func (s *store) Seed(companies ...psa.Company) []psa.Company {
	return upsert(s, s.companies, companies, func(c psa.Company) string { return c.ID }, func(c *psa.Company, n int) {
		c.ID, c.UpdatedAt = strconv.Itoa(n), s.stamp(c.UpdatedAt)
	})
}

// SeedContacts adds contacts (CompanyID must name a seeded company).
func (s *store) SeedContacts(contacts ...psa.Contact) []psa.Contact {
	return upsert(s, s.contacts, contacts, func(c psa.Contact) string { return c.ID }, func(c *psa.Contact, n int) {
		c.ID = strconv.Itoa(n)
	})
}

// SeedTickets adds tickets, or replaces those whose ID exists.
func (s *store) SeedTickets(tickets ...psa.Ticket) []psa.Ticket {
	return upsert(s, s.tickets, tickets, func(t psa.Ticket) string { return t.ID }, func(t *psa.Ticket, n int) {
		t.ID, t.UpdatedAt = strconv.Itoa(n), s.stamp(t.UpdatedAt)
	})
}

// Ticket answers one ticket.
func (s *store) Ticket(id string) (psa.Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[atoi(id)]
	return t, ok
}

// SetTicketStatus changes a ticket's status as a technician in the PSA would.
func (s *store) SetTicketStatus(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.Atoi(id)
	t, ok := s.tickets[n]
	if ok {
		t.Status, t.UpdatedAt = status, s.stamp(time.Time{})
		s.tickets[n] = t
	}
	return ok
}

// SetTicketValues replaces the ticket statuses and priorities the stand-in offers.
func (s *store) SetTicketValues(v psa.TicketValues) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = v
}

func (s *store) ticketValues() psa.TicketValues {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.values
}

// valueList is each value of vs as a record with id (or value) and name fields.
func valueList(vs []psa.TicketValue, record func(psa.TicketValue) map[string]any) []map[string]any {
	out := []map[string]any{}
	for _, v := range vs {
		out = append(out, record(v))
	}
	return out
}

// Companies answers every company, by id.
func (s *store) Companies() []psa.Company {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s.companies)
}

// Company answers one company.
func (s *store) Company(id string) (psa.Company, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.Atoi(id)
	c, ok := s.companies[n]
	return c, ok
}

// Tickets answers every ticket, by id.
func (s *store) Tickets() []psa.Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s.tickets)
}

// Contacts answers every contact, by id.
func (s *store) Contacts() []psa.Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s.contacts)
}

func sorted[T any](m map[int]T) []T {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
