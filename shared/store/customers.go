package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Customer keys. A customer's partition holds the customer item (SK "C"), a copy of
// each associated tenant (SK "C#TENANT#<id>"), and its contacts, tickets and documents,
// so the customer with its tenants is one Query.
const (
	skCustomer         = "C"
	prefixCustomerLink = "C#TENANT#"
	skTenant           = "T"
	skUnique           = "U"
)

// nameSep ends a name in a sort key; it sorts before every printable character, so
// "contoso" (and its ids) sorts before "contoso west".
const nameSep = "\x01"

func customerPK(orgID, customerID string) string { return orgPartition(orgID, "CUSTOMER#"+customerID) }
func tenantPK(orgID, tenantID string) string     { return orgPartition(orgID, "TENANT#"+tenantID) }

// customerListPK is the index partition of an organization's active or archived customers.
func customerListPK(orgID string, archived bool) string {
	if archived {
		return orgPartition(orgID, "CUSTOMERS#ARCHIVED")
	}
	return orgPartition(orgID, "CUSTOMERS")
}

func customerKeyPK(orgID, kind, value string) string {
	return orgPartition(orgID, "CUSTKEY#"+kind+"#"+strings.ToLower(value))
}

// customerKeys are the uniqueness claims of a customer: its external id and each PSA link.
func customerKeys(c domain.Customer) []string {
	var out []string
	if c.ExternalID != "" {
		out = append(out, "ext#"+c.ExternalID)
	}
	for _, l := range c.PSALinks {
		out = append(out, "psa#"+l.ConnectionID+"#"+l.ExternalID)
	}
	return out
}

// attrTenantIDs is the customer's string set of tenant ids, moved with ADD and DELETE.
const attrTenantIDs = "tenantIds"

func (s *Store) customerItem(orgID string, c domain.Customer) (map[string]types.AttributeValue, error) {
	list := customerListPK(orgID, c.Archived)
	extra := map[string]types.AttributeValue{}
	if len(c.TenantIDs) > 0 {
		extra[attrTenantIDs] = &types.AttributeValueMemberSS{Value: c.TenantIDs}
	}
	m, err := item(c, "Customer", customerPK(orgID, c.ID), skCustomer, extra)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]types.AttributeValue{
		AttrGSI1PK: str(list), AttrGSI1SK: str(strings.ToLower(c.Name) + nameSep + c.ID),
		AttrGSI2PK: str(list), AttrGSI2SK: str(c.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + c.ID),
	} {
		m[k] = v
	}
	return m, nil
}

// decodeCustomer reads a customer item, with its tenant id set.
func decodeCustomer(it map[string]types.AttributeValue) (domain.Customer, error) {
	var c domain.Customer
	if err := decode(it, &c); err != nil {
		return c, err
	}
	if ss, ok := it[attrTenantIDs].(*types.AttributeValueMemberSS); ok {
		c.TenantIDs = ss.Value
	}
	return c, nil
}

func (s *Store) keyPuts(orgID, customerID string, keys []string) ([]types.TransactWriteItem, error) {
	var out []types.TransactWriteItem
	for _, k := range keys {
		kind, value, _ := strings.Cut(k, "#")
		m, err := item(map[string]string{"customerId": customerID}, "CustomerKey", customerKeyPK(orgID, kind, value), skUnique, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
			ConditionExpression: aws.String("attribute_not_exists(PK)")}})
	}
	return out, nil
}

// DuplicateKeyError says a customer already claims an external id or PSA link.
type DuplicateKeyError struct {
	Key        string
	CustomerID string
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("customer %s already has %s", e.CustomerID, e.Key)
}

// ErrCustomerExists: a customer with this id exists (an import's row written before).
var ErrCustomerExists = errors.New("customer id exists")

// CreateCustomer writes a new customer, its uniqueness claims and the audit event in
// one transaction. Errors: ErrCustomerExists when the id is taken; *DuplicateKeyError
// when its external id or a PSA link belongs to another customer.
func (s *Store) CreateCustomer(ctx context.Context, orgID string, c domain.Customer, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	c.Version = 1
	it, err := s.customerItem(orgID, c)
	if err != nil {
		return err
	}
	keys := customerKeys(c)
	puts, err := s.keyPuts(orgID, c.ID, keys)
	if err != nil {
		return err
	}
	items := append([]types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}}, puts...)
	// The organization's count, and its bill's, conditioned on the plan's limit.
	usage, err := s.usageUpdate(ctx, orgID, domain.Usage{}, billDelta{customers: 1})
	if err != nil {
		return err
	}
	first := len(items)
	items = append(items, usage...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	if errors.As(err, &te) && te.ConditionFailed(0) {
		return ErrCustomerExists
	}
	if errors.As(err, &te) && te.anyFailed(first, []int{0, 1}) {
		if lerr := s.limitReached(ctx, orgID, domain.MetricCustomers); lerr != nil {
			return lerr
		}
		return ErrNotFound
	}
	if errors.As(err, &te) {
		for i, k := range keys {
			if te.ConditionFailed(i + 1) {
				return s.duplicateKey(ctx, orgID, k)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("create customer %s: %w", c.ID, err)
	}
	return nil
}

func (s *Store) duplicateKey(ctx context.Context, orgID, k string) error {
	kind, value, _ := strings.Cut(k, "#")
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(customerKeyPK(orgID, kind, value), skUnique), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("read customer key: %w", err)
	}
	var rec struct {
		CustomerID string `json:"customerId"`
	}
	if out.Item != nil {
		_ = decode(out.Item, &rec)
	}
	return &DuplicateKeyError{Key: k, CustomerID: rec.CustomerID}
}

// LookupCustomerKey returns the customer that claims an external id ("ext", id) or a
// PSA link ("psa", connectionId+"#"+externalId). Errors: ErrNotFound.
func (s *Store) LookupCustomerKey(ctx context.Context, orgID, kind, value string) (string, error) {
	if orgID == "" {
		return "", ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(customerKeyPK(orgID, kind, value), skUnique)})
	if err != nil {
		return "", fmt.Errorf("get customer key: %w", err)
	}
	if out.Item == nil {
		return "", ErrNotFound
	}
	var rec struct {
		CustomerID string `json:"customerId"`
	}
	return rec.CustomerID, decode(out.Item, &rec)
}

// CustomerDetail is a customer with the copies of its tenants.
type CustomerDetail struct {
	Customer domain.Customer
	Tenants  []domain.Tenant
}

// GetCustomer reads a customer and its tenants in one Query. Errors: ErrNotFound.
func (s *Store) GetCustomer(ctx context.Context, orgID, customerID string) (CustomerDetail, error) {
	it, tenants, err := s.customerWithTenants(ctx, orgID, customerID)
	if err != nil {
		return CustomerDetail{}, err
	}
	c, err := decodeCustomer(it)
	if err != nil {
		return CustomerDetail{}, err
	}
	return CustomerDetail{Customer: c, Tenants: tenants}, nil
}

// customerWithTenants reads a customer's item and its tenant copies, the front of its
// partition, in one Query (paged only past 1 MB). Errors: ErrNoOrganization; ErrNotFound.
func (s *Store) customerWithTenants(ctx context.Context, orgID, customerID string) (map[string]types.AttributeValue, []domain.Tenant, error) {
	if orgID == "" {
		return nil, nil, ErrNoOrganization
	}
	if !domain.ValidID(customerID) {
		return nil, nil, ErrNotFound
	}
	var customer map[string]types.AttributeValue
	var tenants []domain.Tenant
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(s.table),
			KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :c AND :end"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(customerPK(orgID, customerID)), ":c": str(skCustomer), ":end": str(prefixCustomerLink + "~"),
			},
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("get customer %s: %w", customerID, err)
		}
		for _, it := range out.Items {
			if it[AttrSK].(*types.AttributeValueMemberS).Value == skCustomer {
				customer = it
				continue
			}
			var t domain.Tenant
			if err := decode(it, &t); err != nil {
				return nil, nil, err
			}
			tenants = append(tenants, t)
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	if customer == nil {
		return nil, nil, ErrNotFound
	}
	return customer, tenants, nil
}

// CustomerQuery selects a page of customers.
type CustomerQuery struct {
	// SortBy is "name" (default) or "created".
	SortBy string
	// Descending reverses the order.
	Descending bool
	// NamePrefix searches by name prefix, case-insensitively (name order only).
	NamePrefix string
	Archived   bool
	Page       Page
}

// ListCustomers returns one page of customers: one Query on GSI1 (name) or GSI2
// (created) in the partition of active or archived customers.
func (s *Store) ListCustomers(ctx context.Context, orgID string, q CustomerQuery) ([]domain.Customer, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	pk := customerListPK(orgID, q.Archived)
	index, pkAttr, skAttr := IndexGSI1, AttrGSI1PK, AttrGSI1SK
	if q.SortBy == "created" {
		index, pkAttr, skAttr = IndexGSI2, AttrGSI2PK, AttrGSI2SK
	}
	start, err := decodeCursor(q.Page.Cursor, pkAttr, pk, AttrPK, AttrSK, pkAttr, skAttr)
	if err != nil {
		return nil, "", err
	}
	cond := pkAttr + " = :pk"
	vals := map[string]types.AttributeValue{":pk": str(pk)}
	if q.NamePrefix != "" {
		cond += " AND begins_with(" + skAttr + ", :prefix)"
		vals[":prefix"] = str(strings.ToLower(q.NamePrefix))
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(index),
		KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
		ScanIndexForward: aws.Bool(!q.Descending), Limit: aws.Int32(q.Page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list customers of %s: %w", orgID, err)
	}
	customers := make([]domain.Customer, 0, len(out.Items))
	for _, it := range out.Items {
		c, err := decodeCustomer(it)
		if err != nil {
			return nil, "", err
		}
		customers = append(customers, c)
	}
	return customers, encodeCursor(out.LastEvaluatedKey), nil
}

// HasCustomerNamed reports whether an organization has a customer with this name
// (case-insensitive), other than except; active and archived customers are queried
// concurrently.
func (s *Store) HasCustomerNamed(ctx context.Context, orgID, name, except string) (bool, error) {
	type answer struct {
		found bool
		err   error
	}
	answers := make(chan answer, 2)
	for _, archived := range []bool{false, true} {
		go func() {
			found, err := s.hasCustomerNamedIn(ctx, orgID, name, except, archived)
			answers <- answer{found, err}
		}()
	}
	var found bool
	var firstErr error
	for range 2 {
		a := <-answers
		found = found || a.found
		if firstErr == nil {
			firstErr = a.err
		}
	}
	return found, firstErr
}

func (s *Store) hasCustomerNamedIn(ctx context.Context, orgID, name, except string, archived bool) (bool, error) {
	{
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), IndexName: aws.String(IndexGSI1),
			KeyConditionExpression: aws.String("GSI1PK = :pk AND begins_with(GSI1SK, :name)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(customerListPK(orgID, archived)), ":name": str(strings.ToLower(name) + nameSep),
			},
			Limit: aws.Int32(2),
		})
		if err != nil {
			return false, fmt.Errorf("find customers named %q: %w", name, err)
		}
		for _, it := range out.Items {
			var c domain.Customer
			if decode(it, &c) == nil && c.ID != except {
				return true, nil
			}
		}
	}
	return false, nil
}

// PutCustomersUnaudited writes customers with BatchWriteItem and no audit events or
// uniqueness claims. It exists for demo data and benches only; every request path
// uses CreateCustomer.
func (s *Store) PutCustomersUnaudited(ctx context.Context, orgID string, customers []domain.Customer) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	for start := 0; start < len(customers); start += 25 {
		end := min(start+25, len(customers))
		reqs := make([]types.WriteRequest, 0, end-start)
		for _, c := range customers[start:end] {
			c.Version = 1
			it, err := s.customerItem(orgID, c)
			if err != nil {
				return err
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return fmt.Errorf("put customers: %w", err)
		}
	}
	return s.countCustomersUnaudited(ctx, orgID, int64(len(customers)))
}

// UpdateCustomerFrom writes the customer's editable fields as change leaves them,
// conditioned on the version read, and moves its uniqueness claims, with the audit
// event, in one transaction. Counters are not touched: they move with tenants.
// Errors: a stale-version 409; *DuplicateKeyError.
func (s *Store) UpdateCustomerFrom(ctx context.Context, orgID string, cur domain.Customer, expected *int64,
	change func(*domain.Customer) (audit.Event, error)) (domain.Customer, error) {
	if orgID == "" {
		return domain.Customer{}, ErrNoOrganization
	}
	if expected != nil && *expected != cur.Version {
		return domain.Customer{}, problem.StaleVersion("the customer")
	}
	next := cur
	ev, err := change(&next)
	if err != nil {
		return domain.Customer{}, err
	}
	next.ID, next.CreatedAt, next.Counters, next.Version = cur.ID, cur.CreatedAt, cur.Counters, cur.Version+1
	next.UpdatedAt = s.now()
	names := map[string]string{"#n": "name", "#pc": "primaryContactName", "#pe": "primaryContactEmail", "#ph": "phone",
		"#ad": "address", "#pa": "postalAddress", "#web": "website", "#no": "notes", "#psa": "psaLinks", "#ext": "externalId", "#ar": "archived", "#up": "updatedAt", "#v": "version",
		"#g1": AttrGSI1PK, "#g1s": AttrGSI1SK, "#g2": AttrGSI2PK}
	var links types.AttributeValue = &types.AttributeValueMemberNULL{Value: true}
	if len(next.PSALinks) > 0 {
		// Empty lists are stored as NULL: engines store empty containers inconsistently.
		if links, err = marshalValue(next.PSALinks); err != nil {
			return domain.Customer{}, err
		}
	}
	postal, err := marshalValue(next.PostalAddress)
	if err != nil {
		return domain.Customer{}, err
	}
	list := customerListPK(orgID, next.Archived)
	vals := map[string]types.AttributeValue{
		":n": str(next.Name), ":pc": str(next.PrimaryContactName), ":pe": str(next.PrimaryContactEmail), ":ph": str(next.Phone),
		":ad": str(next.Address), ":pa": postal, ":web": str(next.Website), ":no": str(next.Notes), ":psa": links, ":ext": str(next.ExternalID),
		":ar": &types.AttributeValueMemberBOOL{Value: next.Archived}, ":up": str(next.UpdatedAt.Format("2006-01-02T15:04:05.999999999Z07:00")),
		":v": num(next.Version), ":read": num(cur.Version), ":list": str(list), ":name": str(strings.ToLower(next.Name) + nameSep + next.ID),
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(customerPK(orgID, cur.ID), skCustomer),
		UpdateExpression: aws.String("SET #n = :n, #pc = :pc, #pe = :pe, #ph = :ph, #ad = :ad, #pa = :pa, #web = :web, #no = :no, #psa = :psa, #ext = :ext, " +
			"#ar = :ar, #up = :up, #v = :v, #g1 = :list, #g1s = :name, #g2 = :list"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND #v = :read"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}}}
	oldKeys, newKeys := customerKeys(cur), customerKeys(next)
	added := minus(newKeys, oldKeys)
	puts, err := s.keyPuts(orgID, cur.ID, added)
	if err != nil {
		return domain.Customer{}, err
	}
	items = append(items, puts...)
	for _, k := range minus(oldKeys, newKeys) {
		kind, value, _ := strings.Cut(k, "#")
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerKeyPK(orgID, kind, value), skUnique)}})
	}
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	if errors.As(err, &te) {
		if te.ConditionFailed(0) {
			return domain.Customer{}, problem.StaleVersion("the customer")
		}
		for i, k := range added {
			if te.ConditionFailed(i + 1) {
				return domain.Customer{}, s.duplicateKey(ctx, orgID, k)
			}
		}
	}
	if err != nil {
		return domain.Customer{}, fmt.Errorf("update customer %s: %w", cur.ID, err)
	}
	return next, nil
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// TenantsAttachedError refuses to delete a customer that still has tenants.
type TenantsAttachedError struct{ Count int64 }

func (e *TenantsAttachedError) Error() string {
	return fmt.Sprintf("the customer has %d associated tenants", e.Count)
}

// DeleteCustomer deletes a customer without tenants with everything in its partition
// (contacts, tickets, document records, activity copies), its uniqueness claims and
// the audit event, in one transaction: a fault leaves the customer whole or entirely
// gone, never a customer without its contacts nor contacts without their customer.
// The delete is conditioned on the counters read with the partition, so a contact,
// ticket or document added meanwhile makes it read again. The event's own activity
// copy for the deleted customer is not written (the audit log keeps the event). Of a
// partition too large for one transaction (about 95 items), the items that do not fit
// are deleted after it, in batches: nothing can reach them once the customer is gone,
// and if that fails a repeated DELETE removes them (PurgeDeletedCustomer). Afterwards
// any item that raced in is removed, best effort. Errors: ErrNotFound;
// *TenantsAttachedError; customer-busy 409.
func (s *Store) DeleteCustomer(ctx context.Context, orgID string, c domain.Customer, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	pk := customerPK(orgID, c.ID)
	ev.OrganizationID = orgID
	for attempt := 0; attempt < 3; attempt++ {
		cur, children, err := s.customerPartition(ctx, pk)
		if err != nil {
			return fmt.Errorf("delete customer %s: %w", c.ID, err)
		}
		if cur == nil {
			return ErrNotFound
		}
		if n := num64(cur, "tenantCount"); n > 0 {
			return &TenantsAttachedError{Count: n}
		}
		cond, vals := "attribute_exists(PK) AND (attribute_not_exists(tenantCount) OR tenantCount = :zero)", map[string]types.AttributeValue{":zero": num(0)}
		for i, attr := range []string{counterContacts, counterTickets, counterDocuments, counterCompanyUsers} {
			v := fmt.Sprintf(":c%d", i)
			if n := num64(cur, attr); n == 0 {
				cond += fmt.Sprintf(" AND (attribute_not_exists(%s) OR %s = %s)", attr, attr, v)
			} else {
				cond += fmt.Sprintf(" AND %s = %s", attr, v)
			}
			vals[v] = num(num64(cur, attr))
		}
		items := []types.TransactWriteItem{{Delete: &types.Delete{
			TableName: aws.String(s.table), Key: key(pk, skCustomer),
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
		}}}
		for _, k := range customerKeys(c) {
			kind, value, _ := strings.Cut(k, "#")
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerKeyPK(orgID, kind, value), skUnique)}})
		}
		usage, err := s.usageUpdate(ctx, orgID, domain.Usage{}, billDelta{customers: -1})
		if err != nil {
			return err
		}
		items = append(items, usage...)
		if n := num64(cur, counterCompanyUsers); n > 0 {
			// Its company users go with the partition: the organization's count follows.
			items = append(items, s.companyUserCounters(orgID, c.ID, -n)[1])
		}
		e := ev
		// Room for the event's chain items, the idempotency record a keyed request adds,
		// and an approval's decision when the delete is an approved request.
		room := maxTransactItems - reservedItems(ctx) - len(items) - chainItemCount(e)
		var rest []map[string]types.AttributeValue
		if len(children) > room {
			children, rest = children[:room], children[room:]
		}
		for _, k := range children {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: k}})
		}
		// The event's activity copy would go into the partition being deleted.
		err = s.transactWith(ctx, items, txOptions{noCopiesIn: pk}, &e)
		var te *TxError
		if errors.As(err, &te) && te.ConditionFailed(0) {
			continue // a tenant, contact, ticket or document came or went: read again
		}
		if err != nil {
			return fmt.Errorf("delete customer %s: %w", c.ID, err)
		}
		if err := s.deleteKeys(ctx, rest); err != nil {
			return fmt.Errorf("delete customer %s: the rest of its partition: %w", c.ID, err)
		}
		// Whatever raced in after the read (an activity copy of a concurrent edit) is
		// unreachable now; removing it is tidying, not part of the answer.
		if err := s.deletePartition(ctx, pk); err != nil {
			slog.WarnContext(ctx, "deleted customer's partition not emptied", "customerId", c.ID, "err", err.Error())
		}
		return nil
	}
	return problem.Conflictf("customer-busy", "the customer is being changed concurrently; try again")
}

// PurgeDeletedCustomer removes what is left in the partition of a customer that no
// longer exists (a delete whose partition was too large for its transaction and
// whose clean-up failed). It reports whether there was anything.
func (s *Store) PurgeDeletedCustomer(ctx context.Context, orgID, customerID string) (bool, error) {
	if orgID == "" {
		return false, ErrNoOrganization
	}
	if !domain.ValidID(customerID) {
		return false, nil
	}
	pk := customerPK(orgID, customerID)
	cur, children, err := s.customerPartition(ctx, pk)
	if err != nil || cur != nil || len(children) == 0 {
		return false, err
	}
	return true, s.deleteKeys(ctx, children)
}

// customerPartition reads a customer's item (nil when there is none) and the keys of
// everything else in its partition, consistently.
func (s *Store) customerPartition(ctx context.Context, pk string) (map[string]types.AttributeValue, []map[string]types.AttributeValue, error) {
	var cur map[string]types.AttributeValue
	var children []map[string]types.AttributeValue
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
			ConsistentRead:            aws.Bool(true), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read partition %s: %w", pk, err)
		}
		for _, it := range out.Items {
			if sk, _ := it[AttrSK].(*types.AttributeValueMemberS); sk != nil && sk.Value == skCustomer {
				cur = it
				continue
			}
			children = append(children, map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]})
		}
		if out.LastEvaluatedKey == nil {
			return cur, children, nil
		}
		start = out.LastEvaluatedKey
	}
}

// deleteKeys deletes items by key, in batches.
func (s *Store) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	for start := 0; start < len(keys); start += 25 {
		var reqs []types.WriteRequest
		for _, k := range keys[start:min(start+25, len(keys))] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
		if err := s.batchWrite(ctx, reqs); err != nil {
			return err
		}
	}
	return nil
}

func num64(it map[string]types.AttributeValue, attr string) int64 {
	n, ok := it[attr].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.ParseInt(n.Value, 10, 64)
	return v
}

// deletePartition removes every item left in a partition, in batches.
func (s *Store) deletePartition(ctx context.Context, pk string) error {
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
			ProjectionExpression:      aws.String("PK, SK"), ExclusiveStartKey: start, Limit: aws.Int32(25),
		})
		if err != nil {
			return fmt.Errorf("list partition %s: %w", pk, err)
		}
		if len(out.Items) > 0 {
			reqs := make([]types.WriteRequest, 0, len(out.Items))
			for _, it := range out.Items {
				reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: it}})
			}
			if err := s.batchWrite(ctx, reqs); err != nil {
				return fmt.Errorf("delete partition %s: %w", pk, err)
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		start = out.LastEvaluatedKey
	}
}

// batchWrite writes reqs with BatchWriteItem, sending the items DynamoDB leaves
// unprocessed again after a backoff, as batchGet does.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(pending[s.table]) > 0; attempt++ {
		if attempt >= awsconfig.DefaultRetry.MaxAttempts {
			return errUnprocessed("batch write")
		}
		if attempt > 0 {
			if err := awsconfig.Backoff(ctx, attempt); err != nil {
				return err
			}
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return err
		}
		pending = out.UnprocessedItems
	}
	return nil
}
