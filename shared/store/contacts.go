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

// Contacts: PK customer partition, SK "CONTACT#<id>"; GSI1 "…#CUSTOMER#<id>#CONTACTS" /
// "<escalation order, 4 digits>#<id>", so the list is in escalation order and moving a
// contact in the order rewrites only its own item.

func contactOrderSK(c domain.Contact) string { return fmt.Sprintf("%04d#%s", c.EscalationOrder, c.ID) }

func (s *Store) contactItem(orgID string, c domain.Contact) (map[string]types.AttributeValue, error) {
	return item(c, "Contact", customerPK(orgID, c.CustomerID), prefixContact+c.ID, map[string]types.AttributeValue{
		AttrGSI1PK: str(customerIndexPK(orgID, c.CustomerID, "CONTACTS")), AttrGSI1SK: str(contactOrderSK(c)),
	})
}

// CreateContact writes a new contact of customer c.CustomerID, moves the customer's
// contact count and writes the audit event, in one transaction. Errors: ErrNotFound
// when the customer does not exist.
func (s *Store) CreateContact(ctx context.Context, orgID string, c domain.Contact, ev audit.Event) error {
	c.Version = 1
	it, err := s.contactItem(orgID, c)
	if err != nil {
		return err
	}
	return s.createDetail(ctx, orgID, c.CustomerID, "contact", c.ID, it, map[string]int64{counterContacts: 1}, ev)
}

// GetContact reads one contact of a customer. Errors: ErrNotFound.
func (s *Store) GetContact(ctx context.Context, orgID, customerID, contactID string) (domain.Contact, error) {
	return getDetail[domain.Contact](ctx, s, orgID, customerID, "contact", prefixContact, contactID)
}

// ListContacts returns one page of a customer's contacts in escalation order (then by id).
func (s *Store) ListContacts(ctx context.Context, orgID, customerID string, page Page) ([]domain.Contact, string, error) {
	return listDetail[domain.Contact](ctx, s, orgID, customerID, "contacts", IndexGSI1, customerIndexPK(orgID, customerID, "CONTACTS"), true, page)
}

// LastEscalationOrder is the highest escalation order among a customer's contacts, 0
// when it has none.
func (s *Store) LastEscalationOrder(ctx context.Context, orgID, customerID string) (int, error) {
	if orgID == "" {
		return 0, ErrNoOrganization
	}
	items, _, err := s.queryIndexPage(ctx, IndexGSI1, customerIndexPK(orgID, customerID, "CONTACTS"), false, Page{Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("last contact of %s: %w", customerID, err)
	}
	if len(items) == 0 {
		return 0, nil
	}
	var c domain.Contact
	if err := decode(items[0], &c); err != nil {
		return 0, err
	}
	return c.EscalationOrder, nil
}

// UpdateContactFrom writes a contact as change leaves it, conditioned on the version
// read, with the audit event, in one transaction. Errors: a stale-version 409;
// ErrNotFound when the contact was deleted meanwhile.
func (s *Store) UpdateContactFrom(ctx context.Context, orgID string, cur domain.Contact, expected *int64,
	change func(*domain.Contact) (audit.Event, error)) (domain.Contact, error) {
	if orgID == "" {
		return domain.Contact{}, ErrNoOrganization
	}
	if expected != nil && *expected != cur.Version {
		return domain.Contact{}, problem.StaleVersion("the contact")
	}
	next := cur
	ev, err := change(&next)
	if err != nil {
		return domain.Contact{}, err
	}
	next.ID, next.CustomerID, next.CreatedAt, next.Version, next.UpdatedAt = cur.ID, cur.CustomerID, cur.CreatedAt, cur.Version+1, s.now()
	it, err := s.contactItem(orgID, next)
	if err != nil {
		return domain.Contact{}, err
	}
	ev.OrganizationID = orgID
	err = s.transact(ctx, []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_exists(PK) AND version = :read"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version)}}}}, &ev)
	var te *TxError
	if errors.As(err, &te) && te.ConditionFailed(0) {
		if _, gerr := s.GetContact(ctx, orgID, cur.CustomerID, cur.ID); errors.Is(gerr, ErrNotFound) {
			return domain.Contact{}, ErrNotFound
		}
		return domain.Contact{}, problem.StaleVersion("the contact")
	}
	if err != nil {
		return domain.Contact{}, fmt.Errorf("update contact %s: %w", cur.ID, err)
	}
	return next, nil
}

// DeleteContact deletes a contact, moves the customer's contact count and writes the
// audit event, in one transaction. Errors: ErrNotFound.
func (s *Store) DeleteContact(ctx context.Context, orgID, customerID, contactID string, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	ev.OrganizationID = orgID
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), prefixContact+contactID),
			ConditionExpression: aws.String("attribute_exists(PK)")}},
		s.detailCounters(orgID, customerID, map[string]int64{counterContacts: -1}),
	}, &ev)
	var te *TxError
	if errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(1)) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete contact %s: %w", contactID, err)
	}
	return nil
}
