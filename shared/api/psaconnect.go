package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/psa"
	"github.com/switchboard-msp/switchboard/shared/psa/autotask"
	"github.com/switchboard-msp/switchboard/shared/psa/connectwise"
	"github.com/switchboard-msp/switchboard/shared/psa/halopsa"
)

// Environment variables that send every PSA connection of a type to one endpoint
// instead of the host its credentials name: make run points them at the local
// stand-ins, and they are never set in a deployment.
const (
	EnvPSAConnectWiseURL        = "PSA_CONNECTWISE_URL"          // replaces the site (scheme and host)
	EnvPSAAutotaskZoneLookupURL = "PSA_AUTOTASK_ZONE_LOOKUP_URL" // replaces Autotask's zoneInformation URL
	EnvPSAHaloPSAURL            = "PSA_HALOPSA_URL"              // replaces the instance URL (…/auth, …/api)
)

// PSAEndpoints redirect PSA calls, per vendor; an empty field keeps what the
// credentials name. HTTPClient, when set, carries every call (tests).
type PSAEndpoints struct {
	ConnectWise        string
	AutotaskZoneLookup string
	HaloPSA            string
	HTTPClient         *http.Client
}

// PSAEndpointsFromEnv reads the redirections of the environment.
func PSAEndpointsFromEnv() *PSAEndpoints {
	return &PSAEndpoints{ConnectWise: os.Getenv(EnvPSAConnectWiseURL), AutotaskZoneLookup: os.Getenv(EnvPSAAutotaskZoneLookupURL),
		HaloPSA: os.Getenv(EnvPSAHaloPSAURL)}
}

// psaEndpoints is Deps.PSA, or the environment's.
func (d *Deps) psaEndpoints() *PSAEndpoints {
	if d.PSA != nil {
		return d.PSA
	}
	return PSAEndpointsFromEnv()
}

// errCredentialsUnreadable: a connection's credentials do not open (sealed under a key
// this deployment no longer has); the cause is logged, never shown.
var errCredentialsUnreadable = errors.New("the stored credentials cannot be decrypted")

// psaConnector builds the vendor connector of the PSA connection c from its opened
// credentials.
func psaConnector(ctx context.Context, d *Deps, orgID string, c domain.Connection) (psa.Connector, error) {
	creds, err := openCredentials(ctx, d, orgID, c)
	if err != nil {
		logConnectionError(ctx, c, err)
		return nil, fmt.Errorf("connection %s: %w", c.ID, errCredentialsUnreadable)
	}
	return psaConnectorWith(d.psaEndpoints(), c, creds)
}

// psaConnectorWith builds c's connector with creds, through ep.
func psaConnectorWith(ep *PSAEndpoints, c domain.Connection, creds domain.Credentials) (psa.Connector, error) {
	switch c.Type {
	case domain.ConnectionConnectWise:
		site := creds.Site
		if ep.ConnectWise != "" {
			site = ep.ConnectWise
		}
		return connectwise.New(connectwise.Config{Site: site, CompanyID: creds.CompanyID, PublicKey: creds.PublicKey,
			PrivateKey: creds.PrivateKey, ClientID: creds.ClientID, HTTPClient: ep.HTTPClient})
	case domain.ConnectionAutotask:
		// The zone is always looked up (and cached by the connector): a zone typed in
		// the credentials is only a hint of where the user is.
		return autotask.New(autotask.Config{UserName: creds.Username, Secret: creds.Secret, IntegrationCode: creds.IntegrationCode,
			ZoneLookupURL: ep.AutotaskZoneLookup, OwnerResourceID: creds.AutotaskOwnerResource(), HTTPClient: ep.HTTPClient})
	case domain.ConnectionHaloPSA:
		instance := strings.TrimRight(creds.InstanceURL, "/")
		if ep.HaloPSA != "" {
			instance = strings.TrimRight(ep.HaloPSA, "/")
		}
		return halopsa.New(halopsa.Config{AuthServer: instance + "/auth", ResourceServer: instance + "/api", Tenant: creds.Tenant,
			ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, HTTPClient: ep.HTTPClient})
	}
	return nil, fmt.Errorf("connection %s is a %s connection, not a PSA", c.ID, c.Type)
}

// checkPSA reads one page of c's companies (changed since now, so little comes back)
// to prove the credentials; nil when the PSA answered, else what went wrong.
func checkPSA(ctx context.Context, d *Deps, orgID string, c domain.Connection, now time.Time) *domain.Problem {
	creds, err := openCredentials(ctx, d, orgID, c)
	if err != nil {
		return credentialsUnreadable(ctx, c, err, now)
	}
	conn, err := psaConnectorWith(d.psaEndpoints(), c, creds)
	if err == nil {
		_, err = conn.CompaniesChangedSince(ctx, now, "")
	}
	return psaProblem(err, creds, now)
}

// psaProblem is err (from a connector) as the problem recorded and shown, nil for
// nil. Connector messages name the call and what to check; redact keeps any
// credential value out.
func psaProblem(err error, creds domain.Credentials, now time.Time) *domain.Problem {
	if err == nil {
		return nil
	}
	var rl *psa.RateLimitedError
	var un *psa.UnavailableError
	var re *psa.RequestError
	code := "psa-error"
	switch {
	case errors.Is(err, psa.ErrUnauthorized):
		code = "psa-invalid-credentials"
	case errors.Is(err, psa.ErrForbidden):
		code = "psa-forbidden"
	case errors.Is(err, psa.ErrNotFound):
		code = "psa-not-found"
	case errors.As(err, &rl):
		code = "psa-rate-limited"
	case errors.As(err, &un):
		code = "psa-unavailable"
	case errors.As(err, &re):
		code = "psa-refused"
	}
	return &domain.Problem{Code: code, Message: redact(err.Error(), creds), At: now}
}
