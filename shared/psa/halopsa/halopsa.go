// Package halopsa is the HaloPSA connector: OAuth2 client credentials at the
// authorisation server's /token (the token cached until shortly before it
// expires), the resource server's Client, Tickets and Users with
// pageinate/page_no/page_size paging, and create-or-update by POSTing an array.
// Sources are in docs/psa.md.
package halopsa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

// Config is one HaloPSA API application ("Client ID and Secret (Services)").
type Config struct {
	// AuthServer and ResourceServer are the URLs shown under Configuration >
	// Integrations > HaloPSA API, such as https://x.halopsa.com/auth and
	// https://x.halopsa.com/api.
	AuthServer     string
	ResourceServer string
	// Tenant is the tenant query parameter of the token request, needed by
	// cloud-hosted instances; empty for self-hosted ones.
	Tenant       string
	ClientID     string
	ClientSecret string
	Scope        string // empty means "all"
	// TicketStatus is the status_id of new tickets (0 means 1, New);
	// TicketTypeID, when set, their tickettype_id.
	TicketStatus int
	TicketTypeID int
	PageSize     int // 0 means 100
	HTTPClient   *http.Client
	Retry        psa.Retry
}

// Connector implements psa.Connector for one HaloPSA application.
type Connector struct {
	cfg Config

	mu      sync.Mutex
	token   string
	expires time.Time
}

var _ psa.Connector = (*Connector)(nil)

// New checks cfg and answers its connector; the token is fetched on first use.
func New(cfg Config) (*Connector, error) {
	if cfg.AuthServer == "" || cfg.ResourceServer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("halopsa: the authorisation server, resource server, client ID and client secret are all required")
	}
	cfg.AuthServer = strings.TrimRight(cfg.AuthServer, "/")
	cfg.ResourceServer = strings.TrimRight(cfg.ResourceServer, "/")
	if cfg.Scope == "" {
		cfg.Scope = "all"
	}
	if cfg.TicketStatus == 0 {
		cfg.TicketStatus = 1
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	return &Connector{cfg: cfg}, nil
}

const hint = "check the client ID, the client secret and the tenant of the HaloPSA API application"

// tokenEarly renews a token this long before it expires, so a request never
// leaves with a token that dies on the way.
const tokenEarly = time.Minute

// oauthError reads an OAuth2 error answer ({"error", "error_description"}).
func oauthError(_ int, body []byte) (string, bool) {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return "", false
	}
	return strings.TrimSpace(e.Error + " " + e.Description), false
}

// accessToken answers the cached token, or fetches one. The lock is held across
// the fetch so concurrent calls wait for one token rather than each asking.
func (c *Connector) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.expires) {
		return c.token, nil
	}
	u := c.cfg.AuthServer + "/token"
	if c.cfg.Tenant != "" {
		u += "?" + url.Values{"tenant": {c.cfg.Tenant}}.Encode()
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.cfg.ClientID},
		"client_secret": {c.cfg.ClientSecret}, "scope": {c.cfg.Scope}}.Encode()
	var got struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err := psa.Send(ctx, c.cfg.HTTPClient, c.cfg.Retry, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	}, oauthError, &got)
	var refused *psa.RequestError
	if errors.Is(err, psa.ErrUnauthorized) || errors.As(err, &refused) {
		// OAuth2 answers bad client credentials with 400 or 401 (RFC 6749 §5.2).
		return "", fmt.Errorf("halopsa: the token request was refused (%v): %w (%s)", err, psa.ErrUnauthorized, hint)
	}
	if err != nil {
		return "", fmt.Errorf("halopsa: requesting a token: %w", err)
	}
	if got.AccessToken == "" {
		return "", errors.New("halopsa: the token answer carried no access_token")
	}
	c.token = got.AccessToken
	c.expires = time.Now().Add(time.Duration(got.ExpiresIn)*time.Second - tokenEarly)
	return c.token, nil
}

// dropToken forgets tok if it is still the cached one.
func (c *Connector) dropToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// call sends one API request. A 401 with a cached token fetches a new token and
// tries once more: the token may have been revoked or expired early.
func (c *Connector) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.cfg.ResourceServer + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	retry := c.cfg.Retry
	if creates(body) {
		retry = retry.ForCreate()
	}
	var err error
	for try := 0; try < 2; try++ {
		var tok string
		if tok, err = c.accessToken(ctx); err != nil {
			return err
		}
		err = psa.Send(ctx, c.cfg.HTTPClient, retry, func(ctx context.Context) (*http.Request, error) {
			req, err := psa.JSONRequest(ctx, method, u, body)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			return req, nil
		}, nil, out)
		if !errors.Is(err, psa.ErrUnauthorized) {
			break
		}
		c.dropToken(tok)
	}
	return psa.Annotate(err, "halopsa", method, path, hint)
}

// creates reports whether a POST body makes a new record: HaloPSA reads a record
// without an id as a create, and one with an id as an update (safe to repeat).
func creates(body any) bool {
	switch b := body.(type) {
	case []client:
		return len(b) > 0 && b[0].ID == 0
	case []ticket:
		return len(b) > 0 && b[0].ID == 0
	}
	return false
}

type client struct {
	ID          int    `json:"id,omitempty"`
	Name        string `json:"name"`
	Website     string `json:"website"`
	PhoneNumber string `json:"phonenumber"`
}

type ticket struct {
	ID             int    `json:"id,omitempty"`
	ClientID       int    `json:"client_id,omitempty"`
	Summary        string `json:"summary"`
	Details        string `json:"details"`
	StatusID       int    `json:"status_id,omitempty"`
	PriorityID     int    `json:"priority_id,omitempty"`
	TicketTypeID   int    `json:"tickettype_id,omitempty"`
	LastActionDate string `json:"lastactiondate,omitempty"`
}

type user struct {
	ID           int    `json:"id"`
	Name         string `json:"name"`
	FirstName    string `json:"firstname"`
	Surname      string `json:"surname"`
	EmailAddress string `json:"emailaddress"`
	JobTitle     string `json:"jobtitle"`
}

func (c client) psa() psa.Company {
	return psa.Company{ID: strconv.Itoa(c.ID), Name: c.Name, Domain: c.Website, Phone: c.PhoneNumber}
}

// haloTime is the form of Halo's dates: UTC without a zone designator.
const haloTime = "2006-01-02T15:04:05"

func (t ticket) psa() psa.Ticket {
	at, _ := time.Parse(haloTime, strings.TrimSuffix(t.LastActionDate, "Z"))
	if i := strings.IndexByte(t.LastActionDate, '.'); at.IsZero() && i > 0 {
		at, _ = time.Parse(haloTime, t.LastActionDate[:i])
	}
	return psa.Ticket{ID: strconv.Itoa(t.ID), CompanyID: strconv.Itoa(t.ClientID), Summary: t.Summary, Description: t.Details,
		Status: strconv.Itoa(t.StatusID), Priority: psa.OptionalID(t.PriorityID), UpdatedAt: at}
}

func id(kind, s string) (int, error) { return psa.NumericID("halopsa", kind, s) }

// paged adds the paging parameters: page p ordered by id, so pages stay stable.
func (c *Connector) paged(q url.Values, p int) url.Values {
	q.Set("pageinate", "true")
	q.Set("page_no", strconv.Itoa(p))
	q.Set("page_size", strconv.Itoa(c.cfg.PageSize))
	q.Set("order", "id")
	return q
}

// next is the cursor after page p of a listing of total records.
func (c *Connector) next(p, total int) string {
	if p*c.cfg.PageSize >= total {
		return ""
	}
	return strconv.Itoa(p + 1)
}

// CompaniesChangedSince lists every client, a page per call: HaloPSA documents
// no changed-since filter on Client and no last-modified field on it, so this is
// a full scan (FullScan set, UpdatedAt zero) and the sync compares fields.
func (c *Connector) CompaniesChangedSince(ctx context.Context, _ time.Time, cursor string) (psa.CompanyPage, error) {
	p, err := psa.PageNumber("halopsa", cursor)
	if err != nil {
		return psa.CompanyPage{}, err
	}
	var got struct {
		RecordCount int      `json:"record_count"`
		Clients     []client `json:"clients"`
	}
	if err := c.call(ctx, http.MethodGet, "Client", c.paged(url.Values{}, p), nil, &got); err != nil {
		return psa.CompanyPage{}, err
	}
	companies := make([]psa.Company, 0, len(got.Clients))
	for _, x := range got.Clients {
		companies = append(companies, x.psa())
	}
	out := psa.NewCompanyPage(companies, c.next(p, got.RecordCount))
	out.FullScan = true
	return out, nil
}

// Company reads one client.
func (c *Connector) Company(ctx context.Context, companyID string) (psa.Company, error) {
	n, err := id("client", companyID)
	if err != nil {
		return psa.Company{}, err
	}
	var got client
	if err := c.call(ctx, http.MethodGet, "Client/"+strconv.Itoa(n), nil, nil, &got); err != nil {
		return psa.Company{}, err
	}
	return got.psa(), nil
}

// CreateCompany posts a one-client array; HaloPSA answers the client.
func (c *Connector) CreateCompany(ctx context.Context, co psa.Company) (psa.Company, error) {
	var got client
	body := []client{{Name: co.Name, Website: co.Domain, PhoneNumber: co.Phone}}
	if err := c.call(ctx, http.MethodPost, "Client", nil, body, &got); err != nil {
		return psa.Company{}, err
	}
	return got.psa(), nil
}

// SyncedFields: a HaloPSA client holds the website; its addresses are on its sites,
// which the connector does not read.
func (c *Connector) SyncedFields() psa.Fields { return psa.Fields{Website: true} }

// UpdateCompany posts the client with its id, which HaloPSA reads as an update.
func (c *Connector) UpdateCompany(ctx context.Context, co psa.Company) (psa.Company, error) {
	n, err := id("client", co.ID)
	if err != nil {
		return psa.Company{}, err
	}
	var got client
	body := []client{{ID: n, Name: co.Name, Website: co.Domain, PhoneNumber: co.Phone}}
	if err := c.call(ctx, http.MethodPost, "Client", nil, body, &got); err != nil {
		return psa.Company{}, err
	}
	return got.psa(), nil
}

func status(s string, def int) (int, error) { return psa.NumericStatus("halopsa", s, def) }

// CreateTicket posts a one-ticket array.
func (c *Connector) CreateTicket(ctx context.Context, t psa.Ticket) (psa.Ticket, error) {
	cid, err := id("client", t.CompanyID)
	if err != nil {
		return psa.Ticket{}, err
	}
	st, err := status(t.Status, c.cfg.TicketStatus)
	if err != nil {
		return psa.Ticket{}, err
	}
	pr, err := psa.NumericValue("halopsa", "priority", t.Priority, 0)
	if err != nil {
		return psa.Ticket{}, err
	}
	var got ticket
	body := []ticket{{ClientID: cid, Summary: t.Summary, Details: t.Description, StatusID: st, PriorityID: pr, TicketTypeID: c.cfg.TicketTypeID}}
	if err := c.call(ctx, http.MethodPost, "Tickets", nil, body, &got); err != nil {
		return psa.Ticket{}, err
	}
	return got.psa(), nil
}

// TicketValues reads the ticket statuses (GET /api/Status?type=ticket). Priorities
// are left nil: HaloPSA keeps them per SLA, and no listing of them was confirmed.
func (c *Connector) TicketValues(ctx context.Context) (psa.TicketValues, error) {
	var got []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	if err := c.call(ctx, http.MethodGet, "Status", url.Values{"type": {"ticket"}}, nil, &got); err != nil {
		return psa.TicketValues{}, err
	}
	out := psa.TicketValues{Statuses: make([]psa.TicketValue, 0, len(got))}
	for _, s := range got {
		out.Statuses = append(out.Statuses, psa.TicketValue{Value: strconv.Itoa(s.ID), Name: s.Name, Active: true})
	}
	return out, nil
}

var _ psa.TicketValueLister = (*Connector)(nil)

// UpdateTicket posts the ticket with its id: summary, details and status.
func (c *Connector) UpdateTicket(ctx context.Context, t psa.Ticket) (psa.Ticket, error) {
	n, err := id("ticket", t.ID)
	if err != nil {
		return psa.Ticket{}, err
	}
	st, err := status(t.Status, 0)
	if err != nil {
		return psa.Ticket{}, err
	}
	pr, err := psa.NumericValue("halopsa", "priority", t.Priority, 0)
	if err != nil {
		return psa.Ticket{}, err
	}
	var got ticket
	if err := c.call(ctx, http.MethodPost, "Tickets", nil, []ticket{{ID: n, Summary: t.Summary, Details: t.Description, StatusID: st, PriorityID: pr}}, &got); err != nil {
		return psa.Ticket{}, err
	}
	return got.psa(), nil
}

// TicketsChangedSince lists tickets whose last action is at or after since
// (datesearch=lastactiondate with startdate): a status change is an action.
func (c *Connector) TicketsChangedSince(ctx context.Context, since time.Time, cursor string) (psa.TicketPage, error) {
	p, err := psa.PageNumber("halopsa", cursor)
	if err != nil {
		return psa.TicketPage{}, err
	}
	q := url.Values{"datesearch": {"lastactiondate"}, "startdate": {since.UTC().Format(haloTime)}}
	var got struct {
		RecordCount int      `json:"record_count"`
		Tickets     []ticket `json:"tickets"`
	}
	if err := c.call(ctx, http.MethodGet, "Tickets", c.paged(q, p), nil, &got); err != nil {
		return psa.TicketPage{}, err
	}
	tickets := make([]psa.Ticket, 0, len(got.Tickets))
	for _, x := range got.Tickets {
		tickets = append(tickets, x.psa())
	}
	return psa.NewTicketPage(tickets, c.next(p, got.RecordCount)), nil
}

// Contacts lists the client's users (HaloPSA's name for a client's people).
func (c *Connector) Contacts(ctx context.Context, companyID string) ([]psa.Contact, error) {
	n, err := id("client", companyID)
	if err != nil {
		return nil, err
	}
	var out []psa.Contact
	for p := 1; ; p++ {
		var got struct {
			RecordCount int    `json:"record_count"`
			Users       []user `json:"users"`
		}
		if err := c.call(ctx, http.MethodGet, "Users", c.paged(url.Values{"client_id": {strconv.Itoa(n)}}, p), nil, &got); err != nil {
			return nil, err
		}
		for _, x := range got.Users {
			first, last := x.FirstName, x.Surname
			if first == "" && last == "" {
				first, last, _ = strings.Cut(x.Name, " ")
			}
			out = append(out, psa.Contact{ID: strconv.Itoa(x.ID), CompanyID: companyID, FirstName: first, LastName: last,
				Email: x.EmailAddress, Title: x.JobTitle})
		}
		if c.next(p, got.RecordCount) == "" {
			return out, nil
		}
	}
}
