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

// Autotask is an Autotask REST API stand-in: the zone look-up
// (v1.0/zoneInformation?user=), header authentication (ApiIntegrationCode,
// UserName, Secret), {entity}/query with the filter JSON and pageDetails.nextPageUrl
// paging, create (POST) and update (PATCH) answering {"itemId"}, and {"errors"}.
// Its zone is itself.
type Autotask struct {
	*store
	UserName, Secret, IntegrationCode string
	// OwnerResourceID is the resource new companies must name as owner.
	OwnerResourceID int

	pmu    sync.Mutex
	paging map[string]atPaging
	zones  int
}

// atPaging is a query being paged: the next page starts after the id afterID.
type atPaging struct {
	entity  string
	filters []atFilter
	max     int
	afterID int
}

type atFilter struct {
	Op    string `json:"op"`
	Field string `json:"field"`
	Value any    `json:"value"`
}

const atBase = "/atservicesrest/v1.0/"

// NewAutotask starts an Autotask stand-in with the API user
// api@contoso.example / secret and integration code "STANDINCODE".
func NewAutotask() *Autotask {
	at := newAutotask()
	at.start(at, nil)
	return at
}

// NewAutotaskOn is NewAutotask on a fixed address.
func NewAutotaskOn(addr string) (*Autotask, error) {
	at := newAutotask()
	return on(addr, at, at.store)
}

func newAutotask() *Autotask {
	at := &Autotask{store: newStore(), UserName: "api@contoso.example", Secret: "secret", IntegrationCode: "STANDINCODE",
		OwnerResourceID: 4, paging: map[string]atPaging{}}
	at.values = psa.TicketValues{
		Statuses: []psa.TicketValue{{Value: "1", Name: "New", Active: true}, {Value: "5", Name: "Complete", Active: true},
			{Value: "7", Name: "Waiting Customer", Active: true}, {Value: "8", Name: "In Progress", Active: true}},
		Priorities: []psa.TicketValue{{Value: "1", Name: "High", Active: true}, {Value: "2", Name: "Medium", Active: true},
			{Value: "3", Name: "Low", Active: true}, {Value: "4", Name: "Critical", Active: true}}}
	return at
}

// ZoneLookupURL is what the connector asks for its zone (in production,
// https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation).
func (at *Autotask) ZoneLookupURL() string { return at.URL() + atBase + "zoneInformation" }

// ZoneLookups counts the zone look-ups served, to check the connector caches it.
func (at *Autotask) ZoneLookups() int {
	at.pmu.Lock()
	defer at.pmu.Unlock()
	return at.zones
}

func atError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []string{msg}})
}

// ServeHTTP answers the API. Autotask paths are case-insensitive (its documents
// write both V1.0 and v1.0).
func (at *Autotask) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.ToLower(r.URL.Path)
	if !strings.HasPrefix(path, atBase) {
		atError(w, http.StatusNotFound, "no such path")
		return
	}
	rest := strings.Trim(strings.TrimPrefix(path, atBase), "/")
	if rest == "zoneinformation" && r.Method == http.MethodGet {
		at.zone(w, r)
		return
	}
	if r.Header.Get("ApiIntegrationCode") != at.IntegrationCode || !strings.EqualFold(r.Header.Get("UserName"), at.UserName) || r.Header.Get("Secret") != at.Secret {
		w.WriteHeader(http.StatusUnauthorized) // Autotask answers a bare 401
		return
	}
	if f, ok := at.nextFault(); ok {
		if f.status == http.StatusTooManyRequests {
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			atError(w, f.status, "API request threshold or thread limit exceeded (stand-in)")
			return
		}
		http.Error(w, "stand-in fault", f.status) // an outage, not a refusal: no errors array
		return
	}
	parts := strings.Split(rest, "/")
	entity := parts[0]
	if entity != "companies" && entity != "tickets" && entity != "contacts" {
		atError(w, http.StatusNotFound, "no such entity: "+entity)
		return
	}
	switch {
	case len(parts) == 3 && entity == "tickets" && parts[1] == "entityinformation" && parts[2] == "fields" && r.Method == http.MethodGet:
		at.ticketFields(w)
	case len(parts) == 2 && parts[1] == "query" && r.Method == http.MethodPost:
		at.query(w, r, entity)
	case len(parts) == 3 && parts[1] == "query" && parts[2] == "next" && r.Method == http.MethodGet:
		at.next(w, r)
	case len(parts) == 2 && r.Method == http.MethodGet:
		at.get(w, entity, atoi(parts[1]))
	case len(parts) == 1 && (r.Method == http.MethodPost || r.Method == http.MethodPatch) && entity != "contacts":
		at.write(w, r, entity)
	default:
		atError(w, http.StatusMethodNotAllowed, r.Method+" is not supported here")
	}
}

func (at *Autotask) zone(w http.ResponseWriter, r *http.Request) {
	at.pmu.Lock()
	at.zones++
	at.pmu.Unlock()
	if !strings.EqualFold(r.URL.Query().Get("user"), at.UserName) {
		atError(w, http.StatusNotFound, "no zone for the user "+r.URL.Query().Get("user"))
		return
	}
	host := "http://" + r.Host
	writeJSON(w, http.StatusOK, map[string]any{"zoneName": "Stand-in", "url": host + "/atservicesrest/", "webUrl": host + "/", "ci": 1})
}

func atTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// records answers an entity's records as the API shows them, by id.
func (at *Autotask) records(entity string) []map[string]any {
	var out []map[string]any
	switch entity {
	case "companies":
		for _, c := range at.Companies() {
			out = append(out, map[string]any{"id": atoi(c.ID), "companyName": c.Name, "companyType": 1, "phone": c.Phone,
				"webAddress": c.Domain, "address1": c.Address1, "address2": c.Address2, "city": c.City, "state": c.State,
				"postalCode": c.PostalCode, "countryID": nil, "isActive": true, "ownerResourceID": at.OwnerResourceID,
				"lastActivityDate": atTime(c.UpdatedAt)})
		}
	case "tickets":
		for _, t := range at.Tickets() {
			out = append(out, map[string]any{"id": atoi(t.ID), "companyID": atoi(t.CompanyID), "title": t.Summary,
				"description": t.Description, "status": atoi(t.Status), "priority": atoi(t.Priority), "lastActivityDate": atTime(t.UpdatedAt)})
		}
	case "contacts":
		for _, c := range at.Contacts() {
			out = append(out, map[string]any{"id": atoi(c.ID), "companyID": atoi(c.CompanyID), "firstName": c.FirstName,
				"lastName": c.LastName, "emailAddress": c.Email, "title": c.Title, "isActive": 1})
		}
	}
	return out
}

// match applies one filter: eq, noteq, gt, gte, lt, lte and exist on numbers,
// strings and dates (a date field's value is compared as a time).
func (f atFilter) match(rec map[string]any) (bool, error) {
	got, ok := rec[f.Field]
	if !ok {
		for k, v := range rec { // field names are case-insensitive
			if strings.EqualFold(k, f.Field) {
				got, ok = v, true
			}
		}
	}
	if !ok {
		return false, fmt.Errorf("unknown field %s", f.Field)
	}
	if f.Op == "exist" {
		return got != nil, nil
	}
	var cmp int
	switch g := got.(type) {
	case int:
		want, err := strconv.Atoi(fmt.Sprint(f.Value))
		if err != nil {
			return false, fmt.Errorf("%s takes a number", f.Field)
		}
		cmp = g - want
	case string:
		if have, err := time.Parse(time.RFC3339, g); err == nil {
			want, err := time.Parse(time.RFC3339, fmt.Sprint(f.Value))
			if err != nil {
				return false, fmt.Errorf("%s takes a date", f.Field)
			}
			cmp = have.Compare(want)
		} else {
			cmp = strings.Compare(strings.ToLower(g), strings.ToLower(fmt.Sprint(f.Value)))
		}
	default:
		return false, fmt.Errorf("%s cannot be queried", f.Field)
	}
	switch strings.ToLower(f.Op) {
	case "eq":
		return cmp == 0, nil
	case "noteq":
		return cmp != 0, nil
	case "gt":
		return cmp > 0, nil
	case "gte":
		return cmp >= 0, nil
	case "lt":
		return cmp < 0, nil
	case "lte":
		return cmp <= 0, nil
	}
	return false, fmt.Errorf("the stand-in does not know the operator %s", f.Op)
}

func (at *Autotask) query(w http.ResponseWriter, r *http.Request, entity string) {
	var in struct {
		MaxRecords int        `json:"MaxRecords"`
		Filter     []atFilter `json:"filter"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Filter) == 0 {
		atError(w, http.StatusInternalServerError, "a query needs a filter")
		return
	}
	if in.MaxRecords <= 0 || in.MaxRecords > 500 {
		in.MaxRecords = 500
	}
	at.page(w, r, atPaging{entity: entity, filters: in.Filter, max: in.MaxRecords})
}

func (at *Autotask) next(w http.ResponseWriter, r *http.Request) {
	at.pmu.Lock()
	p, ok := at.paging[r.URL.Query().Get("paging")]
	at.pmu.Unlock()
	if !ok {
		atError(w, http.StatusInternalServerError, "unknown or expired paging token")
		return
	}
	at.page(w, r, p)
}

// page answers the records after p.afterID that pass every filter, at most p.max,
// and a nextPageUrl when more remain.
func (at *Autotask) page(w http.ResponseWriter, r *http.Request, p atPaging) {
	items := []map[string]any{}
	more := false
	for _, rec := range at.records(p.entity) {
		if rec["id"].(int) <= p.afterID {
			continue
		}
		keep := true
		for _, f := range p.filters {
			ok, err := f.match(rec)
			if err != nil {
				atError(w, http.StatusInternalServerError, err.Error())
				return
			}
			keep = keep && ok
		}
		if !keep {
			continue
		}
		if len(items) == p.max {
			more = true
			break
		}
		items = append(items, rec)
	}
	var nextURL any
	if more {
		p.afterID = items[len(items)-1]["id"].(int)
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		token := hex.EncodeToString(b)
		at.pmu.Lock()
		at.paging[token] = p
		at.pmu.Unlock()
		nextURL = "http://" + r.Host + "/atservicesrest/v1.0/" + strings.ToUpper(p.entity[:1]) + p.entity[1:] + "/query/next?paging=" + token
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items,
		"pageDetails": map[string]any{"count": len(items), "requestCount": p.max, "prevPageUrl": nil, "nextPageUrl": nextURL}})
}

func (at *Autotask) get(w http.ResponseWriter, entity string, id int) {
	for _, rec := range at.records(entity) {
		if rec["id"] == id {
			writeJSON(w, http.StatusOK, map[string]any{"item": rec})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": nil}) // Autotask answers a missing id with a null item
}

// ticketFields answers the Tickets entity's field information: the status and
// priority picklists (value as text, label, isActive), as Autotask describes them.
func (at *Autotask) ticketFields(w http.ResponseWriter) {
	v := at.ticketValues()
	picklist := func(vs []psa.TicketValue) []map[string]any {
		return valueList(vs, func(p psa.TicketValue) map[string]any {
			return map[string]any{"value": p.Value, "label": p.Name, "isActive": p.Active, "isDefaultValue": false, "sortOrder": 0}
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": []map[string]any{
		{"name": "id", "dataType": "long", "isPickList": false},
		{"name": "status", "dataType": "integer", "isPickList": true, "picklistValues": picklist(v.Statuses)},
		{"name": "priority", "dataType": "integer", "isPickList": true, "picklistValues": picklist(v.Priorities)},
	}})
}

// write creates (POST) or updates (PATCH, id in the body, only the fields sent) a
// company or ticket and answers {"itemId"}. Refusals are 500 with errors, as
// Autotask documents.
func (at *Autotask) write(w http.ResponseWriter, r *http.Request, entity string) {
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		atError(w, http.StatusInternalServerError, "cannot read the body: "+err.Error())
		return
	}
	str := func(k string, into *string) {
		if v, ok := in[k]; ok && v != nil {
			*into = fmt.Sprint(v)
		}
	}
	num := func(k string) int {
		n, _ := strconv.Atoi(fmt.Sprint(in[k]))
		return n
	}
	missing := func(k string) bool { v, ok := in[k]; return !ok || v == nil || v == "" }
	create := r.Method == http.MethodPost
	switch entity {
	case "companies":
		var c psa.Company
		if !create {
			var ok bool
			if c, ok = at.Company(strconv.Itoa(num("id"))); !ok {
				atError(w, http.StatusInternalServerError, "no company with id "+fmt.Sprint(in["id"]))
				return
			}
			c.UpdatedAt = time.Time{}
		} else if num("companyType") == 0 || num("ownerResourceID") != at.OwnerResourceID || missing("companyName") || missing("phone") {
			atError(w, http.StatusInternalServerError, "companyName, companyType, ownerResourceID and phone are required")
			return
		}
		str("companyName", &c.Name)
		str("phone", &c.Phone)
		str("webAddress", &c.Domain)
		str("address1", &c.Address1)
		str("address2", &c.Address2)
		str("city", &c.City)
		str("state", &c.State)
		str("postalCode", &c.PostalCode)
		if c.Name == "" {
			atError(w, http.StatusInternalServerError, "companyName is required")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"itemId": atoi(at.Seed(c)[0].ID)})
	case "tickets":
		var t psa.Ticket
		if !create {
			var found bool
			if t, found = at.Ticket(strconv.Itoa(num("id"))); !found {
				atError(w, http.StatusInternalServerError, "no ticket with id "+fmt.Sprint(in["id"]))
				return
			}
			t.UpdatedAt = time.Time{}
		} else {
			if _, ok := at.Company(strconv.Itoa(num("companyID"))); !ok || missing("title") || num("status") == 0 || num("priority") == 0 {
				atError(w, http.StatusInternalServerError, "companyID (an existing company), title, status and priority are required")
				return
			}
			t.CompanyID = strconv.Itoa(num("companyID"))
		}
		str("title", &t.Summary)
		str("description", &t.Description)
		if _, ok := in["status"]; ok {
			t.Status = strconv.Itoa(num("status"))
		}
		if _, ok := in["priority"]; ok {
			t.Priority = strconv.Itoa(num("priority"))
		}
		writeJSON(w, http.StatusOK, map[string]any{"itemId": atoi(at.SeedTickets(t)[0].ID)})
	}
}
