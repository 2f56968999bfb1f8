package psa_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/psa"
)

func answer(status int, body string, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func TestCheckResponse(t *testing.T) {
	refuse500 := func(status int, body []byte) (string, bool) { return "refused: " + string(body), status == 500 }
	cases := []struct {
		name      string
		resp      *http.Response
		read      psa.ErrorReader
		is        error
		temporary bool
		contains  string
	}{
		{"2xx is no error", answer(201, "{}"), nil, nil, false, ""},
		{"401", answer(401, "bad key"), nil, psa.ErrUnauthorized, false, "bad key"},
		{"403", answer(403, ""), nil, psa.ErrForbidden, false, "Forbidden"},
		{"404", answer(404, "gone"), nil, psa.ErrNotFound, false, "gone"},
		{"429 with seconds", answer(429, "slow down", "Retry-After", "7"), nil, nil, true, "retry after 7s"},
		{"503", answer(503, "down"), nil, nil, true, "HTTP 503"},
		{"500 read as a refusal", answer(500, "no phone"), refuse500, nil, false, "refused: no phone"},
		{"400", answer(400, "bad field"), nil, nil, false, "HTTP 400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := psa.CheckResponse(tc.resp, tc.read)
			if tc.contains == "" {
				if err != nil {
					t.Fatalf("%v", err)
				}
				return
			}
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || psa.Temporary(err) != tc.temporary || !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("got %v (temporary %v)", err, psa.Temporary(err))
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tc := range cases {
		if got := psa.RetryAfter(http.Header{"Retry-After": {tc.value}}, now); got != tc.want {
			t.Errorf("Retry-After %q: %s, want %s", tc.value, got, tc.want)
		}
	}
}

func TestRetryDo(t *testing.T) {
	limited := &psa.RateLimitedError{RetryAfter: 2 * time.Second}
	down := &psa.UnavailableError{Status: 502, Err: errors.New("bad gateway")}
	cases := []struct {
		name     string
		errs     []error // what each attempt answers; nil succeeds
		calls    int
		waits    []time.Duration
		wantErr  error
		backoffs int // waits that are backoffs (checked to be within Max)
	}{
		{"success at once", []error{nil}, 1, nil, nil, 0},
		{"permanent errors are not retried", []error{psa.ErrNotFound}, 1, nil, psa.ErrNotFound, 0},
		{"Retry-After is honoured", []error{limited, limited, nil}, 3, []time.Duration{2 * time.Second, 2 * time.Second}, nil, 0},
		{"bounded by attempts", []error{down, down, down, down}, 3, nil, down, 2},
		{"a Retry-After above the cap is answered at once", []error{&psa.RateLimitedError{RetryAfter: time.Hour}}, 1, nil, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var waits []time.Duration
			r := psa.Retry{Attempts: 3, Base: 10 * time.Millisecond, Max: 40 * time.Millisecond, MaxRetryAfter: time.Minute,
				Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			calls := 0
			err := r.Do(context.Background(), func(context.Context) error {
				calls++
				return tc.errs[min(calls, len(tc.errs))-1]
			})
			if calls != tc.calls {
				t.Fatalf("%d calls, want %d", calls, tc.calls)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.backoffs > 0 {
				if len(waits) != tc.backoffs {
					t.Fatalf("waits %v", waits)
				}
				for _, w := range waits {
					if w <= 0 || w > 40*time.Millisecond {
						t.Fatalf("backoff %s outside (0, Max]", w)
					}
				}
			} else if len(waits) != len(tc.waits) || (len(waits) > 0 && waits[0] != tc.waits[0]) {
				t.Fatalf("waits %v, want %v", waits, tc.waits)
			}
		})
	}

	t.Run("a create retries 429 only", func(t *testing.T) {
		noSleep := psa.Retry{Attempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}.ForCreate()
		for _, tc := range []struct {
			err   error
			calls int
		}{{limited, 3}, {down, 1}} {
			calls := 0
			_ = noSleep.Do(context.Background(), func(context.Context) error { calls++; return tc.err })
			if calls != tc.calls {
				t.Errorf("%v: %d calls, want %d", tc.err, calls, tc.calls)
			}
		}
	})

	t.Run("context ends a wait", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := psa.Retry{Attempts: 5}.Do(ctx, func(context.Context) error { return limited })
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
			t.Fatalf("%v after %s", err, time.Since(start))
		}
	})
}
