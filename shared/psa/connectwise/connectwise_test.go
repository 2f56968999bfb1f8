package connectwise_test

import (
	"context"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/psa/connectwise"
	"github.com/switchboard-msp/switchboard/shared/psa/psatest"
)

func connect(t *testing.T, retry psa.Retry, pageSize int, bad bool) (*psastandin.ConnectWise, *connectwise.Connector) {
	si := psastandin.NewConnectWise()
	t.Cleanup(si.Close)
	cfg := connectwise.Config{Site: si.URL(), CompanyID: si.CompanyID, PublicKey: si.PublicKey, PrivateKey: si.PrivateKey,
		ClientID: si.ClientID, PageSize: pageSize, Retry: retry}
	if bad {
		cfg.PrivateKey = "wrong"
	}
	c, err := connectwise.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return si, c
}

func TestConformance(t *testing.T) {
	psatest.Run(t, psatest.Harness{
		New: func(t *testing.T, retry psa.Retry, pageSize int, bad bool) (psatest.StandIn, psa.Connector) {
			return connect(t, retry, pageSize, bad)
		},
		Statuses:         [2]string{"New", "In Progress"},
		UnauthorizedHint: "public and private keys",
	})
}

func TestConfigAndIDs(t *testing.T) {
	cases := []struct {
		name string
		cfg  connectwise.Config
		ok   bool
	}{
		{"complete", connectwise.Config{Site: "api-na.myconnectwise.net", CompanyID: "c", PublicKey: "p", PrivateKey: "k", ClientID: "id"}, true},
		{"no clientId", connectwise.Config{Site: "api-na.myconnectwise.net", CompanyID: "c", PublicKey: "p", PrivateKey: "k"}, false},
		{"no site", connectwise.Config{CompanyID: "c", PublicKey: "p", PrivateKey: "k", ClientID: "id"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := connectwise.New(tc.cfg); (err == nil) != tc.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
	_, c := connect(t, psa.Retry{}, 10, false)
	if _, err := c.Company(context.Background(), "not-a-number"); err == nil {
		t.Fatal("a non-numeric id was accepted")
	}
}
