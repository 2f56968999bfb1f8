package console

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	built := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><title>app</title>")},
		"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
	}
	cfg := Config{SignIn: SignInCognito, AuthDomain: "https://x.auth.us-east-1.amazoncognito.com", ClientID: "abc", CallbackPath: CallbackPath,
		UploadOrigin: "https://docs.s3.us-east-1.amazonaws.com"}
	for _, tc := range []struct {
		name, method, path string
		assets             fstest.MapFS
		status             int
		contentType, body  string
		cache              string
	}{
		{"root is the app", "GET", "/", built, 200, "text/html", "<title>app</title>", "no-cache"},
		{"a client route is the app", "GET", "/customers/c1/tenants", built, 200, "text/html", "<title>app</title>", "no-cache"},
		{"the OAuth callback is the app", "GET", "/auth/callback?code=x&state=y", built, 200, "text/html", "<title>app</title>", "no-cache"},
		{"hashed assets are immutable", "GET", "/assets/app-1a2b.js", built, 200, "text/javascript", "console.log(1)", "immutable"},
		{"other files", "GET", "/favicon.svg", built, 200, "image/svg+xml", "<svg/>", "max-age=3600"},
		{"a missing asset is 404, not the app", "GET", "/assets/gone.js", built, 404, "application/problem+json", "Not found", ""},
		{"a missing file is 404", "GET", "/robots.txt", built, 404, "application/problem+json", "Not found", ""},
		{"API paths no route has", "GET", "/api/nope", built, 404, "application/problem+json", "No API operation", ""},
		{"configuration", "GET", "/config.json", built, 200, "application/json", `"clientId":"abc"`, "no-store"},
		{"only reads", "POST", "/", built, 405, "application/problem+json", "only serves pages", ""},
		{"no build says how to make one", "GET", "/", fstest.MapFS{".keep": {}}, 200, "text/html", "make console", "no-cache"},
		{"path tricks stay inside", "GET", "/../../etc/passwd", built, 200, "text/html", "<title>app</title>", "no-cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handler(tc.assets, cfg).ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if strings.Contains(rec.Body.String(), cfg.UploadOrigin) {
				t.Errorf("the upload origin is for the CSP only, not the page: %s", rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body %q lacks %q", rec.Body, tc.body)
			}
			if !strings.Contains(rec.Header().Get("Cache-Control"), tc.cache) {
				t.Errorf("Cache-Control %q, want %s", rec.Header().Get("Cache-Control"), tc.cache)
			}
			if rec.Header().Get("Referrer-Policy") != "no-referrer" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", rec.Header())
			}
			if strings.HasPrefix(tc.contentType, "text/html") {
				if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' "+cfg.AuthDomain+" "+cfg.UploadOrigin+";") ||
					!strings.Contains(csp, "script-src 'self'") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvAuthDomain, "https://p.auth.eu-west-1.amazoncognito.com/")
	t.Setenv(EnvClientID, "client")
	t.Setenv(EnvUploadOrigin, "https://docs.s3.eu-west-1.amazonaws.com/")
	cfg := FromEnv()
	if cfg.UploadOrigin != "https://docs.s3.eu-west-1.amazonaws.com" {
		t.Errorf("UploadOrigin %q", cfg.UploadOrigin)
	}
	raw, _ := json.Marshal(cfg)
	want := `{"signIn":"cognito","authDomain":"https://p.auth.eu-west-1.amazoncognito.com","clientId":"client","callbackPath":"/auth/callback"}`
	if string(raw) != want {
		t.Errorf("FromEnv = %s, want %s", raw, want)
	}
}
