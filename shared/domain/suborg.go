package domain

import (
	"strings"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// DefaultAdmin is the person a sub-organization was created for (seed 004): its first
// Administrator. It stays recorded on the sub-organization after they leave, so the
// parent can re-issue their access.
type DefaultAdmin struct {
	UserID    string `json:"userId"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// Name is how the admin is addressed.
func (a DefaultAdmin) Name() string { return strings.TrimSpace(a.FirstName + " " + a.LastName) }

// Usage is what one organization consumes, seed 004's "licenses consumed": its member
// seats, its managed tenants and the Microsoft 365 licenses assigned in them. Each is a
// counter kept on the organization item by the writes that change it.
type Usage struct {
	MemberSeats      int64 `json:"memberSeats"`
	ManagedTenants   int64 `json:"managedTenants"`
	AssignedLicenses int64 `json:"assignedLicenses"`
}

// Add returns u moved by d.
func (u Usage) Add(d Usage) Usage {
	return Usage{MemberSeats: u.MemberSeats + d.MemberSeats, ManagedTenants: u.ManagedTenants + d.ManagedTenants,
		AssignedLicenses: u.AssignedLicenses + d.AssignedLicenses}
}

// Zero reports whether u moves nothing.
func (u Usage) Zero() bool { return u == Usage{} }

// SubOrganizationTotals are a parent's totals across its sub-organizations, kept on the
// parent's item by the same writes that move each sub-organization's usage.
type SubOrganizationTotals struct {
	SubOrganizations int64 `json:"subOrganizations"`
	Usage
}

// NewSubOrganization is seed 004's "Add Child Organization" dialog, but its video
// password: the caller re-confirms who they are with a fresh sign-in instead.
type NewSubOrganization struct {
	CompanyName  string `json:"companyName"`
	Phone        string `json:"phone"`
	Email        string `json:"email"`
	ConfirmEmail string `json:"confirmEmail"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
}

// Normalize trims every field.
func (n *NewSubOrganization) Normalize() {
	for _, s := range []*string{&n.CompanyName, &n.Phone, &n.Email, &n.ConfirmEmail, &n.FirstName, &n.LastName} {
		*s = strings.TrimSpace(*s)
	}
}

// Validate names every bad field. The two emails are compared as addresses are
// (case-insensitively); a mismatch names confirmEmail.
func (n NewSubOrganization) Validate() error {
	var v problem.Validation
	v.Check(n.CompanyName == "", "companyName", "is required")
	v.Check(utf8.RuneCountInString(n.CompanyName) > MaxNameLength, "companyName", "must be at most %d characters", MaxNameLength)
	v.Check(n.Phone == "", "phone", "is required")
	v.Check(n.Phone != "" && !phonePattern().MatchString(n.Phone), "phone", "must be a phone number such as +1 (555) 123-4567")
	v.Check(!ValidEmail(n.Email), "email", "must be the default admin's email address")
	switch {
	case n.ConfirmEmail == "":
		v.Add("confirmEmail", "is required: enter the default admin's email address again")
	case ValidEmail(n.Email) && NormalizeEmail(n.ConfirmEmail) != NormalizeEmail(n.Email):
		v.Add("confirmEmail", "does not match email")
	}
	for _, f := range []struct{ name, value string }{{"firstName", n.FirstName}, {"lastName", n.LastName}} {
		v.Check(f.value == "", f.name, "is required")
		v.Check(utf8.RuneCountInString(f.value) > MaxShortField, f.name, "must be at most %d characters", MaxShortField)
		v.Check(strings.ContainsFunc(f.value, isControl), f.name, "must not contain control characters")
	}
	return v.Err()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
