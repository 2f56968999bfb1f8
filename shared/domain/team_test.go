package domain_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

func TestInvitationToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash := domain.NewInvitationToken()
		if !domain.ValidInvitationToken(tok) || hash != domain.HashInvitationToken(tok) || len(hash) != 64 || hash == tok || seen[tok] {
			t.Fatalf("token %q hash %q", tok, hash)
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", "short", "c2FtcGxlLWludml0YXRpb24tdG9rZW4tMDAwMDAwMDA=", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		if domain.ValidInvitationToken(bad) {
			t.Errorf("%q accepted as a token", bad)
		}
	}
}

func fields(err error) []string {
	var pe *problem.Error
	if !errors.As(err, &pe) {
		return nil
	}
	var out []string
	for _, f := range pe.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestInviteeValidate(t *testing.T) {
	sel := func(ids ...string) domain.TenantScope {
		return domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: ids}
	}
	cases := []struct {
		name string
		in   domain.Invitee
		want []string
	}{
		{"technician, all tenants by omission", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Technician}}, nil},
		{"custom within a scope", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Custom,
			Permissions: []permission.Permission{permission.ViewData}, TenantScope: sel("t1")}}, nil},
		{"administrator with a scope, dropped later", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Administrator, TenantScope: sel("t1")}}, nil},
		{"bad email and owner", domain.Invitee{Email: "nope", Access: domain.Access{Role: permission.Owner}}, []string{"email", "role"}},
		{"unknown role", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: "Viewer"}}, []string{"role"}},
		{"custom without permissions", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Custom}}, []string{"permissions"}},
		{"custom with an owner-only permission", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Custom,
			Permissions: []permission.Permission{permission.DeleteOrganization}}}, []string{"permissions"}},
		{"permissions on a built-in role", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Technician,
			Permissions: []permission.Permission{permission.ViewData}}}, []string{"permissions"}},
		{"selected without tenants", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Technician, TenantScope: sel()}}, []string{"tenantAccess.tenantIds"}},
		{"unknown mode", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Technician, TenantScope: domain.TenantScope{Mode: "some"}}}, []string{"tenantAccess.mode"}},
		{"bad tenant id", domain.Invitee{Email: "a@b.example", Access: domain.Access{Role: permission.Technician, TenantScope: sel("ok", "no/pe")}}, []string{"tenantAccess.tenantIds[1]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.Normalize()
			if got := fields(in.Validate()); !slices.Equal(got, c.want) {
				t.Fatalf("fields %v, want %v", got, c.want)
			}
		})
	}
}

func TestAccessNormalize(t *testing.T) {
	a := domain.Access{Role: permission.Administrator, Permissions: []permission.Permission{permission.ViewData},
		TenantScope: domain.TenantScope{Mode: permission.ScopeSelected, TenantIDs: []string{"t1"}}}
	a.Normalize()
	if a.TenantScope.Mode != permission.ScopeAll || a.TenantScope.TenantIDs != nil || a.Permissions != nil {
		t.Fatalf("administrator normalized to %+v", a)
	}
	c := domain.Access{Role: permission.Custom, Permissions: []permission.Permission{permission.ManageUsers, permission.ViewData, permission.ManageUsers},
		TenantScope: domain.TenantScope{Mode: permission.ScopeAllExcept, TenantIDs: []string{"t2", "t1", "t2"}}}
	c.Normalize()
	if !slices.Equal(c.Permissions, []permission.Permission{permission.ManageUsers, permission.ViewData}) || !slices.Equal(c.TenantScope.TenantIDs, []string{"t2", "t1"}) {
		t.Fatalf("custom normalized to %+v", c)
	}
}

func TestInvitationStatus(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	inv := domain.Invitation{Status: domain.InvitationPending, ExpiresAt: now.Add(time.Hour)}
	cases := []struct {
		status string
		at     time.Time
		want   string
	}{
		{domain.InvitationPending, now, domain.StatusInvited},
		{domain.InvitationEmailFailed, now, domain.StatusEmailFailed},
		{domain.InvitationPending, now.Add(time.Hour), domain.StatusExpired},
		{domain.InvitationExpired, now, domain.StatusExpired},
	}
	for _, c := range cases {
		inv.Status = c.status
		if got := inv.ListStatus(c.at); got != c.want {
			t.Errorf("%s at %v: %s, want %s", c.status, c.at, got, c.want)
		}
	}
}
