// Package graphstandin is a local stand-in for the Entra token endpoint and the few
// Microsoft Graph resources Switchboard reads, answering in the shapes Microsoft
// documents: the client credentials token (and its invalid_client error), /v1.0/users
// with @odata.nextLink paging, /v1.0/subscribedSkus, /v1.0/security/secureScores, and
// 429 with Retry-After on demand. Tests and `make run` point msgraph at it. It is never
// linked into a Lambda.
package graphstandin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/msgraph"
)

// Tenant is one Entra tenant of the stand-in: its app registrations and its data.
type Tenant struct {
	ID string `json:"id"`
	// Apps maps client id to client secret.
	Apps        map[string]string       `json:"apps"`
	Users       []msgraph.User          `json:"users"`
	SKUs        []msgraph.SubscribedSKU `json:"skus"`
	SecureScore *msgraph.SecureScore    `json:"secureScore"`
}

// Server is the stand-in. Its methods change its data while it serves.
type Server struct {
	mu      sync.Mutex
	tenants map[string]*Tenant
	tokens  map[string]tokenGrant
	// throttle answers the next n Graph or token requests 429 with Retry-After.
	throttle, retryAfter int
	// PageSize is the users per page when the request's $top is larger (default 2, so
	// that paging happens with a handful of users).
	PageSize int
	// Requests counts the requests by path, for tests.
	Requests map[string]int
	prefix   string
}

type tokenGrant struct {
	tenant  string
	expires time.Time
}

// New returns an empty stand-in.
func New() *Server {
	return &Server{tenants: map[string]*Tenant{}, tokens: map[string]tokenGrant{}, PageSize: 2, Requests: map[string]int{}}
}

// PutTenant adds or replaces a tenant (its id is matched in any case).
func (s *Server) PutTenant(t Tenant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ID = strings.ToLower(t.ID)
	s.tenants[t.ID] = &t
}

// Throttle makes the next n requests answer 429 with Retry-After: retryAfter seconds.
func (s *Server) Throttle(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.retryAfter = n, retryAfter
}

// Handler serves the token endpoint at /{tenant}/oauth2/v2.0/token and Graph at
// /v1.0/..., so one base URL is both the authority and Graph's base; and, for tests
// and `make run`, PUT /standin/tenants/{id} (a Tenant) and POST /standin/throttle
// {"count","retryAfter"}.
func (s *Server) Handler() http.Handler { return s.HandlerAt("") }

// HandlerAt is Handler mounted under prefix (such as "/dev/graph"): the base URL is
// then that path, and the @odata.nextLink it writes keeps it.
func (s *Server) HandlerAt(prefix string) http.Handler {
	s.prefix = strings.TrimRight(prefix, "/")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /v1.0/users", s.graph(s.users))
	mux.HandleFunc("GET /v1.0/subscribedSkus", s.graph(s.skus))
	mux.HandleFunc("GET /v1.0/security/secureScores", s.graph(s.secureScores))
	mux.HandleFunc("PUT /standin/tenants/{id}", s.putTenant)
	mux.HandleFunc("POST /standin/throttle", s.setThrottle)
	if s.prefix == "" {
		return mux
	}
	return http.StripPrefix(s.prefix, mux)
}

// throttled answers 429 when a throttle is armed.
func (s *Server) throttled(w http.ResponseWriter, graph bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle == 0 {
		return false
	}
	s.throttle--
	w.Header().Set("Retry-After", strconv.Itoa(s.retryAfter))
	if graph {
		graphErr(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
	} else {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS50196: The server terminated an operation because it encountered a client request loop."})
	}
	return true
}

// tokenError answers as the Microsoft identity platform does: an OAuth error with
// its AADSTS code in the description.
func tokenError(w http.ResponseWriter, status int, code, desc string, aadsts int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": "AADSTS" + strconv.Itoa(aadsts) + ": " + desc + "\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\nCorrelation ID: 00000000-0000-0000-0000-000000000000\r\nTimestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"error_codes": []int{aadsts}, "timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id": "00000000-0000-0000-0000-000000000000", "correlation_id": "00000000-0000-0000-0000-000000000000",
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.count("token")
	if s.throttled(w, false) {
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "The request body must contain the following parameter: 'grant_type'.", 900144)
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "The provided value for the input parameter 'grant_type' is not valid.", 70003)
		return
	}
	if r.PostForm.Get("scope") != msgraph.Scope {
		tokenError(w, http.StatusBadRequest, "invalid_scope", "The provided value for the input parameter 'scope' is not valid.", 70011)
		return
	}
	s.mu.Lock()
	t := s.tenants[strings.ToLower(r.PathValue("tenant"))]
	var secret string
	var known bool
	if t != nil {
		secret, known = t.Apps[r.PostForm.Get("client_id")]
	}
	s.mu.Unlock()
	switch {
	case t == nil:
		tokenError(w, http.StatusBadRequest, "invalid_request", "Tenant '"+r.PathValue("tenant")+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", 90002)
		return
	case !known:
		tokenError(w, http.StatusBadRequest, "unauthorized_client", "Application with identifier '"+r.PostForm.Get("client_id")+"' was not found in the directory '"+t.ID+"'.", 700016)
		return
	case subtle.ConstantTimeCompare([]byte(secret), []byte(r.PostForm.Get("client_secret"))) != 1:
		tokenError(w, http.StatusUnauthorized, "invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+r.PostForm.Get("client_id")+"'.", 7000215)
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "standin." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = tokenGrant{tenant: t.ID, expires: time.Now().Add(time.Hour)}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

func graphErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": "00000000-0000-0000-0000-000000000000"}}})
}

// graph checks the bearer token and serves h with its tenant.
func (s *Server) graph(h func(w http.ResponseWriter, r *http.Request, t Tenant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.count(r.URL.Path)
		if s.throttled(w, true) {
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		g, found := s.tokens[tok]
		var t Tenant
		if found && s.tenants[g.tenant] != nil {
			t = *s.tenants[g.tenant]
		}
		s.mu.Unlock()
		if !ok || !found || time.Now().After(g.expires) {
			graphErr(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
			return
		}
		h(w, r, t)
	}
}

func (s *Server) count(path string) {
	s.mu.Lock()
	s.Requests[path]++
	s.mu.Unlock()
}

// collection writes a Graph collection page.
func collection(w http.ResponseWriter, context string, value any, next string) {
	body := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + context, "value": value}
	if next != "" {
		body["@odata.nextLink"] = next
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	_ = json.NewEncoder(w).Encode(body)
}

// users pages with $top (at most PageSize here) and an opaque $skiptoken, as Graph does.
func (s *Server) users(w http.ResponseWriter, r *http.Request, t Tenant) {
	size := s.PageSize
	if top, err := strconv.Atoi(r.URL.Query().Get("$top")); err == nil && top > 0 && top < size {
		size = top
	}
	start := 0
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "RFNwdAIAAQAAAD"))
		if err != nil || n < 0 || n > len(t.Users) {
			graphErr(w, http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken.")
			return
		}
		start = n
	}
	end := min(start+size, len(t.Users))
	pageUsers := t.Users[start:end]
	if pageUsers == nil {
		pageUsers = []msgraph.User{}
	}
	for i := range pageUsers {
		if pageUsers[i].AssignedLicenses == nil {
			pageUsers[i].AssignedLicenses = []msgraph.AssignedLicense{}
		}
	}
	next := ""
	if end < len(t.Users) {
		q := r.URL.Query()
		q.Set("$skiptoken", "RFNwdAIAAQAAAD"+strconv.Itoa(end))
		next = scheme(r) + "://" + r.Host + s.prefix + "/v1.0/users?" + q.Encode()
	}
	collection(w, "users(id,displayName,mail,userPrincipalName,jobTitle,assignedLicenses)", pageUsers, next)
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func (s *Server) skus(w http.ResponseWriter, _ *http.Request, t Tenant) {
	v := t.SKUs
	if v == nil {
		v = []msgraph.SubscribedSKU{}
	}
	collection(w, "subscribedSkus", v, "")
}

func (s *Server) secureScores(w http.ResponseWriter, _ *http.Request, t Tenant) {
	v := []msgraph.SecureScore{}
	if t.SecureScore != nil {
		v = append(v, *t.SecureScore)
	}
	collection(w, "security/secureScores", v, "")
}

func (s *Server) putTenant(w http.ResponseWriter, r *http.Request) {
	var t Tenant
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&t); err != nil {
		http.Error(w, "a tenant as JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	t.ID = r.PathValue("id")
	s.PutTenant(t)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setThrottle(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Count      int `json:"count"`
		RetryAfter int `json:"retryAfter"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10)).Decode(&in); err != nil || in.Count < 0 || in.RetryAfter < 0 {
		http.Error(w, `{"count": n, "retryAfter": seconds}`, http.StatusBadRequest)
		return
	}
	s.Throttle(in.Count, in.RetryAfter)
	w.WriteHeader(http.StatusNoContent)
}
