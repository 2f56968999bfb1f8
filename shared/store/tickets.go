package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Tickets: PK customer partition, SK "TICKET#<id>"; GSI1 "…#CUSTOMER#<id>#TICKETS" and
// GSI2 "…#CUSTOMER#<id>#TICKETS#<status>", both sorted by "<created>#<id>", so the list,
// and the list of one status, is one Query newest first. A status change moves the
// ticket's GSI2 partition with the same Put.

func (s *Store) ticketItem(orgID string, t domain.Ticket) (map[string]types.AttributeValue, error) {
	sk := sortTime(t.CreatedAt) + "#" + t.ID
	return item(t, "Ticket", customerPK(orgID, t.CustomerID), prefixTicket+t.ID, map[string]types.AttributeValue{
		AttrGSI1PK: str(customerIndexPK(orgID, t.CustomerID, "TICKETS")), AttrGSI1SK: str(sk),
		AttrGSI2PK: str(customerIndexPK(orgID, t.CustomerID, "TICKETS#"+t.Status)), AttrGSI2SK: str(sk),
	})
}

func ticketDeltas(old, new *domain.Ticket) map[string]int64 {
	d := map[string]int64{}
	if old == nil {
		d[counterTickets] = 1
	}
	active := func(t *domain.Ticket) int64 {
		if t != nil && domain.TicketActive(t.Status) {
			return 1
		}
		return 0
	}
	if n := active(new) - active(old); n != 0 {
		d[counterOpenTickets] = n
	}
	return d
}

// CreateTicket writes a new ticket of customer t.CustomerID, moves the customer's ticket
// counts and writes the audit event (and, for a ticket filed in a PSA, its reference
// item: psatickets.go), in one transaction. Errors: ErrNotFound when the
// customer does not exist.
func (s *Store) CreateTicket(ctx context.Context, orgID string, t domain.Ticket, ev audit.Event) error {
	t.Version = 1
	it, err := s.ticketItem(orgID, t)
	if err != nil {
		return err
	}
	refs, err := s.psaTicketWrites(orgID, t)
	if err != nil {
		return err
	}
	return s.createDetail(ctx, orgID, t.CustomerID, "ticket", t.ID, it, ticketDeltas(nil, &t), ev, refs...)
}

// GetTicket reads one ticket of a customer. Errors: ErrNotFound.
func (s *Store) GetTicket(ctx context.Context, orgID, customerID, ticketID string) (domain.Ticket, error) {
	return getDetail[domain.Ticket](ctx, s, orgID, customerID, "ticket", prefixTicket, ticketID)
}

// ListTickets returns one page of a customer's tickets, newest first; only those in
// status when it is not empty.
func (s *Store) ListTickets(ctx context.Context, orgID, customerID, status string, page Page) ([]domain.Ticket, string, error) {
	index, pk := IndexGSI1, customerIndexPK(orgID, customerID, "TICKETS")
	if status != "" {
		index, pk = IndexGSI2, customerIndexPK(orgID, customerID, "TICKETS#"+status)
	}
	return listDetail[domain.Ticket](ctx, s, orgID, customerID, "tickets", index, pk, false, page)
}

// UpdateTicketFrom writes a ticket as change leaves it, conditioned on the version read;
// when it becomes active or inactive the customer's open count moves in the same
// transaction, with the audit event. Errors: a stale-version 409; ErrNotFound when the
// ticket or its customer was deleted meanwhile.
func (s *Store) UpdateTicketFrom(ctx context.Context, orgID string, cur domain.Ticket, expected *int64,
	change func(*domain.Ticket) (audit.Event, error)) (domain.Ticket, error) {
	if orgID == "" {
		return domain.Ticket{}, ErrNoOrganization
	}
	if expected != nil && *expected != cur.Version {
		return domain.Ticket{}, problem.StaleVersion("the ticket")
	}
	next := cur
	ev, err := change(&next)
	if err != nil {
		return domain.Ticket{}, err
	}
	now := s.now()
	next.ID, next.CustomerID, next.CreatedBy, next.CreatedAt = cur.ID, cur.CustomerID, cur.CreatedBy, cur.CreatedAt
	next.Version, next.UpdatedAt = cur.Version+1, now
	switch {
	case domain.TicketActive(next.Status):
		next.ResolvedAt = nil
	case domain.TicketActive(cur.Status) || cur.ResolvedAt == nil:
		next.ResolvedAt = &now
	}
	it, err := s.ticketItem(orgID, next)
	if err != nil {
		return domain.Ticket{}, err
	}
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_exists(PK) AND version = :read"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version)}}}}
	if d := ticketDeltas(&cur, &next); len(d) > 0 {
		items = append(items, s.detailCounters(orgID, cur.CustomerID, d))
	}
	refs, err := s.psaTicketWrites(orgID, next)
	if err != nil {
		return domain.Ticket{}, err
	}
	items = append(items, refs...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case err == nil:
		return next, nil
	case errors.As(err, &te) && te.ConditionFailed(0):
		if _, gerr := s.GetTicket(ctx, orgID, cur.CustomerID, cur.ID); errors.Is(gerr, ErrNotFound) {
			return domain.Ticket{}, ErrNotFound
		}
		return domain.Ticket{}, problem.StaleVersion("the ticket")
	case errors.As(err, &te) && te.ConditionFailed(1):
		return domain.Ticket{}, ErrNotFound
	}
	return domain.Ticket{}, fmt.Errorf("update ticket %s: %w", cur.ID, err)
}
