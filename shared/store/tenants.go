package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

func entraPK(orgID, entraTenantID string) string {
	return orgPartition(orgID, "ENTRA#"+strings.ToLower(entraTenantID))
}

func tenantListPK(orgID string) string { return orgPartition(orgID, "TENANTS") }

func (s *Store) tenantItem(orgID string, t domain.Tenant) (map[string]types.AttributeValue, error) {
	return item(t, "Tenant", tenantPK(orgID, t.ID), skTenant, map[string]types.AttributeValue{
		AttrGSI1PK: str(tenantListPK(orgID)), AttrGSI1SK: str(strings.ToLower(t.DisplayName) + nameSep + t.ID),
	})
}

// linkItem is the copy of a tenant kept in its customer's partition.
func (s *Store) linkItem(orgID string, t domain.Tenant) (map[string]types.AttributeValue, error) {
	return item(t, "TenantLink", customerPK(orgID, t.CustomerID), prefixCustomerLink+t.ID, nil)
}

// ErrEntraTenantTaken: another tenant of the organization has this Entra tenant id.
var ErrEntraTenantTaken = errors.New("entra tenant id already registered")

// CreateTenant writes a tenant, claims its Entra tenant id within the organization,
// moves the organization's usage (and its parent's totals), and writes the audit event,
// in one transaction. Errors: ErrEntraTenantTaken; ErrNotFound for an unknown
// organization.
func (s *Store) CreateTenant(ctx context.Context, orgID string, t domain.Tenant, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	t.Version, t.CustomerID = 1, ""
	it, err := s.tenantItem(orgID, t)
	if err != nil {
		return err
	}
	claim, err := item(map[string]string{"tenantId": t.ID}, "EntraClaim", entraPK(orgID, t.EntraTenantID), skUnique, nil)
	if err != nil {
		return err
	}
	usage, err := s.usageUpdate(ctx, orgID, domain.Usage{ManagedTenants: 1, AssignedLicenses: t.AssignedLicenses()},
		billDelta{licensedUsers: t.LicensedUsers})
	if err != nil {
		return err
	}
	cond := aws.String("attribute_not_exists(PK)")
	ev.OrganizationID = orgID
	err = s.transact(ctx, append([]types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: cond}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: claim, ConditionExpression: cond}},
	}, usage...), &ev)
	var te *TxError
	if errors.As(err, &te) && te.ConditionFailed(1) {
		return ErrEntraTenantTaken
	}
	if errors.As(err, &te) && te.anyFailed(2, []int{0, 1}) {
		// The organization's item, or its bill's: gone, or at the plan's limit.
		if lerr := s.limitReached(ctx, orgID, domain.MetricManagedTenants); lerr != nil {
			return lerr
		}
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", t.ID, err)
	}
	return nil
}

// GetTenant reads a tenant. Errors: ErrNotFound.
func (s *Store) GetTenant(ctx context.Context, orgID, tenantID string) (domain.Tenant, error) {
	if orgID == "" {
		return domain.Tenant{}, ErrNoOrganization
	}
	if !domain.ValidID(tenantID) {
		return domain.Tenant{}, ErrNotFound
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(tenantPK(orgID, tenantID), skTenant), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.Tenant{}, fmt.Errorf("get tenant %s: %w", tenantID, err)
	}
	if out.Item == nil {
		return domain.Tenant{}, ErrNotFound
	}
	var t domain.Tenant
	return t, decode(out.Item, &t)
}

// ListTenants returns one page of an organization's tenants by display name, optionally
// those whose display name starts with prefix.
func (s *Store) ListTenants(ctx context.Context, orgID, prefix string, page Page) ([]domain.Tenant, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	items, next, err := s.namePage(ctx, tenantListPK(orgID), prefix, page)
	if err != nil {
		return nil, "", fmt.Errorf("list tenants of %s: %w", orgID, err)
	}
	tenants := make([]domain.Tenant, 0, len(items))
	for _, it := range items {
		var t domain.Tenant
		if err := decode(it, &t); err != nil {
			return nil, "", err
		}
		tenants = append(tenants, t)
	}
	return tenants, next, nil
}

// namePage reads one page of the GSI1 partition pk, whose sort keys start with a
// lower-cased name: all of it, or the names that start with prefix (any case). A cursor
// of another partition is a 400 naming it.
func (s *Store) namePage(ctx context.Context, pk, prefix string, page Page) ([]map[string]types.AttributeValue, string, error) {
	start, err := decodeCursor(page.Cursor, AttrGSI1PK, pk, AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK)
	if err != nil {
		return nil, "", err
	}
	cond := "GSI1PK = :pk"
	vals := map[string]types.AttributeValue{":pk": str(pk)}
	if prefix != "" {
		cond += " AND begins_with(GSI1SK, :prefix)"
		vals[":prefix"] = str(strings.ToLower(prefix))
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexGSI1),
		KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
		Limit: aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", err
	}
	return out.Items, encodeCursor(out.LastEvaluatedKey), nil
}

// tenantTotals are what one tenant adds to its customer's counters.
type tenantTotals struct {
	count, users, licenses int64
	score                  float64
	health                 map[string]int64
}

func totalsOf(t *domain.Tenant, sign int64) tenantTotals {
	if t == nil {
		return tenantTotals{health: map[string]int64{}}
	}
	return tenantTotals{count: sign, users: sign * t.LicensedUsers, licenses: sign * t.AssignedLicenses(),
		score: float64(sign) * t.SecurityScore, health: map[string]int64{t.Health: sign}}
}

// customerCounters is the Update of a customer's counters by the difference between a
// tenant's old and new state (either may be nil); linkSet "add" or "delete" also moves
// the tenant's id in the customer's tenantIds set. A DELETE that would empty the set
// is unlinkWrite's to avoid.
func (s *Store) customerCounters(orgID, customerID string, old, new *domain.Tenant, linkSet string) types.TransactWriteItem {
	o, n := totalsOf(old, -1), totalsOf(new, 1)
	vals := map[string]types.AttributeValue{
		":tc": num(o.count + n.count), ":tu": num(o.users + n.users), ":tl": num(o.licenses + n.licenses),
		":ss": &types.AttributeValueMemberN{Value: strconv.FormatFloat(o.score+n.score, 'f', -1, 64)},
	}
	expr := "ADD tenantCount :tc, totalUsers :tu, totalLicenses :tl, securityScoreSum :ss"
	for _, h := range domain.HealthStatuses() {
		vals[":"+h] = num(o.health[h] + n.health[h])
		expr += ", " + healthAttr(h) + " :" + h
	}
	switch linkSet {
	case "add":
		vals[":tid"] = &types.AttributeValueMemberSS{Value: []string{new.ID}}
		expr += ", tenantIds :tid"
	case "delete":
		vals[":tid"] = &types.AttributeValueMemberSS{Value: []string{old.ID}}
		expr += " DELETE tenantIds :tid"
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), skCustomer),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: vals,
	}}
}

// healthAttr is the customer's counter of tenants in health h.
func healthAttr(h string) string { return "health" + strings.ToUpper(h[:1]) + h[1:] }

// unlinkWrite is the write of a customer that tenant t leaves: customerCounters'
// DELETE from the tenant set, or, when t is the customer's only tenant, a Put of the
// customer item as read without the set and with t's totals taken off its counters
// (last is then true). DynamoDB removes a set that a DELETE empties, but the embedded
// engine keeps it empty (and ignores a REMOVE in an Update), and the snapshot it
// restores a cancelled transaction from turns that empty set into a value of no type
// that fails every later Query reading the item: the Put leaves the same item on both.
// It is conditioned on every number of the item as read (version and the counters
// other writes ADD to without a version), so a failed condition means read again.
func (s *Store) unlinkWrite(ctx context.Context, orgID, customerID string, t domain.Tenant) (w types.TransactWriteItem, last bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), skCustomer),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return w, false, fmt.Errorf("read customer %s: %w", customerID, err)
	}
	if ss, ok := out.Item[attrTenantIDs].(*types.AttributeValueMemberSS); !ok || len(ss.Value) != 1 || ss.Value[0] != t.ID {
		return s.customerCounters(orgID, customerID, &t, nil, "delete"), false, nil
	}
	o := totalsOf(&t, -1)
	deltas := map[string]float64{"tenantCount": float64(o.count), "totalUsers": float64(o.users), "totalLicenses": float64(o.licenses),
		"securityScoreSum": o.score}
	for _, h := range domain.HealthStatuses() {
		deltas[healthAttr(h)] = float64(o.health[h])
	}
	cond := "size(tenantIds) = :one AND contains(tenantIds, :tid)"
	names, vals := map[string]string{}, map[string]types.AttributeValue{":one": num(1), ":tid": str(t.ID)}
	guarded := []string{counterContacts, counterDocuments, counterTickets, counterOpenTickets, counterCompanyUsers}
	for attr, v := range out.Item {
		if _, ok := v.(*types.AttributeValueMemberN); ok {
			guarded = append(guarded, attr)
		}
	}
	slices.Sort(guarded)
	for i, attr := range slices.Compact(guarded) {
		n, v := fmt.Sprintf("#g%d", i), fmt.Sprintf(":g%d", i)
		names[n] = attr
		if cur, ok := out.Item[attr].(*types.AttributeValueMemberN); ok {
			cond += fmt.Sprintf(" AND %s = %s", n, v)
			vals[v] = cur
		} else {
			cond += fmt.Sprintf(" AND attribute_not_exists(%s)", n)
		}
	}
	it := maps.Clone(out.Item)
	delete(it, attrTenantIDs)
	for attr, d := range deltas {
		var cur float64
		if n, ok := it[attr].(*types.AttributeValueMemberN); ok {
			if cur, err = strconv.ParseFloat(n.Value, 64); err != nil {
				return w, false, fmt.Errorf("customer %s's %s: %w", customerID, attr, err)
			}
		}
		it[attr] = &types.AttributeValueMemberN{Value: strconv.FormatFloat(cur+d, 'f', -1, 64)}
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals}}, true, nil
}

// WithTenant is c's counters as AssociateTenant's transaction moves them for t: what
// the item holds after the association, for an answer that need not read it again.
func WithTenant(c domain.Counters, t domain.Tenant) domain.Counters {
	if slices.Contains(c.TenantIDs, t.ID) {
		return c
	}
	d := totalsOf(&t, 1)
	c.TenantCount += d.count
	c.TotalUsers += d.users
	c.TotalLicenses += d.licenses
	c.SecurityScoreSum += d.score
	c.HealthHealthy += d.health[domain.HealthHealthy]
	c.HealthWarning += d.health[domain.HealthWarning]
	c.HealthCritical += d.health[domain.HealthCritical]
	c.HealthUnknown += d.health[domain.HealthUnknown]
	c.TenantIDs = append(slices.Clone(c.TenantIDs), t.ID)
	return c
}

// AlreadyLinkedError: the tenant belongs to another customer.
type AlreadyLinkedError struct{ CustomerID string }

func (e *AlreadyLinkedError) Error() string {
	return "the tenant is associated with customer " + e.CustomerID
}

// AssociateTenant links a tenant to a customer. The tenant's link is claimed with a
// condition, and the customer's counters move by the tenant's state at the version that
// condition checked, all in one transaction: of any number of concurrent associations
// one wins, and the counters stay exact. Associating with the same customer again
// changes nothing. Errors: ErrNotFound (tenant or customer); *AlreadyLinkedError.
func (s *Store) AssociateTenant(ctx context.Context, orgID, customerID, tenantID string, ev audit.Event) (domain.Tenant, error) {
	if orgID == "" {
		return domain.Tenant{}, ErrNoOrganization
	}
	for attempt := 0; attempt < 5; attempt++ {
		t, err := s.GetTenant(ctx, orgID, tenantID)
		if err != nil {
			return domain.Tenant{}, err
		}
		switch t.CustomerID {
		case customerID:
			return t, nil
		case "":
		default:
			return domain.Tenant{}, &AlreadyLinkedError{CustomerID: t.CustomerID}
		}
		read := t.Version
		t.CustomerID, t.Version, t.UpdatedAt = customerID, read+1, s.now()
		tItem, err := s.tenantItem(orgID, t)
		if err != nil {
			return domain.Tenant{}, err
		}
		link, err := s.linkItem(orgID, t)
		if err != nil {
			return domain.Tenant{}, err
		}
		e := ev
		e.OrganizationID = orgID
		err = s.transact(ctx, []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(s.table), Item: tItem,
				ConditionExpression:       aws.String("version = :read AND (attribute_not_exists(customerId) OR customerId = :none)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(read), ":none": str("")}}},
			{Put: &types.Put{TableName: aws.String(s.table), Item: link}},
			s.customerCounters(orgID, customerID, nil, &t, "add"),
		}, &e)
		var te *TxError
		switch {
		case err == nil:
			return t, nil
		case errors.As(err, &te) && te.ConditionFailed(2):
			return domain.Tenant{}, ErrNotFound
		case errors.As(err, &te) && te.ConditionFailed(0):
			continue // the tenant changed or another association won: read again
		case errors.As(err, &te) && te.conflicted():
			return domain.Tenant{}, errTenantBusy() // the SDK's retries of the conflict are spent
		default:
			return domain.Tenant{}, fmt.Errorf("associate tenant %s: %w", tenantID, err)
		}
	}
	return domain.Tenant{}, errTenantBusy()
}

// errTenantBusy is the 409 of a tenant that concurrent writes kept changing through
// every attempt.
func errTenantBusy() error {
	pe := problem.Conflictf("tenant-busy", "the tenant is being changed concurrently; try again")
	pe.RetryAfter = 1
	return pe
}

// UnlinkTenant removes a tenant from its customer and moves the counters back.
// Errors: ErrNotFound when the tenant is not associated with this customer.
func (s *Store) UnlinkTenant(ctx context.Context, orgID, customerID, tenantID string, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	for attempt := 0; attempt < 5; attempt++ {
		t, err := s.GetTenant(ctx, orgID, tenantID)
		if err != nil {
			return err
		}
		if t.CustomerID != customerID {
			return ErrNotFound
		}
		read := t.Version
		next := t
		next.CustomerID, next.Version, next.UpdatedAt = "", read+1, s.now()
		tItem, err := s.tenantItem(orgID, next)
		if err != nil {
			return err
		}
		counters, last, err := s.unlinkWrite(ctx, orgID, customerID, t)
		if err != nil {
			return err
		}
		e := ev
		e.OrganizationID = orgID
		err = s.transact(ctx, []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(s.table), Item: tItem,
				ConditionExpression:       aws.String("version = :read AND customerId = :c"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(read), ":c": str(customerID)}}},
			{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), prefixCustomerLink+tenantID)}},
			counters,
		}, &e)
		var te *TxError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &te) && (te.ConditionFailed(0) || last && te.ConditionFailed(2)):
			continue
		case errors.As(err, &te) && te.conflicted():
			return errTenantBusy()
		default:
			return fmt.Errorf("unlink tenant %s: %w", tenantID, err)
		}
	}
	return errTenantBusy()
}

// UpdateTenantFrom writes a tenant as change leaves it, conditioned on the version
// read; when the tenant belongs to a customer, the customer's counters and its copy of
// the tenant move in the same transaction, and so do the organization's assigned
// licenses (and its parent's totals) when they change. Errors: a stale-version 409;
// ErrEntraTenantTaken when the Entra id moves to one already registered.
func (s *Store) UpdateTenantFrom(ctx context.Context, orgID string, cur domain.Tenant, expected *int64,
	change func(*domain.Tenant) (audit.Event, error)) (domain.Tenant, error) {
	if orgID == "" {
		return domain.Tenant{}, ErrNoOrganization
	}
	if expected != nil && *expected != cur.Version {
		return domain.Tenant{}, problem.StaleVersion("the tenant")
	}
	next := cur
	ev, err := change(&next)
	if err != nil {
		return domain.Tenant{}, err
	}
	next.ID, next.CustomerID, next.CreatedAt, next.Version, next.UpdatedAt = cur.ID, cur.CustomerID, cur.CreatedAt, cur.Version+1, s.now()
	items, err := s.tenantUpdateItems(ctx, orgID, cur, next)
	if err != nil {
		return domain.Tenant{}, err
	}
	moved := !strings.EqualFold(next.EntraTenantID, cur.EntraTenantID)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case err == nil:
		return next, nil
	case errors.As(err, &te) && te.ConditionFailed(0):
		return domain.Tenant{}, problem.StaleVersion("the tenant")
	case errors.As(err, &te) && moved && te.ConditionFailed(1):
		return domain.Tenant{}, ErrEntraTenantTaken
	}
	return domain.Tenant{}, fmt.Errorf("update tenant %s: %w", cur.ID, err)
}

// tenantUpdateItems are the writes of a tenant moving from cur to next: its Put
// conditioned on the version and customer read (item 0), the Entra id's claim moved
// when it changes (items 1 and 2), its customer's copy and counters, and the
// organization's assigned licenses (and its parent's totals).
func (s *Store) tenantUpdateItems(ctx context.Context, orgID string, cur, next domain.Tenant) ([]types.TransactWriteItem, error) {
	tItem, err := s.tenantItem(orgID, next)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: tItem,
		ConditionExpression:       aws.String("version = :read AND customerId = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version), ":c": str(cur.CustomerID)}}}}
	if !strings.EqualFold(next.EntraTenantID, cur.EntraTenantID) {
		claim, err := item(map[string]string{"tenantId": cur.ID}, "EntraClaim", entraPK(orgID, next.EntraTenantID), skUnique, nil)
		if err != nil {
			return nil, err
		}
		items = append(items,
			types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: claim, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(entraPK(orgID, cur.EntraTenantID), skUnique)}})
	}
	if cur.CustomerID != "" {
		link, err := s.linkItem(orgID, next)
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: link}},
			s.customerCounters(orgID, cur.CustomerID, &cur, &next, ""))
	}
	usage, err := s.usageUpdate(ctx, orgID, domain.Usage{AssignedLicenses: next.AssignedLicenses() - cur.AssignedLicenses()},
		billDelta{licensedUsers: next.LicensedUsers - cur.LicensedUsers})
	if err != nil {
		return nil, err
	}
	return append(items, usage...), nil
}

// MissingTenants returns the ids among ids that are not tenants of the organization,
// in BatchGetItems of at most 100 keys: a tenant scope naming an unknown tenant is
// refused rather than left to match nothing.
func (s *Store) MissingTenants(ctx context.Context, orgID string, ids []string) ([]string, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	found := map[string]bool{}
	for start := 0; start < len(ids); start += 100 {
		var keys []map[string]types.AttributeValue
		for _, id := range ids[start:min(start+100, len(ids))] {
			if domain.ValidID(id) {
				keys = append(keys, key(tenantPK(orgID, id), skTenant))
			}
		}
		if len(keys) == 0 {
			continue
		}
		items, err := s.batchGet(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("check tenants of %s: %w", orgID, err)
		}
		for _, it := range items {
			var t struct {
				ID string `json:"id"`
			}
			if err := decode(it, &t); err != nil {
				return nil, err
			}
			found[t.ID] = true
		}
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}
