package domain

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// CompanyRole is a company user's role in the client portal, as seed 002 writes it.
type CompanyRole string

// Seed 002's company roles.
const (
	// CompanyAdmin: full access to company data, can manage other users.
	CompanyAdmin CompanyRole = "Admin"
	// CompanyManager: access to most features, limited user management (sees them).
	CompanyManager CompanyRole = "Manager"
	// CompanyUserRole: standard access for submitting tickets and viewing info.
	CompanyUserRole CompanyRole = "User"
	// CompanyTrainingOnly: limited to training courses.
	CompanyTrainingOnly CompanyRole = "Training Only"
)

// CompanyRoles lists the company roles in seed order.
func CompanyRoles() []CompanyRole {
	return []CompanyRole{CompanyAdmin, CompanyManager, CompanyUserRole, CompanyTrainingOnly}
}

// Where a company user came from (seed 002's import sources), in the API's kebab-case.
const (
	SourceManual = "manual"
	SourceM365   = "m365"
	SourcePSA    = "psa"
	SourceCSV    = "csv"
)

// CompanyUserSources lists the sources.
func CompanyUserSources() []string { return []string{SourceManual, SourceM365, SourcePSA, SourceCSV} }

// Portal states of a company user.
const (
	PortalOff         = "off"
	PortalInvited     = "invited"
	PortalEmailFailed = "email-failed"
	PortalActive      = "active"
)

// Company user limits.
const (
	MaxCompanyTraining = 50
	MaxExternalID      = 200
)

// CompanyUser is an end user at one of the MSP's client companies (a customer), who may
// sign in to the client portal. Email is unique within the customer.
type CompanyUser struct {
	ID           string      `json:"id"`
	CustomerID   string      `json:"customerId"`
	Email        string      `json:"email"`
	Name         string      `json:"name"`
	JobTitle     string      `json:"jobTitle"`
	Role         CompanyRole `json:"role"`
	PortalAccess bool        `json:"portalAccess"`
	// PortalStatus: off, invited (an invitation waits), email-failed, active (the
	// invitation was accepted by PortalUserID).
	PortalStatus string `json:"portalStatus"`
	Source       string `json:"source"`
	ExternalID   string `json:"externalId,omitempty"`
	// PortalUserID is the Switchboard user who accepted the portal invitation.
	PortalUserID string `json:"portalUserId,omitempty"`
	// InviteTokenHash is the SHA-256 of the pending invitation's token; never returned.
	InviteTokenHash string     `json:"inviteTokenHash,omitempty"`
	InviteExpiresAt *time.Time `json:"inviteExpiresAt,omitempty"`
	InvitedAt       *time.Time `json:"invitedAt,omitempty"`
	EmailError      string     `json:"emailError,omitempty"`
	// Training lists the courses assigned to the user (course content lives outside
	// Switchboard).
	Training  []TrainingAssignment `json:"training,omitempty"`
	CreatedAt time.Time            `json:"createdAt"`
	UpdatedAt time.Time            `json:"updatedAt"`
	Version   int64                `json:"version"`
}

// TrainingAssignment is one course assigned to a company user.
type TrainingAssignment struct {
	ID         string     `json:"id"`
	Course     string     `json:"course"`
	URL        string     `json:"url,omitempty"`
	DueAt      *time.Time `json:"dueAt,omitempty"`
	AssignedBy string     `json:"assignedBy"`
	AssignedAt time.Time  `json:"assignedAt"`
}

// Normalize trims the editable fields and lower-cases the email.
func (u *CompanyUser) Normalize() {
	for _, s := range []*string{&u.Email, &u.Name, &u.JobTitle, &u.ExternalID} {
		*s = strings.TrimSpace(*s)
	}
	u.Email = NormalizeEmail(u.Email)
}

// Validate names every bad field.
func (u CompanyUser) Validate(v *problem.Validation) {
	v.Check(u.Email == "", "email", "is required")
	v.Check(u.Email != "" && !ValidEmail(u.Email), "email", "must be an email address")
	v.Check(u.Name == "", "name", "is required")
	v.Check(utf8.RuneCountInString(u.Name) > MaxNameLength, "name", "must be at most %d characters", MaxNameLength)
	v.Check(utf8.RuneCountInString(u.JobTitle) > MaxShortField, "jobTitle", "must be at most %d characters", MaxShortField)
	v.Check(!slices.Contains(CompanyRoles(), u.Role), "role", "must be one of Admin, Manager, User, Training Only")
	v.Check(!slices.Contains(CompanyUserSources(), u.Source), "source", "must be one of %s", strings.Join(CompanyUserSources(), ", "))
	v.Check(u.Source != SourceManual && u.ExternalID == "", "externalId", "is required for a user from %s", u.Source)
	v.Check(utf8.RuneCountInString(u.ExternalID) > MaxExternalID, "externalId", "must be at most %d characters", MaxExternalID)
}

// PortalActiveFor reports whether userID may use the client portal as u now: portal
// access is on and userID accepted its invitation.
func (u CompanyUser) PortalActiveFor(userID string) bool {
	return u.PortalAccess && u.PortalStatus == PortalActive && userID != "" && u.PortalUserID == userID
}

// InvitePending reports whether u's portal invitation can still be accepted at now.
func (u CompanyUser) InvitePending(now time.Time) bool {
	return u.PortalAccess && u.InviteTokenHash != "" && u.InviteExpiresAt != nil && now.Before(*u.InviteExpiresAt) &&
		(u.PortalStatus == PortalInvited || u.PortalStatus == PortalEmailFailed)
}

// Onboarding steps (seed 002's wizard and issue 9), in the wizard's order.
const (
	StepOrganizationProfile = "organization-profile"
	StepInvitePlatformUsers = "invite-platform-users"
	StepConnectM365         = "connect-m365"
	StepConnectPSA          = "connect-psa"
	StepAddCustomers        = "add-customers"
	StepCompanyUsers        = "company-users"
)

// OnboardingSteps lists the steps in order.
func OnboardingSteps() []string {
	return []string{StepOrganizationProfile, StepInvitePlatformUsers, StepConnectM365, StepConnectPSA, StepAddCustomers, StepCompanyUsers}
}

// Onboarding step statuses.
const (
	StepNotStarted = "not-started"
	StepInProgress = "in-progress"
	StepComplete   = "complete"
)

// OnboardingMark is a step someone marked complete ("Mark Complete").
type OnboardingMark struct {
	CompletedAt time.Time `json:"completedAt"`
	CompletedBy string    `json:"completedBy"`
}
