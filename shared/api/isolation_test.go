package api_test

// Isolation pitfalls (DESIGN.md, "Data": every organization-scoped key starts with the
// exact organization id, and an id is never a prefix of another's key). Organizations
// whose ids are prefixes of each other (acme, acme-corp, acme-corp-eu) and a case
// variant (ACME) each get the same kinds of objects, some with values they share
// (an Entra tenant id, a customer external id, an invitee email: creating them in one
// must never collide with, and so reveal, another). Then every GET route of the table
// is called:
//
//   - as each organization's Owner in it, with every fixture of its path parameters
//     and the query variants its OpenAPI operation documents (200 with the
//     organization's own data);
//   - as that Owner with another organization's ids in the path, alone and mixed with
//     its own (404);
//   - as an Owner and as an Administrator of one organization naming another one in
//     X-Organization-Id, and naming near misses of their own id (404);
//   - with another organization's page cursor (400);
//
// and no response (body, headers, an xlsx export unpacked, a cursor decoded) may hold
// a name, email or id of an organization the caller does not belong to, except what
// the request itself carried. Every name and email of an organization carries its own
// random tag, and every id it was shown is collected, so a leak is a plain match.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/openapi"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// isolationOrgIDs are prefixes of each other, and a case variant.
var isolationOrgIDs = []string{"acme", "acme-corp", "acme-corp-eu", "ACME"}

// Values every organization uses alike.
const (
	sharedEntraTenant = "5ca1ab1e-0000-4000-8000-000000000001"
	sharedExternalID  = "EXT-SHARED-1"
	sharedInvitee     = "shared.invitee@isolation.example"
)

// isoOrg is one organization of the test and what it holds.
type isoOrg struct {
	id, tag   string
	owner     string // the Owner's token
	admin     string // an Administrator who belongs to this organization only
	customers []string
	tenants   []string
	jobs      []string
	team      []string // a member's user id, then a pending invitation's id
	subOrgs   []string // its sub-organizations
	orders    []string // a Technician's pending license order, then an approved one
	approvals []string // an action held for approval
	// connections: the linked tenant's Microsoft 365 connection (refreshed from the Graph
	// stand-in), then a ConnectWise one.
	connections []string
	subAdmin    string // the token of its first sub-organization's Administrator
	children    map[string]map[string][]string
	secrets     map[string]bool // what no other organization's caller may see
	idPattern   *regexp.Regexp  // the organization id as a whole word
}

// isolationFixtures give the values of a path parameter inside organization o; params
// holds the earlier parameters of the path. The first value is the primary one. A GET
// route added later with a new parameter fails the test until it gets one here.
var isolationFixtures = map[string]func(o *isoOrg, params map[string]string) []string{
	"orgId":        func(o *isoOrg, _ map[string]string) []string { return []string{o.id} },
	"customerId":   func(o *isoOrg, _ map[string]string) []string { return o.customers },
	"tenantId":     func(o *isoOrg, _ map[string]string) []string { return o.tenants },
	"contactId":    isoChild("contactId"),
	"ticketId":     isoChild("ticketId"),
	"documentId":   isoChild("documentId"),
	"userId":       isoChild("userId"),
	"jobId":        func(o *isoOrg, _ map[string]string) []string { return o.jobs },
	"id":           func(o *isoOrg, _ map[string]string) []string { return o.team },
	"subOrgId":     func(o *isoOrg, _ map[string]string) []string { return o.subOrgs },
	"orderId":      func(o *isoOrg, _ map[string]string) []string { return o.orders },
	"approvalId":   func(o *isoOrg, _ map[string]string) []string { return o.approvals },
	"connectionId": func(o *isoOrg, _ map[string]string) []string { return o.connections },
	// The ConnectWise connection (to the test's stand-in).
	"psaConnectionId": func(o *isoOrg, _ map[string]string) []string { return o.connections[1:] },
}

func isoChild(name string) func(o *isoOrg, params map[string]string) []string {
	return func(o *isoOrg, params map[string]string) []string { return o.children[params["customerId"]][name] }
}

var (
	// isoIDShape is domain.NewID's shape (base32) and domain.NewApprovalID's (base32hex,
	// sortable); isoGUIDShape an Entra tenant id's.
	isoIDShape   = regexp.MustCompile(`^[a-z0-9]{26}$`)
	isoGUIDShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// remember adds every id-shaped value of a JSON body to o's secrets, but for those
// its request carried (an echo of another organization's id is not o's).
func (o *isoOrg) remember(body []byte, reqText string) {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return
	}
	walkJSON(doc, func(_, v string) {
		if (isoIDShape.MatchString(v) || isoGUIDShape.MatchString(v)) && v != sharedEntraTenant && !strings.Contains(reqText, v) {
			o.secrets[v] = true
		}
	})
}

// isolation is the test's world.
type isolation struct {
	t     *testing.T
	psa   *psaStandins
	env   *testenv.Env
	orgs  []*isoOrg
	mu    sync.Mutex
	calls []isoCall
	query map[string][]isoQueryParam // by GET path template
}

// isoCall is one request made by a member of caller, and its response.
type isoCall struct {
	caller  *isoOrg
	what    string
	reqText string // everything the request carried: an echo of it is no leak
	res     *testenv.Response
}

func (w *isolation) call(caller *isoOrg, token, orgHeader, what, method, path string, body any, headers ...string) *testenv.Response {
	h := map[string]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	if orgHeader != "" {
		h[api.HeaderOrganization] = orgHeader
	}
	res := w.env.Do(testenv.Request{Method: method, Path: path, Token: token, Body: body, Headers: h})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, isoCall{caller: caller, what: what + ": " + method + " " + path, reqText: requestText(path, orgHeader, body), res: res})
	return res
}

// requestText is everything a request carries: an echo of it is no leak.
func requestText(path, orgHeader string, body any) string {
	raw, _ := json.Marshal(body)
	unescaped, _ := url.PathUnescape(path)
	if q, err := url.QueryUnescape(unescaped); err == nil {
		unescaped = q
	}
	return path + "\n" + unescaped + "\n" + orgHeader + "\n" + string(raw)
}

// own is a request of o's Owner in o that must answer want; its ids become o's.
func (w *isolation) own(o *isoOrg, method, path string, body any, want int) *testenv.Response {
	w.t.Helper()
	res := w.call(o, o.owner, o.id, "set-up in "+o.id, method, path, body)
	if res.Status != want {
		w.t.Fatalf("%s %s in %s: %d, want %d: %s", method, path, o.id, res.Status, want, res.Body)
	}
	o.remember(res.Body, requestText(path, o.id, body))
	return res
}

func idOf(t *testing.T, res *testenv.Response) string {
	t.Helper()
	id, _ := res.Map(t)["id"].(string)
	if id == "" {
		t.Fatalf("no id in %s", res.Body)
	}
	return id
}

// newIsoOrg creates organization id with a fixed id through the store, its Owner, and
// every kind of object through the API.
func (w *isolation) newIsoOrg(id string) *isoOrg {
	t, env := w.t, w.env
	ctx := context.Background()
	tag := domain.NewID()[:12]
	o := &isoOrg{id: id, tag: tag, children: map[string]map[string][]string{}, secrets: map[string]bool{tag: true},
		idPattern: regexp.MustCompile(`(^|[^A-Za-z0-9_-])` + regexp.QuoteMeta(id) + `($|[^A-Za-z0-9_-])`)}
	mail := func(who string) string { return who + "." + tag + "@isolation.example" }

	// The organization and its Owner, with the fixed id.
	u := domain.User{ID: domain.NewID(), Email: mail("owner"), Name: "Owner " + tag, ActiveOrganizationID: id}
	if err := env.Store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	name := "Org " + tag
	now := env.Store.Now()
	org := domain.Organization{ID: id, Name: name, Plan: domain.PlanFree, Profile: domain.NewProfile(name), OwnerUserID: u.ID,
		CreatedAt: now, Version: 1}
	owner := domain.Membership{OrganizationID: id, UserID: u.ID, Email: u.Email, Name: u.Name, Role: permission.Owner,
		TenantScope: domain.AllTenantsScope(), JoinedAt: now, Version: 1}
	ev := audit.Event{Category: audit.Settings, Action: "organization.create", Summary: fmt.Sprintf("created organization %q", name),
		Actor: audit.Actor{UserID: u.ID, Email: u.Email}, Targets: audit.Targets{UserIDs: []string{u.ID}}}
	if err := env.Store.CreateOrganization(ctx, org, owner, ev); err != nil {
		t.Fatalf("create organization %s: %v", id, err)
	}
	o.secrets[u.ID] = true
	o.owner = env.Token(u.Email)

	// The profile.
	profile := w.own(o, "GET", "/api/msp-portal/settings/profile", nil, http.StatusOK).Map(t)
	profile["companyName"], profile["displayName"], profile["primaryContactEmail"] = "Company "+tag, "Display "+tag, mail("office")
	w.own(o, "PUT", "/api/msp-portal/settings/profile", profile, http.StatusOK)

	// Tenants: linked to the active customer, unlinked, linked to the archived one, and
	// one whose Entra tenant every organization registers.
	tenant := func(label, entra string) string {
		return idOf(t, w.own(o, "POST", "/api/msp-portal/tenants", map[string]any{"entraTenantId": entra,
			"primaryDomain": label + "-" + tag + ".onmicrosoft.com", "displayName": "Tenant " + tag + " " + label,
			"licensedUsers": 10, "securityScore": 50, "health": "healthy"}, http.StatusCreated))
	}
	linked, free, archivedTenant := tenant("linked", guid(tag+"linked")), tenant("free", guid(tag+"free")), tenant("old", guid(tag+"old"))
	shared := tenant("shared", sharedEntraTenant)
	o.tenants = []string{linked, free, shared}

	// Customers: one active with everything, one archived with everything, one more.
	customer := func(label string, extra map[string]any) string {
		body := map[string]any{"name": "Customer " + tag + " " + label}
		for k, v := range extra {
			body[k] = v
		}
		return idOf(t, w.own(o, "POST", "/api/msp-portal/customers", body, http.StatusCreated))
	}
	active := customer("One", map[string]any{"primaryContactName": "Pat " + tag, "primaryContactEmail": mail("pat"),
		"externalId": sharedExternalID, "notes": "Notes " + tag})
	old := customer("Two", nil)
	customer("Three", nil)
	o.customers = []string{active, old}
	w.own(o, "POST", base(active)+"/tenants", map[string]string{"tenantId": linked}, http.StatusOK)
	w.own(o, "POST", base(old)+"/tenants", map[string]string{"tenantId": archivedTenant}, http.StatusOK)
	for _, c := range []struct {
		id string
		n  int
	}{{active, 2}, {old, 1}} {
		kids := map[string][]string{}
		for i := range c.n {
			kids["contactId"] = append(kids["contactId"], idOf(t, w.own(o, "POST", base(c.id)+"/contacts",
				map[string]any{"name": fmt.Sprintf("Contact %s %d", tag, i), "email": mail(fmt.Sprintf("contact%d", i))}, http.StatusCreated)))
			status := []string{"open", "resolved"}[i]
			kids["ticketId"] = append(kids["ticketId"], idOf(t, w.own(o, "POST", base(c.id)+"/tickets",
				map[string]any{"subject": fmt.Sprintf("Ticket %s %d", tag, i), "status": status}, http.StatusCreated)))
			data := []byte("document " + tag)
			res := w.own(o, "POST", base(c.id)+"/documents", map[string]any{"name": fmt.Sprintf("Doc %s %d.txt", tag, i),
				"contentType": "text/plain", "size": len(data)}, http.StatusCreated)
			kids["documentId"] = append(kids["documentId"], idOf(t, res))
			if i == 0 {
				w.upload(res, data)
			}
			kids["userId"] = append(kids["userId"], idOf(t, w.own(o, "POST", base(c.id)+"/users",
				map[string]any{"name": fmt.Sprintf("Company user %s %d", tag, i), "email": mail(fmt.Sprintf("user%d", i)), "jobTitle": "Buyer " + tag}, http.StatusCreated)))
		}
		o.children[c.id] = kids
	}
	cust := w.own(o, "GET", base(old), nil, http.StatusOK).Map(t)
	cust["archived"] = true
	w.own(o, "PUT", base(old), cust, http.StatusOK)

	// Jobs: an import that ran (with a failed row) and one still queued.
	res := w.call(o, o.owner, o.id, "set-up", "POST", "/api/msp-portal/customers/import",
		"Customer Name,Primary Contact Email,External ID,PSA Type,PSA Connection ID,PSA ID\n"+
			"Imported "+tag+" A,"+mail("imported")+",,,,\nImported "+tag+" B,,,,,\n,not-an-email-"+tag+",,,,\n", "Content-Type", "text/csv")
	if res.Status != http.StatusAccepted {
		t.Fatalf("import in %s: %d %s", id, res.Status, res.Body)
	}
	job := idOf(t, res)
	if j := (customers{t, env, o.owner}).waitJob(job); j.Status != "succeeded" {
		t.Fatalf("import in %s: %+v", id, j)
	}
	o.jobs = []string{job, fixtureJob(t, env.Store, id)}

	// The team: an Administrator and a viewer added through the store, a member who
	// joined through an invitation, a pending invitation, and an invitation to an email
	// every organization invites.
	o.admin = env.AddMember(id, permission.Administrator, mail("admin"))
	env.AddMember(id, permission.ReadOnly, mail("viewer"))
	adminID := getMe(t, env, o.admin).User.ID
	invite := func(email, label string) string {
		return idOf(t, w.own(o, "POST", "/api/settings/platform-users", map[string]any{"email": email, "displayName": label + " " + tag,
			"role": "Technician", "tenantAccess": map[string]any{"mode": "selected", "tenantIds": []string{linked}}}, http.StatusCreated))
	}
	pending := invite(mail("invitee"), "Invitee")
	invite(sharedInvitee, "Shared")
	invite(mail("joiner"), "Joiner")
	token, _ := tokenFromOutbox(t, env, mail("joiner"))
	joiner := env.Token(mail("joiner")) // signing up accepts the pending invitation
	if r := w.call(o, joiner, "", "set-up", "POST", "/api/invitations/accept", map[string]string{"token": token}); r.Status != http.StatusOK {
		t.Fatalf("accept in %s: %d %s", id, r.Status, r.Body)
	}
	o.secrets[adminID] = true
	o.team = []string{adminID, pending}

	// Two sub-organizations, each with its default admin; the first has a tenant.
	for i, label := range []string{"North", "South"} {
		email := mail("sub-" + strings.ToLower(label))
		sub := idOf(t, w.own(o, "POST", "/api/msp-admin/sub-organizations", map[string]any{"companyName": "Sub " + tag + " " + label,
			"phone": "+1 (555) 010-0000", "email": email, "confirmEmail": email, "firstName": "Sub", "lastName": label}, http.StatusCreated))
		o.subOrgs = append(o.subOrgs, sub)
		o.secrets[sub] = true
		if i == 0 {
			o.subAdmin = env.Token(email)
			res := w.call(o, o.admin, sub, "set-up", "POST", "/api/msp-portal/tenants", map[string]any{"entraTenantId": guid(tag + "sub"),
				"primaryDomain": "sub-" + tag + ".onmicrosoft.com", "displayName": "Sub tenant " + tag, "health": "healthy"})
			if res.Status != http.StatusCreated {
				t.Fatalf("tenant in %s's sub-organization: %d %s", id, res.Status, res.Body)
			}
			o.remember(res.Body, "")
		}
	}
	// License orders: a Technician's, pending, and the Owner's, approved at once; and a
	// change of the authentication settings held for approval.
	tech := env.AddMember(id, permission.Technician, mail("tech"))
	order := func(token string) string {
		res := w.call(o, token, id, "set-up", "POST", "/api/msp-portal/license-orders",
			map[string]any{"tenantId": free, "sku": "SPE_E3", "quantity": 2, "note": "Order " + tag})
		if res.Status != http.StatusCreated {
			t.Fatalf("license order in %s: %d %s", id, res.Status, res.Body)
		}
		o.remember(res.Body, "")
		return idOf(t, res)
	}
	o.orders = []string{order(tech), order(o.owner)}
	profile = w.own(o, "GET", "/api/msp-portal/settings/profile", nil, http.StatusOK).Map(t)
	profile["requireApprovalFor"] = []string{"change-authentication-settings"}
	w.own(o, "PUT", "/api/msp-portal/settings/profile", profile, http.StatusOK)
	o.approvals = []string{idOf(t, w.own(o, "PUT", "/api/settings/authentication",
		map[string]any{"entraSsoEnabled": false, "requireMfa": true, "sessionTimeoutMinutes": 90}, http.StatusAccepted))}
	clientID, secret := env.GraphTenant(guid(tag + "linked"))
	o.connections = []string{
		idOf(t, w.own(o, "POST", "/api/connections", map[string]any{"type": "m365", "label": "Graph " + tag, "tenantId": linked,
			"credentials": map[string]any{"clientId": clientID, "clientSecret": secret}}, http.StatusCreated)),
		idOf(t, w.own(o, "POST", "/api/connections", map[string]any{"type": "connectwise", "label": "CW " + tag, "credentials": map[string]any{
			"site": "api-na.myconnectwise.net", "companyId": w.psa.cw.CompanyID, "publicKey": w.psa.cw.PublicKey, "privateKey": w.psa.cw.PrivateKey,
			"clientId": w.psa.cw.ClientID}},
			http.StatusCreated)),
	}
	w.own(o, "POST", "/api/msp-portal/tenants/"+linked+"/refresh", nil, http.StatusOK)
	for _, v := range append([]string{archivedTenant}, o.tenants...) {
		o.secrets[v] = true
	}
	return o
}

// upload puts data through the presigned request of a created document.
func (w *isolation) upload(created *testenv.Response, data []byte) {
	var doc struct {
		Upload struct {
			Method, URL string
			Headers     map[string]string
		}
	}
	created.JSON(w.t, &doc)
	req, err := http.NewRequest(doc.Upload.Method, doc.Upload.URL, bytes.NewReader(data))
	if err != nil {
		w.t.Fatal(err)
	}
	for k, v := range doc.Upload.Headers {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		w.t.Fatalf("upload: %d", r.StatusCode)
	}
}

// isoQueryParam is a query parameter of a GET operation, from the OpenAPI document.
type isoQueryParam struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
	Schema   struct {
		Type string `json:"type"`
		Enum []any  `json:"enum"`
	} `json:"schema"`
}

// openAPIQueryParams reads the query parameters of every GET operation.
func openAPIQueryParams(t *testing.T) map[string][]isoQueryParam {
	var doc map[string]any
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	var resolve func(v any) any
	resolve = func(v any) any {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		return resolve(cur)
	}
	out := map[string][]isoQueryParam{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		im, _ := item.(map[string]any)
		op, _ := im["get"].(map[string]any)
		if op == nil {
			continue
		}
		var params []any
		if ps, ok := im["parameters"].([]any); ok {
			params = append(params, ps...)
		}
		if ps, ok := op["parameters"].([]any); ok {
			params = append(params, ps...)
		}
		for _, p := range params {
			r := resolve(p)
			if m, ok := r.(map[string]any); ok {
				if s, ok := m["schema"]; ok {
					m["schema"] = resolve(s)
				}
			}
			raw, _ := json.Marshal(r)
			var qp isoQueryParam
			if json.Unmarshal(raw, &qp) == nil && qp.In == "query" {
				out[path] = append(out[path], qp)
			}
		}
	}
	return out
}

// values are the values a call by o tries for a query parameter; other is another
// organization, whose ids o may name.
func (w *isolation) values(p isoQueryParam, o, other *isoOrg) []string {
	switch {
	case p.Name == "cursor":
		return nil
	case len(p.Schema.Enum) > 0:
		var out []string
		for i, e := range p.Schema.Enum {
			if i == 5 {
				break
			}
			out = append(out, fmt.Sprint(e))
		}
		return out
	case p.Schema.Type == "boolean":
		return []string{"true", "false"}
	case p.Schema.Type == "integer":
		return []string{"1"}
	case p.Name == "q":
		return []string{"Customer", "Tenant", "c", "Customer " + other.tag}
	}
	if f, ok := isolationFixtures[p.Name]; ok {
		return []string{f(o, nil)[0], f(other, nil)[0]}
	}
	return nil
}

// queries are the query strings a call by o tries on rt: the primary one (its required
// parameters) first, then one variant per value of each parameter.
func (w *isolation) queries(rt api.Route, o, other *isoOrg) []string {
	params := w.query[rt.Path]
	primary := url.Values{}
	for _, p := range params {
		if vs := w.values(p, o, other); p.Required && len(vs) > 0 {
			primary.Set(p.Name, vs[0])
		}
	}
	out := []string{encodeQuery(primary)}
	for _, p := range params {
		for _, v := range w.values(p, o, other) {
			q := url.Values{}
			for k, vs := range primary {
				q[k] = vs
			}
			q.Set(p.Name, v)
			if s := encodeQuery(q); s != out[0] {
				out = append(out, s)
			}
		}
	}
	return out
}

func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// paths are rt's paths in o, one per combination of fixtures; the first is primary.
func (w *isolation) paths(rt api.Route, o *isoOrg) []string {
	var out []string
	var build func(i int, path string, params map[string]string)
	names := rt.PathParams()
	build = func(i int, path string, params map[string]string) {
		if i == len(names) {
			out = append(out, path)
			return
		}
		for _, v := range isolationFixtures[names[i]](o, params) {
			next := map[string]string{names[i]: v}
			for k, pv := range params {
				next[k] = pv
			}
			build(i+1, strings.Replace(path, "{"+names[i]+"}", v, 1), next)
		}
	}
	build(0, rt.Path, map[string]string{})
	return out
}

// primaryParams are the primary values of rt's parameters in o.
func primaryParams(rt api.Route, o *isoOrg) map[string]string {
	params := map[string]string{}
	for _, name := range rt.PathParams() {
		params[name] = isolationFixtures[name](o, params)[0]
	}
	return params
}

// mixedPath is rt's path with the parameters in mask taken from other, the rest from o.
func mixedPath(rt api.Route, o, other *isoOrg, mask int) string {
	mine, theirs := primaryParams(rt, o), primaryParams(rt, other)
	p := rt.Path
	for i, name := range rt.PathParams() {
		v := mine[name]
		if mask&(1<<i) != 0 {
			v = theirs[name]
		}
		p = strings.Replace(p, "{"+name+"}", v, 1)
	}
	return p
}

// nearMisses are organization ids that are not o's but look like it.
func nearMisses(id string) []string {
	swapped := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, id)
	return []string{id + "#AUDIT", id + "-", id[:len(id)-1], swapped}
}

func TestOrganizationsWithPrefixIDsShareNothing(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	env.Deps.Objects = fakes3.Start(t)
	w := &isolation{t: t, env: env, query: openAPIQueryParams(t), psa: startPSAStandins(t, env)}
	for _, id := range isolationOrgIDs {
		w.orgs = append(w.orgs, w.newIsoOrg(id))
	}
	var gets []api.Route
	for _, rt := range api.Routes() {
		if rt.Method != http.MethodGet || rt.Portal() {
			continue // the portal acts as a company user, never in an organization named: authz_test.go covers it
		}
		for _, name := range rt.PathParams() {
			if _, ok := isolationFixtures[name]; !ok {
				t.Fatalf("route %s has path parameter {%s} without a fixture in isolation_test.go", rt.Pattern(), name)
			}
		}
		gets = append(gets, rt)
	}
	// Each organization's callers probe concurrently; responses are checked at the end.
	t.Run("probe", func(t *testing.T) {
		for i, o := range w.orgs {
			t.Run(o.id, func(t *testing.T) {
				t.Parallel()
				w.probe(t, i, gets)
			})
		}
	})
	for _, l := range w.leaks() {
		t.Error(l)
	}
	perOrg := map[string]int{}
	for _, o := range w.orgs {
		perOrg[o.id] = len(o.secrets)
	}
	t.Logf("%d GET routes, %d calls; each organization's callers saw none of the others' names, emails and ids (%v)", len(gets), len(w.calls), perOrg)
}

// probe calls every GET route as members of the i-th organization.
func (w *isolation) probe(t *testing.T, i int, gets []api.Route) {
	o, other := w.orgs[i], w.orgs[(i+1)%len(w.orgs)]
	for r, rt := range gets {
		// Its own data, every fixture and query variant: 200.
		qs := w.queries(rt, o, other)
		for j, path := range w.paths(rt, o) {
			for k, q := range qs {
				if j > 0 && k > 0 {
					break
				}
				res := w.call(o, o.owner, o.id, "own", "GET", path+q, nil)
				switch {
				case k == 0 && res.Status != http.StatusOK:
					t.Errorf("%s's owner: GET %s%s: %d %s", o.id, path, q, res.Status, res.Body)
				case res.Status >= 500:
					t.Errorf("%s's owner: GET %s%s: %d %s", o.id, path, q, res.Status, res.Body)
				case res.Status == http.StatusOK:
					o.remember(res.Body, requestText(path+q, o.id, nil))
				}
			}
		}
		for _, b := range w.orgs {
			if b == o {
				continue
			}
			// Another organization's ids in the path, alone and mixed with its own: 404.
			n := len(rt.PathParams())
			for mask := 1; mask < 1<<n; mask++ {
				path := mixedPath(rt, o, b, mask) + qs[0]
				if res := w.call(o, o.owner, o.id, "ids of "+b.id, "GET", path, nil); res.Status != http.StatusNotFound {
					t.Errorf("%s's owner with ids of %s: GET %s: %d %s", o.id, b.id, path, res.Status, res.Body)
				}
			}
			// Naming another organization: 404 where the route acts in one.
			path := w.paths(rt, b)[0] + w.queries(rt, b, o)[0]
			callers := []struct{ name, token string }{{"owner", o.owner}}
			if b == other {
				callers = append(callers, struct{ name, token string }{"administrator", o.admin})
			}
			for _, who := range callers {
				res := w.call(o, who.token, b.id, "naming "+b.id, "GET", path, nil)
				if rt.OrgScoped() && res.Status != http.StatusNotFound || !rt.OrgScoped() && res.Status != http.StatusOK {
					t.Errorf("%s's %s naming %s: GET %s: %d %s", o.id, who.name, b.id, path, res.Status, res.Body)
				}
			}
		}
		// Another organization's sub-organization, named by its Owner: 404. Its own
		// first sub-organization's Administrator naming the sibling or the parent: 404.
		if rt.OrgScoped() {
			for _, b := range w.orgs {
				if b == o {
					continue
				}
				path := w.paths(rt, o)[0] + qs[0]
				if res := w.call(o, o.owner, b.subOrgs[0], "supporting a sub-organization of "+b.id, "GET", path, nil); res.Status != http.StatusNotFound {
					t.Errorf("%s's owner naming a sub-organization of %s: GET %s: %d %s", o.id, b.id, path, res.Status, res.Body)
				}
			}
			for _, target := range []string{o.subOrgs[1], o.id} {
				path := w.paths(rt, o)[0] + qs[0]
				if res := w.call(o, o.subAdmin, target, "a sub-organization's admin naming "+target, "GET", path, nil); res.Status != http.StatusNotFound {
					t.Errorf("%s's sub-organization admin naming %s: GET %s: %d %s", o.id, target, path, res.Status, res.Body)
				}
			}
		}
		// A near miss of its own id (each route gets another one in each organization): 404.
		if rt.OrgScoped() {
			misses := nearMisses(o.id)
			miss := misses[(r+i)%len(misses)]
			path := w.paths(rt, o)[0] + qs[0]
			if res := w.call(o, o.admin, miss, "near miss "+miss, "GET", path, nil); res.Status != http.StatusNotFound {
				t.Errorf("%s's administrator naming %q: GET %s: %d %s", o.id, miss, path, res.Status, res.Body)
			}
		}
		// Its page cursor in another organization's list: 400.
		if w.hasCursor(rt) {
			w.replayCursor(t, rt, o, other, qs[0])
		}
	}
	// Switching to another organization: 404, and the active one stays.
	res := w.call(o, o.admin, "", "switch to "+other.id, "PUT", "/api/me/active-organization", map[string]string{"organizationId": other.id})
	if res.Status != http.StatusNotFound {
		t.Errorf("%s's administrator switching to %s: %d %s", o.id, other.id, res.Status, res.Body)
	}
	if me := getMe(t, w.env, o.admin); me.ActiveOrganization.ID != o.id {
		t.Errorf("%s's administrator now works in %q", o.id, me.ActiveOrganization.ID)
	}
}

// replayCursor takes the cursor of o's first page of rt and sends it in other's list.
func (w *isolation) replayCursor(t *testing.T, rt api.Route, o, other *isoOrg, q string) {
	path := w.paths(rt, o)[0]
	first := w.call(o, o.owner, o.id, "first page", "GET", path+withQuery(q, "limit=1"), nil)
	var page struct {
		NextCursor string `json:"nextCursor"`
	}
	_ = json.Unmarshal(first.Body, &page)
	if page.NextCursor == "" {
		if rt.OrgScoped() {
			t.Errorf("%s: GET %s?limit=1 gave no cursor to replay: %d %s", o.id, path, first.Status, first.Body)
		}
		return
	}
	cursor := "limit=1&cursor=" + url.QueryEscape(page.NextCursor)
	if res := w.call(o, o.owner, o.id, "own cursor", "GET", path+withQuery(q, cursor), nil); res.Status != http.StatusOK {
		t.Errorf("%s: its own cursor on %s: %d %s", o.id, path, res.Status, res.Body)
	}
	theirs := w.paths(rt, other)[0] + withQuery(w.queries(rt, other, o)[0], cursor)
	if res := w.call(other, other.owner, other.id, "cursor of "+o.id, "GET", theirs, nil); res.Status != http.StatusBadRequest {
		t.Errorf("%s's cursor in %s: GET %s: %d %s", o.id, other.id, theirs, res.Status, res.Body)
	}
}

func withQuery(q, more string) string {
	if q == "" {
		return "?" + more
	}
	return q + "&" + more
}

// hasCursor reports whether rt's operation pages with a cursor.
func (w *isolation) hasCursor(rt api.Route) bool {
	for _, p := range w.query[rt.Path] {
		if p.Name == "cursor" {
			return true
		}
	}
	return false
}

// isoText is what a response shows: headers, the body (an xlsx unpacked), and every
// cursor decoded.
func isoText(res *testenv.Response) string {
	var b strings.Builder
	keys := make([]string, 0, len(res.Header))
	for k := range res.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(res.Header[k], ", "))
	}
	body := res.Body
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		body = unzipAll(body)
	}
	b.Write(body)
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		walkJSON(doc, func(key, v string) {
			if key == "nextCursor" {
				if raw, err := base64.RawURLEncoding.DecodeString(v); err == nil {
					fmt.Fprintf(&b, "\ndecoded cursor: %s", raw)
				}
			}
		})
	}
	return b.String()
}

// leaks lists every response holding another organization's name, email or id that
// its request did not carry.
func (w *isolation) leaks() []string {
	index := map[*isoOrg]*secretScan{}
	for _, o := range w.orgs {
		s := &secretScan{byPrefix: map[string][]secretValue{}, seen: map[string]bool{}}
		for v := range o.secrets {
			s.add(o.id, v)
		}
		index[o] = s
	}
	var out []string
	for _, c := range w.calls {
		text := isoText(c.res)
		for _, b := range w.orgs {
			if b == c.caller {
				continue
			}
			var found []string
			for _, v := range valuesIn(index[b], text) {
				if !strings.Contains(c.reqText, v) {
					found = append(found, v)
				}
			}
			if b.idPattern.MatchString(text) && !b.idPattern.MatchString(c.reqText) {
				found = append(found, "the organization id "+b.id)
			}
			if len(found) > 0 {
				out = append(out, fmt.Sprintf("LEAK: %s (by a member of %s) answered %d with %s's %v: %.300s", c.what, c.caller.id, c.res.Status, b.id, found, c.res.Body))
			}
		}
	}
	return out
}

// valuesIn returns the values of s that text holds.
func valuesIn(s *secretScan, text string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i+minSecret <= len(text); i++ {
		for _, c := range s.byPrefix[text[i:i+minSecret]] {
			if !seen[c.value] && strings.HasPrefix(text[i:], c.value) {
				seen[c.value] = true
				out = append(out, c.value)
			}
		}
	}
	return out
}

// TestIdempotencyKeysStayInTheirOrganization: one person, a member of acme and of
// acme-corp, sends the same Idempotency-Key and body to both. Each organization gets
// its own customer; neither answer replays the other's.
func TestIdempotencyKeysStayInTheirOrganization(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	ctx := context.Background()
	var owners []string
	for _, id := range []string{"acme", "acme-corp"} {
		u := domain.User{ID: domain.NewID(), Email: "owner@" + id + ".example", Name: "Owner", ActiveOrganizationID: id}
		if err := env.Store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		owner := domain.Membership{OrganizationID: id, UserID: u.ID, Email: u.Email, Name: u.Name, Role: permission.Owner,
			TenantScope: domain.AllTenantsScope(), JoinedAt: env.Store.Now(), Version: 1}
		if err := env.Store.CreateOrganization(ctx, domain.Organization{ID: id, Name: id, Plan: domain.PlanFree, Profile: domain.NewProfile(id),
			OwnerUserID: u.ID}, owner, audit.Event{Category: audit.Settings, Action: "organization.create"}); err != nil {
			t.Fatal(err)
		}
		owners = append(owners, env.Token(u.Email))
	}
	both := env.AddMember("acme", permission.Administrator, "both@isolation.example")
	me := getMe(t, env, both)
	if err := env.Store.PutMember(ctx, domain.Membership{OrganizationID: "acme-corp", UserID: me.User.ID, Email: "both@isolation.example",
		Name: "both", Role: permission.Administrator, TenantScope: domain.AllTenantsScope(), JoinedAt: env.Store.Now()},
		audit.Event{Category: audit.UserManagement, Action: "member.add"}); err != nil {
		t.Fatal(err)
	}
	post := func(orgID string) *testenv.Response {
		res := env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers", Token: both, Body: map[string]string{"name": "Same"},
			Headers: map[string]string{api.HeaderOrganization: orgID, api.HeaderIdempotencyKey: "same-key"}})
		if res.Status != http.StatusCreated {
			t.Fatalf("create in %s: %d %s", orgID, res.Status, res.Body)
		}
		return res
	}
	first, second, again := post("acme"), post("acme-corp"), post("acme")
	a, b := idOf(t, first), idOf(t, second)
	if a == b || second.Header.Get("Idempotent-Replayed") == "true" || strings.Contains(string(second.Body), a) {
		t.Fatalf("acme-corp got acme's answer: %s / %s", first.Body, second.Body)
	}
	if idOf(t, again) != a || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the retry in acme: %s", again.Body)
	}
	for i, orgID := range []string{"acme", "acme-corp"} {
		var list api.List[struct{ ID string }]
		env.Get("/api/msp-portal/customers", owners[i], api.HeaderOrganization, orgID).JSON(t, &list)
		if want := []string{a, b}[i]; len(list.Items) != 1 || list.Items[0].ID != want {
			t.Errorf("customers of %s: %+v, want only %s", orgID, list.Items, want)
		}
	}
}
