package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/objects"
	"github.com/switchboard-msp/switchboard/shared/objects/s3objects"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// Fixtures of the generated authorization tests (authz_test.go): a contact, a ticket and
// a document of the customer in params, made through the store.

func fixtureContact(t *testing.T, w *world, orgID string, params map[string]string) string {
	now := time.Now().UTC()
	c := domain.Contact{ID: domain.NewID(), CustomerID: params["customerId"], Name: "Fixture contact", EscalationOrder: 1, CreatedAt: now, UpdatedAt: now}
	if err := w.env.Store.CreateContact(context.Background(), orgID, c, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func fixtureTicket(t *testing.T, w *world, orgID string, params map[string]string) string {
	now := time.Now().UTC()
	tk := domain.Ticket{ID: domain.NewID(), CustomerID: params["customerId"], Subject: "Fixture ticket", Status: domain.TicketOpen,
		Priority: domain.PriorityNormal, CreatedAt: now, UpdatedAt: now}
	if err := w.env.Store.CreateTicket(context.Background(), orgID, tk, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

// fixtureDocument makes a document record (its bytes never uploaded), and gives the
// world's API the in-process S3 fake for the routes that reach storage.
func fixtureDocument(t *testing.T, w *world, orgID string, params map[string]string) string {
	if w.env.Deps.Objects == nil {
		w.env.Deps.Objects = fakes3.Start(w.env.T)
	}
	d := domain.Document{ID: domain.NewID(), CustomerID: params["customerId"], Name: "fixture.pdf", ContentType: "application/pdf",
		Size: 10, CreatedAt: time.Now().UTC()}
	d.Key = domain.DocumentKey(orgID, d.CustomerID, d.ID)
	if err := w.env.Store.CreateDocument(context.Background(), orgID, d, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// detail drives the customer detail routes as one caller.
type detail struct {
	customers
}

func (c detail) json(method, path string, body any, want int, out any) *testenv.Response {
	c.t.Helper()
	res := c.do(method, path, body, want)
	if out != nil {
		res.JSON(c.t, out)
	}
	return res
}

var entraN atomic.Int64

// tenantWith registers a tenant with the given licenses and score.
func (c detail) tenantWith(name string, users int64, score float64, health string, licenses map[string]int64) string {
	c.t.Helper()
	n := entraN.Add(1)
	lic := []map[string]any{}
	for sku, a := range licenses {
		lic = append(lic, map[string]any{"sku": sku, "assigned": a})
	}
	var out struct{ ID string }
	c.json("POST", "/api/msp-portal/tenants", map[string]any{
		"entraTenantId": fmt.Sprintf("%08d-0000-4000-9000-000000000000", n), "primaryDomain": strings.ToLower(name) + ".onmicrosoft.com",
		"displayName": name, "licensedUsers": users, "licenses": lic, "securityScore": score, "health": health}, http.StatusCreated, &out)
	return out.ID
}

func (c detail) link(customerID, tenantID string) {
	c.t.Helper()
	c.do("POST", "/api/msp-portal/customers/"+customerID+"/tenants", map[string]string{"tenantId": tenantID}, http.StatusOK)
}

func base(customerID string) string { return "/api/msp-portal/customers/" + customerID }

// fieldsNamed fails unless the 400 names exactly fields.
func fieldsNamed(t *testing.T, res *testenv.Response, fields ...string) {
	t.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	res.JSON(t, &p)
	var got []string
	for _, e := range p.Errors {
		if !slices.Contains(got, e.Field) {
			got = append(got, e.Field)
		}
	}
	slices.Sort(got)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("400 names %v, want %v: %s", got, want, res.Body)
	}
}

type contactJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Email           string `json:"email"`
	EscalationOrder int    `json:"escalationOrder"`
	Version         int64  `json:"version"`
}

type ticketJSON struct {
	ID         string      `json:"id"`
	Subject    string      `json:"subject"`
	Status     string      `json:"status"`
	Priority   string      `json:"priority"`
	TenantID   string      `json:"tenantId"`
	CreatedBy  audit.Actor `json:"createdBy"`
	ResolvedAt *time.Time  `json:"resolvedAt"`
	Version    int64       `json:"version"`
}

type activityJSON struct {
	ID       string        `json:"id"`
	Action   string        `json:"action"`
	Targets  audit.Targets `json:"targets"`
	At       time.Time     `json:"at"`
	SourceIP *string       `json:"sourceIp"`
}

type overviewJSON struct {
	TenantCount, TotalUsers, TotalLicenses     int64
	Licenses                                   []domain.SKULicense
	SecurityScore                              float64
	Health                                     string
	HealthCounts                               map[string]int64
	ContactCount, OpenTicketCount, TicketCount int64
	DocumentCount                              int64
	RecentActivity                             []activityJSON
}

func TestCustomerOverview(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@overview.example")
	c := detail{customers{t, env, org.OwnerToken}}
	acme := c.customer("Acme")
	other := c.customer("Other")
	prod := c.tenantWith("AcmeProd", 120, 70, "healthy", map[string]int64{"SPE_E3": 100, "EMS": 20})
	test := c.tenantWith("AcmeTest", 5, 40, "warning", map[string]int64{"SPE_E3": 5})
	c.link(acme.ID, prod)
	c.link(acme.ID, test)
	c.link(other.ID, c.tenantWith("OtherProd", 999, 10, "critical", map[string]int64{"SPE_E5": 999}))
	c.do("POST", base(acme.ID)+"/contacts", map[string]any{"name": "Pat"}, http.StatusCreated)
	for _, s := range []string{"open", "resolved", "waiting"} {
		c.do("POST", base(acme.ID)+"/tickets", map[string]any{"subject": "Ticket " + s, "status": s}, http.StatusCreated)
	}
	c.do("POST", base(acme.ID)+"/documents", map[string]any{"name": "a.pdf", "contentType": "application/pdf", "size": 10},
		http.StatusInternalServerError) // no storage configured yet: a deployment fault, logged
	env.Deps.Objects = fakes3.Start(t)
	c.do("POST", base(acme.ID)+"/documents", map[string]any{"name": "a.pdf", "contentType": "application/pdf", "size": 10}, http.StatusCreated)

	var ov overviewJSON
	c.json("GET", base(acme.ID)+"/overview", nil, 200, &ov)
	// The figures are those of the customer's tenants, and match its list columns.
	got := c.get(acme.ID)
	if ov.TenantCount != 2 || ov.TotalUsers != 125 || ov.TotalLicenses != 125 || ov.SecurityScore != 55 || ov.Health != "warning" ||
		got.TotalUsers != ov.TotalUsers || got.TotalLicenses != ov.TotalLicenses || got.SecurityScore != ov.SecurityScore || got.Health != ov.Health {
		t.Fatalf("overview %+v, customer %+v", ov, got)
	}
	if fmt.Sprint(ov.Licenses) != "[{EMS 20} {SPE_E3 105}]" || ov.HealthCounts["healthy"] != 1 || ov.HealthCounts["warning"] != 1 {
		t.Fatalf("licenses %v, health %v", ov.Licenses, ov.HealthCounts)
	}
	if ov.ContactCount != 1 || ov.TicketCount != 3 || ov.OpenTicketCount != 2 || ov.DocumentCount != 1 {
		t.Fatalf("counts %+v", ov)
	}
	if len(ov.RecentActivity) != 8 || ov.RecentActivity[0].Action != "document.create" || ov.RecentActivity[7].Action != "customer.create" {
		t.Fatalf("recent activity: %+v", ov.RecentActivity)
	}
	// A Technician scoped to one tenant sees that tenant's figures only.
	scoped := detail{customers{t, env, env.AddScopedMember(org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{test}}, "tech@overview.example")}}
	ov = overviewJSON{}
	scoped.json("GET", base(acme.ID)+"/overview", nil, 200, &ov)
	if ov.TenantCount != 1 || ov.TotalUsers != 5 || ov.SecurityScore != 40 || fmt.Sprint(ov.Licenses) != "[{SPE_E3 5}]" {
		t.Fatalf("scoped overview %+v", ov)
	}
	for _, a := range ov.RecentActivity {
		if slices.Contains(a.Targets.TenantIDs, prod) {
			t.Fatalf("scoped overview shows an event about a tenant outside the scope: %+v", a)
		}
	}
	scoped.do("GET", base(other.ID)+"/overview", nil, http.StatusNotFound)
	c.do("GET", base("no-such-customer")+"/overview", nil, http.StatusNotFound)
}

func TestCustomerContacts(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@contacts.example")
	c := detail{customers{t, env, org.OwnerToken}}
	acme := c.customer("Acme")
	path := base(acme.ID) + "/contacts"

	var first, second, third contactJSON
	res := c.json("POST", path, map[string]any{"name": "  Pat Doe ", "email": "Pat@Acme.example", "phone": "+1 555 0100", "title": "IT lead"}, 201, &first)
	if first.EscalationOrder != 1 || first.Name != "Pat Doe" || first.Email != "pat@acme.example" || first.Version != 1 ||
		res.Header.Get("Location") != path+"/"+first.ID {
		t.Fatalf("first contact: %+v %s", first, res.Header.Get("Location"))
	}
	c.json("POST", path, map[string]any{"name": "Sam"}, 201, &second)
	if second.EscalationOrder != 2 {
		t.Fatalf("a contact without an order goes last: %+v", second)
	}
	c.json("POST", path, map[string]any{"name": "Lee", "escalationOrder": 1}, 201, &third)

	// The list is in escalation order, one page at a time.
	var names []string
	cursor := ""
	for i := 0; ; i++ {
		var page api.List[contactJSON]
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		c.json("GET", path+q, nil, 200, &page)
		for _, x := range page.Items {
			names = append(names, fmt.Sprint(x.EscalationOrder, " ", x.Name))
		}
		if page.NextCursor == "" || i > 3 {
			break
		}
		cursor = page.NextCursor
	}
	if len(names) != 3 || names[2] != "2 Sam" || !slices.Contains(names[:2], "1 Lee") || !slices.Contains(names[:2], "1 Pat Doe") {
		t.Fatalf("escalation order: %v", names)
	}

	// PUT takes a list item as is; moving Sam below everyone reorders the list.
	var list api.List[map[string]any]
	c.json("GET", path, nil, 200, &list)
	sam := list.Items[2]
	if sam["id"] != second.ID {
		t.Fatalf("list: %v", list.Items)
	}
	sam["escalationOrder"] = 0
	fieldsNamed(t, c.do("PUT", path+"/"+second.ID, sam, http.StatusBadRequest), "escalationOrder")
	sam["escalationOrder"] = 5
	sam["name"] = "Sam Smith"
	var moved contactJSON
	c.json("PUT", path+"/"+second.ID, sam, 200, &moved)
	if moved.EscalationOrder != 5 || moved.Version != 2 || moved.Name != "Sam Smith" {
		t.Fatalf("moved: %+v", moved)
	}
	// Pat goes to 3, after Lee: Lee, Pat, Sam.
	pat := list.Items[0]
	if pat["id"] != first.ID {
		pat = list.Items[1]
	}
	pat["escalationOrder"] = 3
	c.do("PUT", path+"/"+first.ID, pat, 200)
	var after api.List[map[string]any]
	c.json("GET", path, nil, 200, &after)
	var order []any
	for _, x := range after.Items {
		order = append(order, x["name"])
	}
	if fmt.Sprint(order) != "[Lee Pat Doe Sam Smith]" {
		t.Fatalf("after the moves: %v", order)
	}
	// The same body again carries a stale version.
	res = c.do("PUT", path+"/"+second.ID, sam, http.StatusConflict)
	if res.Map(t)["code"] != "stale-version" {
		t.Fatalf("stale: %s", res.Body)
	}
	delete(sam, "version")
	c.do("PUT", path+"/"+second.ID, sam, 200)
	// Without escalationOrder a PUT keeps the contact's place.
	delete(sam, "escalationOrder")
	c.json("PUT", path+"/"+second.ID, sam, 200, &moved)
	if moved.EscalationOrder != 5 {
		t.Fatalf("a PUT without escalationOrder moved the contact: %+v", moved)
	}

	// Validation names every bad field.
	bad := map[string]any{"name": " ", "email": "not-an-email", "phone": "call me", "title": strings.Repeat("t", 101),
		"escalationOrder": 1000, "notes": strings.Repeat("n", 2001)}
	fieldsNamed(t, c.do("POST", path, bad, 400), "name", "email", "phone", "title", "escalationOrder", "notes")
	fieldsNamed(t, c.do("PUT", path+"/"+first.ID, bad, 400), "name", "email", "phone", "title", "escalationOrder", "notes")
	fieldsNamed(t, c.do("POST", path, map[string]any{"name": 5, "escalationOrder": "first"}, 400), "name", "escalationOrder")

	// Delete, then it is gone.
	c.do("DELETE", path+"/"+third.ID, nil, http.StatusNoContent)
	c.do("DELETE", path+"/"+third.ID, nil, http.StatusNotFound)
	c.do("PUT", path+"/"+third.ID, map[string]any{"name": "Ghost"}, http.StatusNotFound)
	var left api.List[map[string]any]
	c.json("GET", path, nil, 200, &left)
	if len(left.Items) != 2 {
		t.Fatalf("after delete: %v", left.Items)
	}

	// Roles: a viewer reads, cannot write; another organization cannot see the customer.
	viewer := detail{customers{t, env, env.AddMember(org.ID, permission.ReadOnly, "viewer@contacts.example")}}
	viewer.do("GET", path, nil, 200)
	viewer.do("POST", path, map[string]any{"name": "X"}, http.StatusForbidden)
	stranger := env.NewOrg("owner@stranger.example")
	detail{customers{t, env, stranger.OwnerToken}}.do("GET", path, nil, http.StatusNotFound)
	c.do("GET", path+"?limit=0", nil, http.StatusBadRequest)
	c.do("GET", path+"?cursor=bogus", nil, http.StatusBadRequest)
}

func TestCustomerTickets(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@tickets.example")
	c := detail{customers{t, env, org.OwnerToken}}
	acme, other := c.customer("Acme"), c.customer("Other")
	prod := c.tenantWith("AcmeProd", 10, 50, "healthy", nil)
	elsewhere := c.tenantWith("OtherProd", 10, 50, "healthy", nil)
	c.link(acme.ID, prod)
	c.link(other.ID, elsewhere)
	path := base(acme.ID) + "/tickets"

	var first ticketJSON
	res := c.json("POST", path, map[string]any{"subject": "Mailbox full", "description": "CEO's mailbox is full"}, 201, &first)
	if first.Status != "open" || first.Priority != "normal" || first.CreatedBy.Email != "owner@tickets.example" || first.Version != 1 ||
		first.ResolvedAt != nil || res.Header.Get("Location") != path+"/"+first.ID {
		t.Fatalf("new ticket: %s", res.Body)
	}
	var onTenant ticketJSON
	c.json("POST", path, map[string]any{"subject": "MFA rollout", "priority": "high", "tenantId": prod}, 201, &onTenant)
	if onTenant.TenantID != prod {
		t.Fatalf("ticket on a tenant: %+v", onTenant)
	}
	var done ticketJSON
	c.json("POST", path, map[string]any{"subject": "Old", "status": "closed"}, 201, &done)
	if done.ResolvedAt == nil {
		t.Fatalf("a ticket created closed has no resolvedAt: %+v", done)
	}

	// Newest first; by status.
	var list api.List[ticketJSON]
	c.json("GET", path, nil, 200, &list)
	if len(list.Items) != 3 || list.Items[0].ID != done.ID || list.Items[2].ID != first.ID {
		t.Fatalf("newest first: %+v", list.Items)
	}
	c.json("GET", path+"?status=open&limit=1", nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != onTenant.ID || list.NextCursor == "" {
		t.Fatalf("open, first page: %+v", list)
	}
	c.json("GET", path+"?status=open&limit=1&cursor="+list.NextCursor, nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != first.ID {
		t.Fatalf("open, second page: %+v", list)
	}
	fieldsNamed(t, c.do("GET", path+"?status=done", nil, 400), "status")

	// PUT takes the GET body; resolving stamps resolvedAt; a stale version is 409.
	var body map[string]any
	c.json("GET", path+"/"+first.ID, nil, 200, &body)
	body["status"] = "resolved"
	var resolved ticketJSON
	c.json("PUT", path+"/"+first.ID, body, 200, &resolved)
	if resolved.Status != "resolved" || resolved.ResolvedAt == nil || resolved.Version != 2 {
		t.Fatalf("resolved: %+v", resolved)
	}
	c.do("PUT", path+"/"+first.ID, body, http.StatusConflict)
	c.json("GET", path+"?status=resolved", nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != first.ID {
		t.Fatalf("resolved list: %+v", list.Items)
	}
	// Moving to another customer's tenant is refused by name, as is every other bad field.
	fieldsNamed(t, c.do("PUT", path+"/"+first.ID, map[string]any{"subject": "x", "tenantId": elsewhere}, 400), "tenantId")
	bad := map[string]any{"subject": "", "description": strings.Repeat("d", 10001), "status": "done", "priority": "asap", "tenantId": "no such/tenant"}
	fieldsNamed(t, c.do("POST", path, bad, 400), "subject", "description", "status", "priority", "tenantId")
	fieldsNamed(t, c.do("POST", path, map[string]any{"subject": "x", "tenantId": elsewhere}, 400), "tenantId")
	c.do("GET", path+"/no-such-ticket", nil, http.StatusNotFound)
	c.do("GET", base(other.ID)+"/tickets/"+first.ID, nil, http.StatusNotFound)
	c.do("PUT", base(other.ID)+"/tickets/"+first.ID, body, http.StatusNotFound)
}

// documentFlow runs the documents tab end to end over the storage in env.Deps.Objects.
func documentFlow(t *testing.T, env *testenv.Env, c detail) {
	acme := c.customer("Acme")
	path := base(acme.ID) + "/documents"
	data := []byte("%PDF-1.7\nrunbook: restart the print spooler\n")

	var created struct {
		ID, Name, ContentType string
		Size                  int64
		Upload                struct {
			Method    string
			URL       string
			Headers   map[string]string
			ExpiresAt time.Time
		}
	}
	res := c.json("POST", path, map[string]any{"name": "Runbook.pdf", "contentType": "application/pdf", "size": len(data)}, 201, &created)
	if created.Upload.Method != "PUT" || created.Upload.Headers["Content-Type"] != "application/pdf" || created.Size != int64(len(data)) ||
		!created.Upload.ExpiresAt.After(time.Now()) || res.Header.Get("Location") != path+"/"+created.ID {
		t.Fatalf("created: %s", res.Body)
	}
	if !strings.Contains(created.Upload.URL, "/orgs/") || !strings.Contains(created.Upload.URL, "/customers/"+acme.ID+"/"+created.ID) {
		t.Fatalf("the object key is not built from ids: %s", created.Upload.URL)
	}
	// Not uploaded yet: no download.
	var doc struct {
		Uploaded bool
		Download *struct{ Method, URL string }
	}
	c.json("GET", path+"/"+created.ID, nil, 200, &doc)
	if doc.Uploaded || doc.Download != nil {
		t.Fatalf("before upload: %+v", doc)
	}
	// Upload the bytes with the presigned request, as a browser or curl would.
	put := func(body []byte) int {
		req, err := http.NewRequest(created.Upload.Method, created.Upload.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range created.Upload.Headers {
			if k != "Content-Length" { // set by the client from the body
				req.Header.Set(k, v)
			}
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode
	}
	if code := put(data); code != http.StatusOK {
		t.Fatalf("upload: %d", code)
	}
	c.json("GET", path+"/"+created.ID, nil, 200, &doc)
	if !doc.Uploaded || doc.Download == nil || doc.Download.Method != "GET" {
		t.Fatalf("after upload: %+v", doc)
	}
	r, err := http.Get(doc.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("download: %d %q", r.StatusCode, got)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != "" && !strings.Contains(cd, "Runbook.pdf") {
		t.Errorf("Content-Disposition %q", cd)
	}
	var list api.List[struct{ ID, Name string }]
	c.json("GET", path, nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "Runbook.pdf" {
		t.Fatalf("list: %+v", list.Items)
	}
	// Delete removes the bytes and the record.
	c.do("DELETE", path+"/"+created.ID, nil, http.StatusNoContent)
	if _, err := env.Deps.Objects.Head(context.Background(), domain.DocumentKey(testenvOrg(t, c), acme.ID, created.ID)); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("the object outlived its document: %v", err)
	}
	c.do("GET", path+"/"+created.ID, nil, http.StatusNotFound)
	c.do("DELETE", path+"/"+created.ID, nil, http.StatusNotFound)

	// Validation names every bad field; size is limited to 25 MiB.
	fieldsNamed(t, c.do("POST", path, map[string]any{"name": "../../etc/passwd", "contentType": "text/html", "size": 0}, 400), "name", "contentType", "size")
	fieldsNamed(t, c.do("POST", path, map[string]any{"name": "big.pdf", "contentType": "application/pdf", "size": domain.MaxDocumentSize + 1}, 400), "size")
	fieldsNamed(t, c.do("POST", path, map[string]any{"name": "", "contentType": ""}, 400), "name", "contentType", "size")
	c.do("POST", path, map[string]any{"name": "ok.docx", "contentType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"size": domain.MaxDocumentSize}, 201)
}

// testenvOrg is the organization the caller acts in.
func testenvOrg(t *testing.T, c detail) string {
	t.Helper()
	return getMe(t, c.env, c.tok).ActiveOrganization.ID
}

func TestCustomerDocuments(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	env.Deps.Objects = fakes3.Start(t)
	org := env.NewOrg("owner@documents.example")
	c := detail{customers{t, env, org.OwnerToken}}
	documentFlow(t, env, c)

	// The fake, like S3, holds the uploader to the signed size.
	acme := c.customer("Sized")
	var created struct {
		Upload struct {
			URL     string
			Headers map[string]string
		}
	}
	c.json("POST", base(acme.ID)+"/documents", map[string]any{"name": "a.txt", "contentType": "text/plain", "size": 3}, 201, &created)
	req, _ := http.NewRequest("PUT", created.Upload.URL, strings.NewReader("four"))
	req.Header.Set("Content-Type", "text/plain")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("an upload of another size than signed: %d", r.StatusCode)
	}

	// A document whose object is not at the key its ids make (a merge moved the record,
	// not the object) is answered from its own key: the object looked up beside the
	// record, at the ids' key, counts only when that is the document's key.
	ctx := context.Background()
	upload := func(key string) {
		t.Helper()
		up, err := env.Deps.Objects.PresignPut(ctx, key, "text/plain", 2, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(up.Method, up.URL, strings.NewReader("hi"))
		for k, v := range up.Header {
			if k != "Content-Length" {
				req.Header.Set(k, v)
			}
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode != http.StatusOK {
			t.Fatalf("upload %s: %v %v", key, r, err)
		}
		r.Body.Close()
	}
	for _, tc := range []struct {
		name               string
		atOwnKey, atIDsKey bool
		uploaded           bool
	}{
		{"object at its own key", true, false, true},
		{"object only at the ids' key", false, true, false},
	} {
		moved := domain.Document{ID: domain.NewID(), CustomerID: acme.ID, Name: "moved.txt", ContentType: "text/plain", Size: 2,
			Key: domain.DocumentKey(org.ID, domain.NewID(), domain.NewID()), CreatedAt: time.Now().UTC()}
		if err := env.Store.CreateDocument(ctx, org.ID, moved, audit.Event{Category: audit.Customer, Action: "test"}); err != nil {
			t.Fatal(err)
		}
		if tc.atOwnKey {
			upload(moved.Key)
		}
		if tc.atIDsKey {
			upload(domain.DocumentKey(org.ID, acme.ID, moved.ID))
		}
		var got api.DocumentDetail
		c.json("GET", base(acme.ID)+"/documents/"+moved.ID, nil, 200, &got)
		if got.Uploaded != tc.uploaded || (got.Download != nil) != tc.uploaded {
			t.Errorf("%s: uploaded %v, download %+v", tc.name, got.Uploaded, got.Download)
		}
	}
}

func TestCustomerDocumentsOnMoto(t *testing.T) {
	endpoint := testenv.MotoEndpoint(t)
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	st := s3objects.New(cfg, "documents-"+strings.ToLower(domain.NewID()), endpoint)
	if err := st.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.Deps.Objects = st
	org := env.NewOrg("owner@moto-documents.example")
	documentFlow(t, env, detail{customers{t, env, org.OwnerToken}})
}

func TestCustomerActivityLog(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@activity.example")
	c := detail{customers{t, env, org.OwnerToken}}
	acme := c.customer("Acme")
	prod := c.tenantWith("AcmeProd", 10, 50, "healthy", nil)
	test := c.tenantWith("AcmeTest", 10, 50, "healthy", nil)
	c.link(acme.ID, prod)
	c.link(acme.ID, test)
	// A tenant's own change, while it belongs to the customer, is in the customer's log.
	var tn map[string]any
	c.json("GET", "/api/msp-portal/tenants/"+prod, nil, 200, &tn)
	tn["licensedUsers"] = 12
	c.do("PUT", "/api/msp-portal/tenants/"+prod, tn, 200)
	c.do("POST", base(acme.ID)+"/contacts", map[string]any{"name": "Pat"}, 201)
	c.do("POST", base(acme.ID)+"/tickets", map[string]any{"subject": "Test tenant", "tenantId": test}, 201)
	// Another customer's events stay in its own log.
	c.do("POST", base(c.customer("Other").ID)+"/contacts", map[string]any{"name": "Elsewhere"}, 201)

	want := []string{"ticket.create", "contact.create", "tenant.update", "tenant.associate", "tenant.associate", "customer.create"}
	var all []activityJSON
	cursor := ""
	for i := 0; ; i++ {
		var page api.List[activityJSON]
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		c.json("GET", base(acme.ID)+"/activity"+q, nil, 200, &page)
		if len(page.Items) > 2 {
			t.Fatalf("page of %d", len(page.Items))
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || i > 5 {
			break
		}
		cursor = page.NextCursor
	}
	var actions []string
	for i, a := range all {
		actions = append(actions, a.Action)
		if i > 0 && a.At.After(all[i-1].At) {
			t.Fatalf("not newest first: %v after %v", a.At, all[i-1].At)
		}
		if a.SourceIP != nil {
			t.Fatalf("the activity log shows where from: %+v", a)
		}
	}
	if !slices.Equal(actions, want) {
		t.Fatalf("activity %v, want %v", actions, want)
	}
	if !slices.Contains(all[2].Targets.TenantIDs, prod) || !slices.Contains(all[0].Targets.TenantIDs, test) {
		t.Fatalf("tenant events do not name their tenants: %+v", all)
	}
	// A Technician scoped to the test tenant sees the customer's events and the test
	// tenant's, not the production tenant's.
	scoped := detail{customers{t, env, env.AddScopedMember(org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{test}}, "tech@activity.example")}}
	var page api.List[activityJSON]
	scoped.json("GET", base(acme.ID)+"/activity", nil, 200, &page)
	actions = nil
	for _, a := range page.Items {
		actions = append(actions, a.Action)
		if slices.Contains(a.Targets.TenantIDs, prod) {
			t.Fatalf("an event about a tenant outside the scope: %+v", a)
		}
	}
	if !slices.Equal(actions, []string{"ticket.create", "contact.create", "tenant.associate", "customer.create"}) {
		t.Fatalf("scoped activity %v", actions)
	}
	// Read-Only members read it too; a foreign cursor is refused.
	viewer := detail{customers{t, env, env.AddMember(org.ID, permission.ReadOnly, "viewer@activity.example")}}
	viewer.do("GET", base(acme.ID)+"/activity", nil, 200)
	fieldsNamed(t, c.do("GET", base(acme.ID)+"/activity?cursor=e30", nil, 400), "cursor")
}

// TestCustomerDetailScope: a Technician scoped to one customer's tenant gets 404 for
// everything of another customer, before any validation, and does not see tickets about
// tenants outside the scope.
func TestCustomerDetailScope(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	env.Deps.Objects = fakes3.Start(t)
	org := env.NewOrg("owner@detail-scope.example")
	admin := detail{customers{t, env, org.OwnerToken}}
	alpha, beta := admin.customer("Alpha"), admin.customer("Beta")
	ta, ta2, tb := admin.tenantWith("AlphaProd", 1, 50, "healthy", nil), admin.tenantWith("AlphaLab", 1, 50, "healthy", nil),
		admin.tenantWith("BetaProd", 1, 50, "healthy", nil)
	admin.link(alpha.ID, ta)
	admin.link(alpha.ID, ta2)
	admin.link(beta.ID, tb)
	var contact contactJSON
	admin.json("POST", base(beta.ID)+"/contacts", map[string]any{"name": "Beta contact"}, 201, &contact)
	var ticket, labTicket ticketJSON
	admin.json("POST", base(beta.ID)+"/tickets", map[string]any{"subject": "Beta ticket"}, 201, &ticket)
	admin.json("POST", base(alpha.ID)+"/tickets", map[string]any{"subject": "Lab ticket", "tenantId": ta2}, 201, &labTicket)
	var doc struct{ ID string }
	admin.json("POST", base(beta.ID)+"/documents", map[string]any{"name": "b.pdf", "contentType": "application/pdf", "size": 1}, 201, &doc)

	tech := detail{customers{t, env, env.AddScopedMember(org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{ta}}, "tech@detail-scope.example")}}
	b := base(beta.ID)
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"GET", b + "/overview", nil},
		{"GET", b + "/contacts?limit=0", nil}, // 404 before the 400 of the limit
		{"POST", b + "/contacts", map[string]any{"name": ""}},
		{"PUT", b + "/contacts/" + contact.ID, map[string]any{"name": "x"}},
		{"DELETE", b + "/contacts/" + contact.ID, nil},
		{"GET", b + "/tickets?status=bogus", nil},
		{"POST", b + "/tickets", map[string]any{"subject": "x"}},
		{"GET", b + "/tickets/" + ticket.ID, nil},
		{"PUT", b + "/tickets/" + ticket.ID, map[string]any{"subject": "x"}},
		{"GET", b + "/documents", nil},
		{"POST", b + "/documents", map[string]any{}},
		{"GET", b + "/documents/" + doc.ID, nil},
		{"DELETE", b + "/documents/" + doc.ID, nil},
		{"GET", b + "/activity", nil},
	} {
		tech.do(req.method, req.path, req.body, http.StatusNotFound)
	}
	// Inside the scope, the tab works; the lab tenant's ticket stays hidden.
	a := base(alpha.ID)
	var list api.List[ticketJSON]
	tech.json("GET", a+"/tickets", nil, 200, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a ticket about a tenant outside the scope is listed: %+v", list.Items)
	}
	tech.do("GET", a+"/tickets/"+labTicket.ID, nil, http.StatusNotFound)
	tech.do("PUT", a+"/tickets/"+labTicket.ID, map[string]any{"subject": "x"}, http.StatusNotFound)
	fieldsNamed(t, tech.do("POST", a+"/tickets", map[string]any{"subject": "x", "tenantId": ta2}, 400), "tenantId")
	tech.do("POST", a+"/tickets", map[string]any{"subject": "In scope", "tenantId": ta}, 201)
	tech.do("POST", a+"/contacts", map[string]any{"name": "Alpha contact"}, 201)
	tech.do("GET", a+"/overview", nil, 200)
}
