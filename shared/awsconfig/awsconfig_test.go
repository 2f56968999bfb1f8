package awsconfig

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestPreconnect: the connections opened are kept by the configuration's client, so the
// next calls open none.
func TestPreconnect(t *testing.T) {
	var conns, gets atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/" {
			gets.Add(1)
		}
		w.WriteHeader(http.StatusBadRequest) // as DynamoDB Local answers an unsigned GET /
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "id")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	Preconnect(context.Background(), cfg, srv.URL, 2)
	if conns.Load() != 2 || gets.Load() != 2 {
		t.Fatalf("%d connections, %d GETs; want 2 and 2", conns.Load(), gets.Load())
	}
	for range 3 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", nil)
		res, err := cfg.HTTPClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if conns.Load() != 2 {
		t.Fatalf("later calls opened %d connections; want them to reuse the 2 opened", conns.Load()-2)
	}
}

// TestLoadCredentials: credentials come from the environment, or the local engines'
// with a local endpoint, or fail each call naming what is missing.
func TestLoadCredentials(t *testing.T) {
	for _, c := range []struct {
		name, id, secret, endpoint, wantID string
		wantErr                            bool
	}{
		{name: "environment", id: "AKID", secret: "s", endpoint: "http://127.0.0.1:1", wantID: "AKID"},
		{name: "local", endpoint: "http://127.0.0.1:1", wantID: "local"},
		{name: "none", wantErr: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", c.id)
			t.Setenv("AWS_SECRET_ACCESS_KEY", c.secret)
			t.Setenv(EnvDynamoDBEndpoint, c.endpoint)
			t.Setenv("AWS_REGION", "eu-west-1")
			cfg, err := Load(context.Background())
			if err != nil || cfg.Region != "eu-west-1" || cfg.HTTPClient == nil || cfg.Retryer == nil {
				t.Fatalf("config %+v, %v", cfg, err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if c.wantErr != (err != nil) || creds.AccessKeyID != c.wantID {
				t.Fatalf("credentials %q, %v", creds.AccessKeyID, err)
			}
		})
	}
}
