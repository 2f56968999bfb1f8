// Package msgraph is the small Microsoft identity platform and Microsoft Graph client
// of the Microsoft 365 connections: an app-only (client credentials) token from the
// Entra token endpoint, and Graph GETs that follow @odata.nextLink and honour
// Retry-After on 429 and 503. Both base URLs are configuration, so tests and `make run`
// point them at infra/graphstandin.
package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Environment variables of the two endpoints.
const (
	// EnvAuthority is the Entra authority, default https://login.microsoftonline.com;
	// tokens come from {authority}/{tenant}/oauth2/v2.0/token.
	EnvAuthority = "GRAPH_AUTHORITY_URL"
	// EnvGraphURL is Graph's base, default https://graph.microsoft.com.
	EnvGraphURL = "GRAPH_BASE_URL"
)

// Defaults of the public cloud.
const (
	DefaultAuthority = "https://login.microsoftonline.com"
	DefaultGraphURL  = "https://graph.microsoft.com"
	// Scope asks for the application permissions granted to the app in Graph.
	Scope = "https://graph.microsoft.com/.default"
)

// Client talks to one authority and one Graph. Its zero value is not usable: use New
// or FromEnv.
type Client struct {
	authority, graph string
	http             *http.Client
	// MaxAttempts bounds the tries of one request that is throttled (429) or whose
	// service is unavailable (503); MaxWait bounds one Retry-After honoured. A longer
	// Retry-After, or one past the context's deadline, ends the request with a
	// throttled error instead of waiting.
	MaxAttempts int
	MaxWait     time.Duration
	sleep       func(context.Context, time.Duration) error
}

// New returns a client of the given authority and Graph base URLs (trailing slashes
// are dropped); hc may be nil for a client with a 20-second timeout.
func New(authority, graphURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	return &Client{authority: strings.TrimRight(authority, "/"), graph: strings.TrimRight(graphURL, "/"), http: hc,
		MaxAttempts: 4, MaxWait: 10 * time.Second, sleep: sleepCtx}
}

// FromEnv is New on GRAPH_AUTHORITY_URL and GRAPH_BASE_URL, or the public cloud's.
func FromEnv() *Client {
	a, g := os.Getenv(EnvAuthority), os.Getenv(EnvGraphURL)
	if a == "" {
		a = DefaultAuthority
	}
	if g == "" {
		g = DefaultGraphURL
	}
	return New(a, g, nil)
}

// Credentials are an app registration's client credentials in one Entra tenant.
type Credentials struct {
	TenantID     string
	ClientID     string
	ClientSecret string
}

// Kind classifies a failure for the caller: what to tell the user, and whether the
// previous readings stand.
type Kind string

// The kinds of Error.
const (
	// InvalidCredentials: the token endpoint refused the app (invalid_client,
	// unauthorized_client, an unknown tenant).
	InvalidCredentials Kind = "invalid-credentials"
	// Forbidden: the token was issued but Graph refused the call (a permission the app
	// was not granted, 401/403).
	Forbidden Kind = "forbidden"
	// Throttled: 429 or 503 through every attempt, or a Retry-After too long to wait.
	Throttled Kind = "throttled"
	// Unavailable: no answer in time, a network error or another 5xx.
	Unavailable Kind = "unavailable"
	// BadResponse: an answer this client cannot read, or another 4xx.
	BadResponse Kind = "bad-response"
)

// Error is a failed token or Graph request. Its message is Entra's or Graph's own
// (never a credential: requests are not echoed).
type Error struct {
	Kind Kind
	// Status is the HTTP status, 0 when none came.
	Status int
	// Code is Entra's error (invalid_client) or Graph's error code.
	Code    string
	Message string
	// RetryAfter is the last Retry-After of a throttled request.
	RetryAfter time.Duration
	err        error
}

func (e *Error) Error() string {
	s := string(e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *Error) Unwrap() error { return e.err }

// KindOf is err's Kind, Unavailable when it is no *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Unavailable
}

// Token is an access token for Graph.
type Token struct {
	AccessToken string
	ExpiresAt   time.Time
}

// tokenAnswer is the token endpoint's answer, success or error.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// Token asks the Entra token endpoint of creds.TenantID for an app-only token for
// Graph (client credentials grant, client secret in the body).
func (c *Client) Token(ctx context.Context, creds Credentials) (Token, error) {
	if creds.TenantID == "" || strings.ContainsAny(creds.TenantID, "/?#") {
		return Token{}, &Error{Kind: InvalidCredentials, Code: "invalid_tenant", Message: "the Entra tenant id is missing or malformed"}
	}
	form := url.Values{
		"client_id":     {creds.ClientID},
		"client_secret": {creds.ClientSecret},
		"scope":         {Scope},
		"grant_type":    {"client_credentials"},
	}.Encode()
	endpoint := c.authority + "/" + url.PathEscape(creds.TenantID) + "/oauth2/v2.0/token"
	res, body, err := c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	})
	if err != nil {
		return Token{}, err
	}
	var ans tokenAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return Token{}, &Error{Kind: BadResponse, Status: res.StatusCode, Message: "the token endpoint's answer is not JSON", err: err}
	}
	if res.StatusCode != http.StatusOK || ans.AccessToken == "" {
		kind := BadResponse
		switch {
		case ans.Error == "invalid_client" || ans.Error == "unauthorized_client" || ans.Error == "invalid_request" && res.StatusCode == http.StatusBadRequest:
			kind = InvalidCredentials
		case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
			kind = InvalidCredentials
		case res.StatusCode >= 500:
			kind = Unavailable
		}
		return Token{}, &Error{Kind: kind, Status: res.StatusCode, Code: ans.Error, Message: firstLine(ans.ErrorDescription)}
	}
	return Token{AccessToken: ans.AccessToken, ExpiresAt: time.Now().Add(time.Duration(ans.ExpiresIn) * time.Second)}, nil
}

// firstLine keeps Entra's description to its first line: the rest is trace and
// correlation ids.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\r\n")
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// Session is a token and the client that uses it for Graph.
type Session struct {
	c     *Client
	token Token
}

// Connect takes a token for creds: the session's Graph calls use it.
func (c *Client) Connect(ctx context.Context, creds Credentials) (*Session, error) {
	tok, err := c.Token(ctx, creds)
	if err != nil {
		return nil, err
	}
	return &Session{c: c, token: tok}, nil
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// page is one page of a Graph collection.
type page struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"@odata.nextLink"`
}

// maxPages bounds one listing: 200 pages of 999 users is more than any tenant we manage.
const maxPages = 200

// each GETs path (relative to the Graph base, with its query) and every page its
// @odata.nextLink names, passing each element of value to fn. A nextLink must stay on
// the Graph base: the token is never sent elsewhere.
func (s *Session) each(ctx context.Context, path string, fn func(json.RawMessage) error) error {
	next := s.c.graph + path
	for n := 0; next != ""; n++ {
		if n == maxPages {
			return &Error{Kind: BadResponse, Message: fmt.Sprintf("more than %d pages", maxPages)}
		}
		if !strings.HasPrefix(next, s.c.graph+"/") {
			return &Error{Kind: BadResponse, Message: "@odata.nextLink leaves the Graph endpoint"}
		}
		p, err := s.get(ctx, next)
		if err != nil {
			return err
		}
		for _, v := range p.Value {
			if err := fn(v); err != nil {
				return &Error{Kind: BadResponse, Message: "an element of value cannot be read", err: err}
			}
		}
		next = p.NextLink
	}
	return nil
}

func (s *Session) get(ctx context.Context, u string) (page, error) {
	res, body, err := s.c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+s.token.AccessToken)
			req.Header.Set("Accept", "application/json")
		}
		return req, err
	})
	if err != nil {
		return page{}, err
	}
	if res.StatusCode != http.StatusOK {
		var ge graphError
		_ = json.Unmarshal(body, &ge)
		kind := BadResponse
		switch {
		case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
			kind = Forbidden
		case res.StatusCode >= 500:
			kind = Unavailable
		}
		return page{}, &Error{Kind: kind, Status: res.StatusCode, Code: ge.Error.Code, Message: ge.Error.Message}
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		return page{}, &Error{Kind: BadResponse, Status: res.StatusCode, Message: "Graph's answer is not a collection", err: err}
	}
	return p, nil
}

// maxBody bounds an answer read: a page of 999 users is well under it.
const maxBody = 16 << 20

// do sends the request build makes, again while the answer is 429 or 503 and its
// Retry-After (or, without one, a short backoff) can be waited within MaxWait and the
// context's deadline. Any answer but those is returned with its body; a throttled end
// is an Error of kind Throttled, a transport failure one of kind Unavailable.
func (c *Client) do(ctx context.Context, build func() (*http.Request, error)) (*http.Response, []byte, error) {
	var last *Error
	for attempt := 1; ; attempt++ {
		req, err := build()
		if err != nil {
			return nil, nil, &Error{Kind: BadResponse, Message: "cannot build the request", err: err}
		}
		res, err := c.http.Do(req)
		if err != nil {
			// The URL is ours, never a secret; the error names it, the body is not echoed.
			return nil, nil, &Error{Kind: Unavailable, Message: "no answer: " + errText(ctx, err), err: err}
		}
		body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
		res.Body.Close()
		if err != nil {
			return nil, nil, &Error{Kind: Unavailable, Status: res.StatusCode, Message: "the answer was cut off", err: err}
		}
		if res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusServiceUnavailable {
			return res, body, nil
		}
		wait, ok := retryAfter(res.Header.Get("Retry-After"), time.Now())
		if !ok {
			wait = time.Duration(attempt) * time.Second
		}
		var ge graphError
		_ = json.Unmarshal(body, &ge)
		last = &Error{Kind: Throttled, Status: res.StatusCode, Code: ge.Error.Code, RetryAfter: wait,
			Message: fmt.Sprintf("throttled; Retry-After %s", wait)}
		if ge.Error.Message != "" {
			last.Message = ge.Error.Message + fmt.Sprintf(" (Retry-After %s)", wait)
		}
		if attempt >= c.MaxAttempts || wait > c.MaxWait {
			return nil, nil, last
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, nil, last
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, nil, last
		}
	}
}

func errText(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "the request was cancelled or timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		return ue.Err.Error()
	}
	return err.Error()
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetSleep replaces how the client waits out a Retry-After; tests count the waits.
func (c *Client) SetSleep(sleep func(context.Context, time.Duration) error) { c.sleep = sleep }
