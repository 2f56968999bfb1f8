package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Billing lives on the organization a bill goes to: a top-level organization, which is
// also the bill of its sub-organizations (DESIGN.md: a sub-organization's usage rolls up
// to the parent's bill, under the parent's plan). Its item carries, besides its own
// usage counters (usage.go):
//   - the plan (`plan`), written only by SetPlan;
//   - the billed counters, its own usage plus its sub-organizations', moved with ADD in
//     the transaction of the change they count: `billedCustomers`, `billedTenants`,
//     `billedUsers` (licensed users over its tenants), `billedConnections`, and the
//     existing `subOrganizations`;
//   - the plan's limits copied beside them (`limitCustomers`, ...), so that a create's
//     Update of a billed counter is conditioned on `counter < limit` in the create's
//     own transaction: race-proof with no read, and with a plan change, which rewrites
//     the limits in one Update conditioned on the counters fitting under them;
//   - `apiCallsExhausted`, the month ("2026-11") whose API calls reached the plan's
//     limit, which the authorization read carries to every request for free.
const (
	attrPlan              = "plan"
	attrCustomers         = "customers"
	attrLicensedUsers     = "licensedUsers"
	attrBilledCustomers   = "billedCustomers"
	attrBilledTenants     = "billedTenants"
	attrBilledUsers       = "billedUsers"
	attrBilledConnections = "billedConnections"
	attrAPICallsExhausted = "apiCallsExhausted"
	// orgIndexPK lists every top-level organization on GSI2, by id: the system scope
	// the metering job pages through (never a Scan).
	orgIndexPK = "BILLING-ORGS"
)

// billedAttr is the attribute counting a metric on the bill, limitAttr its limit.
var (
	billedAttr = map[domain.Metric]string{
		domain.MetricCustomers: attrBilledCustomers, domain.MetricManagedTenants: attrBilledTenants,
		domain.MetricConnections: attrBilledConnections, domain.MetricSubOrganizations: AttrSubOrganizations,
	}
	limitAttr = map[domain.Metric]string{
		domain.MetricCustomers: "limitCustomers", domain.MetricManagedTenants: "limitManagedTenants",
		domain.MetricConnections: "limitConnections", domain.MetricSubOrganizations: "limitSubOrganizations",
	}
	// limitedMetrics are the metrics a create is checked against, in Metrics order.
	limitedMetrics = []domain.Metric{domain.MetricCustomers, domain.MetricManagedTenants, domain.MetricConnections, domain.MetricSubOrganizations}
)

// billingAttrs are the attributes a new top-level organization starts with: its plan's
// limits and its entry in the organizations index.
func billingAttrs(org domain.Organization) map[string]types.AttributeValue {
	if org.ParentID != "" {
		return nil
	}
	out := map[string]types.AttributeValue{AttrGSI2PK: str(orgIndexPK), AttrGSI2SK: str(org.ID)}
	maps.Copy(out, limitValues(domain.PlanOf(org.Plan)))
	return out
}

// unlimitedStored is the stored limit of a metric a plan does not cap: a missing limit
// attribute means the default plan's limit (an organization written before plans), so
// "no cap" must be written, as a number no counter reaches.
const unlimitedStored int64 = 1 << 53

// limitValues are the limit attributes of plan p.
func limitValues(p domain.Plan) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for _, m := range limitedMetrics {
		l := p.Limits.Of(m)
		if l == domain.Unlimited {
			l = unlimitedStored
		}
		out[limitAttr[m]] = num(l)
	}
	return out
}

// billDelta is what a change moves on the bill, besides domain.Usage.
type billDelta struct {
	customers, licensedUsers, tenants, connections int64
}

// addBilled appends to an ADD expression the billed counters d moves, and to conds the
// limit conditions of the metrics it grows: a create beyond a limit fails the Update.
func addBilled(d billDelta, clauses, conds []string, names map[string]string, values map[string]types.AttributeValue) ([]string, []string) {
	for _, c := range []struct {
		m domain.Metric
		n int64
	}{{domain.MetricCustomers, d.customers}, {domain.MetricManagedTenants, d.tenants}, {domain.MetricConnections, d.connections},
		{"", d.licensedUsers}} {
		if c.n == 0 {
			continue
		}
		attr := attrBilledUsers
		if c.m != "" {
			attr = billedAttr[c.m]
		}
		i := fmt.Sprint(len(names))
		names["#b"+i], values[":b"+i] = attr, num(c.n)
		clauses = append(clauses, "#b"+i+" :b"+i)
		if c.m != "" && c.n > 0 {
			conds = append(conds, limitCondition(c.m, "#b"+i, names, values))
		}
	}
	return clauses, conds
}

// limitCondition is the condition that counter (already named) is below its limit. An
// organization without the limit attribute was written before plans were stored: it is
// on the default plan (domain.PlanOf), so the default plan's limit applies, in the same
// condition, with no read and no backfill.
func limitCondition(m domain.Metric, counter string, names map[string]string, values map[string]types.AttributeValue) string {
	i := fmt.Sprint(len(names))
	l, dl := "#l"+i, ":dl"+i
	names[l] = limitAttr[m]
	def := domain.PlanOf(domain.DefaultPlan).Limits.Of(m)
	if def == domain.Unlimited {
		def = unlimitedStored
	}
	values[dl] = num(def)
	return fmt.Sprintf("(attribute_not_exists(%[2]s) OR (attribute_exists(%[1]s) AND %[2]s < %[1]s) OR (attribute_not_exists(%[1]s) AND %[2]s < %[3]s))",
		l, counter, dl)
}

// LimitError is a create refused by the plan: the problem `plan-limit`, naming the
// limit and the current usage.
func LimitError(m domain.Metric, plan string, limit, used int64) *problem.Error {
	pe := problem.Conflictf("plan-limit", "the %s plan allows %d %s and %d are in use; remove some or upgrade the plan",
		plan, limit, m, used)
	pe.Extra = map[string]any{"limit": string(m), "max": limit, "used": used, "plan": plan}
	return pe
}

// limitReached explains a failed condition on a bill's Update: the plan-limit problem
// when metric m is at its limit there, ErrNotFound when the organization is gone, nil
// when neither (the caller then reports the failure as it would have).
func (s *Store) limitReached(ctx context.Context, orgID string, m domain.Metric) error {
	b, err := s.readBill(ctx, orgID)
	if err != nil {
		return err
	}
	limit := b.Limits.Of(m)
	if limit != domain.Unlimited && b.Used[m] >= limit {
		return LimitError(m, b.Plan, limit, b.Used[m])
	}
	return nil
}

// Bill is the billing state of the organization a bill goes to.
type Bill struct {
	// OrganizationID is the top-level organization billed.
	OrganizationID string
	Plan           string
	Limits         domain.Limits
	// Used holds the billed counters (API calls aside).
	Used              map[domain.Metric]int64
	ManagedUsers      int64
	APICallsExhausted string
	Org               domain.Organization
	Item              map[string]types.AttributeValue
}

// readBill reads, consistently, the bill that orgID's usage counts on (its parent's
// for a sub-organization). Errors: ErrNotFound.
func (s *Store) readBill(ctx context.Context, orgID string) (Bill, error) {
	root, err := s.billingRoot(ctx, orgID)
	if err != nil {
		return Bill{}, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(root), skOrg),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Bill{}, fmt.Errorf("get bill of %s: %w", root, err)
	}
	if out.Item == nil {
		return Bill{}, ErrNotFound
	}
	return decodeBill(out.Item)
}

// decodeBill reads the billing attributes of a top-level organization's item. Its
// limits come from its plan's definition; the copies on the item are for conditions.
func decodeBill(it map[string]types.AttributeValue) (Bill, error) {
	var o domain.Organization
	if err := decode(it, &o); err != nil {
		return Bill{}, err
	}
	p := domain.PlanOf(o.Plan)
	b := Bill{OrganizationID: o.ID, Plan: p.Name, Limits: p.Limits, Used: map[domain.Metric]int64{},
		ManagedUsers: attrInt(it, attrBilledUsers), APICallsExhausted: attrString(it, attrAPICallsExhausted), Org: o, Item: it}
	for _, m := range limitedMetrics {
		b.Used[m] = attrInt(it, billedAttr[m])
	}
	return b, nil
}

func attrString(it map[string]types.AttributeValue, name string) string {
	v, _ := it[name].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}

// billingRoot is the organization orgID's usage is billed to: itself, or its parent.
func (s *Store) billingRoot(ctx context.Context, orgID string) (string, error) {
	parent, err := s.parentOf(ctx, orgID)
	if err != nil || parent == "" {
		return orgID, err
	}
	return parent, nil
}

// GetBill reads the bill of orgID (its parent's for a sub-organization), consistently.
// Errors: ErrNoOrganization, ErrNotFound.
func (s *Store) GetBill(ctx context.Context, orgID string) (Bill, error) {
	if orgID == "" {
		return Bill{}, ErrNoOrganization
	}
	return s.readBill(ctx, orgID)
}

// PlanChangeError is a downgrade refused: what must be removed first.
func PlanChangeError(plan string, over []domain.Excess) *problem.Error {
	parts := make([]string, len(over))
	for i, e := range over {
		parts[i] = e.String()
	}
	pe := problem.Conflictf("plan-limit", "the %s plan's limits are below current usage; first remove what is over: %s",
		plan, strings.Join(parts, "; "))
	pe.Extra = map[string]any{"plan": plan, "over": over}
	return pe
}

// SetPlan moves a top-level organization to plan, with its audit event (whose Changes
// the caller fills), in one transaction: the plan and its limits in one Update,
// conditioned on every billed counter fitting under the new limits, so a downgrade
// races no create. It returns the previous plan; the same plan changes nothing
// (changed false, no event). Errors: ErrNotFound; a 409 plan-limit naming what is over.
func (s *Store) SetPlan(ctx context.Context, orgID string, plan domain.Plan, ev audit.Event) (prev string, changed bool, err error) {
	if orgID == "" {
		return "", false, ErrNoOrganization
	}
	for attempt := 0; ; attempt++ {
		b, err := s.readBill(ctx, orgID)
		if err != nil {
			return "", false, err
		}
		if b.OrganizationID != orgID {
			return "", false, ErrNotFound // a sub-organization has no plan of its own
		}
		if b.Plan == plan.Name && attrString(b.Item, attrPlan) == plan.Name {
			return b.Plan, false, nil
		}
		if over := plan.Over(b.Used); len(over) > 0 {
			return b.Plan, false, PlanChangeError(plan.Name, over)
		}
		names := map[string]string{"#p": attrPlan, "#x": attrAPICallsExhausted}
		values := map[string]types.AttributeValue{":p": str(plan.Name)}
		set := []string{"#p = :p"}
		// A sub-organization was refused above: a parent never changes. (An edited
		// organization holds parentId as NULL, so attribute_not_exists would not do.)
		conds := []string{"attribute_exists(PK)"}
		limits := limitValues(plan)
		for i, m := range limitedMetrics {
			ln, bn := fmt.Sprintf("#l%d", i), fmt.Sprintf("#c%d", i)
			names[ln], names[bn] = limitAttr[m], billedAttr[m]
			values[fmt.Sprintf(":l%d", i)] = limits[limitAttr[m]]
			set = append(set, fmt.Sprintf("%s = :l%d", ln, i))
			conds = append(conds, fmt.Sprintf("(attribute_not_exists(%s) OR %s <= :l%d)", bn, bn, i))
		}
		// The month's API calls are judged afresh under the new plan by the next call.
		expr := "SET " + strings.Join(set, ", ") + " REMOVE #x"
		ev.OrganizationID = orgID
		err = s.transact(ctx, []types.TransactWriteItem{{Update: &types.Update{
			TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg), UpdateExpression: aws.String(expr),
			ConditionExpression: aws.String(strings.Join(conds, " AND ")), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}}}, &ev)
		var te *TxError
		if errors.As(err, &te) && te.ConditionFailed(0) && attempt < 3 {
			continue // usage grew meanwhile: read again, and refuse with what is over now
		}
		if err != nil {
			return "", false, fmt.Errorf("set plan of %s: %w", orgID, err)
		}
		s.roots.forget(orgID)
		return b.Plan, true, nil
	}
}

// rootCache remembers, per process and briefly, the plan and API-call state of the
// organizations that sub-organizations bill to: a sub-organization's authorization read
// does not carry its parent's item. A plan change reaches other processes within
// rootCacheTTL; its own process at once.
type rootCache struct {
	mu sync.Mutex
	m  map[string]rootEntry
}

type rootEntry struct {
	bill BillingRoot
	at   time.Time
}

// rootCacheTTL bounds how stale a sub-organization's view of its parent's plan may be.
const rootCacheTTL = 30 * time.Second

func (c *rootCache) get(id string, now time.Time) (BillingRoot, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) > rootCacheTTL || now.Before(e.at) {
		return BillingRoot{}, false
	}
	return e.bill, true
}

func (c *rootCache) put(id string, b BillingRoot, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxParents {
		c.m = map[string]rootEntry{}
	}
	c.m[id] = rootEntry{bill: b, at: now}
}

func (c *rootCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// BillingRoot is what a request needs of the organization its calls are billed to.
type BillingRoot struct {
	ID                string
	Plan              string
	APICallsExhausted string
}

// BillingRootOf returns the billing state of org's bill: org's own, read with it while
// authorizing, for a top-level organization; its parent's, cached briefly (one GetItem
// per parent and process every rootCacheTTL), for a sub-organization.
func (s *Store) BillingRootOf(ctx context.Context, org domain.Organization) (BillingRoot, error) {
	if org.ParentID == "" {
		return BillingRoot{ID: org.ID, Plan: domain.PlanOf(org.Plan).Name, APICallsExhausted: org.APICallsExhausted}, nil
	}
	now := s.now()
	if b, ok := s.roots.get(org.ParentID, now); ok {
		return b, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(org.ParentID), skOrg),
		ProjectionExpression: aws.String("#p, #x"), ExpressionAttributeNames: map[string]string{"#p": attrPlan, "#x": attrAPICallsExhausted}})
	if err != nil {
		return BillingRoot{}, fmt.Errorf("get plan of %s: %w", org.ParentID, err)
	}
	b := BillingRoot{ID: org.ParentID, Plan: domain.PlanOf(attrString(out.Item, attrPlan)).Name,
		APICallsExhausted: attrString(out.Item, attrAPICallsExhausted)}
	s.roots.put(org.ParentID, b, now)
	return b, nil
}

// PlanOf returns the plan an organization is on: its own, or its parent's.
func (s *Store) PlanOf(ctx context.Context, org domain.Organization) (string, error) {
	b, err := s.BillingRootOf(ctx, org)
	return b.Plan, err
}

// countCustomersUnaudited moves the customer counters by n for customers written
// without a transaction (demo data and benches): one Update, no limit.
func (s *Store) countCustomersUnaudited(ctx context.Context, orgID string, n int64) error {
	items, err := s.usageUpdate(ctx, orgID, domain.Usage{}, billDelta{customers: n})
	if err != nil {
		return err
	}
	for _, it := range items {
		u := it.Update
		u.ConditionExpression = aws.String("attribute_exists(PK)")
		for k := range u.ExpressionAttributeNames {
			if strings.HasPrefix(k, "#l") {
				delete(u.ExpressionAttributeNames, k)
			}
		}
		for k := range u.ExpressionAttributeValues {
			if strings.HasPrefix(k, ":dl") {
				delete(u.ExpressionAttributeValues, k)
			}
		}
		if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key,
			UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
			ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues}); err != nil {
			return fmt.Errorf("count customers of %s: %w", orgID, err)
		}
	}
	return nil
}

// OwnUsage is one organization's own usage counters, without its sub-organizations'.
type OwnUsage struct {
	Customers      int64
	ManagedTenants int64
	ManagedUsers   int64
}

// GetOwnUsage reads an organization's own counters (a sub-organization's usage
// summary): one consistent GetItem. Errors: ErrNotFound.
func (s *Store) GetOwnUsage(ctx context.Context, orgID string) (OwnUsage, error) {
	if orgID == "" {
		return OwnUsage{}, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return OwnUsage{}, fmt.Errorf("get usage of %s: %w", orgID, err)
	}
	if out.Item == nil {
		return OwnUsage{}, ErrNotFound
	}
	return OwnUsage{Customers: attrInt(out.Item, attrCustomers), ManagedTenants: attrInt(out.Item, AttrManagedTenants),
		ManagedUsers: attrInt(out.Item, attrLicensedUsers)}, nil
}
