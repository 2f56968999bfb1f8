package auth_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

func TestClaimsPrincipal(t *testing.T) {
	cases := []struct {
		name    string
		claims  auth.Claims
		want    auth.Principal
		wantErr bool
	}{
		{
			name: "API Gateway renders every claim as a string",
			claims: auth.Claims{"sub": "s1", "email": "a@b.example", "email_verified": "true", "auth_time": "1700000000",
				"origin_jti": "o1", "custom:amr": "[mfa]", "custom:tid": "t1",
				"identities": `[{"providerName":"EntraID","providerType":"OIDC"}]`},
			want: auth.Principal{Subject: "s1", Email: "a@b.example", EmailVerified: true, SessionID: "o1",
				AuthTime: time.Unix(1700000000, 0).UTC(), AMR: []string{"mfa"}, EntraTenantID: "t1", Provider: "EntraID"},
		},
		{
			name: "a JWT library gives native JSON values",
			claims: auth.Claims{"sub": "s2", "email": "c@d.example", "email_verified": true, "auth_time": float64(1700000001),
				"amr": []any{"pwd", "mfa"}},
			want: auth.Principal{Subject: "s2", Email: "c@d.example", EmailVerified: true, SessionID: "auth-1700000001",
				AuthTime: time.Unix(1700000001, 0).UTC(), AMR: []string{"pwd", "mfa"}, Provider: "Cognito"},
		},
		{
			name: "API Gateway renders object claims in Go's map syntax",
			claims: auth.Claims{"sub": "s5", "origin_jti": "o5",
				"identities": "[map[dateCreated:1700000000000 issuer:<nil> primary:true providerName:EntraID providerType:OIDC userId:abc]]"},
			want: auth.Principal{Subject: "s5", SessionID: "o5", Provider: "EntraID"},
		},
		{
			name:   "custom:amr as a JSON array in a string",
			claims: auth.Claims{"sub": "s3", "origin_jti": "o3", "custom:amr": `["mfa","pwd"]`, "email_verified": "false"},
			want:   auth.Principal{Subject: "s3", SessionID: "o3", AMR: []string{"mfa", "pwd"}, Provider: "Cognito"},
		},
		{
			name:   "the user id the Pre Token Generation trigger adds",
			claims: auth.Claims{"sub": "s6", "origin_jti": "o6", auth.ClaimUserID: "u6"},
			want:   auth.Principal{Subject: "s6", SessionID: "o6", Provider: "Cognito", UserID: "u6"},
		},
		{name: "no subject", claims: auth.Claims{"origin_jti": "x"}, wantErr: true},
		{name: "no session", claims: auth.Claims{"sub": "s4"}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.claims.Principal()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != tc.want.Subject || got.Email != tc.want.Email || got.EmailVerified != tc.want.EmailVerified ||
				got.SessionID != tc.want.SessionID || !got.AuthTime.Equal(tc.want.AuthTime) || !slices.Equal(got.AMR, tc.want.AMR) ||
				got.EntraTenantID != tc.want.EntraTenantID || got.Provider != tc.want.Provider {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSignInRules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mfa := auth.Principal{AMR: []string{"mfa"}}
	cases := []struct {
		name     string
		settings domain.AuthSettings
		p        auth.Principal
		lastSeen time.Time
		code     string
	}{
		{"MFA required and present", domain.AuthSettings{RequireMFA: true, SessionTimeoutMinutes: 480}, mfa, now.Add(-time.Hour), ""},
		{"MFA required and absent", domain.AuthSettings{RequireMFA: true, SessionTimeoutMinutes: 480}, auth.Principal{AMR: []string{"pwd"}}, time.Time{}, auth.CodeMFARequired},
		{"MFA not required", domain.AuthSettings{SessionTimeoutMinutes: 480}, auth.Principal{}, time.Time{}, ""},
		{"first request of a session", domain.AuthSettings{SessionTimeoutMinutes: 5}, mfa, time.Time{}, ""},
		{"idle exactly the timeout", domain.AuthSettings{SessionTimeoutMinutes: 480}, mfa, now.Add(-8 * time.Hour), ""},
		{"idle past the timeout", domain.AuthSettings{SessionTimeoutMinutes: 480}, mfa, now.Add(-8*time.Hour - time.Second), auth.CodeSessionExpired},
		{"short timeout", domain.AuthSettings{SessionTimeoutMinutes: 5}, mfa, now.Add(-6 * time.Minute), auth.CodeSessionExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.SignInRules{Settings: tc.settings}.Check(tc.p, tc.lastSeen, now)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.code == "") != (err == nil) || (tc.code != "" && got[:len(tc.code)] != tc.code) {
				t.Fatalf("got %q, want %q", got, tc.code)
			}
		})
	}
}
