package cognito

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// maxClientUpdates bounds the UpdateUserPoolClient calls of one registration change:
// the first, and one more after a ConcurrentModificationException or after a read back
// that shows a concurrent writer's stale list replaced ours.
const maxClientUpdates = 2

// registered reports whether the provider named name is one of the app client's
// SupportedIdentityProviders. It is false, without a call, when the Directory has no app
// client.
func (d *Directory) registered(ctx context.Context, name string) (bool, error) {
	if d.appClientID == "" {
		return false, nil
	}
	c, err := d.describeAppClient(ctx)
	if err != nil {
		return false, fmt.Errorf("identity: provider %s: %w", name, err)
	}
	return slices.Contains(c.SupportedIdentityProviders, name), nil
}

// setRegistered lists (want) or unlists (!want) the provider named name among the app
// client's SupportedIdentityProviders, leaving every other provider and setting of the
// client as it is. It does nothing when the Directory has no app client, and makes no
// update when the list is already as wanted.
//
// UpdateUserPoolClient replaces the whole client (an omitted setting goes back to its
// default), so this is a read-modify-write of the described client (see
// updateClientInput). Cognito offers no conditional update: two writers that read the
// same client can each drop the other's change. The list is read back after each update
// and the change made again once if it was lost, and a ConcurrentModificationException
// is retried once; a change lost after that read back goes unnoticed, and calling
// PutEntraProvider again (identity.ProviderInfo.Registered tells) repairs it.
func (d *Directory) setRegistered(ctx context.Context, name string, want bool) error {
	if d.appClientID == "" {
		return nil
	}
	verb := "register"
	if !want {
		verb = "unregister"
	}
	var lost error // why the last update did not hold
	for updates := 0; ; updates++ {
		c, err := d.describeAppClient(ctx)
		if err != nil {
			return fmt.Errorf("identity: %s provider %s: %w", verb, name, err)
		}
		if slices.Contains(c.SupportedIdentityProviders, name) == want {
			return nil
		}
		if updates == maxClientUpdates {
			return fmt.Errorf("identity: %s provider %s on app client %s: gave up after %d updates: %w",
				verb, name, d.appClientID, updates, lost)
		}
		providers := slices.DeleteFunc(slices.Clone(c.SupportedIdentityProviders), func(p string) bool { return p == name })
		if want {
			providers = append(providers, name)
		}
		_, err = d.client.UpdateUserPoolClient(ctx, d.updateClientInput(c, providers))
		var cm *ciptypes.ConcurrentModificationException
		switch {
		case err == nil:
			// Read back next: a concurrent writer may have put back an older list.
			lost = errLostUpdate
		case errors.As(err, &cm):
			// Read the other writer's result next, and apply the change to it.
			lost = err
		default:
			return fmt.Errorf("identity: %s provider %s on app client %s: %w", verb, name, d.appClientID, err)
		}
	}
}

// errLostUpdate is why a registration gives up when each of its updates went through
// but was undone by a concurrent one.
var errLostUpdate = errors.New("concurrent updates of the app client put back an older list of providers")

// describeAppClient returns the Directory's app client.
func (d *Directory) describeAppClient(ctx context.Context) (*ciptypes.UserPoolClientType, error) {
	out, err := d.client.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{
		UserPoolId: aws.String(d.poolID), ClientId: aws.String(d.appClientID)})
	if err != nil {
		return nil, fmt.Errorf("describe app client %s: %w", d.appClientID, err)
	}
	if out.UserPoolClient == nil {
		return nil, fmt.Errorf("describe app client %s: empty answer", d.appClientID)
	}
	return out.UserPoolClient, nil
}

// updateClientInput is the UpdateUserPoolClient request that sets the app client's
// identity providers to providers and every other updatable setting to its value in c,
// the client as described: UpdateUserPoolClient resets any setting it is not given to
// Cognito's default (callback and logout URLs, OAuth flows and scopes, attributes,
// token validities and their units, ...). A test checks that every field of the
// request, but the ids and the providers, is copied from c, so a setting a newer SDK
// adds fails that test rather than being reset silently.
func (d *Directory) updateClientInput(c *ciptypes.UserPoolClientType, providers []string) *cip.UpdateUserPoolClientInput {
	return &cip.UpdateUserPoolClientInput{
		UserPoolId:                               aws.String(d.poolID),
		ClientId:                                 aws.String(d.appClientID),
		SupportedIdentityProviders:               providers,
		AccessTokenValidity:                      c.AccessTokenValidity,
		AllowedOAuthFlows:                        c.AllowedOAuthFlows,
		AllowedOAuthFlowsUserPoolClient:          aws.ToBool(c.AllowedOAuthFlowsUserPoolClient),
		AllowedOAuthScopes:                       c.AllowedOAuthScopes,
		AnalyticsConfiguration:                   c.AnalyticsConfiguration,
		AuthSessionValidity:                      c.AuthSessionValidity,
		CallbackURLs:                             c.CallbackURLs,
		ClientName:                               c.ClientName,
		DefaultRedirectURI:                       c.DefaultRedirectURI,
		EnablePropagateAdditionalUserContextData: c.EnablePropagateAdditionalUserContextData,
		EnableTokenRevocation:                    c.EnableTokenRevocation,
		ExplicitAuthFlows:                        c.ExplicitAuthFlows,
		IdTokenValidity:                          c.IdTokenValidity,
		LogoutURLs:                               c.LogoutURLs,
		PreventUserExistenceErrors:               c.PreventUserExistenceErrors,
		ReadAttributes:                           c.ReadAttributes,
		RefreshTokenRotation:                     c.RefreshTokenRotation,
		RefreshTokenValidity:                     c.RefreshTokenValidity,
		TokenValidityUnits:                       c.TokenValidityUnits,
		WriteAttributes:                          c.WriteAttributes,
	}
}
