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

// Keys of the team. Invitations sort after the memberships of their organization
// ('~' follows every id character), so one Query on "MEMBER#" lists the team: members,
// then invitations.
const (
	prefixInvitation  = prefixMember + "~INVITE#"
	prefixInviteEmail = "INVITE-EMAIL#"
	prefixInviteToken = "INVTOKEN#"
	skInviteToken     = "INVTOKEN"
	// invitationExpiryPK is the one partition of GSI1 where pending invitations are
	// kept by expiry; the expiry schedule reads it, never the table.
	invitationExpiryPK = "INVITE-EXPIRY"
	// AttrPlatformManagers, on an organization item, counts the members who can manage
	// platform users; it never drops below one.
	AttrPlatformManagers = "platformManagers"
)

func invitationSK(id string) string { return prefixInvitation + id }

// tokenRetention keeps a token's lookup past its invitation's expiry.
const tokenRetention = 30 * 24 * time.Hour

// pendingInvitation reports whether an invitation still waits for its invitee.
func pendingInvitation(inv domain.Invitation) bool {
	return inv.Status == domain.InvitationPending || inv.Status == domain.InvitationEmailFailed
}

// invitationItem keeps an invitation in its organization and, while it is pending, in
// GSI1 by expiry (for the schedule) and in GSI2 by email (for a sign-up to find it).
func invitationItem(inv domain.Invitation) (map[string]types.AttributeValue, error) {
	extra := map[string]types.AttributeValue{AttrVersion: num(inv.Version)}
	if pendingInvitation(inv) {
		extra[AttrGSI1PK] = str(invitationExpiryPK)
		extra[AttrGSI1SK] = str(inv.ExpiresAt.UTC().Format(time.RFC3339) + "#" + inv.OrganizationID + "#" + inv.ID)
		extra[AttrGSI2PK] = str(prefixInviteEmail + inv.Email)
		extra[AttrGSI2SK] = str(inv.OrganizationID + "#" + inv.ID)
	}
	return item(inv, "Invitation", orgPK(inv.OrganizationID), invitationSK(inv.ID), extra)
}

// tokenPut writes the lookup from a token's hash to its invitation. It outlives the
// invitation's 7 days by 30 (TTL), so an expired link is told it expired, and then
// cleans itself up.
func (s *Store) tokenPut(inv domain.Invitation) (types.TransactWriteItem, error) {
	m, err := item(map[string]string{"organizationId": inv.OrganizationID, "invitationId": inv.ID}, "InvitationToken",
		prefixInviteToken+inv.TokenHash, skInviteToken,
		map[string]types.AttributeValue{AttrTTL: num(inv.ExpiresAt.Add(tokenRetention).Unix())})
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}, err
}

func (s *Store) tokenDelete(hash string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table),
		Key: key(prefixInviteToken+hash, skInviteToken), ConditionExpression: aws.String("attribute_exists(PK)")}}
}

// emailClaim makes an email's pending invitation unique in its organization. An
// expired claim may be taken over, so an expired invitation never blocks a new one.
func (s *Store) emailClaim(inv domain.Invitation, now time.Time) (types.TransactWriteItem, error) {
	m, err := item(map[string]any{"invitationId": inv.ID, "expiresUnix": inv.ExpiresAt.Unix()}, "InvitationEmail",
		orgPK(inv.OrganizationID), prefixInviteEmail+inv.Email, nil)
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR expiresUnix <= :now OR invitationId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix()), ":id": str(inv.ID)}}}, err
}

// emailClaimDelete releases the claim, when it is still this invitation's.
func (s *Store) emailClaimDelete(inv domain.Invitation) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table),
		Key:                       key(orgPK(inv.OrganizationID), prefixInviteEmail+inv.Email),
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR invitationId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(inv.ID)}}}
}

// orgMembersUpdate advances the organization's member epoch, moves its count of
// platform-user managers by managerDelta (a decrease is refused when it would leave
// none) and its member seats by seatDelta. Every write that adds, changes or removes a
// membership carries it; one that adds or removes a seat also carries rollup's Update
// of the parent's totals.
func (s *Store) orgMembersUpdate(orgID string, managerDelta, seatDelta int64) types.TransactWriteItem {
	expr, cond := "ADD #e :one", "attribute_exists(PK)"
	names := map[string]string{"#e": AttrMemberEpoch}
	values := map[string]types.AttributeValue{":one": num(1)}
	if managerDelta != 0 {
		expr += ", #m :d"
		names["#m"] = AttrPlatformManagers
		values[":d"] = num(managerDelta)
	}
	if managerDelta < 0 {
		cond += " AND #m > :keep"
		values[":keep"] = num(-managerDelta)
	}
	if seatDelta != 0 {
		expr += ", #s :s"
		names["#s"] = AttrMemberSeats
		values[":s"] = num(seatDelta)
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(orgPK(orgID), skOrg),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
}

func managerDelta(before, after *domain.Membership) int64 {
	var d int64
	if before != nil && before.Access().ManagesPlatformUsers() {
		d--
	}
	if after != nil && after.Access().ManagesPlatformUsers() {
		d++
	}
	return d
}

// ErrLastManager: the change would leave the organization without a member who can
// manage platform users.
var ErrLastManager = problem.Conflictf("last-manager",
	"the organization must keep at least one member who can manage platform users")

// TeamEntry is one row of the team: a member or an invitation.
type TeamEntry struct {
	Member     *domain.Membership
	Invitation *domain.Invitation
}

// ListTeam returns one page of an organization's members followed by its invitations.
func (s *Store) ListTeam(ctx context.Context, orgID string, page Page) ([]TeamEntry, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	start, err := decodeCursor(page.Cursor, AttrPK, orgPK(orgID), AttrPK, AttrSK)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :m)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(orgPK(orgID)), ":m": str(prefixMember)},
		Limit:                     aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list team of %s: %w", orgID, err)
	}
	entries := make([]TeamEntry, 0, len(out.Items))
	for _, it := range out.Items {
		e, err := decodeTeamEntry(it)
		if err != nil {
			return nil, "", err
		}
		entries = append(entries, e)
	}
	return entries, encodeCursor(out.LastEvaluatedKey), nil
}

func decodeTeamEntry(it map[string]types.AttributeValue) (TeamEntry, error) {
	t, _ := it[AttrType].(*types.AttributeValueMemberS)
	var e TeamEntry
	var err error
	switch {
	case t == nil:
		return e, fmt.Errorf("team entry without %s", AttrType)
	case t.Value == "Membership":
		e.Member = new(domain.Membership)
		err = decode(it, e.Member)
	case t.Value == "Invitation":
		e.Invitation = new(domain.Invitation)
		err = decode(it, e.Invitation)
	default:
		err = fmt.Errorf("team entry of type %s", t.Value)
	}
	return e, err
}

// GetTeamEntry returns the member with user id id, or else the invitation with that id,
// read consistently in one BatchGetItem. Errors: ErrNotFound.
func (s *Store) GetTeamEntry(ctx context.Context, orgID, id string) (TeamEntry, error) {
	if orgID == "" {
		return TeamEntry{}, ErrNoOrganization
	}
	if !domain.ValidID(id) {
		return TeamEntry{}, ErrNotFound
	}
	keys := []map[string]types.AttributeValue{key(orgPK(orgID), memberSK(id)), key(orgPK(orgID), invitationSK(id))}
	res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}})
	if err != nil {
		return TeamEntry{}, fmt.Errorf("get team entry %s of %s: %w", id, orgID, err)
	}
	if len(res.UnprocessedKeys) > 0 {
		return TeamEntry{}, fmt.Errorf("get team entry %s of %s: %w", id, orgID, errUnprocessed("batch get"))
	}
	items := res.Responses[s.table]
	if len(items) == 0 {
		return TeamEntry{}, ErrNotFound
	}
	return decodeTeamEntry(items[0])
}

// CreateInvitation writes a new invitation with its token lookup and its email claim,
// refused when the email has a pending invitation or is already a member (a condition
// on the membership of the user that holds the email), with the audit event, in one
// transaction; more events (of other organizations, such as a parent's) ride along.
// Errors: 409 problems invitation-pending and already-member.
func (s *Store) CreateInvitation(ctx context.Context, inv domain.Invitation, ev audit.Event, more ...audit.Event) error {
	now := s.now()
	inv.Version = 1
	it, err := invitationItem(inv)
	if err != nil {
		return err
	}
	claim, err := s.emailClaim(inv, now)
	if err != nil {
		return err
	}
	token, err := s.tokenPut(inv)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		claim, token,
	}
	userID, err := s.userByEmail(ctx, inv.Email)
	if err != nil {
		return err
	}
	if userID != "" {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: key(orgPK(inv.OrganizationID), memberSK(userID)),
			ConditionExpression: aws.String("attribute_not_exists(PK)"),
		}})
	}
	ev.OrganizationID = inv.OrganizationID
	events := []*audit.Event{&ev}
	for i := range more {
		events = append(events, &more[i])
	}
	err = s.transact(ctx, items, events...)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(1):
		return problem.Conflictf("invitation-pending", "%s already has a pending invitation; resend or revoke it", inv.Email)
	case errors.As(err, &te) && te.ConditionFailed(3):
		return problem.Conflictf("already-member", "%s is already a member of this organization", inv.Email)
	case err != nil:
		return fmt.Errorf("create invitation for %s in %s: %w", inv.Email, inv.OrganizationID, err)
	}
	return nil
}

// userByEmail returns the user id that holds a verified email, or "" when none does.
func (s *Store) userByEmail(ctx context.Context, email string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(prefixEmail+domain.NormalizeEmail(email), skEmail), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("get email: %w", err)
	}
	if out.Item == nil {
		return "", nil
	}
	var rec struct {
		UserID string `json:"userId"`
	}
	return rec.UserID, decode(out.Item, &rec)
}

// PutInvitation writes an invitation's new state over the version it was read at:
// an edit of its role or scope, or the outcome of sending its email. When the token
// changed (a resend), the old lookup is replaced and the email claim renewed, in the
// same transaction. ev is written with it unless nil.
// Errors: a stale-version 409; invitation-pending when another invitation took the
// email while this one was expired.
func (s *Store) PutInvitation(ctx context.Context, inv domain.Invitation, read domain.Invitation, ev *audit.Event) (domain.Invitation, error) {
	inv.Version = read.Version + 1
	it, err := invitationItem(inv)
	if err != nil {
		return domain.Invitation{}, err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_exists(PK) AND version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(read.Version)}}}}
	if inv.TokenHash != read.TokenHash {
		put, err := s.tokenPut(inv)
		if err != nil {
			return domain.Invitation{}, err
		}
		claim, err := s.emailClaim(inv, s.now())
		if err != nil {
			return domain.Invitation{}, err
		}
		del := s.tokenDelete(read.TokenHash)
		del.Delete.ConditionExpression = nil // an expired invitation's lookup may be gone already
		items = append(items, put, del, claim)
	}
	var events []*audit.Event
	if ev != nil {
		ev.OrganizationID = inv.OrganizationID
		events = append(events, ev)
	}
	err = s.transact(ctx, items, events...)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return domain.Invitation{}, problem.StaleVersion("the invitation")
	case errors.As(err, &te) && te.ConditionFailed(3):
		return domain.Invitation{}, problem.Conflictf("invitation-pending", "%s has another pending invitation", inv.Email)
	case err != nil:
		return domain.Invitation{}, fmt.Errorf("put invitation %s: %w", inv.ID, err)
	}
	return inv, nil
}

// DeleteInvitation revokes an invitation: it, its token lookup and its email claim go,
// with the audit event, in one transaction. Errors: a stale-version 409.
func (s *Store) DeleteInvitation(ctx context.Context, inv domain.Invitation, ev audit.Event) error {
	del := s.tokenDelete(inv.TokenHash)
	del.Delete.ConditionExpression = nil
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(orgPK(inv.OrganizationID), invitationSK(inv.ID)),
			ConditionExpression:       aws.String("attribute_exists(PK) AND version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(inv.Version)}}},
		del, s.emailClaimDelete(inv),
	}
	ev.OrganizationID = inv.OrganizationID
	err := s.transact(ctx, items, &ev)
	var te *TxError
	if errors.As(err, &te) && te.ConditionFailed(0) {
		return problem.StaleVersion("the invitation")
	}
	if err != nil {
		return fmt.Errorf("delete invitation %s: %w", inv.ID, err)
	}
	return nil
}

// TokenRef is what a token's lookup holds: its invitation and, once accepted, who
// accepted it (the lookup outlives the invitation so a repeated accept by the same
// user is answered, not refused).
type TokenRef struct {
	OrganizationID string `json:"organizationId"`
	InvitationID   string `json:"invitationId"`
	AcceptedBy     string `json:"acceptedBy,omitempty"`
}

// InvitationToken reads a token's lookup by its hash, consistently.
// Errors: ErrNotFound when no invitation holds it (unknown, revoked, rotated, expired).
func (s *Store) InvitationToken(ctx context.Context, hash string) (TokenRef, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(prefixInviteToken+hash, skInviteToken), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return TokenRef{}, fmt.Errorf("get invitation token: %w", err)
	}
	if out.Item == nil || expired(out.Item, s.now()) {
		return TokenRef{}, ErrNotFound
	}
	var ref TokenRef
	return ref, decode(out.Item, &ref)
}

// GetInvitation returns one invitation, read consistently. Errors: ErrNotFound.
func (s *Store) GetInvitation(ctx context.Context, orgID, id string) (domain.Invitation, error) {
	if orgID == "" {
		return domain.Invitation{}, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(orgPK(orgID), invitationSK(id)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.Invitation{}, fmt.Errorf("get invitation %s: %w", id, err)
	}
	if out.Item == nil {
		return domain.Invitation{}, ErrNotFound
	}
	var inv domain.Invitation
	return inv, decode(out.Item, &inv)
}

// ErrInvitationUsed: the invitation was accepted, revoked or rotated meanwhile.
var ErrInvitationUsed = problem.Conflictf("invitation-used", "this invitation was already used, revoked or replaced")

// AcceptInvitation turns an invitation into a membership, once: the token lookup is
// marked accepted on the condition that it was not, the invitation on the condition that it
// still holds that token and has not expired, and the membership is put on the
// condition that there is none; the user's active organization becomes the new one.
// Of concurrent accepts of one token exactly one succeeds.
// Errors: ErrInvitationUsed; already-member 409; invitation-expired 409.
func (s *Store) AcceptInvitation(ctx context.Context, inv domain.Invitation, m domain.Membership, ev audit.Event) error {
	now := s.now()
	if m.Version == 0 {
		m.Version = 1
	}
	if m.JoinedAt.IsZero() {
		m.JoinedAt = now
	}
	mItem, err := memberItem(m)
	if err != nil {
		return err
	}
	rollup, err := s.rollup(ctx, inv.OrganizationID, domain.Usage{MemberSeats: 1})
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(s.table), Key: key(prefixInviteToken+inv.TokenHash, skInviteToken),
			UpdateExpression:          aws.String("SET acceptedBy = :u"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(acceptedBy)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(m.UserID)}}},
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(orgPK(inv.OrganizationID), invitationSK(inv.ID)),
			ConditionExpression:      aws.String("tokenHash = :h AND (#s = :pending OR #s = :failed)"),
			ExpressionAttributeNames: map[string]string{"#s": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(inv.TokenHash),
				":pending": str(domain.InvitationPending), ":failed": str(domain.InvitationEmailFailed)}}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: mItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		s.emailClaimDelete(inv),
		s.orgMembersUpdate(inv.OrganizationID, managerDelta(nil, &m), 1),
		{Update: &types.Update{TableName: aws.String(s.table), Key: key(userPK(m.UserID), skUser),
			UpdateExpression:          aws.String("SET activeOrganizationId = :o ADD version :one"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(inv.OrganizationID), ":one": num(1)}}},
	}
	items = append(items, rollup...)
	if inv.Expired(now) {
		return problem.Conflictf("invitation-expired", "this invitation expired on %s; ask for a new one",
			inv.ExpiresAt.UTC().Format(time.RFC3339))
	}
	ev.OrganizationID = inv.OrganizationID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(2):
		return problem.Conflictf("already-member", "you are already a member of this organization")
	case errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(1)):
		// A concurrent accept of the same token conflicts first; the SDK's retry of
		// the transaction then finds the token used.
		return ErrInvitationUsed
	case errors.As(err, &te) && te.ConditionFailed(5):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("accept invitation %s: %w", inv.ID, err)
	}
	return nil
}

// conflicted reports whether the transaction lost to a concurrent one on some item.
func (e *TxError) conflicted() bool {
	for _, r := range e.Reasons {
		if r == "TransactionConflict" {
			return true
		}
	}
	return false
}

// GetMember returns one membership, read consistently. Errors: ErrNotFound.
func (s *Store) GetMember(ctx context.Context, orgID, userID string) (domain.Membership, error) {
	if orgID == "" {
		return domain.Membership{}, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(orgPK(orgID), memberSK(userID)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.Membership{}, fmt.Errorf("get member %s of %s: %w", userID, orgID, err)
	}
	if out.Item == nil {
		return domain.Membership{}, ErrNotFound
	}
	var m domain.Membership
	return m, decode(out.Item, &m)
}

// UpdateMember writes a member's new role, permissions and scope over the version read,
// with the audit event and the organization's member epoch, in one transaction.
// Errors: a stale-version 409; ErrLastManager.
func (s *Store) UpdateMember(ctx context.Context, m, read domain.Membership, ev audit.Event) (domain.Membership, error) {
	m.Version = read.Version + 1
	it, err := memberItem(m)
	if err != nil {
		return domain.Membership{}, err
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: it,
			ConditionExpression:       aws.String("attribute_exists(PK) AND version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(read.Version)}}},
		s.orgMembersUpdate(m.OrganizationID, managerDelta(&read, &m), 0),
	}
	ev.OrganizationID = m.OrganizationID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return domain.Membership{}, problem.StaleVersion("the member")
	case errors.As(err, &te) && te.ConditionFailed(1):
		return domain.Membership{}, ErrLastManager
	case err != nil:
		return domain.Membership{}, fmt.Errorf("update member %s of %s: %w", m.UserID, m.OrganizationID, err)
	}
	return m, nil
}

// RemoveMember deletes a membership read at version m.Version, with the audit event and
// the organization's member epoch, in one transaction. Errors: ErrNotFound; a
// stale-version 409; ErrLastManager.
func (s *Store) RemoveMember(ctx context.Context, m domain.Membership, ev audit.Event) error {
	rollup, err := s.rollup(ctx, m.OrganizationID, domain.Usage{MemberSeats: -1})
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(orgPK(m.OrganizationID), memberSK(m.UserID)),
			ConditionExpression:       aws.String("attribute_exists(PK) AND version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(m.Version)}}},
		s.orgMembersUpdate(m.OrganizationID, managerDelta(&m, nil), -1),
	}
	items = append(items, rollup...)
	ev.OrganizationID = m.OrganizationID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return problem.StaleVersion("the member")
	case errors.As(err, &te) && te.ConditionFailed(1):
		return ErrLastManager
	case err != nil:
		return fmt.Errorf("remove member %s of %s: %w", m.UserID, m.OrganizationID, err)
	}
	return nil
}

// SystemDueInvitations lists pending invitations whose expiry is at or before now,
// oldest first, from GSI1: the expiry schedule's read, in the system scope (it spans
// organizations, and no request path calls it).
func (s *Store) SystemDueInvitations(ctx context.Context, now time.Time, page Page) ([]domain.Invitation, string, error) {
	invs, next, err := systemDue[domain.Invitation](ctx, s, invitationExpiryPK, now, page)
	if err != nil {
		return nil, "", fmt.Errorf("list due invitations: %w", err)
	}
	return invs, next, nil
}

// systemDue reads one page of an expiry partition of GSI1 (sort keys
// "<RFC 3339 expiry>#<org>#<id>"): the items due at or before now, oldest first.
func systemDue[T any](ctx context.Context, s *Store, pk string, now time.Time, page Page) ([]T, string, error) {
	start, err := decodeCursor(page.Cursor, AttrGSI1PK, pk, AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexGSI1),
		KeyConditionExpression: aws.String("GSI1PK = :pk AND GSI1SK <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":now": str(now.UTC().Format(time.RFC3339) + "#~"),
		},
		Limit: aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", err
	}
	due := make([]T, 0, len(out.Items))
	for _, it := range out.Items {
		var v T
		if err := decode(it, &v); err != nil {
			return nil, "", err
		}
		due = append(due, v)
	}
	return due, encodeCursor(out.LastEvaluatedKey), nil
}

// ExpireInvitation marks a pending invitation expired, if it still is pending and due
// at now, with the audit event, in one transaction. It
// reports whether it changed anything, so a repeated run is a no-op.
func (s *Store) ExpireInvitation(ctx context.Context, orgID, id string, now time.Time, ev audit.Event) (bool, error) {
	inv, err := s.GetInvitation(ctx, orgID, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !pendingInvitation(inv) || now.Before(inv.ExpiresAt) {
		return false, nil
	}
	read := inv
	inv.Status = domain.InvitationExpired
	inv.Version = read.Version + 1
	it, err := invitationItem(inv)
	if err != nil {
		return false, err
	}
	ev.OrganizationID = orgID
	// The token's lookup stays, so its link keeps answering "expired" (409).
	err = s.transact(ctx, []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_exists(PK) AND version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(read.Version)}}}}, &ev)
	var te *TxError
	if errors.As(err, &te) && (te.ConditionFailed(0) || te.conflicted()) {
		return false, nil // changed meanwhile: the next run looks again
	}
	if err != nil {
		return false, fmt.Errorf("expire invitation %s of %s: %w", id, orgID, err)
	}
	return true, nil
}

// PendingInvitationsFor lists the pending invitations sent to an email address, in
// every organization, from GSI2: a first sign-in with that verified email accepts them.
func (s *Store) PendingInvitationsFor(ctx context.Context, email string) ([]domain.Invitation, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexGSI2),
		KeyConditionExpression:    aws.String("GSI2PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(prefixInviteEmail + domain.NormalizeEmail(email))},
		Limit:                     aws.Int32(MaxLimit),
	})
	if err != nil {
		return nil, fmt.Errorf("list invitations for an email: %w", err)
	}
	var invs []domain.Invitation
	for _, it := range out.Items {
		var inv domain.Invitation
		if err := decode(it, &inv); err != nil {
			return nil, err
		}
		// GSI2 is eventually consistent: confirm against the item before acting on it.
		if strings.EqualFold(inv.Email, email) {
			invs = append(invs, inv)
		}
	}
	return invs, nil
}
