// Package console serves the web console: the built single-page application (embedded
// in the binary by functions/console/web), its runtime configuration at /config.json,
// and index.html for every other path so that the browser's router can show it.
package console

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// Environment variables of the console function (template.yaml sets them).
const (
	// EnvAuthDomain is the Cognito hosted UI's origin, e.g.
	// https://<prefix>.auth.<region>.amazoncognito.com.
	EnvAuthDomain = "CONSOLE_AUTH_DOMAIN"
	// EnvClientID is the user pool app client the console signs in with.
	EnvClientID = "CONSOLE_CLIENT_ID"
	// EnvUploadOrigin is the documents bucket's origin, where the browser PUTs a
	// document's bytes with a presigned URL.
	EnvUploadOrigin = "CONSOLE_UPLOAD_ORIGIN"
)

// Sign-in modes of Config.
const (
	// SignInCognito is the hosted UI with authorization code and PKCE.
	SignInCognito = "cognito"
	// SignInDevelopment is the local server's POST /dev/sign-in.
	SignInDevelopment = "development"
)

// Config is what the browser reads from /config.json before it signs anyone in. It
// holds no secret: a public app client uses PKCE instead.
type Config struct {
	SignIn     string `json:"signIn"`
	AuthDomain string `json:"authDomain,omitempty"`
	ClientID   string `json:"clientId,omitempty"`
	// CallbackPath is where the hosted UI sends the browser back; the user pool
	// client's CallbackURLs name the same path.
	CallbackPath string `json:"callbackPath"`
	// UploadOrigin, when set, is where documents are uploaded to: the page's CSP lets
	// the browser connect there. It is not sent to the browser.
	UploadOrigin string `json:"-"`
}

// CallbackPath is the console's OAuth redirect path.
const CallbackPath = "/auth/callback"

// FromEnv is the cloud configuration: Cognito, from the function's environment.
func FromEnv() Config {
	return Config{SignIn: SignInCognito, AuthDomain: strings.TrimSuffix(os.Getenv(EnvAuthDomain), "/"),
		ClientID: os.Getenv(EnvClientID), CallbackPath: CallbackPath, UploadOrigin: strings.TrimSuffix(os.Getenv(EnvUploadOrigin), "/")}
}

// Development is the local server's configuration.
func Development() Config {
	return Config{SignIn: SignInDevelopment, CallbackPath: CallbackPath}
}

// csp allows the console's own scripts and styles and API calls to its own origin; the
// hosted UI is reached by navigation and the token exchange, and documents are uploaded
// to their bucket, hence those origins in connect-src. No inline script runs, so an
// injected one cannot either.
func csp(c Config) string {
	connect := "'self'"
	for _, o := range []string{c.AuthDomain, c.UploadOrigin} {
		if o != "" {
			connect += " " + o
		}
	}
	// Inline styles are allowed: react-aria sets style attributes (positions of
	// overlays, visually hidden inputs); styles cannot run code.
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src " + connect +
		"; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}

// Handler serves assets (the build's root: index.html, assets/...) with cfg.
func Handler(assets fs.FS, cfg Config) http.Handler {
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		// A clone that never ran the Node build embeds no application (go test ./...
		// must not need Node); say how to get one rather than answer 404.
		index = []byte(placeholder)
	}
	conf, _ := json.Marshal(cfg)
	policy := csp(cfg)
	started := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		// Invitation links carry their token in the query; no other site may see it.
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeProblem(w, http.StatusMethodNotAllowed, "Method not allowed", "The console only serves pages.")
			return
		}
		p := path.Clean("/" + r.URL.Path)
		switch {
		case p == "/config.json":
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(conf)
			return
		case p == "/api" || strings.HasPrefix(p, "/api/"):
			// In the cloud the console's catch-all route gets API paths no route has.
			writeProblem(w, http.StatusNotFound, "Not found", "No API operation has this path.")
			return
		}
		name := strings.TrimPrefix(p, "/")
		if name != "" && name != "index.html" {
			if f, err := fs.Stat(assets, name); err == nil && !f.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					// Vite names these by their content hash.
					h.Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					h.Set("Cache-Control", "public, max-age=3600")
				}
				http.ServeFileFS(w, r, assets, name)
				return
			}
			if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
				writeProblem(w, http.StatusNotFound, "Not found", "The console has no file "+p+".")
				return
			}
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", policy)
		http.ServeContent(w, r, "index.html", started, bytes.NewReader(index))
	})
}

func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}

const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard</title></head>
<body><main><h1>Switchboard</h1>
<p>The web console has not been built into this binary. Run <code>make console</code> (Node 20 and npm),
then start the server again.</p></main></body></html>
`
