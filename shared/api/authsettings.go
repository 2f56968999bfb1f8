package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// cognitoProviderActions are what managing an organization's Entra provider needs.
var cognitoProviderActions = []string{
	"cognito-idp:CreateIdentityProvider", "cognito-idp:UpdateIdentityProvider", "cognito-idp:DescribeIdentityProvider",
	"cognito-idp:DescribeUserPoolClient", "cognito-idp:UpdateUserPoolClient",
}

// Routes: seed 000's authentication settings and the organization's own
// Entra ID sign-in.
var (
	AuthenticationGet = Route{Method: "GET", Path: "/api/settings/authentication", Permission: permission.PlatformSettings, Function: "authentication-get",
		Summary: "Get the authentication settings: Entra ID SSO, MFA and session timeout", Handler: getAuthSettings}
	AuthenticationPut = Route{Method: "PUT", Path: "/api/settings/authentication", Permission: permission.PlatformSettings, Function: "authentication-put", Category: audit.Settings,
		Summary: "Change SSO, MFA and session timeout", Handler: putAuthSettings}
	AuthenticationSsoPut = Route{Method: "PUT", Path: "/api/settings/authentication/sso", Permission: permission.PlatformSettings, Function: "authentication-sso-put", Category: audit.Settings,
		Summary: "Set up the organization's own Microsoft Entra ID sign-in", Handler: putSSO, Actions: cognitoProviderActions}
)

// authSettingsRoutes are seed 000's authentication settings and the organization's own
// Entra ID sign-in.
func authSettingsRoutes() []Route {
	return []Route{AuthenticationGet, AuthenticationPut, AuthenticationSsoPut}
}

// ssoView is the organization's Entra provider; the client secret is write-only and
// never shown.
type ssoView struct {
	ProviderName    string    `json:"providerName"`
	EntraTenantID   string    `json:"entraTenantId"`
	ClientID        string    `json:"clientId"`
	Domains         []string  `json:"domains"`
	Issuer          string    `json:"issuer"`
	HasClientSecret bool      `json:"hasClientSecret"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

type authSettingsView struct {
	domain.AuthSettings
	SSO     *ssoView `json:"sso"`
	Version int64    `json:"version"`
}

func viewAuthSettings(o domain.Organization) authSettingsView {
	v := authSettingsView{AuthSettings: o.Profile.Authentication, Version: o.Version}
	if s := o.SSO; s != nil {
		v.SSO = &ssoView{ProviderName: s.ProviderName, EntraTenantID: s.EntraTenantID, ClientID: s.ClientID,
			Domains: s.Domains, Issuer: s.Issuer, HasClientSecret: true, UpdatedAt: s.UpdatedAt}
	}
	return v
}

func getAuthSettings(*Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, viewAuthSettings(access.From(r.Context()).Org))
	})
}

type authSettingsInput struct {
	EntraSSOEnabled       *bool  `json:"entraSsoEnabled"`
	RequireMFA            *bool  `json:"requireMfa"`
	SessionTimeoutMinutes *int   `json:"sessionTimeoutMinutes"`
	Version               *int64 `json:"version"`
}

func putAuthSettings(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in authSettingsInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var v problem.Validation
		v.Check(in.EntraSSOEnabled == nil, "entraSsoEnabled", "is required")
		v.Check(in.RequireMFA == nil, "requireMfa", "is required")
		v.Check(in.SessionTimeoutMinutes == nil, "sessionTimeoutMinutes", "is required")
		if m := in.SessionTimeoutMinutes; m != nil && (*m < domain.MinSessionTimeoutMinutes || *m > domain.MaxSessionTimeoutMinutes) {
			v.Add("sessionTimeoutMinutes", "must be between %d and %d minutes", domain.MinSessionTimeoutMinutes, domain.MaxSessionTimeoutMinutes)
		}
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next := domain.AuthSettings{EntraSSOEnabled: *in.EntraSSOEnabled, RequireMFA: *in.RequireMFA, SessionTimeoutMinutes: *in.SessionTimeoutMinutes}
		if next != oc.Org.Profile.Authentication && oc.Org.Profile.RequiresApproval(domain.ActionChangeAuthSettings) {
			if in.Version != nil && *in.Version != oc.Org.Version {
				problem.Write(ctx, w, r, problem.StaleVersion("the organization"))
				return
			}
			d.hold(w, r, domain.ActionChangeAuthSettings, "change the authentication settings: "+describeAuth(next),
				domain.HeldAction{Authentication: &next}, audit.Targets{})
			return
		}
		org, err := d.changeAuthNow(ctx, oc.Org, in.Version, next)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, viewAuthSettings(org))
	})
}

// changeAuthNow writes the authentication settings over org (as read, at version
// expected when given), with the audit event; the route and an approved
// change-authentication-settings request share it.
func (d *Deps) changeAuthNow(ctx context.Context, org domain.Organization, expected *int64, next domain.AuthSettings) (domain.Organization, error) {
	saved, err := d.Store.UpdateOrganizationFrom(ctx, org, expected, func(o *domain.Organization) (audit.Event, error) {
		ev := audit.New(ctx, o.ID, audit.Settings, "authentication.update", "changed the authentication settings")
		ev.Changes = diff(o.Profile.Authentication, next)
		o.Profile.Authentication = next
		return ev, nil
	})
	return saved, notFoundAs(err, "organization")
}

// describeAuth says what authentication settings are, for an approval's summary.
func describeAuth(a domain.AuthSettings) string {
	onOff := map[bool]string{true: "on", false: "off"}
	return fmt.Sprintf("Entra ID SSO %s, MFA %s, session timeout %d minutes", onOff[a.EntraSSOEnabled], onOff[a.RequireMFA], a.SessionTimeoutMinutes)
}

type ssoInput struct {
	EntraTenantID string   `json:"entraTenantId"`
	ClientID      string   `json:"clientId"`
	ClientSecret  string   `json:"clientSecret"`
	Domains       []string `json:"domains"`
	Version       *int64   `json:"version"`
}

func putSSO(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in ssoInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		cfg := identity.SSOConfig{EntraTenantID: in.EntraTenantID, ClientID: in.ClientID, ClientSecret: in.ClientSecret, Domains: in.Domains}
		cfg.Normalize()
		if err := cfg.Validate(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if oc.Org.SSO == nil && cfg.ClientSecret == "" {
			problem.Write(ctx, w, r, problem.Invalidf("clientSecret", "is required when setting up sign-in for the first time"))
			return
		}
		if in.Version != nil && *in.Version != oc.Org.Version {
			problem.Write(ctx, w, r, problem.StaleVersion("the organization"))
			return
		}
		info, err := d.directory().PutEntraProvider(ctx, oc.Org.ID, cfg)
		if errors.Is(err, identity.ErrNoUserPool) {
			err = problem.New(problem.Unavailable, "sso-unavailable", "no Cognito user pool is configured for this deployment")
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// Cognito now holds the provider: record it over a fresh read, so that an edit of
		// the organization in between does not leave the two apart.
		org, err := d.Store.UpdateOrganization(ctx, oc.Org.ID, nil, func(o *domain.Organization) (audit.Event, error) {
			next := &domain.SSOSettings{ProviderName: info.ProviderName, EntraTenantID: info.EntraTenantID, ClientID: info.ClientID,
				Domains: info.Domains, Issuer: info.Issuer, UpdatedAt: d.Store.Now()}
			ev := audit.New(ctx, o.ID, audit.Settings, "authentication.sso.update",
				fmt.Sprintf("set up Microsoft Entra ID sign-in for tenant %s (%d domains)", info.EntraTenantID, len(info.Domains)))
			var before any
			if o.SSO != nil {
				before = *o.SSO
			}
			ev.Changes = diff(before, *next)
			if cfg.ClientSecret != "" {
				ev.Changes = append(ev.Changes, audit.Change{Field: "clientSecret", From: "(hidden)", To: "(replaced)"})
			}
			o.SSO = next
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "organization"))
			return
		}
		write(w, http.StatusOK, viewAuthSettings(org))
	})
}
