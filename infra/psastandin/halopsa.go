package psastandin

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

// HaloPSA is a HaloPSA stand-in: OAuth2 client credentials at /auth/token, the
// resource server under /api with Bearer tokens, Client, Tickets and Users with
// page_no/page_size/pageinate paging, and create-or-update by POSTing an array.
type HaloPSA struct {
	*store
	ClientID, ClientSecret string
	// Tenant, when set, must be the token request's tenant query parameter (the
	// cloud-hosted form).
	Tenant string
	// TokenLifetime is the expires_in of new tokens.
	TokenLifetime time.Duration

	tmu    sync.Mutex
	tokens map[string]time.Time
	issued int
}

// NewHaloPSA starts a HaloPSA stand-in with the application "stand-in-app" /
// "stand-in-secret"; tokens live an hour.
func NewHaloPSA() *HaloPSA {
	h := newHaloPSA()
	h.start(h, nil)
	return h
}

// NewHaloPSAOn is NewHaloPSA on a fixed address.
func NewHaloPSAOn(addr string) (*HaloPSA, error) {
	h := newHaloPSA()
	return on(addr, h, h.store)
}

func newHaloPSA() *HaloPSA {
	h := &HaloPSA{store: newStore(), ClientID: "stand-in-app", ClientSecret: "stand-in-secret", TokenLifetime: time.Hour, tokens: map[string]time.Time{}}
	h.values.Statuses = []psa.TicketValue{{Value: "1", Name: "New", Active: true}, {Value: "2", Name: "In Progress", Active: true},
		{Value: "4", Name: "Waiting", Active: true}, {Value: "9", Name: "Closed", Active: true}}
	return h
}

// AuthServer and ResourceServer are the two URLs HaloPSA shows under
// Configuration > Integrations > HaloPSA API.
func (h *HaloPSA) AuthServer() string     { return h.URL() + "/auth" }
func (h *HaloPSA) ResourceServer() string { return h.URL() + "/api" }

// TokensIssued counts the tokens handed out, to check the connector caches them.
func (h *HaloPSA) TokensIssued() int {
	h.tmu.Lock()
	defer h.tmu.Unlock()
	return h.issued
}

// RevokeTokens forgets every token, as an expiry or a revoked application would.
func (h *HaloPSA) RevokeTokens() {
	h.tmu.Lock()
	defer h.tmu.Unlock()
	h.tokens = map[string]time.Time{}
}

// ServeHTTP answers the token endpoint and the API.
func (h *HaloPSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/auth/token" && r.Method == http.MethodPost {
		h.token(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		http.NotFound(w, r)
		return
	}
	if !h.valid(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f, ok := h.nextFault(); ok {
		if f.status == http.StatusTooManyRequests && f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		http.Error(w, "stand-in fault", f.status)
		return
	}
	parts := strings.Split(strings.Trim(strings.ToLower(strings.TrimPrefix(r.URL.Path, "/api/")), "/"), "/")
	switch {
	case parts[0] == "client" && len(parts) == 1 && r.Method == http.MethodGet:
		h.list(w, r, "clients", h.clients(), nil)
	case parts[0] == "client" && len(parts) == 1 && r.Method == http.MethodPost:
		h.postClients(w, r)
	case parts[0] == "client" && len(parts) == 2 && r.Method == http.MethodGet:
		h.one(w, h.clients(), atoi(parts[1]))
	case parts[0] == "tickets" && len(parts) == 1 && r.Method == http.MethodGet:
		h.listTickets(w, r)
	case parts[0] == "tickets" && len(parts) == 1 && r.Method == http.MethodPost:
		h.postTickets(w, r)
	case parts[0] == "tickets" && len(parts) == 2 && r.Method == http.MethodGet:
		h.one(w, h.tickets(), atoi(parts[1]))
	case parts[0] == "status" && len(parts) == 1 && r.Method == http.MethodGet:
		var list []map[string]any
		if r.URL.Query().Get("type") == "ticket" {
			list = valueList(h.ticketValues().Statuses, func(v psa.TicketValue) map[string]any {
				return map[string]any{"id": atoi(v.Value), "name": v.Name}
			})
		}
		writeJSON(w, http.StatusOK, append([]map[string]any{}, list...))
	case parts[0] == "users" && len(parts) == 1 && r.Method == http.MethodGet:
		cid := r.URL.Query().Get("client_id")
		h.list(w, r, "users", h.users(), func(rec map[string]any) bool { return cid == "" || fmt.Sprint(rec["client_id"]) == cid })
	default:
		http.NotFound(w, r)
	}
}

func (h *HaloPSA) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	if (h.Tenant != "" && r.URL.Query().Get("tenant") != h.Tenant) || r.PostForm.Get("client_id") != h.ClientID || r.PostForm.Get("client_secret") != h.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client", "error_description": "unknown client or wrong secret"})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	h.tmu.Lock()
	h.tokens[tok] = time.Now().Add(h.TokenLifetime)
	h.issued++
	h.tmu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(h.TokenLifetime / time.Second), "scope": r.PostForm.Get("scope")})
}

func (h *HaloPSA) valid(tok string) bool {
	h.tmu.Lock()
	defer h.tmu.Unlock()
	exp, ok := h.tokens[tok]
	return ok && time.Now().Before(exp)
}

func haloTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") } // Halo writes UTC without a zone

func (h *HaloPSA) clients() []map[string]any {
	var out []map[string]any
	for _, c := range h.Companies() {
		out = append(out, map[string]any{"id": atoi(c.ID), "name": c.Name, "website": c.Domain, "phonenumber": c.Phone, "inactive": false})
	}
	return out
}

func (h *HaloPSA) tickets() []map[string]any {
	var out []map[string]any
	for _, t := range h.Tickets() {
		out = append(out, map[string]any{"id": atoi(t.ID), "client_id": atoi(t.CompanyID), "summary": t.Summary,
			"details": t.Description, "status_id": atoi(t.Status), "priority_id": atoi(t.Priority), "lastactiondate": haloTime(t.UpdatedAt)})
	}
	return out
}

func (h *HaloPSA) users() []map[string]any {
	var out []map[string]any
	for _, c := range h.Contacts() {
		out = append(out, map[string]any{"id": atoi(c.ID), "client_id": atoi(c.CompanyID), "name": strings.TrimSpace(c.FirstName + " " + c.LastName),
			"firstname": c.FirstName, "surname": c.LastName, "emailaddress": c.Email, "jobtitle": c.Title})
	}
	return out
}

// list answers a collection: everything, or with pageinate=true the page page_no
// (from 1) of page_size, with record_count the total.
func (h *HaloPSA) list(w http.ResponseWriter, r *http.Request, key string, recs []map[string]any, keep func(map[string]any) bool) {
	var matched []map[string]any
	for _, rec := range recs {
		if keep == nil || keep(rec) {
			matched = append(matched, rec)
		}
	}
	q := r.URL.Query()
	body := map[string]any{"record_count": len(matched)}
	if q.Get("pageinate") == "true" {
		no, size := atoi(q.Get("page_no")), atoi(q.Get("page_size"))
		if no < 1 || size < 1 {
			http.Error(w, "page_no and page_size are required with pageinate", http.StatusBadRequest)
			return
		}
		from := min((no-1)*size, len(matched))
		matched = matched[from:min(from+size, len(matched))]
		body["page_no"], body["page_size"] = no, size
	}
	body[key] = append([]map[string]any{}, matched...)
	writeJSON(w, http.StatusOK, body)
}

// listTickets filters on datesearch=lastactiondate from startdate, besides paging.
func (h *HaloPSA) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var from time.Time
	if q.Get("startdate") != "" {
		if q.Get("datesearch") != "lastactiondate" {
			http.Error(w, "the stand-in searches lastactiondate only", http.StatusBadRequest)
			return
		}
		var err error
		if from, err = time.Parse("2006-01-02T15:04:05", strings.TrimSuffix(q.Get("startdate"), "Z")); err != nil {
			http.Error(w, "cannot read startdate", http.StatusBadRequest)
			return
		}
	}
	h.list(w, r, "tickets", h.tickets(), func(rec map[string]any) bool {
		t, _ := time.Parse("2006-01-02T15:04:05", rec["lastactiondate"].(string))
		return !t.Before(from)
	})
}

func (h *HaloPSA) one(w http.ResponseWriter, recs []map[string]any, id int) {
	h.answer(w, http.StatusOK, recs, id)
}

// answer writes the record id of recs with status (201 after a create).
func (h *HaloPSA) answer(w http.ResponseWriter, status int, recs []map[string]any, id int) {
	for _, rec := range recs {
		if rec["id"] == id {
			writeJSON(w, status, rec)
			return
		}
	}
	http.Error(w, "no record with id "+strconv.Itoa(id), http.StatusNotFound)
}

// readArray reads the array body Halo's POSTs take; the stand-in, like the
// connector, handles one record per request and answers it.
func readArray(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var in []map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in) != 1 {
		http.Error(w, "the body must be an array of one record", http.StatusBadRequest)
		return nil, false
	}
	return in[0], true
}

func (h *HaloPSA) postClients(w http.ResponseWriter, r *http.Request) {
	in, ok := readArray(w, r)
	if !ok {
		return
	}
	var c psa.Company
	status := http.StatusCreated
	if id := atoi(fmt.Sprint(in["id"])); id > 0 {
		status = http.StatusOK
		if c, ok = h.Company(strconv.Itoa(id)); !ok {
			http.Error(w, "no client with id "+strconv.Itoa(id), http.StatusNotFound)
			return
		}
		c.UpdatedAt = time.Time{}
	}
	set := func(k string, into *string) {
		if v, ok := in[k]; ok && v != nil {
			*into = fmt.Sprint(v)
		}
	}
	set("name", &c.Name)
	set("website", &c.Domain)
	set("phonenumber", &c.Phone)
	if c.Name == "" {
		http.Error(w, "name is required", http.StatusBadRequest)
		return
	}
	c = h.Seed(c)[0]
	h.answer(w, status, h.clients(), atoi(c.ID))
}

func (h *HaloPSA) postTickets(w http.ResponseWriter, r *http.Request) {
	in, ok := readArray(w, r)
	if !ok {
		return
	}
	var t psa.Ticket
	status := http.StatusCreated
	if id := atoi(fmt.Sprint(in["id"])); id > 0 {
		status = http.StatusOK
		var found bool
		if t, found = h.Ticket(strconv.Itoa(id)); !found {
			http.Error(w, "no ticket with id "+strconv.Itoa(id), http.StatusNotFound)
			return
		}
		t.UpdatedAt = time.Time{}
	} else {
		cid := strconv.Itoa(atoi(fmt.Sprint(in["client_id"])))
		if _, ok := h.Company(cid); !ok || in["summary"] == nil {
			http.Error(w, "summary and client_id (an existing client) are required", http.StatusBadRequest)
			return
		}
		// New and Medium unless told (the stand-in's defaults).
		t.CompanyID, t.Status, t.Priority = cid, "1", "3"
	}
	if v, ok := in["summary"]; ok {
		t.Summary = fmt.Sprint(v)
	}
	if v, ok := in["details"]; ok {
		t.Description = fmt.Sprint(v)
	}
	if v, ok := in["status_id"]; ok && atoi(fmt.Sprint(v)) > 0 {
		t.Status = strconv.Itoa(atoi(fmt.Sprint(v)))
	}
	if v, ok := in["priority_id"]; ok && atoi(fmt.Sprint(v)) > 0 {
		t.Priority = strconv.Itoa(atoi(fmt.Sprint(v)))
	}
	t = h.SeedTickets(t)[0]
	h.answer(w, status, h.tickets(), atoi(t.ID))
}
