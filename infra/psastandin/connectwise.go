package psastandin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

// ConnectWise is a ConnectWise Manage stand-in: the REST API under
// /v4_6_release/apis/3.0/ with Basic "{CompanyID}+{PublicKey}:{PrivateKey}" and a
// clientId header, conditions filters and page/pageSize paging.
type ConnectWise struct {
	*store
	CompanyID, PublicKey, PrivateKey, ClientID string
}

// cwBase is the codebase path the connector addresses on a site.
const cwBase = "/v4_6_release/apis/3.0/"

// NewConnectWise starts a ConnectWise stand-in on a local port with the
// credentials contoso / pub / priv and clientId "stand-in-client".
func NewConnectWise() *ConnectWise {
	cw := newConnectWise()
	cw.start(cw, nil)
	return cw
}

// NewConnectWiseOn is NewConnectWise on a fixed address, such as "127.0.0.1:3101".
func NewConnectWiseOn(addr string) (*ConnectWise, error) {
	cw := newConnectWise()
	return on(addr, cw, cw.store)
}

func newConnectWise() *ConnectWise {
	cw := &ConnectWise{store: newStore(), CompanyID: "contoso", PublicKey: "pub", PrivateKey: "priv", ClientID: "stand-in-client"}
	cw.values.Priorities = []psa.TicketValue{{Name: "Priority 1 - Emergency Response"}, {Name: "Priority 2 - Quick Response"},
		{Name: "Priority 3 - Normal Response"}, {Name: "Priority 4 - Schedule Maintenance"}}
	return cw
}

// ServeHTTP answers the API, so the stand-in can be mounted on any server.
func (cw *ConnectWise) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, cwBase) {
		cwError(w, http.StatusNotFound, "NotFound", "no such codebase or API path")
		return
	}
	if msg := cw.authenticate(r); msg != "" {
		cwError(w, http.StatusUnauthorized, "Unauthorized", msg)
		return
	}
	if f, ok := cw.nextFault(); ok {
		if f.status == http.StatusTooManyRequests && f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		cwError(w, f.status, "StandInFault", "injected by the stand-in")
		return
	}
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, cwBase), "/")
	parts := strings.Split(path, "/")
	switch {
	case path == "company/companies" && r.Method == http.MethodGet:
		cw.list(w, r, cw.companyRecords)
	case path == "company/companies" && r.Method == http.MethodPost:
		cw.createCompany(w, r)
	case len(parts) == 3 && parts[0] == "company" && parts[1] == "companies":
		cw.company(w, r, atoi(parts[2]))
	case path == "service/tickets" && r.Method == http.MethodGet:
		cw.list(w, r, cw.ticketRecords)
	case path == "service/tickets" && r.Method == http.MethodPost:
		cw.createTicket(w, r)
	case len(parts) == 3 && parts[0] == "service" && parts[1] == "tickets":
		cw.ticket(w, r, atoi(parts[2]))
	case path == "service/priorities" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, valueList(cw.ticketValues().Priorities, func(v psa.TicketValue) map[string]any {
			return map[string]any{"id": len(v.Name), "name": v.Name, "sortOrder": 0, "defaultFlag": false}
		}))
	case path == "company/contacts" && r.Method == http.MethodGet:
		cw.list(w, r, cw.contactRecords)
	default:
		cwError(w, http.StatusNotFound, "NotFound", "no such API path: "+r.Method+" "+path)
	}
}

func (cw *ConnectWise) authenticate(r *http.Request) string {
	if r.Header.Get("clientId") == "" {
		return "a clientId header is required"
	}
	if cw.ClientID != "" && r.Header.Get("clientId") != cw.ClientID {
		return "unknown clientId"
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != cw.CompanyID+"+"+cw.PublicKey || pass != cw.PrivateKey {
		return "invalid company id, public key or private key"
	}
	return ""
}

func cwError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "errors": nil})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// cwRecord is a record as the API shows it, with the flat fields its conditions
// may name.
type cwRecord struct {
	id     int
	fields map[string]string
	body   map[string]any
}

func cwTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

var cwIdentifierChars = regexp.MustCompile(`[^A-Za-z0-9]`)

func cwCompanyBody(c psa.Company) map[string]any {
	ident := cwIdentifierChars.ReplaceAllString(c.Name, "")
	if len(ident) > 25 {
		ident = ident[:25]
	}
	body := map[string]any{
		"id": atoi(c.ID), "identifier": ident, "name": c.Name, "phoneNumber": c.Phone, "website": c.Domain,
		"addressLine1": c.Address1, "addressLine2": c.Address2, "city": c.City, "state": c.State, "zip": c.PostalCode,
		"_info": map[string]any{"lastUpdated": cwTime(c.UpdatedAt)},
	}
	if c.Country != "" {
		body["country"] = map[string]any{"name": c.Country}
	}
	return body
}

func cwTicketBody(t psa.Ticket) map[string]any {
	return map[string]any{
		"id": atoi(t.ID), "summary": t.Summary, "initialDescription": t.Description,
		"company":  map[string]any{"id": atoi(t.CompanyID)},
		"status":   map[string]any{"name": t.Status},
		"priority": map[string]any{"name": t.Priority},
		"_info":    map[string]any{"lastUpdated": cwTime(t.UpdatedAt)},
	}
}

func (cw *ConnectWise) companyRecords() []cwRecord {
	var out []cwRecord
	for _, c := range cw.Companies() {
		out = append(out, cwRecord{atoi(c.ID), map[string]string{"id": c.ID, "name": c.Name, "lastUpdated": cwTime(c.UpdatedAt)}, cwCompanyBody(c)})
	}
	return out
}

func (cw *ConnectWise) ticketRecords() []cwRecord {
	var out []cwRecord
	for _, t := range cw.Tickets() {
		out = append(out, cwRecord{atoi(t.ID), map[string]string{"id": t.ID, "company/id": t.CompanyID, "lastUpdated": cwTime(t.UpdatedAt)}, cwTicketBody(t)})
	}
	return out
}

func (cw *ConnectWise) contactRecords() []cwRecord {
	var out []cwRecord
	for _, c := range cw.Contacts() {
		body := map[string]any{
			"id": atoi(c.ID), "firstName": c.FirstName, "lastName": c.LastName, "title": c.Title,
			"company": map[string]any{"id": atoi(c.CompanyID)},
		}
		if c.Email != "" {
			body["communicationItems"] = []any{map[string]any{
				"type": map[string]any{"name": "Email"}, "value": c.Email, "defaultFlag": true, "communicationType": "Email",
			}}
		}
		out = append(out, cwRecord{atoi(c.ID), map[string]string{"id": c.ID, "company/id": c.CompanyID}, body})
	}
	return out
}

// cwCondition is one comparison of the conditions language: field op value, where
// value is [a date], a number or "a string".
type cwCondition struct{ field, op, value string }

var cwAnd = regexp.MustCompile(`(?i)\s+and\s+`)

var cwConditionRE = regexp.MustCompile(`^\s*([A-Za-z_/]+)\s*(>=|<=|!=|=|>|<)\s*(.+?)\s*$`)

func parseCWConditions(s string) ([]cwCondition, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []cwCondition
	for _, part := range cwAnd.Split(s, -1) {
		m := cwConditionRE.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("cannot read the condition %q", part)
		}
		field := strings.TrimPrefix(m[1], "_info/")
		out = append(out, cwCondition{field, m[2], m[3]})
	}
	return out, nil
}

func (c cwCondition) match(fields map[string]string) (bool, error) {
	got, ok := fields[c.field]
	if !ok {
		return false, fmt.Errorf("the field %q cannot be used in conditions here", c.field)
	}
	var cmp int
	switch {
	case strings.HasPrefix(c.value, "["):
		want, err := time.Parse(time.RFC3339, strings.Trim(c.value, "[]"))
		if err != nil {
			return false, fmt.Errorf("cannot read the date %s", c.value)
		}
		have, _ := time.Parse(time.RFC3339, got)
		cmp = have.Compare(want)
	case strings.HasPrefix(c.value, `"`) || strings.HasPrefix(c.value, "'"):
		cmp = strings.Compare(got, strings.Trim(c.value, `"'`))
	default:
		want, err := strconv.Atoi(c.value)
		if err != nil {
			return false, fmt.Errorf("cannot read the value %s", c.value)
		}
		cmp = atoi(got) - want
	}
	switch c.op {
	case "=":
		return cmp == 0, nil
	case "!=":
		return cmp != 0, nil
	case ">":
		return cmp > 0, nil
	case ">=":
		return cmp >= 0, nil
	case "<":
		return cmp < 0, nil
	default:
		return cmp <= 0, nil
	}
}

// list answers GET on a collection: conditions, orderBy (by id), page and pageSize
// (default 25, at most 1000, as ConnectWise documents).
func (cw *ConnectWise) list(w http.ResponseWriter, r *http.Request, records func() []cwRecord) {
	q := r.URL.Query()
	conds, err := parseCWConditions(q.Get("conditions"))
	if err != nil {
		cwError(w, http.StatusBadRequest, "InvalidObject", err.Error())
		return
	}
	desc := false
	switch ob := strings.ToLower(strings.TrimSpace(q.Get("orderBy"))); ob {
	case "", "id", "id asc":
	case "id desc":
		desc = true
	default:
		cwError(w, http.StatusBadRequest, "InvalidObject", "the stand-in orders by id only, not "+ob)
		return
	}
	page, size := 1, 25
	if v := q.Get("page"); v != "" {
		page = atoi(v)
	}
	if v := q.Get("pageSize"); v != "" {
		size = atoi(v)
	}
	if page < 1 || size < 1 || size > 1000 {
		cwError(w, http.StatusBadRequest, "InvalidObject", "page must be 1 or more and pageSize 1 to 1000")
		return
	}
	var matched []map[string]any
	for _, rec := range records() {
		keep := true
		for _, c := range conds {
			ok, err := c.match(rec.fields)
			if err != nil {
				cwError(w, http.StatusBadRequest, "InvalidObject", err.Error())
				return
			}
			keep = keep && ok
		}
		if keep {
			matched = append(matched, rec.body)
		}
	}
	if desc {
		for i, j := 0, len(matched)-1; i < j; i, j = i+1, j-1 {
			matched[i], matched[j] = matched[j], matched[i]
		}
	}
	from := min((page-1)*size, len(matched))
	to := min(from+size, len(matched))
	writeJSON(w, http.StatusOK, append([]map[string]any{}, matched[from:to]...))
}

type cwPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

func (cw *ConnectWise) company(w http.ResponseWriter, r *http.Request, id int) {
	c, ok := cw.Company(strconv.Itoa(id))
	if !ok {
		cwError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Company ID %d not found", id))
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, cwCompanyBody(c))
	case http.MethodPatch:
		var ops []cwPatchOp
		if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
			cwError(w, http.StatusBadRequest, "InvalidObject", "the body must be a JSON Patch array: "+err.Error())
			return
		}
		fields := map[string]*string{
			"name": &c.Name, "phoneNumber": &c.Phone, "website": &c.Domain, "addressLine1": &c.Address1,
			"addressLine2": &c.Address2, "city": &c.City, "state": &c.State, "zip": &c.PostalCode,
		}
		for _, op := range ops {
			if strings.TrimPrefix(op.Path, "/") == "country" {
				// A reference: {"name": …} (or {"id": …}); null clears it.
				var ref *struct{ Name string }
				if err := json.Unmarshal(op.Value, &ref); err != nil {
					cwError(w, http.StatusBadRequest, "InvalidObject", "country must be a reference")
					return
				}
				c.Country = ""
				if ref != nil {
					c.Country = ref.Name
				}
				continue
			}
			target, ok := fields[strings.TrimPrefix(op.Path, "/")]
			if !ok || (op.Op != "replace" && op.Op != "add") {
				cwError(w, http.StatusBadRequest, "InvalidObject", fmt.Sprintf("cannot %s %s", op.Op, op.Path))
				return
			}
			if err := json.Unmarshal(op.Value, target); err != nil {
				cwError(w, http.StatusBadRequest, "InvalidObject", op.Path+" must be a string")
				return
			}
		}
		if c.Name == "" {
			cwError(w, http.StatusBadRequest, "InvalidObject", "name is required")
			return
		}
		c.UpdatedAt = time.Time{}
		writeJSON(w, http.StatusOK, cwCompanyBody(cw.Seed(c)[0]))
	default:
		cwError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not allowed here")
	}
}

func (cw *ConnectWise) createCompany(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Identifier, Name, PhoneNumber, Website, AddressLine1, AddressLine2, City, State, Zip string
		Country                                                                              *struct{ Name string }
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		cwError(w, http.StatusBadRequest, "InvalidObject", err.Error())
		return
	}
	if in.Identifier == "" || in.Name == "" {
		cwError(w, http.StatusBadRequest, "InvalidObject", "identifier and name are required")
		return
	}
	c := psa.Company{Name: in.Name, Phone: in.PhoneNumber, Domain: in.Website, Address1: in.AddressLine1,
		Address2: in.AddressLine2, City: in.City, State: in.State, PostalCode: in.Zip}
	if in.Country != nil {
		c.Country = in.Country.Name
	}
	writeJSON(w, http.StatusCreated, cwCompanyBody(cw.Seed(c)[0]))
}

type cwRef struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func (cw *ConnectWise) createTicket(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Summary            string `json:"summary"`
		InitialDescription string `json:"initialDescription"`
		Company            *cwRef `json:"company"`
		Status             *cwRef `json:"status"`
		Priority           *cwRef `json:"priority"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		cwError(w, http.StatusBadRequest, "InvalidObject", err.Error())
		return
	}
	if in.Summary == "" || len(in.Summary) > 100 || in.Company == nil {
		cwError(w, http.StatusBadRequest, "InvalidObject", "summary (at most 100 characters) and company are required")
		return
	}
	if _, ok := cw.Company(strconv.Itoa(in.Company.ID)); !ok {
		cwError(w, http.StatusBadRequest, "InvalidObject", "company not found")
		return
	}
	status := "New"
	if in.Status != nil && in.Status.Name != "" {
		status = in.Status.Name
	}
	priority := "Priority 3 - Normal Response" // the board's default, as the stand-in keeps it
	if in.Priority != nil && in.Priority.Name != "" {
		priority = in.Priority.Name
	}
	t := cw.SeedTickets(psa.Ticket{CompanyID: strconv.Itoa(in.Company.ID), Summary: in.Summary, Description: in.InitialDescription,
		Status: status, Priority: priority})[0]
	writeJSON(w, http.StatusCreated, cwTicketBody(t))
}

func (cw *ConnectWise) ticket(w http.ResponseWriter, r *http.Request, id int) {
	t, found := cw.Ticket(strconv.Itoa(id))
	if !found {
		cwError(w, http.StatusNotFound, "NotFound", fmt.Sprintf("Ticket ID %d not found", id))
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, cwTicketBody(t))
	case http.MethodPatch:
		var ops []cwPatchOp
		if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
			cwError(w, http.StatusBadRequest, "InvalidObject", "the body must be a JSON Patch array: "+err.Error())
			return
		}
		for _, op := range ops {
			var err error
			switch strings.TrimPrefix(op.Path, "/") {
			case "summary":
				err = json.Unmarshal(op.Value, &t.Summary)
			case "status":
				var ref cwRef
				err = json.Unmarshal(op.Value, &ref)
				t.Status = ref.Name
			case "priority":
				var ref cwRef
				err = json.Unmarshal(op.Value, &ref)
				t.Priority = ref.Name
			default:
				err = fmt.Errorf("cannot patch %s", op.Path)
			}
			if err != nil || op.Op != "replace" {
				cwError(w, http.StatusBadRequest, "InvalidObject", fmt.Sprintf("cannot %s %s", op.Op, op.Path))
				return
			}
		}
		t.UpdatedAt = time.Time{}
		writeJSON(w, http.StatusOK, cwTicketBody(cw.SeedTickets(t)[0]))
	default:
		cwError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not allowed here")
	}
}
