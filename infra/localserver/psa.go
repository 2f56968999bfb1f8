package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/switchboard-msp/switchboard/infra/psastandin"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/psa"
)

// psaStandinAddrs are where the PSA stand-ins listen (ConnectWise, Autotask, HaloPSA):
// run fixes them (README's curl lines name them); tests take any free port.
var psaStandinAddrs = [3]string{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"}

// makeRunPSAAddrs are make run's stand-in addresses.
var makeRunPSAAddrs = [3]string{"127.0.0.1:3101", "127.0.0.1:3102", "127.0.0.1:3103"}

// startPSA points deps at the ConnectWise, Autotask and HaloPSA stand-ins, seeded with
// the demo companies, unless a PSA_* variable names other endpoints; it answers what is
// in use and a function that stops the stand-ins.
func startPSA(deps *api.Deps) (string, func(), error) {
	if ep := api.PSAEndpointsFromEnv(); ep.ConnectWise != "" || ep.AutotaskZoneLookup != "" || ep.HaloPSA != "" {
		deps.PSA = ep
		return "PSA_CONNECTWISE_URL / PSA_AUTOTASK_ZONE_LOOKUP_URL / PSA_HALOPSA_URL", func() {}, nil
	}
	cw, err := standinOn(psaStandinAddrs[0], psastandin.NewConnectWiseOn, psastandin.NewConnectWise)
	if err != nil {
		return "", nil, err
	}
	at, err := standinOn(psaStandinAddrs[1], psastandin.NewAutotaskOn, psastandin.NewAutotask)
	if err != nil {
		cw.Close()
		return "", nil, err
	}
	halo, err := standinOn(psaStandinAddrs[2], psastandin.NewHaloPSAOn, psastandin.NewHaloPSA)
	if err != nil {
		cw.Close()
		at.Close()
		return "", nil, err
	}
	for _, s := range []psaSeeder{cw, at, halo} {
		first := s.Seed(psastandin.DemoCompanies()...)[0]
		s.SeedContacts(psastandin.DemoContacts(first.ID)...)
	}
	deps.PSA = &api.PSAEndpoints{ConnectWise: cw.URL(), AutotaskZoneLookup: at.ZoneLookupURL(), HaloPSA: halo.URL()}
	desc := fmt.Sprintf("ConnectWise %s, Autotask %s, HaloPSA %s (stand-ins)", cw.URL(), at.URL(), halo.URL())
	return desc, func() { cw.Close(); at.Close(); halo.Close() }, nil
}

// psaSeeder is what the demo seeds through, on each stand-in.
type psaSeeder interface {
	Seed(...psa.Company) []psa.Company
	SeedContacts(...psa.Contact) []psa.Contact
}

// standinOn starts a stand-in on addr, or on any free port when addr is taken (a
// second make run), saying so.
func standinOn[T any](addr string, on func(string) (T, error), anyPort func() T) (T, error) {
	s, err := on(addr)
	if err == nil || strings.HasSuffix(addr, ":0") {
		return s, err
	}
	slog.Warn("PSA stand-in address taken; using a free port", "addr", addr, "err", err.Error())
	return anyPort(), nil
}
