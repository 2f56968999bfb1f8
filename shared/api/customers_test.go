package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

type customerJSON struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	TenantCount   int64   `json:"tenantCount"`
	TotalUsers    int64   `json:"totalUsers"`
	TotalLicenses int64   `json:"totalLicenses"`
	Health        string  `json:"health"`
	SecurityScore float64 `json:"securityScore"`
	Archived      bool    `json:"archived"`
	Version       int64   `json:"version"`
	Tenants       []struct {
		ID string `json:"id"`
	} `json:"tenants"`
	Warnings []struct {
		Code string `json:"code"`
	} `json:"warnings"`
}

type customers struct {
	t   *testing.T
	env *testenv.Env
	tok string
}

func (c customers) do(method, path string, body any, want int) *testenv.Response {
	c.t.Helper()
	res := c.env.Do(testenv.Request{Method: method, Path: path, Token: c.tok, Body: body})
	if res.Status != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.Status, want, res.Body)
	}
	return res
}

func (c customers) customer(name string) customerJSON {
	c.t.Helper()
	var out customerJSON
	c.do("POST", "/api/msp-portal/customers", map[string]any{"name": name}, http.StatusCreated).JSON(c.t, &out)
	return out
}

var guidN = 0

func (c customers) tenant(name string, users int64, health string) string {
	c.t.Helper()
	guidN++
	var out struct{ ID string }
	c.do("POST", "/api/msp-portal/tenants", map[string]any{
		"entraTenantId": fmt.Sprintf("%08d-0000-4000-8000-000000000000", guidN), "primaryDomain": strings.ToLower(name) + ".onmicrosoft.com",
		"displayName": name, "licensedUsers": users, "licenses": []map[string]any{{"sku": "SPE_E3", "assigned": users}},
		"securityScore": 60, "health": health}, http.StatusCreated).JSON(c.t, &out)
	return out.ID
}

func (c customers) get(id string) customerJSON {
	c.t.Helper()
	var out customerJSON
	c.do("GET", "/api/msp-portal/customers/"+id, nil, http.StatusOK).JSON(c.t, &out)
	return out
}

func TestCustomersAndTenants(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@customers.example")
	c := customers{t, env, org.OwnerToken}

	acme := c.customer("Acme Corp")
	if acme.Health != "unknown" || acme.TenantCount != 0 || len(acme.Warnings) != 0 {
		t.Fatalf("new customer: %+v", acme)
	}
	if dup := c.customer("ACME corp"); len(dup.Warnings) != 1 || dup.Warnings[0].Code != "duplicate-name" {
		t.Fatalf("duplicate name: %+v", dup)
	}
	prod := c.tenant("AcmeProd", 120, "healthy")
	test := c.tenant("AcmeTest", 5, "critical")
	for _, id := range []string{prod, test} {
		c.do("POST", "/api/msp-portal/customers/"+acme.ID+"/tenants", map[string]string{"tenantId": id}, http.StatusOK)
	}
	got := c.get(acme.ID)
	if got.TenantCount != 2 || got.TotalUsers != 125 || got.TotalLicenses != 125 || got.Health != "critical" || len(got.Tenants) != 2 || got.SecurityScore != 60 {
		t.Fatalf("after associating: %+v", got)
	}
	// The list shows the same columns.
	var list api.List[customerJSON]
	c.do("GET", "/api/msp-portal/customers?q=acme", nil, 200).JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].TotalUsers+list.Items[1].TotalUsers != 125 {
		t.Fatalf("list: %+v", list.Items)
	}
	// A tenant belongs to one customer.
	other := c.customer("Other")
	res := c.do("POST", "/api/msp-portal/customers/"+other.ID+"/tenants", map[string]string{"tenantId": prod}, http.StatusConflict)
	if res.Map(t)["code"] != "tenant-linked" {
		t.Fatalf("linked elsewhere: %s", res.Body)
	}
	// Health follows the tenants.
	var tn map[string]any
	c.do("GET", "/api/msp-portal/tenants/"+test, nil, 200).JSON(t, &tn)
	tn["health"] = "healthy"
	c.do("PUT", "/api/msp-portal/tenants/"+test, tn, 200)
	if got := c.get(acme.ID); got.Health != "healthy" {
		t.Fatalf("health after the tenant recovered: %s", got.Health)
	}
	// Delete refuses while tenants remain, naming the count.
	res = c.do("DELETE", "/api/msp-portal/customers/"+acme.ID, nil, http.StatusConflict)
	if m := res.Map(t); m["code"] != "customer-has-tenants" || m["tenantCount"].(float64) != 2 {
		t.Fatalf("delete with tenants: %s", res.Body)
	}
	c.do("DELETE", "/api/msp-portal/customers/"+acme.ID+"/tenants/"+test, nil, http.StatusNoContent)
	if got := c.get(acme.ID); got.TenantCount != 1 || got.TotalUsers != 120 {
		t.Fatalf("after unlinking: %+v", got)
	}
	// Archive hides, and can be undone; PUT takes the GET body.
	var body map[string]any
	c.do("GET", "/api/msp-portal/customers/"+other.ID, nil, 200).JSON(t, &body)
	body["archived"] = true
	c.do("PUT", "/api/msp-portal/customers/"+other.ID, body, 200)
	c.do("GET", "/api/msp-portal/customers", nil, 200).JSON(t, &list)
	for _, it := range list.Items {
		if it.ID == other.ID {
			t.Fatal("an archived customer is listed")
		}
	}
	c.do("GET", "/api/msp-portal/customers?archived=true", nil, 200).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != other.ID {
		t.Fatalf("archived list: %+v", list.Items)
	}
	c.do("PUT", "/api/msp-portal/customers/"+other.ID, body, http.StatusConflict) // stale version
	delete(body, "version")
	body["archived"] = false
	c.do("PUT", "/api/msp-portal/customers/"+other.ID, body, 200)
	c.do("DELETE", "/api/msp-portal/customers/"+other.ID, nil, http.StatusNoContent)
	c.do("GET", "/api/msp-portal/customers/"+other.ID, nil, http.StatusNotFound)

	// Validation names every bad field.
	res = c.do("POST", "/api/msp-portal/customers", map[string]any{"name": " ", "primaryContactEmail": "x", "phone": "call",
		"psaLinks": []map[string]string{{"connectionId": "", "type": "salesforce", "externalId": ""}}}, http.StatusBadRequest)
	for _, f := range []string{"name", "primaryContactEmail", "phone", "psaLinks[0].connectionId", "psaLinks[0].type", "psaLinks[0].externalId"} {
		if !strings.Contains(string(res.Body), `"field":"`+f+`"`) {
			t.Errorf("400 does not name %s: %s", f, res.Body)
		}
	}
	res = c.do("POST", "/api/msp-portal/tenants", map[string]any{"entraTenantId": "nope", "primaryDomain": "-", "displayName": "",
		"licensedUsers": -1, "securityScore": 101, "health": "fine"}, http.StatusBadRequest)
	for _, f := range []string{"entraTenantId", "primaryDomain", "displayName", "licensedUsers", "securityScore", "health"} {
		if !strings.Contains(string(res.Body), `"field":"`+f+`"`) {
			t.Errorf("400 does not name %s: %s", f, res.Body)
		}
	}
}

func TestTenantScope(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@scope.example")
	admin := customers{t, env, org.OwnerToken}
	a, b := admin.customer("Alpha"), admin.customer("Beta")
	ta, tb := admin.tenant("AlphaProd", 10, "healthy"), admin.tenant("BetaProd", 20, "warning")
	admin.do("POST", "/api/msp-portal/customers/"+a.ID+"/tenants", map[string]string{"tenantId": ta}, 200)
	admin.do("POST", "/api/msp-portal/customers/"+b.ID+"/tenants", map[string]string{"tenantId": tb}, 200)

	scoped := customers{t, env, env.AddScopedMember(org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{ta}}, "tech@scope.example")}
	var list api.List[customerJSON]
	scoped.do("GET", "/api/msp-portal/customers", nil, 200).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ID {
		t.Fatalf("scoped list: %+v", list.Items)
	}
	var tenants api.List[struct{ ID string }]
	scoped.do("GET", "/api/msp-portal/tenants", nil, 200).JSON(t, &tenants)
	if len(tenants.Items) != 1 || tenants.Items[0].ID != ta {
		t.Fatalf("scoped tenants: %+v", tenants.Items)
	}
	scoped.do("GET", "/api/msp-portal/customers/"+b.ID, nil, http.StatusNotFound)
	scoped.do("GET", "/api/msp-portal/tenants/"+tb, nil, http.StatusNotFound)
	scoped.do("PUT", "/api/msp-portal/tenants/"+tb, map[string]any{}, http.StatusNotFound)
	scoped.do("DELETE", "/api/msp-portal/customers/"+b.ID+"/tenants/"+tb, nil, http.StatusNotFound)
	// Creating needs all tenants; the customer in scope is editable.
	scoped.do("POST", "/api/msp-portal/customers", map[string]any{"name": "New"}, http.StatusForbidden)
	scoped.do("POST", "/api/msp-portal/tenants", map[string]any{}, http.StatusForbidden)
	var body map[string]any
	scoped.do("GET", "/api/msp-portal/customers/"+a.ID, nil, 200).JSON(t, &body)
	body["notes"] = "scoped edit"
	scoped.do("PUT", "/api/msp-portal/customers/"+a.ID, body, 200)
	// Archiving is the delete/archive/merge permission, which a Technician lacks.
	delete(body, "version")
	body["archived"] = true
	scoped.do("PUT", "/api/msp-portal/customers/"+a.ID, body, http.StatusForbidden)

	except := customers{t, env, env.AddScopedMember(org.ID, permission.Technician,
		domain.TenantScope{Mode: permission.ScopeAllExcept, TenantIDs: []string{ta}}, "except@scope.example")}
	except.do("GET", "/api/msp-portal/customers/"+a.ID, nil, http.StatusNotFound)
	except.do("GET", "/api/msp-portal/customers/"+b.ID, nil, 200)
	except.do("POST", "/api/msp-portal/customers", map[string]any{"name": "New"}, http.StatusForbidden)
}

func TestConcurrentAssociationsThroughTheAPI(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("owner@race.example")
	c := customers{t, env, org.OwnerToken}
	tn := c.tenant("Contested", 3, "healthy")
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = c.customer(fmt.Sprint("Racer ", i)).ID
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func(i int, id string) {
			defer wg.Done()
			statuses[i] = env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers/" + id + "/tenants", Token: c.tok,
				Body: map[string]string{"tenantId": tn}}).Status
		}(i, id)
	}
	wg.Wait()
	ok, total := 0, int64(0)
	for i, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusConflict {
			t.Fatalf("status %d", s)
		}
		total += c.get(ids[i]).TenantCount
	}
	if ok != 1 || total != 1 {
		t.Fatalf("%d winners, tenant counted %d times", ok, total)
	}
}
