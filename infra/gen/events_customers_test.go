package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/objects"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// The sample customer, tenant, contact, ticket and document the customer and tenant
// events name in their paths (templategen.SampleParam) and bodies.
var (
	sampleCustomer = templategen.SampleParam("customerId")
	sampleTenant   = templategen.SampleParam("tenantId")
	sampleContact  = templategen.SampleParam("contactId")
	sampleTicket   = templategen.SampleParam("ticketId")
	sampleDocument = templategen.SampleParam("documentId")
)

func init() { maps.Copy(eventCases, customerEventCases) }

// customerEventCases are the customer, tenant and customer-detail routes' cases: each
// seeds the objects its event names, so reads find them and writes change them.
var customerEventCases = map[string]eventCase{
	"customers-list": {status: http.StatusOK, seed: seedCustomer, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); len(items) != 1 || field(t, b, "items", "0", "id") != sampleCustomer {
			t.Errorf("customers %v", b)
		}
	}},
	"customers-create": {status: http.StatusCreated, check: func(t *testing.T, b map[string]any) {
		if b["name"] != "Fabrikam Inc." || b["externalId"] != "FAB-1001" || field(t, b, "psaLinks", "0", "externalId") != "1001" || b["version"] != float64(1) {
			t.Errorf("created %v", b)
		}
	}, after: func(_ context.Context, t *testing.T, _ *sampleEnv, res events.APIGatewayV2HTTPResponse) {
		if loc := header(res, "Location"); !strings.HasPrefix(loc, "/api/msp-portal/customers/") {
			t.Errorf("Location %q", loc)
		}
	}},
	"customers-get": {status: http.StatusOK, seed: seedLinkedTenant, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleCustomer || b["tenantCount"] != float64(1) || field(t, b, "tenants", "0", "id") != sampleTenant {
			t.Errorf("customer %v", b)
		}
	}},
	"customers-update": {status: http.StatusOK, seed: seedCustomer, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleCustomer || b["name"] != "Sample Customer Ltd" || b["primaryContactName"] != "Jordan Smith" || b["version"] != float64(2) {
			t.Errorf("updated %v", b)
		}
	}},
	"customers-delete": {status: http.StatusNoContent, seed: seedCustomer,
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
			if _, err := e.st.GetCustomer(ctx, templategen.SampleOrgID, sampleCustomer); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the customer after its deletion: %v", err)
			}
		}},
	"customers-tenants-associate": {status: http.StatusOK,
		seed: func(ctx context.Context, t *testing.T, e *sampleEnv) {
			seedCustomer(ctx, t, e)
			seedTenant(ctx, t, e)
		},
		check: func(t *testing.T, b map[string]any) {
			if b["id"] != sampleCustomer || b["tenantCount"] != float64(1) || b["totalUsers"] != float64(120) ||
				field(t, b, "tenants", "0", "id") != sampleTenant {
				t.Errorf("associated %v", b)
			}
		}},
	"customers-tenants-unlink": {status: http.StatusNoContent, seed: seedLinkedTenant,
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
			if tn, err := e.st.GetTenant(ctx, templategen.SampleOrgID, sampleTenant); err != nil || tn.CustomerID != "" {
				t.Errorf("the tenant after unlinking: %+v %v", tn, err)
			}
		}},
	"audit-log-export": {status: http.StatusOK, contentType: "text/csv",
		after: func(_ context.Context, t *testing.T, _ *sampleEnv, res events.APIGatewayV2HTTPResponse) {
			rows, err := csv.NewReader(bytes.NewReader(body(t, res))).ReadAll()
			if err != nil || len(rows) != 2 || !strings.HasPrefix(rows[0][0], "Time (") || rows[1][1] != "settings" ||
				rows[1][2] != "organization.create" {
				t.Errorf("export %q: %v", res.Body, err)
			}
		}},
	"customers-export": {status: http.StatusOK, contentType: "text/csv", seed: seedLinkedTenant,
		after: func(_ context.Context, t *testing.T, _ *sampleEnv, res events.APIGatewayV2HTTPResponse) {
			rows, err := csv.NewReader(bytes.NewReader(body(t, res))).ReadAll()
			if err != nil || len(rows) != 2 || rows[0][0] != "Customer Name" || rows[1][0] != "Sample Customer" || rows[1][3] != "1" {
				t.Errorf("export %q: %v", res.Body, err)
			}
			if cd := header(res, "Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="customers-`) {
				t.Errorf("Content-Disposition %q", cd)
			}
		}},
	"customers-import": {status: http.StatusAccepted,
		check: func(t *testing.T, b map[string]any) {
			if b["kind"] != "customer-import" || b["status"] != "queued" || field(t, b, "progress", "total") != float64(2) {
				t.Errorf("import job %v", b)
			}
		},
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, res events.APIGatewayV2HTTPResponse) {
			j := finishedJob(ctx, t, e, res)
			var r struct{ Rows, Created, Skipped, Failed int64 }
			if err := json.Unmarshal(j.Result, &r); err != nil || j.Status != jobs.Succeeded || r.Rows != 2 || r.Created != 2 || j.ErrorCount != 0 {
				t.Errorf("import job %+v, result %s", j, j.Result)
			}
			list, _, err := e.st.ListCustomers(ctx, templategen.SampleOrgID, store.CustomerQuery{Page: store.Page{Limit: 10}})
			var names []string
			for _, c := range list {
				names = append(names, c.Name)
			}
			if err != nil || !slices.Equal(names, []string{"Fabrikam Inc.", "Northwind Traders"}) {
				t.Errorf("customers after the import: %v %v", names, err)
			}
		}},
	"customers-merge": {status: http.StatusAccepted,
		seed: func(ctx context.Context, t *testing.T, e *sampleEnv) {
			seedCustomer(ctx, t, e)
			seedCustomerAs(ctx, t, e, templategen.SampleDuplicateCustomerID, "Sample Customer (duplicate)")
			seedTenant(ctx, t, e)
			associate(ctx, t, e, templategen.SampleDuplicateCustomerID, sampleTenant)
		},
		check: func(t *testing.T, b map[string]any) {
			if b["kind"] != "customer-merge" || b["status"] != "queued" {
				t.Errorf("merge job %v", b)
			}
		},
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, res events.APIGatewayV2HTTPResponse) {
			j := finishedJob(ctx, t, e, res)
			var r struct {
				Phase         string
				TenantsMoved  int64
				SourceDeleted bool
			}
			if err := json.Unmarshal(j.Result, &r); err != nil || j.Status != jobs.Succeeded || r.Phase != "done" || r.TenantsMoved != 1 || !r.SourceDeleted {
				t.Errorf("merge job %+v, result %s", j, j.Result)
			}
			if _, err := e.st.GetCustomer(ctx, templategen.SampleOrgID, templategen.SampleDuplicateCustomerID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the duplicate after the merge: %v", err)
			}
			if c, err := e.st.GetCustomer(ctx, templategen.SampleOrgID, sampleCustomer); err != nil || c.Customer.TenantCount != 1 ||
				len(c.Tenants) != 1 || c.Tenants[0].ID != sampleTenant {
				t.Errorf("the customer after the merge: %+v %v", c, err)
			}
		}},

	"tenants-list": {status: http.StatusOK, seed: seedTenant, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); len(items) != 1 || field(t, b, "items", "0", "id") != sampleTenant {
			t.Errorf("tenants %v", b)
		}
	}},
	"tenants-create": {status: http.StatusCreated, check: func(t *testing.T, b map[string]any) {
		if b["displayName"] != "Fabrikam" || b["assignedLicenses"] != float64(45) || b["health"] != "warning" || b["customerId"] != "" {
			t.Errorf("registered %v", b)
		}
	}},
	"tenants-get": {status: http.StatusOK, seed: seedLinkedTenant, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleTenant || b["entraTenantId"] != templategen.SampleManagedTenant || b["customerId"] != sampleCustomer {
			t.Errorf("tenant %v", b)
		}
	}},
	"tenants-update": {status: http.StatusOK, seed: seedTenant, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleTenant || b["displayName"] != "Sample Customer (production)" || b["assignedLicenses"] != float64(120) ||
			b["health"] != "healthy" || b["version"] != float64(2) {
			t.Errorf("updated %v", b)
		}
	}},

	"customers-overview-get": {status: http.StatusOK,
		seed: func(ctx context.Context, t *testing.T, e *sampleEnv) {
			seedLinkedTenant(ctx, t, e)
			seedContact(ctx, t, e)
			seedTicket(ctx, t, e)
		},
		check: func(t *testing.T, b map[string]any) {
			if b["customerId"] != sampleCustomer || b["tenantCount"] != float64(1) || b["contactCount"] != float64(1) ||
				b["openTicketCount"] != float64(1) || b["totalUsers"] != float64(120) {
				t.Errorf("overview %v", b)
			}
		}},
	"customers-activity-list": {status: http.StatusOK, seed: seedLinkedTenant, check: func(t *testing.T, b map[string]any) {
		if field(t, b, "items", "0", "action") != "tenant.associate" {
			t.Errorf("activity %v", b)
		}
	}},
	"customers-contacts-list": {status: http.StatusOK, seed: seedContact, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); len(items) != 1 || field(t, b, "items", "0", "id") != sampleContact {
			t.Errorf("contacts %v", b)
		}
	}},
	"customers-contacts-create": {status: http.StatusCreated, seed: seedCustomer, check: func(t *testing.T, b map[string]any) {
		if b["customerId"] != sampleCustomer || b["name"] != "Riley Chen" || b["escalationOrder"] != float64(1) {
			t.Errorf("contact %v", b)
		}
	}},
	"customers-contacts-update": {status: http.StatusOK, seed: seedContact, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleContact || b["title"] != "Head of IT" || b["version"] != float64(2) {
			t.Errorf("contact %v", b)
		}
	}},
	"customers-contacts-delete": {status: http.StatusNoContent, seed: seedContact,
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
			if _, err := e.st.GetContact(ctx, templategen.SampleOrgID, sampleCustomer, sampleContact); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the contact after its deletion: %v", err)
			}
		}},
	"customers-tickets-list": {status: http.StatusOK, seed: seedTicket, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); len(items) != 1 || field(t, b, "items", "0", "id") != sampleTicket {
			t.Errorf("tickets %v", b)
		}
	}},
	"customers-tickets-create": {status: http.StatusCreated, seed: seedCustomer, check: func(t *testing.T, b map[string]any) {
		if b["customerId"] != sampleCustomer || b["status"] != "open" || b["priority"] != "high" ||
			field(t, b, "createdBy", "email") != templategen.SampleEmail {
			t.Errorf("ticket %v", b)
		}
	}},
	"customers-tickets-get": {status: http.StatusOK, seed: seedTicket, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleTicket || b["subject"] != "Outlook keeps asking for a password" {
			t.Errorf("ticket %v", b)
		}
	}},
	"customers-tickets-update": {status: http.StatusOK, seed: seedTicket, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleTicket || b["status"] != "resolved" || b["resolvedAt"] == nil || b["version"] != float64(2) {
			t.Errorf("ticket %v", b)
		}
	}},
	"customers-documents-list": {status: http.StatusOK, seed: seedDocument, check: func(t *testing.T, b map[string]any) {
		if items, _ := b["items"].([]any); len(items) != 1 || field(t, b, "items", "0", "id") != sampleDocument {
			t.Errorf("documents %v", b)
		}
	}},
	"customers-documents-create": {status: http.StatusCreated, seed: seedCustomer, check: func(t *testing.T, b map[string]any) {
		if b["name"] != "Network diagram.pdf" || b["size"] != float64(482133) || field(t, b, "upload", "method") != "PUT" ||
			!strings.Contains(field(t, b, "upload", "url").(string), "X-Amz-Signature=") {
			t.Errorf("document %v", b)
		}
	}},
	"customers-documents-get": {status: http.StatusOK, seed: seedUploadedDocument, check: func(t *testing.T, b map[string]any) {
		if b["id"] != sampleDocument || b["uploaded"] != true || field(t, b, "download", "method") != "GET" {
			t.Errorf("document %v", b)
		}
	}},
	"customers-documents-delete": {status: http.StatusNoContent, seed: seedUploadedDocument,
		after: func(ctx context.Context, t *testing.T, e *sampleEnv, _ events.APIGatewayV2HTTPResponse) {
			if _, err := e.st.GetDocument(ctx, templategen.SampleOrgID, sampleCustomer, sampleDocument); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the document after its deletion: %v", err)
			}
			if _, err := e.objects.Head(ctx, sampleDocumentKey()); !errors.Is(err, objects.ErrNotFound) {
				t.Errorf("the document's bytes after its deletion: %v", err)
			}
		}},
}

// header reads a response header, single- or multi-valued.
func header(res events.APIGatewayV2HTTPResponse, name string) string {
	if v := res.Headers[name]; v != "" {
		return v
	}
	if vs := res.MultiValueHeaders[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// body is the response body, decoded when API Gateway would carry it in base64.
func body(t *testing.T, res events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	if !res.IsBase64Encoded {
		return []byte(res.Body)
	}
	b, err := base64.StdEncoding.DecodeString(res.Body)
	if err != nil {
		t.Fatalf("base64 body: %v", err)
	}
	return b
}

// finishedJob waits for the job a 202 names in Location to succeed or fail; the
// invocation runs it in this process.
func finishedJob(ctx context.Context, t *testing.T, e *sampleEnv, res events.APIGatewayV2HTTPResponse) store.Job {
	t.Helper()
	id, ok := strings.CutPrefix(header(res, "Location"), "/api/jobs/")
	if !ok {
		t.Fatalf("Location %q", header(res, "Location"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := e.st.GetJob(ctx, templategen.SampleOrgID, id)
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		if j.Status == jobs.Succeeded || j.Status == jobs.Failed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fixtureEvent(category audit.Category, action string) audit.Event {
	return audit.Event{Actor: audit.Actor{UserID: "sample-user", Email: templategen.SampleEmail}, Category: category, Action: action,
		Summary: "sample " + action}
}

func seedCustomer(ctx context.Context, t *testing.T, e *sampleEnv) {
	seedCustomerAs(ctx, t, e, sampleCustomer, "Sample Customer")
}

func seedCustomerAs(ctx context.Context, t *testing.T, e *sampleEnv, id, name string) {
	t.Helper()
	now := time.Now().UTC()
	c := domain.Customer{ID: id, Name: name, PrimaryContactName: "Jordan Smith", PrimaryContactEmail: "jordan.smith@sample-customer.example",
		CreatedAt: now, UpdatedAt: now}
	ev := fixtureEvent(audit.Customer, "customer.create")
	ev.Targets.CustomerIDs = []string{id}
	if err := e.st.CreateCustomer(ctx, templategen.SampleOrgID, c, ev); err != nil {
		t.Fatalf("seed customer %s: %v", id, err)
	}
}

// ensureCustomer seeds the sample customer unless an earlier seed did.
func ensureCustomer(ctx context.Context, t *testing.T, e *sampleEnv) {
	t.Helper()
	if _, err := e.st.GetCustomer(ctx, templategen.SampleOrgID, sampleCustomer); errors.Is(err, store.ErrNotFound) {
		seedCustomer(ctx, t, e)
	}
}

// seedTenant registers the sample tenant, on no customer.
func seedTenant(ctx context.Context, t *testing.T, e *sampleEnv) {
	t.Helper()
	now := time.Now().UTC()
	tn := domain.Tenant{ID: sampleTenant, EntraTenantID: templategen.SampleManagedTenant, PrimaryDomain: "samplecustomer.onmicrosoft.com",
		DisplayName: "Sample Customer", LicensedUsers: 120, Licenses: []domain.SKULicense{{SKU: "SPE_E3", Assigned: 120}},
		SecurityScore: 74, Health: domain.HealthWarning, CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateTenant(ctx, templategen.SampleOrgID, tn, fixtureEvent(audit.Tenant, "tenant.create")); err != nil {
		t.Fatalf("seed tenant: %v", err)
	}
}

func associate(ctx context.Context, t *testing.T, e *sampleEnv, customerID, tenantID string) {
	t.Helper()
	ev := fixtureEvent(audit.Tenant, "tenant.associate")
	ev.Targets = audit.Targets{CustomerIDs: []string{customerID}, TenantIDs: []string{tenantID}}
	if _, err := e.st.AssociateTenant(ctx, templategen.SampleOrgID, customerID, tenantID, ev); err != nil {
		t.Fatalf("associate %s with %s: %v", tenantID, customerID, err)
	}
}

// seedLinkedTenant seeds the sample customer with the sample tenant linked to it.
func seedLinkedTenant(ctx context.Context, t *testing.T, e *sampleEnv) {
	seedCustomer(ctx, t, e)
	seedTenant(ctx, t, e)
	associate(ctx, t, e, sampleCustomer, sampleTenant)
}

func seedContact(ctx context.Context, t *testing.T, e *sampleEnv) {
	t.Helper()
	ensureCustomer(ctx, t, e)
	now := time.Now().UTC()
	c := domain.Contact{ID: sampleContact, CustomerID: sampleCustomer, Name: "Jordan Smith", Email: "jordan.smith@sample-customer.example",
		Title: "IT Manager", EscalationOrder: 1, CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateContact(ctx, templategen.SampleOrgID, c, fixtureEvent(audit.Customer, "contact.create")); err != nil {
		t.Fatalf("seed contact: %v", err)
	}
}

func seedTicket(ctx context.Context, t *testing.T, e *sampleEnv) {
	t.Helper()
	ensureCustomer(ctx, t, e)
	now := time.Now().UTC()
	tk := domain.Ticket{ID: sampleTicket, CustomerID: sampleCustomer, Subject: "Outlook keeps asking for a password",
		Status: domain.TicketOpen, Priority: domain.PriorityNormal, CreatedBy: audit.Actor{UserID: "sample-user", Email: templategen.SampleEmail},
		CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateTicket(ctx, templategen.SampleOrgID, tk, fixtureEvent(audit.Customer, "ticket.create")); err != nil {
		t.Fatalf("seed ticket: %v", err)
	}
}

func sampleDocumentKey() string {
	return domain.DocumentKey(templategen.SampleOrgID, sampleCustomer, sampleDocument)
}

func seedDocument(ctx context.Context, t *testing.T, e *sampleEnv) {
	t.Helper()
	ensureCustomer(ctx, t, e)
	d := domain.Document{ID: sampleDocument, CustomerID: sampleCustomer, Name: "Runbook.pdf", ContentType: "application/pdf",
		Size: int64(len(samplePDF)), Key: sampleDocumentKey(), UploadedBy: audit.Actor{UserID: "sample-user", Email: templategen.SampleEmail},
		CreatedAt: time.Now().UTC()}
	if err := e.st.CreateDocument(ctx, templategen.SampleOrgID, d, fixtureEvent(audit.Customer, "document.create")); err != nil {
		t.Fatalf("seed document: %v", err)
	}
}

const samplePDF = "%PDF-1.4\n%sample\n"

// seedUploadedDocument seeds the sample document with its bytes in the bucket.
func seedUploadedDocument(ctx context.Context, t *testing.T, e *sampleEnv) {
	t.Helper()
	seedDocument(ctx, t, e)
	c, err := e.objects.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.objects.Bucket()), Key: aws.String(sampleDocumentKey()),
		Body: strings.NewReader(samplePDF), ContentType: aws.String("application/pdf")}); err != nil {
		t.Fatalf("upload the sample document: %v", err)
	}
}
