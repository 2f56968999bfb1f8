// Package awsconfig builds the AWS SDK configuration the same way in Lambda, in the
// local server and in tests, from the environment, with endpoint overrides for the
// local stack.
package awsconfig

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Environment variables read here.
const (
	EnvTable            = "TABLE_NAME"
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
)

// Load returns the SDK configuration of this process from its environment: the region
// of AWS_REGION (or AWS_DEFAULT_REGION, else us-east-1), the credentials of
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (what Lambda gives a
// function: its role's), or, with a local endpoint set and none of them, static
// alphanumeric test credentials, which DynamoDB Local needs. Clients retry as
// DefaultRetry says (retry.go) unless an option says otherwise.
//
// It does not use the SDK's config package, whose default chain (shared files, SSO,
// assumed roles, IMDS) no process of ours reads credentials from, and whose importing
// alone runs the SSO, SSO OIDC, STS and sign-in clients' package initialization:
// 0.7 ms of every cold start (see docs/decisions.md).
func Load(_ context.Context, opts ...Option) (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = "us-east-1"
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: environmentCredentials(),
		// One transport for every client of the process, as the config package gives.
		HTTPClient: awshttp.NewBuildableClient(),
		Retryer:    func() aws.Retryer { return NewRetryer(DefaultRetry) },
	}
	for _, o := range opts {
		o(&cfg)
	}
	extraMu.Lock()
	cfg.APIOptions = append(cfg.APIOptions, extraAPIOptions...)
	extraMu.Unlock()
	return cfg, nil
}

// An Option changes the configuration Load returns.
type Option func(*aws.Config)

// environmentCredentials are the credentials in the environment, as the SDK's
// environment provider reads them; without them, the local engines' with a local
// endpoint set, else a provider that fails each call saying what is missing.
func environmentCredentials() aws.CredentialsProvider {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		return credentials.StaticCredentialsProvider{Value: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret,
			SessionToken: os.Getenv("AWS_SESSION_TOKEN"), AccountID: os.Getenv("AWS_ACCOUNT_ID"), Source: "EnvironmentCredentials"}}
	case os.Getenv(EnvDynamoDBEndpoint) != "":
		return LocalCredentials()
	default:
		return noCredentials{}
	}
}

// noCredentials fails every signed call: the environment holds no credentials.
type noCredentials struct{}

func (noCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
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

// Preconnect opens connections to DynamoDB at endpoint (the region's when empty), at
// once, through cfg's HTTP client, which keeps them for the clients built on cfg: a
// Lambda function starts it while the runtime waits for its first invocation, so that
// the first request's calls do not wait for a connection (on AWS, DNS, TCP and TLS).
// It sends GET /, which DynamoDB answers without authentication, not an API call.
// Failing costs nothing: the first call then connects as it would have.
func Preconnect(ctx context.Context, cfg aws.Config, endpoint string, connections int) {
	if endpoint == "" {
		ep, err := dynamodb.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, dynamodb.EndpointParameters{Region: aws.String(cfg.Region)})
		if err != nil {
			return
		}
		endpoint = ep.URI.String()
	}
	if cfg.HTTPClient == nil {
		return
	}
	// Past this, the first call would have connected on its own long before.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// Each request holds the connection it got until every one has its own: otherwise
	// a request that finished first would hand its connection to the next.
	var got, wg sync.WaitGroup
	got.Add(connections)
	all := make(chan struct{})
	go func() {
		got.Wait()
		close(all)
	}()
	for range connections {
		wg.Go(func() {
			var arrived sync.Once
			defer arrived.Do(got.Done) // a request that failed before it connected
			trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
				arrived.Do(got.Done)
				select {
				case <-all:
				case <-ctx.Done():
				}
			}}
			req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, strings.TrimSuffix(endpoint, "/")+"/", nil)
			if err != nil {
				return
			}
			res, err := cfg.HTTPClient.Do(req)
			if err != nil {
				return
			}
			// A drained, closed body hands the connection back to the pool.
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
			_ = res.Body.Close()
		})
	}
	wg.Wait()
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
