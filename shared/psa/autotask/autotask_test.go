package autotask_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/psa/autotask"
	"github.com/switchboard-msp/switchboard/shared/psa/psatest"
)

func connect(t *testing.T, retry psa.Retry, pageSize int, bad bool) (*psastandin.Autotask, *autotask.Connector) {
	si := psastandin.NewAutotask()
	t.Cleanup(si.Close)
	cfg := autotask.Config{UserName: si.UserName, Secret: si.Secret, IntegrationCode: si.IntegrationCode,
		ZoneLookupURL: si.ZoneLookupURL(), OwnerResourceID: si.OwnerResourceID, PageSize: pageSize, Retry: retry}
	if bad {
		cfg.Secret = "wrong"
	}
	c, err := autotask.New(cfg)
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
		Statuses:         [2]string{"1", "5"},
		UnauthorizedHint: "secret and integration code",
	})
}

func TestZone(t *testing.T) {
	si, c := connect(t, psa.Retry{}, 10, false)
	ctx := context.Background()
	for range 3 {
		if _, err := c.CompaniesChangedSince(ctx, si.Seed(psa.Company{Name: "A"})[0].UpdatedAt, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := si.ZoneLookups(); n != 1 {
		t.Fatalf("%d zone look-ups for three calls, want 1 (cached)", n)
	}

	cases := []struct {
		name, user, want string
	}{
		{"unknown user", "nobody@contoso.example", "no zone knows the API user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad, err := autotask.New(autotask.Config{UserName: tc.user, Secret: "s", IntegrationCode: "c", ZoneLookupURL: si.ZoneLookupURL()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = bad.Company(ctx, "1")
			if !errors.Is(err, psa.ErrUnauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestRefusalsAreNotRetried(t *testing.T) {
	si, c := connect(t, psa.Retry{}, 10, false)
	before := si.Requests()
	// No phone: Autotask refuses with 500 and an errors array, which is no outage.
	_, err := c.CreateCompany(context.Background(), psa.Company{Name: "No Phone"})
	var refused *psa.RequestError
	if !errors.As(err, &refused) || psa.Temporary(err) || !strings.Contains(err.Error(), "phone") {
		t.Fatalf("a refused create: %v", err)
	}
	if n := si.Requests() - before; n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
