// Command floor is the cold-start floor of `make bench`: the least a Go Lambda on the
// table does. It loads the AWS config as the SDK's documentation shows
// (config.LoadDefaultConfig), builds a DynamoDB client, and answers each invocation
// with one GetItem against TABLE_NAME, as an API Gateway v2 response. The
// bench builds it with the functions' flags and compares each function's cold start
// and size to it.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		panic(err)
	}
	db := awsconfig.DynamoDB(cfg, os.Getenv(awsconfig.EnvDynamoDBEndpoint))
	table := awsconfig.TableName("switchboard")
	lambda.Start(func(ctx context.Context, _ json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ORG#floor"},
			"SK": &types.AttributeValueMemberS{Value: "ORG"},
		}})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		body, _ := json.Marshal(map[string]bool{"found": out.Item != nil})
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}, nil
	})
}
