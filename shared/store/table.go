// Package store keeps Switchboard's data in one DynamoDB table. Organization data can
// only be reached through an organization id; system-wide jobs use System.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the table's keys and indexes.
const (
	AttrPK      = "PK"
	AttrSK      = "SK"
	AttrGSI1PK  = "GSI1PK"
	AttrGSI1SK  = "GSI1SK"
	AttrGSI2PK  = "GSI2PK"
	AttrGSI2SK  = "GSI2SK"
	AttrTTL     = "expiresAt"
	AttrType    = "itemType"
	AttrVersion = "version"
	// AttrMemberEpoch, on an organization item, counts the changes to its memberships.
	AttrMemberEpoch = "memberEpoch"
	IndexGSI1       = "GSI1"
	IndexGSI2       = "GSI2"
	DefaultTable    = "switchboard"
)

// Definition is the one description of the table; template.yaml, the local server and
// the tests are all built from or checked against it.
type Definition struct {
	KeySchema              []types.KeySchemaElement
	AttributeDefinitions   []types.AttributeDefinition
	GlobalSecondaryIndexes []types.GlobalSecondaryIndex
	TTLAttribute           string
}

// TableDefinition returns the table's keys, indexes and TTL attribute.
func TableDefinition() Definition {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(name, pk, sk string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName:  aws.String(name),
			KeySchema:  key(pk, sk),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	return Definition{
		KeySchema: key(AttrPK, AttrSK),
		AttributeDefinitions: []types.AttributeDefinition{
			s(AttrPK), s(AttrSK), s(AttrGSI1PK), s(AttrGSI1SK), s(AttrGSI2PK), s(AttrGSI2SK),
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(IndexGSI1, AttrGSI1PK, AttrGSI1SK),
			gsi(IndexGSI2, AttrGSI2PK, AttrGSI2SK),
		},
		TTLAttribute: AttrTTL,
	}
}

// CreateTableInput is the definition as a CreateTable call, on-demand.
func (d Definition) CreateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:              aws.String(name),
		KeySchema:              d.KeySchema,
		AttributeDefinitions:   d.AttributeDefinitions,
		GlobalSecondaryIndexes: d.GlobalSecondaryIndexes,
		BillingMode:            types.BillingModePayPerRequest,
	}
}

// EnsureTable creates the table when DescribeTable says it is missing. It needs only
// DescribeTable and CreateTable, which every engine here speaks; TTL is switched on by
// EnableTTL where the engine supports it.
func EnsureTable(ctx context.Context, db *dynamodb.Client, name string) error {
	_, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err == nil {
		return nil
	}
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	if _, err := db.CreateTable(ctx, TableDefinition().CreateTableInput(name)); err != nil {
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		// The embedded engine reports no status; only CREATING means wait.
		if err == nil && out.Table.TableStatus != types.TableStatusCreating {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("table %s did not become active", name)
}

// EnableTTL switches on expiry of items by AttrTTL. The embedded engine lacks the call,
// and no code relies on deletion: expiry is always checked on read.
func EnableTTL(ctx context.Context, db *dynamodb.Client, name string) error {
	_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrTTL), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", name, err)
	}
	return nil
}
