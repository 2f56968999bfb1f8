package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/mail/sesmail"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// TestLicenseOrderApproversEmailedThroughSES is the done-when flow's email on moto's
// SES v2: a Technician's pending order reaches every member who may approve it, and
// SES refusing to send fails nothing but records why on the order.
func TestLicenseOrderApproversEmailedThroughSES(t *testing.T) {
	cfg, ep := motoConfig(t)
	ses := sesmail.NewClient(cfg, ep)
	sender := "mail-" + domain.NewID() + ".example"
	if _, err := ses.CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sender)}); err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@orders-ses.example")
	env.AddMember(org.ID, permission.Administrator, "admin@orders-ses.example")
	tech := env.AddMember(org.ID, permission.Technician, "tech@orders-ses.example")
	tenant := licensed(t, env, org.ID, "", "SPE_E3", 1)
	tests := []struct {
		name, from string
		notified   bool
	}{
		{"a verified sender: both approvers get it", "Switchboard <no-reply@" + sender + ">", true},
		{"an unverified sender: SES refuses, the order waits all the same", "Switchboard <no-reply@unverified-" + domain.NewID() + ".example>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.Deps.Mail = sesmail.New(ses, tt.from)
			note := "Order " + domain.NewID()
			res := order(env, tech, org.ID, map[string]any{"tenantId": tenant, "sku": "SPE_E3", "quantity": 2, "note": note})
			var o orderView
			if res.Status != http.StatusCreated {
				t.Fatalf("order: %d %s", res.Status, res.Body)
			}
			res.JSON(t, &o)
			if o.Status != domain.ApprovalPending || (o.NotifyError == "") != tt.notified {
				t.Errorf("order %s", res.Body)
			}
			for _, approver := range []string{"owner@orders-ses.example", "admin@orders-ses.example"} {
				got := false
				for _, m := range motoSent(t, ep, approver) {
					got = got || strings.Contains(m.Body, note)
				}
				if got != tt.notified {
					t.Errorf("%s emailed: %v, want %v", approver, got, tt.notified)
				}
			}
		})
	}
}
