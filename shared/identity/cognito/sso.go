package cognito

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

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

func providerDetails(cfg identity.SSOConfig, secret string) map[string]string {
	return map[string]string{
		detailClientID:              cfg.ClientID,
		detailClientSecret:          secret,
		"authorize_scopes":          "openid email profile",
		detailIssuer:                identity.Issuer(cfg.EntraTenantID),
		"attributes_request_method": "GET",
	}
}

// PutEntraProvider creates or updates the organization's OIDC provider for its Entra ID
// tenant, with its email domains as identifiers. cfg is normalized and validated first
// (a 400 problem names the bad fields). A first set-up needs a client secret; an update
// with an empty one keeps the stored secret. A domain that is another organization's
// identifier gives identity.ErrDomainTaken. With no user pool (nil Directory) it returns
// identity.ErrNoUserPool.
//
// With an app client (see WithAppClient), the provider is then listed among the
// client's SupportedIdentityProviders unless it already is, every other setting of the
// client kept, and the result has Registered set. An error there is returned although
// the provider itself was saved; calling PutEntraProvider again (even without the
// secret) completes the registration. Without an app client Registered is false.
func (d *Directory) PutEntraProvider(ctx context.Context, orgID string, cfg identity.SSOConfig) (identity.ProviderInfo, error) {
	if d == nil {
		return identity.ProviderInfo{}, identity.ErrNoUserPool
	}
	if orgID == "" {
		return identity.ProviderInfo{}, errors.New("identity: put entra provider: empty organization id")
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return identity.ProviderInfo{}, err
	}
	name := identity.ProviderName(orgID)
	// Two attempts: a create that loses a race with a concurrent create of the same
	// organization's provider finds it on the second and updates it.
	for attempt := 0; ; attempt++ {
		existing, err := d.describe(ctx, name)
		if err != nil {
			return identity.ProviderInfo{}, err
		}
		var secret string
		if existing == nil {
			secret = cfg.ClientSecret
		} else {
			secret = cmp.Or(cfg.ClientSecret, existing.ProviderDetails[detailClientSecret])
		}
		if secret == "" {
			return identity.ProviderInfo{}, problem.Invalidf("clientSecret", "is required when single sign-on is first set up")
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
					return identity.ProviderInfo{}, fmt.Errorf("identity: update provider %s: %w", name, identity.ErrDomainTaken)
				}
				return identity.ProviderInfo{}, fmt.Errorf("identity: update provider %s: %w", name, err)
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
			return identity.ProviderInfo{}, fmt.Errorf("identity: create provider %s: %w", name, identity.ErrDomainTaken)
		}
		return identity.ProviderInfo{}, fmt.Errorf("identity: create provider %s: %w", name, err)
	}
}

// register lists the provider of p on the app client, if the Directory has one, and
// returns p with Registered set accordingly.
func (d *Directory) register(ctx context.Context, p identity.ProviderInfo) (identity.ProviderInfo, error) {
	if d.appClientID == "" {
		return p, nil
	}
	if err := d.setRegistered(ctx, p.ProviderName, true); err != nil {
		return identity.ProviderInfo{}, err
	}
	p.Registered = true
	return p, nil
}

// EntraProvider returns the organization's provider and whether it exists. On a nil
// Directory none exists. With an app client it also reads the client, for Registered.
func (d *Directory) EntraProvider(ctx context.Context, orgID string) (identity.ProviderInfo, bool, error) {
	if d == nil {
		return identity.ProviderInfo{}, false, nil
	}
	name := identity.ProviderName(orgID)
	p, err := d.describe(ctx, name)
	if err != nil || p == nil {
		return identity.ProviderInfo{}, false, err
	}
	registered, err := d.registered(ctx, name)
	if err != nil {
		return identity.ProviderInfo{}, false, err
	}
	issuer := p.ProviderDetails[detailIssuer]
	tenant := strings.TrimSuffix(strings.TrimPrefix(issuer, "https://login.microsoftonline.com/"), "/v2.0")
	return identity.ProviderInfo{
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
	name := identity.ProviderName(orgID)
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

func info(name string, cfg identity.SSOConfig, hasSecret bool) identity.ProviderInfo {
	return identity.ProviderInfo{ProviderName: name, EntraTenantID: cfg.EntraTenantID, ClientID: cfg.ClientID,
		Issuer: identity.Issuer(cfg.EntraTenantID), Domains: slices.Clone(cfg.Domains), HasClientSecret: hasSecret}
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
