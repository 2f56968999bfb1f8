package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestFreshRequest(t *testing.T) {
	key := regexp.MustCompile(`"idempotency-key":"([0-9a-f]{32})"`)
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$`)
	event := func(headers map[string]string, body string) []byte {
		b, _ := json.Marshal(map[string]any{"headers": headers, "body": body})
		return b
	}
	type body = map[string]any
	for _, c := range []struct {
		name  string
		event []byte
		check func(t *testing.T, b body)
	}{
		{"keyed, no unique fields", event(map[string]string{"idempotency-key": "b97ec3abbca578e3726f610543e1e798", "x": "y"}, `{"name":"Northwind"}`),
			func(t *testing.T, b body) {
				if b["name"] != "Northwind" {
					t.Errorf("name %v", b["name"])
				}
			}},
		{"customer", event(map[string]string{"idempotency-key": "k"}, `{"externalId":"FAB-1001","psaLinks":[{"externalId":"1001","connectionId":"c"}]}`),
			func(t *testing.T, b body) {
				link := b["psaLinks"].([]any)[0].(map[string]any)
				if x := b["externalId"].(string); len(x) != len("FAB-1001-")+16 || x[:9] != "FAB-1001-" || link["externalId"] == "1001" || link["connectionId"] != "c" {
					t.Errorf("externalIds %v %v", b["externalId"], link)
				}
			}},
		{"user", event(map[string]string{"idempotency-key": "k"}, `{"email":"jamie.lee@example.com"}`),
			func(t *testing.T, b body) {
				if e := b["email"].(string); e == "jamie.lee@example.com" || !regexp.MustCompile(`^b[0-9a-f]{16}\.jamie\.lee@example\.com$`).MatchString(e) {
					t.Errorf("email %v", e)
				}
			}},
		{"tenant", event(map[string]string{"idempotency-key": "k"}, `{"entraTenantId":"8c2f0d4e-6b1a-4f3c-9d7e-2a5b8c1d0e3f"}`),
			func(t *testing.T, b body) {
				if g := b["entraTenantId"].(string); g == "8c2f0d4e-6b1a-4f3c-9d7e-2a5b8c1d0e3f" || !guid.MatchString(g) {
					t.Errorf("entraTenantId %v", g)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := freshRequest("fn", c.event), freshRequest("fn", c.event)
			ka, kb := key.FindSubmatch(a), key.FindSubmatch(b)
			if ka == nil || kb == nil || string(ka[1]) == string(kb[1]) {
				t.Fatalf("keys of %s and %s", a, b)
			}
			var ev struct {
				Headers map[string]string `json:"headers"`
				Body    string            `json:"body"`
			}
			if err := json.Unmarshal(a, &ev); err != nil {
				t.Fatal(err)
			}
			if x, ok := ev.Headers["x"]; ok && x != "y" {
				t.Errorf("other header %q", x)
			}
			var got body
			if err := json.Unmarshal([]byte(ev.Body), &got); err != nil {
				t.Fatal(err)
			}
			c.check(t, got)
		})
	}
	// An event with none of them is handed out as it is.
	plain := []byte(`{"headers":{"x":"y"},"body":"{\"name\":\"n\"}"}`)
	if got := freshRequest("fn", plain); string(got) != string(plain) {
		t.Errorf("plain event became %s", got)
	}
	// A token's times are now's: signed in just before the request.
	signed := []byte(`{"requestContext":{"authorizer":{"jwt":{"claims":{"auth_time":"1700000000","iat":"1700000000","exp":"1700003600","sub":"s"}}}}}`)
	var ev struct {
		RequestContext struct {
			Authorizer struct {
				JWT struct {
					Claims map[string]string `json:"claims"`
				} `json:"jwt"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	before := time.Now().Unix()
	if err := json.Unmarshal(freshRequest("fn", signed), &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.RequestContext.Authorizer.JWT.Claims
	at, _ := strconv.ParseInt(c["auth_time"], 10, 64)
	exp, _ := strconv.ParseInt(c["exp"], 10, 64)
	if at < before || c["iat"] != c["auth_time"] || exp != at+3600 || c["sub"] != "s" {
		t.Errorf("claims %v", c)
	}
}
