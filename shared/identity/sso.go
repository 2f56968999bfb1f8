package identity

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

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

// attributeMapping maps Entra's ID-token claims onto the pool's attributes, as the
// template's EntraID provider does. Entra sends no email_verified claim; its optional
// xms_edov claim ("email domain owner verified") is the equivalent, and without a
// mapping every federated user would be unverified, which the API refuses. tid and amr
// feed the sign-in rules (tenant, MFA) through custom:tid and custom:amr.
func attributeMapping() map[string]string {
	return map[string]string{
		"email":          "email",
		"email_verified": "xms_edov",
		"name":           "name",
		"custom:tid":     "tid",
		"custom:amr":     "amr",
	}
}

// Provider detail keys Cognito uses for OIDC.
const (
	detailClientID     = "client_id"
	detailClientSecret = "client_secret"
	detailIssuer       = "oidc_issuer"
)

func providerDetails(cfg SSOConfig, secret string) map[string]string {
	return map[string]string{
		detailClientID:              cfg.ClientID,
		detailClientSecret:          secret,
		"authorize_scopes":          "openid email profile",
		detailIssuer:                Issuer(cfg.EntraTenantID),
		"attributes_request_method": "GET",
	}
}

// PutEntraProvider creates or updates the organization's OIDC provider for its Entra ID
// tenant, with its email domains as identifiers. cfg is normalized and validated first
// (a 400 problem names the bad fields). A first set-up needs a client secret; an update
// with an empty one keeps the stored secret. A domain that is another organization's
// identifier gives ErrDomainTaken. With no user pool (nil Directory) it returns
// ErrNoUserPool.
//
// With an app client (see WithAppClient), the provider is then listed among the
// client's SupportedIdentityProviders unless it already is, every other setting of the
// client kept, and the result has Registered set. An error there is returned although
// the provider itself was saved; calling PutEntraProvider again (even without the
// secret) completes the registration. Without an app client Registered is false.
func (d *Directory) PutEntraProvider(ctx context.Context, orgID string, cfg SSOConfig) (ProviderInfo, error) {
	if d == nil {
		return ProviderInfo{}, ErrNoUserPool
	}
	if orgID == "" {
		return ProviderInfo{}, errors.New("identity: put entra provider: empty organization id")
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return ProviderInfo{}, err
	}
	name := ProviderName(orgID)
	// Two attempts: a create that loses a race with a concurrent create of the same
	// organization's provider finds it on the second and updates it.
	for attempt := 0; ; attempt++ {
		existing, err := d.describe(ctx, name)
		if err != nil {
			return ProviderInfo{}, err
		}
		var secret string
		if existing == nil {
			secret = cfg.ClientSecret
		} else {
			secret = cmp.Or(cfg.ClientSecret, existing.ProviderDetails[detailClientSecret])
		}
		if secret == "" {
			return ProviderInfo{}, problem.Invalidf("clientSecret", "is required when single sign-on is first set up")
		}
		if existing != nil {
			// Every detail is sent, the kept secret too: an update's details replace the
			// stored ones, so leaving the secret out would wipe it.
			_, err = d.client.UpdateIdentityProvider(ctx, &cip.UpdateIdentityProviderInput{
				UserPoolId:       aws.String(d.poolID),
				ProviderName:     aws.String(name),
				ProviderDetails:  providerDetails(cfg, secret),
				AttributeMapping: attributeMapping(),
				IdpIdentifiers:   cfg.Domains,
			})
			if err != nil {
				if domainTaken(err) {
					return ProviderInfo{}, fmt.Errorf("identity: update provider %s: %w", name, ErrDomainTaken)
				}
				return ProviderInfo{}, fmt.Errorf("identity: update provider %s: %w", name, err)
			}
			return d.register(ctx, info(name, cfg, true))
		}
		_, err = d.client.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{
			UserPoolId:       aws.String(d.poolID),
			ProviderName:     aws.String(name),
			ProviderType:     ciptypes.IdentityProviderTypeTypeOidc,
			ProviderDetails:  providerDetails(cfg, secret),
			AttributeMapping: attributeMapping(),
			IdpIdentifiers:   cfg.Domains,
		})
		if err == nil {
			return d.register(ctx, info(name, cfg, true))
		}
		var dup *ciptypes.DuplicateProviderException
		if errors.As(err, &dup) && attempt == 0 {
			// Either the name now exists (a concurrent create: the loop updates it) or
			// an identifier is taken (the loop finds no provider and fails again).
			if again, derr := d.describe(ctx, name); derr == nil && again != nil {
				continue
			}
		}
		if domainTaken(err) {
			return ProviderInfo{}, fmt.Errorf("identity: create provider %s: %w", name, ErrDomainTaken)
		}
		return ProviderInfo{}, fmt.Errorf("identity: create provider %s: %w", name, err)
	}
}

// register lists the provider of p on the app client, if the Directory has one, and
// returns p with Registered set accordingly.
func (d *Directory) register(ctx context.Context, p ProviderInfo) (ProviderInfo, error) {
	if d.appClientID == "" {
		return p, nil
	}
	if err := d.setRegistered(ctx, p.ProviderName, true); err != nil {
		return ProviderInfo{}, err
	}
	p.Registered = true
	return p, nil
}

// EntraProvider returns the organization's provider and whether it exists. On a nil
// Directory none exists. With an app client it also reads the client, for Registered.
func (d *Directory) EntraProvider(ctx context.Context, orgID string) (ProviderInfo, bool, error) {
	if d == nil {
		return ProviderInfo{}, false, nil
	}
	name := ProviderName(orgID)
	p, err := d.describe(ctx, name)
	if err != nil || p == nil {
		return ProviderInfo{}, false, err
	}
	registered, err := d.registered(ctx, name)
	if err != nil {
		return ProviderInfo{}, false, err
	}
	issuer := p.ProviderDetails[detailIssuer]
	tenant := strings.TrimSuffix(strings.TrimPrefix(issuer, "https://login.microsoftonline.com/"), "/v2.0")
	return ProviderInfo{
		ProviderName:    name,
		EntraTenantID:   tenant,
		ClientID:        p.ProviderDetails[detailClientID],
		Issuer:          issuer,
		Domains:         slices.Clone(p.IdpIdentifiers),
		HasClientSecret: p.ProviderDetails[detailClientSecret] != "",
		Registered:      registered,
	}, true, nil
}

// DeleteEntraProvider removes the organization's provider; an absent one (or no user
// pool) is not an error. People already federated keep their pool users but can no
// longer sign in through it.
//
// With an app client (see WithAppClient), the provider is first taken off the client's
// SupportedIdentityProviders, every other provider and setting of the client kept, so
// that the client never lists a provider the pool no longer has (Cognito refuses an app
// client update whose list names a missing provider, which would block every later
// registration). That is done even when the provider is already gone, to clear a stale
// listing. If it fails, the provider is not deleted. A Directory without an app client
// deletes the provider without looking at any client.
func (d *Directory) DeleteEntraProvider(ctx context.Context, orgID string) error {
	if d == nil {
		return nil
	}
	name := ProviderName(orgID)
	if err := d.setRegistered(ctx, name, false); err != nil {
		return err
	}
	// Two attempts: DeleteIdentityProvider may refuse with a concurrent modification.
	for attempt := 0; ; attempt++ {
		_, err := d.client.DeleteIdentityProvider(ctx, &cip.DeleteIdentityProviderInput{
			UserPoolId: aws.String(d.poolID), ProviderName: aws.String(name)})
		var nf *ciptypes.ResourceNotFoundException
		var cm *ciptypes.ConcurrentModificationException
		switch {
		case err == nil, errors.As(err, &nf):
			return nil
		case errors.As(err, &cm) && attempt == 0:
			continue
		}
		return fmt.Errorf("identity: delete provider %s: %w", name, err)
	}
}

// describe returns the provider named name, or nil when there is none.
func (d *Directory) describe(ctx context.Context, name string) (*ciptypes.IdentityProviderType, error) {
	out, err := d.client.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{
		UserPoolId: aws.String(d.poolID), ProviderName: aws.String(name)})
	var nf *ciptypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("identity: describe provider %s: %w", name, err)
	}
	return out.IdentityProvider, nil
}

func info(name string, cfg SSOConfig, hasSecret bool) ProviderInfo {
	return ProviderInfo{ProviderName: name, EntraTenantID: cfg.EntraTenantID, ClientID: cfg.ClientID,
		Issuer: Issuer(cfg.EntraTenantID), Domains: slices.Clone(cfg.Domains), HasClientSecret: hasSecret}
}

// domainTaken reports whether Cognito refused a create or update because an identifier
// is already another provider's. Cognito answers DuplicateProviderException on create
// and, on update (whose modelled errors do not list it), either that code unmodelled or
// an InvalidParameterException that says so; the code is matched rather than the Go
// type for that reason.
func domainTaken(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "DuplicateProviderException":
		return true
	case "InvalidParameterException":
		m := strings.ToLower(ae.ErrorMessage())
		return strings.Contains(m, "identifier") &&
			(strings.Contains(m, "duplicate") || strings.Contains(m, "already") || strings.Contains(m, "in use"))
	}
	return false
}
