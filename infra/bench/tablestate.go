package main

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/store"
)

// tableState is every item of a table, by key: what the cold-start rounds start from,
// so that the creates of one round (a new organization, customer or tenant each) do not
// grow what the reads and the meter of the next round go through.
type tableState map[string]map[string]types.AttributeValue

// itemKey is an item's table key as one string.
func itemKey(it map[string]types.AttributeValue) string {
	s := func(name string) string {
		if v, ok := it[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return s(store.AttrPK) + "\x00" + s(store.AttrSK)
}

// readTable reads every item of table, strongly consistent.
func readTable(ctx context.Context, db *dynamodb.Client, table string) (tableState, error) {
	out := tableState{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, it := range page.Items {
			out[itemKey(it)] = it
		}
	}
	return out, nil
}

// changesTo returns the writes that turn now back into s: a delete of each item s does
// not hold, and a put of each item of s that now lacks or holds otherwise.
func (s tableState) changesTo(now tableState) []types.WriteRequest {
	var out []types.WriteRequest
	for k, it := range now {
		old, ok := s[k]
		switch {
		case !ok:
			out = append(out, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: map[string]types.AttributeValue{
				store.AttrPK: it[store.AttrPK], store.AttrSK: it[store.AttrSK]}}})
		case !reflect.DeepEqual(old, it):
			out = append(out, types.WriteRequest{PutRequest: &types.PutRequest{Item: old}})
		}
	}
	for k, old := range s {
		if _, ok := now[k]; !ok {
			out = append(out, types.WriteRequest{PutRequest: &types.PutRequest{Item: old}})
		}
	}
	return out
}

// restore writes table back to s; it returns how many items it wrote or deleted.
func (s tableState) restore(ctx context.Context, db *dynamodb.Client, table string) (int, error) {
	now, err := readTable(ctx, db, table)
	if err != nil {
		return 0, err
	}
	writes := s.changesTo(now)
	for start := 0; start < len(writes); start += 25 {
		pending := map[string][]types.WriteRequest{table: writes[start:min(start+25, len(writes))]}
		for attempt := 0; len(pending[table]) > 0; attempt++ {
			if attempt == 10 {
				return 0, fmt.Errorf("restore %s: %d writes left unprocessed", table, len(pending[table]))
			}
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return 0, fmt.Errorf("restore %s: %w", table, err)
			}
			pending = out.UnprocessedItems
			if len(pending[table]) > 0 {
				time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
			}
		}
	}
	return len(writes), nil
}
