package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// subOrgListPK is the GSI1 partition of a parent's sub-organizations: under the
// parent's own id, so the parent's scope is the only way to reach the list.
func subOrgListPK(parentID string) string { return orgPartition(parentID, "SUBORGS") }

// subOrgKeys are the GSI1 keys that list a sub-organization under its parent by its
// lower-cased name (case-insensitive prefix search); none for a top-level organization.
func subOrgKeys(org domain.Organization) map[string]types.AttributeValue {
	if org.ParentID == "" {
		return nil
	}
	return map[string]types.AttributeValue{
		AttrGSI1PK: str(subOrgListPK(org.ParentID)),
		AttrGSI1SK: str(strings.ToLower(org.Name) + nameSep + org.ID),
	}
}

// SubOrganization is one row of a parent's list: the organization and its usage.
type SubOrganization struct {
	Organization domain.Organization
	Usage        domain.Usage
	// ManagedUsers is the sum of licensed users over its tenants (seed 000's usage).
	ManagedUsers int64
	Customers    int64
}

// SubOrganizationCreate is everything creating a sub-organization writes.
type SubOrganizationCreate struct {
	// Organization has its ParentID and DefaultAdmin set.
	Organization domain.Organization
	// Admin is the default admin's membership, as Administrator.
	Admin domain.Membership
	// NewUser is the default admin's user when their email has none yet; otherwise
	// Admin.UserID is the user that holds the email.
	NewUser *domain.User
	// ParentEvent goes in the parent's audit log, Event in the sub-organization's.
	ParentEvent, Event audit.Event
}

// ErrEmailClaimed: the default admin's email changed hands while the sub-organization
// was written (a first sign-in with it); read the email again and retry.
var ErrEmailClaimed = errors.New("email claimed concurrently")

// CreateSubOrganization writes, in one transaction: the sub-organization (listed under
// its parent), the default admin's membership, their user and email claim when new (or
// a check that the email still belongs to the user named), the parent's totals, and the
// audit events of both organizations. Errors: ErrEmailClaimed; ErrNotFound when the
// parent does not exist; a 409 when the id is taken.
func (s *Store) CreateSubOrganization(ctx context.Context, c SubOrganizationCreate) error {
	org := c.Organization
	if org.ParentID == "" {
		return fmt.Errorf("create sub-organization %s: %w", org.ID, ErrNoOrganization)
	}
	items, err := s.organizationItems(org, c.Admin)
	if err != nil {
		return err
	}
	email := domain.NormalizeEmail(c.Admin.Email)
	if c.NewUser != nil {
		u := *c.NewUser
		u.Email = email
		userItem, err := item(u, "User", userPK(u.ID), skUser, map[string]types.AttributeValue{AttrVersion: num(1)})
		if err != nil {
			return err
		}
		emailItem, err := item(map[string]string{"userId": u.ID}, "Email", prefixEmail+email, skEmail, nil)
		if err != nil {
			return err
		}
		cond := aws.String("attribute_not_exists(PK)")
		items = append(items,
			types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: userItem, ConditionExpression: cond}},
			types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: emailItem, ConditionExpression: cond}})
	} else {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: key(prefixEmail+email, skEmail),
			ConditionExpression:       aws.String("userId = :u"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(c.Admin.UserID)},
		}})
	}
	items = append(items, s.totalsUpdate(org.ParentID, domain.Usage{MemberSeats: 1}, 1, billDelta{})...)
	pe, ev := c.ParentEvent, c.Event
	pe.OrganizationID, ev.OrganizationID = org.ParentID, org.ID
	err = s.transact(ctx, items, &pe, &ev)
	var te *TxError
	switch {
	case err == nil:
		s.parents.put(org.ID, org.ParentID)
		return nil
	case errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(1)):
		return problem.Conflictf("organization-exists", "organization %s already exists", org.ID)
	case errors.As(err, &te) && (te.ConditionFailed(2) || te.ConditionFailed(3)):
		return ErrEmailClaimed
	case errors.As(err, &te) && te.ConditionFailed(len(items)-1):
		// The parent is gone, or at its plan's limit of sub-organizations.
		if lerr := s.limitReached(ctx, org.ParentID, domain.MetricSubOrganizations); lerr != nil {
			return lerr
		}
		return ErrNotFound
	}
	return fmt.Errorf("create sub-organization %s of %s: %w", org.ID, org.ParentID, err)
}

// ListSubOrganizations returns one page of a parent's sub-organizations by name,
// optionally those whose name starts with prefix (any case), with their usage: one
// Query on GSI1.
func (s *Store) ListSubOrganizations(ctx context.Context, parentID, prefix string, page Page) ([]SubOrganization, string, error) {
	if parentID == "" {
		return nil, "", ErrNoOrganization
	}
	items, next, err := s.namePage(ctx, subOrgListPK(parentID), prefix, page)
	if err != nil {
		return nil, "", fmt.Errorf("list sub-organizations of %s: %w", parentID, err)
	}
	subs := make([]SubOrganization, 0, len(items))
	for _, it := range items {
		var o domain.Organization
		if err := decode(it, &o); err != nil {
			return nil, "", err
		}
		// The index is its parent's: a row of another parent cannot be here, but the
		// check costs nothing and fails closed.
		if o.ParentID != parentID {
			continue
		}
		subs = append(subs, SubOrganization{Organization: o, Usage: decodeUsage(it, usageNames),
			ManagedUsers: attrInt(it, attrLicensedUsers), Customers: attrInt(it, attrCustomers)})
	}
	return subs, next, nil
}

// SubOrganizationTotals reads an organization's totals across its sub-organizations:
// one GetItem of the organization item, where they are kept.
// Errors: ErrNotFound.
func (s *Store) SubOrganizationTotals(ctx context.Context, orgID string) (domain.SubOrganizationTotals, error) {
	if orgID == "" {
		return domain.SubOrganizationTotals{}, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.SubOrganizationTotals{}, fmt.Errorf("get totals of %s: %w", orgID, err)
	}
	if out.Item == nil {
		return domain.SubOrganizationTotals{}, ErrNotFound
	}
	return domain.SubOrganizationTotals{SubOrganizations: attrInt(out.Item, AttrSubOrganizations),
		Usage: decodeUsage(out.Item, totalNames)}, nil
}

// GetSubOrganization reads a sub-organization of parentID with its usage.
// Errors: ErrNotFound, also for an organization that is not parentID's.
func (s *Store) GetSubOrganization(ctx context.Context, parentID, subID string) (SubOrganization, error) {
	if parentID == "" {
		return SubOrganization{}, ErrNoOrganization
	}
	if !domain.ValidID(subID) {
		return SubOrganization{}, ErrNotFound
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(subID), skOrg),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return SubOrganization{}, fmt.Errorf("get sub-organization %s: %w", subID, err)
	}
	if out.Item == nil {
		return SubOrganization{}, ErrNotFound
	}
	var o domain.Organization
	if err := decode(out.Item, &o); err != nil {
		return SubOrganization{}, err
	}
	if o.ParentID != parentID {
		return SubOrganization{}, ErrNotFound
	}
	return SubOrganization{Organization: o, Usage: decodeUsage(out.Item, usageNames),
		ManagedUsers: attrInt(out.Item, attrLicensedUsers), Customers: attrInt(out.Item, attrCustomers)}, nil
}

// UserIDByEmail returns the user that holds a verified email, "" when none does.
func (s *Store) UserIDByEmail(ctx context.Context, email string) (string, error) {
	return s.userByEmail(ctx, email)
}

// RecordEvents writes audit events of something done outside the table (a Cognito
// call), in one transaction (with the request's idempotency record).
func (s *Store) RecordEvents(ctx context.Context, events ...audit.Event) error {
	ptrs := make([]*audit.Event, len(events))
	for i := range events {
		ptrs[i] = &events[i]
	}
	if err := s.transact(ctx, nil, ptrs...); err != nil {
		return fmt.Errorf("record audit events: %w", err)
	}
	return nil
}
