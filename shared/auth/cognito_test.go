package auth_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// cognitoPool is a user pool on moto's Cognito, shaped like the template's: custom tid
// and amr attributes that the Entra provider maps, and an app client that reads them.
type cognitoPool struct {
	client   *cip.Client
	poolID   string
	clientID string
	endpoint string
}

func newPool(t *testing.T) cognitoPool {
	ctx := context.Background()
	ep := testenv.MotoEndpoint(t)
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	c := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(ep) })
	pool, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("switchboard-" + domain.NewID()),
		Schema: []ciptypes.SchemaAttributeType{
			{Name: aws.String("tid"), AttributeDataType: ciptypes.AttributeDataTypeString, Mutable: aws.Bool(true)},
			{Name: aws.String("amr"), AttributeDataType: ciptypes.AttributeDataTypeString, Mutable: aws.Bool(true)},
		}})
	if err != nil {
		t.Fatalf("create user pool: %v", err)
	}
	client, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: pool.UserPool.Id, ClientName: aws.String("console"),
		ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
		ReadAttributes:    []string{"email", "email_verified", "name", "custom:tid", "custom:amr"}})
	if err != nil {
		t.Fatalf("create app client: %v", err)
	}
	return cognitoPool{client: c, poolID: *pool.UserPool.Id, clientID: *client.UserPoolClient.ClientId, endpoint: ep}
}

// idToken signs a user in and returns their Cognito ID token.
func (p cognitoPool) idToken(t *testing.T, email string, verified bool, amr string) string {
	ctx := context.Background()
	attrs := []ciptypes.AttributeType{
		{Name: aws.String("email"), Value: aws.String(email)},
		{Name: aws.String("email_verified"), Value: aws.String(map[bool]string{true: "true", false: "false"}[verified])},
		{Name: aws.String("name"), Value: aws.String("Moto User")},
		{Name: aws.String("custom:tid"), Value: aws.String("72f988bf-86f1-41af-91ab-2d7cd011db47")},
	}
	if amr != "" {
		attrs = append(attrs, ciptypes.AttributeType{Name: aws.String("custom:amr"), Value: aws.String(amr)})
	}
	// A username of its own: a pool of moto's server outlives the test, and a rerun or a
	// neighbour signing the same email in must not find it taken.
	username := "u-" + domain.NewID()
	if _, err := p.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &p.poolID, Username: &username,
		UserAttributes: attrs, MessageAction: ciptypes.MessageActionTypeSuppress}); err != nil {
		t.Fatalf("create user: %v", err)
	}
	const pw = "Correct-Horse-Battery-9"
	if _, err := p.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &p.poolID, Username: &username,
		Password: aws.String(pw), Permanent: true}); err != nil {
		t.Fatalf("set password: %v", err)
	}
	out, err := p.client.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &p.poolID, ClientId: &p.clientID,
		AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": pw}})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	return *out.AuthenticationResult.IdToken
}

func (p cognitoPool) verifier(t *testing.T, audience string) *auth.Verifier {
	v, err := auth.NewVerifier(t.Context(), p.endpoint+"/"+p.poolID+"/.well-known/jwks.json",
		"https://cognito-idp.us-east-1.amazonaws.com/"+p.poolID, audience)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCognitoIDTokens(t *testing.T) {
	pool := newPool(t)
	tok := pool.idToken(t, "Erin@Contoso.example", true, `["mfa"]`)

	claims, err := pool.verifier(t, pool.clientID).Verify(tok)
	if err != nil {
		t.Fatalf("verify a Cognito ID token: %v", err)
	}
	p, err := claims.Principal()
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "Erin@Contoso.example" || !p.EmailVerified || !p.HasMFA() || p.EntraTenantID == "" || p.SessionID == "" {
		t.Fatalf("principal = %+v", p)
	}
	if _, err := pool.verifier(t, "another-app-client").Verify(tok); err == nil {
		t.Fatal("a token for another app client was accepted")
	}

	// The API accepts it end to end: the first request creates the user.
	env := testenv.NewWithVerifier(t, testenv.NewTable(t, testenv.DynamoDB(t)), pool.verifier(t, pool.clientID))
	res := env.Get("/api/me", tok)
	if res.Status != http.StatusOK || res.Map(t)["user"].(map[string]any)["email"] != "erin@contoso.example" {
		t.Fatalf("GET /api/me with a Cognito token: %d %s", res.Status, res.Body)
	}
	if res := env.Get("/api/msp-portal/settings/profile", tok); res.Status != http.StatusOK {
		t.Fatalf("profile with an MFA Cognito token: %d %s", res.Status, res.Body)
	}

	// Without MFA the new organization's sign-in rule refuses; an unverified email never
	// maps to a user.
	noMFA := pool.idToken(t, "frank@contoso.example", true, "")
	if res := env.Get("/api/msp-portal/settings/profile", noMFA); res.Status != http.StatusUnauthorized || res.Map(t)["code"] != auth.CodeMFARequired {
		t.Fatalf("without MFA: %d %s", res.Status, res.Body)
	}
	unverified := pool.idToken(t, "grace@contoso.example", false, `["mfa"]`)
	if res := env.Get("/api/me", unverified); res.Status != http.StatusUnauthorized || res.Map(t)["code"] != auth.CodeEmailNotVerified {
		t.Fatalf("unverified: %d %s", res.Status, res.Body)
	}
}
