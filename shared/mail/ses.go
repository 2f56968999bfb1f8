package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
)

// Environment variables read by SESFromEnv.
const (
	// EnvMailFrom is the sender address, e.g. "Switchboard <no-reply@example.com>"; its
	// address or domain must be a verified SES identity.
	EnvMailFrom = "MAIL_FROM"
	// EnvSESEndpoint overrides the SES endpoint (moto in tests); unset in the cloud.
	EnvSESEndpoint = "SES_ENDPOINT"
)

const charset = "UTF-8"

// ErrInvalidMessage marks a message (or its rendering input) that can never be sent as
// it is. Permanent reports true for it.
var ErrInvalidMessage = errors.New("invalid email")

// SES sends messages through the SES v2 API.
type SES struct {
	client *sesv2.Client
	from   string
}

var _ Sender = (*SES)(nil)

// NewSES returns a Sender that sends from the address from through client.
func NewSES(client *sesv2.Client, from string) *SES {
	return &SES{client: client, from: from}
}

// NewSESClient returns an SES v2 client, pointed at endpoint when it is not empty.
func NewSESClient(cfg aws.Config, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// SESFromEnv returns a Sender configured from MAIL_FROM and SES_ENDPOINT.
func SESFromEnv(ctx context.Context) (*SES, error) {
	if _, err := fromEnv(); err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	return SESFromEnvConfig(cfg)
}

// SESFromEnvConfig is SESFromEnv on an AWS configuration the caller has loaded already,
// so a Lambda loads it once at start.
func SESFromEnvConfig(cfg aws.Config) (*SES, error) {
	from, err := fromEnv()
	if err != nil {
		return nil, err
	}
	endpoint := os.Getenv(EnvSESEndpoint)
	// awsconfig.Load only switches to local credentials for DYNAMODB_ENDPOINT; an SES
	// emulator alone needs them too.
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		cfg.Credentials = awsconfig.LocalCredentials()
	}
	return NewSES(NewSESClient(cfg, endpoint), from), nil
}

// fromEnv is the sender's address of MAIL_FROM.
func fromEnv() (string, error) {
	from := strings.TrimSpace(os.Getenv(EnvMailFrom))
	if from == "" {
		return "", fmt.Errorf("%s is not set", EnvMailFrom)
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return "", fmt.Errorf("%s: %w", EnvMailFrom, err)
	}
	return from, nil
}

// Send sends m as a simple (non-raw) UTF-8 email. The error names the recipients, never
// the body, which may hold secret tokens.
func (s *SES) Send(ctx context.Context, m Message) error {
	to := strings.Join(m.To, ", ")
	switch {
	case len(m.To) == 0:
		return fmt.Errorf("send email: %w: no recipients", ErrInvalidMessage)
	case s.from == "":
		return fmt.Errorf("send email to %s: %w: no sender address", to, ErrInvalidMessage)
	case m.Text == "" && m.HTML == "":
		return fmt.Errorf("send email to %s: %w: empty body", to, ErrInvalidMessage)
	}
	body := &types.Body{}
	if m.Text != "" {
		body.Text = content(m.Text)
	}
	if m.HTML != "" {
		body.Html = content(m.HTML)
	}
	_, err := s.client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: m.To},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: content(m.Subject),
			Body:    body,
		}},
	})
	if err != nil {
		return fmt.Errorf("send email to %s: %w", to, err)
	}
	return nil
}

func content(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String(charset)}
}

// Permanent reports whether err means the message will never be sent as it is, so a
// retry is pointless: SES refused it (rejected content, unverified sender domain,
// suspended or paused account, bad request, unknown resource) or it was invalid before
// reaching SES. Throttling, 5xx and network errors are transient and report false.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var (
		rejected  *types.MessageRejected
		mailFrom  *types.MailFromDomainNotVerifiedException
		suspended *types.AccountSuspendedException
		paused    *types.SendingPausedException
		bad       *types.BadRequestException
		notFound  *types.NotFoundException
	)
	return errors.As(err, &rejected) ||
		errors.As(err, &mailFrom) ||
		errors.As(err, &suspended) ||
		errors.As(err, &paused) ||
		errors.As(err, &bad) ||
		errors.As(err, &notFound)
}
