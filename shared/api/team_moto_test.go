package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/switchboard-msp/switchboard/infra/devauth"
	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/mail/sesmail"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

func motoConfig(t *testing.T) (aws.Config, string) {
	t.Helper()
	ep := testenv.MotoEndpoint(t)
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	return cfg, ep
}

// motoSent returns the bodies and subjects moto's SES accepted for the address to.
func motoSent(t *testing.T, endpoint, to string) []struct{ Subject, Body string } {
	t.Helper()
	res, err := http.Get(strings.TrimRight(endpoint, "/") + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var data struct {
		SES struct {
			Message []struct {
				Subject      string `json:"subject"`
				Body         string `json:"body"`
				Destinations struct {
					ToAddresses []string `json:"ToAddresses"`
				} `json:"destinations"`
			} `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(res.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	var out []struct{ Subject, Body string }
	for _, m := range data.SES.Message {
		if slices.Contains(m.Destinations.ToAddresses, to) {
			out = append(out, struct{ Subject, Body string }{m.Subject, m.Body})
		}
	}
	return out
}

// TestInvitationThroughSES sends the invitation through moto's SES v2 and reads it back.
func TestInvitationThroughSES(t *testing.T) {
	cfg, ep := motoConfig(t)
	ses := sesmail.NewClient(cfg, ep)
	sender := "mail-" + domain.NewID() + ".example"
	if _, err := ses.CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	env.Deps.Mail = sesmail.New(ses, "Switchboard <no-reply@"+sender+">")
	org := env.NewOrg("owner@ses.example")
	invitee := "invitee-" + domain.NewID() + "@ses.example"
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: map[string]any{"email": invitee, "role": "Technician"}})
	if res.Status != http.StatusCreated || res.Map(t)["status"] != domain.StatusInvited {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	sent := motoSent(t, ep, invitee)
	if len(sent) != 1 || !strings.Contains(sent[0].Body, "https://console.test/invitations/accept?token=") ||
		!strings.Contains(sent[0].Body, "Technician") || !strings.Contains(sent[0].Subject, "owner") {
		t.Fatalf("moto holds %+v", sent)
	}

	// SES refusing (an unverified sender) keeps the invitation as email-failed.
	env.Deps.Mail = sesmail.New(ses, "no-reply@unverified-"+domain.NewID()+".example")
	res = env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: map[string]any{"email": "second@ses.example", "role": "Read-Only"}})
	if res.Status != http.StatusCreated || res.Map(t)["status"] != domain.StatusEmailFailed {
		t.Fatalf("invite with a refused email: %d %s", res.Status, res.Body)
	}
}

// cognitoPool is a user pool on moto with the console app client.
func cognitoPool(t *testing.T) (*cip.Client, string, string) {
	t.Helper()
	cfg, ep := motoConfig(t)
	c := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(ep) })
	ctx := context.Background()
	pool, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("switchboard-" + domain.NewID()),
		Schema: []ciptypes.SchemaAttributeType{
			{Name: aws.String("tid"), AttributeDataType: ciptypes.AttributeDataTypeString, Mutable: aws.Bool(true)},
			{Name: aws.String("amr"), AttributeDataType: ciptypes.AttributeDataTypeString, Mutable: aws.Bool(true)},
		}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: pool.UserPool.Id, ClientName: aws.String("console"),
		ExplicitAuthFlows:          []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
		SupportedIdentityProviders: []string{"COGNITO"}})
	if err != nil {
		t.Fatal(err)
	}
	return c, aws.ToString(pool.UserPool.Id), aws.ToString(app.UserPoolClient.ClientId)
}

// TestRemovalSignsOutGlobally: where a user pool is configured, a removed member's
// Cognito sessions end too.
func TestRemovalSignsOutGlobally(t *testing.T) {
	c, poolID, clientID := cognitoPool(t)
	ctx := context.Background()
	email := "leaver-" + domain.NewID() + "@pool.example"
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &poolID, Username: aws.String(email),
		UserAttributes: []ciptypes.AttributeType{{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")}},
		MessageAction: ciptypes.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	const pw = "Correct-Horse-Battery-9"
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &poolID, Username: aws.String(email), Password: aws.String(pw), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	auth, err := c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &poolID, ClientId: &clientID,
		AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": pw}})
	if err != nil {
		t.Fatal(err)
	}
	access := auth.AuthenticationResult.AccessToken

	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	env.Deps.Identity = cognito.New(c, poolID).WithAppClient(clientID)
	org := env.NewOrg("owner@pool.example")
	tok := env.AddMember(org.ID, permission.Technician, email)
	id := getMe(t, env, tok).User.ID
	if _, err := c.GetUser(ctx, &cip.GetUserInput{AccessToken: access}); err != nil {
		t.Fatalf("signed in before removal: %v", err)
	}
	if r := env.Do(testenv.Request{Method: "DELETE", Path: "/api/settings/platform-users/" + id, Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}}); r.Status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if _, err := c.GetUser(ctx, &cip.GetUserInput{AccessToken: access}); err == nil {
		t.Fatal("the removed member's Cognito session still works")
	}
}

// TestOrganizationSSO sets up the organization's own Entra provider on moto's Cognito,
// never shows the secret, and binds invitations to that Entra tenant.
func TestOrganizationSSO(t *testing.T) {
	c, poolID, clientID := cognitoPool(t)
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	env.Deps.Identity = cognito.New(c, poolID).WithAppClient(clientID)
	org := env.NewOrg("owner@sso.example")
	const entraTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	put := func(body map[string]any) *testenv.Response {
		return env.Do(testenv.Request{Method: "PUT", Path: "/api/settings/authentication/sso", Token: org.OwnerToken,
			Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: body})
	}
	if r := put(map[string]any{"entraTenantId": "not-a-guid", "clientId": "0f1e2d3c-4b5a-4697-8877-665544332211", "domains": []string{}}); r.Status != http.StatusBadRequest {
		t.Fatalf("bad sso: %d %s", r.Status, r.Body)
	} else {
		fieldNamed(t, r, "entraTenantId")
	}
	const secret = "super-secret-value-do-not-show"
	r := put(map[string]any{"entraTenantId": entraTenant, "clientId": "0f1e2d3c-4b5a-4697-8877-665544332211",
		"clientSecret": secret, "domains": []string{"SSO.example"}})
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), secret) {
		t.Fatalf("set up sso: %d %s", r.Status, r.Body)
	}
	var view struct {
		SSO struct {
			ProviderName    string
			Issuer          string
			Domains         []string
			HasClientSecret bool
		}
	}
	r.JSON(t, &view)
	if view.SSO.Issuer != "https://login.microsoftonline.com/"+entraTenant+"/v2.0" || !view.SSO.HasClientSecret ||
		!slices.Equal(view.SSO.Domains, []string{"sso.example"}) {
		t.Fatalf("sso view %+v", view)
	}
	idp, err := c.DescribeIdentityProvider(context.Background(), &cip.DescribeIdentityProviderInput{UserPoolId: &poolID, ProviderName: &view.SSO.ProviderName})
	if err != nil {
		t.Fatal(err)
	}
	p := idp.IdentityProvider
	if p.ProviderDetails["oidc_issuer"] != view.SSO.Issuer || p.ProviderDetails["client_secret"] != secret ||
		p.AttributeMapping["custom:tid"] != "tid" || !slices.Contains(p.IdpIdentifiers, "sso.example") {
		t.Fatalf("provider in the pool: %+v", p)
	}
	if g := env.Do(testenv.Request{Method: "GET", Path: "/api/settings/authentication", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}}); g.Status != http.StatusOK || strings.Contains(string(g.Body), secret) {
		t.Fatalf("get: %d %s", g.Status, g.Body)
	}

	// An invitation to this organization needs a sign-in from its Entra tenant.
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/settings/platform-users", Token: org.OwnerToken,
		Headers: map[string]string{api.HeaderOrganization: org.ID}, Body: map[string]any{"email": "consultant@sso.example", "role": "Read-Only"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("invite: %d %s", res.Status, res.Body)
	}
	token, _ := tokenFromOutbox(t, env, "consultant@sso.example")
	accept := func(tid string) *testenv.Response {
		tok := env.TokenFor(devauth.Identity{Email: "consultant@sso.example", MFA: true, EntraTenantID: tid})
		return env.Do(testenv.Request{Method: "POST", Path: "/api/invitations/accept", Token: tok, Body: map[string]string{"token": token}})
	}
	if r := accept("11111111-2222-3333-4444-555555555555"); r.Status != http.StatusForbidden || code(t, r) != "entra-tenant-mismatch" {
		t.Fatalf("accept from another Entra tenant: %d %s", r.Status, r.Body)
	}
	if r := accept(entraTenant); r.Status != http.StatusOK {
		t.Fatalf("accept from the organization's tenant: %d %s", r.Status, r.Body)
	}
}
