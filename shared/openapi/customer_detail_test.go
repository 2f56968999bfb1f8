package openapi_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// The customer detail view's tabs (seed 001): overview, contacts, tickets, documents,
// activity log.

// TestCustomerDetailSchemasMatchTheGoTypes holds the detail tabs' response schemas to
// the JSON their Go types encode, as TestResponseSchemasMatchTheGoTypes does for the rest.
func TestCustomerDetailSchemasMatchTheGoTypes(t *testing.T) {
	s := loadSpec(t)
	tests := []struct {
		schema string
		goType any
		change override
	}{
		{"CustomerOverview", api.OverviewView{}, override{}},
		{"HealthCounts", api.HealthCountsView{}, override{}},
		{"SKUTotal", domain.SKULicense{}, override{}},
		{"ActivityEvent", api.ActivityView{}, override{}},
		{"ActivityEventList", api.List[api.ActivityView]{}, override{}},
		{"Contact", domain.Contact{}, override{}},
		{"ContactList", api.List[domain.Contact]{}, override{}},
		{"Ticket", domain.Ticket{}, override{}},
		{"TicketList", api.List[domain.Ticket]{}, override{}},
		{"Document", api.DocumentView{}, override{}},
		{"DocumentList", api.List[api.DocumentView]{}, override{}},
		{"DocumentCreated", api.DocumentCreated{}, override{}},
		{"DocumentDetail", api.DocumentDetail{}, override{}},
		{"PresignedRequest", api.PresignedView{}, override{}},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) { s.matchesGoType(t, tt.schema, tt.goType, tt.change) })
	}
}

// TestCustomerDetailSchemasMatchTheDomainRules pins the tabs' enums and limits to the
// Go constants they come from.
func TestCustomerDetailSchemasMatchTheDomainRules(t *testing.T) {
	s := loadSpec(t)
	anys := func(in []string) []any {
		out := make([]any, len(in))
		for i, v := range in {
			out[i] = v
		}
		return out
	}
	tests := []struct {
		pointer string
		want    any
	}{
		{"/components/schemas/TicketStatus/enum", anys(domain.TicketStatuses())},
		{"/components/schemas/TicketPriority/enum", anys(domain.TicketPriorities())},
		{"/components/schemas/DocumentContentType/enum", anys(domain.DocumentContentTypes())},
		{"/components/schemas/Contact/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Contact/properties/title/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/Contact/properties/notes/maxLength", float64(domain.MaxContactNotes)},
		{"/components/schemas/Contact/properties/escalationOrder/maximum", float64(domain.MaxEscalationOrder)},
		{"/components/schemas/ContactInput/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/ContactInput/properties/title/maxLength", float64(domain.MaxShortField)},
		{"/components/schemas/ContactInput/properties/notes/maxLength", float64(domain.MaxContactNotes)},
		{"/components/schemas/ContactInput/properties/escalationOrder/maximum", float64(domain.MaxEscalationOrder)},
		{"/components/schemas/Ticket/properties/subject/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Ticket/properties/description/maxLength", float64(domain.MaxTicketDescription)},
		{"/components/schemas/TicketInput/properties/subject/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/TicketInput/properties/description/maxLength", float64(domain.MaxTicketDescription)},
		{"/components/schemas/Document/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/Document/properties/size/maximum", float64(domain.MaxDocumentSize)},
		{"/components/schemas/DocumentInput/properties/name/maxLength", float64(domain.MaxNameLength)},
		{"/components/schemas/DocumentInput/properties/size/maximum", float64(domain.MaxDocumentSize)},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			got, ok := s.at(tt.pointer)
			if !ok {
				t.Fatalf("nothing at %s", tt.pointer)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.pointer, got, tt.want)
			}
		})
	}
}

const detailPrefix = "/api/msp-portal/customers/{customerId}/"

// isDetailRoute reports whether a route is one of the detail tabs'.
func isDetailRoute(path string) bool {
	for _, tab := range []string{"overview", "contacts", "tickets", "documents", "activity"} {
		if strings.HasPrefix(path, detailPrefix+tab) {
			return true
		}
	}
	return false
}

// fillDetail puts fixtures in a detail route's path: a customer of alpha (shared with
// the other body steps as "body:customer") and a contact, ticket and document of it,
// made once through the store.
func (w *world) fillDetail(path string) string {
	ctx := context.Background()
	now := time.Now().UTC()
	ev := audit.Event{Category: audit.Customer, Action: "fixture"}
	if strings.Contains(path, "{customerId}") && w.state["body:customer"] == "" {
		c := domain.Customer{ID: domain.NewID(), Name: "Body steps", CreatedAt: now, UpdatedAt: now}
		if err := w.env.Store.CreateCustomer(ctx, w.alpha.ID, c, ev); err != nil {
			panic(err)
		}
		w.state["body:customer"] = c.ID
	}
	customer := w.state["body:customer"]
	if strings.Contains(path, "{contactId}") && w.state["body:contact"] == "" {
		c := domain.Contact{ID: domain.NewID(), CustomerID: customer, Name: "Body steps", EscalationOrder: 1, CreatedAt: now, UpdatedAt: now}
		if err := w.env.Store.CreateContact(ctx, w.alpha.ID, c, ev); err != nil {
			panic(err)
		}
		w.state["body:contact"] = c.ID
	}
	if strings.Contains(path, "{ticketId}") && w.state["body:ticket"] == "" {
		tk := domain.Ticket{ID: domain.NewID(), CustomerID: customer, Subject: "Body steps", Status: domain.TicketOpen,
			Priority: domain.PriorityNormal, CreatedAt: now, UpdatedAt: now}
		if err := w.env.Store.CreateTicket(ctx, w.alpha.ID, tk, ev); err != nil {
			panic(err)
		}
		w.state["body:ticket"] = tk.ID
	}
	if strings.Contains(path, "{documentId}") && w.state["body:document"] == "" {
		d := domain.Document{ID: domain.NewID(), CustomerID: customer, Name: "body.pdf", ContentType: "application/pdf", Size: 1, CreatedAt: now}
		d.Key = domain.DocumentKey(w.alpha.ID, customer, d.ID)
		if err := w.env.Store.CreateDocument(ctx, w.alpha.ID, d, ev); err != nil {
			panic(err)
		}
		w.state["body:document"] = d.ID
	}
	return strings.NewReplacer("{customerId}", customer, "{contactId}", w.state["body:contact"],
		"{ticketId}", w.state["body:ticket"], "{documentId}", w.state["body:document"]).Replace(path)
}

// detailBodySteps are the faults every body can have, for the detail routes that take one.
func detailBodySteps() []step {
	var out []step
	for _, rt := range api.Routes() {
		if !isDetailRoute(rt.Path) || (rt.Method != http.MethodPut && rt.Method != http.MethodPost) {
			continue
		}
		req := func(w *world, role string, body any, ct string) testenv.Request {
			r := w.as(role, rt.Method, w.fillDetail(rt.Path), body, api.HeaderOrganization, w.alpha.ID)
			if ct != "" {
				r.Headers["Content-Type"] = ct
			}
			return r
		}
		out = append(out,
			step{name: rt.Pattern() + " without a token", want: 401, code: "unauthenticated",
				req: func(w *world) testenv.Request { return req(w, "", map[string]any{}, "") }},
			step{name: rt.Pattern() + " as text/plain", want: 415, code: "unsupported-media-type",
				req: func(w *world) testenv.Request { return req(w, "Owner", "name=x", "text/plain") }},
			step{name: rt.Pattern() + " with malformed JSON", want: 400, code: "validation", fields: []string{"body"},
				req: func(w *world) testenv.Request { return req(w, "Owner", `{"name": "x",`, "") }},
			step{name: rt.Pattern() + " with a body over 1 MiB", want: 413, code: "body-too-large",
				req: func(w *world) testenv.Request {
					return req(w, "Owner", `{"name":"`+strings.Repeat("a", 1<<20+64)+`"}`, "")
				}},
		)
	}
	return out
}

// customerDetailSteps drive every detail route through each documented status but 500.
func customerDetailSteps() []step {
	in := func(w *world, role, method, path string, body any, headers ...string) testenv.Request {
		return w.as(role, method, path, body, append([]string{api.HeaderOrganization, w.alpha.ID}, headers...)...)
	}
	beta := func(w *world, method, path string, body any) testenv.Request {
		r := w.as("", method, path, body)
		r.Token = w.beta.OwnerToken
		return r
	}
	c := func(w *world) string { return "/api/msp-portal/customers/" + w.state["d:customer"] }
	idOf := func(key string) func(t *testing.T, w *world, res *testenv.Response) {
		return func(t *testing.T, w *world, res *testenv.Response) {
			var v struct {
				ID      string `json:"id"`
				Version int64  `json:"version"`
			}
			res.JSON(t, &v)
			w.state[key] = v.ID
			if loc := res.Header.Get("Location"); !strings.HasSuffix(loc, "/"+v.ID) {
				t.Errorf("Location %q", loc)
			}
		}
	}
	var steps []step
	add := func(s ...step) { steps = append(steps, s...) }
	// Each GET route without a body: its 401, 403 (no permission) and 404 (another
	// organization's caller).
	denied := func(name string, method string, path func(w *world) string) {
		add(
			step{name: name + " without a token", want: 401, code: "unauthenticated",
				req: func(w *world) testenv.Request { return in(w, "", method, path(w), nil) }},
			step{name: name + " as a member without permissions", want: 403, code: "forbidden",
				req: func(w *world) testenv.Request { return in(w, "Custom(none)", method, path(w), nil) }},
			step{name: name + " by another organization", want: 404, code: "not-found",
				req: func(w *world) testenv.Request { return beta(w, method, path(w), nil) }},
		)
	}

	add(step{name: "detail: a customer to work on", want: 201,
		req: func(w *world) testenv.Request {
			return in(w, "Owner", "POST", "/api/msp-portal/customers", map[string]any{"name": "Detail Co"})
		},
		check: func(t *testing.T, w *world, res *testenv.Response) {
			var v struct{ ID string }
			res.JSON(t, &v)
			w.state["d:customer"] = v.ID
		}})

	// Contacts.
	contacts := func(w *world) string { return c(w) + "/contacts" }
	contact := func(w *world) string { return contacts(w) + "/" + w.state["d:contact"] }
	add(
		step{name: "detail: add a contact", want: 201, check: idOf("d:contact"),
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", contacts(w), map[string]any{"name": "Pat Doe", "email": "pat@detail.example",
					"phone": "+1 555 0100", "title": "IT lead", "notes": "Call first"}, api.HeaderIdempotencyKey, "detail-contact")
			}},
		step{name: "detail: add a contact, same key, other body", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", contacts(w), map[string]any{"name": "Sam"}, api.HeaderIdempotencyKey, "detail-contact")
			}},
		step{name: "detail: add a contact with every field wrong", want: 400, code: "validation",
			fields: []string{"name", "email", "phone", "title", "escalationOrder", "notes"},
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", contacts(w), map[string]any{"name": strings.Repeat("n", 201), "email": "nope",
					"phone": "call me", "title": strings.Repeat("t", 101), "escalationOrder": 1000, "notes": strings.Repeat("x", 2001)})
			}},
		step{name: "detail: add a contact as Read-Only", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return in(w, "Read-Only", "POST", contacts(w), map[string]any{"name": "X"})
			}},
		step{name: "detail: add a contact to another organization's customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return beta(w, "POST", contacts(w), map[string]any{"name": "X"}) }},
		step{name: "detail: list contacts", want: 200,
			req: func(w *world) testenv.Request { return in(w, "Read-Only", "GET", contacts(w)+"?limit=1", nil) }},
		step{name: "detail: list contacts with limit=0", want: 400, code: "validation", fields: []string{"limit"},
			req: func(w *world) testenv.Request { return in(w, "Owner", "GET", contacts(w)+"?limit=0", nil) }},
		step{name: "detail: update the contact", want: 200,
			req: func(w *world) testenv.Request {
				return in(w, "Technician", "PUT", contact(w), map[string]any{"name": "Pat Doe", "escalationOrder": 2, "version": 1})
			}},
		step{name: "detail: update the contact from a stale version", want: 409, code: "stale-version",
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "PUT", contact(w), map[string]any{"name": "Pat", "version": 1})
			}},
		step{name: "detail: update the contact with a bad email", want: 400, code: "validation", fields: []string{"email"},
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "PUT", contact(w), map[string]any{"name": "Pat", "email": "x"})
			}},
		step{name: "detail: update the contact as Read-Only", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return in(w, "Read-Only", "PUT", contact(w), map[string]any{"name": "X"})
			}},
		step{name: "detail: update a contact that does not exist", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "PUT", contacts(w)+"/no-such-contact", map[string]any{"name": "X"})
			}},
	)
	denied("detail: list contacts", "GET", contacts)

	// Tickets.
	tickets := func(w *world) string { return c(w) + "/tickets" }
	ticket := func(w *world) string { return tickets(w) + "/" + w.state["d:ticket"] }
	add(
		step{name: "detail: open a ticket", want: 201, check: idOf("d:ticket"),
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", tickets(w), map[string]any{"subject": "Mailbox full", "priority": "high"},
					api.HeaderIdempotencyKey, "detail-ticket")
			}},
		step{name: "detail: open a ticket, same key, other body", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", tickets(w), map[string]any{"subject": "Other"}, api.HeaderIdempotencyKey, "detail-ticket")
			}},
		step{name: "detail: open a ticket with every field wrong", want: 400, code: "validation",
			fields: []string{"subject", "description", "status", "priority", "tenantId"},
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", tickets(w), map[string]any{"subject": "", "description": strings.Repeat("d", 10001),
					"status": "done", "priority": "asap", "tenantId": "not-a-tenant-of-this-customer"})
			}},
		step{name: "detail: open a ticket as Read-Only", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return in(w, "Read-Only", "POST", tickets(w), map[string]any{"subject": "X"})
			}},
		step{name: "detail: open a ticket for another organization's customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return beta(w, "POST", tickets(w), map[string]any{"subject": "X"}) }},
		step{name: "detail: list open tickets", want: 200,
			req: func(w *world) testenv.Request {
				return in(w, "Technician", "GET", tickets(w)+"?status=open&limit=10", nil)
			}},
		step{name: "detail: list tickets of an unknown status", want: 400, code: "validation", fields: []string{"status"},
			req: func(w *world) testenv.Request { return in(w, "Owner", "GET", tickets(w)+"?status=done", nil) }},
		step{name: "detail: get the ticket", want: 200,
			req: func(w *world) testenv.Request { return in(w, "Read-Only", "GET", ticket(w), nil) }},
		step{name: "detail: get a ticket that does not exist", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return in(w, "Owner", "GET", tickets(w)+"/no-such-ticket", nil) }},
		step{name: "detail: resolve the ticket", want: 200,
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "PUT", ticket(w), map[string]any{"subject": "Mailbox full", "status": "resolved", "version": 1})
			}},
		step{name: "detail: resolve the ticket from a stale version", want: 409, code: "stale-version",
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "PUT", ticket(w), map[string]any{"subject": "Mailbox full", "status": "closed", "version": 1})
			}},
		step{name: "detail: update the ticket without a subject", want: 400, code: "validation", fields: []string{"subject"},
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "PUT", ticket(w), map[string]any{"subject": " "})
			}},
		step{name: "detail: update the ticket as Read-Only", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return in(w, "Read-Only", "PUT", ticket(w), map[string]any{"subject": "X"})
			}},
		step{name: "detail: update another organization's ticket", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return beta(w, "PUT", ticket(w), map[string]any{"subject": "X"}) }},
	)
	denied("detail: list tickets", "GET", tickets)
	denied("detail: get the ticket", "GET", ticket)

	// Documents.
	documents := func(w *world) string { return c(w) + "/documents" }
	document := func(w *world) string { return documents(w) + "/" + w.state["d:document"] }
	add(
		step{name: "detail: add a document", want: 201, check: idOf("d:document"),
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", documents(w), map[string]any{"name": "Contract.pdf", "contentType": "application/pdf", "size": 1024},
					api.HeaderIdempotencyKey, "detail-document")
			}},
		step{name: "detail: add a document, same key, other body", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", documents(w), map[string]any{"name": "Other.pdf", "contentType": "application/pdf", "size": 1},
					api.HeaderIdempotencyKey, "detail-document")
			}},
		step{name: "detail: add a document with every field wrong", want: 400, code: "validation",
			fields: []string{"name", "contentType", "size"},
			req: func(w *world) testenv.Request {
				return in(w, "Owner", "POST", documents(w), map[string]any{"name": "a/b.html", "contentType": "text/html", "size": 26214401})
			}},
		step{name: "detail: add a document as Read-Only", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return in(w, "Read-Only", "POST", documents(w), map[string]any{"name": "a.pdf", "contentType": "application/pdf", "size": 1})
			}},
		step{name: "detail: add a document to another organization's customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return beta(w, "POST", documents(w), map[string]any{"name": "a.pdf", "contentType": "application/pdf", "size": 1})
			}},
		step{name: "detail: list documents", want: 200,
			req: func(w *world) testenv.Request { return in(w, "Read-Only", "GET", documents(w), nil) }},
		step{name: "detail: list documents with a bad cursor", want: 400, code: "validation", fields: []string{"cursor"},
			req: func(w *world) testenv.Request { return in(w, "Owner", "GET", documents(w)+"?cursor=bogus", nil) }},
		step{name: "detail: get the document before its upload", want: 200,
			req: func(w *world) testenv.Request { return in(w, "Technician", "GET", document(w), nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if res.Map(t)["uploaded"] != false {
					t.Errorf("uploaded before the upload: %s", res.Body)
				}
			}},
		step{name: "detail: get a document that does not exist", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return in(w, "Owner", "GET", documents(w)+"/no-such-document", nil) }},
		step{name: "detail: delete the document as Read-Only", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return in(w, "Read-Only", "DELETE", document(w), nil) }},
		step{name: "detail: delete the document", want: 204,
			req: func(w *world) testenv.Request { return in(w, "Owner", "DELETE", document(w), nil) }},
		step{name: "detail: delete the document again", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return in(w, "Owner", "DELETE", document(w), nil) }},
		step{name: "detail: delete the document without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return in(w, "", "DELETE", document(w), nil) }},
	)
	denied("detail: list documents", "GET", documents)
	denied("detail: get the document", "GET", document)

	// Contacts are deleted last, after the lists above have seen them.
	add(
		step{name: "detail: delete the contact as Read-Only", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return in(w, "Read-Only", "DELETE", contact(w), nil) }},
		step{name: "detail: delete the contact without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return in(w, "", "DELETE", contact(w), nil) }},
		step{name: "detail: delete the contact", want: 204,
			req: func(w *world) testenv.Request { return in(w, "Technician", "DELETE", contact(w), nil) }},
		step{name: "detail: delete the contact again", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return in(w, "Owner", "DELETE", contact(w), nil) }},
	)

	// Overview and activity.
	overview := func(w *world) string { return c(w) + "/overview" }
	activity := func(w *world) string { return c(w) + "/activity" }
	add(
		step{name: "detail: overview", want: 200,
			req: func(w *world) testenv.Request { return in(w, "Read-Only", "GET", overview(w), nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var o struct {
					ContactCount, TicketCount, OpenTicketCount, DocumentCount int
					RecentActivity                                            []struct{ Action string }
				}
				res.JSON(t, &o)
				if o.ContactCount != 0 || o.TicketCount != 1 || o.OpenTicketCount != 0 || o.DocumentCount != 0 ||
					len(o.RecentActivity) == 0 || o.RecentActivity[0].Action != "contact.delete" {
					t.Errorf("overview %s", res.Body)
				}
			}},
		step{name: "detail: activity, one page", want: 200,
			req: func(w *world) testenv.Request { return in(w, "Technician", "GET", activity(w)+"?limit=2", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct {
					Items      []struct{ Action string }
					NextCursor string
				}
				res.JSON(t, &l)
				if len(l.Items) != 2 || l.Items[0].Action != "contact.delete" || l.NextCursor == "" {
					t.Errorf("activity %s", res.Body)
				}
			}},
		step{name: "detail: activity with limit=101", want: 400, code: "validation", fields: []string{"limit"},
			req: func(w *world) testenv.Request { return in(w, "Owner", "GET", activity(w)+"?limit=101", nil) }},
	)
	denied("detail: overview", "GET", overview)
	denied("detail: activity", "GET", activity)
	return append(steps, detailBodySteps()...)
}

// TestCustomerDetailConformsToTheDocument runs the detail tabs' steps with every
// exchange checked against openapi.json, then checks that each status documented for
// them was seen (but 500: nothing from outside should cause one).
func TestCustomerDetailConformsToTheDocument(t *testing.T) {
	w := newWorld(t)
	w.env.Deps.Objects = fakes3.Start(t)
	steps := append(customerDetailSteps(), reasonSteps(isDetailRoute, func(w *world, path string) string { return w.fillDetail(path) })...)
	if !w.run(t, steps) {
		return
	}
	var detailOps int
	for _, op := range w.chk.Operations() {
		if isDetailRoute(op.Path) {
			detailOps++
		}
	}
	if detailOps != 14 {
		t.Errorf("%d detail operations in the document, want 14", detailOps)
	}
	for _, m := range w.chk.Unobserved("500", "503", "429") {
		if _, path, _ := strings.Cut(m, " "); isDetailRoute(path) {
			t.Errorf("documented but never observed: %s", m)
		}
	}
}
