package cognito_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// pool is a user pool on moto's Cognito, shaped like the template's: custom tid and amr
// attributes, and a console app client with the template's hosted-UI settings (and
// every other updatable setting set, so that a reset shows) that also signs in with a
// password and refreshes.
type pool struct {
	// client is for the tests' own calls; dir's calls go through another client whose
	// UpdateUserPoolClient calls are logged in updates.
	client   *cip.Client
	id       string
	clientID string
	// dir lists providers on the app client; bare is a Directory without one.
	dir, bare *cognito.Directory
	updates   *updateLog
	endpoint  string
}

// updateLog records the UpdateUserPoolClient requests a Directory sends.
type updateLog struct {
	mu   sync.Mutex
	reqs []cip.UpdateUserPoolClientInput
	// intercept, when set, runs each call in place of sending it: n counts the calls
	// from 0, and send sends the call.
	intercept func(n int, send func() error) error
}

func (l *updateLog) requests() []cip.UpdateUserPoolClientInput {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}

func (l *updateLog) setIntercept(f func(n int, send func() error) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.intercept = f
}

// middleware logs (and lets intercept replace) the UpdateUserPoolClient calls.
func (l *updateLog) middleware(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("updateLog",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			req, ok := in.Parameters.(*cip.UpdateUserPoolClientInput)
			if !ok {
				return next.HandleInitialize(ctx, in)
			}
			l.mu.Lock()
			n := len(l.reqs)
			l.reqs = append(l.reqs, *req)
			intercept := l.intercept
			l.mu.Unlock()
			if intercept == nil {
				return next.HandleInitialize(ctx, in)
			}
			var out middleware.InitializeOutput
			var md middleware.Metadata
			err := intercept(n, func() error {
				var err error
				out, md, err = next.HandleInitialize(ctx, in)
				return err
			})
			return out, md, err
		}), middleware.Before)
}

// consoleClient is the app client's configuration: the template's, with the password
// flow the tests sign in with, and every other updatable setting given a value.
func consoleClient(poolID string) *cip.CreateUserPoolClientInput {
	return &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(poolID),
		ClientName: aws.String("console"),
		ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth,
			ciptypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		AllowedOAuthFlowsUserPoolClient: true,
		AllowedOAuthFlows:               []ciptypes.OAuthFlowType{ciptypes.OAuthFlowTypeCode},
		AllowedOAuthScopes:              []string{"openid", "email", "profile"},
		CallbackURLs:                    []string{"https://console.example/auth/callback", "http://localhost:5173/auth/callback"},
		LogoutURLs:                      []string{"https://console.example/"},
		DefaultRedirectURI:              aws.String("https://console.example/auth/callback"),
		SupportedIdentityProviders:      []string{"COGNITO"},
		ReadAttributes:                  []string{"custom:amr", "custom:tid", "email", "email_verified", "name"},
		WriteAttributes:                 []string{"custom:amr", "custom:tid", "email", "name"},
		PreventUserExistenceErrors:      ciptypes.PreventUserExistenceErrorTypesEnabled,
		EnableTokenRevocation:           aws.Bool(true),
		IdTokenValidity:                 aws.Int32(60),
		AccessTokenValidity:             aws.Int32(45),
		RefreshTokenValidity:            7,
		TokenValidityUnits: &ciptypes.TokenValidityUnitsType{IdToken: ciptypes.TimeUnitsTypeMinutes,
			AccessToken: ciptypes.TimeUnitsTypeMinutes, RefreshToken: ciptypes.TimeUnitsTypeDays},
		AuthSessionValidity:                      aws.Int32(5),
		EnablePropagateAdditionalUserContextData: aws.Bool(true),
		AnalyticsConfiguration: &ciptypes.AnalyticsConfigurationType{ApplicationId: aws.String("0123456789abcdef"),
			RoleArn: aws.String("arn:aws:iam::123456789012:role/pinpoint"), ExternalId: aws.String("switchboard"), UserDataShared: true},
		RefreshTokenRotation: &ciptypes.RefreshTokenRotationType{Feature: ciptypes.FeatureTypeDisabled,
			RetryGracePeriodSeconds: aws.Int32(10)},
	}
}

func newPool(t *testing.T) pool {
	t.Helper()
	ctx := t.Context()
	ep := testenv.MotoEndpoint(t)
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	c := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(ep) })
	log := &updateLog{}
	logged := cip.NewFromConfig(cfg, func(o *cip.Options) {
		o.BaseEndpoint = aws.String(ep)
		o.APIOptions = append(o.APIOptions, log.middleware)
	})
	up, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("switchboard-" + domain.NewID()),
		Schema: []ciptypes.SchemaAttributeType{
			{Name: aws.String("tid"), AttributeDataType: ciptypes.AttributeDataTypeString, Mutable: aws.Bool(true)},
			{Name: aws.String("amr"), AttributeDataType: ciptypes.AttributeDataTypeString, Mutable: aws.Bool(true)},
		}})
	if err != nil {
		t.Fatalf("create user pool: %v", err)
	}
	id := aws.ToString(up.UserPool.Id)
	app, err := c.CreateUserPoolClient(ctx, consoleClient(id))
	if err != nil {
		t.Fatalf("create app client: %v", err)
	}
	clientID := aws.ToString(app.UserPoolClient.ClientId)
	return pool{client: c, id: id, clientID: clientID, dir: cognito.New(logged, id).WithAppClient(clientID),
		bare: cognito.New(logged, id), updates: log, endpoint: ep}
}

// appClient describes the pool's app client.
func (p pool) appClient(t *testing.T) *ciptypes.UserPoolClientType {
	t.Helper()
	out, err := p.client.DescribeUserPoolClient(t.Context(), &cip.DescribeUserPoolClientInput{UserPoolId: &p.id, ClientId: &p.clientID})
	if err != nil {
		t.Fatalf("describe app client: %v", err)
	}
	return out.UserPoolClient
}

// describe reads a provider back from the pool, secret included.
func (p pool) describe(t *testing.T, name string) *ciptypes.IdentityProviderType {
	t.Helper()
	out, err := p.client.DescribeIdentityProvider(t.Context(), &cip.DescribeIdentityProviderInput{
		UserPoolId: &p.id, ProviderName: &name})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	return out.IdentityProvider
}

// session is one password sign-in's tokens.
type session struct{ access, refresh string }

// signIn creates a pool user (username, email) and signs them in.
func (p pool) signIn(t *testing.T, username, email string) session {
	t.Helper()
	ctx := t.Context()
	if _, err := p.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &p.id, Username: &username,
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		}, MessageAction: ciptypes.MessageActionTypeSuppress}); err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	const pw = "Correct-Horse-Battery-9"
	if _, err := p.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &p.id, Username: &username,
		Password: aws.String(pw), Permanent: true}); err != nil {
		t.Fatalf("set password: %v", err)
	}
	out, err := p.client.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &p.id, ClientId: &p.clientID,
		AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": pw}})
	if err != nil {
		t.Fatalf("sign in %s: %v", username, err)
	}
	return session{access: aws.ToString(out.AuthenticationResult.AccessToken), refresh: aws.ToString(out.AuthenticationResult.RefreshToken)}
}

// signedIn reports whether a session still works: its access token is accepted and its
// refresh token renews it.
func (p pool) signedIn(t *testing.T, s session) (access, refresh bool) {
	t.Helper()
	ctx := t.Context()
	_, err := p.client.GetUser(ctx, &cip.GetUserInput{AccessToken: &s.access})
	access = err == nil
	_, err = p.client.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &p.id, ClientId: &p.clientID,
		AuthFlow: ciptypes.AuthFlowTypeRefreshTokenAuth, AuthParameters: map[string]string{"REFRESH_TOKEN": s.refresh}})
	refresh = err == nil
	return access, refresh
}

const (
	tenantA = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientA = "0f1e2d3c-4b5a-4697-8877-665544332211"
	clientB = "11111111-2222-4333-8444-555555555555"
)

func TestPutEntraProviderCreatesAndUpdates(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	org := "org-" + domain.NewID()
	name := identity.ProviderName(org)

	// A first set-up without a secret names the field.
	_, err := p.dir.PutEntraProvider(ctx, org, identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, Domains: []string{"contoso.example"}})
	if got := badFields(t, err); !slices.Equal(got, []string{"clientSecret"}) {
		t.Fatalf("create without a secret: %v", err)
	}

	steps := []struct {
		name       string
		cfg        identity.SSOConfig
		wantSecret string
		wantDomain []string
		wantClient string
	}{
		{"create", identity.SSOConfig{EntraTenantID: " " + strings.ToUpper(tenantA), ClientID: clientA, ClientSecret: "first-secret",
			Domains: []string{"Contoso.example", "@fabrikam.example", "contoso.example."}},
			"first-secret", []string{"contoso.example", "fabrikam.example"}, clientA},
		{"update without a secret keeps it", identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientB,
			Domains: []string{"contoso.example"}},
			"first-secret", []string{"contoso.example"}, clientB},
		{"update with a secret replaces it", identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientB, ClientSecret: "second-secret",
			Domains: []string{"contoso.example", "northwind.example"}},
			"second-secret", []string{"contoso.example", "northwind.example"}, clientB},
		{"a later update without a secret keeps the new one", identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientB,
			Domains: []string{"northwind.example"}},
			"second-secret", []string{"northwind.example"}, clientB},
	}
	for _, s := range steps {
		info, err := p.dir.PutEntraProvider(ctx, org, s.cfg)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		issuer := "https://login.microsoftonline.com/" + tenantA + "/v2.0"
		if info.ProviderName != name || info.Issuer != issuer || info.EntraTenantID != tenantA || info.ClientID != s.wantClient ||
			!slices.Equal(info.Domains, s.wantDomain) || !info.HasClientSecret {
			t.Fatalf("%s: info = %+v", s.name, info)
		}
		if strings.Contains(fmt.Sprintf("%#v", info), s.wantSecret) {
			t.Fatalf("%s: the info holds the secret: %#v", s.name, info)
		}

		got := p.describe(t, name)
		wantDetails := map[string]string{
			"client_id":                 s.wantClient,
			"client_secret":             s.wantSecret,
			"authorize_scopes":          "openid email profile",
			"oidc_issuer":               issuer,
			"attributes_request_method": "GET",
		}
		for k, v := range wantDetails {
			if got.ProviderDetails[k] != v {
				t.Errorf("%s: detail %s = %q, want %q", s.name, k, got.ProviderDetails[k], v)
			}
		}
		if got.ProviderType != ciptypes.IdentityProviderTypeTypeOidc {
			t.Errorf("%s: type = %q", s.name, got.ProviderType)
		}
		if !slices.Equal(got.IdpIdentifiers, s.wantDomain) {
			t.Errorf("%s: identifiers = %v, want %v", s.name, got.IdpIdentifiers, s.wantDomain)
		}
		for k, v := range map[string]string{"email": "email", "custom:tid": "tid", "custom:amr": "amr", "email_verified": "xms_edov"} {
			if got.AttributeMapping[k] != v {
				t.Errorf("%s: mapping %s = %q, want %q", s.name, k, got.AttributeMapping[k], v)
			}
		}

		read, ok, err := p.dir.EntraProvider(ctx, org)
		if err != nil || !ok || read.ClientID != s.wantClient || read.EntraTenantID != tenantA || read.Issuer != issuer ||
			!slices.Equal(read.Domains, s.wantDomain) || !read.HasClientSecret {
			t.Fatalf("%s: read back %+v %v %v", s.name, read, ok, err)
		}
	}

	// Another organization gets another provider; its own ids are untouched.
	other, err := p.dir.PutEntraProvider(ctx, "org-"+domain.NewID(), identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA,
		ClientSecret: "other-secret", Domains: []string{"adatum.example"}})
	if err != nil || other.ProviderName == name {
		t.Fatalf("other organization: %+v %v", other, err)
	}
	if got := p.describe(t, name); got.ProviderDetails["client_secret"] != "second-secret" {
		t.Fatalf("the first provider changed: %v", got.ProviderDetails)
	}
}

// moto does not enforce unique identifiers across a pool's providers (it stores them
// as given), so this test asserts ErrDomainTaken only where the emulator refuses; the
// mapping of Cognito's refusals to ErrDomainTaken is tested on constructed smithy errors
// in sso_internal_test.go.
func TestPutEntraProviderDomainOfAnotherOrganization(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	cfg := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s", Domains: []string{"contoso.example"}}
	if _, err := p.dir.PutEntraProvider(ctx, "org-a", cfg); err != nil {
		t.Fatal(err)
	}
	_, err := p.dir.PutEntraProvider(ctx, "org-b", cfg)
	switch {
	case err == nil:
		t.Log("moto accepted a duplicate identifier across providers; real Cognito refuses it")
	case !errors.Is(err, identity.ErrDomainTaken):
		t.Fatalf("duplicate domain: %v, want ErrDomainTaken", err)
	case problem.As(err).Status() != 409:
		t.Fatalf("ErrDomainTaken is not a 409 problem: %v", err)
	}
}

func TestDeleteEntraProvider(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	org := "org-" + domain.NewID()
	if err := p.dir.DeleteEntraProvider(ctx, org); err != nil {
		t.Fatalf("delete an absent provider: %v", err)
	}
	if _, err := p.dir.PutEntraProvider(ctx, org, identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA,
		ClientSecret: "s", Domains: []string{"contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.dir.DeleteEntraProvider(ctx, org); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, ok, err := p.dir.EntraProvider(ctx, org); ok || err != nil {
		t.Fatalf("after delete: %v %v", ok, err)
	}
	if err := p.dir.DeleteEntraProvider(ctx, org); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
	// Set up again after a delete, a secret is required again.
	_, err := p.dir.PutEntraProvider(ctx, org, identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, Domains: []string{"contoso.example"}})
	if got := badFields(t, err); !slices.Equal(got, []string{"clientSecret"}) {
		t.Fatalf("set up again without a secret: %v", err)
	}
}

func TestGlobalSignOut(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	const email = "megan.bowen@contoso.example"
	// The same person as a native user and as a federated one (Cognito names those
	// "<provider>_<subject>"), and someone else who must stay signed in.
	native := p.signIn(t, "native-"+domain.NewID(), email)
	federated := p.signIn(t, identity.ProviderName("org-a")+"_"+domain.NewID(), email)
	bystander := p.signIn(t, "other-"+domain.NewID(), "lee.gu@contoso.example")
	for _, s := range []session{native, federated, bystander} {
		if a, r := p.signedIn(t, s); !a || !r {
			t.Fatalf("before sign-out: access %v refresh %v", a, r)
		}
	}

	if err := p.dir.GlobalSignOut(ctx, email); err != nil {
		t.Fatalf("global sign-out: %v", err)
	}
	for name, s := range map[string]session{"native": native, "federated": federated} {
		if a, r := p.signedIn(t, s); a || r {
			t.Errorf("%s user after sign-out: access %v refresh %v", name, a, r)
		}
	}
	if a, r := p.signedIn(t, bystander); !a || !r {
		t.Errorf("someone else after sign-out: access %v refresh %v", a, r)
	}

	for _, e := range []string{"nobody@contoso.example", `odd"quote\slash@contoso.example`} {
		if err := p.dir.GlobalSignOut(ctx, e); err != nil {
			t.Errorf("unknown email %q: %v", e, err)
		}
	}
	if err := p.dir.GlobalSignOut(ctx, " "); err == nil {
		t.Error("an empty email was accepted")
	}
}

func TestNilDirectory(t *testing.T) {
	t.Setenv(identity.EnvUserPoolID, "")
	d, err := cognito.FromEnv(t.Context())
	if d != nil || err != nil {
		t.Fatalf("FromEnv without a pool: %v %v", d, err)
	}
	ctx := context.Background()
	if err := d.GlobalSignOut(ctx, "megan.bowen@contoso.example"); err != nil {
		t.Errorf("GlobalSignOut: %v", err)
	}
	cfg := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s", Domains: []string{"contoso.example"}}
	if _, err := d.PutEntraProvider(ctx, "org", cfg); !errors.Is(err, identity.ErrNoUserPool) {
		t.Errorf("PutEntraProvider: %v", err)
	}
	if _, ok, err := d.EntraProvider(ctx, "org"); ok || err != nil {
		t.Errorf("EntraProvider: %v %v", ok, err)
	}
	if err := d.DeleteEntraProvider(ctx, "org"); err != nil {
		t.Errorf("DeleteEntraProvider: %v", err)
	}
	if d.PoolID() != "" || d.AppClientID() != "" {
		t.Errorf("PoolID = %q, AppClientID = %q", d.PoolID(), d.AppClientID())
	}
	if d.WithAppClient("client") != nil {
		t.Error("WithAppClient on a nil Directory is not nil")
	}
}

func TestFromEnvOnMoto(t *testing.T) {
	p := newPool(t)
	t.Setenv(identity.EnvUserPoolID, p.id)
	t.Setenv(identity.EnvCognitoEndpoint, p.endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	cfg := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s", Domains: []string{"contoso.example"}}

	// Without USER_POOL_CLIENT_ID, providers are listed on no app client.
	t.Setenv(identity.EnvUserPoolClientID, "")
	d, err := cognito.FromEnv(t.Context())
	if err != nil || d == nil || d.PoolID() != p.id || d.AppClientID() != "" {
		t.Fatalf("FromEnv: %v %v", d, err)
	}
	got, err := d.PutEntraProvider(t.Context(), "org-env", cfg)
	if err != nil || got.Registered {
		t.Fatalf("put through FromEnv's client: %+v %v", got, err)
	}
	if got := p.describe(t, identity.ProviderName("org-env")); aws.ToString(got.ProviderName) == "" {
		t.Fatal("the provider is not in the pool")
	}
	if ps := p.appClient(t).SupportedIdentityProviders; !slices.Equal(ps, []string{"COGNITO"}) {
		t.Fatalf("providers of the app client without USER_POOL_CLIENT_ID: %v", ps)
	}

	// With it, the same call lists the provider on the client.
	t.Setenv(identity.EnvUserPoolClientID, " "+p.clientID+" ")
	if d, err = cognito.FromEnv(t.Context()); err != nil || d.AppClientID() != p.clientID {
		t.Fatalf("FromEnv with a client: %v %v", d, err)
	}
	if got, err = d.PutEntraProvider(t.Context(), "org-env", identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA,
		Domains: []string{"contoso.example"}}); err != nil || !got.Registered {
		t.Fatalf("put with USER_POOL_CLIENT_ID: %+v %v", got, err)
	}
	if ps := p.appClient(t).SupportedIdentityProviders; !slices.Equal(ps, []string{"COGNITO", identity.ProviderName("org-env")}) {
		t.Fatalf("providers of the app client with USER_POOL_CLIENT_ID: %v", ps)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s", Domains: []string{"contoso.example"}}
	many := make([]string, identity.MaxSSODomains+1)
	for i := range many {
		many[i] = fmt.Sprintf("d%d.example", i)
	}
	cases := []struct {
		name   string
		edit   func(*identity.SSOConfig)
		fields []string
	}{
		{"good", func(*identity.SSOConfig) {}, nil},
		{"no secret is valid", func(c *identity.SSOConfig) { c.ClientSecret = "" }, nil},
		{"tenant not a GUID", func(c *identity.SSOConfig) { c.EntraTenantID = "contoso.onmicrosoft.com" }, []string{"entraTenantId"}},
		{"client not a GUID", func(c *identity.SSOConfig) { c.ClientID = "" }, []string{"clientId"}},
		{"secret too long", func(c *identity.SSOConfig) { c.ClientSecret = strings.Repeat("x", identity.MaxClientSecret+1) }, []string{"clientSecret"}},
		{"no domains", func(c *identity.SSOConfig) { c.Domains = nil }, []string{"domains"}},
		{"blank domain", func(c *identity.SSOConfig) { c.Domains = []string{" "} }, []string{"domains[0]"}},
		{"too many domains", func(c *identity.SSOConfig) { c.Domains = many }, []string{"domains"}},
		{"bad domains", func(c *identity.SSOConfig) {
			c.Domains = []string{"contoso.example", "no_underscores.example", "localhost", strings.Repeat("a", 40) + ".example"}
		}, []string{"domains[1]", "domains[2]", "domains[3]"}},
		{"everything", func(c *identity.SSOConfig) {
			*c = identity.SSOConfig{EntraTenantID: "x", ClientID: "y", ClientSecret: strings.Repeat("x", 2000), Domains: []string{"-"}}
		}, []string{"entraTenantId", "clientId", "clientSecret", "domains[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			cfg.Domains = slices.Clone(good.Domains)
			c.edit(&cfg)
			cfg.Normalize()
			err := cfg.Validate()
			if got := badFields(t, err); !slices.Equal(got, c.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, c.fields, err)
			}
		})
	}
}

// badFields returns the fields a 400 problem names; nil for no error, and fails the
// test on any other error.
func badFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Status() != 400 {
		t.Fatalf("not a 400 problem: %v", err)
	}
	var fields []string
	for _, f := range pe.Fields {
		fields = append(fields, f.Field)
	}
	return fields
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	c := identity.SSOConfig{EntraTenantID: " 72F988BF-86F1-41AF-91AB-2D7CD011DB47 ", ClientID: clientA, ClientSecret: " s3cret\n",
		Domains: []string{"Contoso.Example", "@contoso.example", "fabrikam.example.", " contoso.example "}}
	c.Normalize()
	if c.EntraTenantID != tenantA || c.ClientSecret != "s3cret" || !slices.Equal(c.Domains, []string{"contoso.example", "fabrikam.example"}) {
		t.Fatalf("normalized = %+v", c)
	}
}

// cognitoProviderName is Cognito's ProviderName constraint: 1-32 characters of the
// pattern below.
var cognitoProviderName = regexp.MustCompile(`^[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+$`)

func TestProviderName(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, org := range []string{"contoso-msp", "a", domain.NewID(), strings.Repeat("x_y ", 40), "org_with_underscores"} {
		n := identity.ProviderName(org)
		if n != identity.ProviderName(org) {
			t.Fatalf("%q: not stable", org)
		}
		if len(n) > 32 || !cognitoProviderName.MatchString(n) || !strings.HasPrefix(n, "entra-") {
			t.Fatalf("%q: %q is not a valid Cognito provider name", org, n)
		}
		if prev, ok := seen[n]; ok {
			t.Fatalf("%q and %q share %q", prev, org, n)
		}
		seen[n] = org
	}
}
