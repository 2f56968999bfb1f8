package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/domain"
)

// Usage counters on an organization item: its own (seed 004's licenses consumed), and,
// on a parent, the totals across its sub-organizations. They are moved with ADD in the
// transaction of the change they count, never written from a value read, so an edit of
// the organization (organizationUpdate) leaves them alone.
const (
	AttrMemberSeats      = "memberSeats"
	AttrManagedTenants   = "managedTenants"
	AttrAssignedLicenses = "assignedLicenses"
	// AttrSubOrganizations and the usageTotals attributes are a parent's totals.
	AttrSubOrganizations = "subOrganizations"
)

// usageNames are the attributes of an organization's own counters; totalNames those of
// a parent's totals, in the same order.
var (
	usageNames = [3]string{AttrMemberSeats, AttrManagedTenants, AttrAssignedLicenses}
	totalNames = [3]string{"subMemberSeats", "subManagedTenants", "subAssignedLicenses"}
)

func usageValues(u domain.Usage) [3]int64 {
	return [3]int64{u.MemberSeats, u.ManagedTenants, u.AssignedLicenses}
}

// addUsage appends to an ADD expression the counters of d that move, as #u<i> :u<i>.
func addUsage(attrs [3]string, d domain.Usage, clauses []string, names map[string]string, values map[string]types.AttributeValue) []string {
	for i, v := range usageValues(d) {
		if v == 0 {
			continue
		}
		n := strconv.Itoa(len(names))
		names["#u"+n] = attrs[i]
		values[":u"+n] = num(v)
		clauses = append(clauses, "#u"+n+" :u"+n)
	}
	return clauses
}

// usageUpdate moves an organization's own counters (never its member seats: those move
// with its member epoch in orgMembersUpdate, as one item is written once per
// transaction), its parent's totals, and the billed counters of its bill (billing.go):
// its own item's for a top-level organization, its parent's for a sub-organization.
// A counter that grows toward a plan limit is conditioned on being below it, so the
// Update of the bill fails the transaction at the limit; the caller explains it with
// limitReached. Errors: ErrNotFound for an unknown organization.
func (s *Store) usageUpdate(ctx context.Context, orgID string, d domain.Usage, b billDelta) ([]types.TransactWriteItem, error) {
	parent, err := s.parentOf(ctx, orgID)
	if err != nil {
		return nil, err
	}
	b.tenants = d.ManagedTenants
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	clauses := addUsage(usageNames, d, nil, names, values)
	for _, c := range []struct {
		attr string
		n    int64
	}{{attrCustomers, b.customers}, {attrLicensedUsers, b.licensedUsers}} {
		if c.n != 0 {
			i := strconv.Itoa(len(names))
			names["#o"+i], values[":o"+i] = c.attr, num(c.n)
			clauses = append(clauses, "#o"+i+" :o"+i)
		}
	}
	conds := []string{"attribute_exists(PK)"}
	if parent == "" {
		clauses, conds = addBilled(b, clauses, conds, names, values)
	}
	var out []types.TransactWriteItem
	if len(clauses) > 0 {
		out = append(out, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
			UpdateExpression: aws.String("ADD " + strings.Join(clauses, ", ")), ConditionExpression: aws.String(strings.Join(conds, " AND ")),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}})
	}
	if parent != "" {
		out = append(out, s.totalsUpdate(parent, d, 0, b)...)
	}
	return out, nil
}

// rollup is the Update of the parent's totals by what a sub-organization's usage moved;
// none for a top-level organization.
func (s *Store) rollup(ctx context.Context, orgID string, d domain.Usage) ([]types.TransactWriteItem, error) {
	parent, err := s.parentOf(ctx, orgID)
	if err != nil || parent == "" {
		return nil, err
	}
	return s.totalsUpdate(parent, d, 0, billDelta{}), nil
}

// totalsUpdate is the Update of a parent's totals: its number of sub-organizations by
// subOrgs (conditioned on its plan's limit when it grows), its usage totals by d, and
// its billed counters by b.
func (s *Store) totalsUpdate(parentID string, d domain.Usage, subOrgs int64, b billDelta) []types.TransactWriteItem {
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	var clauses []string
	conds := []string{"attribute_exists(PK)"}
	if subOrgs != 0 {
		names["#n"], values[":n"] = AttrSubOrganizations, num(subOrgs)
		clauses = append(clauses, "#n :n")
		if subOrgs > 0 {
			conds = append(conds, limitCondition(domain.MetricSubOrganizations, "#n", names, values))
		}
	}
	clauses = addUsage(totalNames, d, clauses, names, values)
	clauses, conds = addBilled(b, clauses, conds, names, values)
	if len(clauses) == 0 {
		return nil
	}
	return []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(orgPK(parentID), skOrg),
		UpdateExpression: aws.String("ADD " + strings.Join(clauses, ", ")), ConditionExpression: aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}}
}

// decodeUsage reads counters of an organization item: attrs usageNames for its own,
// totalNames for a parent's totals.
func decodeUsage(it map[string]types.AttributeValue, attrs [3]string) domain.Usage {
	return domain.Usage{MemberSeats: attrInt(it, attrs[0]), ManagedTenants: attrInt(it, attrs[1]),
		AssignedLicenses: attrInt(it, attrs[2])}
}

func attrInt(it map[string]types.AttributeValue, name string) int64 {
	n, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.ParseInt(n.Value, 10, 64)
	return v
}

// parentCache remembers each organization's parent id ("" for a top-level one). A
// parent is set when the organization is created and never changes, so a process may
// keep it; reading an organization (which authorizing every request does) fills it.
type parentCache struct {
	mu sync.Mutex
	m  map[string]string
}

// maxParents bounds the cache of one process.
const maxParents = 50_000

func (c *parentCache) put(orgID, parentID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxParents {
		c.m = map[string]string{}
	}
	c.m[orgID] = parentID
}

func (c *parentCache) get(orgID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[orgID]
	return p, ok
}

// parentOf returns an organization's parent id, "" for a top-level organization.
// Errors: ErrNotFound.
func (s *Store) parentOf(ctx context.Context, orgID string) (string, error) {
	if p, ok := s.parents.get(orgID); ok {
		return p, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
		ProjectionExpression: aws.String("PK, parentId"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("get parent of organization %s: %w", orgID, err)
	}
	if out.Item == nil {
		return "", ErrNotFound
	}
	var rec struct {
		ParentID string `json:"parentId"`
	}
	if err := decode(out.Item, &rec); err != nil {
		return "", err
	}
	s.parents.put(orgID, rec.ParentID)
	return rec.ParentID, nil
}
