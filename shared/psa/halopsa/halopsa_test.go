package halopsa_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/psa/halopsa"
	"github.com/switchboard-msp/switchboard/shared/psa/psatest"
)

func connect(t *testing.T, retry psa.Retry, pageSize int, bad bool) (*psastandin.HaloPSA, *halopsa.Connector) {
	si := psastandin.NewHaloPSA()
	t.Cleanup(si.Close)
	cfg := halopsa.Config{AuthServer: si.AuthServer(), ResourceServer: si.ResourceServer(), ClientID: si.ClientID,
		ClientSecret: si.ClientSecret, PageSize: pageSize, Retry: retry}
	if bad {
		cfg.ClientSecret = "wrong"
	}
	c, err := halopsa.New(cfg)
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
		Statuses:         [2]string{"1", "2"},
		FullScan:         true,
		NoAddress:        true,
		UnauthorizedHint: "client ID, the client secret",
	})
}

func TestToken(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		revoke bool
		tokens int
	}{
		{"cached across calls", false, 1},
		{"renewed once after a 401", true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			si, c := connect(t, psa.Retry{}, 10, false)
			co := si.Seed(psa.Company{Name: "Contoso"})[0]
			for i := range 3 {
				if tc.revoke && i == 2 {
					si.RevokeTokens()
				}
				if _, err := c.Company(ctx, co.ID); err != nil {
					t.Fatal(err)
				}
			}
			if n := si.TokensIssued(); n != tc.tokens {
				t.Fatalf("%d tokens issued, want %d", n, tc.tokens)
			}
		})
	}

	t.Run("wrong tenant", func(t *testing.T) {
		si := psastandin.NewHaloPSA()
		defer si.Close()
		si.Tenant = "contoso"
		c, _ := halopsa.New(halopsa.Config{AuthServer: si.AuthServer(), ResourceServer: si.ResourceServer(), Tenant: "fabrikam",
			ClientID: si.ClientID, ClientSecret: si.ClientSecret})
		_, err := c.Company(ctx, "1")
		if !errors.Is(err, psa.ErrUnauthorized) || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("%v", err)
		}
	})
}
