package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/store"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestTransactWriteFloor(t *testing.T) {
	small := map[string]types.AttributeValue{"PK": s("a"), "SK": s("b")}
	indexed := map[string]types.AttributeValue{"PK": s("a"), "SK": s("c"), store.AttrGSI1PK: s("x"), store.AttrGSI1SK: s("y")}
	big := map[string]types.AttributeValue{"PK": s("a"), "SK": s("d"), "body": s(strings.Repeat("x", 2500))}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{Item: small}},   // 1 KB: 1
		{Put: &types.Put{Item: indexed}}, // table and GSI1: 2
		{Put: &types.Put{Item: big}},     // 3 KB: 3
		{Update: &types.Update{UpdateExpression: aws.String("SET #g = :g, n = :n REMOVE old"),
			ExpressionAttributeNames: map[string]string{"#g": store.AttrGSI2PK}}}, // the item and GSI2: 2
		{Update: &types.Update{UpdateExpression: aws.String("REMOVE GSI1PK")}}, // 1
		{Delete: &types.Delete{}},                 // 1
		{ConditionCheck: &types.ConditionCheck{}}, // 1
	}}
	if got, want := transactWriteFloor(in), 2.0*11; got != want {
		t.Fatalf("floor %v, want %v", got, want)
	}
}

func TestCapacityTally(t *testing.T) {
	ctx, c := withCapacity(context.Background())
	if ctx.Value(capacityKey{}) != c {
		t.Fatal("no tally in the context")
	}
	get := &dynamodb.GetItemInput{}
	if !askCapacity(get) || get.ReturnConsumedCapacity != types.ReturnConsumedCapacityTotal {
		t.Fatal("GetItem does not ask for its capacity")
	}
	if askCapacity(&dynamodb.DescribeTableInput{}) {
		t.Fatal("DescribeTable asked for capacity")
	}
	c.add(get, &dynamodb.GetItemOutput{ConsumedCapacity: &types.ConsumedCapacity{CapacityUnits: aws.Float64(0.5)}}, nil)
	c.add(&dynamodb.BatchGetItemInput{}, &dynamodb.BatchGetItemOutput{ConsumedCapacity: []types.ConsumedCapacity{
		{CapacityUnits: aws.Float64(1)}, {CapacityUnits: aws.Float64(0.5)}}}, nil)
	c.add(&dynamodb.PutItemInput{}, &dynamodb.PutItemOutput{ConsumedCapacity: &types.ConsumedCapacity{CapacityUnits: aws.Float64(3)}}, nil)
	// Three small Puts reported as 2 units count 6.
	tw := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{Item: map[string]types.AttributeValue{"PK": s("1")}}},
		{Put: &types.Put{Item: map[string]types.AttributeValue{"PK": s("2")}}},
		{Put: &types.Put{Item: map[string]types.AttributeValue{"PK": s("3")}}},
	}}
	c.add(tw, &dynamodb.TransactWriteItemsOutput{ConsumedCapacity: []types.ConsumedCapacity{{CapacityUnits: aws.Float64(2)}}}, nil)
	c.add(&dynamodb.UpdateItemInput{}, nil, &types.ConditionalCheckFailedException{})
	c.add(&dynamodb.UpdateItemInput{}, nil, errors.New("network"))
	read, write := c.units()
	if read != 2 || write != 3+6+1 || c.raised != 1 {
		t.Fatalf("read %v write %v raised %d", read, write, c.raised)
	}
}

func TestCostPerMillion(t *testing.T) {
	// 1.5 RRU and 4 WRU a call: 1.5 × $0.125 + 4 × $0.625.
	if got := costPerMillion(1.5, 4); got != 2.6875 {
		t.Fatalf("cost %v", got)
	}
}
