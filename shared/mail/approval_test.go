package mail_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/mail"
)

func approvalRequest() mail.ApprovalRequestEmail {
	return mail.ApprovalRequestEmail{
		To:               []string{"megan.bowen@contosomsp.com", "owner@contosomsp.com"},
		OrganizationName: "Contoso MSP",
		RequesterName:    "Lee Gu",
		RequesterEmail:   "lee.gu@contosomsp.com",
		What:             "a license order",
		Details:          [][2]string{{"Tenant", "Fabrikam <Prod>"}, {"Product SKU", "SPE_E3"}, {"Quantity", "5"}, {"Note", "New\nstarters"}},
		ExpiresAt:        time.Date(2026, 12, 1, 8, 36, 0, 0, time.UTC),
		ReviewURL:        "https://console.contosomsp.com/msp-portal/license-orders/06h0rb1c",
	}
}

func TestApprovalRequestNamesEveryFact(t *testing.T) {
	m, err := mail.ApprovalRequest(approvalRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.To) != 2 || m.Subject != "Lee Gu asks for your approval: a license order in Contoso MSP" ||
		len(m.Links) != 1 || m.Links[0] != approvalRequest().ReviewURL {
		t.Errorf("message %+v", m)
	}
	for _, part := range []struct{ name, body string }{{"text", m.Text}, {"html", m.HTML}} {
		for _, want := range []string{"Lee Gu", "lee.gu@contosomsp.com", "SPE_E3", "Quantity", "Tuesday, 1 December 2026 at 08:36 UTC", approvalRequest().ReviewURL} {
			if !strings.Contains(part.body, want) {
				t.Errorf("%s part lacks %q", part.name, want)
			}
		}
	}
	// Values are escaped in HTML and kept on one line in text.
	if !strings.Contains(m.HTML, "Fabrikam &lt;Prod&gt;") || strings.Contains(m.HTML, "<Prod>") {
		t.Errorf("HTML does not escape a value")
	}
	if !strings.Contains(m.Text, "Note:        New starters\n") {
		t.Errorf("text does not fold a value onto one aligned line:\n%s", m.Text)
	}
}

func TestApprovalRequestRefusesBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*mail.ApprovalRequestEmail)
		field string
	}{
		{"no recipients", func(e *mail.ApprovalRequestEmail) { e.To = nil }, "to:"},
		{"a recipient with a display name", func(e *mail.ApprovalRequestEmail) { e.To = []string{"Megan <megan@contoso.com>"} }, "to[0]"},
		{"no organization", func(e *mail.ApprovalRequestEmail) { e.OrganizationName = " " }, "organizationName"},
		{"no requester", func(e *mail.ApprovalRequestEmail) { e.RequesterName, e.RequesterEmail = "", "" }, "requesterName"},
		{"no expiry", func(e *mail.ApprovalRequestEmail) { e.ExpiresAt = time.Time{} }, "expiresAt"},
		{"a javascript link", func(e *mail.ApprovalRequestEmail) { e.ReviewURL = "javascript:alert(1)" }, "reviewURL"},
		{"a detail without a label", func(e *mail.ApprovalRequestEmail) { e.Details = [][2]string{{"", "x"}} }, "details[0].label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := approvalRequest()
			tt.edit(&in)
			_, err := mail.ApprovalRequest(in)
			if !errors.Is(err, mail.ErrInvalidMessage) || !mail.Permanent(err) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %v, want an invalid message naming %s", err, tt.field)
			}
		})
	}
}
