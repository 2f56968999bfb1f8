package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode"
)

// expiryLayout writes e.g. "Tuesday, 1 December 2026 at 08:36 UTC": unambiguous in
// every locale, unlike numeric dates.
const expiryLayout = "Monday, 2 January 2006 at 15:04 UTC"

// InvitationEmail is what an invitation to join an organization says.
type InvitationEmail struct {
	// To is the invitee's bare email address.
	To               string
	OrganizationName string
	// InviterName may be empty when the inviter has no display name; InviterEmail is
	// then used in its place.
	InviterName  string
	InviterEmail string
	// Role is the role's display name, e.g. "Technician".
	Role      string
	ExpiresAt time.Time
	// AcceptURL is the complete link, secret token included.
	AcceptURL string
}

// Invitation renders the invitation email: subject, text and HTML parts naming the
// organization, the inviter, the role and the expiry, and the accept link as Links[0].
func Invitation(in InvitationEmail) (Message, error) {
	var v validation
	to := v.address("to", in.To)
	org := v.required("organizationName", in.OrganizationName)
	role := v.required("role", in.Role)
	inviterEmail := ""
	if strings.TrimSpace(in.InviterEmail) != "" {
		inviterEmail = v.address("inviterEmail", in.InviterEmail)
	}
	inviter := singleLine(in.InviterName)
	if inviter == "" {
		inviter = inviterEmail
	}
	if inviter == "" {
		v.add("inviterName", "an inviter name or email is required")
	}
	if in.ExpiresAt.IsZero() {
		v.add("expiresAt", "is required")
	}
	accept := v.link("acceptURL", in.AcceptURL)
	if err := v.err("invitation"); err != nil {
		return Message{}, err
	}
	data := invitationData{
		Organization: org,
		Inviter:      inviter,
		InviterEmail: inviterEmail,
		// The email would repeat the address when there is no name.
		ShowInviterEmail: inviterEmail != "" && inviterEmail != inviter,
		Role:             role,
		Expires:          in.ExpiresAt.UTC().Format(expiryLayout),
		AcceptURL:        accept,
	}
	data.Subject = fmt.Sprintf("%s invited you to %s on Switchboard", inviter, org)
	return render([]string{to}, data.Subject, accept, invitationText(), invitationHTML(), data)
}

type invitationData struct {
	Subject          string
	Organization     string
	Inviter          string
	InviterEmail     string
	ShowInviterEmail bool
	Role             string
	Expires          string
	AcceptURL        string
}

// SignInEmail is what the email to the first member of a newly created organization
// says.
type SignInEmail struct {
	// To is the member's bare email address, which is also their sign-in name.
	To               string
	OrganizationName string
	// InviterName is who created the organization; optional.
	InviterName string
	// ConsoleURL is the console's sign-in page.
	ConsoleURL string
	// TemporaryPassword, when set, is a one-time password the member must change at first
	// sign-in; without it they sign in with their Microsoft work account.
	TemporaryPassword string
	// ExistingAccount says the member already signs in to Switchboard: they sign in as
	// they do, and find the organization in their switcher.
	ExistingAccount bool
	// Reset says their access to an existing organization was re-issued (a sub-
	// organization admin who lost their way in), rather than a new organization made.
	Reset bool
}

// SignInInstructions renders the email explaining how to sign in to a newly created
// organization, with the console link as Links[0].
func SignInInstructions(in SignInEmail) (Message, error) {
	var v validation
	to := v.address("to", in.To)
	org := v.required("organizationName", in.OrganizationName)
	console := v.link("consoleURL", in.ConsoleURL)
	// A password with spaces or control characters would not survive being copied
	// from the email.
	if strings.IndexFunc(in.TemporaryPassword, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		v.add("temporaryPassword", "must not contain spaces or control characters")
	}
	if err := v.err("sign-in instructions"); err != nil {
		return Message{}, err
	}
	if in.ExistingAccount && in.TemporaryPassword != "" {
		v.add("temporaryPassword", "must be empty for an existing account")
		return Message{}, v.err("sign-in instructions")
	}
	data := signInData{
		Subject:           fmt.Sprintf("Sign in to %s on Switchboard", org),
		Organization:      org,
		Inviter:           singleLine(in.InviterName),
		Email:             to,
		ConsoleURL:        console,
		TemporaryPassword: in.TemporaryPassword,
		Existing:          in.ExistingAccount,
		Reset:             in.Reset,
	}
	if in.Reset {
		data.Subject = fmt.Sprintf("Your access to %s on Switchboard was reset", org)
	}
	return render([]string{to}, data.Subject, console, signInText(), signInHTML(), data)
}

type signInData struct {
	Subject           string
	Organization      string
	Inviter           string
	Email             string
	ConsoleURL        string
	TemporaryPassword string
	Existing          bool
	Reset             bool
}

func render(to []string, subject, link string, text *texttemplate.Template, html *htmltemplate.Template, data any) (Message, error) {
	var t, h bytes.Buffer
	if err := text.Execute(&t, data); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", text.Name(), err)
	}
	if err := html.Execute(&h, data); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", html.Name(), err)
	}
	return Message{To: to, Subject: subject, Text: t.String(), HTML: h.String(), Links: []string{link}}, nil
}

// validation collects every problem of an input, so one error names all bad fields.
type validation struct{ problems []string }

func (v *validation) add(field, problem string) {
	v.problems = append(v.problems, field+": "+problem)
}

func (v *validation) err(what string) error {
	if len(v.problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w: %s", what, ErrInvalidMessage, strings.Join(v.problems, "; "))
}

// required returns s on one line, noting the field when that leaves nothing.
func (v *validation) required(field, s string) string {
	s = singleLine(s)
	if s == "" {
		v.add(field, "is required")
	}
	return s
}

// address accepts a bare address only: a display name or a list has no place in the
// fields it checks, and the parsed form must be exactly what was given.
func (v *validation) address(field, s string) string {
	s = strings.TrimSpace(s)
	if !validAddress(s) {
		v.add(field, "must be a valid email address")
		return ""
	}
	return s
}

// validAddress also wants a dot in the domain: net/mail accepts "someone@intranet",
// which SES cannot deliver to.
func validAddress(s string) bool {
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// link accepts an absolute https URL, or plain http on loopback for local development,
// without credentials: anything else in an email is a phishing aid or a broken link.
func (v *validation) link(field, s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	ok := err == nil && u.Host != "" && u.User == nil && u.Opaque == ""
	if ok {
		switch u.Scheme {
		case "https":
		case "http":
			switch u.Hostname() {
			case "127.0.0.1", "localhost", "::1":
			default:
				ok = false
			}
		default:
			ok = false
		}
	}
	if !ok {
		v.add(field, "must be an absolute https URL")
		return ""
	}
	return u.String()
}

// singleLine folds runs of whitespace and control characters into one space, so a name
// cannot break the subject line or the layout.
func singleLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}

// The templates parse on first use: sending an email needs them, a cold start does not.
var invitationText = sync.OnceValue(func() *texttemplate.Template {
	return texttemplate.Must(texttemplate.New("invitation").Parse(`{{.Inviter}}{{if .ShowInviterEmail}} ({{.InviterEmail}}){{end}} invited you to join {{.Organization}} on Switchboard.

Organization: {{.Organization}}
Invited by:   {{.Inviter}}{{if .ShowInviterEmail}} <{{.InviterEmail}}>{{end}}
Role:         {{.Role}}
Expires:      {{.Expires}}

Accept the invitation:
{{.AcceptURL}}

This invitation expires on {{.Expires}}.
If you were not expecting it, ignore this email: nothing happens unless you accept.
`))
})

var signInText = sync.OnceValue(func() *texttemplate.Template {
	return texttemplate.Must(texttemplate.New("sign-in").Parse(`{{if .Reset}}{{if .Inviter}}{{.Inviter}} reset{{else}}An administrator reset{{end}} your access to {{.Organization}} on Switchboard. Nothing in the organization was changed.{{else if .Inviter}}{{.Inviter}} created a new organization, {{.Organization}}, on Switchboard and added you to it.{{else}}A new organization, {{.Organization}}, was created for you on Switchboard.{{end}}

To sign in:

1. Open {{.ConsoleURL}}
{{- if .TemporaryPassword}}
2. Sign in with your email address, {{.Email}}, and this temporary password:
   {{.TemporaryPassword}}
3. Choose a new password when asked: the temporary one is for this first sign-in only.
{{- else if .Existing}}
2. Sign in as you usually do, with {{.Email}}.
3. Pick {{.Organization}} in the organization switcher.
{{- else}}
2. Choose to sign in with Microsoft and use your work account, {{.Email}}.
{{- end}}

If you were not expecting this email, ignore it.
`))
})

// The HTML layout is one centred column with inline styles (mail clients drop style
// sheets), real text rather than images, and a link styled as a button whose colours
// pass WCAG AA contrast.
const htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:0;background:#f3f4f6;">
<main style="max-width:560px;margin:0 auto;padding:32px 24px;background:#ffffff;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1f2937;">
`

const htmlFoot = `</main>
</body>
</html>
`

var invitationHTML = sync.OnceValue(func() *htmltemplate.Template {
	return htmltemplate.Must(htmltemplate.New("invitation").Parse(htmlHead + `<h1 style="font-size:22px;margin:0 0 16px;">Join {{.Organization}} on Switchboard</h1>
<p><strong>{{.Inviter}}</strong>{{if .ShowInviterEmail}} (<a href="mailto:{{.InviterEmail}}" style="color:#1d4ed8;">{{.InviterEmail}}</a>){{end}} invited you to join <strong>{{.Organization}}</strong>.</p>
<table role="presentation" style="border-collapse:collapse;margin:16px 0;">
<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">Organization</th><td style="padding:4px 0;">{{.Organization}}</td></tr>
<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">Invited by</th><td style="padding:4px 0;">{{.Inviter}}</td></tr>
<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">Role</th><td style="padding:4px 0;">{{.Role}}</td></tr>
<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">Expires</th><td style="padding:4px 0;">{{.Expires}}</td></tr>
</table>
<p style="margin:24px 0;"><a href="{{.AcceptURL}}" style="display:inline-block;padding:12px 24px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">Accept invitation</a></p>
<p style="font-size:14px;color:#4b5563;">If the button does not work, copy this link into your browser:<br><a href="{{.AcceptURL}}" style="color:#1d4ed8;word-break:break-all;">{{.AcceptURL}}</a></p>
<p style="font-size:14px;color:#4b5563;">This invitation expires on {{.Expires}}. If you were not expecting it, ignore this email: nothing happens unless you accept.</p>
` + htmlFoot))
})

var signInHTML = sync.OnceValue(func() *htmltemplate.Template {
	return htmltemplate.Must(htmltemplate.New("sign-in").Parse(htmlHead + `<h1 style="font-size:22px;margin:0 0 16px;">{{if .Reset}}Your access to {{.Organization}} was reset{{else}}{{.Organization}} is ready on Switchboard{{end}}</h1>
<p>{{if .Reset}}{{if .Inviter}}<strong>{{.Inviter}}</strong> reset{{else}}An administrator reset{{end}} your access to <strong>{{.Organization}}</strong> on Switchboard. Nothing in the organization was changed.{{else if .Inviter}}<strong>{{.Inviter}}</strong> created a new organization, <strong>{{.Organization}}</strong>, on Switchboard and added you to it.{{else}}A new organization, <strong>{{.Organization}}</strong>, was created for you on Switchboard.{{end}}</p>
<h2 style="font-size:18px;margin:24px 0 8px;">To sign in</h2>
<ol>
<li>Open <a href="{{.ConsoleURL}}" style="color:#1d4ed8;">{{.ConsoleURL}}</a>.</li>
{{- if .TemporaryPassword}}
<li>Sign in with your email address, {{.Email}}, and this temporary password: <code style="font-size:16px;background:#f3f4f6;padding:2px 6px;">{{.TemporaryPassword}}</code></li>
<li>Choose a new password when asked: the temporary one is for this first sign-in only.</li>
{{- else if .Existing}}
<li>Sign in as you usually do, with {{.Email}}.</li>
<li>Pick {{.Organization}} in the organization switcher.</li>
{{- else}}
<li>Choose to sign in with Microsoft and use your work account, {{.Email}}.</li>
{{- end}}
</ol>
<p style="margin:24px 0;"><a href="{{.ConsoleURL}}" style="display:inline-block;padding:12px 24px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">Sign in to Switchboard</a></p>
<p style="font-size:14px;color:#4b5563;">If you were not expecting this email, ignore it.</p>
` + htmlFoot))
})
