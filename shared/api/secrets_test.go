package api_test

// Secrets stay out of responses and logs (DESIGN.md, "Conventions": secrets are
// write-only, never returned, never logged). What may appear where, precisely:
//
//   - Invitation tokens (raw): only in the invitation email (the outbox locally, SES in
//     the cloud): the accept link. Never in an API response (body or header) or a log
//     line. Neither is their SHA-256 (the form the table keeps), nor a "tokenHash"
//     field.
//   - Bearer tokens (Cognito ID tokens; the development signer's JWTs): only in the
//     Authorization header of requests. No response or log line holds one, nor its
//     signature part, nor anything shaped like a JWT (eyJ….eyJ….…), whoever's it is.
//   - The SSO client secret: only in the body of PUT /api/settings/authentication/sso,
//     and in Cognito. Responses say hasClientSecret; the audit event says "(hidden)".
//   - Connection credentials (client secrets, private and public keys, API secrets,
//     integration codes): only in the bodies of POST and PUT /api/connections; stored
//     sealed. Responses carry a masked hint (the last four characters of a secret of
//     16 or more) at most, and the audit log says "(sealed)" / "(rotated)".
//   - AWS credentials: the secret access key appears nowhere. Presigned S3 URLs are
//     capabilities by design and appear in exactly two places: the "url" of "upload"
//     in the 201 of POST …/documents (customers-documents-create) and the "url" of
//     "download" in the 200 of GET …/documents/{documentId} (customers-documents-get),
//     which only a caller who may add, or read, that customer's documents gets. Such a
//     URL carries X-Amz-Credential (the access key id and scope: an identifier, not a
//     secret), X-Amz-Signature (an HMAC good for that one request until X-Amz-Expires:
//     15 minutes to upload, 5 to download) and, with the temporary credentials of a
//     Lambda role, X-Amz-Security-Token (the session token, useless without the secret
//     key, which S3 requires in the URL). Anywhere else (another route, another field,
//     a header, any log line) a presigned signature, credential or session token, or
//     an AWS4-HMAC-SHA256 signature, is a leak.
//
// The check runs twice: TestSecretsStayOutOfResponsesAndLogs drives a representative
// flow and checks it, and TestMain checks everything every test of the package sent
// and logged (checkSuiteSecrets), learning the secrets from what the tests themselves
// sent: bearer tokens from Authorization headers, invitation tokens from the outbox
// emails and from the bodies of lookups and accepts, client secrets from request
// bodies, and AWS keys from the environment.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	auditpkg "github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/objects/s3objects"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// Kinds of secret.
const (
	secretInvitationToken = "invitation token"
	secretInvitationHash  = "invitation token hash"
	secretBearer          = "bearer token"
	secretBearerSignature = "bearer token signature"
	secretClientSecret    = "SSO client secret"
	secretConnection      = "connection credential"
	secretAWSKey          = "AWS secret access key"
	secretAWSSession      = "AWS session token"
)

// presignFunctions are the routes whose responses carry presigned URLs, and the field
// of each that does.
var presignFunctions = map[string]string{
	"customers-documents-create": "upload",
	"customers-documents-get":    "download",
}

var (
	jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
	// presignMarks are the parts of a presigned request that must stay in its URL.
	presignMarks = regexp.MustCompile(`(?i)x-amz-(signature|credential|security-token)|aws4-hmac-sha256`)
	tokenInLink  = regexp.MustCompile(`[?&]token=([A-Za-z0-9_-]{43})`)
)

// minSecret is the shortest value checked: shorter ones (moto's "test", the local
// engines' "local") would be found everywhere by chance.
const minSecret = 8

type secretValue struct{ kind, value string }

// finding is one secret found where it must not be.
type finding struct{ where, what string }

func (f finding) String() string { return f.where + ": " + f.what }

// secretScan knows the secrets of a run and where presigned URLs are allowed.
type secretScan struct {
	byPrefix map[string][]secretValue
	seen     map[string]bool
	routes   *http.ServeMux
	function map[string]string // route pattern → function
	// presigned counts the presigned URLs seen where they are allowed.
	presigned int
}

func newSecretScan() *secretScan {
	s := &secretScan{byPrefix: map[string][]secretValue{}, seen: map[string]bool{}, routes: http.NewServeMux(), function: map[string]string{}}
	for _, rt := range api.Routes() {
		s.routes.Handle(rt.Pattern(), http.NotFoundHandler())
		s.function[rt.Pattern()] = rt.Function
	}
	for _, v := range []struct{ kind, env string }{
		{secretAWSKey, "AWS_SECRET_ACCESS_KEY"}, {secretAWSSession, "AWS_SESSION_TOKEN"},
	} {
		s.add(v.kind, os.Getenv(v.env))
	}
	return s
}

func (s *secretScan) add(kind, value string) {
	if len(value) < minSecret || s.seen[value] {
		return
	}
	s.seen[value] = true
	p := value[:minSecret]
	s.byPrefix[p] = append(s.byPrefix[p], secretValue{kind, value})
}

func (s *secretScan) addInvitationToken(tok string) {
	if domain.ValidInvitationToken(tok) {
		s.add(secretInvitationToken, tok)
		s.add(secretInvitationHash, domain.HashInvitationToken(tok))
	}
}

func (s *secretScan) count(kind string) int {
	n := 0
	for _, vs := range s.byPrefix {
		for _, v := range vs {
			if v.kind == kind {
				n++
			}
		}
	}
	return n
}

// learn takes the secrets that clients sent and that emails carried.
func (s *secretScan) learn(exs []testenv.Exchange, sent []mail.Message) {
	for _, ex := range exs {
		if tok, ok := strings.CutPrefix(ex.RequestHeader.Get("Authorization"), "Bearer "); ok && jwtShape.MatchString(tok) {
			s.add(secretBearer, tok)
			if parts := strings.Split(tok, "."); len(parts) == 3 && len(parts[2]) >= 16 {
				s.add(secretBearerSignature, parts[2])
			}
		}
		var body any
		if json.Unmarshal(ex.RequestBody, &body) == nil {
			walkJSON(body, func(key string, v string) {
				switch key {
				case "token":
					s.addInvitationToken(v)
				case "clientSecret":
					s.add(secretClientSecret, v)
				case "privateKey", "publicKey", "secret", "integrationCode":
					s.add(secretConnection, v)
				}
			})
		}
	}
	for _, m := range sent {
		for _, text := range append([]string{m.Text, m.HTML}, m.Links...) {
			for _, sub := range tokenInLink.FindAllStringSubmatch(text, -1) {
				s.addInvitationToken(sub[1])
			}
		}
	}
}

// walkJSON calls f with every string value of v and the key it is under.
func walkJSON(v any, f func(key, value string)) {
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			f(key, x)
		}
	}
	walk("", v)
}

// find returns the kinds of secret text holds.
func (s *secretScan) find(text string, skip func(kind string) bool) []string {
	var kinds []string
	for i := 0; i+minSecret <= len(text); i++ {
		for _, c := range s.byPrefix[text[i:i+minSecret]] {
			if strings.HasPrefix(text[i:], c.value) && !slices.Contains(kinds, c.kind) && (skip == nil || !skip(c.kind)) {
				kinds = append(kinds, c.kind)
			}
		}
	}
	return kinds
}

// scanText reports the secrets in text, and the shapes no response or log holds.
func (s *secretScan) scanText(where, text string) []finding {
	var out []finding
	for _, k := range s.find(text, nil) {
		out = append(out, finding{where, "holds a " + k})
	}
	if m := jwtShape.FindString(text); m != "" {
		out = append(out, finding{where, "holds a JWT-shaped string " + mask(m)})
	}
	if m := presignMarks.FindString(text); m != "" {
		out = append(out, finding{where, "holds a presigned-request part (" + m + ") outside a presigned URL field"})
	}
	if strings.Contains(text, `"tokenHash"`) {
		out = append(out, finding{where, `holds a "tokenHash" field`})
	}
	return out
}

func mask(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// function names the route an exchange reached ("" when none).
func (s *secretScan) functionOf(ex testenv.Exchange) string {
	req, err := http.NewRequest(ex.Method, "http://api"+ex.Path, nil)
	if err != nil {
		return ""
	}
	_, pattern := s.routes.Handler(req)
	return s.function[pattern]
}

// responseText is what a response shows: its headers, and its body, with an xlsx
// unpacked, the presigned URL of a route that returns one set apart in urls, and every
// cursor decoded (a cursor is base64 of table keys).
func (s *secretScan) responseText(ex testenv.Exchange) (text string, urls []string) {
	var b strings.Builder
	keys := make([]string, 0, len(ex.Header))
	for k := range ex.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(ex.Header[k], ", "))
	}
	body := ex.Body
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		body = unzipAll(body)
	}
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		if field, ok := presignFunctions[s.functionOf(ex)]; ok && ex.Status/100 == 2 {
			if m, ok := doc.(map[string]any); ok {
				if p, ok := m[field].(map[string]any); ok {
					if u, ok := p["url"].(string); ok {
						urls = append(urls, u)
						p["url"] = "(presigned URL, checked apart)"
					}
				}
			}
		}
		walkJSON(doc, func(key, v string) {
			if key == "nextCursor" || key == "cursor" {
				if raw, err := base64.RawURLEncoding.DecodeString(v); err == nil {
					fmt.Fprintf(&b, "decoded %s: %s\n", key, raw)
				}
			}
		})
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(doc)
		body = out.Bytes()
	}
	b.Write(body)
	return b.String(), urls
}

func unzipAll(b []byte) []byte {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return b
	}
	var out bytes.Buffer
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			continue
		}
		_, _ = io.Copy(&out, rc)
		rc.Close()
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// exchange checks one response.
func (s *secretScan) exchange(ex testenv.Exchange) []finding {
	where := fmt.Sprintf("%s %s → %d", ex.Method, ex.Path, ex.Status)
	text, urls := s.responseText(ex)
	out := s.scanText(where, text)
	for _, u := range urls {
		if !strings.Contains(u, "X-Amz-Signature=") {
			out = append(out, finding{where, "the presigned URL field holds no signed URL"})
			continue
		}
		s.presigned++
		// A presigned URL may carry the session token, never the secret key or a token.
		for _, k := range s.find(u, func(kind string) bool { return kind == secretAWSSession }) {
			out = append(out, finding{where + " (presigned URL)", "holds a " + k})
		}
	}
	return out
}

// check scans every response and log line.
func (s *secretScan) check(exs []testenv.Exchange, logs []string) []finding {
	var out []finding
	for _, ex := range exs {
		out = append(out, s.exchange(ex)...)
	}
	for i, line := range logs {
		out = append(out, s.scanText(fmt.Sprintf("log line %d (%s)", i+1, mask(line)), line)...)
	}
	return out
}

// checkSuiteSecrets runs the check over everything this test binary's APIs answered and
// logged, reports to out, and says whether it found a leak.
func checkSuiteSecrets(w *testenv.Watch, out io.Writer) bool {
	exs, logs := w.Exchanges(), w.LogLines()
	scan := newSecretScan()
	scan.learn(exs, w.Mail())
	found := scan.check(exs, logs)
	if len(found) == 0 {
		if testing.Verbose() {
			fmt.Fprintf(out, "suite-wide secrets check: %d responses and %d log lines hold none of %d bearer tokens, %d invitation tokens, %d client secrets; %d presigned URLs where allowed\n",
				len(exs), len(logs), scan.count(secretBearer), scan.count(secretInvitationToken), scan.count(secretClientSecret), scan.presigned)
		}
		return false
	}
	fmt.Fprintf(out, "--- FAIL: suite-wide secrets check (secrets_test.go): %d findings in %d responses and %d log lines\n", len(found), len(exs), len(logs))
	for i, f := range found {
		if i == 100 {
			fmt.Fprintf(out, "    … and %d more\n", len(found)-i)
			break
		}
		fmt.Fprintf(out, "    %s\n", f)
	}
	return true
}

// Distinctive AWS credentials for the document store of the flow below, so that finding
// them is meaningful (the local engines' "local" is everywhere).
const (
	flowAccessKeyID = "AKIASWITCHBOARDFLOW1"
	flowSecretKey   = "SwitchboardFlowSecretKey-never-leaves-the-process-0123"
	flowSession     = "SwitchboardFlowSessionToken-only-in-presigned-urls-4567"
)

// flowObjects is a document store on the in-process S3 fake signing with the
// distinctive credentials. The fake checks presigned URLs against its own local
// credentials, so bytes are put through the SDK (which it serves unchecked).
func flowObjects(t *testing.T) *s3objects.Store {
	srv := httptest.NewServer(fakes3.Handler())
	t.Cleanup(srv.Close)
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = credentials.NewStaticCredentialsProvider(flowAccessKeyID, flowSecretKey, flowSession)
	st := s3objects.New(cfg, "documents-secrets", srv.URL)
	if err := st.CreateBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSecretsStayOutOfResponsesAndLogs drives sign-in, invitations (invite, look up,
// accept, resend, revoke), SSO with a client secret, customers with an import job and
// exports, and documents with presigned URLs, then checks every response and log line
// of it.
func TestSecretsStayOutOfResponsesAndLogs(t *testing.T) {
	mark, logMark := suiteWatch.Len(), suiteWatch.LogLen()
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	bucket := flowObjects(t)
	env.Deps.Objects = bucket
	org := env.NewOrg("owner@secrets.example")
	h := map[string]string{api.HeaderOrganization: org.ID}
	do := func(method, path, tok string, body any, want int) *testenv.Response {
		t.Helper()
		res := env.Do(testenv.Request{Method: method, Path: path, Token: tok, Body: body, Headers: h})
		if res.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, res.Status, want, res.Body)
		}
		return res
	}
	owner := org.OwnerToken
	clientSecrets := []string{"flow-client-secret-" + domain.NewID()}

	// Invitations: the raw token goes out in the email only.
	var joiner, later struct{ ID string }
	do("POST", "/api/settings/platform-users", owner, map[string]any{"email": "joiner@secrets.example", "displayName": "Joiner",
		"role": "Technician"}, http.StatusCreated).JSON(t, &joiner)
	do("POST", "/api/settings/platform-users", owner, map[string]any{"email": "later@secrets.example", "role": "Read-Only"},
		http.StatusCreated).JSON(t, &later)
	joinToken, _ := tokenFromOutbox(t, env, "joiner@secrets.example")
	laterToken, _ := tokenFromOutbox(t, env, "later@secrets.example")
	do("POST", "/api/invitations/lookup", "", map[string]string{"token": joinToken}, http.StatusOK)
	do("POST", "/api/invitations/accept", env.Token("someone-else@secrets.example"), map[string]string{"token": joinToken}, http.StatusForbidden)
	joinerTok := env.TokenFor(devauth.Identity{Email: "joiner@secrets.example", Name: "Joiner", MFA: true})
	do("POST", "/api/invitations/accept", joinerTok, map[string]string{"token": joinToken}, http.StatusOK)
	do("POST", "/api/invitations/accept", joinerTok, map[string]string{"token": joinToken}, http.StatusOK) // a retry
	do("POST", "/api/invitations/lookup", "", map[string]string{"token": joinToken}, http.StatusConflict)
	do("POST", "/api/settings/platform-users/"+later.ID+"/resend", owner, nil, http.StatusOK)
	do("POST", "/api/invitations/lookup", "", map[string]string{"token": laterToken}, http.StatusNotFound) // rotated
	do("GET", "/api/settings/platform-users", owner, nil, http.StatusOK)
	do("GET", "/api/settings/platform-users", joinerTok, nil, http.StatusForbidden)
	do("DELETE", "/api/settings/platform-users/"+later.ID, owner, nil, http.StatusNoContent)
	// Bearer tokens: forged, expired-looking and foreign ones are refused without an echo.
	do("GET", "/api/me", owner+"x", nil, http.StatusUnauthorized)
	do("GET", "/api/me", joinerTok, nil, http.StatusOK)

	// SSO: the client secret is write-only. Without a user pool the setup is refused
	// (503); on moto's Cognito it is set up, shown as hasClientSecret and audited hidden.
	sso := func(secret string, want int) {
		do("PUT", "/api/settings/authentication/sso", owner, map[string]any{"entraTenantId": guid("secrets-tenant"),
			"clientId": guid("secrets-client"), "clientSecret": secret, "domains": []string{"secrets.example"}}, want)
	}
	sso(clientSecrets[0], http.StatusServiceUnavailable)
	t.Run("sso on moto", func(t *testing.T) {
		c, poolID, clientID := cognitoPool(t)
		env.Deps.Identity = cognito.New(c, poolID).WithAppClient(clientID)
		t.Cleanup(func() { env.Deps.Identity = nil })
		secret := "moto-client-secret-" + domain.NewID()
		clientSecrets = append(clientSecrets, secret)
		sso(secret, http.StatusOK)
		sso("rotated-client-secret-"+domain.NewID(), http.StatusOK)
		if g := do("GET", "/api/settings/authentication", owner, nil, http.StatusOK); !strings.Contains(string(g.Body), `"hasClientSecret":true`) {
			t.Errorf("authentication settings: %s", g.Body)
		}
	})

	// Connections: credentials go in, and never come out to anyone, in a success, a
	// refusal, a rotation or a failed refresh.
	readOnly := env.AddMember(org.ID, permission.ReadOnly, "viewer@secrets.example")
	tenant := createSecretsTenant(t, env, org.ID)
	clientID, m365Secret := env.GraphTenant(tenant.EntraTenantID)
	rotated := "rotated~m365.secret_" + domain.NewID()
	connectionSecrets := []string{m365Secret, rotated}
	var m365 struct{ ID string }
	do("POST", "/api/connections", owner, map[string]any{"type": "m365", "label": "Graph", "tenantId": tenant.ID,
		"credentials": map[string]any{"clientId": clientID, "clientSecret": m365Secret}}, http.StatusCreated).JSON(t, &m365)
	do("POST", "/api/connections/"+m365.ID+"/test", owner, nil, http.StatusOK)
	do("POST", "/api/msp-portal/tenants/"+tenant.ID+"/refresh", owner, nil, http.StatusOK)
	do("PUT", "/api/connections/"+m365.ID, owner, map[string]any{"label": "Graph", "credentials": map[string]any{"clientId": clientID, "clientSecret": rotated}}, http.StatusOK)
	do("POST", "/api/connections/"+m365.ID+"/test", owner, nil, http.StatusOK) // refused: invalid_client
	do("POST", "/api/msp-portal/tenants/"+tenant.ID+"/refresh", owner, nil, http.StatusBadGateway)
	psa := []map[string]any{
		{"type": "connectwise", "label": "CW", "credentials": map[string]any{"site": "api-na.myconnectwise.net", "companyId": "contoso",
			"publicKey": "cw-public-" + domain.NewID(), "privateKey": "cw-private-" + domain.NewID(), "clientId": "cw-client-id"}},
		{"type": "autotask", "label": "AT", "credentials": map[string]any{"username": "api@secrets.example", "secret": "at-secret-" + domain.NewID(),
			"integrationCode": "at-integration-" + domain.NewID()}},
		{"type": "halopsa", "label": "Halo", "credentials": map[string]any{"instanceUrl": "https://secrets.halopsa.com", "clientId": "halo-client",
			"clientSecret": "halo-secret-" + domain.NewID()}},
	}
	for _, b := range psa {
		var conn struct{ ID string }
		do("POST", "/api/connections", owner, b, http.StatusCreated).JSON(t, &conn)
		do("POST", "/api/connections/"+conn.ID+"/test", owner, nil, http.StatusOK)
		do("GET", "/api/connections/"+conn.ID, readOnly, nil, http.StatusOK)
	}
	do("GET", "/api/connections", owner, nil, http.StatusOK)
	do("GET", "/api/connections", readOnly, nil, http.StatusOK)
	do("GET", "/api/audit-log?category=settings", owner, nil, http.StatusOK)

	// Customers: an import job and both exports.
	c := customers{t, env, owner}
	acme := c.customer("Acme Secrets")
	var job struct{ ID string }
	c.importCSV("Customer Name,Primary Contact Email,External ID,PSA Type,PSA Connection ID,PSA ID\n"+
		"Imported One,one@secrets.example,ext-1,,,\n,bad-email,,,,\n", http.StatusAccepted).JSON(t, &job)
	if j := c.waitJob(job.ID); j.Status != "succeeded" {
		t.Fatalf("import: %+v", j)
	}
	do("GET", "/api/msp-portal/customers/export?format=csv", owner, nil, http.StatusOK)
	do("GET", "/api/msp-portal/customers/export?format=xlsx", owner, nil, http.StatusOK)

	// Documents: presigned URLs where allowed, and nowhere else.
	docs := base(acme.ID) + "/documents"
	var created struct {
		ID     string
		Upload struct{ URL string }
	}
	do("POST", docs, owner, map[string]any{"name": "runbook.txt", "contentType": "text/plain", "size": 5}, http.StatusCreated).JSON(t, &created)
	if !strings.Contains(created.Upload.URL, "X-Amz-Security-Token="+flowSession) || !strings.Contains(created.Upload.URL, "X-Amz-Credential="+flowAccessKeyID) {
		t.Fatalf("the upload URL is not signed by the flow's credentials: %s", created.Upload.URL)
	}
	s3c, err := bucket.Client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("documents-secrets"),
		Key: aws.String(domain.DocumentKey(org.ID, acme.ID, created.ID)), Body: strings.NewReader("hello"),
		ContentType: aws.String("text/plain")}); err != nil {
		t.Fatal(err)
	}
	var got struct{ Download *struct{ URL string } }
	do("GET", docs+"/"+created.ID, owner, nil, http.StatusOK).JSON(t, &got)
	if got.Download == nil || !strings.Contains(got.Download.URL, "X-Amz-Signature=") {
		t.Fatalf("no download URL after the upload: %+v", got)
	}
	do("GET", docs, owner, nil, http.StatusOK)
	do("GET", base(acme.ID)+"/activity", owner, nil, http.StatusOK)
	do("GET", base(acme.ID)+"/overview", owner, nil, http.StatusOK)
	do("DELETE", docs+"/"+created.ID, owner, nil, http.StatusNoContent)
	audit := do("GET", "/api/audit-log?limit=100", owner, nil, http.StatusOK)
	if len(clientSecrets) > 1 && !strings.Contains(string(audit.Body), "(hidden)") {
		t.Errorf("the SSO change is not audited with its secret hidden: %s", audit.Body)
	}

	// Check everything this flow answered and logged.
	exs, logs := suiteWatch.ExchangesSince(mark), suiteWatch.LogLinesSince(logMark)
	scan := newSecretScan()
	scan.learn(exs, env.Outbox.Messages())
	scan.add(secretAWSKey, flowSecretKey)
	scan.add(secretAWSSession, flowSession)
	for _, s := range clientSecrets {
		scan.add(secretClientSecret, s)
	}
	for _, s := range connectionSecrets {
		scan.add(secretConnection, s)
	}
	for _, f := range scan.check(exs, logs) {
		t.Errorf("%s", f)
	}

	// The check saw what it had to: otherwise a clean result would mean nothing.
	if len(exs) < 25 || len(logs) < len(exs) {
		t.Errorf("the watch saw %d exchanges and %d log lines", len(exs), len(logs))
	}
	if scan.count(secretConnection) < 4 || scan.count(secretClientSecret) < 4 {
		t.Errorf("learned %d connection credentials and %d client secrets", scan.count(secretConnection), scan.count(secretClientSecret))
	}
	if scan.count(secretInvitationToken) < 3 || scan.count(secretBearer) < 3 || scan.presigned < 2 {
		t.Errorf("learned %d invitation tokens and %d bearer tokens; %d presigned URLs checked",
			scan.count(secretInvitationToken), scan.count(secretBearer), scan.presigned)
	}
	if !slices.ContainsFunc(env.Outbox.Messages(), func(m mail.Message) bool {
		return strings.Contains(m.Text, url.QueryEscape(joinToken)) || slices.ContainsFunc(m.Links, func(l string) bool { return strings.Contains(l, joinToken) })
	}) {
		t.Error("the invitation email does not carry the token: the only place it belongs")
	}
}

// createSecretsTenant registers a tenant of orgID through the store.
func createSecretsTenant(t *testing.T, env *testenv.Env, orgID string) domain.Tenant {
	t.Helper()
	id := domain.NewID()
	tn := domain.Tenant{ID: id, EntraTenantID: uuid(id), PrimaryDomain: id + ".onmicrosoft.com", DisplayName: "Secrets tenant",
		Health: domain.HealthUnknown, CreatedAt: time.Now().UTC()}
	if err := env.Store.CreateTenant(context.Background(), orgID, tn, auditpkg.Event{Category: auditpkg.Tenant, Action: "fixture"}); err != nil {
		t.Fatal(err)
	}
	return tn
}

// TestSecretScanFindsLeaks checks the checker: each kind of leak is found, and a
// presigned URL where it belongs is not one.
func TestSecretScanFindsLeaks(t *testing.T) {
	token, _ := domain.NewInvitationToken()
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu"
	req := func(method, path string, body string) testenv.Exchange {
		return testenv.Exchange{Method: method, Path: path, RequestHeader: http.Header{"Authorization": {"Bearer " + jwt}},
			RequestBody: []byte(body), Status: 200, Header: http.Header{"Content-Type": {"application/json"}}}
	}
	lookup := req("POST", "/api/invitations/lookup", `{"token":"`+token+`"}`)
	lookup.Body = []byte(`{"organizationName":"x"}`)
	sso := req("PUT", "/api/settings/authentication/sso", `{"clientSecret":"a-client-secret-value"}`)
	sso.Body = []byte(`{"sso":{"hasClientSecret":true}}`)
	scan := newSecretScan()
	scan.learn([]testenv.Exchange{lookup, sso}, nil)
	scan.add(secretAWSSession, flowSession)
	scan.add(secretAWSKey, flowSecretKey)
	presigned := "http://s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F&X-Amz-Security-Token=" + flowSession + "&X-Amz-Signature=abc"
	for _, tc := range []struct {
		name, method, path, body string
		leak                     bool
	}{
		{"clean", "GET", "/api/me", `{"user":{}}`, false},
		{"raw token", "GET", "/api/settings/platform-users", `{"t":"` + token + `"}`, true},
		{"token hash", "GET", "/api/settings/platform-users", `{"h":"` + domain.HashInvitationToken(token) + `"}`, true},
		{"tokenHash field", "GET", "/api/settings/platform-users", `{"tokenHash":""}`, true},
		{"bearer token", "GET", "/api/me", `{"t":"` + jwt + `"}`, true},
		{"bearer signature", "GET", "/api/me", `{"t":"` + strings.Split(jwt, ".")[2] + `"}`, true},
		{"any JWT", "GET", "/api/me", `{"t":"eyJa.eyJb.c"}`, true},
		{"client secret", "GET", "/api/settings/authentication", `{"s":"a-client-secret-value"}`, true},
		{"presigned URL where allowed", "GET", "/api/msp-portal/customers/c1/documents/d1", `{"download":{"url":"` + presigned + `"}}`, false},
		{"presigned URL in another field", "GET", "/api/msp-portal/customers/c1/documents/d1", `{"download":{"url":"` + presigned + `"},"note":"` + presigned + `"}`, true},
		{"presigned URL on another route", "GET", "/api/msp-portal/customers/c1/documents", `{"items":[{"url":"` + presigned + `"}]}`, true},
		{"session token alone", "GET", "/api/me", `{"s":"` + flowSession + `"}`, true},
		{"secret key in a presigned URL", "POST", "/api/msp-portal/customers/c1/documents", `{"upload":{"url":"` + presigned + flowSecretKey + `"}}`, true},
	} {
		ex := testenv.Exchange{Method: tc.method, Path: tc.path, Status: 200, Header: http.Header{}, Body: []byte(tc.body)}
		if tc.method == "POST" {
			ex.Status = 201
		}
		if found := scan.exchange(ex); (len(found) > 0) != tc.leak {
			t.Errorf("%s: found %v, want a leak: %v", tc.name, found, tc.leak)
		}
	}
	if found := scan.check(nil, []string{`{"msg":"request","t":"` + token + `"}`, `{"msg":"x","u":"` + presigned + `"}`}); len(found) != 3 {
		t.Errorf("log lines: %v", found)
	}
}
