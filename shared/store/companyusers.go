package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Company users (seed 002) live in their customer's partition, SK "CUSER#<id>", listed
// by name through GSI1 "…#CUSTOMER#<id>#USERS" / "<lower name>#<id>". Two claims in the
// same partition make them unique: "CUSER-EMAIL#<email>" (one user per email in the
// customer) and "CUSER-EXT#<source>#<external id>" (one user per record of an import
// source, which is what makes an import an idempotent upsert). Both are written in the
// user's transaction with attribute_not_exists, never read first.
//
// The client portal finds a person's company users through GSI2: while portal access is
// on, an accepted user is in "PORTAL-USER#<userId>" and a pending invitation in
// "PORTAL-INVITE-EMAIL#<email>" (GSI2SK "<org>#<id>"). GSI2 only finds candidates:
// every portal request confirms on the item itself, read consistently, so turning
// portal access off takes effect on the very next request. A pending invitation's token
// is looked up by its hash ("PORTALTOKEN#<hash>"), as a team invitation's.
const (
	prefixCompanyUser      = "CUSER#"
	prefixCompanyUserEmail = "CUSER-EMAIL#"
	prefixCompanyUserExt   = "CUSER-EXT#"
	prefixPortalBinding    = "PORTAL#"
	prefixPortalInvite     = "PORTAL-INVITE-EMAIL#"
	prefixPortalToken      = "PORTALTOKEN#"
	skPortalToken          = "PORTALTOKEN"
	counterCompanyUsers    = "companyUserCount"
	// AttrCompanyUsers, on an organization item, counts its company users (the
	// onboarding checklist reads it).
	AttrCompanyUsers = "companyUsers"
)

func companyUserEmailSK(email string) string {
	return prefixCompanyUserEmail + domain.NormalizeEmail(email)
}
func companyUserExtSK(source, ext string) string {
	return prefixCompanyUserExt + source + "#" + ext
}

func companyUserItem(orgID string, u domain.CompanyUser) (map[string]types.AttributeValue, error) {
	extra := map[string]types.AttributeValue{
		AttrGSI1PK: str(customerIndexPK(orgID, u.CustomerID, "USERS")),
		AttrGSI1SK: str(strings.ToLower(u.Name) + "#" + u.ID),
	}
	if u.PortalAccess && u.InviteTokenHash != "" {
		extra[AttrGSI2PK] = str(prefixPortalInvite + u.Email)
		extra[AttrGSI2SK] = str(orgID + "#" + u.ID)
	}
	return item(u, "CompanyUser", customerPK(orgID, u.CustomerID), prefixCompanyUser+u.ID, extra)
}

// claimPut writes a uniqueness claim of a customer's partition for company user id.
func (s *Store) claimPut(orgID, customerID, sk, id string) (types.TransactWriteItem, error) {
	m, err := item(map[string]string{"companyUserId": id}, "CompanyUserClaim", customerPK(orgID, customerID), sk, nil)
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR companyUserId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)}}}, err
}

func (s *Store) claimDelete(orgID, customerID, sk, id string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), sk),
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR companyUserId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(id)}}}
}

// portalBound reports whether u's portal access is on and accepted by a user.
func portalBound(u domain.CompanyUser) bool {
	return u.PortalAccess && u.PortalStatus == domain.PortalActive && u.PortalUserID != ""
}

func portalBindingSK(orgID, companyUserID string) string {
	return prefixPortalBinding + orgID + "#" + companyUserID
}

// bindingWrites keep the binding item of a company user's portal account in step with
// the change from cur (nil for a new user) to next (nil for a deleted one).
func (s *Store) bindingWrites(orgID string, cur, next *domain.CompanyUser) ([]types.TransactWriteItem, error) {
	var out []types.TransactWriteItem
	was, is := cur != nil && portalBound(*cur), next != nil && portalBound(*next)
	if was && (!is || cur.PortalUserID != next.PortalUserID) {
		out = append(out, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table),
			Key: key(userPK(cur.PortalUserID), portalBindingSK(orgID, cur.ID))}})
	}
	if is && (!was || cur.PortalUserID != next.PortalUserID) {
		m, err := item(PortalAccount{OrganizationID: orgID, CustomerID: next.CustomerID, CompanyUserID: next.ID}, "PortalBinding",
			userPK(next.PortalUserID), portalBindingSK(orgID, next.ID), nil)
		if err != nil {
			return nil, err
		}
		out = append(out, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m}})
	}
	return out, nil
}

// PortalToken is what a portal invitation's token lookup holds.
type PortalToken struct {
	OrganizationID string `json:"organizationId"`
	CustomerID     string `json:"customerId"`
	CompanyUserID  string `json:"companyUserId"`
	AcceptedBy     string `json:"acceptedBy,omitempty"`
}

func (s *Store) portalTokenPut(orgID string, u domain.CompanyUser) (types.TransactWriteItem, error) {
	m, err := item(PortalToken{OrganizationID: orgID, CustomerID: u.CustomerID, CompanyUserID: u.ID}, "PortalToken",
		prefixPortalToken+u.InviteTokenHash, skPortalToken,
		map[string]types.AttributeValue{AttrTTL: num(u.InviteExpiresAt.Add(tokenRetention).Unix())})
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}, err
}

func (s *Store) portalTokenDelete(hash string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(prefixPortalToken+hash, skPortalToken)}}
}

// companyUserCounters moves the customer's and the organization's company user counts.
func (s *Store) companyUserCounters(orgID, customerID string, d int64) []types.TransactWriteItem {
	return []types.TransactWriteItem{
		s.detailCounters(orgID, customerID, map[string]int64{counterCompanyUsers: d}),
		{Update: &types.Update{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
			UpdateExpression: aws.String("ADD #n :d"), ConditionExpression: aws.String("attribute_exists(PK)"),
			ExpressionAttributeNames: map[string]string{"#n": AttrCompanyUsers}, ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(d)}}},
	}
}

// DuplicateCompanyUserError: another company user of the customer has the email, or
// the record of the import source.
type DuplicateCompanyUserError struct {
	Field         string
	CompanyUserID string
}

func (e *DuplicateCompanyUserError) Error() string {
	return fmt.Sprintf("another company user (%s) has this %s", e.CompanyUserID, e.Field)
}

// duplicate reads whose claim sk is, for the 409.
func (s *Store) duplicate(ctx context.Context, orgID, customerID, sk, field string) error {
	var rec struct {
		CompanyUserID string `json:"companyUserId"`
	}
	err := s.getDetailItem(ctx, orgID, customerID, sk, &rec)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return &DuplicateCompanyUserError{Field: field, CompanyUserID: rec.CompanyUserID}
}

// CreateCompanyUser writes a new company user with its email claim, its source claim
// (when it has an external id) and, when u carries a pending portal invitation, its
// token lookup; it moves the customer's and the organization's counts and writes the
// audit event, in one transaction. Errors: ErrNotFound when the customer does not
// exist; *DuplicateCompanyUserError.
func (s *Store) CreateCompanyUser(ctx context.Context, orgID string, u domain.CompanyUser, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	u.Version = 1
	it, err := companyUserItem(orgID, u)
	if err != nil {
		return err
	}
	emailClaim, err := s.claimPut(orgID, u.CustomerID, companyUserEmailSK(u.Email), u.ID)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		emailClaim,
	}
	items = append(items, s.companyUserCounters(orgID, u.CustomerID, 1)...)
	extAt := -1
	if u.ExternalID != "" {
		ext, err := s.claimPut(orgID, u.CustomerID, companyUserExtSK(u.Source, u.ExternalID), u.ID)
		if err != nil {
			return err
		}
		extAt = len(items)
		items = append(items, ext)
	}
	if u.InviteTokenHash != "" {
		tok, err := s.portalTokenPut(orgID, u)
		if err != nil {
			return err
		}
		items = append(items, tok)
	}
	binding, err := s.bindingWrites(orgID, nil, &u)
	if err != nil {
		return err
	}
	items = append(items, binding...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.ConditionFailed(0):
		return ErrCompanyUserExists
	case errors.As(err, &te) && te.ConditionFailed(1):
		return s.duplicate(ctx, orgID, u.CustomerID, companyUserEmailSK(u.Email), "email")
	case errors.As(err, &te) && (te.ConditionFailed(2) || te.ConditionFailed(3)):
		return ErrNotFound
	case errors.As(err, &te) && extAt >= 0 && te.ConditionFailed(extAt):
		return s.duplicate(ctx, orgID, u.CustomerID, companyUserExtSK(u.Source, u.ExternalID), "externalId")
	}
	return fmt.Errorf("create company user %s: %w", u.ID, err)
}

// ErrCompanyUserExists: a company user with this id exists (an import row redone).
var ErrCompanyUserExists = errors.New("company user exists")

// GetCompanyUser reads one company user, consistently. Errors: ErrNotFound.
func (s *Store) GetCompanyUser(ctx context.Context, orgID, customerID, id string) (domain.CompanyUser, error) {
	return getDetail[domain.CompanyUser](ctx, s, orgID, customerID, "company user", prefixCompanyUser, id)
}

// ListCompanyUsers returns one page of a customer's company users by name.
func (s *Store) ListCompanyUsers(ctx context.Context, orgID, customerID string, page Page) ([]domain.CompanyUser, string, error) {
	return listDetail[domain.CompanyUser](ctx, s, orgID, customerID, "company users", IndexGSI1, customerIndexPK(orgID, customerID, "USERS"), true, page)
}

// UpdateCompanyUserFrom writes a company user as change leaves it, conditioned on the
// version read, with the audit event, in one transaction: a changed email or source
// record moves its claim, and a new or dropped invitation token its lookup.
// Errors: a stale-version 409; ErrNotFound when the user was deleted meanwhile;
// *DuplicateCompanyUserError.
func (s *Store) UpdateCompanyUserFrom(ctx context.Context, orgID string, cur domain.CompanyUser, expected *int64,
	change func(*domain.CompanyUser) (audit.Event, error)) (domain.CompanyUser, error) {
	if orgID == "" {
		return domain.CompanyUser{}, ErrNoOrganization
	}
	if expected != nil && *expected != cur.Version {
		return domain.CompanyUser{}, problem.StaleVersion("the company user")
	}
	next := cur
	next.Training = append([]domain.TrainingAssignment(nil), cur.Training...)
	ev, err := change(&next)
	if err != nil {
		return domain.CompanyUser{}, err
	}
	next.ID, next.CustomerID, next.CreatedAt = cur.ID, cur.CustomerID, cur.CreatedAt
	next.Version, next.UpdatedAt = cur.Version+1, s.now()
	it, err := companyUserItem(orgID, next)
	if err != nil {
		return domain.CompanyUser{}, err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_exists(PK) AND version = :read"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version)}}}}
	emailAt, extAt := -1, -1
	if next.Email != cur.Email {
		put, err := s.claimPut(orgID, cur.CustomerID, companyUserEmailSK(next.Email), cur.ID)
		if err != nil {
			return domain.CompanyUser{}, err
		}
		emailAt = len(items)
		items = append(items, put, s.claimDelete(orgID, cur.CustomerID, companyUserEmailSK(cur.Email), cur.ID))
	}
	if next.Source != cur.Source || next.ExternalID != cur.ExternalID {
		if next.ExternalID != "" {
			put, err := s.claimPut(orgID, cur.CustomerID, companyUserExtSK(next.Source, next.ExternalID), cur.ID)
			if err != nil {
				return domain.CompanyUser{}, err
			}
			extAt = len(items)
			items = append(items, put)
		}
		if cur.ExternalID != "" {
			items = append(items, s.claimDelete(orgID, cur.CustomerID, companyUserExtSK(cur.Source, cur.ExternalID), cur.ID))
		}
	}
	if next.InviteTokenHash != cur.InviteTokenHash {
		if next.InviteTokenHash != "" {
			tok, err := s.portalTokenPut(orgID, next)
			if err != nil {
				return domain.CompanyUser{}, err
			}
			items = append(items, tok)
		}
		if cur.InviteTokenHash != "" {
			items = append(items, s.portalTokenDelete(cur.InviteTokenHash))
		}
	}
	binding, err := s.bindingWrites(orgID, &cur, &next)
	if err != nil {
		return domain.CompanyUser{}, err
	}
	items = append(items, binding...)
	var events []*audit.Event
	if ev.Action != "" {
		ev.OrganizationID = orgID
		events = append(events, &ev)
	}
	err = s.transact(ctx, items, events...)
	var te *TxError
	switch {
	case err == nil:
		return next, nil
	case errors.As(err, &te) && te.ConditionFailed(0):
		if _, gerr := s.GetCompanyUser(ctx, orgID, cur.CustomerID, cur.ID); errors.Is(gerr, ErrNotFound) {
			return domain.CompanyUser{}, ErrNotFound
		}
		return domain.CompanyUser{}, problem.StaleVersion("the company user")
	case errors.As(err, &te) && emailAt >= 0 && te.ConditionFailed(emailAt):
		return domain.CompanyUser{}, s.duplicate(ctx, orgID, cur.CustomerID, companyUserEmailSK(next.Email), "email")
	case errors.As(err, &te) && extAt >= 0 && te.ConditionFailed(extAt):
		return domain.CompanyUser{}, s.duplicate(ctx, orgID, cur.CustomerID, companyUserExtSK(next.Source, next.ExternalID), "externalId")
	}
	return domain.CompanyUser{}, fmt.Errorf("update company user %s: %w", cur.ID, err)
}

// DeleteCompanyUser deletes a company user read at cur.Version with its claims and its
// invitation's token lookup, moves the counts and writes the audit event, in one
// transaction. Errors: ErrNotFound; a stale-version 409.
func (s *Store) DeleteCompanyUser(ctx context.Context, orgID string, cur domain.CompanyUser, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerPK(orgID, cur.CustomerID), prefixCompanyUser+cur.ID),
			ConditionExpression:       aws.String("attribute_exists(PK) AND version = :read"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version)}}},
		s.claimDelete(orgID, cur.CustomerID, companyUserEmailSK(cur.Email), cur.ID),
	}
	items = append(items, s.companyUserCounters(orgID, cur.CustomerID, -1)...)
	if cur.ExternalID != "" {
		items = append(items, s.claimDelete(orgID, cur.CustomerID, companyUserExtSK(cur.Source, cur.ExternalID), cur.ID))
	}
	if cur.InviteTokenHash != "" {
		items = append(items, s.portalTokenDelete(cur.InviteTokenHash))
	}
	binding, err := s.bindingWrites(orgID, &cur, nil)
	if err != nil {
		return err
	}
	items = append(items, binding...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	if errors.As(err, &te) && te.ConditionFailed(0) {
		if _, gerr := s.GetCompanyUser(ctx, orgID, cur.CustomerID, cur.ID); errors.Is(gerr, ErrNotFound) {
			return ErrNotFound
		}
		return problem.StaleVersion("the company user")
	}
	if err != nil {
		return fmt.Errorf("delete company user %s: %w", cur.ID, err)
	}
	return nil
}

// Upsert outcomes.
const (
	UpsertCreated   = "created"
	UpsertUpdated   = "updated"
	UpsertUnchanged = "unchanged"
)

// UpsertCompanyUser is how an import (CSV now, Microsoft 365 and PSA later) writes a
// user: by (source, external id). The user holding that record gets the imported email,
// name and job title when they differ (role and portal access stay as the MSP set
// them); without one, u is created. Nothing is ever deleted. Safe to repeat: a row
// redone after a crash finds its user by the claim. ev is the event of a creation;
// updated is the one of an update. Errors: *DuplicateCompanyUserError when another user
// of the customer has the email; ErrNotFound when the customer does not exist.
func (s *Store) UpsertCompanyUser(ctx context.Context, orgID string, u domain.CompanyUser, created, updated audit.Event) (string, domain.CompanyUser, error) {
	if u.ExternalID == "" || u.Source == "" {
		return "", domain.CompanyUser{}, fmt.Errorf("upsert company user: source and external id are required")
	}
	for attempt := 0; attempt < 3; attempt++ {
		var rec struct {
			CompanyUserID string `json:"companyUserId"`
		}
		err := s.getDetailItem(ctx, orgID, u.CustomerID, companyUserExtSK(u.Source, u.ExternalID), &rec)
		switch {
		case errors.Is(err, ErrNotFound):
			err = s.CreateCompanyUser(ctx, orgID, u, created)
			var dup *DuplicateCompanyUserError
			if errors.As(err, &dup) && dup.Field == "externalId" {
				continue // created concurrently: update it
			}
			if errors.Is(err, ErrCompanyUserExists) {
				cur, gerr := s.GetCompanyUser(ctx, orgID, u.CustomerID, u.ID)
				return UpsertUnchanged, cur, gerr
			}
			if err != nil {
				return "", domain.CompanyUser{}, err
			}
			u.Version = 1
			return UpsertCreated, u, nil
		case err != nil:
			return "", domain.CompanyUser{}, err
		}
		cur, err := s.GetCompanyUser(ctx, orgID, u.CustomerID, rec.CompanyUserID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", domain.CompanyUser{}, err
		}
		if cur.Email == u.Email && cur.Name == u.Name && cur.JobTitle == u.JobTitle {
			return UpsertUnchanged, cur, nil
		}
		next, err := s.UpdateCompanyUserFrom(ctx, orgID, cur, nil, func(c *domain.CompanyUser) (audit.Event, error) {
			c.Email, c.Name, c.JobTitle = u.Email, u.Name, u.JobTitle
			return updated, nil
		})
		if errors.Is(err, ErrNotFound) || problem.As(err).Code == "stale-version" {
			continue
		}
		if err != nil {
			return "", domain.CompanyUser{}, err
		}
		return UpsertUpdated, next, nil
	}
	return "", domain.CompanyUser{}, problem.Conflictf("company-user-busy", "the company user is being changed concurrently; try again")
}

// PortalAccounts lists the company users userID may be using the portal as, from the
// user's binding items (read consistently); callers confirm on the company user item
// (GetCompanyUser), which decides.
func (s *Store) PortalAccounts(ctx context.Context, userID string) ([]PortalAccount, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(userPK(userID)), ":p": str(prefixPortalBinding)},
		ConsistentRead:            aws.Bool(true), Limit: aws.Int32(MaxLimit),
	})
	if err != nil {
		return nil, fmt.Errorf("list portal accounts of %s: %w", userID, err)
	}
	accounts := make([]PortalAccount, 0, len(out.Items))
	for _, it := range out.Items {
		var a PortalAccount
		if err := decode(it, &a); err != nil {
			return nil, err
		}
		accounts = append(accounts, a)
	}
	return accounts, nil
}

// PortalAccount names one company user a person is in the portal.
type PortalAccount struct {
	OrganizationID string `json:"organizationId"`
	CustomerID     string `json:"customerId"`
	CompanyUserID  string `json:"companyUserId"`
}

// PortalInvitesFor reports whether a pending portal invitation was sent to email (GSI2):
// a person whose first sign-in comes through one gets no organization of their own.
func (s *Store) PortalInvitesFor(ctx context.Context, email string) (bool, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexGSI2),
		KeyConditionExpression:    aws.String("GSI2PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(prefixPortalInvite + domain.NormalizeEmail(email))},
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return false, fmt.Errorf("list portal invitations for an email: %w", err)
	}
	return len(out.Items) > 0, nil
}

// PortalTokenRef reads a portal invitation token's lookup by its hash, consistently.
// Errors: ErrNotFound (unknown, replaced, revoked, or long expired).
func (s *Store) PortalTokenRef(ctx context.Context, hash string) (PortalToken, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(prefixPortalToken+hash, skPortalToken), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return PortalToken{}, fmt.Errorf("get portal token: %w", err)
	}
	if out.Item == nil || expired(out.Item, s.now()) {
		return PortalToken{}, ErrNotFound
	}
	var ref PortalToken
	return ref, decode(out.Item, &ref)
}

// AcceptPortalInvitation binds userID to the company user of a pending invitation,
// once: the token lookup is marked accepted on the condition that it was not, and the
// company user is written conditioned on its version and on still holding that token,
// with the audit event. Errors: ErrInvitationUsed.
func (s *Store) AcceptPortalInvitation(ctx context.Context, orgID string, cur domain.CompanyUser, userID string, now time.Time, ev audit.Event) (domain.CompanyUser, error) {
	next := cur
	next.PortalStatus, next.PortalUserID = domain.PortalActive, userID
	next.InviteTokenHash, next.InviteExpiresAt, next.EmailError = "", nil, ""
	next.Version, next.UpdatedAt = cur.Version+1, now
	it, err := companyUserItem(orgID, next)
	if err != nil {
		return domain.CompanyUser{}, err
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(s.table), Key: key(prefixPortalToken+cur.InviteTokenHash, skPortalToken),
			UpdateExpression:          aws.String("SET acceptedBy = :u"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(acceptedBy)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)}}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: it,
			ConditionExpression: aws.String("version = :read AND inviteTokenHash = :h AND portalAccess = :on"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version), ":h": str(cur.InviteTokenHash),
				":on": &types.AttributeValueMemberBOOL{Value: true}}}},
	}
	binding, err := s.bindingWrites(orgID, &cur, &next)
	if err != nil {
		return domain.CompanyUser{}, err
	}
	items = append(items, binding...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	if errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(1)) {
		return domain.CompanyUser{}, ErrInvitationUsed
	}
	if err != nil {
		return domain.CompanyUser{}, fmt.Errorf("accept portal invitation of %s: %w", cur.ID, err)
	}
	return next, nil
}

// OrganizationCounters reads counters of an organization item the onboarding
// checklist derives its steps from.
func (s *Store) OrganizationCounters(ctx context.Context, orgID string) (map[string]int64, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
		ProjectionExpression:     aws.String("#a, #b, #c"),
		ExpressionAttributeNames: map[string]string{"#a": AttrMemberSeats, "#b": AttrManagedTenants, "#c": AttrCompanyUsers}})
	if err != nil {
		return nil, fmt.Errorf("get counters of %s: %w", orgID, err)
	}
	if out.Item == nil {
		return nil, ErrNotFound
	}
	return map[string]int64{AttrMemberSeats: attrInt(out.Item, AttrMemberSeats), AttrManagedTenants: attrInt(out.Item, AttrManagedTenants),
		AttrCompanyUsers: attrInt(out.Item, AttrCompanyUsers)}, nil
}
