package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// psaStandins are the three PSA stand-ins of a test, with Deps.PSA pointed at them.
type psaStandins struct {
	cw   *psastandin.ConnectWise
	at   *psastandin.Autotask
	halo *psastandin.HaloPSA
}

// startPSAStandins starts the stand-ins and sends every PSA connection of env to them.
func startPSAStandins(t *testing.T, env *testenv.Env) *psaStandins {
	t.Helper()
	s := &psaStandins{cw: psastandin.NewConnectWise(), at: psastandin.NewAutotask(), halo: psastandin.NewHaloPSA()}
	t.Cleanup(s.cw.Close)
	t.Cleanup(s.at.Close)
	t.Cleanup(s.halo.Close)
	env.Deps.PSA = &api.PSAEndpoints{ConnectWise: s.cw.URL(), AutotaskZoneLookup: s.at.ZoneLookupURL(), HaloPSA: s.halo.URL()}
	return s
}

// psaVendors are the PSA connection types.
var psaVendors = []string{"connectwise", "autotask", "halopsa"}

// psaConnectionBody is a POST /api/connections of a PSA connection the stand-ins
// accept; the hosts are redirected to the stand-ins.
func (s *psaStandins) psaConnectionBody(vendor string) map[string]any {
	creds := map[string]map[string]any{
		"connectwise": {"site": "api-na.myconnectwise.net", "companyId": s.cw.CompanyID, "publicKey": s.cw.PublicKey,
			"privateKey": s.cw.PrivateKey, "clientId": s.cw.ClientID},
		"autotask": {"username": s.at.UserName, "secret": s.at.Secret, "integrationCode": s.at.IntegrationCode},
		"halopsa":  {"instanceUrl": "https://contoso.halopsa.com", "clientId": s.halo.ClientID, "clientSecret": s.halo.ClientSecret},
	}[vendor]
	return map[string]any{"type": vendor, "label": vendor + " stand-in", "credentials": creds}
}

// wrongSecret is the body of rotated credentials the vendor refuses.
func (s *psaStandins) wrongCredentials(vendor, wrong string) map[string]any {
	body := s.psaConnectionBody(vendor)
	creds := body["credentials"].(map[string]any)
	switch vendor {
	case "connectwise":
		creds["privateKey"] = wrong
	case "autotask":
		creds["secret"] = wrong
	default:
		creds["clientSecret"] = wrong
	}
	return body
}

// connectPSA adds vendor's connection through the API and answers its id.
func connectPSA(t *testing.T, w *world, s *psaStandins, vendor string) string {
	t.Helper()
	h := map[string]string{api.HeaderOrganization: w.org.ID}
	res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections", Token: w.tokens["Owner"], Headers: h, Body: s.psaConnectionBody(vendor)})
	if res.Status != http.StatusCreated {
		t.Fatalf("connect %s: %d %s", vendor, res.Status, res.Body)
	}
	var c struct{ ID string }
	res.JSON(t, &c)
	return c.ID
}

func TestPSAConnectionTestReachesThePSA(t *testing.T) {
	w := newWorld(t)
	s := startPSAStandins(t, w.env)
	h := map[string]string{api.HeaderOrganization: w.org.ID}
	for _, vendor := range psaVendors {
		t.Run(vendor, func(t *testing.T) {
			id := connectPSA(t, w, s, vendor)
			res := w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections/" + id + "/test", Token: w.tokens["Owner"], Headers: h})
			body := string(res.Body)
			if res.Status != http.StatusOK || !strings.Contains(body, `"ok":true`) || !strings.Contains(body, `"checked":true`) ||
				!strings.Contains(body, `"status":"connected"`) {
				t.Fatalf("test: %d %s", res.Status, body)
			}
			// Credentials the PSA refuses: failed, with the vendor's hint and no secret.
			wrong := "wrong-secret-value-0123456789"
			put := s.wrongCredentials(vendor, wrong)
			put["version"] = 2
			if res := w.env.Do(testenv.Request{Method: "PUT", Path: "/api/connections/" + id, Token: w.tokens["Owner"], Headers: h, Body: put}); res.Status != http.StatusOK {
				t.Fatalf("rotate: %d %s", res.Status, res.Body)
			}
			res = w.env.Do(testenv.Request{Method: "POST", Path: "/api/connections/" + id + "/test", Token: w.tokens["Owner"], Headers: h})
			body = string(res.Body)
			if res.Status != http.StatusOK || !strings.Contains(body, `"ok":false`) || !strings.Contains(body, "psa-invalid-credentials") ||
				!strings.Contains(body, `"status":"failed"`) || !strings.Contains(body, "check") {
				t.Fatalf("test with refused credentials: %d %s", res.Status, body)
			}
			if strings.Contains(body, wrong) {
				t.Fatalf("the answer holds the secret: %s", body)
			}
		})
	}
}

// worldStandins are each world's PSA stand-ins, started on first use (the fixtures
// run in subtests, so they live as long as the test binary).
var worldStandins sync.Map // *world → *psaStandins

// psa is w's stand-ins, with Deps.PSA pointed at them.
func (w *world) psa() *psaStandins {
	if s, ok := worldStandins.Load(w); ok {
		return s.(*psaStandins)
	}
	s := &psaStandins{cw: psastandin.NewConnectWise(), at: psastandin.NewAutotask(), halo: psastandin.NewHaloPSA()}
	w.env.Deps.PSA = &api.PSAEndpoints{ConnectWise: s.cw.URL(), AutotaskZoneLookup: s.at.ZoneLookupURL(), HaloPSA: s.halo.URL()}
	worldStandins.Store(w, s)
	return s
}

// worldPSAConnections holds each (world, organization)'s fixture PSA connection: the
// authorization tests ask for one per route and role, which would exceed the plan's
// connections limit, and no PSA route deletes its connection.
var worldPSAConnections sync.Map

type worldOrg struct {
	w     *world
	orgID string
}

// fixturePSAConnection is orgID's ConnectWise connection to the world's stand-in,
// written through the store on first use; it returns its id.
func fixturePSAConnection(t *testing.T, w *world, orgID string, _ map[string]string) string {
	t.Helper()
	if id, ok := worldPSAConnections.Load(worldOrg{w, orgID}); ok {
		return id.(string)
	}
	s := w.psa()
	ctx := context.Background()
	now := time.Now().UTC()
	c := domain.Connection{ID: domain.NewID(), Type: domain.ConnectionConnectWise, Label: "Fixture ConnectWise", Status: domain.ConnectionUntested,
		CreatedAt: now, UpdatedAt: now, RotatedAt: now, Hint: domain.Hint(s.cw.PrivateKey)}
	plain, _ := json.Marshal(domain.Credentials{Site: "api-na.myconnectwise.net", CompanyID: s.cw.CompanyID, PublicKey: s.cw.PublicKey,
		PrivateKey: s.cw.PrivateKey, ClientID: s.cw.ClientID})
	var err error
	if c.Sealed, err = envelope.Seal(ctx, w.env.Deps.Keys, plain, c.EncryptionContext(orgID)); err != nil {
		t.Fatal(err)
	}
	if err := w.env.Store.CreateConnection(ctx, orgID, c, audit.Event{Category: audit.Settings, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	worldPSAConnections.Store(worldOrg{w, orgID}, c.ID)
	return c.ID
}

// fixtureHeldConflict links a new customer of orgID to a new company of the stand-in
// on the path's PSA connection, holds a conflict of them, and returns the company's id.
func fixtureHeldConflict(t *testing.T, w *world, orgID string, params map[string]string) string {
	t.Helper()
	conn := params["psaConnectionId"]
	if conn == "" || conn == "no-such-org" {
		return "1"
	}
	ctx := context.Background()
	company := w.psa().cw.Seed(psa.Company{Name: "Held Co (PSA)", Phone: "+1 555 0100"})[0]
	cu := domain.Customer{ID: domain.NewID(), Name: "Held Co", CreatedAt: time.Now().UTC(),
		PSALinks: []domain.PSALink{{ConnectionID: conn, Type: domain.ConnectionConnectWise, ExternalID: company.ID}}}
	if err := w.env.Store.CreateCustomer(ctx, orgID, cu, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	h := domain.PSAHeldConflict{ExternalID: company.ID, CustomerID: cu.ID, CustomerName: cu.Name, Local: domain.PSAFields{Name: cu.Name},
		PSA: domain.PSAFields{Name: company.Name, Phone: company.Phone}, DetectedAt: time.Now().UTC()}
	if err := w.env.Store.PutPSAHeld(ctx, orgID, conn, h, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return company.ID
}

// fixturePSAMatch writes a customer of orgID and seeds a company of the world's
// ConnectWise stand-in, both unlinked, and answers them as a match to accept.
func fixturePSAMatch(t *testing.T, w *world, orgID string) map[string]any {
	t.Helper()
	company := w.psa().cw.Seed(psa.Company{Name: "Match Co", Phone: "+1 555 0100"})[0]
	cu := domain.Customer{ID: domain.NewID(), Name: "Match Co", CreatedAt: time.Now().UTC()}
	if err := w.env.Store.CreateCustomer(context.Background(), orgID, cu, audit.Event{Category: audit.Customer, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"customerId": cu.ID, "externalId": company.ID}
}
