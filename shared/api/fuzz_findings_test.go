package api_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
)

// Regression tests of what the API fuzzing gate (infra/stack/fuzz-api.sh) found.

// TestIdempotencyKeyCoversThePath: one Idempotency-Key sent with the same body to two
// paths of one route (another customer, another member) is a different request, a 409,
// not a replay of the first path's result (the fuzzer saw POST .../<nonexistent id>/resend
// answer 200 with another member's invitation).
func TestIdempotencyKeyCoversThePath(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@idem-path.example")
	c := customers{t, env, org.OwnerToken}
	a, b := c.customer("Alpha"), c.customer("Beta")
	post := func(customerID string) *testenv.Response {
		return env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers/" + customerID + "/contacts",
			Token: org.OwnerToken, Body: map[string]any{"name": "Pat"}, Headers: map[string]string{api.HeaderIdempotencyKey: "same-key"}})
	}
	if res := post(a.ID); res.Status != http.StatusCreated {
		t.Fatalf("first: %d %s", res.Status, res.Body)
	}
	if res := post(a.ID); res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat on the same path: %d %s", res.Status, res.Body)
	}
	res := post(b.ID)
	if res.Status != http.StatusConflict || res.Map(t)["code"] != "idempotency-key-reused" {
		t.Fatalf("same key and body on another customer: %d %s", res.Status, res.Body)
	}
	var list api.List[map[string]any]
	c.do("GET", "/api/msp-portal/customers/"+b.ID+"/contacts", nil, http.StatusOK).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("the other customer got contacts: %+v", list.Items)
	}
}

// TestAuditChangeFromAnEmptyList: a customer's PSA links changed from none to some
// makes an audit change whose "from" is an empty list. The embedded engine read that
// list back as an empty attribute value: the activity showed "from": "psaLinks" (the
// SDK decodes it as a copy of a neighbour), and the fuzzer's table ended up failing
// every later Query with a 500. The change reads back as null; other reads still work.
func TestAuditChangeFromAnEmptyList(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	org := env.NewOrg("owner@empty-list.example")
	c := customers{t, env, org.OwnerToken}
	a, b := c.customer("Alpha"), c.customer("Beta")
	c.do("PUT", "/api/msp-portal/customers/"+a.ID, map[string]any{"name": "Alpha",
		"psaLinks": []any{map[string]any{"type": "autotask", "connectionId": "c1", "externalId": "42"}}}, http.StatusOK)
	var activity struct {
		Items []struct {
			Action  string
			Changes []struct {
				Field    string
				From, To any
			}
		}
	}
	c.do("GET", "/api/msp-portal/customers/"+a.ID+"/activity", nil, http.StatusOK).JSON(t, &activity)
	found := false
	for _, ev := range activity.Items {
		for _, ch := range ev.Changes {
			if ch.Field != "psaLinks" {
				continue
			}
			found = true
			if from, ok := ch.From.([]any); ch.From != nil && (!ok || len(from) != 0) {
				t.Errorf("psaLinks changed from %#v, want null or []", ch.From)
			}
			if to, ok := ch.To.([]any); !ok || len(to) != 1 {
				t.Errorf("psaLinks changed to %#v", ch.To)
			}
		}
	}
	if !found {
		t.Fatalf("no psaLinks change in %+v", activity.Items)
	}
	c.get(b.ID)
	c.do("GET", "/api/msp-portal/customers/"+a.ID+"/tickets", nil, http.StatusOK)
}
