package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// SignIn is one session's sign-in as POST /api/sessions recorded it. It is kept on a
// marker item in the user's partition (USER#<userId>, SK SIGNIN#<sessionId>), which
// makes the recording happen once per session: the marker is written with the
// session's first events under attribute_not_exists, and every later call answers
// from it.
type SignIn struct {
	// SessionID is opaque: a hash of the user and the token's session key (origin_jti
	// or auth_time), never the token's own values.
	SessionID  string        `json:"sessionId"`
	UserID     string        `json:"userId"`
	Email      string        `json:"email"`
	SignedInAt time.Time     `json:"signedInAt"`
	SourceIP   string        `json:"sourceIp"`
	UserAgent  string        `json:"userAgent"`
	Client     *audit.Client `json:"client,omitempty"`
	// ClientOf, when set and Client is not, makes Client from UserAgent, only for a
	// sign-in this call records: a user-agent parser's first use in a process is
	// costly, and a repeat call answers from the marker without it.
	ClientOf         func(userAgent string) *audit.Client `json:"-"`
	IdentityProvider string                               `json:"identityProvider"`
	// Organizations is how many organizations' audit logs hold the event.
	Organizations int `json:"organizations"`
	// Complete is false while a sign-in in more organizations than one transaction
	// holds is being written; a later call of the same session writes the rest.
	Complete bool `json:"complete"`
	// FirstOrganizations, on an incomplete sign-in, are the organizations whose events
	// the first transaction wrote with the marker.
	FirstOrganizations []string `json:"firstOrganizations,omitempty"`
}

const prefixSignIn = "SIGNIN#"

// SignInSessionID is the opaque id of a user's session: the same for every token of
// one sign-in, and no token value (the secrets of a token are not in it, and a hash
// cannot be turned back into the origin_jti).
func SignInSessionID(userID, sessionKey string) string {
	return domain.DerivedID("session", userID, sessionKey)
}

// signInEventID is the id of the session's sign-in event in organization orgID: the
// same on every call, so that the event's key is too (with the marker's time) and a
// write of it under attribute_not_exists can never duplicate it.
func signInEventID(orgID, sessionID string) string {
	return domain.DerivedID("sign-in", orgID, sessionID)
}

// RecordSignIn records the sign-in of session in.SessionID once, in the audit log of
// every organization user in.UserID is a member of: an event made from in by event
// (which gets each organization's id, the event's id and the sign-in's time). It
// returns the sign-in as recorded and whether this call recorded (or finished
// recording) it; a call for a session already recorded returns the first call's
// record and false. In up to maxTransactItems-2 organizations the marker and every
// event are one transaction (all or nothing); beyond, the rest follow in further
// transactions and the marker is marked complete last, so a repeat after a failure
// writes what is missing.
func (s *Store) RecordSignIn(ctx context.Context, in SignIn, event func(SignIn) audit.Event) (SignIn, bool, error) {
	if in.UserID == "" || in.SessionID == "" {
		return SignIn{}, false, fmt.Errorf("record sign-in: user and session are required")
	}
	rec, err := s.getSignIn(ctx, in.UserID, in.SessionID)
	switch {
	case err == nil && rec.Complete:
		return rec, false, nil
	case err == nil:
		return s.finishSignIn(ctx, rec, event)
	case !errors.Is(err, ErrNotFound):
		return SignIn{}, false, err
	}
	orgs, err := s.memberOrganizationIDs(ctx, in.UserID)
	if err != nil {
		return SignIn{}, false, err
	}
	in.SignedInAt = s.now()
	in.Organizations = len(orgs)
	if in.Client == nil && in.ClientOf != nil {
		in.Client = in.ClientOf(in.UserAgent)
	}
	// The first transaction holds the marker, each organization's chained event (with
	// its copies and chain head), and room for the request's idempotency record
	// (store.transact adds it).
	first := min(len(orgs), (maxTransactItems-2)/signInItemsPerOrganization)
	in.Complete = first == len(orgs)
	if !in.Complete {
		in.FirstOrganizations = orgs[:first]
	}
	marker, err := s.signInPut(in)
	if err != nil {
		return SignIn{}, false, err
	}
	events := signInEvents(in, orgs[:first], event)
	if err := s.transact(ctx, []types.TransactWriteItem{marker}, events...); err != nil {
		var te *TxError
		if errors.As(err, &te) && te.anyConditionFailed() {
			// A concurrent call of the same session wrote the marker first (engines
			// need not say which item failed: the marker tells).
			if rec, gerr := s.getSignIn(ctx, in.UserID, in.SessionID); gerr == nil {
				return rec, false, nil
			}
		}
		return SignIn{}, false, fmt.Errorf("record sign-in: %w", err)
	}
	if in.Complete {
		return in, true, nil
	}
	return s.finishSignIn(ctx, in, event)
}

// finishSignIn writes the sign-in events a recording has not written yet, in the
// organizations the user is a member of now, then marks the marker complete. Each
// organization's event beyond the first transaction is written with a marker of its
// own (USER#<userId>, SIGNIN#<sessionId>#ORG#<orgId>) under attribute_not_exists, so a
// repeat skips those written already (the event's key cannot tell: its time follows
// its organization's chain).
func (s *Store) finishSignIn(ctx context.Context, rec SignIn, event func(SignIn) audit.Event) (SignIn, bool, error) {
	orgs, err := s.memberOrganizationIDs(ctx, rec.UserID)
	if err != nil {
		return SignIn{}, false, err
	}
	first := map[string]bool{}
	for _, id := range rec.FirstOrganizations {
		first[id] = true
	}
	var rest []string
	for _, id := range orgs {
		if !first[id] {
			rest = append(rest, id)
		}
	}
	for _, ev := range signInEvents(rec, rest, event) {
		marker, err := item(map[string]string{"organizationId": ev.OrganizationID}, "SignInOrganization", userPK(rec.UserID),
			prefixSignIn+rec.SessionID+"#ORG#"+ev.OrganizationID,
			map[string]types.AttributeValue{AttrTTL: num(rec.SignedInAt.Add(sessionRetention).Unix())})
		if err != nil {
			return SignIn{}, false, err
		}
		err = s.transact(ctx, []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: marker,
			ConditionExpression: aws.String("attribute_not_exists(PK)")}}}, ev)
		var te *TxError
		if err != nil && !(errors.As(err, &te) && te.ConditionFailed(0)) {
			return SignIn{}, false, fmt.Errorf("record sign-in in organization %s: %w", ev.OrganizationID, err)
		}
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(userPK(rec.UserID), prefixSignIn+rec.SessionID),
		UpdateExpression:          aws.String("SET complete = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}},
	})
	if err != nil {
		return SignIn{}, false, fmt.Errorf("complete sign-in of session %s: %w", rec.SessionID, err)
	}
	rec.Complete = true
	return rec, true, nil
}

// signInItemsPerOrganization is what one organization's sign-in event adds to a
// transaction: the event, its user-target copy, the chain head and, for an
// organization without a chain yet, its checkpoint.
const signInItemsPerOrganization = 4

func signInEvents(rec SignIn, orgs []string, event func(SignIn) audit.Event) []*audit.Event {
	out := make([]*audit.Event, 0, len(orgs))
	for _, orgID := range orgs {
		ev := event(rec)
		ev.OrganizationID = orgID
		ev.ID = signInEventID(orgID, rec.SessionID)
		ev.At = rec.SignedInAt
		out = append(out, &ev)
	}
	return out
}

// signInPut writes the marker of a session's sign-in, if there is none. It expires
// with the session items (sessionRetention), well after the refresh token that keeps a
// session going (template.yaml's RefreshTokenValidity).
func (s *Store) signInPut(rec SignIn) (types.TransactWriteItem, error) {
	m, err := item(rec, "SignIn", userPK(rec.UserID), prefixSignIn+rec.SessionID,
		map[string]types.AttributeValue{AttrTTL: num(rec.SignedInAt.Add(sessionRetention).Unix())})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}, nil
}

// getSignIn reads a session's sign-in marker. Errors: ErrNotFound.
func (s *Store) getSignIn(ctx context.Context, userID, sessionID string) (SignIn, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(userPK(userID), prefixSignIn+sessionID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return SignIn{}, fmt.Errorf("get sign-in of session %s: %w", sessionID, err)
	}
	if out.Item == nil || expired(out.Item, s.now()) {
		return SignIn{}, ErrNotFound
	}
	var rec SignIn
	return rec, decode(out.Item, &rec)
}

// RecordAuthentication writes ev, a copy in each organization user userID is a member
// of (each with its own id), and returns how many it wrote: Cognito's Post
// Authentication trigger records every authentication. The copies go in transactions
// of up to maxTransactItems/signInItemsPerOrganization events; when one fails, those before it stay written.
func (s *Store) RecordAuthentication(ctx context.Context, userID string, ev audit.Event) (int, error) {
	orgs, err := s.memberOrganizationIDs(ctx, userID)
	if err != nil {
		return 0, err
	}
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	written := 0
	per := maxTransactItems / signInItemsPerOrganization
	for start := 0; start < len(orgs); start += per {
		chunk := orgs[start:min(start+per, len(orgs))]
		events := make([]*audit.Event, 0, len(chunk))
		for _, orgID := range chunk {
			c := ev
			c.OrganizationID, c.ID = orgID, ""
			events = append(events, &c)
		}
		if err := s.transact(ctx, nil, events...); err != nil {
			return written, fmt.Errorf("record authentication of %s in %d organizations: %w", userID, len(chunk), err)
		}
		written += len(chunk)
	}
	return written, nil
}

// memberOrganizationIDs lists, through every page, the organizations user userID is a
// member of (GSI1: USER#<userId>, MEMBER#...).
func (s *Store) memberOrganizationIDs(ctx context.Context, userID string) ([]string, error) {
	var out []string
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), IndexName: aws.String(IndexGSI1),
			KeyConditionExpression: aws.String("GSI1PK = :pk AND begins_with(GSI1SK, :m)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(userPK(userID)), ":m": str(prefixMember),
			},
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("list organizations of %s: %w", userID, err)
		}
		for _, it := range page.Items {
			var m struct {
				OrganizationID string `json:"organizationId"`
			}
			if err := decode(it, &m); err != nil {
				return nil, err
			}
			out = append(out, m.OrganizationID)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}
