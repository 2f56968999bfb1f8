package sesmail_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/mail/sesmail"
)

// sesClient returns a client for moto's SES v2, skipping without moto.
func sesClient(t *testing.T) (*sesv2.Client, string) {
	t.Helper()
	ep := testenv.MotoEndpoint(t)
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	return sesmail.NewClient(cfg, ep), ep
}

// verifiedDomain makes moto accept mail from any address of a fresh domain: other
// packages share the same moto, so names are unique per test.
func verifiedDomain(t *testing.T, c *sesv2.Client) string {
	t.Helper()
	d := "mail-" + domain.NewID() + ".example"
	if _, err := c.CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(d)}); err != nil {
		t.Fatalf("create email identity %s: %v", d, err)
	}
	t.Cleanup(func() {
		_, _ = c.DeleteEmailIdentity(context.Background(), &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String(d)})
	})
	return d
}

// motoMessage is one entry of data.json's ses.Message: moto keeps the HTML part as the
// body when a message has one, else the text part.
type motoMessage struct {
	ID           string `json:"id"`
	Source       string `json:"source"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
	Destinations struct {
		ToAddresses []string `json:"ToAddresses"`
	} `json:"destinations"`
}

// sentTo returns the messages moto accepted for the address to.
func sentTo(t *testing.T, endpoint, to string) []motoMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/moto-api/data.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("data.json: %s", res.Status)
	}
	var data struct {
		SES struct {
			Message []motoMessage `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(res.Body).Decode(&data); err != nil {
		t.Fatalf("decode data.json: %v", err)
	}
	var out []motoMessage
	for _, m := range data.SES.Message {
		if slices.Contains(m.Destinations.ToAddresses, to) {
			out = append(out, m)
		}
	}
	return out
}

func TestSESSendsInvitation(t *testing.T) {
	c, ep := sesClient(t)
	d := verifiedDomain(t, c)
	from := "Switchboard <no-reply@" + d + ">"
	tests := []struct {
		name   string
		sender func(t *testing.T) mail.Sender
	}{
		{"New", func(*testing.T) mail.Sender { return sesmail.New(c, from) }},
		{"FromEnv", func(t *testing.T) mail.Sender {
			t.Setenv(mail.EnvMailFrom, from)
			t.Setenv(sesmail.EnvSESEndpoint, ep)
			t.Setenv("AWS_ACCESS_KEY_ID", "") // SESFromEnv must fall back to local credentials
			s, err := sesmail.FromEnv(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to := "invitee-" + domain.NewID() + "@fabrikam.example"
			in := invitation()
			in.To = to
			in.AcceptURL = "https://console.contosomsp.com/invitations/accept?token=" + domain.NewID()
			m, err := mail.Invitation(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.sender(t).Send(context.Background(), m); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := sentTo(t, ep, to)
			if len(got) != 1 {
				t.Fatalf("moto holds %d messages to %s, want 1", len(got), to)
			}
			g := got[0]
			if g.Source != from {
				t.Errorf("source %q, want %q", g.Source, from)
			}
			if !slices.Equal(g.Destinations.ToAddresses, []string{to}) {
				t.Errorf("destination %v, want [%s]", g.Destinations.ToAddresses, to)
			}
			if g.Subject != m.Subject {
				t.Errorf("subject %q, want %q", g.Subject, m.Subject)
			}
			if g.Body != m.HTML {
				t.Errorf("body is not the HTML part:\n%s", g.Body)
			}
			if !strings.Contains(g.Body, `href="`+in.AcceptURL+`"`) {
				t.Errorf("body lacks the accept link %s:\n%s", in.AcceptURL, g.Body)
			}
		})
	}
}

func TestSESUnverifiedSenderIsPermanent(t *testing.T) {
	c, ep := sesClient(t)
	verifiedDomain(t, c) // another domain verified must not help
	to := "invitee-" + domain.NewID() + "@fabrikam.example"
	in := invitation()
	in.To = to
	token := domain.NewID()
	in.AcceptURL = "https://console.contosomsp.com/invitations/accept?token=" + token
	m, err := mail.Invitation(in)
	if err != nil {
		t.Fatal(err)
	}
	from := "no-reply@unverified-" + domain.NewID() + ".example"
	err = sesmail.New(c, from).Send(context.Background(), m)
	if err == nil {
		t.Fatal("sending from an unverified address succeeded")
	}
	var rejected *types.MessageRejected
	if !errors.As(err, &rejected) {
		t.Errorf("error %v (%T) is not MessageRejected", err, errors.Unwrap(err))
	}
	if !mail.Permanent(err) {
		t.Errorf("Permanent(%v) = false", err)
	}
	if !strings.Contains(err.Error(), "send email to "+to) {
		t.Errorf("error %q does not name the recipient", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q reveals the token", err)
	}
	if got := sentTo(t, ep, to); len(got) != 0 {
		t.Errorf("moto holds %d rejected messages", len(got))
	}
}

func TestSESRefusesInvalidMessageLocally(t *testing.T) {
	// No endpoint is ever reached: the checks come first.
	s := sesmail.New(sesv2.New(sesv2.Options{Region: "us-east-1"}), "no-reply@contosomsp.example")
	tests := []struct {
		name string
		m    mail.Message
	}{
		{"no recipients", mail.Message{Subject: "s", Text: "t"}},
		{"no body", mail.Message{To: []string{"lee.gu@contosomsp.com"}, Subject: "s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Send(context.Background(), tc.m)
			if !errors.Is(err, mail.ErrInvalidMessage) || !mail.Permanent(err) {
				t.Errorf("error %v, want a permanent invalid-message error", err)
			}
		})
	}
}

func TestSESFromEnvNeedsSender(t *testing.T) {
	for _, from := range []string{"", "not an address"} {
		t.Run(fmt.Sprintf("%q", from), func(t *testing.T) {
			t.Setenv(mail.EnvMailFrom, from)
			if _, err := sesmail.FromEnv(context.Background()); err == nil || !strings.Contains(err.Error(), mail.EnvMailFrom) {
				t.Errorf("error %v, want one naming %s", err, mail.EnvMailFrom)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("send email to lee.gu@contosomsp.com: %w", err) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"message rejected", wrap(&types.MessageRejected{}), true},
		{"mail-from domain not verified", wrap(&types.MailFromDomainNotVerifiedException{}), true},
		{"account suspended", wrap(&types.AccountSuspendedException{}), true},
		{"sending paused", wrap(&types.SendingPausedException{}), true},
		{"bad request", wrap(&types.BadRequestException{}), true},
		{"not found", wrap(&types.NotFoundException{}), true},
		{"invalid message", wrap(mail.ErrInvalidMessage), true},
		{"throttled", wrap(&types.TooManyRequestsException{}), false},
		{"quota", wrap(&types.LimitExceededException{}), false},
		{"internal error", wrap(&types.InternalServiceErrorException{}), false},
		{"timeout", wrap(context.DeadlineExceeded), false},
		{"other", errors.New("connection reset by peer"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mail.Permanent(sesmail.Classify(tc.err)); got != tc.want {
				t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// invitation is an invitation to send through SES; its token is a placeholder.
func invitation() mail.InvitationEmail {
	return mail.InvitationEmail{To: "alex.wilber@fabrikam.example", OrganizationName: "Fabrikam IT",
		InviterName: "Adele Vance", InviterEmail: "adele.vance@fabrikam.example", Role: "Administrator",
		ExpiresAt: time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC), AcceptURL: "https://console.fabrikam.example/invitations/accept?token=placeholder"}
}
