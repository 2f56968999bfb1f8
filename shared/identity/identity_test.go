package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/identity"
)

// TestNone: without a user pool, sign-out has nothing to do and the calls that need a
// pool answer ErrNoUserPool, as a nil *cognito.Directory did.
func TestNone(t *testing.T) {
	ctx := context.Background()
	var d identity.Directory = identity.None{}
	if err := d.GlobalSignOut(ctx, "a@example.com"); err != nil {
		t.Errorf("GlobalSignOut: %v", err)
	}
	for name, err := range map[string]error{
		"PutEntraProvider": func() error { _, err := d.PutEntraProvider(ctx, "org", identity.SSOConfig{}); return err }(),
		"ProvisionUser":    func() error { _, err := d.ProvisionUser(ctx, identity.PoolUser{Email: "a@example.com"}); return err }(),
		"ResetPassword":    func() error { _, err := d.ResetPassword(ctx, identity.PoolUser{Email: "a@example.com"}); return err }(),
	} {
		if !errors.Is(err, identity.ErrNoUserPool) {
			t.Errorf("%s: %v, want ErrNoUserPool", name, err)
		}
	}
}
