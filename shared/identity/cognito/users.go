package cognito

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/switchboard-msp/switchboard/shared/identity"
)

// Native accounts: a person who signs in with their email and a password, such as the
// default admin of a sub-organization (seed 004). Cognito's own messages are
// suppressed: Switchboard sends the email, through SES, that says how to sign in.
//
// IAM: ProvisionUser calls cognito-idp:AdminCreateUser and, for an account that
// exists, cognito-idp:AdminGetUser and cognito-idp:AdminSetUserPassword;
// ResetPassword calls cognito-idp:AdminCreateUser and cognito-idp:AdminSetUserPassword.

// ProvisionUser gives u a native account with a temporary password. An account that
// exists but was never signed in to (still waiting for its first password change) gets
// a new temporary password; one in use is left alone and reported Existing.
// Errors: identity.ErrNoUserPool on a nil Directory.
func (d *Directory) ProvisionUser(ctx context.Context, u identity.PoolUser) (identity.Credentials, error) {
	if d == nil {
		return identity.Credentials{}, identity.ErrNoUserPool
	}
	password, created, err := d.create(ctx, u)
	if err != nil || created {
		return identity.Credentials{TemporaryPassword: password}, err
	}
	got, err := d.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(d.poolID), Username: aws.String(username(u))})
	if err != nil {
		return identity.Credentials{}, fmt.Errorf("identity: get pool user %s: %w", username(u), err)
	}
	if got.UserStatus != ciptypes.UserStatusTypeForceChangePassword {
		return identity.Credentials{Existing: true}, nil
	}
	if err := d.setTemporary(ctx, u, password); err != nil {
		return identity.Credentials{}, err
	}
	return identity.Credentials{TemporaryPassword: password}, nil
}

// ResetPassword gives u's native account a new temporary password, whatever its state,
// creating the account when there is none: whoever held the old password, or lost it,
// must sign in with this one and choose a new one. Nothing else of the account changes.
// Errors: identity.ErrNoUserPool on a nil Directory.
func (d *Directory) ResetPassword(ctx context.Context, u identity.PoolUser) (string, error) {
	if d == nil {
		return "", identity.ErrNoUserPool
	}
	password, created, err := d.create(ctx, u)
	if err != nil || created {
		return password, err
	}
	return password, d.setTemporary(ctx, u, password)
}

// create makes u's account with a new temporary password and no Cognito message. It
// reports created false, with the password it would have set, when the account exists.
func (d *Directory) create(ctx context.Context, u identity.PoolUser) (string, bool, error) {
	password, err := TemporaryPassword()
	if err != nil {
		return "", false, err
	}
	attrs := []ciptypes.AttributeType{
		{Name: aws.String("email"), Value: aws.String(username(u))},
		{Name: aws.String("email_verified"), Value: aws.String("true")},
	}
	for _, a := range []struct{ name, value string }{{"given_name", u.GivenName}, {"family_name", u.FamilyName}} {
		if v := strings.TrimSpace(a.value); v != "" {
			attrs = append(attrs, ciptypes.AttributeType{Name: aws.String(a.name), Value: aws.String(v)})
		}
	}
	_, err = d.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(d.poolID), Username: aws.String(username(u)),
		TemporaryPassword: aws.String(password), MessageAction: ciptypes.MessageActionTypeSuppress,
		UserAttributes: attrs,
	})
	var exists *ciptypes.UsernameExistsException
	switch {
	case errors.As(err, &exists):
		return password, false, nil
	case err != nil:
		return "", false, fmt.Errorf("identity: create pool user %s: %w", username(u), err)
	}
	return password, true, nil
}

func (d *Directory) setTemporary(ctx context.Context, u identity.PoolUser, password string) error {
	_, err := d.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(d.poolID),
		Username: aws.String(username(u)), Password: aws.String(password), Permanent: false})
	if err != nil {
		return fmt.Errorf("identity: set a temporary password for %s: %w", username(u), err)
	}
	return nil
}

// username is the account's sign-in name: the pool signs in by email (template.yaml's
// UsernameAttributes), compared in lower case.
func username(u identity.PoolUser) string { return strings.ToLower(strings.TrimSpace(u.Email)) }

// Character classes of a temporary password: the pool requires each (template.yaml's
// PasswordPolicy). Look-alikes (0/O, 1/l/I) are left out, as it is read from an email.
const (
	lowers  = "abcdefghijkmnopqrstuvwxyz"
	uppers  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	digits  = "23456789"
	symbols = "!#%*+-=?@^_"
)

// TemporaryPasswordLength exceeds the pool's minimum of 12.
const TemporaryPasswordLength = 16

// TemporaryPassword returns a random password with every character class the pool's
// policy requires.
func TemporaryPassword() (string, error) {
	classes := []string{lowers, uppers, digits, symbols}
	all := strings.Join(classes, "")
	out := make([]byte, TemporaryPasswordLength)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		out[i] = c
	}
	// The guaranteed classes sit first: shuffle them in (Fisher–Yates).
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("identity: temporary password: %w", err)
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func pick(set string) (byte, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, fmt.Errorf("identity: temporary password: %w", err)
	}
	return set[n.Int64()], nil
}
