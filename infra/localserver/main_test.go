package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
)

// localClient talks to a running local server as curl would.
type localClient struct {
	t    *testing.T
	base string
}

func (c localClient) call(method, path, token, org string, body any) (int, map[string]any) {
	c.t.Helper()
	return c.callWith(nil, method, path, token, org, body)
}

// callWith is call with more request headers.
func (c localClient) callWith(headers map[string]string, method, path, token, org string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if org != "" {
		req.Header.Set("X-Organization-Id", org)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func (c localClient) signIn(email string) string {
	c.t.Helper()
	st, out := c.call("POST", "/dev/sign-in", "", "", map[string]string{"email": email})
	tok, _ := out["token"].(string)
	if st != http.StatusOK || tok == "" {
		c.t.Fatalf("sign in %s: %d %v", email, st, out)
	}
	return tok
}

// startLocal serves the whole local API, as `make run` does, until the test ends.
func startLocal(t *testing.T) localClient {
	t.Setenv(awsconfig.EnvDynamoDBEndpoint, "") // the embedded engine, as `make run` starts it
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the local server did not stop")
		}
	})
	c := localClient{t: t, base: "http://" + ln.Addr().String()}
	for i := 0; ; i++ { // seeding runs before the server answers
		if res, err := http.Get(c.base + "/api/openapi.json"); err == nil {
			res.Body.Close()
			break
		}
		if i > 100 {
			t.Fatal("the local server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// outbox returns the emails the local server sent to addr.
func (c localClient) outbox(addr string) []map[string]any {
	c.t.Helper()
	_, box := c.call("GET", "/dev/outbox", "", "", nil)
	items, _ := box["items"].([]any)
	var out []map[string]any
	for _, it := range items {
		m, _ := it.(map[string]any)
		if to, _ := m["to"].([]any); len(to) == 1 && to[0] == addr {
			out = append(out, m)
		}
	}
	return out
}

// onboardingStep reads the status of one step of org's onboarding checklist.
func (c localClient) onboardingStep(token, org, name string) string {
	c.t.Helper()
	st, out := c.call("GET", "/api/onboarding", token, org, nil)
	if st != http.StatusOK {
		c.t.Fatalf("onboarding: %d %v", st, out)
	}
	steps, _ := out["steps"].([]any)
	for _, s := range steps {
		if m := s.(map[string]any); m["step"] == name {
			return m["status"].(string)
		}
	}
	c.t.Fatalf("no step %s in %v", name, out)
	return ""
}

// waitJob polls a job, as a client would, until it succeeds, and returns its result.
func (c localClient) waitJob(token, org, id string) map[string]any {
	c.t.Helper()
	for range 200 {
		st, j := c.call("GET", "/api/jobs/"+id, token, org, nil)
		if st != http.StatusOK {
			c.t.Fatalf("job %s: %d %v", id, st, j)
		}
		switch j["status"] {
		case "succeeded":
			res, _ := j["result"].(map[string]any)
			return res
		case "failed":
			c.t.Fatalf("job %s failed: %v", id, j)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("job %s did not finish", id)
	return nil
}

// TestMakeRunTeamFlow is the team issue's "done when" against the `make run` server:
// invite a colleague, read the email in the outbox, accept as them, see the
// organization, be limited by the role, be removed and refused.
func TestMakeRunTeamFlow(t *testing.T) {
	c := startLocal(t)
	const org, colleague = "contoso-msp", "diego.siciliani@contosomsp.com"
	owner := c.signIn("megan.bowen@contosomsp.com")
	if st, out := c.call("POST", "/api/settings/platform-users", owner, org,
		map[string]any{"email": colleague, "displayName": "Diego Siciliani", "role": "Read-Only"}); st != http.StatusCreated || out["status"] != "invited" {
		t.Fatalf("invite: %d %v", st, out)
	}
	_, box := c.call("GET", "/dev/outbox", "", "", nil)
	items, _ := box["items"].([]any)
	if len(items) == 0 {
		t.Fatalf("outbox: %v", box)
	}
	msg := items[0].(map[string]any)
	links, _ := msg["links"].([]any)
	if len(links) != 1 || !strings.Contains(msg["text"].(string), "Read-Only") {
		t.Fatalf("email: %v", msg)
	}
	link, err := url.Parse(links[0].(string))
	if err != nil || "http://"+link.Host != c.base {
		t.Fatalf("accept link %v: %v", links[0], err)
	}
	diego := c.signIn(colleague)
	if st, out := c.call("POST", "/api/invitations/accept", diego, "", map[string]string{"token": link.Query().Get("token")}); st != http.StatusOK {
		t.Fatalf("accept: %d %v", st, out)
	}
	_, me := c.call("GET", "/api/me", diego, "", nil)
	if active, _ := me["activeOrganization"].(map[string]any); active["id"] != org || active["role"] != "Read-Only" {
		t.Fatalf("switcher: %v", me)
	}
	if st, _ := c.call("POST", "/api/msp-portal/customers", diego, org, map[string]string{"name": "Not for viewers"}); st != http.StatusForbidden {
		t.Fatalf("a Read-Only member creating a customer: %d", st)
	}
	if st, _ := c.call("GET", "/api/msp-portal/customers", diego, org, nil); st != http.StatusOK {
		t.Fatalf("a Read-Only member listing customers: %d", st)
	}
	user, _ := me["user"].(map[string]any)
	if st, out := c.call("DELETE", "/api/settings/platform-users/"+user["id"].(string), owner, org, nil); st != http.StatusNoContent {
		t.Fatalf("remove: %d %v", st, out)
	}
	if st, _ := c.call("GET", "/api/msp-portal/customers", diego, org, nil); st != http.StatusNotFound {
		t.Fatalf("removed colleague: %d", st)
	}
}

// TestMakeRunSubOrganizationFlow is the sub-organizations issue's "done when" against
// the `make run` server, as README's curl walk-through does it: create two
// sub-organizations, read the welcome emails, search the list and see licenses
// consumed change as tenants are added while supporting one, find those actions in its
// audit log on behalf of it, and fail to reach the sibling as its member.
func TestMakeRunSubOrganizationFlow(t *testing.T) {
	c := startLocal(t)
	const org = "contoso-msp"
	owner := c.signIn("megan.bowen@contosomsp.com") // a fresh sign-in: creating re-confirms it
	subs := map[string]string{}
	for company, admin := range map[string]string{"Northwind Traders": "northwind-admin@contosomsp.com", "Fabrikam Inc.": "admin@fabrikam.example"} {
		st, out := c.call("POST", "/api/msp-admin/sub-organizations", owner, org, map[string]any{"companyName": company,
			"phone": "+1 (555) 345-6789", "email": admin, "confirmEmail": admin, "firstName": "Sam", "lastName": "Patel"})
		if st != http.StatusCreated {
			t.Fatalf("create %s: %d %v", company, st, out)
		}
		subs[company] = out["id"].(string)
		if mails := c.outbox(admin); len(mails) != 1 || !strings.Contains(mails[0]["subject"].(string), company) {
			t.Fatalf("welcome email to %s: %v", admin, mails)
		}
	}
	north, fab := subs["Northwind Traders"], subs["Fabrikam Inc."]

	_, list := c.call("GET", "/api/msp-admin/sub-organizations?q=NORTH", owner, org, nil)
	if items, _ := list["items"].([]any); len(items) != 1 {
		t.Fatalf("search: %v", list)
	}
	for i, licenses := range []int{20, 5} {
		st, out := c.callWith(map[string]string{"X-Support-Reason": "onboarding call"}, "POST", "/api/msp-portal/tenants", owner, north,
			map[string]any{"entraTenantId": fmt.Sprintf("2c3d4e5f-0000-4000-8000-00000000000%d", i), "primaryDomain": fmt.Sprintf("northwind%d.onmicrosoft.com", i),
				"displayName": fmt.Sprintf("Northwind %d", i), "licenses": []any{map[string]any{"sku": "SPE_E3", "assigned": licenses}}})
		if st != http.StatusCreated {
			t.Fatalf("a tenant while supporting: %d %v", st, out)
		}
	}
	_, list = c.call("GET", "/api/msp-admin/sub-organizations?q=north", owner, org, nil)
	items, _ := list["items"].([]any)
	consumed, _ := items[0].(map[string]any)["licensesConsumed"].(map[string]any)
	if consumed["managedTenants"] != float64(2) || consumed["assignedLicenses"] != float64(25) || consumed["memberSeats"] != float64(1) {
		t.Fatalf("licenses consumed: %v", consumed)
	}

	northAdmin := c.signIn("northwind-admin@contosomsp.com")
	_, log := c.call("GET", "/api/audit-log", northAdmin, north, nil)
	events, _ := log["items"].([]any)
	behalf, _ := events[0].(map[string]any)["onBehalfOf"].(map[string]any)
	if behalf["mspOrganizationId"] != org || behalf["reason"] != "onboarding call" {
		t.Fatalf("the sub-organization's audit log: %v", log)
	}
	for _, other := range []string{fab, org} {
		if st, _ := c.call("GET", "/api/msp-portal/tenants", northAdmin, other, nil); st != http.StatusNotFound {
			t.Fatalf("Northwind's admin in %s: %d", other, st)
		}
	}
}

// TestMakeRunLicenseOrderFlow is the license orders' "done when" against the `make run`
// server, as README's curl walk-through does it: a Technician orders licenses and sees
// the order wait, the Administrators' email is in the outbox, an Administrator
// approves it and sees the tenant's licenses change, and the requester, an
// Administrator by then, fails to approve their own.
func TestMakeRunLicenseOrderFlow(t *testing.T) {
	c := startLocal(t)
	const org = "contoso-msp"
	owner, admin, tech := c.signIn("megan.bowen@contosomsp.com"), c.signIn("alex.wilber@contosomsp.com"), c.signIn("lee.gu@contosomsp.com")
	st, tenant := c.call("POST", "/api/msp-portal/tenants", owner, org, map[string]any{"entraTenantId": "7d1e2f3a-0000-4000-8000-000000000001",
		"primaryDomain": "fabrikam.onmicrosoft.com", "displayName": "Fabrikam", "licenses": []any{map[string]any{"sku": "SPE_E3", "assigned": 10}}})
	if st != http.StatusCreated {
		t.Fatalf("tenant: %d %v", st, tenant)
	}
	tenantID := tenant["id"].(string)
	var orders []string
	for _, note := range []string{"Five starters in Berlin", "Two more next month"} {
		st, out := c.call("POST", "/api/msp-portal/license-orders", tech, org, map[string]any{"tenantId": tenantID, "sku": "SPE_E3", "quantity": 5, "note": note})
		if st != http.StatusCreated || out["status"] != "pending" {
			t.Fatalf("the Technician's order: %d %v", st, out)
		}
		orders = append(orders, out["id"].(string))
	}
	_, waiting := c.call("GET", "/api/msp-portal/license-orders?status=pending", tech, org, nil)
	if items, _ := waiting["items"].([]any); len(items) != 2 {
		t.Fatalf("the Technician's waiting orders: %v", waiting)
	}
	_, box := c.call("GET", "/dev/outbox", "", "", nil)
	items, _ := box["items"].([]any)
	first, _ := items[1].(map[string]any) // newest first: the second order's email, then the first's
	if to := fmt.Sprint(first["to"]); !strings.Contains(to, "megan.bowen@contosomsp.com") || !strings.Contains(to, "alex.wilber@contosomsp.com") ||
		!strings.Contains(first["text"].(string), "Five starters in Berlin") {
		t.Fatalf("the approvers' email: %v", first)
	}

	if st, out := c.call("POST", "/api/msp-portal/license-orders/"+orders[0]+"/approve", admin, org, nil); st != http.StatusOK || out["status"] != "approved" {
		t.Fatalf("approve: %d %v", st, out)
	}
	_, tenant = c.call("GET", "/api/msp-portal/tenants/"+tenantID, owner, org, nil)
	if tenant["assignedLicenses"] != float64(15) {
		t.Fatalf("the tenant after the approval: %v", tenant)
	}

	if st, out := c.call("PUT", "/api/settings/platform-users/demo-tech", owner, org, map[string]any{"role": "Administrator"}); st != http.StatusOK {
		t.Fatalf("promote the Technician: %d %v", st, out)
	}
	st, out := c.call("POST", "/api/msp-portal/license-orders/"+orders[1]+"/approve", tech, org, nil)
	if st != http.StatusForbidden || out["code"] != "self-approval" {
		t.Fatalf("the requester approves their own order: %d %v", st, out)
	}
}

// TestMakeRunServesTheConsole: the console answers every path outside /api/ and /dev/
// (its pages, its development sign-in configuration), and the API keeps /api/.
func TestMakeRunServesTheConsole(t *testing.T) {
	c := startLocal(t)
	for _, tc := range []struct {
		path, contentType string
		status            int
	}{
		{"/", "text/html", http.StatusOK},
		{"/customers/abc", "text/html", http.StatusOK},
		{"/invitations/accept?token=x", "text/html", http.StatusOK},
		{"/config.json", "application/json", http.StatusOK},
		{"/api/me", "application/problem+json", http.StatusUnauthorized},
		{"/api/no-such-thing", "", http.StatusNotFound},
	} {
		res, err := http.Get(c.base + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tc.contentType) {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, res.StatusCode, res.Header.Get("Content-Type"), tc.status, tc.contentType)
		}
		if tc.path == "/config.json" && !strings.Contains(string(raw), `"signIn":"development"`) {
			t.Errorf("GET /config.json: %s; want the development sign-in", raw)
		}
	}
}

// TestMakeRunAuditLogFlow is the audit issue's "done when" for the log against the
// `make run` server, as README's curl lines do it: filter the log by category, actor,
// target and time, export it in the organization's time zone, and verify its chain.
func TestMakeRunAuditLogFlow(t *testing.T) {
	c := startLocal(t)
	const org = "contoso-msp"
	owner := c.signIn("megan.bowen@contosomsp.com")
	_, me := c.call("GET", "/api/me", owner, "", nil)
	userID, _ := me["user"].(map[string]any)["id"].(string)
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	st, cust := c.call("POST", "/api/msp-portal/customers", owner, org, map[string]string{"name": "Audited Ltd"})
	if st != http.StatusCreated {
		t.Fatalf("create customer: %d %v", st, cust)
	}
	customerID, _ := cust["id"].(string)
	for _, tc := range []struct {
		query   string
		actions []string
	}{
		{"category=customer&from=" + url.QueryEscape(since), []string{"customer.create"}},
		{"actor=" + userID + "&targetType=customer&targetId=" + customerID, []string{"customer.create"}},
		{"category=billing", nil},
	} {
		st, out := c.call("GET", "/api/audit-log?"+tc.query, owner, org, nil)
		items, _ := out["items"].([]any)
		var got []string
		for _, it := range items {
			got = append(got, it.(map[string]any)["action"].(string))
		}
		if st != http.StatusOK || fmt.Sprint(got) != fmt.Sprint(tc.actions) {
			t.Errorf("%s: %d %v, want %v", tc.query, st, got, tc.actions)
		}
	}
	if st, out := c.call("GET", "/api/audit-log?category=everything", owner, org, nil); st != http.StatusBadRequest {
		t.Errorf("an unknown category: %d %v", st, out)
	}
	req, _ := http.NewRequest("GET", c.base+"/api/audit-log/export?format=csv&targetType=customer&targetId="+customerID, nil)
	req.Header.Set("Authorization", "Bearer "+owner)
	req.Header.Set("X-Organization-Id", org)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "Time (") || !strings.Contains(string(body), "customer.create") {
		t.Fatalf("export: %d %s", res.StatusCode, body)
	}
	st, rep := c.call("GET", "/api/audit-log/verify", owner, org, nil)
	head, _ := rep["head"].(map[string]any)
	if st != http.StatusOK || rep["ok"] != true || rep["complete"] != true || head["seq"].(float64) < 2 {
		t.Fatalf("verify: %d %v", st, rep)
	}
}

// TestMakeRunConnectionsFlow is issue 9's "done when" for connections and tenant data
// against the `make run` server, as README's curl lines do it: add a Microsoft 365
// connection whose secret never comes back, test it (the onboarding checklist's
// connect-m365 moves), preview and import the tenant's users from the Graph stand-in,
// refresh the tenant and see its licenses and health (and its customer's) change; a
// throttled refresh keeps them.
func TestMakeRunConnectionsFlow(t *testing.T) {
	c := startLocal(t)
	const org = "contoso-msp"
	owner, viewer := c.signIn("megan.bowen@contosomsp.com"), c.signIn("adele.vance@contosomsp.com")
	st, tenant := c.call("POST", "/api/msp-portal/tenants", owner, org, map[string]any{"entraTenantId": graphstandin.DemoTenantID,
		"primaryDomain": graphstandin.DemoDomain, "displayName": "Northwind", "licensedUsers": 42, "health": "healthy",
		"licenses": []any{map[string]any{"sku": "SPE_E3", "assigned": 20}}})
	if st != http.StatusCreated {
		t.Fatalf("tenant: %d %v", st, tenant)
	}
	tenantID := tenant["id"].(string)
	st, customer := c.call("POST", "/api/msp-portal/customers", owner, org, map[string]any{"name": "Northwind Traders"})
	if st != http.StatusCreated {
		t.Fatalf("customer: %d %v", st, customer)
	}
	customerID := customer["id"].(string)
	if st, out := c.call("POST", "/api/msp-portal/customers/"+customerID+"/tenants", owner, org, map[string]any{"tenantId": tenantID}); st != http.StatusOK && st != http.StatusCreated {
		t.Fatalf("associate: %d %v", st, out)
	}

	if s := c.onboardingStep(owner, org, "connect-m365"); s != "not-started" {
		t.Fatalf("connect-m365 before a connection: %s", s)
	}
	st, conn := c.call("POST", "/api/connections", owner, org, map[string]any{"type": "m365", "label": "Northwind Graph", "tenantId": tenantID,
		"credentials": map[string]any{"clientId": graphstandin.DemoClientID, "clientSecret": graphstandin.DemoClientSecret}})
	if st != http.StatusCreated || conn["hint"] != "••••1234" {
		t.Fatalf("connection: %d %v", st, conn)
	}
	connID := conn["id"].(string)
	for _, tok := range []string{owner, viewer} {
		for _, path := range []string{"/api/connections", "/api/connections/" + connID} {
			st, out := c.call("GET", path, tok, org, nil)
			raw, _ := json.Marshal(out)
			if st != http.StatusOK || strings.Contains(string(raw), graphstandin.DemoClientSecret) || strings.Contains(string(raw), graphstandin.DemoClientID) {
				t.Fatalf("GET %s: %d %s", path, st, raw)
			}
			if tok == viewer && (strings.Contains(string(raw), "hint") || strings.Contains(string(raw), "status")) {
				t.Errorf("the Read-Only member sees more than label and type: %s", raw)
			}
		}
	}
	if s := c.onboardingStep(owner, org, "connect-m365"); s != "in-progress" {
		t.Fatalf("connect-m365 with an untested connection: %s", s)
	}
	if st, out := c.call("POST", "/api/connections/"+connID+"/test", owner, org, nil); st != http.StatusOK || out["ok"] != true {
		t.Fatalf("test: %d %v", st, out)
	}
	if s := c.onboardingStep(owner, org, "connect-m365"); s != "complete" {
		t.Fatalf("connect-m365 once connected: %s", s)
	}

	// Preview the tenant's users in the Graph stand-in, import two, then all of them.
	users := "/api/msp-portal/customers/" + customerID + "/users"
	st, preview := c.call("POST", users+"/import", owner, org, map[string]any{"source": "m365", "tenantId": tenantID, "preview": true})
	found, _ := preview["users"].([]any)
	if st != http.StatusOK || len(found) != 7 || preview["counts"].(map[string]any)["new"] != float64(7) {
		t.Fatalf("preview: %d %v", st, preview)
	}
	pick := []string{found[0].(map[string]any)["externalId"].(string), found[1].(map[string]any)["externalId"].(string)}
	st, job := c.call("POST", users+"/import", owner, org, map[string]any{"source": "m365", "tenantId": tenantID, "select": pick})
	if st != http.StatusAccepted {
		t.Fatalf("import two: %d %v", st, job)
	}
	if res := c.waitJob(owner, org, job["id"].(string)); res["created"] != float64(2) {
		t.Fatalf("import two: %v", res)
	}
	st, job = c.call("POST", users+"/import", owner, org, map[string]any{"source": "m365", "tenantId": tenantID})
	if st != http.StatusAccepted {
		t.Fatalf("import all: %d %v", st, job)
	}
	if res := c.waitJob(owner, org, job["id"].(string)); res["created"] != float64(5) || res["unchanged"] != float64(2) {
		t.Fatalf("import all: %v", res)
	}
	if _, list := c.call("GET", users+"?limit=100", owner, org, nil); len(list["items"].([]any)) != 7 {
		t.Fatalf("company users after the import: %v", list)
	}

	st, tenant = c.call("POST", "/api/msp-portal/tenants/"+tenantID+"/refresh", owner, org, nil)
	if st != http.StatusOK || tenant["assignedLicenses"] != float64(5) || tenant["licensedUsers"] != float64(5) ||
		tenant["health"] != "warning" || tenant["securityScore"] != float64(62) {
		t.Fatalf("refresh: %d %v", st, tenant)
	}
	_, list := c.call("GET", "/api/msp-portal/customers?q=northwind", owner, org, nil)
	raw, _ := json.Marshal(list)
	if !strings.Contains(string(raw), `"totalLicenses":5`) || !strings.Contains(string(raw), `"health":"warning"`) {
		t.Errorf("the customer list after the refresh: %s", raw)
	}

	// Graph throttles: the refresh answers 502 with Retry-After, the readings stay.
	if st, out := c.call("POST", "/dev/graph/standin/throttle", "", "", map[string]any{"count": 10, "retryAfter": 1}); st != http.StatusNoContent {
		t.Fatalf("throttle the stand-in: %d %v", st, out)
	}
	st, out := c.call("POST", "/api/msp-portal/tenants/"+tenantID+"/refresh", owner, org, nil)
	if st != http.StatusBadGateway || out["code"] != "graph-throttled" {
		t.Fatalf("throttled refresh: %d %v", st, out)
	}
	_, tenant = c.call("GET", "/api/msp-portal/tenants/"+tenantID, owner, org, nil)
	sync, _ := tenant["sync"].(map[string]any)
	if tenant["assignedLicenses"] != float64(5) || sync == nil || sync["error"] == nil {
		t.Errorf("the tenant after a throttled refresh: %v", tenant)
	}
}

// TestMakeRunBillingFlow is the billing issue's "done when" against the `make run`
// server: a new user sees usage rise as they call the API and add tenants, hits the
// free plan's limit and reads why, upgrades and continues, then runs the metering job
// and finds the usage records and the published events.
func TestMakeRunBillingFlow(t *testing.T) {
	c := startLocal(t)
	tok := c.signIn("erin@fabrikam-billing.example")
	_, me := c.call("GET", "/api/me", tok, "", nil)
	org, _ := me["activeOrganization"].(map[string]any)["id"].(string)
	if plan := me["activeOrganization"].(map[string]any)["plan"]; plan != "free" {
		t.Fatalf("a new organization's plan: %v", plan)
	}
	usage := func() map[string]any {
		st, u := c.call("GET", "/api/msp-portal/usage", tok, org, nil)
		if st != http.StatusOK {
			t.Fatalf("usage: %d %v", st, u)
		}
		return u
	}
	calls := func(u map[string]any) float64 { return u["apiCalls"].(map[string]any)["thisMonth"].(float64) }
	first := usage()

	// The billing contact receives the alerts and the plan change.
	_, profile := c.call("GET", "/api/msp-portal/settings/profile", tok, org, nil)
	profile["billingContact"] = map[string]any{"name": "Erin Billing", "email": "billing@fabrikam-billing.example", "phone": ""}
	profile["taxId"] = "DE123456789"
	if st, out := c.call("PUT", "/api/msp-portal/settings/profile", tok, org, profile); st != http.StatusOK {
		t.Fatalf("profile: %d %v", st, out)
	}
	limit := 5
	for i := range limit {
		body := map[string]any{"entraTenantId": fmt.Sprintf("7d1e2f3a-0000-4000-8000-%012d", i),
			"primaryDomain": fmt.Sprintf("t%d.onmicrosoft.com", i), "displayName": fmt.Sprintf("Tenant %d", i), "licensedUsers": 10}
		if st, out := c.call("POST", "/api/msp-portal/tenants", tok, org, body); st != http.StatusCreated {
			t.Fatalf("tenant %d: %d %v", i, st, out)
		}
	}
	second := usage()
	if calls(second) <= calls(first) || second["managedTenants"] != float64(limit) || second["managedUsers"] != float64(10*limit) {
		t.Fatalf("usage did not rise: before %v, after %v", first, second)
	}
	sixth := map[string]any{"entraTenantId": "7d1e2f3a-0000-4000-8000-000000000099", "primaryDomain": "six.onmicrosoft.com",
		"displayName": "Sixth", "licensedUsers": 1}
	st, why := c.call("POST", "/api/msp-portal/tenants", tok, org, sixth)
	if st != http.StatusConflict || why["code"] != "plan-limit" || why["limit"] != "managedTenants" || why["used"] != float64(limit) {
		t.Fatalf("beyond the free plan: %d %v", st, why)
	}
	if st, out := c.call("PUT", "/api/billing/plan", tok, org, map[string]any{"plan": "professional"}); st != http.StatusOK || out["plan"] != "professional" {
		t.Fatalf("upgrade: %d %v", st, out)
	}
	if st, out := c.call("POST", "/api/msp-portal/tenants", tok, org, sixth); st != http.StatusCreated {
		t.Fatalf("after the upgrade: %d %v", st, out)
	}
	if len(c.outbox("billing@fabrikam-billing.example")) == 0 {
		t.Error("the billing contact was not told of the plan change")
	}

	st, run := c.call("POST", "/dev/schedules/meter-usage", "", "", nil)
	if st != http.StatusOK {
		t.Fatalf("meter-usage: %d %v", st, run)
	}
	_, recs := c.call("GET", "/dev/usage-records/"+org, "", "", nil)
	hours, _ := recs["hour"].([]any)
	months, _ := recs["month"].([]any)
	if len(hours) != 1 || len(months) != 1 {
		t.Fatalf("usage records %v", recs)
	}
	if h := hours[0].(map[string]any); h["managedTenants"] != float64(limit+1) || h["plan"] != "professional" || h["published"] != true {
		t.Errorf("hourly record %v", h)
	}
	_, bus := c.call("GET", "/dev/billing-events", "", "", nil)
	items, _ := bus["items"].([]any)
	published := 0
	for _, it := range items {
		ev := it.(map[string]any)
		if d, _ := ev["detail"].(map[string]any); d["organizationId"] == org && ev["detail-type"] == "usage.recorded" {
			published++
		}
	}
	if published != 2 {
		t.Errorf("%d usage.recorded events of %s, want 2 (the hour's and the month's)", published, org)
	}
	// A rerun writes and publishes nothing twice.
	if _, again := c.call("POST", "/dev/schedules/meter-usage", "", "", nil); again["result"].(map[string]any)["written"] != float64(0) {
		t.Errorf("rerun %v", again)
	}
}

// TestMakeRunCompanyUsersFlow is issue 9's company user "done when" against the `make
// run` server: add a customer and a company user with portal access, read the portal
// invitation in the outbox, sign in to the portal as that user and submit a ticket,
// which the MSP sees; the user never reaches the MSP's routes, and loses the portal at
// once when access is turned off; the onboarding checklist moves along the way.
func TestMakeRunCompanyUsersFlow(t *testing.T) {
	c := startLocal(t)
	const org, person = "contoso-msp", "diego@northwind.example"
	owner := c.signIn("megan.bowen@contosomsp.com")
	step := func(name string) string { t.Helper(); return c.onboardingStep(owner, org, name) }
	if s := step("company-users"); s != "not-started" {
		t.Fatalf("company users before: %s", s)
	}
	st, cust := c.call("POST", "/api/msp-portal/customers", owner, org, map[string]string{"name": "Northwind Traders"})
	if st != http.StatusCreated {
		t.Fatalf("customer: %d %v", st, cust)
	}
	users := "/api/msp-portal/customers/" + cust["id"].(string) + "/users"
	st, cu := c.call("POST", users, owner, org, map[string]any{"email": person, "name": "Diego Siciliani", "role": "User", "portalAccess": true})
	if st != http.StatusCreated || cu["portalStatus"] != "invited" {
		t.Fatalf("company user: %d %v", st, cu)
	}
	if s := step("company-users"); s != "in-progress" {
		t.Fatalf("company users after adding one: %s", s)
	}
	if s := step("add-customers"); s != "complete" {
		t.Fatalf("customers after adding one: %s", s)
	}
	mails := c.outbox(person)
	if len(mails) != 1 {
		t.Fatalf("portal invitation: %v", mails)
	}
	links, _ := mails[0]["links"].([]any)
	link, err := url.Parse(links[0].(string))
	if err != nil || link.Path != "/portal/accept" || link.Query().Get("token") == "" {
		t.Fatalf("portal link %v: %v", links, err)
	}
	diego := c.signIn(person)
	if st, out := c.call("POST", "/api/portal/invitations/accept", diego, "", map[string]string{"token": link.Query().Get("token")}); st != http.StatusOK {
		t.Fatalf("accept: %d %v", st, out)
	}
	if st, out := c.call("POST", "/api/portal/tickets", diego, "", map[string]string{"subject": "Printer on fire"}); st != http.StatusCreated {
		t.Fatalf("ticket: %d %v", st, out)
	}
	if st, out := c.call("GET", "/api/msp-portal/customers/"+cust["id"].(string)+"/tickets", owner, org, nil); st != http.StatusOK ||
		len(out["items"].([]any)) != 1 {
		t.Fatalf("the MSP's view of the ticket: %d %v", st, out)
	}
	if st, _ := c.call("GET", "/api/msp-portal/customers", diego, org, nil); st != http.StatusNotFound {
		t.Fatalf("a company user on an MSP route: %d", st)
	}
	if st, _ := c.call("GET", "/api/portal/dashboard", diego, "", nil); st != http.StatusForbidden {
		t.Fatalf("a User's dashboard: %d", st)
	}
	for _, action := range []struct{ path, want string }{{"complete", "complete"}, {"reopen", "in-progress"}} {
		if st, _ := c.call("POST", "/api/onboarding/steps/company-users/"+action.path, owner, org, nil); st != http.StatusOK {
			t.Fatalf("%s: %d", action.path, st)
		}
		if s := step("company-users"); s != action.want {
			t.Fatalf("company users after %s: %s", action.path, s)
		}
	}
	_, cu = c.call("GET", users+"/"+cu["id"].(string), owner, org, nil) // accepting moved its version
	if cu["portalStatus"] != "active" {
		t.Fatalf("after the accept: %v", cu)
	}
	cu["portalAccess"] = false
	if st, out := c.call("PUT", users+"/"+cu["id"].(string), owner, org, cu); st != http.StatusOK || out["portalStatus"] != "off" {
		t.Fatalf("portal access off: %d %v", st, out)
	}
	if st, _ := c.call("GET", "/api/portal/tickets", diego, "", nil); st != http.StatusNotFound {
		t.Fatalf("the portal after access was turned off: %d", st)
	}
}
