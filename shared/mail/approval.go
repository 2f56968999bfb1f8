package mail

import (
	"fmt"
	"strings"
	"time"
)

// ApprovalRequestEmail is what the members who may approve requests are told when
// someone asks for their approval, such as a Technician's license order.
type ApprovalRequestEmail struct {
	// To are the approvers' bare email addresses, at least one.
	To               []string
	OrganizationName string
	// RequesterName may be empty; RequesterEmail is then used in its place.
	RequesterName  string
	RequesterEmail string
	// What names the request in a few words, e.g. "a license order".
	What string
	// Details are the request's facts, label and value, shown in order.
	Details   [][2]string
	ExpiresAt time.Time
	// ReviewURL is where an approver approves or rejects it.
	ReviewURL string
}

// ApprovalRequest renders the email asking for an approval: subject, text and HTML
// parts naming the organization, the requester, the request's details and its expiry,
// and the review link as Links[0].
func ApprovalRequest(in ApprovalRequestEmail) (Message, error) {
	var v validation
	if len(in.To) == 0 {
		v.add("to", "at least one address is required")
	}
	to := make([]string, 0, len(in.To))
	for i, a := range in.To {
		to = append(to, v.address(fmt.Sprintf("to[%d]", i), a))
	}
	org := v.required("organizationName", in.OrganizationName)
	what := v.required("what", in.What)
	requesterEmail := ""
	if strings.TrimSpace(in.RequesterEmail) != "" {
		requesterEmail = v.address("requesterEmail", in.RequesterEmail)
	}
	requester := singleLine(in.RequesterName)
	if requester == "" {
		requester = requesterEmail
	}
	if requester == "" {
		v.add("requesterName", "a requester name or email is required")
	}
	if in.ExpiresAt.IsZero() {
		v.add("expiresAt", "is required")
	}
	review := v.link("reviewURL", in.ReviewURL)
	details := make([][2]string, 0, len(in.Details))
	for i, d := range in.Details {
		details = append(details, [2]string{v.required(fmt.Sprintf("details[%d].label", i), d[0]), singleLine(d[1])})
	}
	if err := v.err("approval request"); err != nil {
		return Message{}, err
	}
	d := approvalData{Organization: org, Requester: requester, RequesterEmail: requesterEmail, What: what,
		Details: details, Expires: in.ExpiresAt.UTC().Format(expiryLayout), ReviewURL: review}
	d.Subject = fmt.Sprintf("%s asks for your approval: %s in %s", requester, what, org)
	return Message{To: to, Subject: d.Subject, Text: d.text(), HTML: d.html(), Links: []string{review}}, nil
}

type approvalData struct {
	Subject        string
	Organization   string
	Requester      string
	RequesterEmail string
	What           string
	Details        [][2]string
	Expires        string
	ReviewURL      string
}

// requesterLine names the requester, with their address when it is not their name.
func (d approvalData) requesterLine() string {
	if d.RequesterEmail != "" && d.RequesterEmail != d.Requester {
		return d.Requester + " (" + d.RequesterEmail + ")"
	}
	return d.Requester
}

func (d approvalData) text() string {
	var b strings.Builder
	b.WriteString(d.requesterLine() + " asks for your approval of " + d.What + " in " + d.Organization + ".\n\n")
	width := 0
	for _, row := range d.Details {
		width = max(width, len(row[0]))
	}
	for _, row := range d.Details {
		b.WriteString(row[0] + ":" + strings.Repeat(" ", width-len(row[0])+1) + row[1] + "\n")
	}
	b.WriteString("\nApprove or reject it:\n" + d.ReviewURL + "\n\n")
	b.WriteString("Nothing happens until a member who may approve requests decides it. " +
		"It expires unapproved on " + d.Expires + ".\n")
	return b.String()
}

func (d approvalData) html() string {
	var b strings.Builder
	b.WriteString(htmlHead(d.Subject))
	b.WriteString(`<h1 style="font-size:22px;margin:0 0 16px;">Approval requested in ` + esc(d.Organization) + "</h1>\n")
	b.WriteString("<p><strong>" + esc(d.Requester) + "</strong>")
	if d.RequesterEmail != "" && d.RequesterEmail != d.Requester {
		b.WriteString(` (<a href="mailto:` + esc(d.RequesterEmail) + `" style="color:#1d4ed8;">` + esc(d.RequesterEmail) + "</a>)")
	}
	b.WriteString(" asks for your approval of " + esc(d.What) + ".</p>\n")
	b.WriteString(`<table role="presentation" style="border-collapse:collapse;margin:16px 0;">` + "\n")
	for _, row := range d.Details {
		b.WriteString(`<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">` + esc(row[0]) +
			`</th><td style="padding:4px 0;">` + esc(row[1]) + "</td></tr>\n")
	}
	b.WriteString("</table>\n")
	b.WriteString(button(d.ReviewURL, "Review the request"))
	b.WriteString(`<p style="font-size:14px;color:#4b5563;">Nothing happens until a member who may approve requests decides it. It expires unapproved on ` +
		esc(d.Expires) + ".</p>\n")
	b.WriteString(htmlFoot)
	return b.String()
}
