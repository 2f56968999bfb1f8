package mail_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/mail"
)

func invitation() mail.InvitationEmail {
	return mail.InvitationEmail{
		To:               "lee.gu@contosomsp.com",
		OrganizationName: "Contoso MSP",
		InviterName:      "Megan Bowen",
		InviterEmail:     "megan.bowen@contosomsp.com",
		Role:             "Technician",
		ExpiresAt:        time.Date(2026, 12, 1, 8, 36, 0, 0, time.UTC),
		AcceptURL:        "https://console.contosomsp.com/invitations/accept?token=s3cr3t",
	}
}

func TestInvitationNamesEveryFact(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		edit        func(*mail.InvitationEmail)
		subject     string
		inviter     string
		expires     string
		inviterMail bool // the inviter's address appears besides the name
	}{
		{
			name:        "full",
			subject:     "Megan Bowen invited you to Contoso MSP on Switchboard",
			inviter:     "Megan Bowen",
			expires:     "Tuesday, 1 December 2026 at 08:36 UTC",
			inviterMail: true,
		},
		{
			name:    "no inviter name",
			edit:    func(in *mail.InvitationEmail) { in.InviterName = "" },
			subject: "megan.bowen@contosomsp.com invited you to Contoso MSP on Switchboard",
			inviter: "megan.bowen@contosomsp.com",
			expires: "Tuesday, 1 December 2026 at 08:36 UTC",
		},
		{
			name: "no inviter email, names on one line, expiry in another zone",
			edit: func(in *mail.InvitationEmail) {
				in.InviterEmail = ""
				in.InviterName = "Megan\r\nBowen"
				in.OrganizationName = "  Contoso\tMSP "
				in.ExpiresAt = time.Date(2027, 1, 1, 0, 15, 0, 0, paris)
			},
			subject: "Megan Bowen invited you to Contoso MSP on Switchboard",
			inviter: "Megan Bowen",
			expires: "Thursday, 31 December 2026 at 23:15 UTC",
		},
		{
			name:        "local development link",
			edit:        func(in *mail.InvitationEmail) { in.AcceptURL = "http://127.0.0.1:3000/invitations/accept?token=s3cr3t" },
			subject:     "Megan Bowen invited you to Contoso MSP on Switchboard",
			inviter:     "Megan Bowen",
			expires:     "Tuesday, 1 December 2026 at 08:36 UTC",
			inviterMail: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := invitation()
			if tc.edit != nil {
				tc.edit(&in)
			}
			m, err := mail.Invitation(in)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.subject {
				t.Errorf("subject %q, want %q", m.Subject, tc.subject)
			}
			if !slices.Equal(m.To, []string{in.To}) {
				t.Errorf("to %v", m.To)
			}
			if !slices.Equal(m.Links, []string{in.AcceptURL}) {
				t.Errorf("links %v, want [%s]", m.Links, in.AcceptURL)
			}
			facts := []string{"Contoso MSP", tc.inviter, "Technician", tc.expires, in.AcceptURL}
			if tc.inviterMail {
				facts = append(facts, "megan.bowen@contosomsp.com")
			}
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				for _, fact := range facts {
					if !strings.Contains(body, fact) {
						t.Errorf("%s part lacks %q:\n%s", part, fact, body)
					}
				}
			}
			if !strings.Contains(m.HTML, `href="`+in.AcceptURL+`"`) || !strings.Contains(m.HTML, "Accept invitation") {
				t.Errorf("html part has no accept button:\n%s", m.HTML)
			}
		})
	}
}

func TestInvitationEscapesHTML(t *testing.T) {
	in := invitation()
	in.OrganizationName = `<script>alert("org")</script> & Co`
	in.InviterName = `Megan <img src=x onerror=alert(1)>`
	in.Role = `<b>Owner</b>`
	m, err := mail.Invitation(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"<script>", "<img", "<b>"} {
		if strings.Contains(m.HTML, raw) {
			t.Errorf("html part contains %q unescaped:\n%s", raw, m.HTML)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(&#34;org&#34;)&lt;/script&gt; &amp; Co", "Megan &lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;Owner&lt;/b&gt;"} {
		if !strings.Contains(m.HTML, escaped) {
			t.Errorf("html part lacks %q:\n%s", escaped, m.HTML)
		}
	}
	// The text part is plain text: the name is shown as typed.
	if !strings.Contains(m.Text, in.OrganizationName) {
		t.Errorf("text part lacks the organization name as typed:\n%s", m.Text)
	}
}

func TestInvitationRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*mail.InvitationEmail)
		field string
	}{
		{"no recipient", func(in *mail.InvitationEmail) { in.To = "" }, "to:"},
		{"not an address", func(in *mail.InvitationEmail) { in.To = "lee.gu" }, "to:"},
		{"display name", func(in *mail.InvitationEmail) { in.To = "Lee Gu <lee.gu@contosomsp.com>" }, "to:"},
		{"two addresses", func(in *mail.InvitationEmail) { in.To = "lee.gu@contosomsp.com, adele.vance@contosomsp.com" }, "to:"},
		{"header injection", func(in *mail.InvitationEmail) { in.To = "lee.gu@contosomsp.com\r\nBcc: eve@evil.example" }, "to:"},
		{"dotless domain", func(in *mail.InvitationEmail) { in.To = "lee.gu@intranet" }, "to:"},
		{"bad inviter email", func(in *mail.InvitationEmail) { in.InviterEmail = "megan" }, "inviterEmail:"},
		{"no inviter", func(in *mail.InvitationEmail) { in.InviterName, in.InviterEmail = " ", "" }, "inviterName:"},
		{"no organization", func(in *mail.InvitationEmail) { in.OrganizationName = " \n" }, "organizationName:"},
		{"no role", func(in *mail.InvitationEmail) { in.Role = "" }, "role:"},
		{"no expiry", func(in *mail.InvitationEmail) { in.ExpiresAt = time.Time{} }, "expiresAt:"},
		{"no link", func(in *mail.InvitationEmail) { in.AcceptURL = "" }, "acceptURL:"},
		{"relative link", func(in *mail.InvitationEmail) { in.AcceptURL = "/invitations/accept?token=s3cr3t" }, "acceptURL:"},
		{"plain http", func(in *mail.InvitationEmail) { in.AcceptURL = "http://console.contosomsp.com/accept" }, "acceptURL:"},
		{"http to a lookalike", func(in *mail.InvitationEmail) { in.AcceptURL = "http://localhost.evil.example/accept" }, "acceptURL:"},
		{"javascript", func(in *mail.InvitationEmail) { in.AcceptURL = "javascript:alert(1)" }, "acceptURL:"},
		{"credentials", func(in *mail.InvitationEmail) { in.AcceptURL = "https://user:pw@console.contosomsp.com/" }, "acceptURL:"},
		{"scheme-relative", func(in *mail.InvitationEmail) { in.AcceptURL = "//console.contosomsp.com/accept" }, "acceptURL:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := invitation()
			tc.edit(&in)
			m, err := mail.Invitation(in)
			if err == nil {
				t.Fatalf("no error; rendered %+v", m)
			}
			if !errors.Is(err, mail.ErrInvalidMessage) || !mail.Permanent(err) {
				t.Errorf("error %v is not an invalid, permanent one", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q reveals the token", err)
			}
		})
	}
}

func TestInvitationNamesEveryBadField(t *testing.T) {
	_, err := mail.Invitation(mail.InvitationEmail{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, field := range []string{"to:", "organizationName:", "inviterName:", "role:", "expiresAt:", "acceptURL:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

func TestSignInInstructions(t *testing.T) {
	base := mail.SignInEmail{
		To:               "alex.wilber@fabrikam.example",
		OrganizationName: "Fabrikam IT",
		InviterName:      "Megan Bowen",
		ConsoleURL:       "https://console.contosomsp.com/",
	}
	tests := []struct {
		name    string
		edit    func(*mail.SignInEmail)
		want    []string // in both parts
		notWant []string // in neither
	}{
		{
			name:    "federated sign-in",
			want:    []string{"Fabrikam IT", "Megan Bowen", "alex.wilber@fabrikam.example", "https://console.contosomsp.com/", "Microsoft"},
			notWant: []string{"temporary password"},
		},
		{
			name: "temporary password",
			edit: func(in *mail.SignInEmail) { in.TemporaryPassword = "Tq7-vX9!pz" },
			want: []string{"Fabrikam IT", "Megan Bowen", "alex.wilber@fabrikam.example", "https://console.contosomsp.com/", "temporary password", "Tq7-vX9!pz"},
		},
		{
			name:    "no inviter",
			edit:    func(in *mail.SignInEmail) { in.InviterName = "" },
			want:    []string{"Fabrikam IT", "was created for you", "https://console.contosomsp.com/"},
			notWant: []string{"Megan"},
		},
		{
			name:    "an account that already signs in",
			edit:    func(in *mail.SignInEmail) { in.ExistingAccount = true },
			want:    []string{"Fabrikam IT", "Megan Bowen", "as you usually do", "organization switcher"},
			notWant: []string{"temporary password", "Microsoft"},
		},
		{
			name:    "access reset",
			edit:    func(in *mail.SignInEmail) { in.Reset, in.TemporaryPassword = true, "Tq7-vX9!pz" },
			want:    []string{"Megan Bowen", "reset", "Nothing in the organization was changed", "Tq7-vX9!pz"},
			notWant: []string{"created a new organization"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			if tc.edit != nil {
				tc.edit(&in)
			}
			m, err := mail.SignInInstructions(in)
			if err != nil {
				t.Fatal(err)
			}
			want := "Sign in to Fabrikam IT on Switchboard"
			if in.Reset {
				want = "Your access to Fabrikam IT on Switchboard was reset"
			}
			if m.Subject != want {
				t.Errorf("subject %q", m.Subject)
			}
			if !slices.Equal(m.To, []string{in.To}) || !slices.Equal(m.Links, []string{in.ConsoleURL}) {
				t.Errorf("to %v, links %v", m.To, m.Links)
			}
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				for _, s := range tc.want {
					if !strings.Contains(body, s) {
						t.Errorf("%s part lacks %q:\n%s", part, s, body)
					}
				}
				for _, s := range tc.notWant {
					if strings.Contains(body, s) {
						t.Errorf("%s part has %q:\n%s", part, s, body)
					}
				}
			}
		})
	}
}

func TestSignInInstructionsEscapesHTML(t *testing.T) {
	m, err := mail.SignInInstructions(mail.SignInEmail{
		To:               "alex.wilber@fabrikam.example",
		OrganizationName: "<script>x</script>",
		ConsoleURL:       "https://console.contosomsp.com/",
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;x&lt;/script&gt;") {
		t.Errorf("organization name not escaped:\n%s", m.HTML)
	}
}

func TestSignInInstructionsRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		in    mail.SignInEmail
		field string
	}{
		{"bad address", mail.SignInEmail{To: "alex", OrganizationName: "Fabrikam IT", ConsoleURL: "https://console.test/"}, "to:"},
		{"no organization", mail.SignInEmail{To: "alex@fabrikam.example", ConsoleURL: "https://console.test/"}, "organizationName:"},
		{"plain http", mail.SignInEmail{To: "alex@fabrikam.example", OrganizationName: "Fabrikam IT", ConsoleURL: "http://console.test/"}, "consoleURL:"},
		{"password with a space", mail.SignInEmail{To: "alex@fabrikam.example", OrganizationName: "Fabrikam IT", ConsoleURL: "https://console.test/", TemporaryPassword: "two words"}, "temporaryPassword:"},
		{"password for an existing account", mail.SignInEmail{To: "alex@fabrikam.example", OrganizationName: "Fabrikam IT", ConsoleURL: "https://console.test/", TemporaryPassword: "Tq7-vX9!pz", ExistingAccount: true}, "temporaryPassword:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mail.SignInInstructions(tc.in)
			if err == nil || !errors.Is(err, mail.ErrInvalidMessage) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %v, want an invalid-message error naming %s", err, tc.field)
			}
			if err != nil && tc.in.TemporaryPassword != "" && strings.Contains(err.Error(), tc.in.TemporaryPassword) {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}
