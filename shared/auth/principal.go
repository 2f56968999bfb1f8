// Package auth turns verified token claims into a Principal. In Lambda the claims come
// from API Gateway's JWT authorizer; elsewhere Verifier checks the token against a JWKS
// and puts the claims in the same place, so everything after it is one code path.
package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Principal is the signed-in caller as the token describes them.
type Principal struct {
	Subject       string
	Issuer        string
	Email         string
	EmailVerified bool
	Name          string
	// SessionID identifies one sign-in: origin_jti, or auth_time when absent.
	SessionID string
	AuthTime  time.Time
	// AMR lists the authentication methods (amr or custom:amr); "mfa" means MFA.
	AMR []string
	// EntraTenantID is Entra's tid, mapped to custom:tid.
	EntraTenantID string
	// Provider is the identity provider that signed the user in ("Cognito" for native).
	Provider string
	// UserID is the user the identity maps to, when the token carries ClaimUserID: the
	// user pool's Pre Token Generation trigger adds it once the identity is mapped, so a
	// request need not look the mapping up. Empty otherwise.
	UserID string
}

// ClaimUserID is the ID token claim that names the Switchboard user of the identity.
// Only the user pool's Pre Token Generation trigger sets it: it is no user attribute, so
// no client can write it, and the token's signature covers it.
const ClaimUserID = "switchboard:user"

// HasMFA reports whether the sign-in used multi-factor authentication.
func (p Principal) HasMFA() bool {
	for _, m := range p.AMR {
		if strings.EqualFold(m, "mfa") {
			return true
		}
	}
	return false
}

// goMapProvider compiles on first use: only tokens whose identities claim came as Go's
// map text need it.
var goMapProvider = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`providerName:([^\s\]]+)`) })

// Claims are a token's claims as a JSON object. API Gateway hands them over as strings
// (arrays and objects serialized), a JWT library as native JSON values; both parse here.
type Claims map[string]any

type claimsKey struct{}

// WithClaims stores verified claims in ctx, where API Gateway's would be read from.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the verified claims stored in ctx.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok && c != nil
}

// Principal builds the caller from claims; it fails when a required claim is missing.
func (c Claims) Principal() (Principal, error) {
	p := Principal{
		Subject:       c.str("sub"),
		Issuer:        c.str("iss"),
		Email:         strings.TrimSpace(c.str("email")),
		EmailVerified: c.boolean("email_verified"),
		Name:          c.str("name"),
		EntraTenantID: c.str("custom:tid"),
	}
	if p.Subject == "" {
		return Principal{}, fmt.Errorf("token has no sub claim")
	}
	if at, ok := c.number("auth_time"); ok {
		p.AuthTime = time.Unix(at, 0).UTC()
	}
	p.SessionID = c.str("origin_jti")
	if p.SessionID == "" {
		if p.AuthTime.IsZero() {
			return Principal{}, fmt.Errorf("token has neither origin_jti nor auth_time")
		}
		p.SessionID = "auth-" + strconv.FormatInt(p.AuthTime.Unix(), 10)
	}
	p.AMR = append(c.list("amr"), c.list("custom:amr")...)
	p.Provider = c.Provider()
	p.UserID = c.str(ClaimUserID)
	if p.Name == "" {
		p.Name = strings.TrimSpace(c.str("given_name") + " " + c.str("family_name"))
	}
	return p, nil
}

// NativeProvider is the identity provider of a user who signed in to the user pool
// itself rather than through a federated provider.
const NativeProvider = "Cognito"

// Provider is the identity provider that signed the user in: the providerName of the
// identities claim (or of Cognito's identities user attribute, the same JSON), or
// NativeProvider when there is none.
func (c Claims) Provider() string {
	provider := NativeProvider
	for _, id := range c.objects("identities") {
		if name, _ := id["providerName"].(string); name != "" {
			provider = name
		}
	}
	if m := goMapProvider().FindStringSubmatch(c.str("identities")); m != nil {
		// API Gateway renders object claims in Go's map syntax:
		// [map[providerName:EntraID providerType:OIDC ...]].
		provider = m[1]
	}
	return provider
}

func (c Claims) str(k string) string {
	switch v := c[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	return ""
}

func (c Claims) boolean(k string) bool {
	switch v := c[k].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

func (c Claims) number(k string) (int64, bool) {
	switch v := c[k].(type) {
	case float64:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case int64:
		return v, true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// list reads a claim that is an array, a JSON array in a string, or a string of words
// separated by spaces or commas (API Gateway's rendering of arrays: "[a b]").
func (c Claims) list(k string) []string {
	switch v := c[k].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	case string:
		var arr []string
		if json.Unmarshal([]byte(v), &arr) == nil {
			return arr
		}
		return strings.FieldsFunc(strings.Trim(v, "[]"), func(r rune) bool { return r == ' ' || r == ',' })
	}
	return nil
}

func (c Claims) objects(k string) []map[string]any {
	switch v := c[k].(type) {
	case []any:
		var out []map[string]any
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	case string:
		var out []map[string]any
		_ = json.Unmarshal([]byte(v), &out)
		return out
	}
	return nil
}
