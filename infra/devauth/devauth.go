// Package devauth is the development sign-in of the local server and the tests: it
// issues Cognito-shaped ID tokens signed by a local RSA key and serves that key as a
// JWKS, which the API verifies through the same auth.Verifier it uses with Cognito.
// Nothing under functions/ or shared/ may import it.
package devauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Issuer and Audience of development tokens.
const (
	Issuer   = "https://switchboard.local/dev"
	Audience = "switchboard-dev-client"
	keyID    = "dev-1"
)

// Signer issues development ID tokens.
type Signer struct {
	key *rsa.PrivateKey
	now func() time.Time
	// UserOf, when set, maps a subject to its user id ("" when not mapped yet), as the
	// user pool's Pre Token Generation trigger does: SignIn then adds it to the token as
	// auth.ClaimUserID.
	UserOf func(ctx context.Context, subject string) (string, error)
}

// NewSigner makes a signer with a fresh key.
func NewSigner() (*Signer, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate dev key: %w", err)
	}
	return &Signer{key: k, now: time.Now}, nil
}

// Identity is who to sign in as.
type Identity struct {
	Email string
	Name  string
	MFA   bool
	// Subject defaults to a value derived from the email, so signing in twice as the
	// same email is the same identity.
	Subject string
	// Unverified issues email_verified=false.
	Unverified bool
	// AuthTime defaults to now.
	AuthTime time.Time
	// Lifetime defaults to one hour.
	Lifetime time.Duration
	// Provider, when set, adds an identities claim as a federated sign-in would.
	Provider string
	// EntraTenantID, when set, is the custom:tid claim an Entra sign-in carries.
	EntraTenantID string
	// UserID, when set, is the auth.ClaimUserID claim the Pre Token Generation trigger
	// adds once the identity is mapped.
	UserID string
}

// SubjectOf is the subject Token gives an identity without one.
func SubjectOf(email string) string {
	return "dev-" + base64.RawURLEncoding.EncodeToString([]byte(domain.NormalizeEmail(email)))
}

// Token signs an ID token for id.
func (s *Signer) Token(id Identity) (string, error) {
	now := s.now()
	if id.AuthTime.IsZero() {
		id.AuthTime = now
	}
	if id.Lifetime == 0 {
		id.Lifetime = time.Hour
	}
	if id.Subject == "" {
		id.Subject = SubjectOf(id.Email)
	}
	claims := jwt.MapClaims{
		"iss": Issuer, "aud": Audience, "sub": id.Subject, "token_use": "id",
		"email": id.Email, "email_verified": !id.Unverified, "name": id.Name,
		"auth_time": id.AuthTime.Unix(), "iat": now.Unix(), "exp": now.Add(id.Lifetime).Unix(),
		"origin_jti": domain.NewID(), "jti": domain.NewID(),
	}
	if id.MFA {
		claims["amr"] = []string{"mfa"}
	} else {
		claims["amr"] = []string{"pwd"}
	}
	if id.EntraTenantID != "" {
		claims["custom:tid"] = id.EntraTenantID
	}
	if id.UserID != "" {
		claims[auth.ClaimUserID] = id.UserID
	}
	if id.Provider != "" {
		claims["identities"] = []map[string]any{{"providerName": id.Provider, "providerType": "OIDC", "userId": id.Subject}}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = keyID
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign dev token: %w", err)
	}
	return signed, nil
}

// JWKS serves the public key as a JSON Web Key Set.
func (s *Signer) JWKS() http.Handler {
	pub := s.key.PublicKey
	body, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": keyID, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// signInRequest is the body of POST /dev/sign-in.
type signInRequest struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	MFA   *bool  `json:"mfa"`
}

// SignIn serves POST /dev/sign-in: {"email","name","mfa"} → {"token"}. MFA defaults to
// true, as DESIGN.md says.
func (s *Signer) SignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in signInRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
			problem.Write(r.Context(), w, r, problem.Invalidf("body", "must be a JSON object with email, name and mfa"))
			return
		}
		in.Email = strings.TrimSpace(in.Email)
		if !domain.ValidEmail(in.Email) {
			problem.Write(r.Context(), w, r, problem.Invalidf("email", "must be an email address"))
			return
		}
		mfa := in.MFA == nil || *in.MFA
		id := Identity{Email: in.Email, Name: in.Name, MFA: mfa}
		if s.UserOf != nil {
			userID, err := s.UserOf(r.Context(), SubjectOf(in.Email))
			if err != nil {
				problem.Write(r.Context(), w, r, err)
				return
			}
			id.UserID = userID
		}
		tok, err := s.Token(id)
		if err != nil {
			problem.Write(r.Context(), w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
}

// Verify puts the claims of a valid Bearer token where API Gateway's JWT authorizer
// would. A request without a valid token passes on without claims: protected routes
// answer 401, public routes (which have no authorizer in the cloud) serve.
func Verify(v *auth.Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := auth.BearerToken(r.Header.Get("Authorization"))
		if tok == "" {
			next.ServeHTTP(w, r)
			return
		}
		c, err := v.Verify(tok)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithClaims(r.Context(), c)))
	})
}

// NewVerifier returns a verifier for this signer's tokens, reading the JWKS at url.
func NewVerifier(ctx context.Context, jwksURL string) (*auth.Verifier, error) {
	return auth.NewVerifier(ctx, jwksURL, Issuer, Audience)
}
