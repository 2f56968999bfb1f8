// Package sesmail sends Switchboard's emails through the SES v2 API. It is its own package
// so that only the functions that send email link and initialize the SES SDK.
package sesmail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/mail"
)

// EnvSESEndpoint overrides the SES endpoint (moto in tests); unset in the cloud.
const EnvSESEndpoint = "SES_ENDPOINT"

const charset = "UTF-8"

// SES sends messages through the SES v2 API.
type SES struct {
	client *sesv2.Client
	from   string
}

var _ mail.Sender = (*SES)(nil)

// New returns a Sender that sends from the address from through client.
func New(client *sesv2.Client, from string) *SES {
	return &SES{client: client, from: from}
}

// NewClient returns an SES v2 client, pointed at endpoint when it is not empty.
func NewClient(cfg aws.Config, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// FromEnv returns a Sender configured from MAIL_FROM and SES_ENDPOINT.
func FromEnv(ctx context.Context) (*SES, error) {
	if _, err := mail.FromAddress(); err != nil {
		return nil, err
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	return FromEnvConfig(cfg)
}

// FromEnvConfig is FromEnv on an AWS configuration the caller has loaded already,
// so a Lambda loads it once at start.
func FromEnvConfig(cfg aws.Config) (*SES, error) {
	from, err := mail.FromAddress()
	if err != nil {
		return nil, err
	}
	endpoint := os.Getenv(EnvSESEndpoint)
	// awsconfig.Load only switches to local credentials for DYNAMODB_ENDPOINT; an SES
	// emulator alone needs them too.
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		cfg.Credentials = awsconfig.LocalCredentials()
	}
	return New(NewClient(cfg, endpoint), from), nil
}

// Send sends m as a simple (non-raw) UTF-8 email. The error names the recipients, never
// the body, which may hold secret tokens.
func (s *SES) Send(ctx context.Context, m mail.Message) error {
	to := strings.Join(m.To, ", ")
	switch {
	case len(m.To) == 0:
		return fmt.Errorf("send email: %w: no recipients", mail.ErrInvalidMessage)
	case s.from == "":
		return fmt.Errorf("send email to %s: %w: no sender address", to, mail.ErrInvalidMessage)
	case m.Text == "" && m.HTML == "":
		return fmt.Errorf("send email to %s: %w: empty body", to, mail.ErrInvalidMessage)
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
		return fmt.Errorf("send email to %s: %w", to, Classify(err))
	}
	return nil
}

func content(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String(charset)}
}

// Classify marks err with mail.ErrRefused when SES refused the message for good, so a
// retry is pointless: rejected content, unverified sender domain, suspended or paused
// account, bad request, unknown resource. Throttling, 5xx and network errors are
// transient and returned as they are.
func Classify(err error) error {
	if refused(err) {
		return fmt.Errorf("%w: %w", mail.ErrRefused, err)
	}
	return err
}

func refused(err error) bool {
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

// Connect is FromEnvConfig as a mail.Sender, the shape lambdaentry.Mail takes.
func Connect(cfg aws.Config) (mail.Sender, error) {
	s, err := FromEnvConfig(cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}
