package problem

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// CodeUnavailable is the code of the 503 that a transient fault of a service the
// request depends on turns into.
const CodeUnavailable = "temporarily-unavailable"

// Retry-After, in seconds, of a transient fault: a throttled service needs longer to
// recover than a dropped connection or a 5xx needs to pass.
const (
	retryAfterThrottled = 2
	retryAfterTransient = 1
)

var (
	retryables = retry.IsErrorRetryables(retry.DefaultRetryables)
	throttles  = retry.IsErrorThrottles(retry.DefaultThrottles)
)

// Transient reports whether err is a fault that repeating the request may cure, and
// after how many seconds: what the AWS SDK's retryer retries (throttling, 5xx answers,
// dropped connections, timeouts, and errors that say so through a RetryableError
// method, such as a transaction cancelled by conflicts), once the retryer has given
// up on it (its attempts or its retry quota spent). This is the one place such errors
// are classified; Write answers them with 503 and Retry-After.
func Transient(err error) (retryAfter int, ok bool) {
	if err == nil {
		return 0, false
	}
	var quota ratelimit.QuotaExceededError
	var attempts *retry.MaxAttemptsError
	switch {
	case retryables.IsErrorRetryable(err) == aws.TrueTernary,
		errors.As(err, &attempts), errors.As(err, &quota):
	default:
		return 0, false
	}
	if throttles.IsErrorThrottle(err) == aws.TrueTernary {
		return retryAfterThrottled, true
	}
	return retryAfterTransient, true
}

// unavailable is the problem of a transient fault: no detail of the fault itself, which
// is logged.
func unavailable(retryAfter int) *Error {
	return &Error{Kind: Unavailable, Code: CodeUnavailable,
		Message: "a service this request depends on is busy or briefly unavailable; try again in a moment " +
			"(a POST repeated with the same Idempotency-Key is applied at most once)", RetryAfter: retryAfter}
}
