package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// fixtureM365Connection writes, through the store, a Microsoft 365 connection of
// tenantID whose credentials the env's Graph stand-in accepts (its Entra tenant gets the
// demo tenant's data), and returns its id.
func fixtureM365Connection(t *testing.T, w *world, orgID, tenantID string) string {
	t.Helper()
	ctx := context.Background()
	tn, err := w.env.Store.GetTenant(ctx, orgID, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	clientID, secret := w.env.GraphTenant(tn.EntraTenantID)
	now := time.Now().UTC()
	next := now.Add(-time.Minute)
	c := domain.Connection{ID: domain.NewID(), Type: domain.ConnectionM365, Label: "Fixture Graph app", TenantID: tenantID,
		Status: domain.ConnectionUntested, CreatedAt: now, UpdatedAt: now, RotatedAt: now, NextSyncAt: &next, Hint: domain.Hint(secret)}
	plain, _ := json.Marshal(domain.Credentials{EntraTenantID: tn.EntraTenantID, ClientID: clientID, ClientSecret: secret})
	if c.Sealed, err = envelope.Seal(ctx, w.env.Deps.Keys, plain, c.EncryptionContext(orgID)); err != nil {
		t.Fatal(err)
	}
	if err := w.env.Store.CreateConnection(ctx, orgID, c, audit.Event{Category: audit.Settings, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// connectionBody is a POST /api/connections of a Microsoft 365 connection.
func connectionBody(tenantID, clientID, secret string) map[string]any {
	return map[string]any{"type": "m365", "label": "Northwind Graph", "tenantId": tenantID,
		"credentials": map[string]any{"clientId": clientID, "clientSecret": secret}}
}

func TestConnectionsKeepCredentialsWriteOnly(t *testing.T) {
	w := newWorld(t)
	tenant := fixtureTenant(t, w, w.org.ID, nil)
	tn, _ := w.env.Store.GetTenant(context.Background(), w.org.ID, tenant)
	clientID, secret := w.env.GraphTenant(tn.EntraTenantID)
	h := map[string]string{api.HeaderOrganization: w.org.ID}

	res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: w.tokens["Owner"], Headers: h,
		Body: connectionBody(tenant, clientID, secret)})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var c struct {
		ID, Status, Hint, TenantID string
		Version                    int64
	}
	res.JSON(t, &c)
	if c.Status != "untested" || c.Hint != "••••"+secret[len(secret)-4:] || c.TenantID != tenant {
		t.Errorf("created: %s", res.Body)
	}
	// A second connection of the same tenant: 409.
	res = w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: w.tokens["Owner"], Headers: h,
		Body: connectionBody(tenant, clientID, secret)})
	if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "tenant-has-connection") {
		t.Errorf("second connection of the tenant: %d %s", res.Status, res.Body)
	}

	// What each role sees: managers everything but the credentials, the others label and type.
	for role, full := range map[string]bool{"Owner": true, "Administrator": true, "Technician": false, "Read-Only": false} {
		for _, path := range []string{"/api/connections", "/api/connections/" + c.ID} {
			res := w.env.Do(testenv.Request{Method: "GET", Path: path, Token: w.tokens[role], Headers: h})
			if res.Status != http.StatusOK {
				t.Fatalf("%s GET %s: %d %s", role, path, res.Status, res.Body)
			}
			body := string(res.Body)
			if strings.Contains(body, secret) || strings.Contains(body, clientID) {
				t.Errorf("%s GET %s shows a credential: %s", role, path, body)
			}
			if strings.Contains(body, `"status"`) != full || strings.Contains(body, `"hint"`) != full {
				t.Errorf("%s GET %s: full view %v expected: %s", role, path, full, body)
			}
			if !strings.Contains(body, `"label":"Northwind Graph"`) || !strings.Contains(body, `"type":"m365"`) {
				t.Errorf("%s GET %s: no label or type: %s", role, path, body)
			}
		}
	}

	// Test: Entra issues a token; the status says so.
	res = w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections/" + c.ID + "/test", Token: w.tokens["Administrator"], Headers: h})
	var tr struct {
		OK, Checked bool
		Connection  struct{ Status string }
	}
	res.JSON(t, &tr)
	if res.Status != http.StatusOK || !tr.OK || !tr.Checked || tr.Connection.Status != "connected" {
		t.Fatalf("test: %d %s", res.Status, res.Body)
	}

	// Rotate to a secret Entra refuses: the test reports Entra's invalid_client, the
	// status turns failed, and neither secret shows anywhere.
	wrong := "wrong~secret.value_ABCDEFGHIJKLMNOP"
	res = w.env.Do(testenv.Request{Method: "PUT", Path: "/api/connections/" + c.ID, Token: w.tokens["Owner"], Headers: h,
		Body: map[string]any{"label": "Northwind Graph", "version": 2, "credentials": map[string]any{"clientId": clientID, "clientSecret": wrong}}})
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"status":"untested"`) || !strings.Contains(string(res.Body), "MNOP") {
		t.Fatalf("rotate: %d %s", res.Status, res.Body)
	}
	res = w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections/" + c.ID + "/test", Token: w.tokens["Owner"], Headers: h})
	body := string(res.Body)
	if res.Status != http.StatusOK || !strings.Contains(body, `"ok":false`) || !strings.Contains(body, "graph-invalid-credentials") ||
		!strings.Contains(body, "invalid_client") || !strings.Contains(body, `"status":"failed"`) {
		t.Fatalf("test with a refused secret: %d %s", res.Status, body)
	}
	if strings.Contains(body, wrong) || strings.Contains(body, secret) {
		t.Fatalf("test answer holds a secret: %s", body)
	}

	// Stored sealed: no item of the table holds a secret in plain.
	for _, s := range []string{secret, wrong} {
		if items := itemsContaining(t, w.env.Store, s); len(items) > 0 {
			t.Errorf("the table holds %q in plain: %v", s, items)
		}
	}

	// The audit log tells what happened, never a value.
	res = w.env.Do(testenv.Request{Method: "GET", Path: "/api/audit-log?category=settings", Token: w.tokens["Owner"], Headers: h})
	for _, a := range []string{"connection.create", "connection.test", "connection.rotate"} {
		if !strings.Contains(string(res.Body), a) {
			t.Errorf("audit log has no %s: %s", a, res.Body)
		}
	}
	if strings.Contains(string(res.Body), secret) || strings.Contains(string(res.Body), wrong) {
		t.Errorf("audit log holds a secret")
	}

	// Delete: gone, and the tenant may have a connection again.
	res = w.env.Do(testenv.Request{Method: "DELETE", Path: "/api/connections/" + c.ID, Token: w.tokens["Owner"], Headers: h})
	if res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if res := w.env.Do(testenv.Request{Method: "GET", Path: "/api/connections/" + c.ID, Token: w.tokens["Owner"], Headers: h}); res.Status != http.StatusNotFound {
		t.Errorf("after delete: %d", res.Status)
	}
	if res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: w.tokens["Owner"], Headers: h,
		Body: connectionBody(tenant, clientID, secret)}); res.Status != http.StatusCreated {
		t.Errorf("again after delete: %d %s", res.Status, res.Body)
	}
}

// itemsContaining lists the keys of the items of the table whose attributes hold s.
func itemsContaining(t *testing.T, st *store.Store, s string) []string {
	t.Helper()
	var out []string
	for k, it := range snapshotTable(t, st) {
		b, _ := json.Marshal(it.raw)
		if strings.Contains(string(b), s) {
			out = append(out, k)
		}
	}
	return out
}

func TestConnectionValidation(t *testing.T) {
	w := newWorld(t)
	tenant := fixtureTenant(t, w, w.org.ID, nil)
	h := map[string]string{api.HeaderOrganization: w.org.ID}
	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"nothing", map[string]any{}, []string{"type", "label", "credentials"}},
		{"m365 without a tenant or secret", map[string]any{"type": "m365", "label": "x", "credentials": map[string]any{"clientId": "a"}},
			[]string{"tenantId", "credentials.clientSecret"}},
		{"m365 with a PSA field", map[string]any{"type": "m365", "label": "x", "tenantId": tenant,
			"credentials": map[string]any{"clientId": "a", "clientSecret": "b", "privateKey": "c"}}, []string{"credentials.privateKey"}},
		{"m365 of an unknown tenant", map[string]any{"type": "m365", "label": "x", "tenantId": "no-such-tenant",
			"credentials": map[string]any{"clientId": "a", "clientSecret": "b"}}, []string{"tenantId"}},
		{"connectwise missing keys", map[string]any{"type": "connectwise", "label": "CW", "credentials": map[string]any{"site": "http://cw.example"}},
			[]string{"credentials.clientId", "credentials.site", "credentials.companyId", "credentials.publicKey", "credentials.privateKey"}},
		{"autotask with a tenant", map[string]any{"type": "autotask", "label": "AT", "tenantId": tenant,
			"credentials": map[string]any{"username": "api@x.example", "secret": "s", "integrationCode": "c"}}, []string{"tenantId"}},
		{"halopsa without its URL", map[string]any{"type": "halopsa", "label": "Halo", "credentials": map[string]any{"clientId": "a", "clientSecret": "b"}},
			[]string{"credentials.instanceUrl"}},
		{"unknown type", map[string]any{"type": "servicenow", "label": "SN", "credentials": map[string]any{}}, []string{"type"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: w.tokens["Owner"], Headers: h, Body: tc.body})
			if res.Status != http.StatusBadRequest {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			var p struct{ Errors []struct{ Field string } }
			res.JSON(t, &p)
			var got []string
			for _, e := range p.Errors {
				got = append(got, e.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields %v, want %v", got, tc.fields)
			}
		})
	}
	// A PSA connection is stored with its hint (psaconnect_test.go tests reaching it).
	res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: w.tokens["Owner"], Headers: h,
		Body: map[string]any{"type": "halopsa", "label": "Halo", "credentials": map[string]any{
			"instanceUrl": "https://contoso.halopsa.com", "clientId": "halo-client", "clientSecret": "halo~secret.0123456789abcdef"}}})
	if res.Status != http.StatusCreated || !strings.Contains(string(res.Body), `"hint":"••••cdef"`) {
		t.Fatalf("halopsa: %d %s", res.Status, res.Body)
	}
}

func TestConnectionsFollowTheTenantScope(t *testing.T) {
	w := newWorld(t)
	in := fixtureTenant(t, w, w.org.ID, nil)
	out := fixtureTenant(t, w, w.org.ID, nil)
	fixtureM365Connection(t, w, w.org.ID, in)
	hidden := fixtureM365Connection(t, w, w.org.ID, out)
	scoped := w.env.AddScopedMember(w.org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{in}}, "scoped@alpha.example")
	h := map[string]string{api.HeaderOrganization: w.org.ID}
	res := w.env.Do(testenv.Request{Method: "GET", Path: "/api/connections", Token: scoped, Headers: h})
	var list struct{ Items []struct{ ID string } }
	res.JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID == hidden {
		t.Errorf("scoped list: %s", res.Body)
	}
	if res := w.env.Do(testenv.Request{Method: "GET", Path: "/api/connections/" + hidden, Token: scoped, Headers: h}); res.Status != http.StatusNotFound {
		t.Errorf("connection of a tenant outside the scope: %d", res.Status)
	}
}

// refreshWorld is a customer with a tenant whose Microsoft 365 connection reaches the
// Graph stand-in, as the demo tenant (7 users, 5 licensed, SPE_E3 2 and SPB 3, 62%).
func refreshWorld(t *testing.T) (*world, string, string, map[string]string) {
	w := newWorld(t)
	customer := fixtures["customerId"](t, w, w.org.ID, nil)
	tenant := fixtureTenant(t, w, w.org.ID, map[string]string{"customerId": customer})
	fixtureM365Connection(t, w, w.org.ID, tenant)
	return w, customer, tenant, map[string]string{api.HeaderOrganization: w.org.ID}
}

func TestRefreshReadsTheTenantFromGraph(t *testing.T) {
	w, customer, tenant, h := refreshWorld(t)
	res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants/" + tenant + "/refresh", Token: w.tokens["Technician"], Headers: h})
	if res.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", res.Status, res.Body)
	}
	var tn struct {
		LicensedUsers, AssignedLicenses int64
		SecurityScore                   float64
		Health                          string
		Licenses                        []domain.SKULicense
		Sync                            domain.TenantSync
	}
	res.JSON(t, &tn)
	if tn.LicensedUsers != 5 || tn.AssignedLicenses != 5 || tn.SecurityScore != 62 || tn.Health != domain.HealthWarning ||
		len(tn.Licenses) != 2 || tn.Sync.LastSuccessAt == nil || tn.Sync.Error != nil {
		t.Fatalf("tenant after refresh: %s", res.Body)
	}
	// The customer's counters and the organization's usage follow.
	c, err := w.env.Store.GetCustomer(context.Background(), w.org.ID, customer)
	if err != nil || c.Customer.TotalUsers != 5 || c.Customer.TotalLicenses != 5 || c.Customer.HealthWarning != 1 || c.Customer.HealthHealthy != 0 {
		t.Errorf("customer counters: %+v %v", c.Customer.Counters, err)
	}
	// The organization's assigned licenses and every other copy agree with the items.
	checkTable(t, snapshotTable(t, w.env.Store))

	// Throttled through every attempt: 502 with Retry-After, the readings stay, the
	// error is on the tenant; the connection keeps its status.
	w.env.Graph.Throttle(100, 2)
	res = w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants/" + tenant + "/refresh", Token: w.tokens["Owner"], Headers: h})
	if res.Status != http.StatusBadGateway || res.Header.Get("Retry-After") != "2" || !strings.Contains(string(res.Body), "graph-throttled") {
		t.Fatalf("throttled refresh: %d %v %s", res.Status, res.Header, res.Body)
	}
	w.env.Graph.Throttle(0, 0)
	got, err := w.env.Store.GetTenant(context.Background(), w.org.ID, tenant)
	if err != nil || got.LicensedUsers != 5 || got.SecurityScore != 62 || got.Sync == nil || got.Sync.Error == nil ||
		got.Sync.Error.Code != "graph-throttled" || got.Sync.LastSuccessAt == nil {
		t.Errorf("tenant after a throttled refresh: %+v %v", got, err)
	}
	conn, err := w.env.Store.M365ConnectionOf(context.Background(), w.org.ID, tenant)
	if err != nil || conn.Status != domain.ConnectionConnected {
		t.Errorf("connection after a throttled refresh: %+v %v", conn, err)
	}

	// The stand-in's tenant changes: a better score, a suspended SKU → critical.
	tnt, _ := w.env.Store.GetTenant(context.Background(), w.org.ID, tenant)
	changed := graphstandin.DemoTenant()
	changed.ID = tnt.EntraTenantID
	changed.SKUs[1].CapabilityStatus = "Suspended"
	w.env.Graph.PutTenant(changed)
	res = w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants/" + tenant + "/refresh", Token: w.tokens["Owner"], Headers: h})
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"health":"critical"`) || strings.Contains(string(res.Body), `"error"`) {
		t.Errorf("refresh after a suspension: %d %s", res.Status, res.Body)
	}
	// Read-Only may not; a tenant without a connection is a 409.
	if res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants/" + tenant + "/refresh", Token: w.tokens["Read-Only"], Headers: h}); res.Status != http.StatusForbidden {
		t.Errorf("Read-Only refresh: %d", res.Status)
	}
	bare := fixtureTenant(t, w, w.org.ID, nil)
	if res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/tenants/" + bare + "/refresh", Token: w.tokens["Owner"], Headers: h}); res.Status != http.StatusConflict ||
		!strings.Contains(string(res.Body), "no-m365-connection") {
		t.Errorf("refresh without a connection: %d %s", res.Status, res.Body)
	}
}

func TestHealthRule(t *testing.T) {
	cases := []struct {
		name string
		r    domain.Readings
		want string
	}{
		{"no score", domain.Readings{}, domain.HealthUnknown},
		{"low score", domain.Readings{HasScore: true, SecureScore: 39.9}, domain.HealthCritical},
		{"suspended", domain.Readings{HasScore: true, SecureScore: 95, Suspended: []string{"SPB"}}, domain.HealthCritical},
		{"middling score", domain.Readings{HasScore: true, SecureScore: 69.9}, domain.HealthWarning},
		{"over-assigned", domain.Readings{HasScore: true, SecureScore: 90, OverAssigned: []string{"SPE_E3"}}, domain.HealthWarning},
		{"good", domain.Readings{HasScore: true, SecureScore: 70}, domain.HealthHealthy},
	}
	for _, tc := range cases {
		if got := domain.HealthOf(tc.r); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestM365SyncScheduleReadsDueTenants(t *testing.T) {
	w, _, tenant, _ := refreshWorld(t)
	ctx := context.Background()
	now := time.Now().UTC()
	res, err := api.SyncM365(ctx, w.env.Deps, now)
	if err != nil || res.(api.SyncResult).Synced != 1 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	got, _ := w.env.Store.GetTenant(ctx, w.org.ID, tenant)
	if got.LicensedUsers != 5 || got.Health != domain.HealthWarning {
		t.Errorf("tenant after the run: %+v", got)
	}
	// Nothing is due again until the next sync time.
	res, err = api.SyncM365(ctx, w.env.Deps, now.Add(time.Minute))
	if err != nil || res.(api.SyncResult) != (api.SyncResult{}) {
		t.Errorf("second run: %+v %v", res, err)
	}
	// Refused credentials: recorded, counted, the run does not fail.
	tn, _ := w.env.Store.GetTenant(ctx, w.org.ID, tenant)
	changed := graphstandin.DemoTenant()
	changed.ID = tn.EntraTenantID
	changed.Apps = map[string]string{graphstandin.DemoClientID: "another~secret.value"}
	w.env.Graph.PutTenant(changed)
	res, err = api.SyncM365(ctx, w.env.Deps, now.Add(7*time.Hour))
	if err != nil || res.(api.SyncResult).Failed != 1 {
		t.Fatalf("run with refused credentials: %+v %v", res, err)
	}
	conn, _ := w.env.Store.M365ConnectionOf(ctx, w.org.ID, tenant)
	got, _ = w.env.Store.GetTenant(ctx, w.org.ID, tenant)
	if conn.Status != domain.ConnectionFailed || conn.LastError == nil || got.LicensedUsers != 5 || got.Sync.Error == nil {
		t.Errorf("after refused credentials: connection %+v, tenant %+v", conn, got)
	}
}
