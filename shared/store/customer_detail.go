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

// transactRetrying runs transact, again when it was cancelled only by conflicts with
// concurrent transactions on the same items (the customer item is shared by all of a
// customer's writes). Events keep the id and time assigned on the first attempt.
func (s *Store) transactRetrying(ctx context.Context, items []types.TransactWriteItem, events ...*audit.Event) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt*10) * time.Millisecond):
			}
		}
		err = s.transact(ctx, items, events...)
		var te *TxError
		if !errors.As(err, &te) || !onlyConflicts(te) {
			return err
		}
	}
	return err
}

func onlyConflicts(te *TxError) bool {
	conflict := false
	for _, r := range te.Reasons {
		switch r {
		case "TransactionConflict":
			conflict = true
		case "None", "":
		default:
			return false
		}
	}
	return conflict
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
	if orgID == "" {
		return CustomerOverview{}, ErrNoOrganization
	}
	if !domain.ValidID(customerID) {
		return CustomerOverview{}, ErrNotFound
	}
	var o CustomerOverview
	found := false
	var start map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(s.table),
			KeyConditionExpression: aws.String("PK = :pk AND SK BETWEEN :c AND :end"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": str(customerPK(orgID, customerID)), ":c": str(skCustomer), ":end": str(prefixCustomerLink + "~"),
			},
			ExclusiveStartKey: start,
		})
		if err != nil {
			return CustomerOverview{}, fmt.Errorf("get customer overview %s: %w", customerID, err)
		}
		for _, it := range out.Items {
			if it[AttrSK].(*types.AttributeValueMemberS).Value == skCustomer {
				found = true
				c, err := decodeCustomer(it)
				if err != nil {
					return CustomerOverview{}, err
				}
				o.Customer = c
				if err := decode(it, &o.Counters); err != nil {
					return CustomerOverview{}, err
				}
				continue
			}
			var t domain.Tenant
			if err := decode(it, &t); err != nil {
				return CustomerOverview{}, err
			}
			o.Tenants = append(o.Tenants, t)
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	if !found {
		return CustomerOverview{}, ErrNotFound
	}
	return o, nil
}
