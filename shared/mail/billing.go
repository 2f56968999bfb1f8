package mail

import (
	"fmt"
	"strings"
)

// BillingNoticeEmail is what an organization's billing contact (seed 000) is told: a
// usage alert, a plan change, an invoice or a payment. Company facts come from the
// organization's profile, as invoices carry them.
type BillingNoticeEmail struct {
	To               string
	ContactName      string
	OrganizationName string
	// Headline says what happened in one line, e.g. "Managed tenants at 80% of the
	// free plan's limit".
	Headline string
	// Details are the notice's facts, label and value, shown in order.
	Details [][2]string
	// Company holds the organization's company information: name, address, tax ID.
	CompanyName string
	Address     string
	TaxID       string
	// URL is where the billing page is.
	URL string
}

// BillingNotice renders a billing notice: subject, text and HTML parts, with the
// billing page's link as Links[0].
func BillingNotice(in BillingNoticeEmail) (Message, error) {
	var v validation
	to := v.address("to", in.To)
	org := v.required("organizationName", in.OrganizationName)
	headline := v.required("headline", in.Headline)
	url := v.link("url", in.URL)
	details := make([][2]string, 0, len(in.Details)+3)
	for i, d := range in.Details {
		details = append(details, [2]string{v.required(fmt.Sprintf("details[%d].label", i), d[0]), singleLine(d[1])})
	}
	for _, f := range [][2]string{{"Company", in.CompanyName}, {"Address", in.Address}, {"Tax ID", in.TaxID}} {
		if s := singleLine(f[1]); s != "" {
			details = append(details, [2]string{f[0], s})
		}
	}
	if err := v.err("billing notice"); err != nil {
		return Message{}, err
	}
	d := billingData{Subject: headline + " · " + org, Greeting: singleLine(in.ContactName), Organization: org,
		Headline: headline, Details: details, URL: url}
	return Message{To: []string{to}, Subject: d.Subject, Text: d.text(), HTML: d.html(), Links: []string{url}}, nil
}

type billingData struct {
	Subject      string
	Greeting     string
	Organization string
	Headline     string
	Details      [][2]string
	URL          string
}

func (d billingData) hello() string {
	if d.Greeting == "" {
		return "Hello,"
	}
	return "Hello " + d.Greeting + ","
}

func (d billingData) text() string {
	var b strings.Builder
	b.WriteString(d.hello() + "\n\n" + d.Headline + " (" + d.Organization + ").\n\n")
	width := 0
	for _, row := range d.Details {
		width = max(width, len(row[0]))
	}
	for _, row := range d.Details {
		b.WriteString(row[0] + ":" + strings.Repeat(" ", width-len(row[0])+1) + row[1] + "\n")
	}
	b.WriteString("\nBilling and usage:\n" + d.URL + "\n\n")
	b.WriteString("You receive this as the billing contact of " + d.Organization + ".\n")
	return b.String()
}

func (d billingData) html() string {
	var b strings.Builder
	b.WriteString(htmlHead(d.Subject))
	b.WriteString(`<h1 style="font-size:22px;margin:0 0 16px;">` + esc(d.Headline) + "</h1>\n")
	b.WriteString("<p>" + esc(d.hello()) + "</p>\n<p>This concerns " + esc(d.Organization) + ".</p>\n")
	b.WriteString(`<table role="presentation" style="border-collapse:collapse;margin:16px 0;">` + "\n")
	for _, row := range d.Details {
		b.WriteString(`<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;font-weight:600;">` + esc(row[0]) +
			`</th><td style="padding:4px 0;">` + esc(row[1]) + "</td></tr>\n")
	}
	b.WriteString("</table>\n")
	b.WriteString(button(d.URL, "Open billing and usage"))
	b.WriteString(`<p style="font-size:14px;color:#4b5563;">You receive this as the billing contact of ` + esc(d.Organization) + ".</p>\n")
	b.WriteString(htmlFoot)
	return b.String()
}
