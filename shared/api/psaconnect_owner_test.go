package api

import (
	"context"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// TestAutotaskOwnerResourceSetting: companies created through an Autotask connection
// are owned by its ownerResourceId, 4 when it names none; the stand-in refuses any
// other owner than its own, as Autotask refuses an unknown resource.
func TestAutotaskOwnerResourceSetting(t *testing.T) {
	at := psastandin.NewAutotask()
	t.Cleanup(at.Close)
	at.OwnerResourceID = 29
	ep := &PSAEndpoints{AutotaskZoneLookup: at.ZoneLookupURL()}
	conn := domain.Connection{ID: "c1", Type: domain.ConnectionAutotask}
	owner := int64(29)
	cases := []struct {
		name  string
		owner *int64
		ok    bool
	}{
		{"the connection's owner", &owner, true},
		{"the default, 4, which this instance does not have", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds := domain.Credentials{Username: at.UserName, Secret: at.Secret, IntegrationCode: at.IntegrationCode, OwnerResourceID: c.owner}
			conn, err := psaConnectorWith(ep, conn, creds)
			if err != nil {
				t.Fatal(err)
			}
			_, err = conn.CreateCompany(context.Background(), psa.Company{Name: "Owned Co", Phone: "+1 555 0100"})
			if (err == nil) != c.ok {
				t.Fatalf("create: %v, want ok %v", err, c.ok)
			}
		})
	}
}

func TestAutotaskOwnerResourceValidation(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	cases := []struct {
		name, typ string
		owner     *int64
		bad       bool
	}{
		{"unset", domain.ConnectionAutotask, nil, false},
		{"a resource id", domain.ConnectionAutotask, n(29), false},
		{"zero", domain.ConnectionAutotask, n(0), true},
		{"negative", domain.ConnectionAutotask, n(-4), true},
		{"beyond 32 bits", domain.ConnectionAutotask, n(1 << 31), true},
		{"on ConnectWise", domain.ConnectionConnectWise, n(29), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v problem.Validation
			domain.Credentials{OwnerResourceID: c.owner}.Validate(&v, c.typ, "credentials.")
			pe, _ := v.Err().(*problem.Error)
			named := false
			if pe != nil {
				for _, f := range pe.Fields {
					named = named || f.Field == "credentials.ownerResourceId"
				}
			}
			if named != c.bad {
				t.Errorf("ownerResourceId named: %v, want %v (%v)", named, c.bad, v.Err())
			}
		})
	}
}
