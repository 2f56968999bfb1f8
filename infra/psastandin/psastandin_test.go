package psastandin

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

// TestVendorAnswers checks the stand-ins' own answers, as raw HTTP, against the
// vendors' documented shapes (docs/psa.md), independently of the connectors.
func TestVendorAnswers(t *testing.T) {
	cw := NewConnectWise()
	defer cw.Close()
	at := NewAutotask()
	defer at.Close()
	halo := NewHaloPSA()
	defer halo.Close()
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cw.Seed(psa.Company{Name: "Old Co", UpdatedAt: old}, psa.Company{Name: "New Co", UpdatedAt: old.Add(48 * time.Hour)})
	at.Seed(psa.Company{Name: "A", Phone: "1"}, psa.Company{Name: "B", Phone: "2"}, psa.Company{Name: "C", Phone: "3"})

	cwAuth := func(r *http.Request) {
		r.SetBasicAuth("contoso+pub", "priv")
		r.Header.Set("clientId", "stand-in-client")
	}
	atAuth := func(r *http.Request) {
		r.Header.Set("ApiIntegrationCode", at.IntegrationCode)
		r.Header.Set("UserName", at.UserName)
		r.Header.Set("Secret", at.Secret)
	}
	cases := []struct {
		name, method, url, body string
		auth                    func(*http.Request)
		status                  int
		contains                []string
		lacks                   string
	}{
		{"cw: no clientId", "GET", cw.URL() + cwBase + "company/companies", "", func(r *http.Request) { r.SetBasicAuth("contoso+pub", "priv") }, 401, []string{`"code":"Unauthorized"`, "clientId"}, ""},
		{"cw: wrong private key", "GET", cw.URL() + cwBase + "company/companies", "", func(r *http.Request) {
			r.SetBasicAuth("contoso+pub", "nope")
			r.Header.Set("clientId", "stand-in-client")
		}, 401, []string{`"message"`}, ""},
		{"cw: conditions on lastUpdated", "GET", cw.URL() + cwBase + "company/companies?" + url.Values{"conditions": {"lastUpdated > [2024-01-02T00:00:00Z]"}}.Encode(), "", cwAuth, 200, []string{`"New Co"`, `"_info":{"lastUpdated":"2024-01-03T00:00:00Z"}`}, "Old Co"},
		{"cw: a page past the end is empty", "GET", cw.URL() + cwBase + "company/companies?page=5&pageSize=10", "", cwAuth, 200, []string{"[]"}, ""},
		{"cw: pageSize above 1000", "GET", cw.URL() + cwBase + "company/companies?pageSize=1001", "", cwAuth, 400, []string{"InvalidObject"}, ""},
		{"cw: unreadable conditions", "GET", cw.URL() + cwBase + "company/companies?conditions=" + url.QueryEscape("lastUpdated ~ 3"), "", cwAuth, 400, []string{"cannot read"}, ""},
		{"cw: PATCH the address and the country by name", "PATCH", cw.URL() + cwBase + "company/companies/100",
			`[{"op":"replace","path":"city","value":"Springfield"},{"op":"replace","path":"country","value":{"name":"Canada"}}]`, cwAuth, 200,
			[]string{`"city":"Springfield"`, `"country":{`, `"name":"Canada"`}, ""},
		{"cw: a country that is not a reference", "PATCH", cw.URL() + cwBase + "company/companies/100", `[{"op":"replace","path":"country","value":"Canada"}]`, cwAuth, 400, []string{"reference"}, ""},
		{"cw: PATCH needs JSON Patch", "PATCH", cw.URL() + cwBase + "company/companies/100", `{"name":"x"}`, cwAuth, 400, []string{"JSON Patch"}, ""},
		{"at: zone of the user", "GET", at.ZoneLookupURL() + "?user=" + url.QueryEscape(at.UserName), "", nil, 200, []string{`"url":"` + at.URL() + `/atservicesrest/"`}, ""},
		{"at: bare 401", "GET", at.URL() + "/atservicesrest/V1.0/Companies/100", "", nil, 401, nil, "errors"},
		{"at: a query needs a filter", "POST", at.URL() + "/atservicesrest/V1.0/Companies/query", `{}`, atAuth, 500, []string{`"errors"`}, ""},
		{"at: paging by nextPageUrl", "POST", at.URL() + "/atservicesrest/V1.0/Companies/query", `{"MaxRecords":2,"filter":[{"op":"exist","field":"id"}]}`, atAuth, 200, []string{`"nextPageUrl":"` + at.URL() + `/atservicesrest/v1.0/Companies/query/next?paging=`, `"count":2`}, ""},
		{"at: a missing id is a null item", "GET", at.URL() + "/atservicesrest/v1.0/Companies/9999", "", atAuth, 200, []string{`"item":null`}, ""},
		{"halo: wrong grant type", "POST", halo.AuthServer() + "/token", "grant_type=password", nil, 400, []string{"unsupported_grant_type"}, ""},
		{"halo: wrong secret", "POST", halo.AuthServer() + "/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {halo.ClientID}, "client_secret": {"x"}}.Encode(), nil, 401, []string{"invalid_client"}, ""},
		{"halo: no token", "GET", halo.ResourceServer() + "/Client", "", nil, 401, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if strings.HasSuffix(tc.url, "/token") {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.auth != nil {
				tc.auth(req)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tc.status)
			}
			for _, c := range tc.contains {
				if !strings.Contains(string(b), c) {
					t.Errorf("the answer %s lacks %s", b, c)
				}
			}
			if tc.lacks != "" && strings.Contains(string(b), tc.lacks) {
				t.Errorf("the answer %s has %s", b, tc.lacks)
			}
		})
	}
}

func TestFaultsAndSeeding(t *testing.T) {
	cw := NewConnectWise()
	defer cw.Close()
	cw.FailNext(1, 429)
	req, _ := http.NewRequest("GET", cw.URL()+cwBase+"company/companies", nil)
	req.SetBasicAuth("contoso+pub", "priv")
	req.Header.Set("clientId", cw.ClientID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("an injected 429: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	seeded := cw.Seed(psa.Company{ID: "500", Name: "Fixed id"}, psa.Company{Name: "Next"})
	if seeded[0].ID != "500" || seeded[1].ID != "501" || seeded[1].UpdatedAt.IsZero() {
		t.Fatalf("seeded %+v", seeded)
	}
	cw.Seed(psa.Company{ID: "500", Name: "Renamed in the PSA"})
	if c, _ := cw.Company("500"); c.Name != "Renamed in the PSA" || len(cw.Companies()) != 2 {
		t.Fatalf("re-seeding an id replaces it: %+v", cw.Companies())
	}
	if cw.Requests() != 1 {
		t.Fatalf("%d requests counted", cw.Requests())
	}
}

// server is what the fixed-address constructors answer.
type server interface {
	URL() string
	Close()
}

func TestOnFixedAddress(t *testing.T) {
	cases := []struct {
		name  string
		start func(addr string) (server, error)
	}{
		{"connectwise", func(a string) (server, error) { return NewConnectWiseOn(a) }},
		{"autotask", func(a string) (server, error) { return NewAutotaskOn(a) }},
		{"halopsa", func(a string) (server, error) { return NewHaloPSAOn(a) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			si, err := tc.start("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer si.Close()
			if !strings.HasPrefix(si.URL(), "http://127.0.0.1:") {
				t.Fatalf("URL %s", si.URL())
			}
			if _, err := tc.start(strings.TrimPrefix(si.URL(), "http://")); err == nil {
				t.Fatal("a second server on a taken address started")
			}
		})
	}
}
