package cognito_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
)

// TestTemporaryPasswordMeetsThePolicy: every password has each class the pool's policy
// requires, the length, and nothing that does not survive an email.
func TestTemporaryPasswordMeetsThePolicy(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		p, err := cognito.TemporaryPassword()
		if err != nil {
			t.Fatal(err)
		}
		classes := []struct {
			name string
			in   func(rune) bool
		}{
			{"lower", func(r rune) bool { return r >= 'a' && r <= 'z' }},
			{"upper", func(r rune) bool { return r >= 'A' && r <= 'Z' }},
			{"digit", func(r rune) bool { return r >= '0' && r <= '9' }},
			{"symbol", func(r rune) bool { return strings.ContainsRune("!#%*+-=?@^_", r) }},
		}
		for _, c := range classes {
			if !strings.ContainsFunc(p, c.in) {
				t.Fatalf("%q has no %s character", p, c.name)
			}
		}
		if len(p) != cognito.TemporaryPasswordLength || strings.ContainsAny(p, " \t\n\"'<>&\\") {
			t.Fatalf("%q", p)
		}
		if seen[p] {
			t.Fatalf("%q twice", p)
		}
		seen[p] = true
	}
}

// TestNilDirectoryHasNoUsers: without a user pool there is no account to make.
func TestNilDirectoryHasNoUsers(t *testing.T) {
	var d *cognito.Directory
	if _, err := d.ProvisionUser(t.Context(), identity.PoolUser{Email: "a@b.example"}); !errors.Is(err, identity.ErrNoUserPool) {
		t.Errorf("provision: %v", err)
	}
	if _, err := d.ResetPassword(t.Context(), identity.PoolUser{Email: "a@b.example"}); !errors.Is(err, identity.ErrNoUserPool) {
		t.Errorf("reset: %v", err)
	}
}

// TestProvisionAndResetOnMoto: a new person gets an account with Cognito's message
// suppressed and a temporary password; an account never used gets a new one; one in
// use is left alone; a reset always issues a new temporary password.
func TestProvisionAndResetOnMoto(t *testing.T) {
	p := newPool(t)
	ctx := t.Context()
	email := "dana-" + strings.ToLower(domain.NewID()) + "@client.example"
	status := func() ciptypes.UserStatusType {
		out, err := p.client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &p.id, Username: aws.String(email)})
		if err != nil {
			t.Fatal(err)
		}
		return out.UserStatus
	}
	signIn := func(password string) error {
		_, err := p.client.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &p.id, ClientId: &p.clientID,
			AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": password}})
		return err
	}
	u := identity.PoolUser{Email: strings.ToUpper(email[:1]) + email[1:], GivenName: "Dana", FamilyName: "Lee"}
	first, err := p.bare.ProvisionUser(ctx, u)
	if err != nil || first.Existing || first.TemporaryPassword == "" {
		t.Fatalf("provision: %+v %v", first, err)
	}
	if status() != ciptypes.UserStatusTypeForceChangePassword || signIn(first.TemporaryPassword) != nil {
		t.Fatalf("the new account: %s", status())
	}
	again, err := p.bare.ProvisionUser(ctx, u)
	if err != nil || again.Existing || again.TemporaryPassword == "" || again.TemporaryPassword == first.TemporaryPassword {
		t.Fatalf("an account never used: %+v %v", again, err)
	}
	if signIn(first.TemporaryPassword) == nil || signIn(again.TemporaryPassword) != nil {
		t.Errorf("the first temporary password still works, or the second does not")
	}
	const chosen = "Chosen-Password-42!"
	if _, err := p.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &p.id, Username: aws.String(email),
		Password: aws.String(chosen), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	inUse, err := p.bare.ProvisionUser(ctx, u)
	if err != nil || !inUse.Existing || inUse.TemporaryPassword != "" || signIn(chosen) != nil {
		t.Fatalf("an account in use: %+v %v", inUse, err)
	}
	reset, err := p.bare.ResetPassword(ctx, u)
	if err != nil || reset == "" || status() != ciptypes.UserStatusTypeForceChangePassword || signIn(chosen) == nil {
		t.Fatalf("reset: %v, status %s", err, status())
	}
	// A reset of someone without an account creates it.
	other := identity.PoolUser{Email: "new-" + email}
	if pw, err := p.bare.ResetPassword(ctx, other); err != nil || pw == "" {
		t.Fatalf("reset without an account: %v", err)
	}
}
