package awsrecord_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/infra/awsrecord"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
)

func TestIAMActions(t *testing.T) {
	tx := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{}}, {Put: &types.Put{}}, {Delete: &types.Delete{}}, {ConditionCheck: &types.ConditionCheck{}},
	}}
	for _, c := range []struct {
		service, op string
		params      any
		want        []string
	}{
		{"DynamoDB", "GetItem", &dynamodb.GetItemInput{}, []string{"dynamodb:GetItem"}},
		{"DynamoDB", "TransactWriteItems", tx, []string{"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem"}},
		{"DynamoDB", "TransactGetItems", &dynamodb.TransactGetItemsInput{}, []string{"dynamodb:GetItem"}},
		{"S3", "HeadObject", nil, []string{"s3:GetObject"}},
		{"S3", "PutObject", nil, []string{"s3:PutObject"}},
		{"SQS", "SendMessageBatch", nil, []string{"sqs:SendMessage"}},
		{"SESv2", "SendEmail", nil, []string{"ses:SendEmail"}},
		{"Cognito Identity Provider", "ListUsers", nil, []string{"cognito-idp:ListUsers"}},
		{"EventBridge", "PutEvents", nil, []string{"events:PutEvents"}},
	} {
		if got := awsrecord.IAMActions(c.service, c.op, c.params); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %v, want %v", c.service, c.op, got, c.want)
		}
	}
}

// TestCallsAreAttributed: a client built through awsconfig.Load in a test binary that
// links testenv records each call made in a function's context for that function, with
// the IAM actions it needs, and Check reports those its entry does not list.
func TestCallsAreAttributed(t *testing.T) {
	t.Setenv(awsrecord.EnvCallsDir, "") // these calls are made up: keep them out of the run's records
	db := testenv.DynamoDB(t)
	ctx := api.WithFunction(context.Background(), "openapi-get")
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{
		Delete: &types.Delete{TableName: aws.String("no-such-table"), Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "x"}}},
	}}})
	if err == nil {
		t.Fatal("a transaction on a missing table succeeded")
	}
	// Outside any function: test setup, not kept.
	_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String("no-such-table")})

	obs := awsrecord.Observed()
	if _, ok := obs["openapi-get"]["dynamodb:DeleteItem"]; !ok {
		t.Fatalf("observed %v; want openapi-get's dynamodb:DeleteItem", obs)
	}
	for fn, acts := range obs {
		if _, ok := acts["dynamodb:DeleteTable"]; ok {
			t.Errorf("%s was attributed a call made outside any function", fn)
		}
	}
	var found bool
	for _, v := range awsrecord.Check(obs) {
		found = found || v.Function == "openapi-get" && v.Action == "dynamodb:DeleteItem"
	}
	if !found {
		t.Errorf("Check(%v) does not report openapi-get's unlisted dynamodb:DeleteItem", obs)
	}
	// The bench's per-request log still sees the call, by its API name.
	lctx, log := awsrecord.With(ctx)
	_, _ = db.GetItem(lctx, &dynamodb.GetItemInput{TableName: aws.String("no-such-table"),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "x"}}})
	if calls := log.Calls(); len(calls) != 1 || calls[0].Action() != "dynamodb:GetItem" || calls[0].Function != "openapi-get" {
		t.Errorf("request log %+v", calls)
	}
}

func TestReadDirAndCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("api-1.tsv", "me-get\tdynamodb:GetItem\tapi.test\nme-get\tdynamodb:Scan\tapi.test\n")
	write("gen-2.tsv", "me-get\tdynamodb:Scan\tgen.test\nno-such-function\tdynamodb:GetItem\tgen.test\n")
	obs, err := awsrecord.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range awsrecord.Check(obs) {
		got = append(got, v.Function+" "+v.Action+" "+strings.Join(v.Where, ","))
	}
	want := []string{"me-get dynamodb:Scan api.test,gen.test", "no-such-function dynamodb:GetItem gen.test"}
	if !slices.Equal(got, want) {
		t.Errorf("violations %q, want %q", got, want)
	}
	write("bad.tsv", "one field\n")
	if _, err := awsrecord.ReadDir(dir); err == nil || !strings.Contains(err.Error(), "bad.tsv") {
		t.Errorf("a malformed record: %v", err)
	}
}
