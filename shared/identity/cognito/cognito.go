// Package cognito is identity.Directory on Cognito: the admin calls Switchboard makes
// on its user pool. It is apart from package identity so that only the functions that
// make Cognito calls link the Cognito client (the generated main.go names Connect).
//
// # IAM
//
// The package calls these cognito-idp actions, all on the user pool's ARN
// (arn:aws:cognito-idp:<region>:<account>:userpool/<pool id>):
//
//   - GlobalSignOut: cognito-idp:ListUsers, cognito-idp:AdminUserGlobalSignOut
//   - PutEntraProvider: cognito-idp:DescribeIdentityProvider,
//     cognito-idp:CreateIdentityProvider, cognito-idp:UpdateIdentityProvider
//   - EntraProvider: cognito-idp:DescribeIdentityProvider
//   - DeleteEntraProvider: cognito-idp:DeleteIdentityProvider
//   - with an app client (WithAppClient, USER_POOL_CLIENT_ID), PutEntraProvider,
//     EntraProvider and DeleteEntraProvider also call
//     cognito-idp:DescribeUserPoolClient, and PutEntraProvider and DeleteEntraProvider
//     cognito-idp:UpdateUserPoolClient.
//
// In total: cognito-idp:ListUsers, cognito-idp:AdminUserGlobalSignOut,
// cognito-idp:DescribeIdentityProvider, cognito-idp:CreateIdentityProvider,
// cognito-idp:UpdateIdentityProvider, cognito-idp:DeleteIdentityProvider,
// cognito-idp:DescribeUserPoolClient and cognito-idp:UpdateUserPoolClient.
package cognito

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/identity"
)

var _ identity.Directory = (*Directory)(nil)

// Connect is FromEnvConfig in the form lambdaentry.Identity takes: nil without
// USER_POOL_ID (an untyped nil, so the API sees no user pool).
func Connect(cfg aws.Config) (identity.Directory, error) {
	if d := FromEnvConfig(cfg); d != nil {
		return d, nil
	}
	return nil, nil
}

// Directory makes admin calls on one Cognito user pool. A nil *Directory stands for "no
// user pool configured" (local runs, tests on the embedded engine): each method says
// what it does then.
type Directory struct {
	client *cip.Client
	poolID string
	// appClientID is the app client the organizations' providers are listed on; ""
	// lists them on none.
	appClientID string
}

// New returns a Directory on the user pool poolID, with no app client (see
// WithAppClient).
func New(client *cip.Client, poolID string) *Directory {
	return &Directory{client: client, poolID: poolID}
}

// WithAppClient returns a copy of d that lists each organization's provider among the
// SupportedIdentityProviders of the pool's app client clientID (the console's), which
// Cognito requires before anyone can sign in through a provider with that client:
// PutEntraProvider adds the provider, DeleteEntraProvider removes it, and
// identity.ProviderInfo.Registered reports it. Without an app client (New alone, or an empty
// clientID) providers are created and deleted but listed on no client, and Registered
// is always false. d itself is not changed; on a nil d it returns nil.
func (d *Directory) WithAppClient(clientID string) *Directory {
	if d == nil {
		return nil
	}
	c := *d
	c.appClientID = strings.TrimSpace(clientID)
	return &c
}

// AppClientID is the app client providers are listed on ("" for none or a nil
// Directory).
func (d *Directory) AppClientID() string {
	if d == nil {
		return ""
	}
	return d.appClientID
}

// FromEnv returns the Directory of USER_POOL_ID, through COGNITO_ENDPOINT when set, or
// (nil, nil) when USER_POOL_ID is unset: callers treat nil as "no user pool". When
// USER_POOL_CLIENT_ID is set, providers are listed on that app client (WithAppClient);
// unset, they are listed on none. With an endpoint override and no AWS_ACCESS_KEY_ID it
// signs with the local stack's static credentials.
func FromEnv(ctx context.Context) (*Directory, error) {
	if strings.TrimSpace(os.Getenv(identity.EnvUserPoolID)) == "" {
		return nil, nil
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return FromEnvConfig(cfg), nil
}

// FromEnvConfig is FromEnv on an AWS configuration the caller has loaded already, so a
// Lambda loads it once at start.
func FromEnvConfig(cfg aws.Config) *Directory {
	poolID := strings.TrimSpace(os.Getenv(identity.EnvUserPoolID))
	if poolID == "" {
		return nil
	}
	endpoint := os.Getenv(identity.EnvCognitoEndpoint)
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		cfg.Credentials = awsconfig.LocalCredentials()
	}
	client := cip.NewFromConfig(cfg, func(o *cip.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(client, poolID).WithAppClient(os.Getenv(identity.EnvUserPoolClientID))
}

// PoolID is the user pool's id ("" for a nil Directory).
func (d *Directory) PoolID() string {
	if d == nil {
		return ""
	}
	return d.poolID
}

// GlobalSignOut signs out, on every device, each pool user whose email is email: a
// native user and any federated ones (usernames like "entra-…_<sub>"), since a member is
// known to Switchboard by email only. Their refresh tokens stop working, so a removed
// member cannot quietly renew a session; ID tokens already issued stay valid until they
// expire, which is why the API also checks membership on every request.
//
// No matching user is not an error, and on a nil Directory it does nothing. Cognito's
// email search is case-insensitive (moto's is not, so tests use one spelling).
func (d *Directory) GlobalSignOut(ctx context.Context, email string) error {
	if d == nil {
		return nil
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return errors.New("identity: global sign-out: empty email")
	}
	usernames, err := d.usernamesByEmail(ctx, email)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range usernames {
		_, err := d.client.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{
			UserPoolId: aws.String(d.poolID), Username: aws.String(u)})
		var gone *ciptypes.UserNotFoundException
		if err != nil && !errors.As(err, &gone) { // deleted in between: nothing to sign out
			errs = append(errs, fmt.Errorf("identity: global sign-out of pool user %q: %w", u, err))
		}
	}
	// One failure must not leave the other identities signed in: all are tried.
	return errors.Join(errs...)
}

// usernamesByEmail lists the usernames of the pool users whose email is email.
func (d *Directory) usernamesByEmail(ctx context.Context, email string) ([]string, error) {
	p := cip.NewListUsersPaginator(d.client, &cip.ListUsersInput{
		UserPoolId:      aws.String(d.poolID),
		Filter:          aws.String(`email = "` + escapeFilterValue(email) + `"`),
		AttributesToGet: []string{"email"}, // only the username is used
	})
	var names []string
	seen := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("identity: list pool users by email: %w", err)
		}
		for _, u := range page.Users {
			if n := aws.ToString(u.Username); n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names, nil
}

// filterEscaper escapes a value for inside the double quotes of a ListUsers filter,
// where a quote or backslash would otherwise end or change the value.
var filterEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func escapeFilterValue(s string) string { return filterEscaper.Replace(s) }
