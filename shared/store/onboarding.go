package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// skOnboarding is the organization's onboarding item ("ORG#<org>" / "ONBOARDING"): the
// steps someone marked complete, by step. The derived statuses are computed on read.
const skOnboarding = "ONBOARDING"

// OnboardingMarks reads the steps marked complete. An organization that marked none
// has none (no error).
func (s *Store) OnboardingMarks(ctx context.Context, orgID string) (map[string]domain.OnboardingMark, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key(orgPK(orgID), skOnboarding), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get onboarding of %s: %w", orgID, err)
	}
	marks := map[string]domain.OnboardingMark{}
	for _, step := range domain.OnboardingSteps() {
		state, sk := stepAttrs(step)
		if v, ok := out.Item[state].(*types.AttributeValueMemberS); !ok || v.Value != domain.StepComplete {
			continue
		}
		var m domain.OnboardingMark
		if v, ok := out.Item[sk+"At"].(*types.AttributeValueMemberS); ok {
			m.CompletedAt, _ = time.Parse(time.RFC3339Nano, v.Value)
		}
		if v, ok := out.Item[sk+"By"].(*types.AttributeValueMemberS); ok {
			m.CompletedBy = v.Value
		}
		marks[step] = m
	}
	return marks, nil
}

// stepAttrs are the attributes of the onboarding item that hold a step's state
// ("complete" while marked, "open" once reopened) and the prefix of its mark's (…At,
// …By). A reopened step is set to "open" rather than removed, and the mark is flat
// strings, not a map: plain SETs of scalars behave the same on every engine (the
// embedded one stored a map set by UpdateItem as a value later Queries failed on).
func stepAttrs(step string) (state, mark string) {
	n := strings.ReplaceAll(step, "-", "")
	return "state" + n, "mark" + n
}

// MarkOnboardingStep marks step complete (mark not nil) or reopens it (nil), with the
// audit event, in one transaction, given whether it was marked when read (wasMarked).
// It reports false, writing nothing, when the step already is in that state. The
// writes carry no condition: the embedded engine mis-stored items that a conditioned
// UpdateItem of a transaction wrote (later Queries of the partition failed), and a mark
// is idempotent; two concurrent marks may both be audited.
func (s *Store) MarkOnboardingStep(ctx context.Context, orgID, step string, wasMarked bool, mark *domain.OnboardingMark, ev audit.Event) (bool, error) {
	if orgID == "" {
		return false, ErrNoOrganization
	}
	if wasMarked == (mark != nil) {
		return false, nil
	}
	state, markName := stepAttrs(step)
	names := map[string]string{"#s": state}
	var upd types.Update
	if mark != nil {
		names["#a"], names["#b"] = markName+"At", markName+"By"
		upd = types.Update{UpdateExpression: aws.String("SET #s = :done, #a = :at, #b = :by"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":done": str(domain.StepComplete),
				":at": str(mark.CompletedAt.UTC().Format(time.RFC3339Nano)), ":by": str(mark.CompletedBy)}}
	} else {
		upd = types.Update{UpdateExpression: aws.String("SET #s = :open"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":open": str("open")}}
	}
	upd.TableName, upd.Key, upd.ExpressionAttributeNames = aws.String(s.table), key(orgPK(orgID), skOnboarding), names
	ev.OrganizationID = orgID
	err := s.transact(ctx, []types.TransactWriteItem{{Update: &upd}}, &ev)
	if err != nil {
		return false, fmt.Errorf("mark onboarding step %s of %s: %w", step, orgID, err)
	}
	return true, nil
}

// HasPendingInvitations reports whether the organization has an invitation that still
// waits for its invitee (pending or email-failed, and not expired): a Query of its
// invitations, page by page until one is found. Accepted and revoked invitations are
// deleted; expired ones stay until tidied, and do not count.
func (s *Store) HasPendingInvitations(ctx context.Context, orgID string) (bool, error) {
	if orgID == "" {
		return false, ErrNoOrganization
	}
	now := s.now()
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :i)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(orgPK(orgID)), ":i": str(prefixInvitation)},
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return false, fmt.Errorf("invitations of %s: %w", orgID, err)
		}
		for _, it := range out.Items {
			var inv domain.Invitation
			if err := decode(it, &inv); err != nil {
				return false, err
			}
			if pendingInvitation(inv) && !inv.Expired(now) {
				return true, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return false, nil
		}
		start = out.LastEvaluatedKey
	}
}

// ConnectionState is what the onboarding checklist reads of a connection.
type ConnectionState struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// ConnectionStates lists the type and status of every connection of the organization:
// a Query of its connections partition projecting those two attributes, page by page
// (an organization holds at most its plan's connections).
func (s *Store) ConnectionStates(ctx context.Context, orgID string) ([]ConnectionState, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	var out []ConnectionState
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :c)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(connectionsPK(orgID)), ":c": str(prefixConnection)},
			ProjectionExpression:      aws.String("#t, #s"), ExpressionAttributeNames: map[string]string{"#t": "type", "#s": "status"},
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("connections of %s: %w", orgID, err)
		}
		for _, it := range page.Items {
			var c ConnectionState
			if err := decode(it, &c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}
