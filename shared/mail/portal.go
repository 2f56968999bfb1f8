package mail

import (
	"fmt"
	"strings"
	"time"
)

// PortalInvitationEmail is what an invitation to a company's client portal says.
type PortalInvitationEmail struct {
	// To is the company user's bare email address.
	To string
	// CompanyName is the client company (the MSP's customer); MSPName is who runs the
	// portal.
	CompanyName string
	MSPName     string
	// Role is the company role's display name, e.g. "Manager".
	Role      string
	ExpiresAt time.Time
	// AcceptURL is the complete link, secret token included.
	AcceptURL string
}

// PortalInvitation renders the portal invitation: subject, text and HTML parts naming
// the company, the MSP, the role and the expiry, and the accept link as Links[0].
func PortalInvitation(in PortalInvitationEmail) (Message, error) {
	var v validation
	to := v.address("to", in.To)
	company := v.required("companyName", in.CompanyName)
	msp := v.required("mspName", in.MSPName)
	role := v.required("role", in.Role)
	if in.ExpiresAt.IsZero() {
		v.add("expiresAt", "is required")
	}
	accept := v.link("acceptURL", in.AcceptURL)
	if err := v.err("portal invitation"); err != nil {
		return Message{}, err
	}
	expires := in.ExpiresAt.UTC().Format(expiryLayout)
	subject := fmt.Sprintf("%s invited you to the %s support portal", msp, company)

	var t strings.Builder
	t.WriteString(msp + " invited you to the client portal of " + company + ".\n\n")
	t.WriteString("In the portal you can submit and follow support tickets, and see what your role allows.\n\n")
	t.WriteString("Company: " + company + "\n")
	t.WriteString("Role:    " + role + "\n")
	t.WriteString("Expires: " + expires + "\n\n")
	t.WriteString("Sign in with " + to + " and accept the invitation:\n" + accept + "\n\n")
	t.WriteString("If you were not expecting it, ignore this email: nothing happens unless you accept.\n")

	var h strings.Builder
	h.WriteString(htmlHead(subject))
	h.WriteString(`<h1 style="font-size:22px;margin:0 0 16px;">Your ` + esc(company) + " support portal</h1>\n")
	h.WriteString("<p><strong>" + esc(msp) + "</strong> invited you to the client portal of <strong>" + esc(company) +
		"</strong>, where you can submit and follow support tickets.</p>\n")
	h.WriteString(`<table role="presentation" style="border-collapse:collapse;margin:16px 0;">` + "\n")
	for _, row := range [][2]string{{"Company", company}, {"Role", role}, {"Sign in as", to}, {"Expires", expires}} {
		h.WriteString(`<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">` + row[0] +
			`</th><td style="padding:4px 0;">` + esc(row[1]) + "</td></tr>\n")
	}
	h.WriteString("</table>\n")
	h.WriteString(button(accept, "Open the portal"))
	h.WriteString(`<p style="font-size:14px;color:#4b5563;">If the button does not work, copy this link into your browser:<br><a href="` +
		esc(accept) + `" style="color:#1d4ed8;word-break:break-all;">` + esc(accept) + "</a></p>\n")
	h.WriteString(`<p style="font-size:14px;color:#4b5563;">This invitation expires on ` + esc(expires) +
		". If you were not expecting it, ignore this email: nothing happens unless you accept.</p>\n")
	h.WriteString(htmlFoot)
	return Message{To: []string{to}, Subject: subject, Text: t.String(), HTML: h.String(), Links: []string{accept}}, nil
}
