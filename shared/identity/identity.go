// Package identity is the seam of the Cognito admin calls Switchboard makes on its
// user pool: signing a removed member out everywhere, each organization's own Entra ID
// single sign-on provider, and native accounts for sub-organizations' default admins.
// It holds the types and the Directory interface that the API uses; identity/cognito
// makes the calls. This package links no AWS service, so a function that makes no
// Cognito call does not start a Cognito client.
//
// Authorization never depends on this package: the API reads membership from the table
// on every request. These calls tidy up what Cognito itself holds (refresh tokens,
// federation settings) where a user pool is configured.
package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Directory makes admin calls on the user pool. The API holds one where a function's
// route makes Cognito calls (lambdaentry.Identity) and nil where no user pool is
// configured. identity/cognito.Directory is the implementation.
type Directory interface {
	// GlobalSignOut signs out, on every device, each pool user whose email is email.
	// No matching user is not an error.
	GlobalSignOut(ctx context.Context, email string) error
	// PutEntraProvider creates or updates the organization's OIDC provider. Errors: a
	// 400 problem naming bad fields, ErrDomainTaken, ErrNoUserPool.
	PutEntraProvider(ctx context.Context, orgID string, cfg SSOConfig) (ProviderInfo, error)
	// ProvisionUser gives u a native account with a temporary password, or reports it
	// Existing. Errors: ErrNoUserPool.
	ProvisionUser(ctx context.Context, u PoolUser) (Credentials, error)
	// ResetPassword gives u's native account a new temporary password. Errors:
	// ErrNoUserPool.
	ResetPassword(ctx context.Context, u PoolUser) (string, error)
}

// Environment variables read by identity/cognito.FromEnv.
const (
	// EnvUserPoolID is the user pool's id; unset means no user pool is configured.
	EnvUserPoolID = "USER_POOL_ID"
	// EnvUserPoolClientID is the id of the console's app client, on which each
	// organization's provider is listed (see WithAppClient). Optional: unset, providers
	// are created but listed on no app client, so nobody can sign in through them.
	EnvUserPoolClientID = "USER_POOL_CLIENT_ID"
	// EnvCognitoEndpoint optionally overrides Cognito's endpoint (moto in tests).
	EnvCognitoEndpoint = "COGNITO_ENDPOINT"
)

// ErrNoUserPool is returned by the calls that cannot be no-ops when no user pool is
// configured (a nil *Directory).
var ErrNoUserPool = errors.New("identity: no Cognito user pool is configured")

// SSO limits; the domain ones are Cognito's limits on a provider's identifiers.
const (
	MaxSSODomains      = 50
	MaxSSODomainLength = 40
	MaxClientSecret    = 1024
)

// ErrDomainTaken is returned when an email domain is already an identifier of another
// organization's provider: Cognito routes sign-in by email domain, so a domain can
// belong to one provider of the pool only. It is a 409 problem, so the API can return it
// as is.
var ErrDomainTaken = &problem.Error{Kind: problem.Conflict, Code: "sso-domain-taken",
	Message: "an email domain is already used for single sign-on by another organization"}

// SSOConfig is an organization's Entra ID app registration that Cognito federates to.
type SSOConfig struct {
	EntraTenantID string
	ClientID      string
	// ClientSecret is write-only: never returned. Empty on an update keeps the stored one.
	ClientSecret string
	// Domains are the email domains whose people sign in through this provider.
	Domains []string
}

// Normalize trims, lower-cases the ids and domains (an "@" before a domain is dropped)
// and removes repeated domains, keeping the first spelling's order.
func (c *SSOConfig) Normalize() {
	c.EntraTenantID = strings.ToLower(strings.TrimSpace(c.EntraTenantID))
	c.ClientID = strings.ToLower(strings.TrimSpace(c.ClientID))
	// Entra secrets never hold spaces at the ends; a pasted newline would break sign-in.
	c.ClientSecret = strings.TrimSpace(c.ClientSecret)
	var domains []string
	for _, d := range c.Domains {
		d = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@"), ".")
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	c.Domains = domains
}

// The patterns compile on first use: a validation needs them, a cold start does not.
var (
	guidPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	})
	domainPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?i)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$`)
	})
)

// Validate returns the 400 problem naming every bad field (entraTenantId, clientId,
// clientSecret, domains, domains[i]), or nil. Call Normalize first. An empty
// ClientSecret is valid here: only a first set-up requires it (PutEntraProvider).
func (c SSOConfig) Validate() error {
	var v problem.Validation
	v.Check(!guidPattern().MatchString(c.EntraTenantID), "entraTenantId", "must be the Entra tenant id, a GUID")
	v.Check(!guidPattern().MatchString(c.ClientID), "clientId", "must be the application (client) id of the Entra app registration, a GUID")
	v.Check(len(c.ClientSecret) > MaxClientSecret, "clientSecret", "must be at most %d characters", MaxClientSecret)
	v.Check(len(c.Domains) == 0 || len(c.Domains) > MaxSSODomains, "domains", "must list from 1 to %d email domains", MaxSSODomains)
	for i, d := range c.Domains {
		f := "domains[" + strconv.Itoa(i) + "]"
		switch {
		case !domainPattern().MatchString(d):
			v.Add(f, "must be a domain name such as contoso.com")
		case len(d) > MaxSSODomainLength:
			v.Add(f, "must be at most %d characters (a Cognito limit)", MaxSSODomainLength)
		}
	}
	return v.Err()
}

// ProviderInfo describes an organization's provider. It never holds the client secret.
type ProviderInfo struct {
	// ProviderName is the Cognito provider name (see ProviderName).
	ProviderName  string
	EntraTenantID string
	ClientID      string
	// Issuer is the OIDC issuer Cognito trusts: Entra's v2.0 issuer of the tenant.
	Issuer string
	// Domains are the provider's identifiers: the email domains routed to it.
	Domains []string
	// HasClientSecret reports whether a secret is stored, without revealing it.
	HasClientSecret bool
	// Registered reports whether the provider is listed among the SupportedIdentityProviders
	// of the Directory's app client, without which nobody signs in through it. Always
	// false on a Directory without an app client (see WithAppClient).
	Registered bool
}

// ProviderName is the Cognito identity provider name of an organization: "entra-" and
// the first 20 hex digits of the SHA-256 of the organization id (26 characters). It is a
// hash rather than the id itself because Cognito names are at most 32 characters
// without underscores (federated usernames are "<provider>_<subject>"), and stable, so
// the provider is found again from the organization id alone. 80 bits make a collision
// between organizations negligible.
func ProviderName(orgID string) string {
	sum := sha256.Sum256([]byte(orgID))
	return "entra-" + hex.EncodeToString(sum[:10])
}

// Issuer is the OIDC issuer of an Entra tenant's v2.0 tokens.
func Issuer(entraTenantID string) string {
	return "https://login.microsoftonline.com/" + entraTenantID + "/v2.0"
}

// PoolUser is a person to give a native account.
type PoolUser struct {
	Email      string
	GivenName  string
	FamilyName string
}

// Credentials say how a provisioned person signs in.
type Credentials struct {
	// TemporaryPassword, when set, is for their first sign-in only; Cognito asks for a
	// new password then. It is a secret: send it to them alone, never log or return it.
	TemporaryPassword string
	// Existing says the account was already in use: its password was left alone.
	Existing bool
}

// None is the Directory of a process without a user pool: sign-out has nothing to do,
// the other calls answer ErrNoUserPool.
type None struct{}

var _ Directory = None{}

func (None) GlobalSignOut(context.Context, string) error { return nil }

func (None) PutEntraProvider(context.Context, string, SSOConfig) (ProviderInfo, error) {
	return ProviderInfo{}, ErrNoUserPool
}

func (None) ProvisionUser(context.Context, PoolUser) (Credentials, error) {
	return Credentials{}, ErrNoUserPool
}

func (None) ResetPassword(context.Context, PoolUser) (string, error) { return "", ErrNoUserPool }
