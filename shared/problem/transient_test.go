package problem_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

type retryable bool

func (r retryable) Error() string        { return "cancelled" }
func (r retryable) RetryableError() bool { return bool(r) }

func TestTransientFaultsAnswer503(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}
	for _, c := range []struct {
		name  string
		err   error
		after int
	}{
		{"throttle after the retries", fmt.Errorf("get item: %w", &retry.MaxAttemptsError{Attempt: 4, Err: throttle}), 2},
		{"provisioned throughput", &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}, 2},
		{"retry quota spent", fmt.Errorf("x: %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}), 1},
		{"says it is retryable", fmt.Errorf("tx: %w", retryable(true)), 1},
		{"says it is not", fmt.Errorf("tx: %w", retryable(false)), 0},
		{"a plain error", errors.New("boom"), 0},
		{"a cancelled request", context.Canceled, 0},
		{"a problem", problem.Conflictf("x", "y"), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			after, ok := problem.Transient(c.err)
			if after != c.after || ok != (c.after > 0) {
				t.Fatalf("Transient = %d, %v; want %d", after, ok, c.after)
			}
			if c.after == 0 {
				return
			}
			w := httptest.NewRecorder()
			problem.Write(context.Background(), w, httptest.NewRequest(http.MethodGet, "/api/x", nil), c.err)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != fmt.Sprint(c.after) ||
				w.Header().Get("Content-Type") != "application/problem+json" || strings.Contains(w.Body.String(), "Throttling") {
				t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
			}
		})
	}
}
