package openapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// Connections and the Microsoft 365 refresh of a tenant.

const connectionsPath = "/api/connections"

// isConnectionRoute reports whether TestConnectionsConformToTheDocument observes the
// statuses of a route.
func isConnectionRoute(path string) bool {
	return strings.HasPrefix(path, connectionsPath) || strings.HasSuffix(path, "/refresh")
}

// fillConnection puts the connection and tenant of the body steps into a path.
func (w *world) fillConnection(path string) string {
	return strings.NewReplacer("{connectionId}", w.state["conn"], "{tenantId}", w.state["tenant"]).Replace(path)
}

// graphTenant registers a tenant of alpha whose Entra tenant the Graph stand-in knows,
// and returns its id and the app's credentials.
func (w *world) graphTenant(name string) (id, clientID, secret string) {
	id = w.fixtureTenant(w.alpha.ID, name)
	tn, err := w.env.Store.GetTenant(context.Background(), w.alpha.ID, id)
	if err != nil {
		panic(err)
	}
	clientID, secret = w.env.GraphTenant(tn.EntraTenantID)
	return id, clientID, secret
}

func m365Body(tenantID, clientID, secret string) map[string]any {
	return map[string]any{"type": "m365", "label": "Graph app", "tenantId": tenantID,
		"credentials": map[string]any{"clientId": clientID, "clientSecret": secret}}
}

// TestConnectionsConformToTheDocument drives the connections and the refresh through
// every documented status (the 503s are faults_test.go's).
func TestConnectionsConformToTheDocument(t *testing.T) {
	w := newWorld(t)
	tenant, clientID, secret := w.graphTenant("Connected")
	w.state["tenant"] = tenant
	w.state["bare-tenant"] = w.fixtureTenant(w.alpha.ID, "Without a connection")
	res := w.env.Do(w.at("Owner", "POST", connectionsPath, m365Body(tenant, clientID, secret)))
	if res.Status != 201 {
		t.Fatalf("fixture connection: %d %s", res.Status, res.Body)
	}
	var c struct{ ID string }
	res.JSON(t, &c)
	w.state["conn"] = c.ID
	other, otherClient, otherSecret := w.graphTenant("To delete")
	key := "conn-" + domain.NewID()
	conn := func(w *world) string { return connectionsPath + "/" + w.state["conn"] }
	steps := []step{
		{name: "list", want: 200, req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", connectionsPath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if strings.Contains(string(res.Body), `"status"`) || strings.Contains(string(res.Body), secret) {
					t.Errorf("Read-Only sees more than label and type: %s", res.Body)
				}
			}},
		{name: "list with limit=0", want: 400, code: "validation", fields: []string{"limit"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", connectionsPath+"?limit=0", nil) }},
		{name: "list without a token", want: 401, req: func(w *world) testenv.Request { return w.at("", "GET", connectionsPath, nil) }},
		{name: "list without view-data", want: 403, req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", connectionsPath, nil) }},
		{name: "list of another organization", want: 404, req: func(w *world) testenv.Request {
			return w.as("Owner", "GET", connectionsPath, nil, api.HeaderOrganization, w.beta.ID)
		}},
		{name: "create", want: 201, req: func(w *world) testenv.Request {
			return w.at("Owner", "POST", connectionsPath, m365Body(other, otherClient, otherSecret), api.HeaderIdempotencyKey, key)
		}, check: func(t *testing.T, w *world, res *testenv.Response) {
			var c struct{ ID string }
			res.JSON(t, &c)
			w.state["doomed"] = c.ID
		}},
		{name: "create again with the key and another body", want: 409, code: "idempotency-key-reused", req: func(w *world) testenv.Request {
			return w.at("Owner", "POST", connectionsPath, m365Body(w.state["bare-tenant"], otherClient, otherSecret), api.HeaderIdempotencyKey, key)
		}},
		{name: "create a second of the tenant", want: 409, code: "tenant-has-connection", req: func(w *world) testenv.Request {
			return w.at("Owner", "POST", connectionsPath, m365Body(tenant, clientID, secret))
		}},
		{name: "create without credentials", want: 400, code: "validation", fields: []string{"credentials"}, req: func(w *world) testenv.Request {
			return w.at("Owner", "POST", connectionsPath, map[string]any{"type": "autotask", "label": "AT"})
		}},
		{name: "create as Technician", want: 403, req: func(w *world) testenv.Request {
			return w.at("Technician", "POST", connectionsPath, m365Body(tenant, clientID, secret))
		}},
		{name: "create in another organization", want: 404, req: func(w *world) testenv.Request {
			return w.as("Owner", "POST", connectionsPath, m365Body(tenant, clientID, secret), api.HeaderOrganization, w.beta.ID)
		}},
		{name: "get", want: 200, req: func(w *world) testenv.Request { return w.at("Owner", "GET", conn(w), nil) }},
		{name: "get without a token", want: 401, req: func(w *world) testenv.Request { return w.at("", "GET", conn(w), nil) }},
		{name: "get without view-data", want: 403, req: func(w *world) testenv.Request { return w.at("Custom(none)", "GET", conn(w), nil) }},
		{name: "get from another organization", want: 404, req: func(w *world) testenv.Request { return w.asBeta("GET", conn(w), nil) }},
		{name: "test", want: 200, req: func(w *world) testenv.Request { return w.at("Owner", "POST", conn(w)+"/test", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				if !strings.Contains(string(res.Body), `"ok":true`) {
					t.Errorf("test: %s", res.Body)
				}
			}},
		{name: "test without a token", want: 401, req: func(w *world) testenv.Request { return w.at("", "POST", conn(w)+"/test", nil) }},
		{name: "test as Read-Only", want: 403, req: func(w *world) testenv.Request { return w.at("Read-Only", "POST", conn(w)+"/test", nil) }},
		{name: "test another organization's", want: 404, req: func(w *world) testenv.Request { return w.asBeta("POST", conn(w)+"/test", nil) }},
		{name: "test again with the key on another connection", want: 409, code: "idempotency-key-reused", req: func(w *world) testenv.Request {
			w.env.Do(w.at("Owner", "POST", conn(w)+"/test", nil, api.HeaderIdempotencyKey, key+"-test"))
			return w.at("Owner", "POST", connectionsPath+"/"+w.state["doomed"]+"/test", nil, api.HeaderIdempotencyKey, key+"-test")
		}},
		{name: "refresh", want: 200, req: func(w *world) testenv.Request {
			return w.at("Technician", "POST", "/api/msp-portal/tenants/"+w.state["tenant"]+"/refresh", nil)
		}, check: func(t *testing.T, w *world, res *testenv.Response) {
			if !strings.Contains(string(res.Body), `"licensedUsers":5`) {
				t.Errorf("refresh: %s", res.Body)
			}
		}},
		{name: "refresh throttled", want: 502, code: "graph-throttled", req: func(w *world) testenv.Request {
			w.env.Graph.Throttle(100, 1)
			return w.at("Owner", "POST", "/api/msp-portal/tenants/"+w.state["tenant"]+"/refresh", nil)
		}, check: func(*testing.T, *world, *testenv.Response) {}},
		{name: "refresh without a connection", want: 409, code: "no-m365-connection", req: func(w *world) testenv.Request {
			w.env.Graph.Throttle(0, 0)
			return w.at("Owner", "POST", "/api/msp-portal/tenants/"+w.state["bare-tenant"]+"/refresh", nil)
		}},
		{name: "refresh without a token", want: 401, req: func(w *world) testenv.Request {
			return w.at("", "POST", "/api/msp-portal/tenants/"+w.state["tenant"]+"/refresh", nil)
		}},
		{name: "refresh as Read-Only", want: 403, req: func(w *world) testenv.Request {
			return w.at("Read-Only", "POST", "/api/msp-portal/tenants/"+w.state["tenant"]+"/refresh", nil)
		}},
		{name: "refresh another organization's", want: 404, req: func(w *world) testenv.Request {
			return w.asBeta("POST", "/api/msp-portal/tenants/"+w.state["tenant"]+"/refresh", nil)
		}},
		{name: "rotate", want: 200, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", conn(w), map[string]any{"label": "Graph app", "credentials": map[string]any{"clientId": clientID, "clientSecret": secret}})
		}},
		{name: "rotate with a stale version", want: 409, code: "stale-version", req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", conn(w), map[string]any{"label": "Graph app", "version": 1})
		}},
		{name: "rename to nothing", want: 400, code: "validation", fields: []string{"label"}, req: func(w *world) testenv.Request {
			return w.at("Owner", "PUT", conn(w), map[string]any{"label": " "})
		}},
		{name: "rotate as Technician", want: 403, req: func(w *world) testenv.Request {
			return w.at("Technician", "PUT", conn(w), map[string]any{"label": "x"})
		}},
		{name: "rotate another organization's", want: 404, req: func(w *world) testenv.Request { return w.asBeta("PUT", conn(w), map[string]any{"label": "x"}) }},
		{name: "delete as Read-Only", want: 403, req: func(w *world) testenv.Request {
			return w.at("Read-Only", "DELETE", connectionsPath+"/"+w.state["doomed"], nil)
		}},
		{name: "delete without a token", want: 401, req: func(w *world) testenv.Request {
			return w.at("", "DELETE", connectionsPath+"/"+w.state["doomed"], nil)
		}},
		{name: "delete", want: 204, req: func(w *world) testenv.Request {
			return w.at("Owner", "DELETE", connectionsPath+"/"+w.state["doomed"], nil)
		}},
		{name: "delete again", want: 404, req: func(w *world) testenv.Request {
			return w.at("Owner", "DELETE", connectionsPath+"/"+w.state["doomed"], nil)
		}},
	}
	for _, rt := range []api.Route{api.ConnectionsCreate, api.ConnectionsUpdate} {
		steps = append(steps, step{name: rt.Pattern() + " without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request {
				return w.at("", rt.Method, w.fillConnection(rt.Path), map[string]any{})
			}})
		steps = append(steps, bodyFaultSteps(rt, func(w *world, role string, body any, ct string) testenv.Request {
			r := w.at(role, rt.Method, w.fillConnection(rt.Path), body)
			if ct != "" {
				r.Headers["Content-Type"] = ct
			}
			return r
		}, "label")...)
	}
	steps = append(steps, reasonSteps(isConnectionRoute, func(w *world, path string) string { return w.fillConnection(path) })...)
	if !w.run(t, steps) {
		return
	}
	for _, m := range w.chk.Unobserved("500", "503", "429") {
		if _, path, _ := strings.Cut(m, " "); isConnectionRoute(strings.Fields(path)[0]) {
			t.Errorf("documented but never observed: %s", m)
		}
	}
}
