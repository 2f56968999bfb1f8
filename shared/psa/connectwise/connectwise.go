// Package connectwise is the ConnectWise Manage (ConnectWise PSA) connector: its
// REST API at https://{site}/v4_6_release/apis/3.0/, Basic authentication as
// "{companyId}+{publicKey}:{privateKey}" with the clientId header, the conditions
// query language and page/pageSize paging. Sources are in docs/psa.md.
package connectwise

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

// Config is one ConnectWise account.
type Config struct {
	// Site is the API host, such as "api-na.myconnectwise.net" or a full URL
	// ("https://…"); the codebase path v4_6_release/apis/3.0 is added.
	Site       string
	CompanyID  string // the company id typed at sign-in
	PublicKey  string
	PrivateKey string
	ClientID   string // the integration's clientId GUID (developer.connectwise.com)
	// Board and Status name the service board and status of new tickets; empty
	// leaves them to ConnectWise's defaults.
	Board  string
	Status string
	// PageSize is the page size of listings: 0 means 100 (ConnectWise allows 1000).
	PageSize   int
	HTTPClient *http.Client
	Retry      psa.Retry
}

// Connector implements psa.Connector for one ConnectWise account.
type Connector struct {
	cfg  Config
	base string
}

var _ psa.Connector = (*Connector)(nil)

// New checks cfg and answers its connector.
func New(cfg Config) (*Connector, error) {
	if cfg.Site == "" || cfg.CompanyID == "" || cfg.PublicKey == "" || cfg.PrivateKey == "" || cfg.ClientID == "" {
		return nil, errors.New("connectwise: site, company id, public key, private key and clientId are all required")
	}
	site := strings.TrimRight(cfg.Site, "/")
	if !strings.Contains(site, "://") {
		site = "https://" + site
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	return &Connector{cfg: cfg, base: site + "/v4_6_release/apis/3.0/"}, nil
}

type ref struct {
	ID         int    `json:"id,omitempty"`
	Name       string `json:"name,omitempty"`
	Identifier string `json:"identifier,omitempty"`
}

type info struct {
	LastUpdated string `json:"lastUpdated"`
}

type company struct {
	ID           int    `json:"id,omitempty"`
	Identifier   string `json:"identifier,omitempty"`
	Name         string `json:"name"`
	PhoneNumber  string `json:"phoneNumber"`
	Website      string `json:"website"`
	AddressLine1 string `json:"addressLine1"`
	AddressLine2 string `json:"addressLine2"`
	City         string `json:"city"`
	State        string `json:"state"`
	Zip          string `json:"zip"`
	Country      *ref   `json:"country,omitempty"`
	Info         *info  `json:"_info,omitempty"`
}

type ticket struct {
	ID                 int    `json:"id,omitempty"`
	Summary            string `json:"summary"`
	InitialDescription string `json:"initialDescription,omitempty"`
	Company            *ref   `json:"company,omitempty"`
	Board              *ref   `json:"board,omitempty"`
	Status             *ref   `json:"status,omitempty"`
	Priority           *ref   `json:"priority,omitempty"`
	Info               *info  `json:"_info,omitempty"`
}

type contact struct {
	ID                 int    `json:"id"`
	FirstName          string `json:"firstName"`
	LastName           string `json:"lastName"`
	Title              string `json:"title"`
	Company            *ref   `json:"company"`
	CommunicationItems []struct {
		Type              ref    `json:"type"`
		Value             string `json:"value"`
		DefaultFlag       bool   `json:"defaultFlag"`
		CommunicationType string `json:"communicationType"`
	} `json:"communicationItems"`
}

// patchOp is one JSON Patch (RFC 6902) operation, which ConnectWise's PATCH takes.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// condTime is a date in the conditions language: [2024-01-01T00:00:00Z].
func condTime(t time.Time) string { return "[" + t.UTC().Format("2006-01-02T15:04:05Z") + "]" }

func (c company) psa() psa.Company {
	out := psa.Company{ID: strconv.Itoa(c.ID), Name: c.Name, Domain: c.Website, Phone: c.PhoneNumber,
		Address1: c.AddressLine1, Address2: c.AddressLine2, City: c.City, State: c.State, PostalCode: c.Zip}
	if c.Country != nil {
		out.Country = c.Country.Name
	}
	if c.Info != nil {
		out.UpdatedAt = parseTime(c.Info.LastUpdated)
	}
	return out
}

func (t ticket) psa() psa.Ticket {
	out := psa.Ticket{ID: strconv.Itoa(t.ID), Summary: t.Summary, Description: t.InitialDescription}
	if t.Company != nil {
		out.CompanyID = strconv.Itoa(t.Company.ID)
	}
	if t.Status != nil {
		out.Status = t.Status.Name
	}
	if t.Priority != nil {
		out.Priority = t.Priority.Name
	}
	if t.Info != nil {
		out.UpdatedAt = parseTime(t.Info.LastUpdated)
	}
	return out
}

// errorMessage reads ConnectWise's {"code":…,"message":…} error body.
func errorMessage(_ int, body []byte) (string, bool) {
	var e struct{ Code, Message string }
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return "", false
	}
	return e.Code + ": " + e.Message, false
}

func (c *Connector) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	retry := c.cfg.Retry
	if method == http.MethodPost { // every POST here creates a record
		retry = retry.ForCreate()
	}
	err := psa.Send(ctx, c.cfg.HTTPClient, retry, func(ctx context.Context) (*http.Request, error) {
		req, err := psa.JSONRequest(ctx, method, u, body)
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(c.cfg.CompanyID+"+"+c.cfg.PublicKey, c.cfg.PrivateKey)
		req.Header.Set("clientId", c.cfg.ClientID)
		return req, nil
	}, errorMessage, out)
	return psa.Annotate(err, "connectwise", method, path, "check the company id, the public and private keys and the clientId")
}

func id(kind, s string) (int, error) { return psa.NumericID("connectwise", kind, s) }

// listQuery is a paged listing ordered by id, so pages stay stable while records
// change (a change moves no record between pages).
func (c *Connector) listQuery(conditions string, p int) url.Values {
	return url.Values{"conditions": {conditions}, "orderBy": {"id asc"}, "page": {strconv.Itoa(p)}, "pageSize": {strconv.Itoa(c.cfg.PageSize)}}
}

// next is the cursor after a page of n records: a short page is the last.
func (c *Connector) next(p, n int) string {
	if n < c.cfg.PageSize {
		return ""
	}
	return strconv.Itoa(p + 1)
}

// CompaniesChangedSince lists companies with lastUpdated at or after since: the
// boundary second is included because ConnectWise dates have whole seconds, so a
// change in the same second as the last high-water mark is not lost (seeing one
// record twice is harmless).
func (c *Connector) CompaniesChangedSince(ctx context.Context, since time.Time, cursor string) (psa.CompanyPage, error) {
	p, err := psa.PageNumber("connectwise", cursor)
	if err != nil {
		return psa.CompanyPage{}, err
	}
	var got []company
	if err := c.call(ctx, http.MethodGet, "company/companies", c.listQuery("lastUpdated >= "+condTime(since), p), nil, &got); err != nil {
		return psa.CompanyPage{}, err
	}
	companies := make([]psa.Company, 0, len(got))
	for _, x := range got {
		companies = append(companies, x.psa())
	}
	return psa.NewCompanyPage(companies, c.next(p, len(got))), nil
}

// Company reads one company.
func (c *Connector) Company(ctx context.Context, companyID string) (psa.Company, error) {
	n, err := id("company", companyID)
	if err != nil {
		return psa.Company{}, err
	}
	var got company
	if err := c.call(ctx, http.MethodGet, "company/companies/"+strconv.Itoa(n), nil, nil, &got); err != nil {
		return psa.Company{}, err
	}
	return got.psa(), nil
}

var notIdentifier = regexp.MustCompile(`[^A-Za-z0-9]`)

// identifier derives the short unique key ConnectWise requires of a new company
// (at most 25 characters): the name's letters and digits.
func identifier(name string) string {
	s := notIdentifier.ReplaceAllString(name, "")
	if len(s) > 25 {
		s = s[:25]
	}
	if s == "" {
		s = "Company" + strconv.FormatInt(time.Now().Unix()%1e9, 10)
	}
	return s
}

// CreateCompany posts a new company.
func (c *Connector) CreateCompany(ctx context.Context, co psa.Company) (psa.Company, error) {
	body := company{Identifier: identifier(co.Name), Name: co.Name, PhoneNumber: co.Phone, Website: co.Domain,
		AddressLine1: co.Address1, AddressLine2: co.Address2, City: co.City, State: co.State, Zip: co.PostalCode}
	body.Country = countryRef(co.Country)
	var got company
	if err := c.call(ctx, http.MethodPost, "company/companies", nil, body, &got); err != nil {
		return psa.Company{}, err
	}
	return got.psa(), nil
}

// SyncedFields: ConnectWise companies hold the website, the address in parts and the
// country (a reference, written by name).
func (c *Connector) SyncedFields() psa.Fields {
	return psa.Fields{Website: true, Address: true, Country: true}
}

// countryRef is the country reference to write: by name, or null to clear it.
func countryRef(name string) *ref {
	if name == "" {
		return nil
	}
	return &ref{Name: name}
}

// UpdateCompany patches the company's synced fields with replace operations, so
// fields Switchboard does not hold are left alone.
func (c *Connector) UpdateCompany(ctx context.Context, co psa.Company) (psa.Company, error) {
	n, err := id("company", co.ID)
	if err != nil {
		return psa.Company{}, err
	}
	ops := []patchOp{
		{"replace", "name", co.Name}, {"replace", "phoneNumber", co.Phone}, {"replace", "website", co.Domain},
		{"replace", "addressLine1", co.Address1}, {"replace", "addressLine2", co.Address2}, {"replace", "city", co.City},
		{"replace", "state", co.State}, {"replace", "zip", co.PostalCode}, {"replace", "country", countryRef(co.Country)},
	}
	var got company
	if err := c.call(ctx, http.MethodPatch, "company/companies/"+strconv.Itoa(n), nil, ops, &got); err != nil {
		return psa.Company{}, err
	}
	return got.psa(), nil
}

// CreateTicket posts a service ticket on the configured board.
func (c *Connector) CreateTicket(ctx context.Context, t psa.Ticket) (psa.Ticket, error) {
	cid, err := id("company", t.CompanyID)
	if err != nil {
		return psa.Ticket{}, err
	}
	body := ticket{Summary: summary(t.Summary), InitialDescription: t.Description, Company: &ref{ID: cid}}
	if c.cfg.Board != "" {
		body.Board = &ref{Name: c.cfg.Board}
	}
	if status := orDefault(t.Status, c.cfg.Status); status != "" {
		body.Status = &ref{Name: status}
	}
	if t.Priority != "" {
		body.Priority = &ref{Name: t.Priority}
	}
	var got ticket
	if err := c.call(ctx, http.MethodPost, "service/tickets", nil, body, &got); err != nil {
		return psa.Ticket{}, err
	}
	return got.psa(), nil
}

func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// summary fits ConnectWise's 100-character ticket summary.
func summary(s string) string { return psa.Truncate(s, 100) }

// UpdateTicket patches summary, status and priority. ConnectWise keeps the description as
// the ticket's first note, which a PATCH does not rewrite, so it is not sent.
func (c *Connector) UpdateTicket(ctx context.Context, t psa.Ticket) (psa.Ticket, error) {
	n, err := id("ticket", t.ID)
	if err != nil {
		return psa.Ticket{}, err
	}
	ops := []patchOp{{"replace", "summary", summary(t.Summary)}}
	if t.Status != "" {
		ops = append(ops, patchOp{"replace", "status", ref{Name: t.Status}})
	}
	if t.Priority != "" {
		ops = append(ops, patchOp{"replace", "priority", ref{Name: t.Priority}})
	}
	var got ticket
	if err := c.call(ctx, http.MethodPatch, "service/tickets/"+strconv.Itoa(n), nil, ops, &got); err != nil {
		return psa.Ticket{}, err
	}
	return got.psa(), nil
}

// TicketValues reads the priorities (GET service/priorities, by name, as the map takes
// them). Statuses are left nil: ConnectWise keeps them per service board
// (service/boards/{id}/statuses), and the connector files tickets by board name
// without knowing the board's id.
func (c *Connector) TicketValues(ctx context.Context) (psa.TicketValues, error) {
	var got []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	q := url.Values{"pageSize": {"1000"}, "orderBy": {"id asc"}}
	if err := c.call(ctx, http.MethodGet, "service/priorities", q, nil, &got); err != nil {
		return psa.TicketValues{}, err
	}
	out := psa.TicketValues{Priorities: make([]psa.TicketValue, 0, len(got))}
	for _, p := range got {
		out.Priorities = append(out.Priorities, psa.TicketValue{Value: p.Name, Name: p.Name, Active: true})
	}
	return out, nil
}

var _ psa.TicketValueLister = (*Connector)(nil)

// TicketsChangedSince lists tickets with lastUpdated at or after since.
func (c *Connector) TicketsChangedSince(ctx context.Context, since time.Time, cursor string) (psa.TicketPage, error) {
	p, err := psa.PageNumber("connectwise", cursor)
	if err != nil {
		return psa.TicketPage{}, err
	}
	var got []ticket
	if err := c.call(ctx, http.MethodGet, "service/tickets", c.listQuery("lastUpdated >= "+condTime(since), p), nil, &got); err != nil {
		return psa.TicketPage{}, err
	}
	tickets := make([]psa.Ticket, 0, len(got))
	for _, x := range got {
		tickets = append(tickets, x.psa())
	}
	return psa.NewTicketPage(tickets, c.next(p, len(got))), nil
}

// Contacts lists the company's contacts, all pages; the email is the default
// (else first) communication item of type Email.
func (c *Connector) Contacts(ctx context.Context, companyID string) ([]psa.Contact, error) {
	n, err := id("company", companyID)
	if err != nil {
		return nil, err
	}
	var out []psa.Contact
	for p := 1; ; p++ {
		var got []contact
		if err := c.call(ctx, http.MethodGet, "company/contacts", c.listQuery("company/id="+strconv.Itoa(n), p), nil, &got); err != nil {
			return nil, err
		}
		for _, x := range got {
			ct := psa.Contact{ID: strconv.Itoa(x.ID), CompanyID: companyID, FirstName: x.FirstName, LastName: x.LastName, Title: x.Title}
			for _, item := range x.CommunicationItems {
				isEmail := item.CommunicationType == "Email" || item.Type.Name == "Email"
				if isEmail && (ct.Email == "" || item.DefaultFlag) {
					ct.Email = item.Value
				}
			}
			out = append(out, ct)
		}
		if c.next(p, len(got)) == "" {
			return out, nil
		}
	}
}
