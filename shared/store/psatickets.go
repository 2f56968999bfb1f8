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
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// A ticket filed in a PSA has a reference item beside it in its customer's partition
// (SK "PSATICKET#<ticketId>"), written in every transaction that writes the ticket:
//   - it sits in GSI1's system partition PSA-TICKET-DUE, sorted by
//     "<nextAttemptAt>#<org>#<ticketId>" while a push is pending (after every time once
//     synced): the psa-ticket-sync schedule finds its queue with one Query, never a Scan;
//   - once the PSA's ticket id is known it sits in GSI2 under the organization's
//     partition "PSA-TICKET#<connectionId>", sorted by that id: a status read back from
//     the PSA finds its ticket with one Query. Until then it sits in the same partition
//     under "~pending#<ticketId>", so the ticket pull finds the creates whose answer is
//     still to come and never imports their ticket as one made in the PSA.
//
// Being in the customer's partition, it moves with the ticket when customers merge
// (MoveCustomerItems), and neither index key names the customer.
//
// Each organization's PSA connection with tickets has a pull cursor (partition
// "PSA-TICKET-SYNC", SK the connection id), in GSI1's system partition
// PSA-TICKET-PULL-DUE by its next pull.
const (
	prefixPSATicket    = "PSATICKET#"
	psaTicketDuePK     = "PSA-TICKET-DUE"
	psaTicketPullDuePK = "PSA-TICKET-PULL-DUE"
	// psaPendingPrefix sorts a ticket the PSA has not made (yet) apart from the PSA's ids.
	psaPendingPrefix = "~pending#"
	// psaNeverDue sorts after every RFC 3339 time.
	psaNeverDue = "9999-12-31T23:59:59Z"
)

func psaTicketIndexPK(orgID, connectionID string) string {
	return orgPartition(orgID, "PSA-TICKET#"+connectionID)
}
func psaTicketPullPK(orgID string) string { return orgPartition(orgID, "PSA-TICKET-SYNC") }

// PSATicketRef is the reference item of a ticket filed in a PSA: enough to find the
// ticket from the queue or from the PSA's ticket id.
type PSATicketRef struct {
	OrganizationID string `json:"organizationId"`
	CustomerID     string `json:"customerId"`
	TicketID       string `json:"ticketId"`
	ConnectionID   string `json:"connectionId"`
	PSATicketID    string `json:"psaTicketId,omitempty"`
}

// psaTicketWrites are the writes that go with a ticket filed in a PSA: its reference
// item.
func (s *Store) psaTicketWrites(orgID string, t domain.Ticket) ([]types.TransactWriteItem, error) {
	p := t.PSA
	if p == nil {
		return nil, nil
	}
	// A synced ticket's reference stays in the due partition, sorted after any time
	// the Query asks for: an item never leaves an index, which the embedded engine's
	// index upkeep needs (docs/decisions.md, "PSA tickets").
	due := psaNeverDue
	if p.Pending() {
		due = s.now().UTC().Format(time.RFC3339)
		if p.NextAttemptAt != nil {
			due = p.NextAttemptAt.UTC().Format(time.RFC3339)
		}
	}
	extra := map[string]types.AttributeValue{AttrGSI1PK: str(psaTicketDuePK), AttrGSI1SK: str(due + "#" + orgID + "#" + t.ID)}
	extra[AttrGSI2PK], extra[AttrGSI2SK] = str(psaTicketIndexPK(orgID, p.ConnectionID)), str(psaPendingPrefix+t.ID)
	if p.TicketID != "" {
		extra[AttrGSI2SK] = str(p.TicketID)
	}
	ref := PSATicketRef{OrganizationID: orgID, CustomerID: t.CustomerID, TicketID: t.ID, ConnectionID: p.ConnectionID, PSATicketID: p.TicketID}
	it, err := item(ref, "PSATicketRef", customerPK(orgID, t.CustomerID), prefixPSATicket+t.ID, extra)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it}}}, nil
}

// SystemDuePSATickets reads one page of the tickets whose PSA push is due at now,
// across organizations (system scope: the psa-ticket-sync schedule).
func (s *Store) SystemDuePSATickets(ctx context.Context, now time.Time, page Page) ([]PSATicketRef, string, error) {
	refs, next, err := systemDue[PSATicketRef](ctx, s, psaTicketDuePK, now, page)
	if err != nil {
		return nil, "", fmt.Errorf("list due PSA tickets: %w", err)
	}
	return refs, next, nil
}

// FindPSATicket finds the ticket filed as psaTicketID on a PSA connection. Errors:
// ErrNotFound (a ticket made in the PSA, not here).
func (s *Store) FindPSATicket(ctx context.Context, orgID, connectionID, psaTicketID string) (PSATicketRef, error) {
	if orgID == "" {
		return PSATicketRef{}, ErrNoOrganization
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(IndexGSI2),
		KeyConditionExpression: aws.String("GSI2PK = :pk AND GSI2SK = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(psaTicketIndexPK(orgID, connectionID)), ":id": str(psaTicketID)},
		Limit: aws.Int32(1)})
	if err != nil {
		return PSATicketRef{}, fmt.Errorf("find PSA ticket %s: %w", psaTicketID, err)
	}
	if len(out.Items) == 0 {
		return PSATicketRef{}, ErrNotFound
	}
	var ref PSATicketRef
	return ref, decode(out.Items[0], &ref)
}

// PendingPSATickets lists the tickets filed on a PSA connection whose PSA id is not
// known yet (queued, or created without an answer), at most limit of them.
func (s *Store) PendingPSATickets(ctx context.Context, orgID, connectionID string, limit int) ([]PSATicketRef, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(IndexGSI2),
		KeyConditionExpression: aws.String("GSI2PK = :pk AND begins_with(GSI2SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(psaTicketIndexPK(orgID, connectionID)), ":p": str(psaPendingPrefix)},
		Limit: aws.Int32(int32(limit))})
	if err != nil {
		return nil, fmt.Errorf("list the pending PSA tickets of %s: %w", connectionID, err)
	}
	refs := make([]PSATicketRef, 0, len(out.Items))
	for _, it := range out.Items {
		var ref PSATicketRef
		if err := decode(it, &ref); err != nil {
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// skPSATicketSettings is the ticket settings item in a PSA connection's sync partition.
const skPSATicketSettings = "TICKETS"

// PSATicketSettings reads a PSA connection's ticket settings as stored: version 0 and
// no maps when never set.
func (s *Store) PSATicketSettings(ctx context.Context, orgID, connectionID string) (domain.PSATicketSettings, error) {
	out := domain.PSATicketSettings{ConnectionID: connectionID}
	if orgID == "" {
		return out, ErrNoOrganization
	}
	got, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(psaSyncPK(orgID, connectionID), skPSATicketSettings), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return out, fmt.Errorf("read the ticket settings of connection %s: %w", connectionID, err)
	}
	if got.Item == nil {
		return out, nil
	}
	return out, decode(got.Item, &out)
}

// PutPSATicketSettings writes a connection's ticket settings conditioned on the
// version read (st.Version, 0 when none), with its audit event, and answers them with
// their new version. Errors: a stale-version 409.
func (s *Store) PutPSATicketSettings(ctx context.Context, orgID string, st domain.PSATicketSettings, ev audit.Event) (domain.PSATicketSettings, error) {
	if orgID == "" {
		return st, ErrNoOrganization
	}
	read := st.Version
	st.Version++
	now := s.now()
	st.UpdatedAt = &now
	it, err := item(st, "PSATicketSettings", psaSyncPK(orgID, st.ConnectionID), skPSATicketSettings, nil)
	if err != nil {
		return st, err
	}
	ev.OrganizationID = orgID
	err = s.transact(ctx, []types.TransactWriteItem{{Put: s.versionedPut(it, read)}}, &ev)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return st, problem.StaleVersion("the ticket settings")
	case err != nil:
		return st, fmt.Errorf("write the ticket settings of connection %s: %w", st.ConnectionID, err)
	}
	return st, nil
}

// versionedPut writes it when its version is still read (0: when it does not exist).
func (s *Store) versionedPut(it map[string]types.AttributeValue, read int64) *types.Put {
	put := &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)")}
	if read > 0 {
		put.ConditionExpression = aws.String("version = :read")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":read": num(read)}
	}
	return put
}

// DeletePSATicketRef removes the reference item of a ticket that no longer exists
// (its customer was deleted), so the queue forgets it.
func (s *Store) DeletePSATicketRef(ctx context.Context, orgID, customerID, ticketID string) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), prefixPSATicket+ticketID)})
	if err != nil {
		return fmt.Errorf("delete PSA reference of ticket %s: %w", ticketID, err)
	}
	return nil
}

// PSATicketPull is where the status pull of one PSA connection stands: tickets changed
// in the PSA at or after Since, from page Cursor ("" for the first).
type PSATicketPull struct {
	OrganizationID string    `json:"organizationId"`
	ConnectionID   string    `json:"connectionId"`
	Since          time.Time `json:"since"`
	Cursor         string    `json:"cursor,omitempty"`
	NextPullAt     time.Time `json:"nextPullAt"`
}

// SystemDuePSATicketPulls reads one page of the PSA connections whose ticket status
// pull is due at now, across organizations (system scope).
func (s *Store) SystemDuePSATicketPulls(ctx context.Context, now time.Time, page Page) ([]PSATicketPull, string, error) {
	pulls, next, err := systemDue[PSATicketPull](ctx, s, psaTicketPullDuePK, now, page)
	if err != nil {
		return nil, "", fmt.Errorf("list due PSA ticket pulls: %w", err)
	}
	return pulls, next, nil
}

// EnsurePSATicketPull starts the status pull of a connection that now has a ticket
// filed, reading from since and due now, unless it has one already (whose cursor
// stands). A Put rather than an Update, so every engine indexes it.
func (s *Store) EnsurePSATicketPull(ctx context.Context, orgID, connectionID string, since, now time.Time) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	p := PSATicketPull{OrganizationID: orgID, ConnectionID: connectionID, Since: since, NextPullAt: now}
	it, err := s.pullItem(p)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("start the PSA ticket pull of %s: %w", connectionID, err)
	}
	return nil
}

func (s *Store) pullItem(p PSATicketPull) (map[string]types.AttributeValue, error) {
	return item(p, "PSATicketPull", psaTicketPullPK(p.OrganizationID), p.ConnectionID, map[string]types.AttributeValue{
		AttrGSI1PK: str(psaTicketPullDuePK),
		AttrGSI1SK: str(p.NextPullAt.UTC().Format(time.RFC3339) + "#" + p.OrganizationID + "#" + p.ConnectionID)})
}

// SavePSATicketPull writes a pull's cursor and next time, or removes it when remove
// (its connection was deleted).
func (s *Store) SavePSATicketPull(ctx context.Context, p PSATicketPull, remove bool) error {
	if p.OrganizationID == "" {
		return ErrNoOrganization
	}
	k := key(psaTicketPullPK(p.OrganizationID), p.ConnectionID)
	if remove {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: k}); err != nil {
			return fmt.Errorf("delete PSA ticket pull of %s: %w", p.ConnectionID, err)
		}
		return nil
	}
	it, err := s.pullItem(p)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("save PSA ticket pull of %s: %w", p.ConnectionID, err)
	}
	return nil
}

// RecordTicketPSA writes what a push or a pull learned of a ticket (change sets its
// PSA state, and the status a pull brought), conditioned on the version read; the
// PSA's ticket id is thereby recorded in the same write that learned it. ev, when not
// nil, is written in the same transaction. Errors: a stale-version 409 or ErrNotFound
// when the ticket changed or went meanwhile (read it again and repeat).
func (s *Store) RecordTicketPSA(ctx context.Context, orgID string, cur domain.Ticket, change func(*domain.Ticket) *audit.Event) (domain.Ticket, error) {
	var ev *audit.Event
	next, err := s.UpdateTicketFrom(ctx, orgID, cur, nil, func(t *domain.Ticket) (audit.Event, error) {
		ev = change(t)
		if ev == nil {
			return audit.Event{}, errNoEvent
		}
		return *ev, nil
	})
	if errors.Is(err, errNoEvent) {
		return s.updateTicketQuietly(ctx, orgID, cur, change)
	}
	return next, err
}

var errNoEvent = errors.New("no audit event")

// updateTicketQuietly is RecordTicketPSA for bookkeeping that is no change of the
// ticket's own (an attempt, an error): no audit event, the same conditions.
func (s *Store) updateTicketQuietly(ctx context.Context, orgID string, cur domain.Ticket, change func(*domain.Ticket) *audit.Event) (domain.Ticket, error) {
	next := cur
	change(&next)
	next.Version, next.UpdatedAt = cur.Version+1, cur.UpdatedAt
	it, err := s.ticketItem(orgID, next)
	if err != nil {
		return domain.Ticket{}, err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_exists(PK) AND version = :read"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version)}}}}
	refs, err := s.psaTicketWrites(orgID, next)
	if err != nil {
		return domain.Ticket{}, err
	}
	err = s.transact(ctx, append(items, refs...))
	var te *TxError
	switch {
	case err == nil:
		return next, nil
	case errors.As(err, &te) && te.ConditionFailed(0):
		return domain.Ticket{}, ErrNotFound
	}
	return domain.Ticket{}, fmt.Errorf("record PSA state of ticket %s: %w", cur.ID, err)
}
