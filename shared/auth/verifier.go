package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Verifier checks Cognito ID tokens against a JWKS, as API Gateway's JWT authorizer
// does in the cloud: signature, issuer, audience (the app client) and expiry.
type Verifier struct {
	keys     keyfunc.Keyfunc
	issuer   string
	audience string
}

// NewVerifier reads the JWKS at jwksURL and keeps it fresh in the background until ctx
// ends.
func NewVerifier(ctx context.Context, jwksURL, issuer, audience string) (*Verifier, error) {
	k, err := keyfunc.NewDefaultCtx(ctx, []string{jwksURL})
	if err != nil {
		return nil, fmt.Errorf("load jwks %s: %w", jwksURL, err)
	}
	return &Verifier{keys: k, issuer: issuer, audience: audience}, nil
}

// Verify returns the claims of a valid token.
func (v *Verifier) Verify(token string) (Claims, error) {
	claims := jwt.MapClaims{}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	}
	if v.issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.issuer))
	}
	if v.audience != "" {
		opts = append(opts, jwt.WithAudience(v.audience))
	}
	if _, err := jwt.ParseWithClaims(token, claims, v.keys.Keyfunc, opts...); err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	if use, _ := claims["token_use"].(string); use != "" && use != "id" {
		return nil, fmt.Errorf("verify token: token_use %q is not an ID token", use)
	}
	return Claims(claims), nil
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
