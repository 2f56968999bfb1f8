package lambdaentry

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/mail"
)

func TestUses(t *testing.T) {
	for _, tc := range []struct {
		actions []string
		want    []string
	}{
		{nil, nil},
		{[]string{"dynamodb:GetItem", "dynamodb:DeleteItem"}, nil},
		{[]string{"dynamodb:ConditionCheckItem", "ses:SendEmail"}, []string{"ses:"}},
		{[]string{"cognito-idp:ListUsers", "cognito-idp:AdminUserGlobalSignOut"}, []string{"cognito-idp:"}},
		{[]string{"s3:DeleteObject", "sqs:SendMessage", "ses:SendEmail"}, []string{"ses:", "sqs:", "s3:"}},
		// A prefix must match the service, not a look-alike.
		{[]string{"sesv2:Something", "s3express:CreateSession"}, nil},
	} {
		var got []string
		for _, svc := range Uses(tc.actions) {
			got = append(got, svc.Prefix)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Uses(%v) = %v, want %v", tc.actions, got, tc.want)
		}
	}
}

type sender struct{}

func (sender) Send(context.Context, mail.Message) error { return nil }

// TestMail: without MAIL_FROM no sender is wired (invitations are kept as
// email-failed) and none is connected; with it, connect's sender or its error.
func TestMail(t *testing.T) {
	refused := errors.New("MAIL_FROM: no address")
	for _, tc := range []struct {
		name      string
		from      string
		connErr   error
		wantErr   bool
		connected bool
	}{
		{"unset", "", nil, false, false},
		{"connected", "Switchboard <no-reply@example.com>", nil, false, true},
		{"connect fails", "not an address", refused, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(mail.EnvMailFrom, tc.from)
			calls := 0
			use := Mail(func(aws.Config) (mail.Sender, error) {
				calls++
				if tc.connErr != nil {
					return nil, tc.connErr
				}
				return sender{}, nil
			})
			d := &api.Deps{}
			err := use(context.Background(), aws.Config{Region: "us-east-1"}, d)
			if (err != nil) != tc.wantErr || (d.Mail != nil) != tc.connected {
				t.Errorf("err %v, sender wired %v", err, d.Mail != nil)
			}
			if tc.from == "" && calls != 0 {
				t.Error("connected without MAIL_FROM")
			}
		})
	}
}
