package lambdaentry

import (
	"context"
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
		{[]string{"dynamodb:ConditionCheckItem", "ses:SendEmail"}, []string{"Mail"}},
		{[]string{"cognito-idp:ListUsers", "cognito-idp:AdminUserGlobalSignOut"}, []string{"Identity"}},
		{[]string{"s3:DeleteObject", "sqs:SendMessage", "ses:SendEmail"}, []string{"Mail", "Jobs", "Objects"}},
		// A prefix must match the service, not a look-alike.
		{[]string{"sesv2:Something", "s3express:CreateSession"}, nil},
	} {
		if got := Uses(tc.actions); !slices.Equal(got, tc.want) {
			t.Errorf("Uses(%v) = %v, want %v", tc.actions, got, tc.want)
		}
		if n := len(usesOf(tc.actions)); n != len(tc.want) {
			t.Errorf("usesOf(%v) has %d uses, want %d", tc.actions, n, len(tc.want))
		}
	}
}

// TestMail: without MAIL_FROM no sender is wired (invitations are kept as
// email-failed); a MAIL_FROM that is not an address fails the start.
func TestMail(t *testing.T) {
	for _, tc := range []struct {
		from    string
		wantErr bool
		wired   bool
	}{
		{"", false, false},
		{"not an address", true, false},
		{"a@b@c", true, false},
		{"Switchboard <no-reply@example.com>", false, true},
	} {
		t.Setenv(mail.EnvMailFrom, tc.from)
		d := &api.Deps{}
		err := Mail(context.Background(), aws.Config{Region: "us-east-1"}, d)
		if (err != nil) != tc.wantErr || (d.Mail != nil) != tc.wired {
			t.Errorf("MAIL_FROM %q: err %v, sender wired %v", tc.from, err, d.Mail != nil)
		}
	}
}
