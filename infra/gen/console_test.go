package main

import (
	"context"
	"strings"
	"testing"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard-msp/switchboard/functions/console/web"
	"github.com/switchboard-msp/switchboard/shared/console"
)

// TestConsoleEventServesThePage runs the console function's handler, as its main.go
// wires it, on events/console.json (API Gateway's catch-all route): the page, with its
// CSP naming the hosted UI, whether or not the web build is embedded.
func TestConsoleEventServesThePage(t *testing.T) {
	t.Setenv(console.EnvAuthDomain, "https://switchboard.auth.us-east-1.amazoncognito.com")
	t.Setenv(console.EnvClientID, "console-client")
	ev, _ := loadEvent(t, "console")
	res, err := httpadapter.NewV2(console.Handler(web.Dist(), console.FromEnv())).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(header(res, "Content-Type"), "text/html") || !strings.Contains(res.Body, "<title>Switchboard</title>") {
		t.Fatalf("events/console.json: %d %q %.200s", res.StatusCode, header(res, "Content-Type"), res.Body)
	}
	if csp := header(res, "Content-Security-Policy"); !strings.Contains(csp, "https://switchboard.auth.us-east-1.amazoncognito.com") {
		t.Errorf("Content-Security-Policy %q does not let the page reach the hosted UI", csp)
	}
}
