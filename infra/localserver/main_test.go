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

// TestMakeRunCompanyUsersFlow is issue 9's company user "done when" against the `make
// run` server: add a customer and a company user with portal access, read the portal
// invitation in the outbox, sign in to the portal as that user and submit a ticket,
// which the MSP sees; the user never reaches the MSP's routes, and loses the portal at
// once when access is turned off; the onboarding checklist moves along the way.
func TestMakeRunCompanyUsersFlow(t *testing.T) {
	c := startLocal(t)
	const org, person = "contoso-msp", "diego@northwind.example"
	owner := c.signIn("megan.bowen@contosomsp.com")
	step := func(name string) string {
		t.Helper()
		st, out := c.call("GET", "/api/onboarding", owner, org, nil)
		if st != http.StatusOK {
			t.Fatalf("onboarding: %d %v", st, out)
		}
		steps, _ := out["steps"].([]any)
		for _, s := range steps {
			if m := s.(map[string]any); m["step"] == name {
				return m["status"].(string)
			}
		}
		t.Fatalf("no step %s in %v", name, out)
		return ""
	}
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
