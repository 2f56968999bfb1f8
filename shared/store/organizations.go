package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

func memberSK(userID string) string { return prefixMember + userID }

// memberItem keeps a membership under its organization and, through GSI1, under its
// user: the organization switcher is one Query on GSI1.
func memberItem(m domain.Membership) (map[string]types.AttributeValue, error) {
	return item(m, "Membership", orgPK(m.OrganizationID), memberSK(m.UserID), map[string]types.AttributeValue{
		AttrGSI1PK: str(userPK(m.UserID)),
		AttrGSI1SK: str(prefixMember + m.OrganizationID),
	})
}

func (s *Store) organizationItems(org domain.Organization, owner domain.Membership) ([]types.TransactWriteItem, error) {
	if org.ID == "" {
		return nil, ErrNoOrganization
	}
	if org.Version == 0 {
		org.Version = 1
	}
	if org.CreatedAt.IsZero() {
		org.CreatedAt = s.now()
	}
	extra := map[string]types.AttributeValue{
		AttrMemberEpoch: num(1), AttrPlatformManagers: num(managerDelta(nil, &owner)), AttrMemberSeats: num(1),
	}
	maps.Copy(extra, subOrgKeys(org))
	maps.Copy(extra, billingAttrs(org))
	if org.ParentID != "" {
		org.Plan = "" // a sub-organization is on its parent's plan
	} else {
		org.Plan = domain.PlanOf(org.Plan).Name
	}
	orgItem, err := item(org, "Organization", orgPK(org.ID), skOrg, extra)
	if err != nil {
		return nil, err
	}
	mItem, err := memberItem(owner)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: orgItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: mItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}, nil
}

// CreateOrganization writes a new organization with its owner's membership, makes it
// the owner's active organization, and writes the audit event, in one transaction.
// Errors: a 409 problem when the id is taken; ErrNotFound when the owner is no user.
func (s *Store) CreateOrganization(ctx context.Context, org domain.Organization, owner domain.Membership, ev audit.Event) error {
	items, err := s.organizationItems(org, owner)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(userPK(owner.UserID), skUser),
		UpdateExpression:          aws.String("SET activeOrganizationId = :o ADD version :one"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(org.ID), ":one": num(1)},
	}})
	ev.OrganizationID = org.ID
	if err := s.transact(ctx, items, &ev); err != nil {
		var te *TxError
		if errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(1)) {
			return problem.Conflictf("organization-exists", "organization %s already exists", org.ID)
		}
		if errors.As(err, &te) && te.ConditionFailed(2) {
			return ErrNotFound
		}
		return fmt.Errorf("create organization %s: %w", org.ID, err)
	}
	return nil
}

// GetOrganization returns one organization. Errors: ErrNotFound.
func (s *Store) GetOrganization(ctx context.Context, orgID string) (domain.Organization, error) {
	if orgID == "" {
		return domain.Organization{}, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg)})
	if err != nil {
		return domain.Organization{}, fmt.Errorf("get organization %s: %w", orgID, err)
	}
	if out.Item == nil {
		return domain.Organization{}, ErrNotFound
	}
	var o domain.Organization
	if err := decode(out.Item, &o); err != nil {
		return o, err
	}
	s.parents.put(o.ID, o.ParentID)
	return o, nil
}

// UpdateOrganization loads the organization, lets change edit it, and writes it back
// conditioned on the version it read (or on expected, when the client sent one), with
// the audit event change returns, in one transaction.
// Errors: ErrNotFound; a stale-version 409; any error change returns.
func (s *Store) UpdateOrganization(ctx context.Context, orgID string, expected *int64,
	change func(*domain.Organization) (audit.Event, error)) (domain.Organization, error) {
	org, err := s.GetOrganization(ctx, orgID)
	if err != nil {
		return domain.Organization{}, err
	}
	return s.UpdateOrganizationFrom(ctx, org, expected, change)
}

// UpdateOrganizationFrom is UpdateOrganization from an organization the caller already
// read (resolving the request reads it), saving a round trip; the write is conditioned
// on the version read, so a change in between is a 409, never lost.
func (s *Store) UpdateOrganizationFrom(ctx context.Context, org domain.Organization, expected *int64,
	change func(*domain.Organization) (audit.Event, error)) (domain.Organization, error) {
	orgID := org.ID
	if orgID == "" {
		return domain.Organization{}, ErrNoOrganization
	}
	if expected != nil && *expected != org.Version {
		return domain.Organization{}, problem.StaleVersion("the organization")
	}
	read := org.Version
	ev, err := change(&org)
	if err != nil {
		return domain.Organization{}, err
	}
	org.ID = orgID
	org.Version = read + 1
	upd, err := s.organizationUpdate(org, read)
	if err != nil {
		return domain.Organization{}, err
	}
	ev.OrganizationID = orgID
	err = s.transact(ctx, []types.TransactWriteItem{{Update: upd}}, &ev)
	if err != nil {
		var te *TxError
		if errors.As(err, &te) && te.ConditionFailed(0) {
			return domain.Organization{}, problem.StaleVersion("the organization")
		}
		return domain.Organization{}, fmt.Errorf("update organization %s: %w", orgID, err)
	}
	return org, nil
}

// orgOptionalAttrs are the organization's attributes that an edit may clear (its
// omitempty fields); a test keeps the list in step with domain.Organization.
var orgOptionalAttrs = []string{"parentId", "ownerUserId", "sso", "defaultAdmin"}

// organizationUpdate writes org's own attributes over the item, conditioned on the
// version read. It is an update rather than a Put so that what other writes keep on
// the item (the member epoch) is never overwritten with a value read earlier.
func (s *Store) organizationUpdate(org domain.Organization, read int64) (*types.Update, error) {
	// A renamed sub-organization moves in its parent's list.
	m, err := item(org, "Organization", orgPK(org.ID), skOrg, subOrgKeys(org))
	if err != nil {
		return nil, err
	}
	delete(m, AttrPK)
	delete(m, AttrSK)
	// The plan is SetPlan's alone: an edit read before a plan change must not undo it.
	delete(m, attrPlan)
	names := map[string]string{}
	values := map[string]types.AttributeValue{":read": num(read)}
	var set []string
	// A cleared field is written as NULL, which decodes to its zero value: the
	// embedded engine drops a REMOVE that follows a SET in one expression.
	for _, name := range orgOptionalAttrs {
		if _, ok := m[name]; !ok {
			m[name] = &types.AttributeValueMemberNULL{Value: true}
		}
	}
	i := 0
	for name, v := range m {
		i++
		names[fmt.Sprintf("#a%d", i)] = name
		values[fmt.Sprintf(":a%d", i)] = v
		set = append(set, fmt.Sprintf("#a%d = :a%d", i, i))
	}
	expr := "SET " + strings.Join(set, ", ")
	return &types.Update{
		TableName: aws.String(s.table), Key: key(orgPK(org.ID), skOrg),
		UpdateExpression:         aws.String(expr),
		ConditionExpression:      aws.String("attribute_exists(PK) AND version = :read"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}, nil
}

// PutMember writes a membership with its audit event; tests and seeds create members
// of any role through it (requests use AcceptInvitation and UpdateMember). It reads the
// previous membership first, to keep the count of platform-user managers.
// Errors: ErrNoOrganization; ErrNotFound when the organization does not exist;
// ErrLastManager.
func (s *Store) PutMember(ctx context.Context, m domain.Membership, ev audit.Event) error {
	if m.OrganizationID == "" {
		return ErrNoOrganization
	}
	if m.Version == 0 {
		m.Version = 1
	}
	if m.JoinedAt.IsZero() {
		m.JoinedAt = s.now()
	}
	it, err := memberItem(m)
	if err != nil {
		return err
	}
	ev.OrganizationID = m.OrganizationID
	var before *domain.Membership
	if old, err := s.GetMember(ctx, m.OrganizationID, m.UserID); err == nil {
		before = &old
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	var seats int64
	if before == nil {
		seats = 1
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it}},
		s.orgMembersUpdate(m.OrganizationID, managerDelta(before, &m), seats)}
	rollup, err := s.rollup(ctx, m.OrganizationID, domain.Usage{MemberSeats: seats})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	items = append(items, rollup...)
	if err := s.transact(ctx, items, &ev); err != nil {
		var te *TxError
		if errors.As(err, &te) && te.ConditionFailed(1) {
			if before != nil {
				return ErrLastManager
			}
			return ErrNotFound
		}
		return fmt.Errorf("put member %s of %s: %w", m.UserID, m.OrganizationID, err)
	}
	return nil
}

// Access is what authorizing one request needs, read in one round trip.
type Access struct {
	Org     *domain.Organization
	Member  *domain.Membership
	Session *Session
	// MemberEpoch is the organization's member epoch when Member was read.
	MemberEpoch int64
	// Snapshot says the items were read together, as of one instant: only then may
	// Member be cached against MemberEpoch.
	Snapshot bool
}

// ResolveAccess reads an organization, the user's membership in it and, when sessionID
// is not empty, the session's last activity, in one TransactGetItems, so the membership
// and the organization's member epoch are one snapshot. When a concurrent write
// cancels that read, it reads them with one BatchGetItem instead, not as a snapshot.
// Missing items are nil.
func (s *Store) ResolveAccess(ctx context.Context, userID, orgID, sessionID string) (Access, error) {
	if orgID == "" {
		return Access{}, ErrNoOrganization
	}
	keys := accessKeys(userID, orgID, sessionID)
	gets := make([]types.TransactGetItem, len(keys))
	for i, k := range keys {
		gets[i] = types.TransactGetItem{Get: &types.Get{TableName: aws.String(s.table), Key: k}}
	}
	out, err := s.db.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: gets})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		items, err := s.batchGet(ctx, keys)
		if err != nil {
			return Access{}, fmt.Errorf("resolve access of %s in %s: %w", userID, orgID, err)
		}
		return s.decodeAccess(items, false)
	}
	if err != nil {
		return Access{}, fmt.Errorf("resolve access of %s in %s: %w", userID, orgID, err)
	}
	items := make([]map[string]types.AttributeValue, 0, len(out.Responses))
	for _, r := range out.Responses {
		if len(r.Item) > 0 {
			items = append(items, r.Item)
		}
	}
	return s.decodeAccess(items, true)
}

// ReadAccess reads what ResolveAccess reads, strongly consistent, with one
// BatchGetItem: each item is current, but they are not one snapshot (Access.Snapshot
// is false), so the membership may not be cached from it. It costs half the read
// units of the transaction and less time on a connection's first call, which is what
// a cold process's first request waits for.
func (s *Store) ReadAccess(ctx context.Context, userID, orgID, sessionID string) (Access, error) {
	if orgID == "" {
		return Access{}, ErrNoOrganization
	}
	keys := accessKeys(userID, orgID, sessionID)
	items, err := s.batchGetWith(ctx, keys, true)
	if err != nil {
		return Access{}, fmt.Errorf("read access of %s in %s: %w", userID, orgID, err)
	}
	return s.decodeAccess(items, false)
}

// accessKeys are the items authorizing a request reads: the organization, the user's
// membership in it and, when sessionID is not empty, the session.
func accessKeys(userID, orgID, sessionID string) []map[string]types.AttributeValue {
	keys := []map[string]types.AttributeValue{
		key(orgPK(orgID), skOrg),
		key(orgPK(orgID), memberSK(userID)),
	}
	if sessionID != "" {
		keys = append(keys, key(userPK(userID), prefixSession+sessionID))
	}
	return keys
}

// OrganizationEpoch reads the organization alone, strongly consistent: a process that
// cached the caller's membership at the epoch it returns needs nothing else.
// Missing: Access.Org is nil.
func (s *Store) OrganizationEpoch(ctx context.Context, orgID string) (Access, error) {
	if orgID == "" {
		return Access{}, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Access{}, fmt.Errorf("get organization %s: %w", orgID, err)
	}
	if out.Item == nil {
		return Access{}, nil
	}
	return s.decodeAccess([]map[string]types.AttributeValue{out.Item}, false)
}

// decodeAccess decodes the items of an authorization read; the organization's parent,
// which never changes, is remembered on the way.
func (s *Store) decodeAccess(items []map[string]types.AttributeValue, snapshot bool) (Access, error) {
	a := Access{Snapshot: snapshot}
	for _, it := range items {
		t, ok := it[AttrType].(*types.AttributeValueMemberS)
		if !ok {
			return Access{}, fmt.Errorf("resolve access: item without %s", AttrType)
		}
		var err error
		switch t.Value {
		case "Organization":
			a.Org = new(domain.Organization)
			if err = decode(it, a.Org); err != nil {
				break
			}
			s.parents.put(a.Org.ID, a.Org.ParentID)
			a.Org.APICallsExhausted = attrString(it, attrAPICallsExhausted)
			if n, ok := it[AttrMemberEpoch].(*types.AttributeValueMemberN); ok {
				a.MemberEpoch, err = strconv.ParseInt(n.Value, 10, 64)
			}
		case "Membership":
			a.Member = new(domain.Membership)
			err = decode(it, a.Member)
		case "Session":
			a.Session = new(Session)
			err = decode(it, a.Session)
		}
		if err != nil {
			return Access{}, fmt.Errorf("resolve access: %w", err)
		}
	}
	return a, nil
}

// batchGet reads keys with BatchGetItem. The keys DynamoDB leaves unprocessed (it does
// when throttled) are requested again after the retryer's throttle backoff: a step of
// the BatchGetItem protocol, not a retry of a failed call (the SDK retries those). When
// keys are still left after the retryer's number of attempts, the error is transient
// (a 503 with Retry-After).
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	return s.batchGetWith(ctx, keys, false)
}

// maxBatchGetKeys is DynamoDB's limit on the keys of one BatchGetItem.
const maxBatchGetKeys = 100

// batchGetWith is batchGet, with strongly consistent reads when consistent is set.
func (s *Store) batchGetWith(ctx context.Context, keys []map[string]types.AttributeValue, consistent bool) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	pending := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(consistent)}}
	for attempt := 0; len(pending) > 0 && len(pending[s.table].Keys) > 0; attempt++ {
		if attempt >= awsconfig.DefaultRetry.MaxAttempts {
			return nil, errUnprocessed("batch get")
		}
		if attempt > 0 {
			if err := awsconfig.Backoff(ctx, attempt); err != nil {
				return nil, err
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Responses[s.table]...)
		pending = res.UnprocessedKeys
	}
	for _, it := range out {
		if _, ok := it[AttrType].(*types.AttributeValueMemberS); !ok {
			return nil, fmt.Errorf("batch get: item without %s", AttrType)
		}
	}
	return out, nil
}

// ListMemberships returns one page of a user's memberships with their organizations:
// one Query on GSI1, then one BatchGetItem for the organizations on the page.
func (s *Store) ListMemberships(ctx context.Context, userID string, page Page) ([]domain.Membership, []domain.Organization, string, error) {
	return s.ListMembershipsThen(ctx, userID, page, nil)
}

// ListMembershipsThen is ListMemberships that hands the page's memberships to
// onMembers as soon as they are read, before their organizations are: a caller may
// start what depends on the memberships alone beside that read.
func (s *Store) ListMembershipsThen(ctx context.Context, userID string, page Page, onMembers func([]domain.Membership)) ([]domain.Membership, []domain.Organization, string, error) {
	start, err := decodeCursor(page.Cursor, AttrGSI1PK, userPK(userID), AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK)
	if err != nil {
		return nil, nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexGSI1),
		KeyConditionExpression: aws.String("GSI1PK = :pk AND begins_with(GSI1SK, :m)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(userPK(userID)), ":m": str(prefixMember),
		},
		Limit: aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("list memberships of %s: %w", userID, err)
	}
	members := make([]domain.Membership, 0, len(out.Items))
	keys := make([]map[string]types.AttributeValue, 0, len(out.Items))
	for _, it := range out.Items {
		var m domain.Membership
		if err := decode(it, &m); err != nil {
			return nil, nil, "", err
		}
		members = append(members, m)
		keys = append(keys, key(orgPK(m.OrganizationID), skOrg))
	}
	if onMembers != nil {
		onMembers(members)
	}
	var orgs []domain.Organization
	if len(keys) > 0 {
		items, err := s.batchGet(ctx, keys)
		if err != nil {
			return nil, nil, "", fmt.Errorf("get organizations of %s: %w", userID, err)
		}
		for _, it := range items {
			var o domain.Organization
			if err := decode(it, &o); err != nil {
				return nil, nil, "", err
			}
			orgs = append(orgs, o)
		}
	}
	return members, orgs, encodeCursor(out.LastEvaluatedKey), nil
}

// DeleteMember removes a membership with its audit event; see RemoveMember.
// Errors: ErrNotFound; ErrLastManager.
func (s *Store) DeleteMember(ctx context.Context, orgID, userID string, ev audit.Event) error {
	m, err := s.GetMember(ctx, orgID, userID)
	if err != nil {
		return err
	}
	return s.RemoveMember(ctx, m, ev)
}
