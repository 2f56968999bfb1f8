package mail

import (
	"fmt"
	"html"
	netmail "net/mail"
	"net/url"
	"strings"
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
	return Message{To: []string{to}, Subject: data.Subject, Text: data.text(), HTML: data.html(), Links: []string{accept}}, nil
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
	return Message{To: []string{to}, Subject: data.Subject, Text: data.text(), HTML: data.html(), Links: []string{console}}, nil
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

// The bodies are written with strings.Builder rather than text/template and
// html/template: those look methods up by name through reflection, which makes the
// linker keep every exported method of every type in the binary and grows each function
// that sends email by about 40%. Every value in the HTML part goes through esc.
var esc = html.EscapeString

func (d invitationData) text() string {
	var b strings.Builder
	inviterEmail := ""
	if d.ShowInviterEmail {
		inviterEmail = " <" + d.InviterEmail + ">"
	}
	b.WriteString(d.Inviter)
	if d.ShowInviterEmail {
		b.WriteString(" (" + d.InviterEmail + ")")
	}
	b.WriteString(" invited you to join " + d.Organization + " on Switchboard.\n\n")
	b.WriteString("Organization: " + d.Organization + "\n")
	b.WriteString("Invited by:   " + d.Inviter + inviterEmail + "\n")
	b.WriteString("Role:         " + d.Role + "\n")
	b.WriteString("Expires:      " + d.Expires + "\n\n")
	b.WriteString("Accept the invitation:\n" + d.AcceptURL + "\n\n")
	b.WriteString("This invitation expires on " + d.Expires + ".\n")
	b.WriteString("If you were not expecting it, ignore this email: nothing happens unless you accept.\n")
	return b.String()
}

func (d invitationData) html() string {
	var b strings.Builder
	b.WriteString(htmlHead(d.Subject))
	b.WriteString(`<h1 style="font-size:22px;margin:0 0 16px;">Join ` + esc(d.Organization) + " on Switchboard</h1>\n")
	b.WriteString("<p><strong>" + esc(d.Inviter) + "</strong>")
	if d.ShowInviterEmail {
		b.WriteString(` (<a href="mailto:` + esc(d.InviterEmail) + `" style="color:#1d4ed8;">` + esc(d.InviterEmail) + "</a>)")
	}
	b.WriteString(" invited you to join <strong>" + esc(d.Organization) + "</strong>.</p>\n")
	b.WriteString(`<table role="presentation" style="border-collapse:collapse;margin:16px 0;">` + "\n")
	for _, row := range [][2]string{{"Organization", d.Organization}, {"Invited by", d.Inviter}, {"Role", d.Role}, {"Expires", d.Expires}} {
		b.WriteString(`<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">` + row[0] +
			`</th><td style="padding:4px 0;">` + esc(row[1]) + "</td></tr>\n")
	}
	b.WriteString("</table>\n")
	b.WriteString(button(d.AcceptURL, "Accept invitation"))
	b.WriteString(`<p style="font-size:14px;color:#4b5563;">If the button does not work, copy this link into your browser:<br><a href="` +
		esc(d.AcceptURL) + `" style="color:#1d4ed8;word-break:break-all;">` + esc(d.AcceptURL) + "</a></p>\n")
	b.WriteString(`<p style="font-size:14px;color:#4b5563;">This invitation expires on ` + esc(d.Expires) +
		". If you were not expecting it, ignore this email: nothing happens unless you accept.</p>\n")
	b.WriteString(htmlFoot)
	return b.String()
}

func (d signInData) text() string {
	var b strings.Builder
	switch {
	case d.Reset:
		b.WriteString(d.resetter() + " reset your access to " + d.Organization + " on Switchboard. Nothing in the organization was changed.\n\n")
	case d.Inviter != "":
		b.WriteString(d.Inviter + " created a new organization, " + d.Organization + ", on Switchboard and added you to it.\n\n")
	default:
		b.WriteString("A new organization, " + d.Organization + ", was created for you on Switchboard.\n\n")
	}
	b.WriteString("To sign in:\n\n1. Open " + d.ConsoleURL + "\n")
	if d.TemporaryPassword != "" {
		b.WriteString("2. Sign in with your email address, " + d.Email + ", and this temporary password:\n   " + d.TemporaryPassword + "\n")
		b.WriteString("3. Choose a new password when asked: the temporary one is for this first sign-in only.\n")
	} else if d.Existing {
		b.WriteString("2. Sign in as you usually do, with " + d.Email + ".\n")
		b.WriteString("3. Pick " + d.Organization + " in the organization switcher.\n")
	} else {
		b.WriteString("2. Choose to sign in with Microsoft and use your work account, " + d.Email + ".\n")
	}
	b.WriteString("\nIf you were not expecting this email, ignore it.\n")
	return b.String()
}

func (d signInData) html() string {
	var b strings.Builder
	b.WriteString(htmlHead(d.Subject))
	if d.Reset {
		b.WriteString(`<h1 style="font-size:22px;margin:0 0 16px;">Your access to ` + esc(d.Organization) + " was reset</h1>\n<p>")
	} else {
		b.WriteString(`<h1 style="font-size:22px;margin:0 0 16px;">` + esc(d.Organization) + " is ready on Switchboard</h1>\n<p>")
	}
	switch {
	case d.Reset && d.Inviter != "":
		b.WriteString("<strong>" + esc(d.Inviter) + "</strong> reset your access to <strong>" + esc(d.Organization) +
			"</strong> on Switchboard. Nothing in the organization was changed.")
	case d.Reset:
		b.WriteString("An administrator reset your access to <strong>" + esc(d.Organization) +
			"</strong> on Switchboard. Nothing in the organization was changed.")
	case d.Inviter != "":
		b.WriteString("<strong>" + esc(d.Inviter) + "</strong> created a new organization, <strong>" + esc(d.Organization) +
			"</strong>, on Switchboard and added you to it.")
	default:
		b.WriteString("A new organization, <strong>" + esc(d.Organization) + "</strong>, was created for you on Switchboard.")
	}
	b.WriteString("</p>\n" + `<h2 style="font-size:18px;margin:24px 0 8px;">To sign in</h2>` + "\n<ol>\n")
	b.WriteString(`<li>Open <a href="` + esc(d.ConsoleURL) + `" style="color:#1d4ed8;">` + esc(d.ConsoleURL) + "</a>.</li>\n")
	if d.TemporaryPassword != "" {
		b.WriteString("<li>Sign in with your email address, " + esc(d.Email) + `, and this temporary password: <code style="font-size:16px;background:#f3f4f6;padding:2px 6px;">` +
			esc(d.TemporaryPassword) + "</code></li>\n")
		b.WriteString("<li>Choose a new password when asked: the temporary one is for this first sign-in only.</li>\n")
	} else if d.Existing {
		b.WriteString("<li>Sign in as you usually do, with " + esc(d.Email) + ".</li>\n")
		b.WriteString("<li>Pick " + esc(d.Organization) + " in the organization switcher.</li>\n")
	} else {
		b.WriteString("<li>Choose to sign in with Microsoft and use your work account, " + esc(d.Email) + ".</li>\n")
	}
	b.WriteString("</ol>\n" + button(d.ConsoleURL, "Sign in to Switchboard"))
	b.WriteString(`<p style="font-size:14px;color:#4b5563;">If you were not expecting this email, ignore it.</p>` + "\n")
	b.WriteString(htmlFoot)
	return b.String()
}

// resetter names who reset the access, in the text part.
func (d signInData) resetter() string {
	if d.Inviter != "" {
		return d.Inviter
	}
	return "An administrator"
}

// The HTML layout is one centred column with inline styles (mail clients drop style
// sheets), real text rather than images, and a link styled as a button whose colours
// pass WCAG AA contrast.
func htmlHead(title string) string {
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + esc(title) + `</title>
</head>
<body style="margin:0;padding:0;background:#f3f4f6;">
<main style="max-width:560px;margin:0 auto;padding:32px 24px;background:#ffffff;font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1f2937;">
`
}

// button is a link styled as a button.
func button(href, label string) string {
	return `<p style="margin:24px 0;"><a href="` + esc(href) +
		`" style="display:inline-block;padding:12px 24px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">` +
		esc(label) + "</a></p>\n"
}

const htmlFoot = `</main>
</body>
</html>
`
