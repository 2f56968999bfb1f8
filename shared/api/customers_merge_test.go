package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/audit"
)

func TestMergeCustomers(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@merge.example")
	c := customers{t, env, org.OwnerToken}
	link := func(conn, ext string) map[string]string {
		return map[string]string{"connectionId": conn, "type": "connectwise", "externalId": ext}
	}
	var target, source customerJSON
	c.do("POST", "/api/msp-portal/customers", map[string]any{"name": "Contoso", "psaLinks": []any{link("cw", "1")}}, 201).JSON(t, &target)
	c.do("POST", "/api/msp-portal/customers", map[string]any{"name": "Contoso (dup)",
		"psaLinks": []any{link("cw", "2"), link("at", "9")}}, 201).JSON(t, &source)
	t1, t2 := c.tenant("MergeOne", 10, "healthy"), c.tenant("MergeTwo", 5, "critical")
	t3 := c.tenant("MergeThree", 1, "healthy")
	c.do("POST", "/api/msp-portal/customers/"+target.ID+"/tenants", map[string]string{"tenantId": t3}, 200)
	for _, id := range []string{t1, t2} {
		c.do("POST", "/api/msp-portal/customers/"+source.ID+"/tenants", map[string]string{"tenantId": id}, 200)
	}
	c.do("POST", "/api/msp-portal/customers/"+source.ID+"/contacts", map[string]any{"name": "Dana Dup", "email": "dana@contoso.example"}, 201)

	// A merge that died after moving one tenant: the next run finishes the rest.
	if err := env.Store.MoveTenant(context.Background(), org.ID, t1, source.ID, target.ID,
		audit.Event{Category: audit.Tenant, Action: "tenant.move"}); err != nil {
		t.Fatal(err)
	}
	c.do("POST", "/api/msp-portal/customers/"+target.ID+"/merge", map[string]string{"sourceCustomerId": target.ID}, http.StatusBadRequest)
	c.do("POST", "/api/msp-portal/customers/"+target.ID+"/merge", map[string]string{"sourceCustomerId": "nope"}, http.StatusNotFound)
	var started jobJSON
	c.do("POST", "/api/msp-portal/customers/"+target.ID+"/merge", map[string]string{"sourceCustomerId": source.ID}, http.StatusAccepted).JSON(t, &started)
	j := c.waitJob(started.ID)
	if j.Status != "succeeded" || len(j.Errors) != 1 || j.Errors[0].Field != "psaLinks" {
		t.Fatalf("merge job: %+v", j)
	}
	got := c.get(target.ID)
	if got.TenantCount != 3 || got.TotalUsers != 16 || got.Health != "critical" || len(got.Tenants) != 3 {
		t.Fatalf("target after merge: %+v", got)
	}
	var full map[string]any
	c.do("GET", "/api/msp-portal/customers/"+target.ID, nil, 200).JSON(t, &full)
	if links := full["psaLinks"].([]any); len(links) != 2 {
		t.Fatalf("links after merge (target's cw kept, at moved): %v", links)
	}
	var contacts struct {
		Items []map[string]any `json:"items"`
	}
	c.do("GET", "/api/msp-portal/customers/"+target.ID+"/contacts", nil, 200).JSON(t, &contacts)
	if len(contacts.Items) != 1 {
		t.Fatalf("contacts after merge: %+v", contacts.Items)
	}
	c.do("GET", "/api/msp-portal/customers/"+source.ID, nil, http.StatusNotFound)
	// The moved link's claim belongs to the target now: a new customer cannot take it.
	c.do("POST", "/api/msp-portal/customers", map[string]any{"name": "Thief", "psaLinks": []any{link("at", "9")}}, http.StatusConflict)
	// A Technician may not merge.
	tech := customers{t, env, env.AddMember(org.ID, "Technician", "tech@merge.example")}
	tech.do("POST", "/api/msp-portal/customers/"+target.ID+"/merge", map[string]string{"sourceCustomerId": source.ID}, http.StatusForbidden)
}
