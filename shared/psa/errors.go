package psa

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrUnauthorized: the PSA refused the credentials (401, or a refused token).
	ErrUnauthorized = errors.New("the PSA refused the credentials")
	// ErrForbidden: the credentials are valid but lack a permission (403).
	ErrForbidden = errors.New("the PSA credentials lack a permission")
	// ErrNotFound: the record does not exist in the PSA.
	ErrNotFound = errors.New("not found in the PSA")
)

// RateLimitedError is a 429 answer. RetryAfter is the PSA's Retry-After, zero
// when it sent none.
type RateLimitedError struct {
	RetryAfter time.Duration
	Message    string
}

func (e *RateLimitedError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("the PSA is rate limiting requests (retry after %s): %s", e.RetryAfter, e.Message)
	}
	return "the PSA is rate limiting requests: " + e.Message
}

// UnavailableError is a fault worth retrying later: a 5xx answer or no answer.
// Status is 0 when there was no answer.
type UnavailableError struct {
	Status int
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Status == 0 {
		return "the PSA is unavailable: " + e.Err.Error()
	}
	return fmt.Sprintf("the PSA is unavailable (HTTP %d): %v", e.Status, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// RequestError is any other refusal (400, 409, 422…): the request itself is wrong
// and repeating it will not help.
type RequestError struct {
	Status  int
	Message string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("the PSA refused the request (HTTP %d): %s", e.Status, e.Message)
}

// Temporary reports whether err may succeed later: rate limited or unavailable.
// A queued ticket keeps such an error and is retried by the schedule.
func Temporary(err error) bool {
	var rl *RateLimitedError
	var un *UnavailableError
	return errors.As(err, &rl) || errors.As(err, &un)
}

// maxErrorBody bounds how much of an error answer is read into a message.
const maxErrorBody = 4 << 10

// ErrorReader reads a vendor's error answer: its message ("" keeps the raw body)
// and whether a 5xx answer is in fact a refusal of the request that repeating
// will not change (Autotask answers validation errors with 500).
type ErrorReader func(status int, body []byte) (message string, refused bool)

// CheckResponse turns a non-2xx answer into the typed errors above, reading the
// body with read (nil keeps the raw body). It reads and closes the body only when
// it answers an error.
func CheckResponse(resp *http.Response, read ErrorReader) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	msg := strings.TrimSpace(string(body))
	refused := false
	if read != nil {
		var m string
		if m, refused = read(resp.StatusCode, body); m != "" {
			msg = m
		}
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s", ErrUnauthorized, msg)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %s", ErrForbidden, msg)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, msg)
	case resp.StatusCode == http.StatusTooManyRequests:
		return &RateLimitedError{RetryAfter: RetryAfter(resp.Header, time.Now()), Message: msg}
	case resp.StatusCode >= 500 && !refused:
		return &UnavailableError{Status: resp.StatusCode, Err: errors.New(msg)}
	default:
		return &RequestError{Status: resp.StatusCode, Message: msg}
	}
}

// RetryAfter reads a Retry-After header in either form (seconds or an HTTP date);
// zero when absent or unreadable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Annotate names the call in err (vendor, method, path) and, when the PSA refused
// the credentials, adds hint: what a person should check.
func Annotate(err error, vendor, method, path, hint string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnauthorized):
		return fmt.Errorf("%s %s %s: %w (%s)", vendor, method, path, err, hint)
	default:
		return fmt.Errorf("%s %s %s: %w", vendor, method, path, err)
	}
}
