package api_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
	"github.com/switchboard-msp/switchboard/shared/mail/sesmail"
)

// temporaryPassword reads the temporary password out of a sign-in email, in its text or
// (what moto keeps) its HTML part.
var temporaryPassword = regexp.MustCompile(`temporary password:\s*(?:<code[^>]*>)?([^<\s]+)`)

// TestSubOrganizationAdminOnMoto: the default admin gets a Cognito account through
// AdminCreateUser (Cognito's message suppressed) and an SES email with its temporary
// password, which signs in; a reset issues a new one, and the old one stops working.
func TestSubOrganizationAdminOnMoto(t *testing.T) {
	cfg, ep := motoConfig(t)
	ctx := context.Background()
	ses := sesmail.NewClient(cfg, ep)
	sender := "mail-" + strings.ToLower(domain.NewID()) + ".example"
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	c, poolID, clientID := cognitoPool(t)
	m := newMSP(t)
	m.env.Deps.Mail = sesmail.New(ses, "Switchboard <no-reply@"+sender+">")
	m.env.Deps.Identity = cognito.New(c, poolID).WithAppClient(clientID)

	email := "admin-" + strings.ToLower(domain.NewID()) + "@northwind.example"
	created := m.create(t, "Northwind Traders", email)
	if created.DefaultAdmin.Account != "created" || !created.DefaultAdmin.EmailSent {
		t.Fatalf("created %+v", created.DefaultAdmin)
	}
	user, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &poolID, Username: aws.String(email)})
	if err != nil || user.UserStatus != ciptypes.UserStatusTypeForceChangePassword {
		t.Fatalf("pool user: %+v %v", user, err)
	}
	password := func(i int) string {
		t.Helper()
		sent := motoSent(t, ep, email)
		if len(sent) <= i {
			t.Fatalf("%d emails to the admin, want %d", len(sent), i+1)
		}
		got := temporaryPassword.FindStringSubmatch(sent[i].Body)
		if got == nil {
			t.Fatalf("no temporary password in %q", sent[i].Body)
		}
		return html.UnescapeString(got[1])
	}
	signIn := func(pw string) error {
		_, err := c.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: &poolID, ClientId: &clientID,
			AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": email, "PASSWORD": pw}})
		return err
	}
	first := password(0)
	if err := signIn(first); err != nil {
		t.Fatalf("the emailed password does not sign in: %v", err)
	}

	res := m.do(m.org.OwnerToken, "POST", subOrgsPath+"/"+created.ID+"/admins/"+created.DefaultAdmin.UserID+"/reset", m.org.ID, nil)
	if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"method":"password-reset"`) {
		t.Fatalf("reset: %d %s", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), password(1)) {
		t.Fatalf("the answer shows the password")
	}
	if err := signIn(password(1)); err != nil || signIn(first) == nil {
		t.Errorf("after the reset: the new password %v, the old one still works: %v", err, signIn(first) == nil)
	}
}
