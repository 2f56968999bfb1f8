package msgraph_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/graphstandin"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
)

func standin(t *testing.T) (*graphstandin.Server, *msgraph.Client) {
	t.Helper()
	s := graphstandin.New()
	s.PutTenant(graphstandin.DemoTenant())
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c := msgraph.New(srv.URL, srv.URL, srv.Client())
	return s, c
}

var demo = msgraph.Credentials{TenantID: graphstandin.DemoTenantID, ClientID: graphstandin.DemoClientID, ClientSecret: graphstandin.DemoClientSecret}

func TestReadsFollowPagingAndResources(t *testing.T) {
	s, c := standin(t)
	ctx := context.Background()
	sess, err := c.Connect(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	users, err := sess.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 7 || users[6].DisplayName != "Conference Room" || users[0].UserPrincipalName == "" {
		t.Fatalf("users: %+v", users)
	}
	if got := s.Requests["/v1.0/users"]; got != 4 { // 7 users, 2 a page
		t.Errorf("user pages read: %d, want 4", got)
	}
	licensed := 0
	for _, u := range users {
		if u.Licensed() {
			licensed++
		}
	}
	if licensed != 5 {
		t.Errorf("licensed users: %d", licensed)
	}
	skus, err := sess.SubscribedSKUs(ctx)
	if err != nil || len(skus) != 2 || skus[0].SKUPartNumber != "SPE_E3" || skus[1].ConsumedUnits != 3 {
		t.Fatalf("skus: %+v %v", skus, err)
	}
	score, ok, err := sess.LatestSecureScore(ctx)
	if err != nil || !ok || score.Percent() != 62 {
		t.Fatalf("secure score: %+v %v %v", score, ok, err)
	}
}

func TestTokenErrors(t *testing.T) {
	_, c := standin(t)
	cases := []struct {
		name  string
		creds msgraph.Credentials
		code  string
	}{
		{"wrong secret", msgraph.Credentials{TenantID: demo.TenantID, ClientID: demo.ClientID, ClientSecret: "wrong"}, "invalid_client"},
		{"unknown app", msgraph.Credentials{TenantID: demo.TenantID, ClientID: "11111111-1111-4111-8111-111111111111", ClientSecret: "x"}, "unauthorized_client"},
		{"unknown tenant", msgraph.Credentials{TenantID: "22222222-2222-4222-8222-222222222222", ClientID: demo.ClientID, ClientSecret: "x"}, "invalid_request"},
		{"no tenant", msgraph.Credentials{ClientID: demo.ClientID, ClientSecret: "x"}, "invalid_tenant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Token(context.Background(), tc.creds)
			var e *msgraph.Error
			if !errors.As(err, &e) || e.Kind != msgraph.InvalidCredentials || e.Code != tc.code {
				t.Fatalf("error: %#v", err)
			}
			if strings.Contains(err.Error(), "Trace ID") || (tc.creds.ClientSecret != "" && strings.Contains(err.Error(), tc.creds.ClientSecret+"'")) {
				t.Errorf("message carries more than the description's first line: %s", err)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	s, c := standin(t)
	var waits []time.Duration
	c.SetSleep(func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })
	ctx := context.Background()
	sess, err := c.Connect(ctx, demo)
	if err != nil {
		t.Fatal(err)
	}
	s.Throttle(2, 3)
	users, err := sess.ListUsers(ctx)
	if err != nil || len(users) != 7 {
		t.Fatalf("after two 429s: %d users, %v", len(users), err)
	}
	if len(waits) != 2 || waits[0] != 3*time.Second {
		t.Errorf("waits: %v", waits)
	}
	// Throttled through every attempt: an error of kind Throttled, with the wait asked.
	s.Throttle(10, 1)
	_, err = sess.SubscribedSKUs(ctx)
	var e *msgraph.Error
	if !errors.As(err, &e) || e.Kind != msgraph.Throttled || e.Status != http.StatusTooManyRequests || e.RetryAfter != time.Second {
		t.Fatalf("throttled: %#v", err)
	}
	// A Retry-After longer than the client waits ends at once.
	s.Throttle(1, 3600)
	waits = nil
	if _, _, err := sess.LatestSecureScore(ctx); msgraph.KindOf(err) != msgraph.Throttled || len(waits) != 0 {
		t.Fatalf("long Retry-After: %v, waited %v", err, waits)
	}
}

func TestNextLinkMustStayOnGraph(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			_, _ = w.Write([]byte(`{"access_token":"t","expires_in":3599,"token_type":"Bearer"}`))
			return
		}
		_, _ = w.Write([]byte(`{"value":[{"id":"1"}],"@odata.nextLink":"https://evil.example/v1.0/users?$skiptoken=x"}`))
	}))
	defer srv.Close()
	c := msgraph.New(srv.URL, srv.URL, srv.Client())
	sess, err := c.Connect(context.Background(), demo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.ListUsers(context.Background()); msgraph.KindOf(err) != msgraph.BadResponse {
		t.Fatalf("nextLink off Graph: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	c := msgraph.New("http://127.0.0.1:1", "http://127.0.0.1:1", nil)
	if _, err := c.Token(context.Background(), demo); msgraph.KindOf(err) != msgraph.Unavailable {
		t.Fatalf("unreachable: %v", err)
	}
}

// TestLateAnswerEndsAtTheDeadline: a Graph that does not answer within the caller's
// deadline is Unavailable, with no credential in the error.
func TestLateAnswerEndsAtTheDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := msgraph.New(srv.URL, srv.URL, srv.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Token(ctx, demo)
	if msgraph.KindOf(err) != msgraph.Unavailable || strings.Contains(err.Error(), demo.ClientSecret) {
		t.Fatalf("late answer: %v", err)
	}
}
