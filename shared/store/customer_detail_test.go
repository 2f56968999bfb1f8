package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func TestCustomerDetailContract(t *testing.T) {
	suite := []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"contacts list in escalation order, page, move, and count on the customer", testContacts},
		{"contact updates are conditioned on version", testContactVersion},
		{"tickets list newest first, by status, and move the open count", testTickets},
		{"documents list newest first and count on the customer", testDocuments},
		{"detail writes for a missing customer are not found and leave nothing", testDetailWithoutCustomer},
		{"detail items stay out of the customer read and go with the customer", testDetailItemsAndCustomer},
		{"concurrent contact writes of one customer all land, counted exactly", testConcurrentContacts},
		{"the activity log holds each write's event, newest first", testDetailActivity},
	}
	for engine, open := range engines(t) {
		for _, tc := range suite {
			t.Run(engine+"/"+tc.name, func(t *testing.T) { tc.run(t, open(t)) })
		}
	}
}

var detailEv = audit.Event{Category: audit.Customer, Action: "test"}

func mkContact(t *testing.T, st *store.Store, org, customerID, name string, order int) domain.Contact {
	t.Helper()
	now := time.Now().UTC()
	c := domain.Contact{ID: domain.NewID(), CustomerID: customerID, Name: name, EscalationOrder: order, CreatedAt: now, UpdatedAt: now}
	e := detailEv
	e.Targets.CustomerIDs = []string{customerID}
	e.Action = "contact.create"
	if err := st.CreateContact(context.Background(), org, c, e); err != nil {
		t.Fatal(err)
	}
	c.Version = 1
	return c
}

func overviewCounters(t *testing.T, st *store.Store, org, customerID string) store.DetailCounters {
	t.Helper()
	o, err := st.GetCustomerOverview(context.Background(), org, customerID)
	if err != nil {
		t.Fatal(err)
	}
	return o.Counters
}

func testContacts(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-k", "Contoso", time.Now().UTC())
	other := mkCustomer(t, st, "org-k", "Other", time.Now().UTC())
	mkContact(t, st, "org-k", other.ID, "Elsewhere", 1)
	for i, n := range []string{"Third", "First", "Second", "Also first", "Tenth"} {
		mkContact(t, st, "org-k", c.ID, n, []int{3, 1, 2, 1, 10}[i])
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		cs, next, err := st.ListContacts(ctx, "org-k", c.ID, store.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 2 {
			t.Fatalf("page of %d", len(cs))
		}
		for _, x := range cs {
			names = append(names, fmt.Sprint(x.EscalationOrder, ":", x.Name))
		}
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	if len(names) != 5 || names[2] != "2:Second" || names[3] != "3:Third" || names[4] != "10:Tenth" {
		t.Fatalf("escalation order: %v", names)
	}
	if last, err := st.LastEscalationOrder(ctx, "org-k", c.ID); err != nil || last != 10 {
		t.Fatalf("last order = %d, %v", last, err)
	}
	// Moving a contact moves it in the list.
	cs, _, _ := st.ListContacts(ctx, "org-k", c.ID, store.Page{})
	tenth := cs[4]
	moved, err := st.UpdateContactFrom(ctx, "org-k", tenth, nil, func(x *domain.Contact) (audit.Event, error) {
		x.EscalationOrder = 2
		return detailEv, nil
	})
	if err != nil || moved.Version != 2 || moved.EscalationOrder != 2 {
		t.Fatalf("move = %+v, %v", moved, err)
	}
	cs, _, _ = st.ListContacts(ctx, "org-k", c.ID, store.Page{})
	if len(cs) != 5 || cs[4].Name != "Third" || (cs[2].Name != "Tenth" && cs[3].Name != "Tenth") {
		t.Fatalf("after the move: %+v", cs)
	}
	// Another customer's cursor is refused.
	_, next, _ := st.ListContacts(ctx, "org-k", other.ID, store.Page{Limit: 1})
	if _, _, err := st.ListContacts(ctx, "org-k", c.ID, store.Page{Cursor: next}); next != "" && problem.As(err).Kind != problem.Invalid {
		t.Fatalf("another customer's cursor: %v", err)
	}
	_, next, _ = st.ListContacts(ctx, "org-k", c.ID, store.Page{Limit: 1})
	if _, _, err := st.ListContacts(ctx, "org-k", other.ID, store.Page{Cursor: next}); problem.As(err).Kind != problem.Invalid {
		t.Fatalf("another customer's cursor: %v", err)
	}
	if n := overviewCounters(t, st, "org-k", c.ID).ContactCount; n != 5 {
		t.Fatalf("contact count %d", n)
	}
	if err := st.DeleteContact(ctx, "org-k", c.ID, tenth.ID, detailEv); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteContact(ctx, "org-k", c.ID, tenth.ID, detailEv); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting again: %v", err)
	}
	if _, err := st.GetContact(ctx, "org-k", c.ID, tenth.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted contact: %v", err)
	}
	if n := overviewCounters(t, st, "org-k", c.ID).ContactCount; n != 4 {
		t.Fatalf("contact count after delete %d", n)
	}
}

func testContactVersion(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-kv", "Contoso", time.Now().UTC())
	k := mkContact(t, st, "org-kv", c.ID, "Pat", 1)
	rename := func(cur domain.Contact, expected *int64, name string) (domain.Contact, error) {
		return st.UpdateContactFrom(ctx, "org-kv", cur, expected, func(x *domain.Contact) (audit.Event, error) {
			x.Name = name
			return detailEv, nil
		})
	}
	one := int64(1)
	k2, err := rename(k, &one, "Pat Doe")
	if err != nil || k2.Version != 2 {
		t.Fatalf("rename = %+v, %v", k2, err)
	}
	if _, err := rename(k2, &one, "Stale"); problem.As(err).Code != "stale-version" {
		t.Fatalf("stale version: %v", err)
	}
	// A write based on an old read loses, even without a version in the request.
	if _, err := rename(k, nil, "Lost update"); problem.As(err).Code != "stale-version" {
		t.Fatalf("write from an old read: %v", err)
	}
	got, _ := st.GetContact(ctx, "org-kv", c.ID, k.ID)
	if got.Name != "Pat Doe" || got.Version != 2 {
		t.Fatalf("stored %+v", got)
	}
	_ = st.DeleteContact(ctx, "org-kv", c.ID, k.ID, detailEv)
	if _, err := rename(k2, nil, "Gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a deleted contact: %v", err)
	}
}

func mkTicket(t *testing.T, st *store.Store, org, customerID, subject, status string, at time.Time) domain.Ticket {
	t.Helper()
	tk := domain.Ticket{ID: domain.NewID(), CustomerID: customerID, Subject: subject, Status: status, Priority: domain.PriorityNormal,
		CreatedAt: at, UpdatedAt: at}
	if err := st.CreateTicket(context.Background(), org, tk, detailEv); err != nil {
		t.Fatal(err)
	}
	tk.Version = 1
	return tk
}

func testTickets(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-t", "Contoso", time.Now().UTC())
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var made []domain.Ticket
	for i, s := range []string{domain.TicketOpen, domain.TicketWaiting, domain.TicketOpen, domain.TicketClosed, domain.TicketOpen} {
		made = append(made, mkTicket(t, st, "org-t", c.ID, fmt.Sprint("T", i), s, base.Add(time.Duration(i)*time.Minute)))
	}
	var subjects []string
	cursor := ""
	for {
		ts, next, err := st.ListTickets(ctx, "org-t", c.ID, "", store.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			subjects = append(subjects, x.Subject)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(subjects) != "[T4 T3 T2 T1 T0]" {
		t.Fatalf("newest first: %v", subjects)
	}
	open, _, err := st.ListTickets(ctx, "org-t", c.ID, domain.TicketOpen, store.Page{})
	if err != nil || len(open) != 3 || open[0].Subject != "T4" || open[2].Subject != "T0" {
		t.Fatalf("open tickets: %+v, %v", open, err)
	}
	// A status cursor does not page another status.
	_, next, _ := st.ListTickets(ctx, "org-t", c.ID, domain.TicketOpen, store.Page{Limit: 1})
	if _, _, err := st.ListTickets(ctx, "org-t", c.ID, domain.TicketClosed, store.Page{Cursor: next}); problem.As(err).Kind != problem.Invalid {
		t.Fatalf("open cursor on the closed list: %v", err)
	}
	if got := overviewCounters(t, st, "org-t", c.ID); got.TicketCount != 5 || got.OpenTicketCount != 4 {
		t.Fatalf("counters %+v", got)
	}
	// Resolving moves the ticket to its status list and the open count down, once.
	resolve := func(tk domain.Ticket, expected *int64, status string) (domain.Ticket, error) {
		return st.UpdateTicketFrom(ctx, "org-t", tk, expected, func(x *domain.Ticket) (audit.Event, error) {
			x.Status = status
			return detailEv, nil
		})
	}
	r, err := resolve(made[0], nil, domain.TicketResolved)
	if err != nil || r.ResolvedAt == nil || r.Version != 2 || !r.CreatedAt.Equal(made[0].CreatedAt) {
		t.Fatalf("resolve = %+v, %v", r, err)
	}
	if _, err := resolve(made[0], nil, domain.TicketClosed); problem.As(err).Code != "stale-version" {
		t.Fatalf("a write from an old read: %v", err)
	}
	closed, err := resolve(r, &r.Version, domain.TicketClosed)
	if err != nil || closed.ResolvedAt == nil || !closed.ResolvedAt.Equal(*r.ResolvedAt) {
		t.Fatalf("close keeps resolvedAt: %+v, %v", closed, err)
	}
	if got := overviewCounters(t, st, "org-t", c.ID); got.TicketCount != 5 || got.OpenTicketCount != 3 {
		t.Fatalf("counters after resolving %+v", got)
	}
	reopened, err := resolve(closed, nil, domain.TicketInProgress)
	if err != nil || reopened.ResolvedAt != nil {
		t.Fatalf("reopen = %+v, %v", reopened, err)
	}
	if got := overviewCounters(t, st, "org-t", c.ID); got.OpenTicketCount != 4 {
		t.Fatalf("counters after reopening %+v", got)
	}
	inProgress, _, _ := st.ListTickets(ctx, "org-t", c.ID, domain.TicketInProgress, store.Page{})
	closedList, _, _ := st.ListTickets(ctx, "org-t", c.ID, domain.TicketClosed, store.Page{})
	if len(inProgress) != 1 || inProgress[0].ID != made[0].ID || len(closedList) != 1 || closedList[0].ID != made[3].ID {
		t.Fatalf("status lists: %+v / %+v", inProgress, closedList)
	}
	got, err := st.GetTicket(ctx, "org-t", c.ID, made[0].ID)
	if err != nil || got.Status != domain.TicketInProgress || got.Version != 4 {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := st.GetTicket(ctx, "org-t", c.ID, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing ticket: %v", err)
	}
}

func testDocuments(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-d", "Contoso", time.Now().UTC())
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 3; i++ {
		d := domain.Document{ID: domain.NewID(), CustomerID: c.ID, Name: fmt.Sprintf("doc%d.pdf", i), ContentType: "application/pdf",
			Size: 100, CreatedAt: base.Add(time.Duration(i) * time.Hour)}
		d.Key = domain.DocumentKey("org-d", c.ID, d.ID)
		if err := st.CreateDocument(ctx, "org-d", d, detailEv); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	docs, next, err := st.ListDocuments(ctx, "org-d", c.ID, store.Page{Limit: 2})
	if err != nil || len(docs) != 2 || docs[0].Name != "doc2.pdf" || next == "" {
		t.Fatalf("first page: %+v %q %v", docs, next, err)
	}
	rest, next, err := st.ListDocuments(ctx, "org-d", c.ID, store.Page{Limit: 2, Cursor: next})
	if err != nil || len(rest) != 1 || rest[0].Name != "doc0.pdf" || next != "" {
		t.Fatalf("second page: %+v %q %v", rest, next, err)
	}
	got, err := st.GetDocument(ctx, "org-d", c.ID, ids[1])
	if err != nil || got.Key != "orgs/org-d/customers/"+c.ID+"/"+ids[1] || got.Size != 100 {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if n := overviewCounters(t, st, "org-d", c.ID).DocumentCount; n != 3 {
		t.Fatalf("document count %d", n)
	}
	if err := st.DeleteDocument(ctx, "org-d", c.ID, ids[1], detailEv); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteDocument(ctx, "org-d", c.ID, ids[1], detailEv); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting again: %v", err)
	}
	if n := overviewCounters(t, st, "org-d", c.ID).DocumentCount; n != 2 {
		t.Fatalf("document count after delete %d", n)
	}
	// Another organization's document is not reachable with its ids.
	if _, err := st.GetDocument(ctx, "org-d-other", c.ID, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another organization: %v", err)
	}
}

func testDetailWithoutCustomer(t *testing.T, st *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	if err := st.CreateContact(ctx, "org-m", domain.Contact{ID: "k1", CustomerID: "missing", Name: "X", EscalationOrder: 1}, detailEv); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("contact: %v", err)
	}
	if err := st.CreateTicket(ctx, "org-m", domain.Ticket{ID: "t1", CustomerID: "missing", Subject: "X", Status: "open", CreatedAt: now}, detailEv); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ticket: %v", err)
	}
	if err := st.CreateDocument(ctx, "org-m", domain.Document{ID: "d1", CustomerID: "missing", Name: "x", CreatedAt: now}, detailEv); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("document: %v", err)
	}
	if cs, _, _ := st.ListContacts(ctx, "org-m", "missing", store.Page{}); len(cs) != 0 {
		t.Fatalf("a contact was left behind: %+v", cs)
	}
	if events, _, _ := st.ListAudit(ctx, "org-m", store.Page{}); len(events) != 0 {
		t.Fatalf("failed writes were audited: %+v", events)
	}
	checks := map[string]error{}
	checks["CreateContact"] = st.CreateContact(ctx, "", domain.Contact{}, detailEv)
	_, _, checks["ListContacts"] = st.ListContacts(ctx, "", "c", store.Page{})
	_, _, checks["ListTickets"] = st.ListTickets(ctx, "", "c", "", store.Page{})
	_, _, checks["ListDocuments"] = st.ListDocuments(ctx, "", "c", store.Page{})
	_, checks["GetCustomerOverview"] = st.GetCustomerOverview(ctx, "", "c")
	_, checks["GetDocument"] = st.GetDocument(ctx, "", "c", "d")
	checks["DeleteDocument"] = st.DeleteDocument(ctx, "", "c", "d", detailEv)
	for name, err := range checks {
		if !errors.Is(err, store.ErrNoOrganization) {
			t.Errorf("%s without organization: %v", name, err)
		}
	}
}

func testDetailItemsAndCustomer(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-i", "Contoso", time.Now().UTC())
	tn := mkTenant(t, st, "org-i", 7, domain.HealthHealthy)
	if _, err := st.AssociateTenant(ctx, "org-i", c.ID, tn.ID, detailEv); err != nil {
		t.Fatal(err)
	}
	mkContact(t, st, "org-i", c.ID, "Pat", 1)
	mkTicket(t, st, "org-i", c.ID, "Broken", domain.TicketOpen, time.Now().UTC())
	d := domain.Document{ID: domain.NewID(), CustomerID: c.ID, Name: "x.pdf", ContentType: "application/pdf", Size: 1, CreatedAt: time.Now().UTC()}
	if err := st.CreateDocument(ctx, "org-i", d, detailEv); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetCustomer(ctx, "org-i", c.ID)
	if err != nil || len(got.Tenants) != 1 || got.Tenants[0].ID != tn.ID || got.Customer.TenantCount != 1 {
		t.Fatalf("customer read sees detail items: %+v, %v", got, err)
	}
	o, err := st.GetCustomerOverview(ctx, "org-i", c.ID)
	if err != nil || len(o.Tenants) != 1 || o.Counters != (store.DetailCounters{ContactCount: 1, DocumentCount: 1, TicketCount: 1, OpenTicketCount: 1}) {
		t.Fatalf("overview = %+v, %v", o, err)
	}
	// Counters on the customer item survive a customer update.
	if _, err := st.UpdateCustomerFrom(ctx, "org-i", got.Customer, nil, func(x *domain.Customer) (audit.Event, error) {
		x.Notes = "edited"
		return detailEv, nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := overviewCounters(t, st, "org-i", c.ID); n.ContactCount != 1 || n.TicketCount != 1 {
		t.Fatalf("counters after a customer update: %+v", n)
	}
	// Deleting a customer (one without tenants) takes its detail items along.
	gone := mkCustomer(t, st, "org-i", "Gone", time.Now().UTC())
	mkContact(t, st, "org-i", gone.ID, "Pat", 1)
	mkTicket(t, st, "org-i", gone.ID, "Old", domain.TicketClosed, time.Now().UTC())
	d.ID, d.CustomerID = domain.NewID(), gone.ID
	if err := st.CreateDocument(ctx, "org-i", d, detailEv); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCustomer(ctx, "org-i", gone, detailEv); err != nil {
		t.Fatal(err)
	}
	if cs, _, _ := st.ListContacts(ctx, "org-i", gone.ID, store.Page{}); len(cs) != 0 {
		t.Fatalf("contacts outlived their customer: %+v", cs)
	}
	if ts, _, _ := st.ListTickets(ctx, "org-i", gone.ID, "", store.Page{}); len(ts) != 0 {
		t.Fatalf("tickets outlived their customer: %+v", ts)
	}
	if _, err := st.GetDocument(ctx, "org-i", gone.ID, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a document outlived its customer: %v", err)
	}
}

func testConcurrentContacts(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-cc", "Contoso", time.Now().UTC())
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			now := time.Now().UTC()
			errs[i] = st.CreateContact(ctx, "org-cc", domain.Contact{ID: domain.NewID(), CustomerID: c.ID, Name: fmt.Sprint("C", i),
				EscalationOrder: i + 1, CreatedAt: now, UpdatedAt: now}, detailEv)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent create: %v", err)
		}
	}
	cs, _, _ := st.ListContacts(ctx, "org-cc", c.ID, store.Page{})
	if n := overviewCounters(t, st, "org-cc", c.ID).ContactCount; n != int64(len(cs)) || n != 12 {
		t.Fatalf("count %d, listed %d", n, len(cs))
	}
}

func testDetailActivity(t *testing.T, st *store.Store) {
	ctx := context.Background()
	c := mkCustomer(t, st, "org-a", "Contoso", time.Now().UTC())
	k := mkContact(t, st, "org-a", c.ID, "Pat", 1)
	e := detailEv
	e.Action, e.Targets.CustomerIDs = "contact.delete", []string{c.ID}
	if err := st.DeleteContact(ctx, "org-a", c.ID, k.ID, e); err != nil {
		t.Fatal(err)
	}
	events, _, err := st.ListActivity(ctx, "org-a", "customer", c.ID, store.Page{})
	if err != nil || len(events) != 2 || events[0].Action != "contact.delete" || events[1].Action != "contact.create" {
		t.Fatalf("activity = %+v, %v", events, err)
	}
}
