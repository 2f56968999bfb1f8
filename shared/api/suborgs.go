package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Seed 004's MSP Admin: sub-organizations under a parent MSP organization, the licenses
// each consumes, and re-issuing a sub-organization admin's access. Supporting a
// sub-organization is no route of its own: any organization-scoped route acts in one
// named by X-Organization-Id (shared/access, the support path).

// SubOrganizationsCreate creates a sub-organization with its default admin (seed 004's
// "Add Child Organization"), after a fresh sign-in.
var SubOrganizationsCreate = Route{Method: "POST", Path: "/api/msp-admin/sub-organizations", Permission: permission.ManageSubOrgs,
	Function: "sub-organizations-create", Category: audit.Settings, FreshSignIn: true, Handler: createSubOrganization,
	Summary: "Create a sub-organization with its default admin",
	Actions: []string{"dynamodb:ConditionCheckItem", "cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser",
		"cognito-idp:AdminSetUserPassword", "ses:SendEmail"}}

// SubOrganizationsList pages through the sub-organizations, searching by name prefix.
var SubOrganizationsList = Route{Method: "GET", Path: "/api/msp-admin/sub-organizations", Permission: permission.ManageSubOrgs,
	Function: "sub-organizations-list", Read: fetchSubOrganizations,
	Summary: "List and search the sub-organizations with the licenses each consumes"}

// SubOrganizationsGet reads one sub-organization.
var SubOrganizationsGet = Route{Method: "GET", Path: "/api/msp-admin/sub-organizations/{subOrgId}", Permission: permission.ManageSubOrgs,
	Function: "sub-organizations-get", Read: fetchSubOrganization,
	Summary: "Get a sub-organization with the licenses it consumes"}

// SubOrganizationsAdminsReset re-issues a sub-organization admin's access, after a
// fresh sign-in.
var SubOrganizationsAdminsReset = Route{Method: "POST", Path: "/api/msp-admin/sub-organizations/{subOrgId}/admins/{userId}/reset",
	Permission: permission.ManageSubOrgs, Function: "sub-organizations-admins-reset", Category: audit.UserManagement, FreshSignIn: true, Handler: resetSubOrganizationAdmin,
	Summary: "Re-issue a sub-organization admin's access: a new temporary password, or a new invitation",
	Actions: []string{"dynamodb:ConditionCheckItem", "cognito-idp:AdminCreateUser", "cognito-idp:AdminSetUserPassword", "ses:SendEmail"}}

// MspDashboardGet gives the totals across the sub-organizations.
var MspDashboardGet = Route{Method: "GET", Path: "/api/msp-admin/dashboard", Permission: permission.ManageSubOrgs,
	Function: "msp-dashboard-get", Read: fetchMSPDashboard,
	Summary: "The totals across the sub-organizations: how many, and the licenses they consume"}

func subOrganizationRoutes() []Route {
	return []Route{SubOrganizationsCreate, SubOrganizationsList, SubOrganizationsGet, SubOrganizationsAdminsReset, MspDashboardGet}
}

const subOrganizationsPath = "/api/msp-admin/sub-organizations"

// subOrganizationView is one row of the MSP Admin dashboard grid (seed 004).
type subOrganizationView struct {
	ID                string       `json:"id"`
	CompanyName       string       `json:"companyName"`
	Phone             string       `json:"phone"`
	DefaultAdminEmail string       `json:"defaultAdminEmail"`
	CreatedAt         time.Time    `json:"createdAt"`
	LicensesConsumed  domain.Usage `json:"licensesConsumed"`
}

func viewSubOrganization(s store.SubOrganization) subOrganizationView {
	o := s.Organization
	v := subOrganizationView{ID: o.ID, CompanyName: o.Name, Phone: o.Profile.Phone, CreatedAt: o.CreatedAt, LicensesConsumed: s.Usage}
	if o.DefaultAdmin != nil {
		v.DefaultAdminEmail = o.DefaultAdmin.Email
	}
	return v
}

// subOrganizationDetail is one sub-organization with its default admin.
type subOrganizationDetail struct {
	subOrganizationView
	DefaultAdmin defaultAdminView `json:"defaultAdmin"`
}

// defaultAdminView is the default admin and how their access was issued.
type defaultAdminView struct {
	UserID    string `json:"userId"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	// Account, in the answer of a create: how the admin signs in (adminAccount*).
	Account string `json:"account,omitempty"`
	// EmailSent, in the answer of a create: the sign-in email went out.
	EmailSent *bool `json:"emailSent,omitempty"`
}

// How a new sub-organization's default admin signs in.
const (
	// adminAccountCreated: a new Cognito account; the email holds a temporary password.
	adminAccountCreated = "created"
	// adminAccountExisting: the address already signs in (a Switchboard user, or a
	// Cognito account in use): nothing about it changed.
	adminAccountExisting = "existing"
	// adminAccountNotConfigured: this deployment has no Cognito user pool (the local
	// server's development sign-in).
	adminAccountNotConfigured = "not-configured"
	// adminAccountFailed: Cognito refused or did not answer; the sub-organization and
	// the admin's membership exist, and the reset route issues the account.
	adminAccountFailed = "failed"
)

func viewSubOrganizationDetail(s store.SubOrganization) subOrganizationDetail {
	d := subOrganizationDetail{subOrganizationView: viewSubOrganization(s)}
	if a := s.Organization.DefaultAdmin; a != nil {
		d.DefaultAdmin = defaultAdminView{UserID: a.UserID, Email: a.Email, FirstName: a.FirstName, LastName: a.LastName}
	}
	return d
}

func fetchSubOrganizations(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, prefix, err := namedPage(r)
	if err != nil {
		return nil, err
	}
	subs, next, err := d.Store.ListSubOrganizations(ctx, orgID, prefix, p)
	if err != nil {
		return nil, err
	}
	return filtered(subs, next, func(store.SubOrganization) bool { return true }, viewSubOrganization), nil
}

func fetchSubOrganization(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	s, err := d.Store.GetSubOrganization(ctx, orgID, r.PathValue("subOrgId"))
	if err != nil {
		return nil, notFoundAs(err, "sub-organization")
	}
	return viewSubOrganizationDetail(s), nil
}

// dashboardView is the MSP Admin dashboard's totals.
type dashboardView struct {
	OrganizationID   string       `json:"organizationId"`
	SubOrganizations int64        `json:"subOrganizations"`
	LicensesConsumed domain.Usage `json:"licensesConsumed"`
}

func fetchMSPDashboard(ctx context.Context, d *Deps, _ *http.Request, orgID string) (any, error) {
	t, err := d.Store.SubOrganizationTotals(ctx, orgID)
	if err != nil {
		return nil, notFoundAs(err, "organization")
	}
	return dashboardView{OrganizationID: orgID, SubOrganizations: t.SubOrganizations, LicensesConsumed: t.Usage}, nil
}

// errNested is the 409 of creating a sub-organization inside one.
var errNested = problem.Conflictf("nesting-not-allowed",
	"only a top-level organization can have sub-organizations; act in the parent organization to create one")

func createSubOrganization(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in domain.NewSubOrganization
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		in.Normalize()
		if err := in.Validate(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if oc.Org.ParentID != "" {
			problem.Write(ctx, w, r, errNested)
			return
		}
		sub, existing, err := writeSubOrganization(ctx, d, oc, in)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// The sub-organization is committed: whatever fails from here is reported in
		// the answer, never as an error, so a retry cannot make a second one.
		view := viewSubOrganizationDetail(store.SubOrganization{Organization: sub, Usage: domain.Usage{MemberSeats: 1}})
		view.DefaultAdmin.Account, view.DefaultAdmin.EmailSent = d.issueDefaultAdmin(context.WithoutCancel(ctx), oc, sub, existing)
		w.Header().Set("Location", subOrganizationsPath+"/"+sub.ID)
		write(w, http.StatusCreated, view)
	})
}

// writeSubOrganization writes the sub-organization with its default admin as
// Administrator: the user that holds the email, or a new user. It reports whether the
// email had a user. A first sign-in that claims the email meanwhile is met by reading
// it again.
func writeSubOrganization(ctx context.Context, d *Deps, oc *access.Context, in domain.NewSubOrganization) (domain.Organization, bool, error) {
	email := domain.NormalizeEmail(in.Email)
	admin := domain.DefaultAdmin{Email: email, FirstName: in.FirstName, LastName: in.LastName}
	for attempt := 0; attempt < 3; attempt++ {
		userID, err := d.Store.UserIDByEmail(ctx, email)
		if err != nil {
			return domain.Organization{}, false, err
		}
		now := d.Store.Now()
		profile := domain.NewProfile(in.CompanyName)
		profile.Phone = in.Phone
		sub := domain.Organization{ID: domain.NewID(), Name: in.CompanyName, ParentID: oc.Org.ID,
			CreatedAt: now, Version: 1, Profile: profile}
		c := store.SubOrganizationCreate{}
		if userID == "" {
			c.NewUser = &domain.User{ID: domain.NewID(), Email: email, Name: admin.Name(), ActiveOrganizationID: sub.ID, CreatedAt: now}
			userID = c.NewUser.ID
		}
		admin.UserID = userID
		sub.DefaultAdmin = &admin
		c.Organization = sub
		c.Admin = domain.Membership{OrganizationID: sub.ID, UserID: userID, Email: email, Name: admin.Name(),
			Role: permission.Administrator, TenantScope: domain.AllTenantsScope(), JoinedAt: now, Version: 1}
		c.ParentEvent = audit.New(ctx, oc.Org.ID, audit.Settings, "sub-organization.create",
			fmt.Sprintf("created sub-organization %q with default admin %s", sub.Name, email))
		c.ParentEvent.Targets = audit.Targets{UserIDs: []string{userID}, Emails: []string{email}}
		c.Event = audit.New(ctx, sub.ID, audit.Settings, "organization.create",
			fmt.Sprintf("created as a sub-organization of %q, with %s as Administrator", oc.Org.Name, email))
		c.Event.Targets = c.ParentEvent.Targets
		c.Event.OnBehalfOf = &audit.OnBehalfOf{MSPOrganizationID: oc.Org.ID, SubOrganizationID: sub.ID}
		err = d.Store.CreateSubOrganization(ctx, c)
		if errors.Is(err, store.ErrEmailClaimed) {
			continue
		}
		if err != nil {
			return domain.Organization{}, false, fmt.Errorf("create sub-organization: %w", err)
		}
		return sub, c.NewUser == nil, nil
	}
	return domain.Organization{}, false, problem.Conflictf("email-busy",
		"the default admin's email is being registered concurrently; try again")
}

// issueDefaultAdmin gives a new sub-organization's default admin their way in and
// emails them how to sign in (seed 004: "Email is sent to the default sub org admin
// with credentials for login"). Failures are logged and reported, never returned.
func (d *Deps) issueDefaultAdmin(ctx context.Context, oc *access.Context, sub domain.Organization, existing bool) (string, *bool) {
	admin := *sub.DefaultAdmin
	msg := mail.SignInEmail{To: admin.Email, OrganizationName: sub.Name, InviterName: inviterOf{oc}.inviter().Name,
		ConsoleURL: d.ConsoleURL, ExistingAccount: existing}
	account := adminAccountExisting
	switch {
	case existing:
	case d.Identity == nil:
		account = adminAccountNotConfigured
	default:
		creds, err := d.Identity.ProvisionUser(ctx, identity.PoolUser{Email: admin.Email, GivenName: admin.FirstName, FamilyName: admin.LastName})
		switch {
		case err != nil:
			slog.WarnContext(ctx, "default admin's account not created", "requestId", RequestID(ctx), "organizationId", sub.ID, "err", err.Error())
			sent := false
			return adminAccountFailed, &sent
		case creds.Existing:
			msg.ExistingAccount = true
		default:
			account, msg.TemporaryPassword = adminAccountCreated, creds.TemporaryPassword
		}
	}
	sent := d.sendSignIn(ctx, sub.ID, msg) == nil
	return account, &sent
}

// sendSignIn emails sign-in instructions; its error is logged without the message,
// which may hold a temporary password.
func (d *Deps) sendSignIn(ctx context.Context, orgID string, in mail.SignInEmail) error {
	msg, err := mail.SignInInstructions(in)
	switch {
	case err != nil:
	case d.Mail == nil:
		err = errors.New("no mail sender is configured")
	default:
		err = d.Mail.Send(ctx, msg)
	}
	if err != nil {
		slog.WarnContext(ctx, "sign-in email not sent", "requestId", RequestID(ctx), "organizationId", orgID,
			"permanent", mail.Permanent(err), "err", err.Error())
	}
	return err
}

// adminResetView answers a reset: how the admin's access was re-issued.
type adminResetView struct {
	SubOrganizationID string `json:"subOrganizationId"`
	UserID            string `json:"userId"`
	Email             string `json:"email"`
	// Method is "password-reset" (a new temporary password, emailed) or "invitation"
	// (the admin is no member any more: a new invitation as Administrator).
	Method       string `json:"method"`
	EmailSent    bool   `json:"emailSent"`
	InvitationID string `json:"invitationId,omitempty"`
}

// The ways of re-issuing an admin's access.
const (
	resetPassword   = "password-reset"
	resetInvitation = "invitation"
)

// resetSubOrganizationAdmin re-issues a sub-organization admin's access without
// touching anything in the sub-organization: a member who is its Administrator (or
// Owner) gets a new temporary password; its default admin who is no member any more
// gets a new invitation as Administrator.
func resetSubOrganizationAdmin(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		sub, err := d.Store.GetSubOrganization(ctx, oc.Org.ID, r.PathValue("subOrgId"))
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "sub-organization"))
			return
		}
		userID := r.PathValue("userId")
		var m *domain.Membership
		if domain.ValidID(userID) {
			got, err := d.Store.GetMember(ctx, sub.Organization.ID, userID)
			switch {
			case err == nil && (got.Role == permission.Administrator || got.Role == permission.Owner):
				m = &got
			case err != nil && !errors.Is(err, store.ErrNotFound):
				problem.Write(ctx, w, r, err)
				return
			}
		}
		admin := sub.Organization.DefaultAdmin
		var res adminResetView
		switch {
		case m != nil:
			res, err = d.resetAdminPassword(ctx, oc, sub.Organization, *m)
		case admin != nil && admin.UserID == userID:
			res, err = d.reinviteAdmin(ctx, oc, sub.Organization, *admin)
		default:
			err = problem.NotFoundf("the sub-organization has no admin %q", userID)
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, res)
	})
}

// resetEvents are the audit events of a reset: in the parent's log, and in the
// sub-organization's, on behalf of it, where its own members see it.
func resetEvents(ctx context.Context, oc *access.Context, sub domain.Organization, summary, email, userID string) (audit.Event, audit.Event) {
	targets := audit.Targets{Emails: []string{email}}
	if userID != "" {
		targets.UserIDs = []string{userID}
	}
	pe := audit.New(ctx, oc.Org.ID, audit.UserManagement, "sub-organization.admin.reset",
		fmt.Sprintf("%s in sub-organization %q", summary, sub.Name))
	pe.Targets = targets
	ev := audit.New(ctx, sub.ID, audit.UserManagement, "admin.reset", summary)
	ev.Targets = targets
	ev.OnBehalfOf = &audit.OnBehalfOf{MSPOrganizationID: oc.Org.ID, SubOrganizationID: sub.ID}
	return pe, ev
}

// resetAdminPassword gives a member admin a new temporary password and emails it, then
// records it. Cognito and the email come first: until the record commits nothing is
// in the table, so a failure is a 503 that a retry repeats in full.
func (d *Deps) resetAdminPassword(ctx context.Context, oc *access.Context, sub domain.Organization, m domain.Membership) (adminResetView, error) {
	u := identity.PoolUser{Email: m.Email}
	if a := sub.DefaultAdmin; a != nil && a.UserID == m.UserID {
		u.GivenName, u.FamilyName = a.FirstName, a.LastName
	}
	password, err := d.directory().ResetPassword(ctx, u)
	if errors.Is(err, identity.ErrNoUserPool) {
		return adminResetView{}, problem.New(problem.Unavailable, "identity-unavailable",
			"no Cognito user pool is configured for this deployment, so there is no password to reset")
	}
	if err != nil {
		return adminResetView{}, fmt.Errorf("reset password of %s: %w", m.UserID, err)
	}
	err = d.sendSignIn(ctx, sub.ID, mail.SignInEmail{To: m.Email, OrganizationName: sub.Name, InviterName: inviterOf{oc}.inviter().Name,
		ConsoleURL: d.ConsoleURL, TemporaryPassword: password, Reset: true})
	if err != nil {
		if _, transient := problem.Transient(err); transient {
			return adminResetView{}, fmt.Errorf("email the reset password of %s: %w", m.UserID, err)
		}
		// Nothing is recorded: the admin never learns a password that no email carries.
		return adminResetView{}, problem.New(problem.Unavailable, "email-unavailable",
			"the new temporary password could not be emailed (this deployment sends no email, or the address refuses it)")
	}
	pe, ev := resetEvents(ctx, oc, sub, "reset the password of admin "+m.Email, m.Email, m.UserID)
	if err := d.Store.RecordEvents(ctx, pe, ev); err != nil {
		return adminResetView{}, err
	}
	return adminResetView{SubOrganizationID: sub.ID, UserID: m.UserID, Email: m.Email, Method: resetPassword, EmailSent: true}, nil
}

// reinviteAdmin invites the default admin, who is no member any more, back as
// Administrator through the team's invitation flow.
func (d *Deps) reinviteAdmin(ctx context.Context, oc *access.Context, sub domain.Organization, admin domain.DefaultAdmin) (adminResetView, error) {
	now := d.Store.Now()
	token, hash := domain.NewInvitationToken()
	inv := domain.Invitation{ID: domain.NewID(), OrganizationID: sub.ID, Email: admin.Email, DisplayName: admin.Name(),
		Role: permission.Administrator, TenantScope: domain.AllTenantsScope(), InvitedBy: inviterOf{oc}.inviter(),
		Status: domain.InvitationPending, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(domain.InvitationTTL), TokenHash: hash}
	pe, ev := resetEvents(ctx, oc, sub, "invited default admin "+admin.Email+" back as Administrator", admin.Email, admin.UserID)
	if err := d.Store.CreateInvitation(ctx, inv, ev, pe); err != nil {
		return adminResetView{}, err
	}
	inv.Version = 1
	inv = d.sendInvitation(ctx, sub, inv, token)
	return adminResetView{SubOrganizationID: sub.ID, UserID: admin.UserID, Email: admin.Email, Method: resetInvitation,
		EmailSent: inv.Status == domain.InvitationPending, InvitationID: inv.ID}, nil
}
