// Package awsconfig loads the AWS SDK configuration the same way in Lambda, in the
// local server and in tests, with endpoint overrides for the local stack.
package awsconfig

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Environment variables read here.
const (
	EnvTable            = "TABLE_NAME"
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
)

// Load returns the SDK config. With a local endpoint set and no credentials in the
// environment, it uses static alphanumeric test credentials, which DynamoDB Local needs.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	base := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 4 })
		}),
	}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		base = append(base, config.WithRegion("us-east-1"))
	}
	if os.Getenv(EnvDynamoDBEndpoint) != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		base = append(base, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(base, opts...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// DynamoDB returns a client, pointed at DYNAMODB_ENDPOINT when set.
func DynamoDB(cfg aws.Config, endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// The embedded engine sends no CRC32 of its bodies.
			o.DisableValidateResponseChecksum = true
		}
	})
}

// TableName is the table from TABLE_NAME, or the default.
func TableName(def string) string {
	if t := os.Getenv(EnvTable); t != "" {
		return t
	}
	return def
}

// LocalCredentials are the static credentials of the local engines: DynamoDB Local
// needs an alphanumeric access key id.
func LocalCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("local", "local", "")
}
