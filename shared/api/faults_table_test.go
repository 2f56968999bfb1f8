package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

type dynamoAttr = types.AttributeValue

// plain turns an attribute value into JSON-like Go values; sets are sorted.
func plain(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		f, _ := strconv.ParseFloat(v.Value, 64)
		return f
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(v.Value)
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for k, x := range v.Value {
			m[k] = plain(x)
		}
		return m
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, x := range v.Value {
			l[i] = plain(x)
		}
		return l
	case *types.AttributeValueMemberSS:
		s := append([]string(nil), v.Value...)
		sort.Strings(s)
		return s
	case *types.AttributeValueMemberNS:
		var out []float64
		for _, n := range v.Value {
			f, _ := strconv.ParseFloat(n, 64)
			out = append(out, f)
		}
		sort.Float64s(out)
		return out
	}
	return fmt.Sprintf("%T", v)
}

func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// decodeItem reads an item into a domain value through its JSON form.
func decodeItem(t *testing.T, it snapItem, v any) {
	t.Helper()
	b, _ := json.Marshal(it.raw)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s item: %v", it.typ, err)
	}
}

func num(it snapItem, attr string) int64 {
	f, _ := it.raw[attr].(float64)
	return int64(f)
}

func pkOf(key string) string { pk, _, _ := strings.Cut(key, "|"); return pk }
func skOf(key string) string { _, sk, _ := strings.Cut(key, "|"); return sk }

// checkTable checks that everything the table keeps twice agrees: a customer's counters
// with its tenants' copies, contacts, tickets and documents; a tenant with its copy
// and its Entra id's claim; customer key claims with their customers; an
// organization's count of platform-user managers with its memberships, its usage
// (member seats, tenants, assigned licenses) with its items, and a parent's totals with
// its sub-organizations' usage; a pending
// invitation with its email claim and token lookup; and that nothing lives in the
// partition of a customer or a job that does not exist.
func checkTable(t *testing.T, s tableSnapshot) {
	t.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	now := time.Now()

	type counts struct {
		links, users, licenses, contacts, tickets, open, documents int64
		ids                                                        []string
	}
	perCustomer := map[string]*counts{} // by customer partition key
	cust := func(pk string) *counts {
		if perCustomer[pk] == nil {
			perCustomer[pk] = &counts{}
		}
		return perCustomer[pk]
	}
	managers := map[string]int64{}      // by organization partition key
	connections := map[string]int64{}   // by organization partition key
	usage := map[string]*domain.Usage{} // each organization's, by its partition key
	use := func(orgPK string) *domain.Usage {
		if usage[orgPK] == nil {
			usage[orgPK] = &domain.Usage{}
		}
		return usage[orgPK]
	}
	for k, it := range s {
		pk, sk := pkOf(k), skOf(k)
		switch it.typ {
		case "TenantLink":
			var tn domain.Tenant
			decodeItem(t, it, &tn)
			c := cust(pk)
			c.links++
			c.users += tn.LicensedUsers
			c.licenses += tn.AssignedLicenses()
			c.ids = append(c.ids, tn.ID)
			org := strings.TrimPrefix(strings.SplitN(pk, "#CUSTOMER#", 2)[0], "ORG#")
			tk := "ORG#" + org + "#TENANT#" + tn.ID + "|T"
			if owner, ok := s[tk]; !ok {
				bad("tenant copy %s of a tenant that does not exist", k)
			} else if owner.raw["customerId"] != strings.SplitN(pk, "#CUSTOMER#", 2)[1] || num(owner, "version") != tn.Version {
				bad("tenant copy %s (version %d) disagrees with its tenant (customer %v, version %d)", k, tn.Version,
					owner.raw["customerId"], num(owner, "version"))
			}
		case "Contact":
			cust(pk).contacts++
		case "Ticket":
			cust(pk).tickets++
			if st, _ := it.raw["status"].(string); domain.TicketActive(st) {
				cust(pk).open++
			}
		case "Document":
			cust(pk).documents++
		case "Tenant":
			org := strings.TrimPrefix(strings.SplitN(pk, "#TENANT#", 2)[0], "ORG#")
			var tn domain.Tenant
			decodeItem(t, it, &tn)
			u := use("ORG#" + org)
			u.ManagedTenants++
			u.AssignedLicenses += tn.AssignedLicenses()
			id, _ := it.raw["id"].(string)
			entra, _ := it.raw["entraTenantId"].(string)
			claim, ok := s["ORG#"+org+"#ENTRA#"+strings.ToLower(entra)+"|U"]
			if !ok || claim.raw["tenantId"] != id {
				bad("tenant %s without its Entra claim", k)
			}
			if c, _ := it.raw["customerId"].(string); c != "" {
				if _, ok := s["ORG#"+org+"#CUSTOMER#"+c+"|C#TENANT#"+id]; !ok {
					bad("tenant %s of customer %s without its copy there", k, c)
				}
			}
		case "EntraClaim":
			org := strings.TrimPrefix(strings.SplitN(pk, "#ENTRA#", 2)[0], "ORG#")
			id, _ := it.raw["tenantId"].(string)
			tn, ok := s["ORG#"+org+"#TENANT#"+id+"|T"]
			if entra, _ := tn.raw["entraTenantId"].(string); !ok || "ORG#"+org+"#ENTRA#"+strings.ToLower(entra) != pk {
				bad("Entra claim %s of no tenant holding it", k)
			}
		case "CustomerKey":
			org := strings.TrimPrefix(strings.SplitN(pk, "#CUSTKEY#", 2)[0], "ORG#")
			id, _ := it.raw["customerId"].(string)
			c, ok := s["ORG#"+org+"#CUSTOMER#"+id+"|C"]
			if !ok {
				bad("customer key claim %s of a customer that does not exist", k)
				break
			}
			claimed := strings.SplitN(pk, "#CUSTKEY#", 2)[1]
			if !slices.Contains(customerKeys(c), claimed) {
				bad("customer key claim %s not held by its customer %s", k, id)
			}
		case "Customer":
			org := strings.TrimPrefix(strings.SplitN(pk, "#CUSTOMER#", 2)[0], "ORG#")
			id := strings.SplitN(pk, "#CUSTOMER#", 2)[1]
			for _, key := range customerKeys(it) {
				if claim, ok := s["ORG#"+org+"#CUSTKEY#"+key+"|U"]; !ok || claim.raw["customerId"] != id {
					bad("customer %s without its key claim %s", k, key)
				}
			}
			cust(pk)
		case "Membership":
			if !strings.HasPrefix(sk, "MEMBER#") {
				break
			}
			var m domain.Membership
			decodeItem(t, it, &m)
			if m.Access().ManagesPlatformUsers() {
				managers[pk]++
			}
			use(pk).MemberSeats++
		case "Invitation":
			var inv domain.Invitation
			decodeItem(t, it, &inv)
			if inv.Status != domain.InvitationPending && inv.Status != domain.InvitationEmailFailed || inv.Expired(now) {
				break
			}
			if claim, ok := s[pk+"|INVITE-EMAIL#"+inv.Email]; !ok || claim.raw["invitationId"] != inv.ID {
				bad("pending invitation %s without its email claim", k)
			}
			if tok, ok := s["INVTOKEN#"+inv.TokenHash+"|INVTOKEN"]; !ok || tok.raw["invitationId"] != inv.ID {
				bad("pending invitation %s without its token lookup", k)
			}
		case "InvitationEmail":
			if exp, _ := it.raw["expiresUnix"].(float64); int64(exp) <= now.Unix() {
				break
			}
			id, _ := it.raw["invitationId"].(string)
			inv, ok := s[pk+"|MEMBER#~INVITE#"+id]
			if st, _ := inv.raw["status"].(string); !ok || st != domain.InvitationPending && st != domain.InvitationEmailFailed {
				bad("email claim %s of no pending invitation", k)
			}
		case "InvitationToken":
			org, _ := it.raw["organizationId"].(string)
			id, _ := it.raw["invitationId"].(string)
			if by, _ := it.raw["acceptedBy"].(string); by != "" {
				if _, ok := s["ORG#"+org+"|MEMBER#"+by]; !ok {
					bad("token lookup %s accepted by %s, who is no member", k, by)
				}
				break
			}
			inv, ok := s["ORG#"+org+"|MEMBER#~INVITE#"+id]
			if hash, _ := inv.raw["tokenHash"].(string); !ok || "INVTOKEN#"+hash != pk {
				bad("token lookup %s of no invitation holding the token", k)
			}
		case "Connection":
			connections[strings.TrimSuffix(pk, "#CONNECTIONS")]++
		case "JobInput":
			org, job, _ := strings.Cut(strings.TrimPrefix(pk, "ORG#"), "#JOB#")
			if _, ok := s["ORG#"+org+"#JOB|JOB#"+job]; !ok {
				bad("job input %s of a job that does not exist", k)
			}
		}
		// Nothing lives in the partition of a customer that does not exist.
		if strings.Contains(pk, "#CUSTOMER#") {
			if _, ok := s[pk+"|C"]; !ok {
				bad("%s item %s in the partition of a customer that does not exist", it.typ, k)
			}
		}
	}
	for pk, c := range perCustomer {
		it, ok := s[pk+"|C"]
		if !ok {
			continue // reported above
		}
		var ids []string
		if set, ok := it.raw["tenantIds"].([]string); ok {
			ids = set
		}
		sort.Strings(c.ids)
		for name, want := range map[string]int64{"tenantCount": c.links, "totalUsers": c.users, "totalLicenses": c.licenses,
			"contactCount": c.contacts, "ticketCount": c.tickets, "openTicketCount": c.open, "documentCount": c.documents} {
			if got := num(it, name); got != want {
				bad("customer %s has %s %d, its items count %d", pk, name, got, want)
			}
		}
		if strings.Join(ids, ",") != strings.Join(c.ids, ",") {
			bad("customer %s lists tenants %v, its copies are of %v", pk, ids, c.ids)
		}
	}
	// A parent's totals are the sum of its sub-organizations' usage.
	type totals struct {
		subs int64
		domain.Usage
	}
	perParent := map[string]*totals{}
	billedConnections := map[string]int64{} // by the partition key of the bill
	for k, it := range s {
		if it.typ == "Organization" {
			bill := pkOf(k)
			if parent, _ := it.raw["parentId"].(string); parent != "" {
				bill = "ORG#" + parent
			}
			billedConnections[bill] += connections[pkOf(k)]
		}
		if parent, _ := it.raw["parentId"].(string); it.typ == "Organization" && parent != "" {
			p := perParent["ORG#"+parent]
			if p == nil {
				p = &totals{}
				perParent["ORG#"+parent] = p
			}
			p.subs++
			if u := usage[pkOf(k)]; u != nil {
				p.Usage = p.Usage.Add(*u)
			}
		}
	}
	for k, it := range s {
		if it.typ != "Organization" {
			continue
		}
		pk := pkOf(k)
		want := domain.Usage{}
		if u := usage[pk]; u != nil {
			want = *u
		}
		if got := (domain.Usage{MemberSeats: num(it, "memberSeats"), ManagedTenants: num(it, "managedTenants"),
			AssignedLicenses: num(it, "assignedLicenses")}); got != want {
			bad("organization %s counts usage %+v, its items %+v", pk, got, want)
		}
		wantTotals := totals{}
		if p := perParent[pk]; p != nil {
			wantTotals = *p
		}
		if got := (totals{num(it, "subOrganizations"), domain.Usage{MemberSeats: num(it, "subMemberSeats"),
			ManagedTenants: num(it, "subManagedTenants"), AssignedLicenses: num(it, "subAssignedLicenses")}}); got != wantTotals {
			bad("organization %s counts sub-organization totals %+v, its sub-organizations %+v", pk, got, wantTotals)
		}
		if parent, _ := it.raw["parentId"].(string); parent == "" && num(it, "billedConnections") != billedConnections[pk] {
			bad("organization %s bills %d connections, its and its sub-organizations' items %d", pk, num(it, "billedConnections"), billedConnections[pk])
		}
		if got := num(it, "platformManagers"); got != managers[pk] {
			bad("organization %s counts %d platform-user managers, its memberships %d", pk, got, managers[pk])
		}
		if num(it, "memberEpoch") < 1 {
			bad("organization %s without a member epoch", pk)
		}
	}
	problems = append(problems, chainProblems(t, s)...)
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Fatalf("the table disagrees with itself:\n  %s", strings.Join(problems, "\n  "))
	}
}

// customerKeys are the uniqueness claims a customer item holds (as the store keys them).
func customerKeys(it snapItem) []string {
	var out []string
	if ext, _ := it.raw["externalId"].(string); ext != "" {
		out = append(out, "ext#"+strings.ToLower(ext))
	}
	links, _ := it.raw["psaLinks"].([]any)
	for _, l := range links {
		m, _ := l.(map[string]any)
		conn, _ := m["connectionId"].(string)
		ext, _ := m["externalId"].(string)
		out = append(out, "psa#"+strings.ToLower(conn+"#"+ext))
	}
	return out
}

// checkEpochs: every write of a membership advanced its organization's member epoch,
// and nothing else did (one request writes a membership at most once).
func checkEpochs(t *testing.T, before, after tableSnapshot) {
	t.Helper()
	writes := map[string]int64{}
	for k, a := range after {
		if b, ok := before[k]; (a.typ == "Membership" || b.typ == "Membership") && (!ok || canonical(a.raw) != canonical(b.raw)) {
			writes[pkOf(k)]++
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok && b.typ == "Membership" {
			writes[pkOf(k)]++
		}
	}
	for k, a := range after {
		if a.typ != "Organization" {
			continue
		}
		was := int64(0)
		if b, ok := before[k]; ok {
			was = num(b, "memberEpoch")
		}
		if moved := num(a, "memberEpoch") - was; moved != writes[pkOf(k)] && !(was == 0 && moved == 1) {
			t.Fatalf("organization %s: member epoch moved by %d for %d membership writes", pkOf(k), moved, writes[pkOf(k)])
		}
	}
}

// chainProblems checks each organization's audit hash chain in the table: from its
// checkpoint, the events follow each other by seq with no gap and no fork (one event
// per seq), each names the previous event's hash and hashes to its own, and the head
// names the last one.
func chainProblems(t *testing.T, s tableSnapshot) []string {
	var out []string
	type chain struct {
		head, checkpoint *snapItem
		events           map[string]snapItem // by sort key
	}
	chains := map[string]*chain{}
	of := func(pk string) *chain {
		if chains[pk] == nil {
			chains[pk] = &chain{events: map[string]snapItem{}}
		}
		return chains[pk]
	}
	for k, it := range s {
		switch it.typ {
		case "AuditEvent":
			of(pkOf(k)).events[skOf(k)] = it
		case "AuditChainHead":
			of(pkOf(k)).head = &it
		case "AuditCheckpoint":
			of(pkOf(k)).checkpoint = &it
		}
	}
	for pk, c := range chains {
		if c.head == nil || c.checkpoint == nil {
			out = append(out, fmt.Sprintf("audit partition %s has events without a chain head and checkpoint", pk))
			continue
		}
		prevSeq, prevHash := num(*c.checkpoint, "seq"), fmt.Sprint(c.checkpoint.raw["hash"])
		after := fmt.Sprint(c.checkpoint.raw["afterSk"])
		sks := make([]string, 0, len(c.events))
		for sk := range c.events {
			if sk > after {
				sks = append(sks, sk)
			}
		}
		sort.Strings(sks)
		for _, sk := range sks {
			var ev audit.Event
			decodeItem(t, c.events[sk], &ev)
			h, err := audit.CanonicalHash(ev)
			switch {
			case ev.Seq != prevSeq+1:
				out = append(out, fmt.Sprintf("audit chain %s: event %s has seq %d after %d (a gap or a fork)", pk, ev.ID, ev.Seq, prevSeq))
			case ev.PrevHash != prevHash:
				out = append(out, fmt.Sprintf("audit chain %s: event %d names another previous hash", pk, ev.Seq))
			case err != nil || h != ev.Hash:
				out = append(out, fmt.Sprintf("audit chain %s: event %d does not hash to its hash (%v)", pk, ev.Seq, err))
			}
			prevSeq, prevHash = ev.Seq, ev.Hash
		}
		if num(*c.head, "seq") != prevSeq || fmt.Sprint(c.head.raw["hash"]) != prevHash {
			out = append(out, fmt.Sprintf("audit chain %s: the head (%d) is not the last event (%d)", pk, num(*c.head, "seq"), prevSeq))
		}
	}
	return out
}

// checkCategories: the events a successful request of a mutating route wrote (its
// jobs' included) all carry the route's audit category, a route declared unaudited
// writes none, and an action taken while supporting a sub-organization says so.
// heldRoutes are the routes whose change an organization can hold for approval, and
// heldCategories their audit categories.
var heldRoutes, heldCategories = func() (map[string]bool, map[audit.Category]bool) {
	routes, categories := map[string]bool{}, map[audit.Category]bool{}
	for _, rt := range []api.Route{api.AuthenticationPut, api.CustomersDelete, api.PlatformUsersInvite, api.PlatformUsersUpdate, api.PlatformUsersRemove} {
		routes[rt.Function], categories[rt.Category] = true, true
	}
	return routes, categories
}()

func checkCategories(t *testing.T, rt api.Route, supporting bool, before, after tableSnapshot) {
	t.Helper()
	n := 0
	for k, it := range after {
		if _, ok := before[k]; ok || it.typ != "AuditEvent" {
			continue
		}
		n++
		var ev audit.Event
		decodeItem(t, it, &ev)
		switch {
		case rt.Unaudited != "":
			t.Errorf("route %s is declared unaudited but wrote %s (%s)", rt.Pattern(), ev.Action, ev.Category)
		case ev.Category == rt.Category:
		case rt.Function == api.ApprovalsApprove.Function && heldCategories[ev.Category]:
			// Approving carries out the held change, whose own events keep its route's category.
		case ev.Category == audit.Approval && heldRoutes[rt.Function]:
			// A held route's request for approval.
		default:
			t.Errorf("route %s (category %s) wrote %s in category %q", rt.Pattern(), rt.Category, ev.Action, ev.Category)
		}
		if supporting && ev.OnBehalfOf == nil {
			t.Errorf("route %s, supporting a sub-organization, wrote %s without onBehalfOf", rt.Pattern(), ev.Action)
		}
	}
	if rt.Category != "" && n == 0 {
		t.Errorf("route %s (category %s) wrote no audit event", rt.Pattern(), rt.Category)
	}
}
