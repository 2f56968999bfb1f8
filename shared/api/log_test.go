package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRequestLogsCarryIDsAndNoTokens(t *testing.T) {
	env := testenv.New(t)
	org := env.NewOrg("logs@example.com")
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	env.Get("/api/msp-portal/settings/profile", org.OwnerToken, api.HeaderOrganization, org.ID)
	env.Do(testenv.Request{Method: "PUT", Path: "/api/msp-portal/settings/profile", Token: org.OwnerToken, Body: `{"companyName":`})

	out := buf.String()
	if strings.Contains(out, org.OwnerToken) || strings.Contains(out, strings.Split(org.OwnerToken, ".")[2]) {
		t.Fatal("a log line holds the bearer token")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("want a log line per request, got %q", out)
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if rec["msg"] != "request" {
			continue
		}
		if rec["requestId"] == "" || rec["requestId"] == nil || rec["organizationId"] != org.ID || rec["status"] == nil {
			t.Fatalf("request log lacks ids: %s", line)
		}
	}
}
