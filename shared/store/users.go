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
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Session is one sign-in's last activity.
type Session struct {
	UserID     string    `json:"userId"`
	SessionID  string    `json:"sessionId"`
	LastSeenAt time.Time `json:"lastSeenAt"`
}

// sessionRetention keeps a session item well past any timeout an organization can set.
const sessionRetention = 30 * 24 * time.Hour

// LookupIdentity returns the user id a Cognito identity (its sub) maps to.
// Errors: ErrNotFound when the identity has not signed in before.
func (s *Store) LookupIdentity(ctx context.Context, subject string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(prefixIdentity+subject, skIdentity),
	})
	if err != nil {
		return "", fmt.Errorf("get identity %s: %w", subject, err)
	}
	if out.Item == nil {
		return "", ErrNotFound
	}
	var rec struct {
		UserID string `json:"userId"`
	}
	if err := decode(out.Item, &rec); err != nil {
		return "", err
	}
	return rec.UserID, nil
}

// GetUser returns a user. Errors: ErrNotFound.
func (s *Store) GetUser(ctx context.Context, userID string) (domain.User, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(userPK(userID), skUser)})
	if err != nil {
		return domain.User{}, fmt.Errorf("get user %s: %w", userID, err)
	}
	if out.Item == nil {
		return domain.User{}, ErrNotFound
	}
	var u domain.User
	return u, decode(out.Item, &u)
}

// SignUpInput is what a first sign-in knows.
type SignUpInput struct {
	Subject string
	Email   string
	Name    string
	// DefaultOrganization is created, with the user as Owner, when the email is new.
	DefaultOrganization domain.Organization
}

// SignUp maps a new identity to its user: the existing user with that verified email,
// or a new user with a default organization. Uniqueness of the email and identity is
// enforced by conditions in one transaction; a concurrent first sign-in makes one of
// the two fail, and the caller looks the identity up again.
// Errors: ErrIdentityTaken when the identity was mapped concurrently.
func (s *Store) SignUp(ctx context.Context, in SignUpInput) (domain.User, error) {
	email := domain.NormalizeEmail(in.Email)
	now := s.now()
	existing, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(prefixEmail+email, skEmail)})
	if err != nil {
		return domain.User{}, fmt.Errorf("get email: %w", err)
	}
	identityPut := func(userID string) (types.TransactWriteItem, error) {
		m, err := item(map[string]string{"userId": userID, "email": email}, "Identity", prefixIdentity+in.Subject, skIdentity, nil)
		return types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.table), Item: m, ConditionExpression: aws.String("attribute_not_exists(PK)"),
		}}, err
	}
	if existing.Item != nil {
		var rec struct {
			UserID string `json:"userId"`
		}
		if err := decode(existing.Item, &rec); err != nil {
			return domain.User{}, err
		}
		put, err := identityPut(rec.UserID)
		if err != nil {
			return domain.User{}, err
		}
		if err := s.transact(ctx, []types.TransactWriteItem{put}); err != nil {
			return domain.User{}, mapSignUpErr(err)
		}
		return s.GetUser(ctx, rec.UserID)
	}

	org := in.DefaultOrganization
	user := domain.User{ID: domain.NewID(), Email: email, Name: in.Name, ActiveOrganizationID: org.ID, CreatedAt: now}
	if org.ID == "" {
		return user, s.signUpAlone(ctx, user, identityPut)
	}
	org.OwnerUserID = user.ID
	member := domain.Membership{
		OrganizationID: org.ID, UserID: user.ID, Email: email, Name: in.Name,
		Role: permission.Owner, TenantScope: domain.AllTenantsScope(), JoinedAt: now, Version: 1,
	}
	userItem, err := item(user, "User", userPK(user.ID), skUser, map[string]types.AttributeValue{AttrVersion: num(1)})
	if err != nil {
		return domain.User{}, err
	}
	emailItem, err := item(map[string]string{"userId": user.ID}, "Email", prefixEmail+email, skEmail, nil)
	if err != nil {
		return domain.User{}, err
	}
	idPut, err := identityPut(user.ID)
	if err != nil {
		return domain.User{}, err
	}
	orgItems, err := s.organizationItems(org, member)
	if err != nil {
		return domain.User{}, err
	}
	items := []types.TransactWriteItem{
		idPut,
		{Put: &types.Put{TableName: aws.String(s.table), Item: emailItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: userItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}
	items = append(items, orgItems...)
	ev := audit.Event{
		OrganizationID: org.ID, Actor: audit.Actor{UserID: user.ID, Email: email},
		Category: audit.Settings, Action: "organization.create",
		Summary: fmt.Sprintf("created organization %q on first sign-in", org.Name),
		Targets: audit.Targets{UserIDs: []string{user.ID}},
	}
	origin := audit.OriginFrom(ctx)
	ev.SourceIP, ev.UserAgent = origin.SourceIP, origin.UserAgent
	if err := s.transact(ctx, items, &ev); err != nil {
		return domain.User{}, mapSignUpErr(err)
	}
	return user, nil
}

// signUpAlone creates a user with no organization of their own: a company user whose
// first sign-in comes through a portal invitation (they use the client portal, not an
// MSP's console). Nothing of any organization changes, so no audit event is written.
func (s *Store) signUpAlone(ctx context.Context, user domain.User, identityPut func(string) (types.TransactWriteItem, error)) error {
	userItem, err := item(user, "User", userPK(user.ID), skUser, map[string]types.AttributeValue{AttrVersion: num(1)})
	if err != nil {
		return err
	}
	emailItem, err := item(map[string]string{"userId": user.ID}, "Email", prefixEmail+user.Email, skEmail, nil)
	if err != nil {
		return err
	}
	idPut, err := identityPut(user.ID)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		idPut,
		{Put: &types.Put{TableName: aws.String(s.table), Item: emailItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: userItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	})
	if err != nil {
		return mapSignUpErr(err)
	}
	return nil
}

// ErrIdentityTaken: a concurrent first sign-in won; look the identity up again.
var ErrIdentityTaken = errors.New("identity or email mapped concurrently")

func mapSignUpErr(err error) error {
	var te *TxError
	if errors.As(err, &te) {
		for i := range te.Reasons {
			if te.ConditionFailed(i) {
				return ErrIdentityTaken
			}
		}
	}
	return fmt.Errorf("sign up: %w", err)
}

// SetActiveOrganization remembers the organization a user works in.
func (s *Store) SetActiveOrganization(ctx context.Context, userID, orgID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(userPK(userID), skUser),
		UpdateExpression:          aws.String("SET activeOrganizationId = :o ADD version :one"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(orgID), ":one": num(1)},
	})
	if err != nil {
		if isConditionFailed(err) {
			return ErrNotFound
		}
		return fmt.Errorf("set active organization of %s: %w", userID, err)
	}
	return nil
}

// TouchSession records a session's activity at now, at most once per interval: the
// write is conditioned so concurrent requests write it once. It reports whether this
// call wrote; when it did not, another write within the interval did.
func (s *Store) TouchSession(ctx context.Context, userID, sessionID string, now time.Time, interval time.Duration) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(userPK(userID), prefixSession+sessionID),
		UpdateExpression:    aws.String("SET lastSeenAt = :now, lastSeenUnix = :nowUnix, userId = :u, sessionId = :s, itemType = :t, expiresAt = :exp"),
		ConditionExpression: aws.String("attribute_not_exists(lastSeenUnix) OR lastSeenUnix <= :stale"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": str(now.UTC().Format(time.RFC3339Nano)), ":nowUnix": num(now.Unix()),
			":u": str(userID), ":s": str(sessionID), ":t": str("Session"),
			":exp": num(now.Add(sessionRetention).Unix()), ":stale": num(now.Add(-interval).Unix()),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("touch session: %w", err)
	}
	return true, nil
}

// LastSeen is the session's last recorded activity, zero when none.
func (a Access) LastSeen() time.Time {
	if a.Session == nil {
		return time.Time{}
	}
	return a.Session.LastSeenAt
}

// CreateUser writes a user and claims their email, for seeds and tests; the user's
// identities map to it on their first sign-in. Errors: a 409 problem when the email or
// id is taken.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	u.Email = domain.NormalizeEmail(u.Email)
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	userItem, err := item(u, "User", userPK(u.ID), skUser, map[string]types.AttributeValue{AttrVersion: num(1)})
	if err != nil {
		return err
	}
	emailItem, err := item(map[string]string{"userId": u.ID}, "Email", prefixEmail+u.Email, skEmail, nil)
	if err != nil {
		return err
	}
	cond := aws.String("attribute_not_exists(PK)")
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: userItem, ConditionExpression: cond}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: emailItem, ConditionExpression: cond}},
	})
	var te *TxError
	if errors.As(err, &te) {
		return problem.Conflictf("user-exists", "a user with email %s already exists", u.Email)
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Email, err)
	}
	return nil
}
