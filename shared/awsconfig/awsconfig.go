// Package awsconfig loads the AWS SDK configuration the same way in Lambda, in the
// local server and in tests, with endpoint overrides for the local stack.
package awsconfig

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Environment variables read here.
const (
	EnvTable            = "TABLE_NAME"
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
)

// Load returns the SDK config, whose clients retry as DefaultRetry says (retry.go). With
// a local endpoint set and no credentials in the environment, it uses static
// alphanumeric test credentials, which DynamoDB Local needs.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	base := []func(*config.LoadOptions) error{WithRetry(DefaultRetry)}
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
	extraMu.Lock()
	cfg.APIOptions = append(cfg.APIOptions, extraAPIOptions...)
	extraMu.Unlock()
	return cfg, nil
}

var (
	extraMu         sync.Mutex
	extraAPIOptions []func(*middleware.Stack) error
)

// AddAPIOptions adds SDK middleware to every configuration Load returns from now on, in
// this process, so that every client built from one carries it. Tests add the recorder
// of AWS calls (infra/awsrecord) with it; Lambda code never calls it.
func AddAPIOptions(opts ...func(*middleware.Stack) error) {
	extraMu.Lock()
	defer extraMu.Unlock()
	extraAPIOptions = append(extraAPIOptions, opts...)
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
