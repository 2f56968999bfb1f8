// Package autotask is the Autotask (Datto/Kaseya) PSA connector: the REST API at
// the zone's URL (found once with zoneInformation?user= and cached), header
// authentication (ApiIntegrationCode, UserName, Secret), {entity}/query with the
// filter JSON, paging by pageDetails.nextPageUrl, create by POST and update by
// PATCH. Sources are in docs/psa.md.
package autotask

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

// DefaultZoneLookupURL is where Autotask answers which zone serves an API user.
const DefaultZoneLookupURL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"

// Config is one Autotask API user.
type Config struct {
	UserName        string // the API-only user's name (an email address)
	Secret          string
	IntegrationCode string // the API tracking identifier
	ZoneLookupURL   string // empty means DefaultZoneLookupURL
	// OwnerResourceID is the resource that owns companies created here (Autotask
	// requires one); CompanyType is their type, 0 meaning 1 (Customer).
	OwnerResourceID int
	CompanyType     int
	// TicketStatus and TicketPriority are the picklist values of new tickets:
	// 0 means 1 (New) and 2 (Medium), Autotask's defaults; QueueID, when set,
	// places them in a queue.
	TicketStatus   int
	TicketPriority int
	QueueID        int
	// PageSize is MaxRecords of queries: 0 means 500, Autotask's maximum.
	PageSize   int
	HTTPClient *http.Client
	Retry      psa.Retry
}

// Connector implements psa.Connector for one Autotask API user.
type Connector struct {
	cfg Config
}

var _ psa.Connector = (*Connector)(nil)

// New checks cfg and answers its connector; the zone is looked up on first use.
func New(cfg Config) (*Connector, error) {
	if cfg.UserName == "" || cfg.Secret == "" || cfg.IntegrationCode == "" {
		return nil, errors.New("autotask: the API user name, secret and integration code are all required")
	}
	if cfg.ZoneLookupURL == "" {
		cfg.ZoneLookupURL = DefaultZoneLookupURL
	}
	if cfg.CompanyType == 0 {
		cfg.CompanyType = 1
	}
	if cfg.TicketStatus == 0 {
		cfg.TicketStatus = 1
	}
	if cfg.TicketPriority == 0 {
		cfg.TicketPriority = 2
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 500 {
		cfg.PageSize = 500
	}
	return &Connector{cfg: cfg}, nil
}

// zones caches each user's zone URL for the process's life: a zone does not move,
// and a warm Lambda should not ask again on every sync.
var zones sync.Map // lookup URL + "\x00" + user → zone URL

const hint = "check the API user name, secret and integration code"

// errorMessage reads Autotask's {"errors":[…]} body. A 500 that carries errors is
// a refusal of the request (Autotask answers validation errors so), not an outage.
func errorMessage(status int, body []byte) (string, bool) {
	var e struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return "", false
	}
	return strings.Join(e.Errors, "; "), status == http.StatusInternalServerError
}

// zone answers the API base of the user's zone (…/atservicesrest), looking it up once.
func (c *Connector) zone(ctx context.Context) (string, error) {
	key := c.cfg.ZoneLookupURL + "\x00" + strings.ToLower(c.cfg.UserName)
	if z, ok := zones.Load(key); ok {
		return z.(string), nil
	}
	u := c.cfg.ZoneLookupURL + "?" + url.Values{"user": {c.cfg.UserName}}.Encode()
	var got struct {
		URL string `json:"url"`
	}
	err := psa.Send(ctx, c.cfg.HTTPClient, c.cfg.Retry, func(ctx context.Context) (*http.Request, error) {
		return psa.JSONRequest(ctx, http.MethodGet, u, nil)
	}, errorMessage, &got)
	var refused *psa.RequestError
	if errors.Is(err, psa.ErrNotFound) || errors.As(err, &refused) {
		return "", fmt.Errorf("autotask: no zone knows the API user %q (%v): %w (%s)", c.cfg.UserName, err, psa.ErrUnauthorized, hint)
	}
	if err != nil {
		return "", fmt.Errorf("autotask: looking up the zone: %w", err)
	}
	if _, perr := url.Parse(got.URL); got.URL == "" || perr != nil {
		return "", fmt.Errorf("autotask: the zone look-up answered no usable url (%q)", got.URL)
	}
	z := strings.TrimRight(got.URL, "/")
	zones.Store(key, z)
	return z, nil
}

// call sends one request to the zone: path is relative to …/atservicesrest
// ("V1.0/Companies/query") or, for a next page, an absolute URL on the zone.
func (c *Connector) call(ctx context.Context, method, path string, body, out any) error {
	z, err := c.zone(ctx)
	if err != nil {
		return err
	}
	u := z + "/" + path
	if strings.Contains(path, "://") {
		// A nextPageUrl: the credentials go to the zone's host only.
		pu, perr := url.Parse(path)
		zu, _ := url.Parse(z)
		if perr != nil || pu.Scheme != zu.Scheme || pu.Host != zu.Host {
			return fmt.Errorf("autotask: the cursor %q is not a page of this zone", path)
		}
		u = path
	}
	retry := c.cfg.Retry
	if method == http.MethodPost && !strings.HasSuffix(path, "/query") { // a POST that is no query creates
		retry = retry.ForCreate()
	}
	err = psa.Send(ctx, c.cfg.HTTPClient, retry, func(ctx context.Context) (*http.Request, error) {
		req, err := psa.JSONRequest(ctx, method, u, body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("ApiIntegrationCode", c.cfg.IntegrationCode)
		req.Header.Set("UserName", c.cfg.UserName)
		req.Header.Set("Secret", c.cfg.Secret)
		return req, nil
	}, errorMessage, out)
	name := path
	if i := strings.Index(name, "?"); i >= 0 {
		name = name[:i]
	}
	return psa.Annotate(err, "autotask", method, name, hint)
}

type filter struct {
	Op    string `json:"op"`
	Field string `json:"field"`
	Value any    `json:"value"`
}

type query struct {
	MaxRecords int      `json:"MaxRecords"`
	Filter     []filter `json:"filter"`
}

type pageDetails struct {
	NextPageURL *string `json:"nextPageUrl"`
}

type company struct {
	ID               int    `json:"id,omitempty"`
	CompanyName      string `json:"companyName"`
	CompanyType      int    `json:"companyType,omitempty"`
	OwnerResourceID  int    `json:"ownerResourceID,omitempty"`
	Phone            string `json:"phone"`
	WebAddress       string `json:"webAddress"`
	Address1         string `json:"address1"`
	Address2         string `json:"address2"`
	City             string `json:"city"`
	State            string `json:"state"`
	PostalCode       string `json:"postalCode"`
	LastActivityDate string `json:"lastActivityDate,omitempty"`
}

type ticket struct {
	ID               int    `json:"id,omitempty"`
	CompanyID        int    `json:"companyID,omitempty"`
	Title            string `json:"title"`
	Description      string `json:"description"`
	Status           int    `json:"status,omitempty"`
	Priority         int    `json:"priority,omitempty"`
	QueueID          int    `json:"queueID,omitempty"`
	LastActivityDate string `json:"lastActivityDate,omitempty"`
}

type contact struct {
	ID           int    `json:"id"`
	CompanyID    int    `json:"companyID"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	EmailAddress string `json:"emailAddress"`
	Title        string `json:"title"`
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t.UTC()
}

func (c company) psa() psa.Company {
	return psa.Company{ID: strconv.Itoa(c.ID), Name: c.CompanyName, Phone: c.Phone, Domain: c.WebAddress, Address1: c.Address1,
		Address2: c.Address2, City: c.City, State: c.State, PostalCode: c.PostalCode, UpdatedAt: parseTime(c.LastActivityDate)}
}

func (t ticket) psa() psa.Ticket {
	return psa.Ticket{ID: strconv.Itoa(t.ID), CompanyID: strconv.Itoa(t.CompanyID), Summary: t.Title, Description: t.Description,
		Status: strconv.Itoa(t.Status), Priority: psa.OptionalID(t.Priority), UpdatedAt: parseTime(t.LastActivityDate)}
}

func id(kind, s string) (int, error) { return psa.NumericID("autotask", kind, s) }

// queryPage runs a query, or follows its nextPageUrl when cursor is set, and
// answers the items and the next cursor.
func queryPage[T any](ctx context.Context, c *Connector, entity string, filters []filter, cursor string) ([]T, string, error) {
	var got struct {
		Items       []T         `json:"items"`
		PageDetails pageDetails `json:"pageDetails"`
	}
	var err error
	if cursor == "" {
		err = c.call(ctx, http.MethodPost, "V1.0/"+entity+"/query", query{MaxRecords: c.cfg.PageSize, Filter: filters}, &got)
	} else {
		err = c.call(ctx, http.MethodGet, cursor, nil, &got)
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if got.PageDetails.NextPageURL != nil {
		next = *got.PageDetails.NextPageURL
	}
	return got.Items, next, nil
}

// since filters on lastActivityDate at or after t: whole-second stamps elsewhere
// make the boundary inclusive so nothing is lost (a repeat is harmless).
func since(t time.Time) []filter {
	return []filter{{Op: "gte", Field: "lastActivityDate", Value: t.UTC().Format(time.RFC3339)}}
}

// CompaniesChangedSince lists companies whose lastActivityDate is at or after t.
func (c *Connector) CompaniesChangedSince(ctx context.Context, t time.Time, cursor string) (psa.CompanyPage, error) {
	items, next, err := queryPage[company](ctx, c, "Companies", since(t), cursor)
	if err != nil {
		return psa.CompanyPage{}, err
	}
	companies := make([]psa.Company, 0, len(items))
	for _, x := range items {
		companies = append(companies, x.psa())
	}
	return psa.NewCompanyPage(companies, next), nil
}

// get reads one entity by id; Autotask answers an unknown id with a null item.
func get[T any](ctx context.Context, c *Connector, entity string, n int) (T, error) {
	var got struct {
		Item *T `json:"item"`
	}
	var zero T
	if err := c.call(ctx, http.MethodGet, "V1.0/"+entity+"/"+strconv.Itoa(n), nil, &got); err != nil {
		return zero, err
	}
	if got.Item == nil {
		return zero, fmt.Errorf("autotask: %s %d: %w", entity, n, psa.ErrNotFound)
	}
	return *got.Item, nil
}

// Company reads one company.
func (c *Connector) Company(ctx context.Context, companyID string) (psa.Company, error) {
	n, err := id("company", companyID)
	if err != nil {
		return psa.Company{}, err
	}
	got, err := get[company](ctx, c, "Companies", n)
	return got.psa(), err
}

// write creates (POST) or updates (PATCH) and answers the itemId.
func (c *Connector) write(ctx context.Context, method, entity string, body any) (int, error) {
	var got struct {
		ItemID int `json:"itemId"`
	}
	if err := c.call(ctx, method, "V1.0/"+entity, body, &got); err != nil {
		return 0, err
	}
	if got.ItemID <= 0 {
		return 0, fmt.Errorf("autotask %s %s: the answer carried no itemId", method, entity)
	}
	return got.ItemID, nil
}

func companyBody(co psa.Company) company {
	return company{CompanyName: co.Name, Phone: co.Phone, WebAddress: co.Domain, Address1: co.Address1, Address2: co.Address2,
		City: co.City, State: co.State, PostalCode: co.PostalCode}
}

// CreateCompany posts a company and reads it back (the answer is only its id).
func (c *Connector) CreateCompany(ctx context.Context, co psa.Company) (psa.Company, error) {
	body := companyBody(co)
	body.CompanyType, body.OwnerResourceID = c.cfg.CompanyType, c.cfg.OwnerResourceID
	n, err := c.write(ctx, http.MethodPost, "Companies", body)
	if err != nil {
		return psa.Company{}, err
	}
	return c.Company(ctx, strconv.Itoa(n))
}

// SyncedFields: Autotask companies hold the website and the address in parts; the
// country is a countryID of the Countries entity, not synced.
func (c *Connector) SyncedFields() psa.Fields { return psa.Fields{Website: true, Address: true} }

// UpdateCompany patches the synced fields and reads the company back.
func (c *Connector) UpdateCompany(ctx context.Context, co psa.Company) (psa.Company, error) {
	body := companyBody(co)
	n, err := id("company", co.ID)
	if err != nil {
		return psa.Company{}, err
	}
	body.ID = n
	if _, err := c.write(ctx, http.MethodPatch, "Companies", body); err != nil {
		return psa.Company{}, err
	}
	return c.Company(ctx, co.ID)
}

func (c *Connector) ticket(ctx context.Context, n int) (psa.Ticket, error) {
	got, err := get[ticket](ctx, c, "Tickets", n)
	return got.psa(), err
}

// TicketValues reads the status and priority picklists of the Tickets entity
// (GET V1.0/Tickets/entityInformation/fields: each field's picklistValues).
func (c *Connector) TicketValues(ctx context.Context) (psa.TicketValues, error) {
	var got struct {
		Fields []struct {
			Name           string `json:"name"`
			PicklistValues []struct {
				Value    string `json:"value"`
				Label    string `json:"label"`
				IsActive bool   `json:"isActive"`
			} `json:"picklistValues"`
		} `json:"fields"`
	}
	if err := c.call(ctx, http.MethodGet, "V1.0/Tickets/entityInformation/fields", nil, &got); err != nil {
		return psa.TicketValues{}, err
	}
	out := psa.TicketValues{Statuses: []psa.TicketValue{}, Priorities: []psa.TicketValue{}}
	for _, f := range got.Fields {
		var into *[]psa.TicketValue
		switch strings.ToLower(f.Name) {
		case "status":
			into = &out.Statuses
		case "priority":
			into = &out.Priorities
		default:
			continue
		}
		for _, v := range f.PicklistValues {
			*into = append(*into, psa.TicketValue{Value: v.Value, Name: v.Label, Active: v.IsActive})
		}
	}
	return out, nil
}

var _ psa.TicketValueLister = (*Connector)(nil)

// status reads a psa status as Autotask's status picklist value; "" is def.
func status(s string, def int) (int, error) { return psa.NumericStatus("autotask", s, def) }

func priority(s string, def int) (int, error) {
	return psa.NumericValue("autotask", "priority", s, def)
}

// title fits Autotask's 255-character ticket title.
func title(s string) string { return psa.Truncate(s, 255) }

// CreateTicket posts a ticket with the configured priority (and queue) and reads it back.
func (c *Connector) CreateTicket(ctx context.Context, t psa.Ticket) (psa.Ticket, error) {
	cid, err := id("company", t.CompanyID)
	if err != nil {
		return psa.Ticket{}, err
	}
	st, err := status(t.Status, c.cfg.TicketStatus)
	if err != nil {
		return psa.Ticket{}, err
	}
	pr, err := priority(t.Priority, c.cfg.TicketPriority)
	if err != nil {
		return psa.Ticket{}, err
	}
	n, err := c.write(ctx, http.MethodPost, "Tickets", ticket{CompanyID: cid, Title: title(t.Summary), Description: t.Description,
		Status: st, Priority: pr, QueueID: c.cfg.QueueID})
	if err != nil {
		return psa.Ticket{}, err
	}
	return c.ticket(ctx, n)
}

// UpdateTicket patches title, description and status (when set) and reads it back.
func (c *Connector) UpdateTicket(ctx context.Context, t psa.Ticket) (psa.Ticket, error) {
	n, err := id("ticket", t.ID)
	if err != nil {
		return psa.Ticket{}, err
	}
	st, err := status(t.Status, 0)
	if err != nil {
		return psa.Ticket{}, err
	}
	pr, err := priority(t.Priority, 0)
	if err != nil {
		return psa.Ticket{}, err
	}
	if _, err := c.write(ctx, http.MethodPatch, "Tickets", ticket{ID: n, Title: title(t.Summary), Description: t.Description, Status: st, Priority: pr}); err != nil {
		return psa.Ticket{}, err
	}
	return c.ticket(ctx, n)
}

// TicketsChangedSince lists tickets whose lastActivityDate is at or after t.
func (c *Connector) TicketsChangedSince(ctx context.Context, t time.Time, cursor string) (psa.TicketPage, error) {
	items, next, err := queryPage[ticket](ctx, c, "Tickets", since(t), cursor)
	if err != nil {
		return psa.TicketPage{}, err
	}
	tickets := make([]psa.Ticket, 0, len(items))
	for _, x := range items {
		tickets = append(tickets, x.psa())
	}
	return psa.NewTicketPage(tickets, next), nil
}

// Contacts lists the company's contacts, following every page.
func (c *Connector) Contacts(ctx context.Context, companyID string) ([]psa.Contact, error) {
	n, err := id("company", companyID)
	if err != nil {
		return nil, err
	}
	var out []psa.Contact
	cursor := ""
	for {
		items, next, err := queryPage[contact](ctx, c, "Contacts", []filter{{Op: "eq", Field: "companyID", Value: n}}, cursor)
		if err != nil {
			return nil, err
		}
		for _, x := range items {
			out = append(out, psa.Contact{ID: strconv.Itoa(x.ID), CompanyID: companyID, FirstName: x.FirstName,
				LastName: x.LastName, Email: x.EmailAddress, Title: x.Title})
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
