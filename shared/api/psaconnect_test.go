package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
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
