package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// Merging two customers moves everything of the source to the target in steps that
// are each one transaction and each safe to repeat, so a merge that dies part-way
// finishes on retry and loses nothing: tenants (MoveTenant), the other items of the
// source's partition (MoveCustomerItems), PSA links (MergePSALinks), then the source
// itself (DeleteCustomer).

// MoveTenant re-links a tenant from one customer to another, moving both customers'
// counters and the tenant's copy, in one transaction. A tenant already on the target
// is left alone. Errors: ErrNotFound when the tenant is on neither customer.
func (s *Store) MoveTenant(ctx context.Context, orgID, tenantID, from, to string, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	for attempt := 0; attempt < 5; attempt++ {
		t, err := s.GetTenant(ctx, orgID, tenantID)
		if err != nil {
			return err
		}
		switch t.CustomerID {
		case to:
			return nil
		case from:
		default:
			return ErrNotFound
		}
		next := t
		next.CustomerID, next.Version, next.UpdatedAt = to, t.Version+1, s.now()
		tItem, err := s.tenantItem(orgID, next)
		if err != nil {
			return err
		}
		link, err := s.linkItem(orgID, next)
		if err != nil {
			return err
		}
		counters, last, err := s.unlinkWrite(ctx, orgID, from, t)
		if err != nil {
			return err
		}
		e := ev
		e.OrganizationID = orgID
		err = s.transact(ctx, []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(s.table), Item: tItem,
				ConditionExpression:       aws.String("version = :read AND customerId = :from"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(t.Version), ":from": str(from)}}},
			{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(customerPK(orgID, from), prefixCustomerLink+tenantID)}},
			{Put: &types.Put{TableName: aws.String(s.table), Item: link}},
			counters,
			s.customerCounters(orgID, to, nil, &next, "add"),
		}, &e)
		var te *TxError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &te) && (te.ConditionFailed(0) || last && te.ConditionFailed(3)):
			continue
		default:
			return fmt.Errorf("move tenant %s: %w", tenantID, err)
		}
	}
	return fmt.Errorf("move tenant %s: changed concurrently five times", tenantID)
}

// movable reports whether an item of a customer's partition moves in a merge: its
// contacts, tickets, documents and activity copies; not the customer item or the
// tenant copies, which have their own steps.
func movable(sk string) bool {
	return sk != skCustomer && !strings.HasPrefix(sk, prefixCustomerLink)
}

// MoveCustomerItems moves up to limit movable items of one customer's partition to
// another's, each with one transaction (Put in the target, Delete in the source), and
// returns how many it moved; 0 means none is left.
func (s *Store) MoveCustomerItems(ctx context.Context, orgID, from, to string, limit int32) (int, error) {
	if orgID == "" {
		return 0, ErrNoOrganization
	}
	src, dst := customerPK(orgID, from), customerPK(orgID, to)
	moved := 0
	var start map[string]types.AttributeValue
	for moved < int(limit) {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(src)},
			ConsistentRead:            aws.Bool(true), ExclusiveStartKey: start, Limit: aws.Int32(limit),
		})
		if err != nil {
			return moved, fmt.Errorf("list items of customer %s: %w", from, err)
		}
		for _, it := range out.Items {
			sk := it[AttrSK].(*types.AttributeValueMemberS).Value
			if !movable(sk) || moved >= int(limit) {
				continue
			}
			copyItem := make(map[string]types.AttributeValue, len(it))
			for k, v := range it {
				copyItem[k] = v
			}
			copyItem[AttrPK] = str(dst)
			if c, ok := copyItem["customerId"].(*types.AttributeValueMemberS); ok && c.Value == from {
				copyItem["customerId"] = str(to)
			}
			// Index keys that name the customer (its contacts, tickets, documents) follow it.
			for _, attr := range []string{AttrGSI1PK, AttrGSI2PK} {
				if v, ok := copyItem[attr].(*types.AttributeValueMemberS); ok {
					copyItem[attr] = str(strings.Replace(v.Value, "CUSTOMER#"+from+"#", "CUSTOMER#"+to+"#", 1))
				}
			}
			ops := []types.TransactWriteItem{
				// The condition makes a repeated move (after a crash) a no-op, not a double count.
				{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(src, sk), ConditionExpression: aws.String("attribute_exists(PK)")}},
				{Put: &types.Put{TableName: aws.String(s.table), Item: copyItem}},
			}
			if deltas := movedCounters(copyItem); len(deltas) > 0 {
				neg := map[string]int64{}
				for k, v := range deltas {
					neg[k] = -v
				}
				ops = append(ops, s.detailCounters(orgID, from, neg), s.detailCounters(orgID, to, deltas))
			}
			_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
			var tc *types.TransactionCanceledException
			if errors.As(err, &tc) && len(tc.CancellationReasons) > 0 && aws.ToString(tc.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
				continue // moved by an earlier run
			}
			if err != nil {
				return moved, fmt.Errorf("move %s of customer %s: %w", sk, from, err)
			}
			moved++
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		start = out.LastEvaluatedKey
	}
	return moved, nil
}

// movedCounters are the customer counters an item of a customer's partition counts in.
func movedCounters(it map[string]types.AttributeValue) map[string]int64 {
	t, _ := it[AttrType].(*types.AttributeValueMemberS)
	if t == nil {
		return nil
	}
	switch t.Value {
	case "Contact":
		return map[string]int64{counterContacts: 1}
	case "Document":
		return map[string]int64{counterDocuments: 1}
	case "CompanyUser":
		return map[string]int64{counterCompanyUsers: 1}
	case "Ticket":
		d := map[string]int64{counterTickets: 1}
		if st, ok := it["status"].(*types.AttributeValueMemberS); ok && domain.TicketActive(st.Value) {
			d[counterOpenTickets] = 1
		}
		return d
	}
	return nil
}

// MergePSALinks moves the source's PSA links to the target in one transaction, each
// uniqueness claim re-pointed. Where both have a link to the same connection, the
// target's is kept and the source's is returned as a conflict. Safe to repeat: a
// source without links changes nothing. Errors: a stale-version 409 when either
// customer changed since it was read.
func (s *Store) MergePSALinks(ctx context.Context, orgID string, src, dst domain.Customer, ev audit.Event) ([]domain.PSALink, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	if len(src.PSALinks) == 0 {
		return nil, nil
	}
	merged := append([]domain.PSALink{}, dst.PSALinks...)
	var conflicts []domain.PSALink
	var items []types.TransactWriteItem
	for _, l := range src.PSALinks {
		k := "psa#" + l.ConnectionID + "#" + l.ExternalID
		kind, value, _ := strings.Cut(k, "#")
		claim := key(customerKeyPK(orgID, kind, value), skUnique)
		var existing *domain.PSALink
		for i := range dst.PSALinks {
			if dst.PSALinks[i].ConnectionID == l.ConnectionID {
				existing = &dst.PSALinks[i]
			}
		}
		switch {
		case existing == nil:
			merged = append(merged, l)
			m, err := item(map[string]string{"customerId": dst.ID}, "CustomerKey", customerKeyPK(orgID, kind, value), skUnique, nil)
			if err != nil {
				return nil, err
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
				ConditionExpression:       aws.String("attribute_not_exists(PK) OR customerId = :src"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":src": str(src.ID)}}})
		case existing.ExternalID == l.ExternalID:
			// The same record on both: the target's claim stands.
		default:
			conflicts = append(conflicts, l)
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: claim}})
		}
	}
	linksAV := func(links []domain.PSALink) (types.AttributeValue, error) {
		if len(links) == 0 {
			return &types.AttributeValueMemberNULL{Value: true}, nil
		}
		return marshalValue(links)
	}
	mergedAV, err := linksAV(merged)
	if err != nil {
		return nil, err
	}
	update := func(c domain.Customer, links types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: key(customerPK(orgID, c.ID), skCustomer),
			UpdateExpression:          aws.String("SET psaLinks = :l, version = :next"),
			ConditionExpression:       aws.String("version = :read"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":l": links, ":next": num(c.Version + 1), ":read": num(c.Version)},
		}}
	}
	items = append([]types.TransactWriteItem{update(dst, mergedAV), update(src, &types.AttributeValueMemberNULL{Value: true})}, items...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	if errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(1)) {
		return nil, fmt.Errorf("merge PSA links: %w", errChangedDuringMerge)
	}
	if err != nil {
		return nil, fmt.Errorf("merge PSA links: %w", err)
	}
	return conflicts, nil
}

var errChangedDuringMerge = errors.New("a customer changed during the merge")

// ErrChangedDuringMerge reports that a customer changed between its read and a merge
// step; reading both again and repeating the step is safe.
func ErrChangedDuringMerge(err error) bool { return errors.Is(err, errChangedDuringMerge) }
