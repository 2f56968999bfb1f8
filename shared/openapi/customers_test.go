package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

const (
	customersPath = "/api/msp-portal/customers"
	tenantsPath   = "/api/msp-portal/tenants"
)

// faults stands between the store and the DynamoDB engine to stage races: it cancels,
// with TransactionConflict, every TransactWriteItems that mentions a conflicting value
// (writers racing on an item, which the store retries and then answers with 409
// tenant-busy), and holds back every Query that mentions a slow value until the
// request's other writes are done.
type faults struct {
	mu          sync.Mutex
	conflicting map[string]bool
	slow        map[string]bool
}

func (f *faults) set(m map[string]bool, v string, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if on {
		m[v] = true
	} else {
		delete(m, v)
	}
}

// conflict makes every transaction that mentions v fail as if another writer raced it.
func (f *faults) conflict(v string, on bool) { f.set(f.conflicting, v, on) }

// slowQueries holds back every Query that mentions v.
func (f *faults) slowQueries(v string, on bool) { f.set(f.slow, v, on) }

func (f *faults) mentions(m map[string]bool, body []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for v := range m {
		if bytes.Contains(body, []byte(v)) {
			return true
		}
	}
	return false
}

// newFaultyEnv starts the API on a fresh table reached through a faults proxy.
func newFaultyEnv(t *testing.T) (*testenv.Env, *faults) {
	t.Helper()
	endpoint := os.Getenv(awsconfig.EnvDynamoDBEndpoint)
	if endpoint == "" {
		endpoint = testenv.EmbeddedEndpoint()
	}
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	f := &faults{conflicting: map[string]bool{}, slow: map[string]bool{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if !errors.Is(err, context.Canceled) { // else the SDK gave up on the request
			log.Printf("dynamodb proxy: %v", err)
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		switch op := r.Header.Get("X-Amz-Target"); {
		case strings.HasSuffix(op, ".TransactWriteItems") && f.mentions(f.conflicting, body):
			var in struct{ TransactItems []json.RawMessage }
			_ = json.Unmarshal(body, &in)
			reasons := []map[string]string{{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}}
			for range max(len(in.TransactItems)-1, 0) {
				reasons = append(reasons, map[string]string{"Code": "None"})
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
				"Message":             "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
				"CancellationReasons": reasons,
			})
			return
		case strings.HasSuffix(op, ".Query") && f.mentions(f.slow, body):
			time.Sleep(150 * time.Millisecond)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return testenv.NewOn(t, testenv.NewTable(t, testenv.DynamoDBAt(t, srv.URL))), f
}

// fixtureCustomer writes a customer of orgID straight through the store.
func (w *world) fixtureCustomer(orgID, name string) string {
	now := time.Now().UTC()
	c := domain.Customer{ID: domain.NewID(), Name: name, CreatedAt: now, UpdatedAt: now}
	if err := w.env.Store.CreateCustomer(context.Background(), orgID, c, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		panic(err)
	}
	return c.ID
}

// fixtureTenant writes a tenant of orgID straight through the store.
func (w *world) fixtureTenant(orgID, name string) string {
	now := time.Now().UTC()
	id := domain.NewID()
	h := fmt.Sprintf("%x", id)
	tn := domain.Tenant{ID: id, EntraTenantID: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32],
		PrimaryDomain: id + ".onmicrosoft.com", DisplayName: name, Health: domain.HealthHealthy, CreatedAt: now, UpdatedAt: now}
	if err := w.env.Store.CreateTenant(context.Background(), orgID, tn, audit.Event{Category: audit.Tenant, Action: "fixture"}); err != nil {
		panic(err)
	}
	return id
}

// fill puts alpha's ids into a route's path: alpha itself, and a customer and a tenant
// kept for the body steps.
func (w *world) fill(path string) string {
	if strings.Contains(path, "{customerId}") && w.state["body:customer"] == "" {
		w.state["body:customer"] = w.fixtureCustomer(w.alpha.ID, "Body steps")
	}
	if strings.Contains(path, "{tenantId}") && w.state["body:tenant"] == "" {
		w.state["body:tenant"] = w.fixtureTenant(w.alpha.ID, "Body steps")
	}
	return strings.NewReplacer("{orgId}", w.alpha.ID, "{customerId}", w.state["body:customer"],
		"{tenantId}", w.state["body:tenant"]).Replace(path)
}

// at is w.as acting in alpha, whichever organization the caller has active (earlier
// steps create organizations, which become the Owner's active one); headers may name
// another.
func (w *world) at(role, method, path string, body any, headers ...string) testenv.Request {
	return w.as(role, method, path, body, append([]string{api.HeaderOrganization, w.alpha.ID}, headers...)...)
}

// asBeta is a request by beta's owner.
func (w *world) asBeta(method, path string, body any) testenv.Request {
	r := w.as("", method, path, body)
	r.Token = w.beta.OwnerToken
	return r
}

// goodCustomer is a customer with every field set.
func goodCustomer() map[string]any {
	return map[string]any{
		"name": "  Contoso Ltd  ", "primaryContactName": "Jane Doe", "primaryContactEmail": "Jane.Doe@Contoso.com",
		"phone": "+1 (555) 123-4567", "address": "1 Microsoft Way, Redmond, WA", "notes": "Key account",
		"psaLinks":   []any{map[string]any{"connectionId": "cw-main", "type": "connectwise", "externalId": "1001"}},
		"externalId": "EXT-1",
	}
}

// badCustomer has every field of a customer wrong, each named in the 400.
func badCustomer() (map[string]any, []string) {
	long := func(n int) string { return strings.Repeat("x", n) }
	return map[string]any{
			"name": long(201), "primaryContactName": long(201), "primaryContactEmail": "not-an-email", "phone": "call me",
			"address": long(501), "notes": long(5001), "externalId": long(101),
			"psaLinks": []any{map[string]any{"connectionId": "no such id!", "type": "salesforce", "externalId": "   "}},
		}, []string{"name", "primaryContactName", "primaryContactEmail", "phone", "address", "notes", "externalId",
			"psaLinks[0].connectionId", "psaLinks[0].type", "psaLinks[0].externalId"}
}

// goodTenant is a tenant with every field set; the Entra id is upper-case and padded,
// as pasted from a portal.
func goodTenant(n int) map[string]any {
	return map[string]any{
		"entraTenantId": fmt.Sprintf("  3F2504E0-4F89-41D3-9A0C-%012X ", n), "primaryDomain": fmt.Sprintf("Contoso%d.onmicrosoft.com", n),
		"displayName": fmt.Sprintf("Contoso %d", n), "licensedUsers": 120,
		"licenses":      []any{map[string]any{"sku": "SPE_E3", "assigned": 100}, map[string]any{"sku": "EMS", "assigned": 20}},
		"securityScore": 72.5, "health": "warning",
	}
}

// badTenant has every field of a tenant wrong, each named in the 400.
func badTenant() (map[string]any, []string) {
	return map[string]any{
			"entraTenantId": "not-a-guid", "primaryDomain": "not a domain", "displayName": "  ", "licensedUsers": -1,
			"licenses":      []any{map[string]any{"sku": "bad sku!", "assigned": -1}},
			"securityScore": 100.5, "health": "great",
		}, []string{"entraTenantId", "primaryDomain", "displayName", "licensedUsers", "licenses[0].sku",
			"licenses[0].assigned", "securityScore", "health"}
}

type customerBody struct {
	ID, Name, PrimaryContactEmail string
	PSALinks                      []struct{ ConnectionID, Type, ExternalID string }
	Archived                      bool
	TenantCount, TotalUsers       int64
	TotalLicenses                 int64
	SecurityScore                 float64
	Health                        string
	CreatedAt                     time.Time
	Version                       int64
	Tenants                       []struct{ ID string }
	Warnings                      []struct{ Code string }
}

type tenantBody struct {
	ID, EntraTenantID, PrimaryDomain, DisplayName, Health, CustomerID string
	LicensedUsers, AssignedLicenses, Version                          int64
}

// listAll pages through a list of alpha's as its Owner, limit items a page, and returns
// every item, failing on a page larger than limit.
func listAll(t *testing.T, w *world, path string, limit int) []map[string]any {
	t.Helper()
	var out []map[string]any
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := path + sep + fmt.Sprintf("limit=%d", limit)
	for page := 0; page < 20; page++ {
		res := w.env.Get(next, w.tok["Owner"], api.HeaderOrganization, w.alpha.ID)
		if res.Status != 200 {
			t.Fatalf("GET %s: %d %s", next, res.Status, res.Body)
		}
		var l struct {
			Items      []map[string]any
			NextCursor string
		}
		res.JSON(t, &l)
		if len(l.Items) > limit {
			t.Fatalf("page of %d with limit=%d", len(l.Items), limit)
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			return out
		}
		next = path + sep + fmt.Sprintf("limit=%d&cursor=%s", limit, url.QueryEscape(l.NextCursor))
	}
	t.Fatalf("more than 20 pages of %s", path)
	return nil
}

func names(items []map[string]any, key string) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(it[key]))
	}
	return out
}

// customerSteps drive the customer and tenant routes through their good, bad and
// denied paths.
func customerSteps() []step {
	idem := "create-contoso"
	longName := strings.Repeat("é", 200)
	return []step{
		// Creating customers.
		{name: "create a customer", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, goodCustomer(), api.HeaderIdempotencyKey, idem)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.Name != "Contoso Ltd" || c.PrimaryContactEmail != "jane.doe@contoso.com" || len(c.PSALinks) != 1 ||
					c.Archived || c.TenantCount != 0 || c.Health != "unknown" || c.Version != 1 || len(c.Tenants) != 0 || c.Warnings == nil {
					t.Errorf("created %s", res.Body)
				}
				if loc := res.Header.Get("Location"); loc != customersPath+"/"+c.ID {
					t.Errorf("Location %q", loc)
				}
				w.state["c1"] = c.ID
			}},
		{name: "create the customer again with the same Idempotency-Key replays", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, goodCustomer(), api.HeaderIdempotencyKey, idem)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.ID != w.state["c1"] || res.Header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("not a replay: %v %s", res.Header, res.Body)
				}
			}},
		{name: "create another customer with the same Idempotency-Key", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Fabrikam"}, api.HeaderIdempotencyKey, idem)
			}},
		{name: "create a customer whose name no other has: no warning", want: 201,
			// The proxy holds the duplicate-name check back until the write is done, as a
			// slow read can be in the cloud.
			req: func(w *world) testenv.Request {
				w.faults.slowQueries("solo customer", true)
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Solo Customer"})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				w.faults.slowQueries("solo customer", false)
				var c customerBody
				res.JSON(t, &c)
				if len(c.Warnings) != 0 {
					t.Errorf("a new customer is warned as its own duplicate: %s", res.Body)
				}
			}},
		{name: "create a customer with the name of another: a warning", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "CONTOSO LTD"})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if len(c.Warnings) != 1 || c.Warnings[0].Code != "duplicate-name" || c.PSALinks == nil {
					t.Errorf("created %s", res.Body)
				}
				w.state["c2"] = c.ID
			}},
		{name: "create an archived customer", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Archived Co", "archived": true, "version": nil})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if !c.Archived {
					t.Errorf("created %s", res.Body)
				}
				w.state["c3"] = c.ID
			}},
		{name: "create a customer whose PSA link another customer has", want: 409, code: "duplicate-psa-link",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, with(goodCustomer(), "name", "Fabrikam", "externalId", ""))
			}},
		{name: "create a customer whose external id another customer has", want: 409, code: "duplicate-external-id",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Fabrikam", "externalId": "ext-1"})
			}},
		{name: "create a customer with every field wrong", want: 400, code: "validation",
			fields: func() []string { _, f := badCustomer(); return f }(),
			req: func(w *world) testenv.Request {
				b, _ := badCustomer()
				return w.at("Owner", "POST", customersPath, b)
			}},
		{name: "create a customer without a name", want: 400, code: "validation", fields: []string{"name"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"notes": "nameless"})
			}},
		{name: "create a customer whose name is blank", want: 400, code: "validation", fields: []string{"name"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "   "})
			}},
		{name: "create a customer whose fields have the wrong types", want: 400, code: "validation",
			fields: []string{"name", "psaLinks", "archived"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": 7, "psaLinks": map[string]any{}, "archived": "yes"})
			}},
		{name: "create a customer with 11 PSA links", want: 400, code: "validation", fields: []string{"psaLinks"},
			req: func(w *world) testenv.Request {
				var links []any
				for i := range 11 {
					links = append(links, map[string]any{"connectionId": fmt.Sprintf("conn-%d", i), "type": "halopsa", "externalId": "9"})
				}
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Linked", "psaLinks": links})
			}},
		{name: "create a customer linking one PSA connection twice", want: 400, code: "validation", fields: []string{"psaLinks[1].connectionId"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Linked", "psaLinks": []any{
					map[string]any{"connectionId": "at", "type": "autotask", "externalId": "1"},
					map[string]any{"connectionId": "at", "type": "autotask", "externalId": "2"}}})
			}},
		{name: "create a customer with an Idempotency-Key of 256 characters", want: 400, code: "validation", fields: []string{"Idempotency-Key"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Key"}, api.HeaderIdempotencyKey, strings.Repeat("k", 256))
			}},
		{name: "create a customer as a Read-Only member", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "POST", customersPath, map[string]any{"name": "Nope"})
			}},
		{name: "create a customer in another organization", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath, map[string]any{"name": "Nope"}, api.HeaderOrganization, w.beta.ID)
			}},

		// Registering tenants.
		{name: "register a tenant", want: 201,
			req: func(w *world) testenv.Request { return w.at("Owner", "POST", tenantsPath, goodTenant(1)) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var tn tenantBody
				res.JSON(t, &tn)
				if tn.EntraTenantID != "3f2504e0-4f89-41d3-9a0c-000000000001" || tn.PrimaryDomain != "contoso1.onmicrosoft.com" ||
					tn.AssignedLicenses != 120 || tn.CustomerID != "" || tn.Health != "warning" || tn.Version != 1 {
					t.Errorf("registered %s", res.Body)
				}
				if loc := res.Header.Get("Location"); loc != tenantsPath+"/"+tn.ID {
					t.Errorf("Location %q", loc)
				}
				w.state["t1"] = tn.ID
			}},
		{name: "register a second tenant", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", tenantsPath, with(goodTenant(2), "health", "critical"), api.HeaderIdempotencyKey, "tenant-2")
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var tn tenantBody
				res.JSON(t, &tn)
				w.state["t2"] = tn.ID
			}},
		{name: "register a third tenant, without optional fields", want: 201,
			req: func(w *world) testenv.Request {
				return w.at("Technician", "POST", tenantsPath, map[string]any{"entraTenantId": "3f2504e0-4f89-41d3-9a0c-000000000003",
					"primaryDomain": "fabrikam.onmicrosoft.com", "displayName": "Fabrikam"})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var tn tenantBody
				res.JSON(t, &tn)
				if tn.Health != "unknown" || tn.LicensedUsers != 0 {
					t.Errorf("registered %s", res.Body)
				}
				w.state["t3"] = tn.ID
			}},
		{name: "register another tenant with the same Idempotency-Key", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", tenantsPath, goodTenant(9), api.HeaderIdempotencyKey, "tenant-2")
			}},
		{name: "register a tenant whose Entra id is registered", want: 409, code: "entra-tenant-registered",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", tenantsPath, with(goodTenant(1), "entraTenantId", "3f2504e0-4f89-41d3-9a0c-000000000001", "displayName", "Again"))
			}},
		{name: "register a tenant with every field wrong", want: 400, code: "validation",
			fields: func() []string { _, f := badTenant(); return f }(),
			req: func(w *world) testenv.Request {
				b, _ := badTenant()
				return w.at("Owner", "POST", tenantsPath, b)
			}},
		{name: "register a tenant without its required fields", want: 400, code: "validation",
			fields: []string{"entraTenantId", "primaryDomain", "displayName"},
			req:    func(w *world) testenv.Request { return w.at("Owner", "POST", tenantsPath, map[string]any{}) }},
		{name: "register a tenant with too many users, a fractional count and a score of -1", want: 400, code: "validation",
			fields: []string{"licensedUsers", "securityScore"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", tenantsPath, with(goodTenant(4), "licensedUsers", 10_000_001, "securityScore", -1))
			}},
		{name: "register a tenant whose counts are not integers", want: 400, code: "validation",
			fields: []string{"licensedUsers", "licenses[0].assigned"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", tenantsPath, with(goodTenant(4), "licensedUsers", 1.5,
					"licenses", []any{map[string]any{"sku": "EMS", "assigned": "ten"}}))
			}},
		{name: "register a tenant listing a SKU twice", want: 400, code: "validation", fields: []string{"licenses[1].sku"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", tenantsPath, with(goodTenant(4), "licenses", []any{
					map[string]any{"sku": "EMS", "assigned": 1}, map[string]any{"sku": "EMS", "assigned": 2}}))
			}},
		{name: "register a tenant as a Read-Only member", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Read-Only", "POST", tenantsPath, goodTenant(5)) }},
		{name: "register a tenant in another organization", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", tenantsPath, goodTenant(5), api.HeaderOrganization, w.beta.ID)
			}},

		// Reading and updating tenants.
		{name: "get a tenant", want: 200,
			req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", tenantsPath+"/"+w.state["t1"], nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var tn tenantBody
				res.JSON(t, &tn)
				if tn.ID != w.state["t1"] || tn.DisplayName != "Contoso 1" {
					t.Errorf("tenant = %s", res.Body)
				}
				w.state["t1 body"] = string(res.Body)
			}},
		{name: "get a tenant as a Custom member without view-data", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", tenantsPath+"/"+w.state["t1"], nil) }},
		{name: "get another organization's tenant", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				w.state["beta tenant"] = w.fixtureTenant(w.beta.ID, "Beta tenant")
				return w.at("Owner", "GET", tenantsPath+"/"+w.state["beta tenant"], nil)
			}},
		{name: "get a tenant by a malformed id", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", tenantsPath+"/no%20such%20id", nil) }},
		{name: "get a tenant without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.at("", "GET", tenantsPath+"/"+w.state["t1"], nil) }},
		{name: "put a tenant as GET returned it", want: 200,
			req: func(w *world) testenv.Request {
				var body map[string]any
				_ = json.Unmarshal([]byte(w.state["t1 body"]), &body)
				return w.at("Owner", "PUT", tenantsPath+"/"+w.state["t1"], body)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				got, want := res.Map(t), map[string]any{}
				_ = json.Unmarshal([]byte(w.state["t1 body"]), &want)
				if got["version"] != want["version"].(float64)+1 {
					t.Errorf("version %v after %v", got["version"], want["version"])
				}
				for _, k := range []string{"version", "updatedAt"} {
					delete(got, k)
					delete(want, k)
				}
				if !equalJSON(got, want) {
					t.Errorf("round trip changed the tenant:\n got %s\nwant %s", res.Body, w.state["t1 body"])
				}
				w.state["t1 version"] = fmt.Sprint(jsonVersion(t, res))
			}},
		{name: "put a tenant with a stale version", want: 409, code: "stale-version",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", tenantsPath+"/"+w.state["t1"], with(goodTenant(1), "version", w.version("t1 version")-1))
			}},
		{name: "put a tenant with the Entra id of another", want: 409, code: "entra-tenant-registered",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", tenantsPath+"/"+w.state["t1"], with(goodTenant(1), "entraTenantId", "3F2504E0-4F89-41D3-9A0C-000000000002"))
			}},
		{name: "put a tenant with every field wrong", want: 400, code: "validation",
			fields: func() []string { _, f := badTenant(); return f }(),
			req: func(w *world) testenv.Request {
				b, _ := badTenant()
				return w.at("Owner", "PUT", tenantsPath+"/"+w.state["t1"], b)
			}},
		{name: "put a tenant whose version and health are not strings and numbers", want: 400, code: "validation",
			fields: []string{"version", "health"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", tenantsPath+"/"+w.state["t1"], with(goodTenant(1), "version", "v1", "health", 3))
			}},
		{name: "put a tenant as a Read-Only member", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "PUT", tenantsPath+"/"+w.state["t1"], goodTenant(1))
			}},
		{name: "put another organization's tenant", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", tenantsPath+"/"+w.state["beta tenant"], goodTenant(8))
			}},

		// Listing tenants.
		{name: "list tenants two at a time", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", tenantsPath+"?limit=2", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				got := names(listAll(t, w, tenantsPath, 2), "displayName")
				if len(got) != 3 || !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
					t.Errorf("tenants %v", got)
				}
			}},
		{name: "search tenants by display name", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", tenantsPath+"?q=%20contoso%20", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct{ Items []map[string]any }
				res.JSON(t, &l)
				if got := names(l.Items, "displayName"); !slices.Equal(got, []string{"Contoso 1", "Contoso 2"}) {
					t.Errorf("found %v", got)
				}
			}},
		{name: "list tenants with a search of 201 characters", want: 400, code: "validation", fields: []string{"q"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", tenantsPath+"?q="+strings.Repeat("q", 201), nil)
			}},
		{name: "list tenants with a search of 200 non-ASCII characters", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", tenantsPath+"?q="+url.QueryEscape(longName), nil)
			}},
		{name: "list tenants with limit=0", want: 400, code: "validation", fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", tenantsPath+"?limit=0", nil) }},
		{name: "list tenants with a bad cursor", want: 400, code: "validation", fields: []string{"cursor"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", tenantsPath+"?cursor=e30", nil) }},
		{name: "list tenants as a Custom member without view-data", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", tenantsPath, nil) }},
		{name: "list another organization's tenants", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", tenantsPath, nil, api.HeaderOrganization, w.beta.ID)
			}},
		{name: "list tenants without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.at("", "GET", tenantsPath, nil) }},

		// Associating tenants with customers.
		{name: "associate a tenant with a customer", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath+"/"+w.state["c1"]+"/tenants", map[string]any{"tenantId": " " + w.state["t1"] + " "},
					api.HeaderIdempotencyKey, "associate-t1")
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.ID != w.state["c1"] || c.TenantCount != 1 || c.TotalUsers != 120 || c.TotalLicenses != 120 ||
					c.SecurityScore != 72.5 || c.Health != "warning" || len(c.Tenants) != 1 || c.Tenants[0].ID != w.state["t1"] {
					t.Errorf("associated %s", res.Body)
				}
			}},
		{name: "associate the tenant with the same customer again", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath+"/"+w.state["c1"]+"/tenants", map[string]any{"tenantId": w.state["t1"]})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.TenantCount != 1 || len(c.Tenants) != 1 {
					t.Errorf("associated twice: %s", res.Body)
				}
			}},
		{name: "associate a tenant linked to another customer", want: 409, code: "tenant-linked",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath+"/"+w.state["c2"]+"/tenants", map[string]any{"tenantId": w.state["t1"]})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if got := res.Map(t)["customerId"]; got != w.state["c1"] {
					t.Errorf("customerId %v, want %s", got, w.state["c1"])
				}
			}},
		{name: "associate with another request under the same Idempotency-Key", want: 409, code: "idempotency-key-reused",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath+"/"+w.state["c1"]+"/tenants", map[string]any{"tenantId": w.state["t2"]},
					api.HeaderIdempotencyKey, "associate-t1")
			}},
		{name: "associate without a tenant", want: 400, code: "validation", fields: []string{"tenantId"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath+"/"+w.state["c1"]+"/tenants", map[string]any{"tenantId": "  "})
			}},
		{name: "associate a tenant id that is a number", want: 400, code: "validation", fields: []string{"tenantId"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath+"/"+w.state["c1"]+"/tenants", map[string]any{"tenantId": 42})
			}},
		{name: "associate another organization's tenant", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "POST", customersPath+"/"+w.state["c2"]+"/tenants", map[string]any{"tenantId": w.state["beta tenant"]})
			}},
		{name: "associate a tenant with another organization's customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				w.state["beta customer"] = w.fixtureCustomer(w.beta.ID, "Beta customer")
				return w.at("Owner", "POST", customersPath+"/"+w.state["beta customer"]+"/tenants", map[string]any{"tenantId": w.state["t2"]})
			}},
		{name: "associate as a Read-Only member", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "POST", customersPath+"/"+w.state["c2"]+"/tenants", map[string]any{"tenantId": w.state["t2"]})
			}},
		{name: "associate a tenant that keeps changing", want: 409, code: "tenant-busy",
			req: func(w *world) testenv.Request {
				w.faults.conflict(w.state["t2"], true)
				return w.at("Owner", "POST", customersPath+"/"+w.state["c2"]+"/tenants", map[string]any{"tenantId": w.state["t2"]})
			}},
		{name: "associate the tenant once it settles", want: 200,
			req: func(w *world) testenv.Request {
				w.faults.conflict(w.state["t2"], false)
				return w.at("Technician", "POST", customersPath+"/"+w.state["c2"]+"/tenants", map[string]any{"tenantId": w.state["t2"]})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.TenantCount != 1 || c.Health != "critical" {
					t.Errorf("associated %s", res.Body)
				}
			}},
		{name: "put a tenant of a customer: the customer's counters follow", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", tenantsPath+"/"+w.state["t1"], with(goodTenant(1), "licensedUsers", 150, "health", "healthy", "securityScore", 80))
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var tn tenantBody
				res.JSON(t, &tn)
				if tn.CustomerID != w.state["c1"] || tn.LicensedUsers != 150 {
					t.Errorf("tenant %s", res.Body)
				}
				got := w.env.Get(customersPath+"/"+w.state["c1"], w.tok["Owner"], api.HeaderOrganization, w.alpha.ID)
				var c customerBody
				got.JSON(t, &c)
				if c.TotalUsers != 150 || c.SecurityScore != 80 || c.Health != "healthy" {
					t.Errorf("customer after the tenant changed: %s", got.Body)
				}
			}},

		// A member scoped to one tenant.
		{name: "a scoped Technician sees the customer of their tenant", want: 200,
			req: func(w *world) testenv.Request {
				w.tok["Technician(t1)"] = w.env.AddScopedMember(w.alpha.ID, permission.Technician,
					domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{w.state["t1"]}}, "scoped@alpha.example")
				return w.at("Technician(t1)", "GET", customersPath+"/"+w.state["c1"], nil)
			}},
		{name: "a scoped Technician does not see other customers", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Technician(t1)", "GET", customersPath+"/"+w.state["c2"], nil)
			}},
		{name: "a scoped Technician lists only the customers of their tenants", want: 200,
			req: func(w *world) testenv.Request { return w.at("Technician(t1)", "GET", customersPath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct{ Items []map[string]any }
				res.JSON(t, &l)
				if got := names(l.Items, "id"); !slices.Equal(got, []string{w.state["c1"]}) {
					t.Errorf("listed %v", got)
				}
			}},
		{name: "a scoped Technician does not see other tenants", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Technician(t1)", "GET", tenantsPath+"/"+w.state["t2"], nil)
			}},
		{name: "a scoped Technician cannot create customers", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Technician(t1)", "POST", customersPath, map[string]any{"name": "Scoped"})
			}},
		{name: "a scoped Technician cannot register tenants", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Technician(t1)", "POST", tenantsPath, goodTenant(6)) }},
		{name: "a scoped Technician cannot unlink a tenant outside their scope", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Technician(t1)", "DELETE", customersPath+"/"+w.state["c2"]+"/tenants/"+w.state["t2"], nil)
			}},

		// Reading and updating customers.
		{name: "get a customer", want: 200,
			req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", customersPath+"/"+w.state["c1"], nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.ID != w.state["c1"] || len(c.Tenants) != 1 {
					t.Errorf("customer = %s", res.Body)
				}
				w.state["c1 body"] = string(res.Body)
			}},
		{name: "get a customer as a Custom member without view-data", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Custom(none)", "GET", customersPath+"/"+w.state["c1"], nil)
			}},
		{name: "get another organization's customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", customersPath+"/"+w.state["beta customer"], nil)
			}},
		{name: "get a customer without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.at("", "GET", customersPath+"/"+w.state["c1"], nil) }},
		{name: "put a customer as GET returned it", want: 200,
			req: func(w *world) testenv.Request {
				var body map[string]any
				_ = json.Unmarshal([]byte(w.state["c1 body"]), &body)
				return w.at("Technician", "PUT", customersPath+"/"+w.state["c1"], body)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				got, want := res.Map(t), map[string]any{}
				_ = json.Unmarshal([]byte(w.state["c1 body"]), &want)
				var c customerBody
				res.JSON(t, &c)
				if got["version"] != want["version"].(float64)+1 || len(c.Warnings) != 1 || c.Warnings[0].Code != "duplicate-name" {
					t.Errorf("version %v after %v, warnings %v", got["version"], want["version"], got["warnings"])
				}
				for _, k := range []string{"version", "updatedAt", "warnings"} {
					delete(got, k)
					delete(want, k)
				}
				if !equalJSON(got, want) {
					t.Errorf("round trip changed the customer:\n got %s\nwant %s", res.Body, w.state["c1 body"])
				}
				w.state["c1 version"] = fmt.Sprint(jsonVersion(t, res))
			}},
		{name: "put a customer with a stale version", want: 409, code: "stale-version",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", customersPath+"/"+w.state["c1"], with(goodCustomer(), "version", w.version("c1 version")-1))
			}},
		{name: "put a customer with the PSA link of another", want: 409, code: "duplicate-psa-link",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", customersPath+"/"+w.state["c2"], with(goodCustomer(), "externalId", ""))
			}},
		{name: "put a customer with every field wrong", want: 400, code: "validation",
			fields: func() []string { _, f := badCustomer(); return f }(),
			req: func(w *world) testenv.Request {
				b, _ := badCustomer()
				return w.at("Owner", "PUT", customersPath+"/"+w.state["c1"], b)
			}},
		{name: "put a customer whose version is not a number", want: 400, code: "validation", fields: []string{"version"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", customersPath+"/"+w.state["c1"], with(goodCustomer(), "version", "2"))
			}},
		{name: "put a customer as a Read-Only member", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "PUT", customersPath+"/"+w.state["c1"], goodCustomer())
			}},
		{name: "archive a customer as a Technician", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Technician", "PUT", customersPath+"/"+w.state["c2"], map[string]any{"name": "Contoso Ltd", "archived": true})
			}},
		{name: "put another organization's customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", customersPath+"/"+w.state["beta customer"], map[string]any{"name": "Mine now"})
			}},
		{name: "archive a customer", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", customersPath+"/"+w.state["c2"], map[string]any{"name": "contoso ltd", "archived": true})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if !c.Archived || c.TenantCount != 1 || len(c.Warnings) != 1 || c.Warnings[0].Code != "duplicate-name" {
					t.Errorf("archived %s", res.Body)
				}
			}},

		// Listing customers.
		{name: "list customers one at a time", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", customersPath+"?limit=1", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				got := names(listAll(t, w, customersPath, 1), "id")
				if !slices.Contains(got, w.state["c1"]) || slices.Contains(got, w.state["c2"]) || slices.Contains(got, w.state["c3"]) {
					t.Errorf("active customers %v", got)
				}
				items := listAll(t, w, customersPath, 1)
				if got := names(items, "name"); !slices.IsSortedFunc(got, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
					t.Errorf("not by name: %v", got)
				}
			}},
		{name: "list archived customers, newest first", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", customersPath+"?archived=true&sort=created&order=desc", nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct{ Items []customerBody }
				res.JSON(t, &l)
				if len(l.Items) != 2 || l.Items[0].ID != w.state["c3"] || l.Items[1].ID != w.state["c2"] {
					t.Errorf("archived %s", res.Body)
				}
			}},
		{name: "search customers by name", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", customersPath+"?q=CONTOSO&sort=name&order=desc&archived=false", nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l struct{ Items []customerBody }
				res.JSON(t, &l)
				if len(l.Items) != 1 || l.Items[0].ID != w.state["c1"] {
					t.Errorf("found %s", res.Body)
				}
			}},
		{name: "list customers with every query parameter wrong", want: 400, code: "validation",
			fields: []string{"sort", "order", "archived"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", customersPath+"?sort=size&order=up&archived=maybe", nil)
			}},
		{name: "search customers in creation order", want: 400, code: "validation", fields: []string{"q"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", customersPath+"?q=con&sort=created", nil) }},
		{name: "search customers with 201 characters", want: 400, code: "validation", fields: []string{"q"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", customersPath+"?q="+strings.Repeat("q", 201), nil)
			}},
		{name: "search customers with 200 non-ASCII characters", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", customersPath+"?q="+url.QueryEscape(longName), nil)
			}},
		{name: "list customers with limit=101", want: 400, code: "validation", fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", customersPath+"?limit=101", nil) }},
		{name: "list customers with a cursor of the tenants", want: 400, code: "validation", fields: []string{"cursor"},
			req: func(w *world) testenv.Request {
				res := w.env.Get(tenantsPath+"?limit=1", w.tok["Owner"], api.HeaderOrganization, w.alpha.ID)
				var l struct{ NextCursor string }
				_ = json.Unmarshal(res.Body, &l)
				return w.at("Owner", "GET", customersPath+"?cursor="+url.QueryEscape(l.NextCursor), nil)
			}},
		{name: "list customers as a Custom member without view-data", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", customersPath, nil) }},
		{name: "list another organization's customers", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", customersPath, nil, api.HeaderOrganization, w.beta.ID)
			}},
		{name: "list customers without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.at("", "GET", customersPath, nil) }},
		{name: "restore an archived customer", want: 200,
			req: func(w *world) testenv.Request {
				return w.at("Owner", "PUT", customersPath+"/"+w.state["c2"], map[string]any{"name": "Contoso West", "archived": false})
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.Archived || len(c.Warnings) != 0 {
					t.Errorf("restored %s", res.Body)
				}
			}},

		// Unlinking tenants.
		{name: "unlink a tenant that keeps changing", want: 409, code: "tenant-busy",
			req: func(w *world) testenv.Request {
				w.faults.conflict(w.state["t2"], true)
				return w.at("Owner", "DELETE", customersPath+"/"+w.state["c2"]+"/tenants/"+w.state["t2"], nil)
			}},
		{name: "unlink the tenant once it settles", want: 204,
			req: func(w *world) testenv.Request {
				w.faults.conflict(w.state["t2"], false)
				return w.at("Technician", "DELETE", customersPath+"/"+w.state["c2"]+"/tenants/"+w.state["t2"], nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var tn tenantBody
				w.env.Get(tenantsPath+"/"+w.state["t2"], w.tok["Owner"], api.HeaderOrganization, w.alpha.ID).JSON(t, &tn)
				if tn.CustomerID != "" {
					t.Errorf("after unlinking: tenant %+v", tn)
				}
			}},
		{name: "get the customer whose last tenant was unlinked", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", customersPath+"/"+w.state["c2"], nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var c customerBody
				res.JSON(t, &c)
				if c.TenantCount != 0 || c.Health != "unknown" || len(c.Tenants) != 0 {
					t.Errorf("after unlinking its last tenant: %s", res.Body)
				}
			}},
		{name: "unlink a tenant that is not the customer's", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "DELETE", customersPath+"/"+w.state["c2"]+"/tenants/"+w.state["t1"], nil)
			}},
		{name: "unlink another organization's tenant", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "DELETE", customersPath+"/"+w.state["beta customer"]+"/tenants/"+w.state["beta tenant"], nil)
			}},
		{name: "unlink as a Read-Only member", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Read-Only", "DELETE", customersPath+"/"+w.state["c1"]+"/tenants/"+w.state["t1"], nil)
			}},
		{name: "unlink without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request {
				return w.at("", "DELETE", customersPath+"/"+w.state["c1"]+"/tenants/"+w.state["t1"], nil)
			}},

		// Deleting customers.
		{name: "delete a customer with a tenant", want: 409, code: "customer-has-tenants",
			req: func(w *world) testenv.Request { return w.at("Owner", "DELETE", customersPath+"/"+w.state["c1"], nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if n := res.Map(t)["tenantCount"]; n != float64(1) {
					t.Errorf("tenantCount %v", n)
				}
			}},
		{name: "delete a customer as a Technician", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request {
				return w.at("Technician", "DELETE", customersPath+"/"+w.state["c3"], nil)
			}},
		{name: "delete another organization's customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.at("Owner", "DELETE", customersPath+"/"+w.state["beta customer"], nil)
			}},
		{name: "delete a customer without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.at("", "DELETE", customersPath+"/"+w.state["c3"], nil) }},
		{name: "delete a customer", want: 204,
			req: func(w *world) testenv.Request { return w.at("Owner", "DELETE", customersPath+"/"+w.state["c3"], nil) }},
		{name: "delete the customer again", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return w.at("Owner", "DELETE", customersPath+"/"+w.state["c3"], nil) }},
		{name: "get the deleted customer", want: 404, code: "not-found",
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", customersPath+"/"+w.state["c3"], nil) }},
		{name: "beta's owner still sees beta's customer", want: 200,
			req: func(w *world) testenv.Request {
				return w.asBeta("GET", customersPath+"/"+w.state["beta customer"], nil)
			}},
	}
}

// arrayIndex turns the API's psaLinks[0].type into the schema validator's psaLinks.0.type.
var arrayIndex = regexp.MustCompile(`\[(\d+)\]`)

// TestCustomerAndTenantSchemasRejectWhatTheDomainRejects sends, for each customer and
// tenant field, a body where only that field is wrong: the document must reject that
// field, and the API must answer 400 naming exactly it.
func TestCustomerAndTenantSchemasRejectWhatTheDomainRejects(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		path string
		good func() map[string]any
		bad  func() (map[string]any, []string)
	}{
		{customersPath, goodCustomer, badCustomer},
		{tenantsPath, func() map[string]any { return goodTenant(7) }, badTenant},
	}
	for _, tt := range tests {
		bad, fields := tt.bad()
		for _, field := range fields {
			t.Run(tt.path+" "+field, func(t *testing.T) {
				body := tt.good()
				top, _, _ := strings.Cut(field, "[")
				if top != field {
					// An element's member: the good element with that member from the bad one.
					elem := maps.Clone(body[top].([]any)[0].(map[string]any))
					member := field[strings.Index(field, ".")+1:]
					elem[member] = bad[top].([]any)[0].(map[string]any)[member]
					body[top] = []any{elem}
				} else {
					body[field] = bad[field]
				}
				raw, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", "http://api.test"+tt.path, bytes.NewReader(raw))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+w.tok["Owner"])
				want := arrayIndex.ReplaceAllString(field, ".$1")
				flagged := openapitest.Fields(w.chk.RequestErrors(req))
				if !slices.Contains(flagged, want) {
					t.Errorf("the document accepts %s in %s (schema errors at %v)", field, raw, flagged)
				}
				for _, f := range flagged {
					if f != want && !strings.HasPrefix(f, want+".") && !strings.HasPrefix(want, f+".") {
						t.Errorf("the document also rejects %s, which is valid in this body", f)
					}
				}
				res := w.env.Do(testenv.Request{Method: "POST", Path: tt.path, Token: w.tok["Owner"], Body: body})
				var p struct{ Errors []struct{ Field string } }
				res.JSON(t, &p)
				if res.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Field != field {
					t.Errorf("API answered %d %s, want 400 naming %s", res.Status, res.Body, field)
				}
			})
		}
		t.Run(tt.path+" the good body", func(t *testing.T) {
			raw, _ := json.Marshal(tt.good())
			req, _ := http.NewRequest("POST", "http://api.test"+tt.path, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.tok["Owner"])
			if errs := w.chk.RequestErrors(req); len(errs) > 0 {
				t.Errorf("the document rejects the good body: %v", errs)
			}
		})
	}
}
