package main

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func TestTableRestore(t *testing.T) {
	ctx := context.Background()
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	db, table := st.Client(), st.TableName()
	item := func(pk, v string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{store.AttrPK: s(pk), store.AttrSK: s("S"), "v": s(v),
			"n": &types.AttributeValueMemberN{Value: "1"}}
	}
	put := func(it map[string]types.AttributeValue) {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	for _, pk := range []string{"kept", "changed", "removed"} {
		put(item(pk, "before"))
	}
	start, err := readTable(ctx, db, table)
	if err != nil || len(start) != 3 {
		t.Fatalf("read %d items: %v", len(start), err)
	}
	// What a round does: a change, a delete, a new item.
	put(item("changed", "after"))
	put(item("added", "new"))
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{store.AttrPK: s("removed"), store.AttrSK: s("S")}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		writes int
	}{{"after a round", 3}, {"when nothing changed", 0}} {
		n, err := start.restore(ctx, db, table)
		if err != nil || n != tc.writes {
			t.Fatalf("%s: %d writes, %v; want %d", tc.name, n, err, tc.writes)
		}
		now, err := readTable(ctx, db, table)
		if err != nil || !reflect.DeepEqual(now, start) {
			t.Fatalf("%s: the table holds %v, want %v (%v)", tc.name, now, start, err)
		}
	}
}
