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

// The tabs of a customer's detail view keep their items in the customer's partition,
// outside the range GetCustomer reads ("C" … "C#TENANT#~"): contacts under "CONTACT#",
// tickets under "TICKET#", documents under "DOC#". Each kind is listed in its order
// through GSI1 (and tickets by status through GSI2), in index partitions named after the
// customer, so a list page is one Query. Their counts live on the customer item and move
// in the same transaction as the item, whose existence that update also checks.
const (
	prefixContact  = "CONTACT#"
	prefixTicket   = "TICKET#"
	prefixDocument = "DOC#"
)

// sortTime is the fixed-width form of a time in sort keys.
func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// customerIndexPK is the index partition of one kind of a customer's items.
func customerIndexPK(orgID, customerID, kind string) string {
	return orgPartition(orgID, "CUSTOMER#"+customerID+"#"+kind)
}

// DetailCounters are the counts the overview shows, kept on the customer item.
type DetailCounters struct {
	ContactCount    int64 `json:"contactCount"`
	DocumentCount   int64 `json:"documentCount"`
	TicketCount     int64 `json:"ticketCount"`
	OpenTicketCount int64 `json:"openTicketCount"`
	// CompanyUserCount counts the customer's company users (companyusers.go).
	CompanyUserCount int64 `json:"companyUserCount"`
}

// Counter attribute names on the customer item.
const (
	counterContacts    = "contactCount"
	counterDocuments   = "documentCount"
	counterTickets     = "ticketCount"
	counterOpenTickets = "openTicketCount"
)

// detailCounters is the Update that moves a customer's detail counters by deltas and
// fails (ErrNotFound at the caller) when the customer no longer exists.
func (s *Store) detailCounters(orgID, customerID string, deltas map[string]int64) types.TransactWriteItem {
	expr := ""
	vals := map[string]types.AttributeValue{}
	names := map[string]string{}
	i := 0
	for attr, d := range deltas {
		if expr != "" {
			expr += ", "
		}
		n, v := fmt.Sprintf("#c%d", i), fmt.Sprintf(":c%d", i)
		expr += n + " " + v
		names[n], vals[v] = attr, num(d)
		i++
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key(customerPK(orgID, customerID), skCustomer),
		UpdateExpression: aws.String("ADD " + expr), ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	}}
}

// queryIndexPage reads one page of an index partition, checking the cursor belongs to it.
func (s *Store) queryIndexPage(ctx context.Context, index, pk string, forward bool, page Page) ([]map[string]types.AttributeValue, string, error) {
	pkAttr, skAttr := AttrGSI1PK, AttrGSI1SK
	if index == IndexGSI2 {
		pkAttr, skAttr = AttrGSI2PK, AttrGSI2SK
	}
	start, err := decodeCursor(page.Cursor, pkAttr, pk, AttrPK, AttrSK, pkAttr, skAttr)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(index),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ScanIndexForward:          aws.Bool(forward), Limit: aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", err
	}
	return out.Items, encodeCursor(out.LastEvaluatedKey), nil
}

// getDetailItem reads one item of a customer's partition. Errors: ErrNotFound.
func (s *Store) getDetailItem(ctx context.Context, orgID, customerID, sk string, v any) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(customerPK(orgID, customerID), sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return err
	}
	if out.Item == nil {
		return ErrNotFound
	}
	return decode(out.Item, v)
}

// CustomerOverview is a customer with its tenants and its detail counters.
type CustomerOverview struct {
	CustomerDetail
	Counters DetailCounters
}

// GetCustomerOverview reads a customer, its tenants and the counts of its contacts,
// tickets and documents in one Query. Errors: ErrNotFound.
func (s *Store) GetCustomerOverview(ctx context.Context, orgID, customerID string) (CustomerOverview, error) {
	it, tenants, err := s.customerWithTenants(ctx, orgID, customerID)
	if err != nil {
		return CustomerOverview{}, err
	}
	o := CustomerOverview{CustomerDetail: CustomerDetail{Tenants: tenants}}
	if o.Customer, err = decodeCustomer(it); err != nil {
		return CustomerOverview{}, err
	}
	if err := decode(it, &o.Counters); err != nil {
		return CustomerOverview{}, err
	}
	return o, nil
}

// createDetail writes a new item of a customer's partition with the customer's counter
// deltas, the audit event and more items, in one transaction. Errors: ErrNotFound when
// the customer does not exist.
func (s *Store) createDetail(ctx context.Context, orgID, customerID, what, id string, it map[string]types.AttributeValue,
	deltas map[string]int64, ev audit.Event, more ...types.TransactWriteItem) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	ev.OrganizationID = orgID
	err := s.transact(ctx, append([]types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		s.detailCounters(orgID, customerID, deltas),
	}, more...), &ev)
	var te *TxError
	if errors.As(err, &te) && te.ConditionFailed(1) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("create %s %s: %w", what, id, err)
	}
	return nil
}

// getDetail reads one item of a customer's partition. Errors: ErrNotFound.
func getDetail[T any](ctx context.Context, s *Store, orgID, customerID, what, prefix, id string) (T, error) {
	var v T
	if !domain.ValidID(customerID) || !domain.ValidID(id) {
		return v, ErrNotFound
	}
	if err := s.getDetailItem(ctx, orgID, customerID, prefix+id, &v); err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoOrganization) {
			return v, err
		}
		return v, fmt.Errorf("get %s %s: %w", what, id, err)
	}
	return v, nil
}

// listDetail reads one page of a customer's items of one kind through an index.
func listDetail[T any](ctx context.Context, s *Store, orgID, customerID, what, index, pk string, forward bool, page Page) ([]T, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	items, next, err := s.queryIndexPage(ctx, index, pk, forward, page)
	if err != nil {
		if problem.As(err).Kind == problem.Invalid {
			return nil, "", err
		}
		return nil, "", fmt.Errorf("list %s of %s: %w", what, customerID, err)
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		var v T
		if err := decode(it, &v); err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	return out, next, nil
}
