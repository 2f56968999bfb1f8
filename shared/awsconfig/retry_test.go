package awsconfig_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
)

func TestRetryBacksOffWithinBounds(t *testing.T) {
	r := awsconfig.NewRetryer(awsconfig.DefaultRetry)
	if r.MaxAttempts() != 4 {
		t.Fatalf("%d attempts", r.MaxAttempts())
	}
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException"}
	fault := &smithy.GenericAPIError{Code: "InternalServerError"}
	for attempt := 1; attempt <= 6; attempt++ {
		for range 50 {
			d, err := r.RetryDelay(attempt, throttle)
			if err != nil || d < 0 || d > min(2*time.Second, 500*time.Millisecond<<(attempt-1)) {
				t.Fatalf("throttle attempt %d: %v %v", attempt, d, err)
			}
			d, _ = r.RetryDelay(attempt, fault)
			if d > min(2*time.Second, 100*time.Millisecond<<(attempt-1)) {
				t.Fatalf("fault attempt %d: %v", attempt, d)
			}
		}
	}
	if !r.IsErrorRetryable(throttle) || r.IsErrorRetryable(errors.New("x")) {
		t.Fatal("retryable errors are the SDK's")
	}
}

func TestTransientCancellations(t *testing.T) {
	cancel := func(codes ...string) error {
		tc := &types.TransactionCanceledException{}
		for _, c := range codes {
			tc.CancellationReasons = append(tc.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
		}
		return tc
	}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{cancel("None", "TransactionConflict"), true},
		{cancel("ThrottlingError", "None"), true},
		{cancel("TransactionConflict", "ConditionalCheckFailed"), false},
		{cancel("None", "None"), false},
		{errors.New("x"), false},
	} {
		if got := awsconfig.TransientCancellation(c.err); got != c.want {
			t.Errorf("%v: %v", c.err, got)
		}
	}
}
