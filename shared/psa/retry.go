package psa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// Retry is the policy for one PSA call: rate-limited and unavailable answers are
// tried again, up to Attempts in all, waiting the PSA's Retry-After when it sent
// one and a full-jitter exponential backoff otherwise. It is bounded twice: a
// Retry-After longer than MaxRetryAfter is returned to the caller at once (a sync
// in a Lambda should not sleep through its timeout; the schedule comes back), and
// ctx ends any wait.
type Retry struct {
	Attempts      int           // total attempts; 0 means 4
	Base          time.Duration // first backoff; 0 means 250ms
	Max           time.Duration // backoff cap; 0 means 4s
	MaxRetryAfter time.Duration // longest Retry-After honoured; 0 means 30s
	// Sleep waits d or until ctx ends; nil uses a timer. Tests replace it to
	// record the waits instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error

	rateLimitsOnly bool
}

// ForCreate is the policy for a call that creates a record: only 429 answers,
// refused before anything was done, are retried. A 5xx or a lost answer may come
// after the PSA made the record, so repeating could make it twice; that error is
// returned (temporary) for the caller, which knows how to look before creating again.
func (r Retry) ForCreate() Retry {
	r.rateLimitsOnly = true
	return r
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 4
	}
	if r.Base <= 0 {
		r.Base = 250 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 4 * time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 30 * time.Second
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do runs op until it succeeds, fails for good, or the attempts are spent; it
// answers op's last error (or ctx's, when ctx ended a wait).
func (r Retry) Do(ctx context.Context, op func(ctx context.Context) error) error {
	r = r.withDefaults()
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		var rl *RateLimitedError
		limited := errors.As(err, &rl)
		if err == nil || !Temporary(err) || (r.rateLimitsOnly && !limited) || attempt >= r.Attempts {
			return err
		}
		wait := r.backoff(attempt)
		if limited && rl.RetryAfter > 0 {
			if rl.RetryAfter > r.MaxRetryAfter {
				return err
			}
			wait = rl.RetryAfter
		}
		if serr := r.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (while waiting to retry: %v)", serr, err)
		}
	}
}

// backoff is full jitter over Base·2^(attempt-1), capped at Max.
func (r Retry) backoff(attempt int) time.Duration {
	d := r.Base << (attempt - 1)
	if d <= 0 || d > r.Max {
		d = r.Max
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// defaultClient bounds a call that names no client: a PSA that accepts the
// connection and never answers must not hold a sync until the Lambda times out.
var defaultClient = &http.Client{Timeout: 30 * time.Second}

// maxBody bounds a decoded answer (a page of 1000 ConnectWise companies is well
// under it), so a runaway answer cannot exhaust a Lambda's memory.
const maxBody = 32 << 20

// Send performs one JSON call under the retry policy: newRequest builds the
// request afresh for each attempt (a body cannot be read twice), read reads the
// vendor's error answers, and a 2xx body is decoded into out unless out is nil.
func Send(ctx context.Context, client *http.Client, retry Retry, newRequest func(ctx context.Context) (*http.Request, error), read ErrorReader, out any) error {
	if client == nil {
		client = defaultClient
	}
	return retry.Do(ctx, func(ctx context.Context) error {
		req, err := newRequest(ctx)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &UnavailableError{Err: err}
		}
		if err := CheckResponse(resp, read); err != nil {
			return err
		}
		defer resp.Body.Close()
		if out == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			return nil
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
			return fmt.Errorf("reading the answer of %s %s: %w", req.Method, req.URL.Path, err)
		}
		return nil
	})
}

// JSONRequest builds a request with a JSON body (nil for none) and JSON accepted.
func JSONRequest(ctx context.Context, method, url string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding the %s %s body: %w", method, url, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
