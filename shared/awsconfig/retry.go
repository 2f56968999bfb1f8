package awsconfig

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Retry is how every AWS client retries: the SDK's standard retryer (its retryable
// errors, its retry quota, its loop), with these attempts and this backoff. It is the
// only retry of failed calls in the code; nothing retries an AWS error by hand.
type Retry struct {
	// MaxAttempts counts the first attempt.
	MaxAttempts int
	// BaseDelay bounds the wait before the first retry of a transient error (a 5xx, a
	// reset connection, a transaction conflict); each further retry doubles the bound.
	BaseDelay time.Duration
	// ThrottleBaseDelay is BaseDelay for throttling errors, which need the service's
	// capacity to recover rather than a transient fault to pass.
	ThrottleBaseDelay time.Duration
	// MaxBackoff caps every wait.
	MaxBackoff time.Duration
}

// DefaultRetry is the configuration of every client Load builds. A request answers
// within API Gateway's 30 seconds: one call that keeps failing waits at most
// 0.5 + 1 + 2 = 3.5 s (throttles) or 0.1 + 0.2 + 0.4 = 0.7 s (other transient errors)
// over its 4 attempts before the request answers 503 with Retry-After.
var DefaultRetry = Retry{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, ThrottleBaseDelay: 500 * time.Millisecond,
	MaxBackoff: 2 * time.Second}

// NewRetryer returns the SDK's standard retryer configured by r.
func NewRetryer(r Retry) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = r.MaxAttempts
		o.MaxBackoff = r.MaxBackoff
		o.Backoff = jitter{r: r, throttle: retry.IsErrorThrottles(o.Throttles)}
	})
}

// WithRetry makes Load's configuration retry as r (tests shorten the waits with it;
// the rest of the retryer stays as in production).
func WithRetry(r Retry) Option {
	return func(cfg *aws.Config) { cfg.Retryer = func() aws.Retryer { return NewRetryer(r) } }
}

// jitter is "full jitter" exponential backoff: a uniform wait up to min(MaxBackoff,
// base·2^(attempt-1)). The SDK's own formula starts at up to 2 s and stops jittering
// once it reaches its cap, which suits neither a 30-second API nor a crowd of Lambdas
// backing off together.
type jitter struct {
	r        Retry
	throttle retry.IsErrorThrottle
}

func (j jitter) BackoffDelay(attempt int, err error) (time.Duration, error) {
	base := j.r.BaseDelay
	if j.throttle.IsErrorThrottle(err) == aws.TrueTernary {
		base = j.r.ThrottleBaseDelay
	}
	bound := j.r.MaxBackoff
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 30 {
		bound = min(bound, base<<(attempt-1))
	}
	if bound <= 0 {
		return 0, nil
	}
	return time.Duration(rand.Int64N(int64(bound) + 1)), nil
}

// RetryTransactionConflicts is a TransactWriteItems option: the SDK's retryer also
// retries a transaction cancelled only because a concurrent transaction held one of
// its items (TransactionConflict) or because an item's partition was throttled. Such a
// transaction applied nothing, so sending it again is safe; a condition that failed is
// final and never retried. (Not set on TransactGetItems, whose caller falls back to a
// BatchGetItem at once when a write conflicts with it.)
func RetryTransactionConflicts(o *dynamodb.Options) {
	// Every retryer the SDK builds or wraps is a RetryerV2.
	if v2, ok := o.Retryer.(aws.RetryerV2); ok {
		o.Retryer = conflictRetryer{RetryerV2: v2}
	}
}

type conflictRetryer struct{ aws.RetryerV2 }

func (c conflictRetryer) IsErrorRetryable(err error) bool {
	return c.RetryerV2.IsErrorRetryable(err) || TransientCancellation(err)
}

// TransientCancellation reports whether err is a transaction cancelled only by
// transaction conflicts or throttling of its items: nothing was applied, and the same
// transaction may succeed when sent again.
func TransientCancellation(err error) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	codes := make([]string, 0, len(tc.CancellationReasons))
	for _, r := range tc.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	return TransientReasons(codes)
}

// TransientReasons reports whether a transaction's cancellation reasons are all
// transient (a conflict, throttling) or "None", with at least one transient.
func TransientReasons(codes []string) bool {
	transient := false
	for _, c := range codes {
		switch c {
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded":
			transient = true
		case "None", "":
		default:
			return false
		}
	}
	return transient
}

// Backoff waits before the attempt-th repeat (1, 2, ...) of a protocol step the
// service asked to be repeated: the UnprocessedKeys of a BatchGetItem and the
// UnprocessedItems of a BatchWriteItem, which DynamoDB leaves when it throttles. It
// waits as the retryer does after a throttle and returns early with ctx's error.
func Backoff(ctx context.Context, attempt int) error {
	d, _ := jitter{r: DefaultRetry, throttle: alwaysThrottle{}}.BackoffDelay(attempt, nil)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type alwaysThrottle struct{}

func (alwaysThrottle) IsErrorThrottle(error) aws.Ternary { return aws.TrueTernary }
