package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/objects"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// customerPath is the customer that each detail route's path names.
const customerPath = "/api/msp-portal/customers/{customerId}"

// Routes: the tabs of seed 001's customer detail view beyond the
// customer and its tenants: overview, contacts, tickets, documents and activity log.
// Every route applies the customer's visibility under the caller's tenant scope: a
// customer outside it is not found.
var (
	CustomersOverviewGet = Route{Method: "GET", Path: customerPath + "/overview", Permission: permission.ViewData, Function: "customers-overview-get",
		Summary: "Summary cards of a customer: users, licenses, security score, counts and recent activity", Read: fetchOverview}
	CustomersContactsList = Route{Method: "GET", Path: customerPath + "/contacts", Permission: permission.ViewData, Function: "customers-contacts-list",
		Summary: "List a customer's additional contacts in escalation order", Read: fetchContacts}
	CustomersContactsCreate = Route{Method: "POST", Path: customerPath + "/contacts", Permission: permission.ManageCustomers, Function: "customers-contacts-create", Category: audit.Customer,
		Summary: "Add a contact to a customer's escalation path", Handler: createContact}
	CustomersContactsUpdate = Route{Method: "PUT", Path: customerPath + "/contacts/{contactId}", Permission: permission.ManageCustomers, Function: "customers-contacts-update", Category: audit.Customer,
		Summary: "Update a customer's contact", Handler: updateContact}
	CustomersContactsDelete = Route{Method: "DELETE", Path: customerPath + "/contacts/{contactId}", Permission: permission.ManageCustomers, Function: "customers-contacts-delete", Category: audit.Customer,
		Summary: "Delete a customer's contact", Handler: deleteContact, Actions: []string{"dynamodb:DeleteItem"}}
	CustomersTicketsList = Route{Method: "GET", Path: customerPath + "/tickets", Permission: permission.ViewData, Function: "customers-tickets-list",
		Summary: "List a customer's tickets, newest first", Read: fetchTickets}
	CustomersTicketsCreate = Route{Method: "POST", Path: customerPath + "/tickets", Permission: permission.ManageCustomers, Function: "customers-tickets-create", Category: audit.Customer,
		Summary: "Open a ticket for a customer", Handler: createTicket,
		Actions: []string{"kms:Decrypt"}}
	CustomersTicketsGet = Route{Method: "GET", Path: customerPath + "/tickets/{ticketId}", Permission: permission.ViewData, Function: "customers-tickets-get",
		Summary: "Get a customer's ticket", Read: fetchTicket}
	CustomersTicketsUpdate = Route{Method: "PUT", Path: customerPath + "/tickets/{ticketId}", Permission: permission.ManageCustomers, Function: "customers-tickets-update", Category: audit.Customer,
		Summary: "Update a customer's ticket", Handler: updateTicket,
		Actions: []string{"kms:Decrypt"}}
	CustomersDocumentsList = Route{Method: "GET", Path: customerPath + "/documents", Permission: permission.ViewData, Function: "customers-documents-list",
		Summary: "List a customer's documents, newest first", Read: fetchDocuments}
	CustomersDocumentsCreate = Route{Method: "POST", Path: customerPath + "/documents", Permission: permission.ManageCustomers, Function: "customers-documents-create", Category: audit.Customer,
		Summary: "Add a document to a customer: returns a presigned URL to upload its bytes to", Handler: createDocument,
		Actions: []string{"s3:PutObject"}}
	CustomersDocumentsGet = Route{Method: "GET", Path: customerPath + "/documents/{documentId}", Permission: permission.ViewData, Function: "customers-documents-get",
		Summary: "Get a customer's document, with a presigned download URL once uploaded", Handler: getDocument,
		// HeadObject needs s3:GetObject, and s3:ListBucket for S3 to answer 404 (not 403)
		// for bytes not uploaded yet.
		Actions: []string{"s3:GetObject", "s3:ListBucket"}}
	CustomersDocumentsDelete = Route{Method: "DELETE", Path: customerPath + "/documents/{documentId}", Permission: permission.ManageCustomers, Function: "customers-documents-delete", Category: audit.Customer,
		Summary: "Delete a customer's document and its stored bytes", Handler: deleteDocument,
		Actions: []string{"dynamodb:DeleteItem", "s3:DeleteObject"}}
	CustomersActivityList = Route{Method: "GET", Path: customerPath + "/activity", Permission: permission.ViewData, Function: "customers-activity-list",
		Summary: "The audit events that touched a customer or its tenants, newest first", Read: fetchActivity}
)

// customerDetailRoutes are the tabs of seed 001's customer detail view beyond the
// customer and its tenants: overview, contacts, tickets, documents and activity log.
// Every route applies the customer's visibility under the caller's tenant scope: a
// customer outside it is not found.
func customerDetailRoutes() []Route {
	return []Route{CustomersOverviewGet, CustomersContactsList, CustomersContactsCreate, CustomersContactsUpdate, CustomersContactsDelete, CustomersTicketsList, CustomersTicketsCreate, CustomersTicketsGet, CustomersTicketsUpdate, CustomersDocumentsList, CustomersDocumentsCreate, CustomersDocumentsGet, CustomersDocumentsDelete, CustomersActivityList}
}

// Presigned URL lifetimes: long enough to upload 25 MiB on a slow line, short enough
// that a leaked link soon stops working.
const (
	uploadURLLifetime   = 15 * time.Minute
	downloadURLLifetime = 5 * time.Minute
	// overviewActivity is how many recent events the overview shows.
	overviewActivity = 10
)

func customerNotFound() error { return problem.NotFoundf("the customer was not found") }

// parallel runs fns concurrently and waits for all of them.
func parallel(fns ...func()) {
	var wg sync.WaitGroup
	for _, f := range fns[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	fns[0]()
	wg.Wait()
}

// tabRead is a read of one of a customer's tabs, fetched before the caller is known:
// the customer's visibility answers first (404), then any fault of the query (400),
// then present shapes the data for the caller's scope.
type tabRead struct {
	customer domain.Customer
	invalid  error
	present  func(oc *access.Context) any
}

// Present applies the check order: the customer (404), the query (400), the data.
func (t tabRead) Present(oc *access.Context) (any, error) {
	if !visibleCustomer(oc, permission.ViewData, t.customer) {
		return nil, customerNotFound()
	}
	if t.invalid != nil {
		return nil, t.invalid
	}
	return t.present(oc), nil
}

// readTab fetches the customer of the path and, unless the query is invalid, the page
// list reads, concurrently.
func readTab(ctx context.Context, d *Deps, r *http.Request, orgID string, invalid error, list func() error) (tabRead, error) {
	var cust store.CustomerDetail
	var cerr, lerr error
	fetchCustomer := func() { cust, cerr = d.Store.GetCustomer(ctx, orgID, r.PathValue("customerId")) }
	if invalid != nil {
		fetchCustomer()
	} else {
		parallel(fetchCustomer, func() { lerr = list() })
	}
	if cerr != nil {
		return tabRead{}, notFoundAs(cerr, "customer")
	}
	if lerr != nil {
		if problem.As(lerr).Kind != problem.Invalid {
			return tabRead{}, lerr
		}
		invalid = lerr
	}
	return tabRead{customer: cust.Customer, invalid: invalid}, nil
}

// ---- Overview ----

// HealthCountsView counts tenants by health.
type HealthCountsView struct {
	Healthy  int64 `json:"healthy"`
	Warning  int64 `json:"warning"`
	Critical int64 `json:"critical"`
	Unknown  int64 `json:"unknown"`
}

// OverviewView is the overview tab's summary cards. The tenant figures are summed over
// the tenants the caller's scope shows; the counts of contacts, tickets and documents
// are the customer's.
type OverviewView struct {
	CustomerID      string              `json:"customerId"`
	Name            string              `json:"name"`
	Archived        bool                `json:"archived"`
	TenantCount     int64               `json:"tenantCount"`
	TotalUsers      int64               `json:"totalUsers"`
	TotalLicenses   int64               `json:"totalLicenses"`
	Licenses        []domain.SKULicense `json:"licenses"`
	SecurityScore   float64             `json:"securityScore"`
	Health          string              `json:"health"`
	HealthCounts    HealthCountsView    `json:"healthCounts"`
	ContactCount    int64               `json:"contactCount"`
	OpenTicketCount int64               `json:"openTicketCount"`
	TicketCount     int64               `json:"ticketCount"`
	DocumentCount   int64               `json:"documentCount"`
	RecentActivity  []ActivityView      `json:"recentActivity"`
}

func fetchOverview(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	id := r.PathValue("customerId")
	var o store.CustomerOverview
	var events []audit.Event
	var oerr, aerr error
	parallel(
		func() { o, oerr = d.Store.GetCustomerOverview(ctx, orgID, id) },
		func() {
			events, _, aerr = d.Store.ListActivity(ctx, orgID, "customer", id, store.Page{Limit: overviewActivity})
		},
	)
	if oerr != nil {
		return nil, notFoundAs(oerr, "customer")
	}
	if aerr != nil {
		return nil, aerr
	}
	return tabRead{customer: o.Customer, present: func(oc *access.Context) any { return overview(oc, o, events) }}, nil
}

func overview(oc *access.Context, o store.CustomerOverview, events []audit.Event) OverviewView {
	var c domain.Counters
	skus := map[string]int64{}
	for _, t := range o.Tenants {
		if !oc.Scope().TenantAllowed(permission.ViewData, t.ID) {
			continue
		}
		c.TenantCount++
		c.TotalUsers += t.LicensedUsers
		c.TotalLicenses += t.AssignedLicenses()
		c.SecurityScoreSum += t.SecurityScore
		for _, l := range t.Licenses {
			skus[l.SKU] += l.Assigned
		}
		switch t.Health {
		case domain.HealthHealthy:
			c.HealthHealthy++
		case domain.HealthWarning:
			c.HealthWarning++
		case domain.HealthCritical:
			c.HealthCritical++
		default:
			c.HealthUnknown++
		}
	}
	v := OverviewView{CustomerID: o.Customer.ID, Name: o.Customer.Name, Archived: o.Customer.Archived,
		TenantCount: c.TenantCount, TotalUsers: c.TotalUsers, TotalLicenses: c.TotalLicenses, Licenses: []domain.SKULicense{},
		SecurityScore: roundScore(c.SecurityScore()), Health: c.Health(),
		HealthCounts: HealthCountsView{Healthy: c.HealthHealthy, Warning: c.HealthWarning, Critical: c.HealthCritical, Unknown: c.HealthUnknown},
		ContactCount: o.Counters.ContactCount, OpenTicketCount: o.Counters.OpenTicketCount, TicketCount: o.Counters.TicketCount,
		DocumentCount: o.Counters.DocumentCount, RecentActivity: activityFor(oc, events)}
	for sku, n := range skus {
		v.Licenses = append(v.Licenses, domain.SKULicense{SKU: sku, Assigned: n})
	}
	sort.Slice(v.Licenses, func(i, j int) bool { return v.Licenses[i].SKU < v.Licenses[j].SKU })
	return v
}

// ---- Activity log ----

// ActivityView is an audit event as a customer's activity log shows it: who did what,
// to which objects, when. Where from (IP, user agent) stays in the organization's audit
// log, which needs the "view the audit log" permission.
type ActivityView struct {
	ID         string            `json:"id"`
	Actor      audit.Actor       `json:"actor"`
	Category   audit.Category    `json:"category"`
	Action     string            `json:"action"`
	Summary    string            `json:"summary"`
	Targets    audit.Targets     `json:"targets"`
	OnBehalfOf *audit.OnBehalfOf `json:"onBehalfOf,omitempty"`
	Changes    []audit.Change    `json:"changes,omitempty"`
	At         time.Time         `json:"at"`
}

// activityFor keeps the events the caller's scope shows: those about the customer
// alone, and those about at least one tenant in scope, naming only tenants in scope.
func activityFor(oc *access.Context, events []audit.Event) []ActivityView {
	out := make([]ActivityView, 0, len(events))
	for _, ev := range events {
		targets := ev.Targets
		if len(ev.Targets.TenantIDs) > 0 {
			targets.TenantIDs = nil
			for _, id := range ev.Targets.TenantIDs {
				if oc.Scope().TenantAllowed(permission.ViewData, id) {
					targets.TenantIDs = append(targets.TenantIDs, id)
				}
			}
			if len(targets.TenantIDs) == 0 {
				continue
			}
		}
		out = append(out, ActivityView{ID: ev.ID, Actor: ev.Actor, Category: ev.Category, Action: ev.Action, Summary: ev.Summary,
			Targets: targets, OnBehalfOf: ev.OnBehalfOf, Changes: ev.Changes, At: ev.At})
	}
	return out
}

func fetchActivity(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, perr := page(r)
	var events []audit.Event
	var next string
	tr, err := readTab(ctx, d, r, orgID, perr, func() (err error) {
		events, next, err = d.Store.ListActivity(ctx, orgID, "customer", r.PathValue("customerId"), p)
		return err
	})
	if err != nil {
		return nil, err
	}
	tr.present = func(oc *access.Context) any {
		return List[ActivityView]{Items: activityFor(oc, events), NextCursor: next}
	}
	return tr, nil
}

// ---- Contacts ----

type contactInput struct {
	Name            string `json:"name"`
	Email           string `json:"email"`
	Phone           string `json:"phone"`
	Title           string `json:"title"`
	EscalationOrder *int   `json:"escalationOrder"`
	Notes           string `json:"notes"`
	Version         *int64 `json:"version"`
}

// apply copies the editable fields onto c; an absent escalationOrder keeps c's.
func (in contactInput) apply(c *domain.Contact) error {
	c.Name, c.Email, c.Phone, c.Title, c.Notes = in.Name, in.Email, in.Phone, in.Title, in.Notes
	if in.EscalationOrder != nil {
		c.EscalationOrder = *in.EscalationOrder
	}
	c.Normalize()
	var v problem.Validation
	c.Validate(&v)
	return v.Err()
}

// contactFields are a contact's editable fields, for the audit event's changes.
type contactFields struct {
	Name            string `json:"name"`
	Email           string `json:"email"`
	Phone           string `json:"phone"`
	Title           string `json:"title"`
	EscalationOrder int    `json:"escalationOrder"`
	Notes           string `json:"notes"`
}

func fieldsOfContact(c domain.Contact) contactFields {
	return contactFields{c.Name, c.Email, c.Phone, c.Title, c.EscalationOrder, domain.Truncate(c.Notes, 200)}
}

func fetchContacts(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, perr := page(r)
	var contacts []domain.Contact
	var next string
	tr, err := readTab(ctx, d, r, orgID, perr, func() (err error) {
		contacts, next, err = d.Store.ListContacts(ctx, orgID, r.PathValue("customerId"), p)
		return err
	})
	if err != nil {
		return nil, err
	}
	tr.present = func(*access.Context) any {
		if contacts == nil {
			contacts = []domain.Contact{}
		}
		return List[domain.Contact]{Items: contacts, NextCursor: next}
	}
	return tr, nil
}

func contactPath(customerID, contactID string) string {
	return "/api/msp-portal/customers/" + customerID + "/contacts/" + contactID
}

func createContact(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cust, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in contactInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		c := domain.Contact{ID: domain.NewID(), CustomerID: cust.Customer.ID, CreatedAt: now, UpdatedAt: now}
		if in.EscalationOrder == nil {
			last, err := d.Store.LastEscalationOrder(ctx, oc.Org.ID, c.CustomerID)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			c.EscalationOrder = min(last+1, domain.MaxEscalationOrder)
		}
		if err := in.apply(&c); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Customer, "contact.create",
			fmt.Sprintf("added contact %q to customer %q", c.Name, cust.Customer.Name))
		ev.Targets.CustomerIDs = []string{c.CustomerID}
		if err := d.Store.CreateContact(ctx, oc.Org.ID, c, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "customer"))
			return
		}
		c.Version = 1
		w.Header().Set("Location", contactPath(c.CustomerID, c.ID))
		write(w, http.StatusCreated, c)
	})
}

func updateContact(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		current := beside(func() (domain.Contact, error) {
			return d.Store.GetContact(ctx, oc.Org.ID, r.PathValue("customerId"), r.PathValue("contactId"))
		})
		cust, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		cur, err := current()
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "contact"))
			return
		}
		var in contactInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next, err := d.Store.UpdateContactFrom(ctx, oc.Org.ID, cur, in.Version, func(c *domain.Contact) (audit.Event, error) {
			before := *c
			if err := in.apply(c); err != nil {
				return audit.Event{}, err
			}
			ev := audit.New(ctx, oc.Org.ID, audit.Customer, "contact.update",
				fmt.Sprintf("updated contact %q of customer %q", c.Name, cust.Customer.Name))
			ev.Targets.CustomerIDs = []string{c.CustomerID}
			ev.Changes = diff(fieldsOfContact(before), fieldsOfContact(*c))
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "contact"))
			return
		}
		write(w, http.StatusOK, next)
	})
}

func deleteContact(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		current := beside(func() (domain.Contact, error) {
			return d.Store.GetContact(ctx, oc.Org.ID, r.PathValue("customerId"), r.PathValue("contactId"))
		})
		cust, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		cur, err := current()
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "contact"))
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Customer, "contact.delete",
			fmt.Sprintf("removed contact %q from customer %q", cur.Name, cust.Customer.Name))
		ev.Targets.CustomerIDs = []string{cur.CustomerID}
		if err := d.Store.DeleteContact(ctx, oc.Org.ID, cur.CustomerID, cur.ID, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "contact"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// ---- Tickets ----

type ticketInput struct {
	Subject     string  `json:"subject"`
	Description string  `json:"description"`
	Status      string  `json:"status"`
	Priority    string  `json:"priority"`
	TenantID    *string `json:"tenantId"`
	Version     *int64  `json:"version"`
}

// apply copies the editable fields onto t and validates them for a caller who may
// place tickets on the tenants of customer. An absent status, priority or tenantId
// keeps t's (a new ticket's defaults: open, normal, no tenant).
func (in ticketInput) apply(oc *access.Context, customer domain.Customer, t *domain.Ticket) error {
	before := t.TenantID
	t.Subject, t.Description = in.Subject, in.Description
	if in.Status != "" {
		t.Status = in.Status
	}
	if in.Priority != "" {
		t.Priority = in.Priority
	}
	if in.TenantID != nil {
		t.TenantID = *in.TenantID
	}
	t.Normalize()
	var v problem.Validation
	t.Validate(&v)
	// A tenant the ticket already had may since have left the customer; a new one must
	// be the customer's and inside the caller's scope. Either fault reads the same, so
	// a tenant outside the scope is not revealed.
	if t.TenantID != before && t.TenantID != "" && domain.ValidID(t.TenantID) &&
		(!slices.Contains(customer.TenantIDs, t.TenantID) || !oc.Scope().TenantAllowed(permission.ManageCustomers, t.TenantID)) {
		v.Add("tenantId", "must be the id of one of this customer's tenants")
	}
	return v.Err()
}

// ticketFields are a ticket's editable fields, for the audit event's changes.
type ticketFields struct {
	Subject     string `json:"subject"`
	Description string `json:"description"`
	Status      string `json:"status"`
	Priority    string `json:"priority"`
	TenantID    string `json:"tenantId"`
}

func fieldsOfTicket(t domain.Ticket) ticketFields {
	return ticketFields{t.Subject, domain.Truncate(t.Description, 200), t.Status, t.Priority, t.TenantID}
}

// ticketVisible reports whether the caller may use p on a ticket: one about a tenant
// needs that tenant in scope.
func ticketVisible(oc *access.Context, p permission.Permission, t domain.Ticket) bool {
	return t.TenantID == "" || oc.Scope().TenantAllowed(p, t.TenantID)
}

func ticketTargets(customerID string, tenants ...string) audit.Targets {
	tg := audit.Targets{CustomerIDs: []string{customerID}}
	for _, id := range tenants {
		if id != "" && !slices.Contains(tg.TenantIDs, id) {
			tg.TenantIDs = append(tg.TenantIDs, id)
		}
	}
	return tg
}

func fetchTickets(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, perr := page(r)
	status := r.URL.Query().Get("status")
	if perr == nil && status != "" && !slices.Contains(domain.TicketStatuses(), status) {
		perr = problem.Invalidf("status", "must be one of %s", strings.Join(domain.TicketStatuses(), ", "))
	}
	var tickets []domain.Ticket
	var next string
	tr, err := readTab(ctx, d, r, orgID, perr, func() (err error) {
		tickets, next, err = d.Store.ListTickets(ctx, orgID, r.PathValue("customerId"), status, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	tr.present = func(oc *access.Context) any {
		keep := func(t domain.Ticket) bool { return ticketVisible(oc, permission.ViewData, t) }
		return filtered(tickets, next, keep, func(t domain.Ticket) domain.Ticket { return t })
	}
	return tr, nil
}

func fetchTicket(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	var t domain.Ticket
	var terr error
	tr, err := readTab(ctx, d, r, orgID, nil, func() error {
		t, terr = d.Store.GetTicket(ctx, orgID, r.PathValue("customerId"), r.PathValue("ticketId"))
		if errors.Is(terr, store.ErrNotFound) {
			return nil // answered once the customer's visibility is known
		}
		return terr
	})
	if err != nil {
		return nil, err
	}
	if terr != nil {
		tr.invalid = problem.NotFoundf("the ticket was not found")
	}
	tr.present = func(oc *access.Context) any { return t }
	return ticketRead{tr, t}, nil
}

// ticketRead hides a ticket about a tenant outside the caller's scope.
type ticketRead struct {
	tabRead
	ticket domain.Ticket
}

// Present applies the customer's visibility, then the ticket's.
func (t ticketRead) Present(oc *access.Context) (any, error) {
	v, err := t.tabRead.Present(oc)
	if err != nil {
		return nil, err
	}
	if !ticketVisible(oc, permission.ViewData, t.ticket) {
		return nil, problem.NotFoundf("the ticket was not found")
	}
	return v, nil
}

func ticketPath(customerID, ticketID string) string {
	return "/api/msp-portal/customers/" + customerID + "/tickets/" + ticketID
}

func createTicket(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cust, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in ticketInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		t := domain.Ticket{ID: domain.NewID(), CustomerID: cust.Customer.ID, CreatedBy: audit.OriginFrom(ctx).Actor, CreatedAt: now, UpdatedAt: now}
		if err := in.apply(oc, cust.Customer, &t); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if !domain.TicketActive(t.Status) {
			t.ResolvedAt = &now
		}
		t.PSA = newTicketPSA(cust.Customer, now)
		ev := audit.New(ctx, oc.Org.ID, audit.Customer, "ticket.create",
			fmt.Sprintf("opened ticket %q for customer %q", t.Subject, cust.Customer.Name))
		ev.Targets = ticketTargets(t.CustomerID, t.TenantID)
		if err := d.Store.CreateTicket(ctx, oc.Org.ID, t, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "customer"))
			return
		}
		t.Version = 1
		// Written first; the PSA's outcome, whatever it is, is on the ticket answered.
		t = pushTicketNow(ctx, d, oc.Org.ID, t, true)
		w.Header().Set("Location", ticketPath(t.CustomerID, t.ID))
		write(w, http.StatusCreated, t)
	})
}

func updateTicket(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		current := beside(func() (domain.Ticket, error) {
			return d.Store.GetTicket(ctx, oc.Org.ID, r.PathValue("customerId"), r.PathValue("ticketId"))
		})
		cust, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		cur, err := current()
		if err == nil && !ticketVisible(oc, permission.ManageCustomers, cur) {
			err = store.ErrNotFound
		}
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "ticket"))
			return
		}
		var in ticketInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next, err := d.Store.UpdateTicketFrom(ctx, oc.Org.ID, cur, in.Version, func(t *domain.Ticket) (audit.Event, error) {
			before := *t
			if err := in.apply(oc, cust.Customer, t); err != nil {
				return audit.Event{}, err
			}
			action, summary := "ticket.update", fmt.Sprintf("updated ticket %q of customer %q", t.Subject, cust.Customer.Name)
			if t.Status != before.Status {
				action, summary = "ticket.status", fmt.Sprintf("moved ticket %q of customer %q from %s to %s", t.Subject, cust.Customer.Name, before.Status, t.Status)
			}
			ev := audit.New(ctx, oc.Org.ID, audit.Customer, action, summary)
			ev.Targets = ticketTargets(t.CustomerID, before.TenantID, t.TenantID)
			ev.Changes = diff(fieldsOfTicket(before), fieldsOfTicket(*t))
			queueTicketPush(t, before, d.Store.Now())
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "ticket"))
			return
		}
		fresh := cur.PSA != nil && cur.PSA.TicketID == "" && cur.PSA.CreateStartedAt == nil
		write(w, http.StatusOK, pushTicketNow(ctx, d, oc.Org.ID, next, fresh))
	})
}

// ---- Documents ----

// DocumentView is a document's record; where its bytes live stays inside.
type DocumentView struct {
	ID          string      `json:"id"`
	CustomerID  string      `json:"customerId"`
	Name        string      `json:"name"`
	ContentType string      `json:"contentType"`
	Size        int64       `json:"size"`
	UploadedBy  audit.Actor `json:"uploadedBy"`
	CreatedAt   time.Time   `json:"createdAt"`
}

func viewDocument(d domain.Document) DocumentView {
	return DocumentView{ID: d.ID, CustomerID: d.CustomerID, Name: d.Name, ContentType: d.ContentType, Size: d.Size,
		UploadedBy: d.UploadedBy, CreatedAt: d.CreatedAt}
}

// PresignedView is a request the client makes to S3 itself: the headers are part of
// the signature and must be sent as given (a browser sets Content-Length by itself).
type PresignedView struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

func viewPresigned(p objects.Presigned) PresignedView {
	return PresignedView{Method: p.Method, URL: p.URL, Headers: p.Header, ExpiresAt: p.ExpiresAt}
}

// DocumentCreated is a new document with the URL to upload its bytes to.
type DocumentCreated struct {
	DocumentView
	Upload PresignedView `json:"upload"`
}

// DocumentDetail is a document with, once its bytes are uploaded, a download URL.
type DocumentDetail struct {
	DocumentView
	Uploaded bool           `json:"uploaded"`
	Download *PresignedView `json:"download,omitempty"`
}

type documentInput struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        *int64 `json:"size"`
}

func documentPath(customerID, documentID string) string {
	return "/api/msp-portal/customers/" + customerID + "/documents/" + documentID
}

// storageError logs a storage fault as internal: a bucket that is not configured or
// does not answer is the deployment's fault, not the client's.
func storageError(err error) error {
	if errors.Is(err, objects.ErrNotConfigured) {
		return fmt.Errorf("document storage: %w", err)
	}
	return err
}

func fetchDocuments(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, perr := page(r)
	var docs []domain.Document
	var next string
	tr, err := readTab(ctx, d, r, orgID, perr, func() (err error) {
		docs, next, err = d.Store.ListDocuments(ctx, orgID, r.PathValue("customerId"), p)
		return err
	})
	if err != nil {
		return nil, err
	}
	tr.present = func(*access.Context) any {
		return filtered(docs, next, func(domain.Document) bool { return true }, viewDocument)
	}
	return tr, nil
}

func createDocument(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cust, err := loadCustomer(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in documentInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		doc := domain.Document{ID: domain.NewID(), CustomerID: cust.Customer.ID, Name: in.Name, ContentType: in.ContentType,
			UploadedBy: audit.OriginFrom(ctx).Actor, CreatedAt: now}
		doc.Key = domain.DocumentKey(oc.Org.ID, doc.CustomerID, doc.ID)
		doc.Normalize()
		var v problem.Validation
		if in.Size == nil {
			v.Add("size", "is required: the number of bytes to upload, at most %d", domain.MaxDocumentSize)
			doc.Size = 1 // named once
		} else {
			doc.Size = *in.Size
		}
		doc.Validate(&v)
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// Signed before the record is written, so a storage fault leaves nothing behind.
		up, err := d.bucket().PresignPut(ctx, doc.Key, doc.ContentType, doc.Size, uploadURLLifetime)
		if err != nil {
			problem.Write(ctx, w, r, storageError(err))
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Customer, "document.create",
			fmt.Sprintf("added document %q to customer %q", doc.Name, cust.Customer.Name))
		ev.Targets.CustomerIDs = []string{doc.CustomerID}
		if err := d.Store.CreateDocument(ctx, oc.Org.ID, doc, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "customer"))
			return
		}
		w.Header().Set("Location", documentPath(doc.CustomerID, doc.ID))
		write(w, http.StatusCreated, DocumentCreated{viewDocument(doc), viewPresigned(up)})
	})
}

// loadDocument reads the customer of the path under the caller's scope for p, and
// the document of the path, concurrently.
func loadDocument(ctx context.Context, d *Deps, r *http.Request, p permission.Permission) (store.CustomerDetail, domain.Document, error) {
	oc := access.From(ctx)
	var cust store.CustomerDetail
	var doc domain.Document
	var cerr, derr error
	parallel(
		func() { cust, cerr = loadCustomer(ctx, d, r, p) },
		func() {
			doc, derr = d.Store.GetDocument(ctx, oc.Org.ID, r.PathValue("customerId"), r.PathValue("documentId"))
		},
	)
	if cerr != nil {
		return store.CustomerDetail{}, domain.Document{}, cerr
	}
	if derr != nil {
		return store.CustomerDetail{}, domain.Document{}, notFoundAs(derr, "document")
	}
	return cust, doc, nil
}

func getDocument(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		// The object is looked up beside the document, at the key the path's ids make,
		// which is the document's own unless a merge moved it; its answer is used only
		// once the document is read and the caller may see it.
		oc := access.From(ctx)
		guess := domain.DocumentKey(oc.Org.ID, r.PathValue("customerId"), r.PathValue("documentId"))
		var guessed func() (objects.Info, error)
		if domain.ValidID(r.PathValue("customerId")) && domain.ValidID(r.PathValue("documentId")) {
			guessed = beside(func() (objects.Info, error) { return d.bucket().Head(ctx, guess) })
		}
		_, doc, err := loadDocument(ctx, d, r, permission.ViewData)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		out := DocumentDetail{DocumentView: viewDocument(doc)}
		if guessed != nil && doc.Key == guess {
			_, err = guessed()
		} else {
			_, err = d.bucket().Head(ctx, doc.Key)
		}
		switch {
		case errors.Is(err, objects.ErrNotFound):
			// Not uploaded yet (or the upload failed): no download.
		case err != nil:
			problem.Write(ctx, w, r, storageError(err))
			return
		default:
			dl, err := d.bucket().PresignGet(ctx, doc.Key, doc.Name, doc.ContentType, downloadURLLifetime)
			if err != nil {
				problem.Write(ctx, w, r, storageError(err))
				return
			}
			pv := viewPresigned(dl)
			out.Uploaded, out.Download = true, &pv
		}
		write(w, http.StatusOK, out)
	})
}

func deleteDocument(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		cust, doc, err := loadDocument(ctx, d, r, permission.ManageCustomers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// The bytes go first: deleting them again is harmless, so a retry after a fault
		// between the two steps finishes the job; meanwhile the record reads as not
		// uploaded.
		if err := d.bucket().Delete(ctx, doc.Key); err != nil {
			problem.Write(ctx, w, r, storageError(err))
			return
		}
		ev := audit.New(ctx, oc.Org.ID, audit.Customer, "document.delete",
			fmt.Sprintf("deleted document %q of customer %q", doc.Name, cust.Customer.Name))
		ev.Targets.CustomerIDs = []string{doc.CustomerID}
		if err := d.Store.DeleteDocument(ctx, oc.Org.ID, doc.CustomerID, doc.ID, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "document"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
