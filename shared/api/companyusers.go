package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// companyUsersPath lists a customer's company users (seed 002).
const companyUsersPath = customerPath + "/users"

// Routes: seed 002's company users of a customer, as the MSP manages them. Each applies
// the customer's visibility under the caller's tenant scope (a customer outside it is
// not found), as the customer's other tabs do.
var (
	CustomersUsersList = Route{Method: "GET", Path: companyUsersPath, Permission: permission.ViewData, Function: "customers-users-list",
		Summary: "List a customer's company users by name", Read: fetchCompanyUsers}
	CustomersUsersCreate = Route{Method: "POST", Path: companyUsersPath, Permission: permission.ManageUsers, Function: "customers-users-create", Category: audit.Customer,
		Summary: "Add a company user to a customer; with portal access, email them a portal invitation", Handler: createCompanyUser,
		Actions: []string{"ses:SendEmail"}}
	CustomersUsersGet = Route{Method: "GET", Path: companyUsersPath + "/{userId}", Permission: permission.ViewData, Function: "customers-users-get",
		Summary: "Get a customer's company user", Read: fetchCompanyUser}
	CustomersUsersUpdate = Route{Method: "PUT", Path: companyUsersPath + "/{userId}", Permission: permission.ManageUsers, Function: "customers-users-update", Category: audit.Customer,
		Summary: "Update a company user: details, company role, portal access", Handler: updateCompanyUser,
		Actions: []string{"dynamodb:DeleteItem", "ses:SendEmail"}}
	CustomersUsersDelete = Route{Method: "DELETE", Path: companyUsersPath + "/{userId}", Permission: permission.ManageUsers, Function: "customers-users-delete", Category: audit.Customer,
		Summary: "Remove a company user; their portal access ends at once", Handler: deleteCompanyUser,
		Actions: []string{"dynamodb:DeleteItem"}}
	CustomersUsersTrainingAssign = Route{Method: "POST", Path: companyUsersPath + "/{userId}/training", Permission: permission.ManageUsers, Function: "customers-users-training-assign", Category: audit.Customer,
		Summary: "Assign a training course to a company user", Handler: assignTraining}
)

// companyUserRoutes are seed 002's company users, their import, the client portal and
// the onboarding checklist.
func companyUserRoutes() []Route {
	return []Route{CustomersUsersList, CustomersUsersCreate, CustomersUsersGet, CustomersUsersUpdate, CustomersUsersDelete,
		CustomersUsersImport, CustomersUsersTrainingAssign}
}

// companyUserView is a company user as the API shows it; the invitation's token hash
// stays inside.
type companyUserView struct {
	ID              string                      `json:"id"`
	CustomerID      string                      `json:"customerId"`
	Email           string                      `json:"email"`
	Name            string                      `json:"name"`
	JobTitle        string                      `json:"jobTitle"`
	Role            domain.CompanyRole          `json:"role"`
	PortalAccess    bool                        `json:"portalAccess"`
	PortalStatus    string                      `json:"portalStatus"`
	Source          string                      `json:"source"`
	ExternalID      string                      `json:"externalId"`
	InviteExpiresAt *time.Time                  `json:"inviteExpiresAt,omitempty"`
	EmailError      string                      `json:"emailError,omitempty"`
	Training        []domain.TrainingAssignment `json:"training"`
	CreatedAt       time.Time                   `json:"createdAt"`
	UpdatedAt       time.Time                   `json:"updatedAt"`
	Version         int64                       `json:"version"`
}

func viewCompanyUser(u domain.CompanyUser) companyUserView {
	v := companyUserView{ID: u.ID, CustomerID: u.CustomerID, Email: u.Email, Name: u.Name, JobTitle: u.JobTitle, Role: u.Role,
		PortalAccess: u.PortalAccess, PortalStatus: u.PortalStatus, Source: u.Source, ExternalID: u.ExternalID,
		EmailError: u.EmailError, Training: u.Training, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Version: u.Version}
	if u.PortalStatus == "" {
		v.PortalStatus = domain.PortalOff
	}
	if u.PortalAccess && u.InviteTokenHash != "" {
		v.InviteExpiresAt = u.InviteExpiresAt
	}
	if v.Training == nil {
		v.Training = []domain.TrainingAssignment{}
	}
	return v
}

func companyUserPath(customerID, id string) string {
	return "/api/msp-portal/customers/" + customerID + "/users/" + id
}

func fetchCompanyUsers(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, perr := page(r)
	var users []domain.CompanyUser
	var next string
	tr, err := readTab(ctx, d, r, orgID, perr, func() (err error) {
		users, next, err = d.Store.ListCompanyUsers(ctx, orgID, r.PathValue("customerId"), p)
		return err
	})
	if err != nil {
		return nil, err
	}
	tr.present = func(*access.Context) any {
		return filtered(users, next, func(domain.CompanyUser) bool { return true }, viewCompanyUser)
	}
	return tr, nil
}

func fetchCompanyUser(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	var u domain.CompanyUser
	var uerr error
	tr, err := readTab(ctx, d, r, orgID, nil, func() error {
		u, uerr = d.Store.GetCompanyUser(ctx, orgID, r.PathValue("customerId"), r.PathValue("userId"))
		if errors.Is(uerr, store.ErrNotFound) {
			return nil // answered once the customer's visibility is known
		}
		return uerr
	})
	if err != nil {
		return nil, err
	}
	if uerr != nil {
		tr.invalid = problem.NotFoundf("the company user was not found")
	}
	tr.present = func(*access.Context) any { return viewCompanyUser(u) }
	return tr, nil
}

// companyUserInput is the body of a new company user and of a change. A PUT accepts the
// GET's body: id, source, externalId, portalStatus and the rest are read-only there.
type companyUserInput struct {
	Email        string  `json:"email"`
	Name         string  `json:"name"`
	JobTitle     string  `json:"jobTitle"`
	Role         string  `json:"role"`
	PortalAccess *bool   `json:"portalAccess"`
	Source       string  `json:"source"`
	ExternalID   *string `json:"externalId"`
	Version      *int64  `json:"version"`
}

// apply copies the editable fields onto u and validates them; an absent role or
// portalAccess keeps u's (a new user's: User, no portal access). It reports whether a
// portal invitation must be (re)sent.
func (in companyUserInput) apply(u *domain.CompanyUser, now time.Time) (string, error) {
	before := *u
	u.Email, u.Name, u.JobTitle = in.Email, in.Name, in.JobTitle
	if in.Role != "" {
		u.Role = domain.CompanyRole(in.Role)
	}
	if in.PortalAccess != nil {
		u.PortalAccess = *in.PortalAccess
	}
	u.Normalize()
	var v problem.Validation
	u.Validate(&v)
	if err := v.Err(); err != nil {
		return "", err
	}
	return setPortal(u, before, now), nil
}

// setPortal applies the portal rules to u (changed from before) and returns the new
// invitation token when one must be emailed: turning portal access on invites; a
// changed email, while on, invites the new address (the old binding ends); turning it
// off ends the binding and the invitation at once.
func setPortal(u *domain.CompanyUser, before domain.CompanyUser, now time.Time) string {
	switch {
	case !u.PortalAccess:
		u.PortalStatus, u.PortalUserID, u.InviteTokenHash, u.InviteExpiresAt, u.InvitedAt, u.EmailError = domain.PortalOff, "", "", nil, nil, ""
		return ""
	case before.PortalAccess && u.Email == before.Email:
		return ""
	}
	token, hash := domain.NewInvitationToken()
	exp := now.Add(domain.InvitationTTL)
	u.PortalStatus, u.PortalUserID, u.InviteTokenHash, u.InviteExpiresAt, u.InvitedAt, u.EmailError = domain.PortalInvited, "", hash, &exp, &now, ""
	return token
}

// companyUserFields are a company user's editable fields, for the audit event's changes.
type companyUserFields struct {
	Email        string `json:"email"`
	Name         string `json:"name"`
	JobTitle     string `json:"jobTitle"`
	Role         string `json:"role"`
	PortalAccess bool   `json:"portalAccess"`
}

func fieldsOfCompanyUser(u domain.CompanyUser) companyUserFields {
	return companyUserFields{u.Email, u.Name, u.JobTitle, string(u.Role), u.PortalAccess}
}

func duplicateCompanyUser(err error) error {
	var dup *store.DuplicateCompanyUserError
	if errors.As(err, &dup) {
		pe := problem.Conflictf("duplicate-"+map[string]string{"email": "email", "externalId": "external-id"}[dup.Field],
			"another company user of this customer has this %s", dup.Field)
		pe.Extra = map[string]any{"companyUserId": dup.CompanyUserID}
		return pe
	}
	return err
}

// companyUsers is what the MSP's routes and the portal's share: the customer whose
// users are managed, in organization org, and who acts.
type companyUsers struct {
	d        *Deps
	org      domain.Organization
	customer domain.Customer
}

func (c companyUsers) create(ctx context.Context, in companyUserInput) (domain.CompanyUser, error) {
	now := c.d.Store.Now()
	u := domain.CompanyUser{ID: domain.NewID(), CustomerID: c.customer.ID, Role: domain.CompanyUserRole, Source: domain.SourceManual,
		CreatedAt: now, UpdatedAt: now}
	if in.Source != "" {
		u.Source = in.Source
	}
	if in.ExternalID != nil {
		u.ExternalID = *in.ExternalID
	}
	token, err := in.apply(&u, now)
	if err != nil {
		return u, err
	}
	ev := audit.New(ctx, c.org.ID, audit.Customer, "company-user.create",
		fmt.Sprintf("added company user %s (%s) to customer %q", u.Email, u.Role, c.customer.Name))
	c.target(&ev, u)
	if err := c.d.Store.CreateCompanyUser(ctx, c.org.ID, u, ev); err != nil {
		return u, duplicateCompanyUser(notFoundAs(err, "customer"))
	}
	u.Version = 1
	return c.sendPortalInvitation(ctx, u, token), nil
}

func (c companyUsers) target(ev *audit.Event, u domain.CompanyUser) {
	ev.Targets.CustomerIDs = []string{c.customer.ID}
	ev.Targets.Emails = []string{u.Email}
}

func (c companyUsers) update(ctx context.Context, cur domain.CompanyUser, in companyUserInput) (domain.CompanyUser, error) {
	var token string
	next, err := c.d.Store.UpdateCompanyUserFrom(ctx, c.org.ID, cur, in.Version, func(u *domain.CompanyUser) (audit.Event, error) {
		before := *u
		var err error
		if token, err = in.apply(u, c.d.Store.Now()); err != nil {
			return audit.Event{}, err
		}
		action, summary := "company-user.update", fmt.Sprintf("updated company user %s of customer %q", u.Email, c.customer.Name)
		switch {
		case u.PortalAccess && !before.PortalAccess:
			action, summary = "company-user.portal-on", fmt.Sprintf("turned on portal access of %s (customer %q)", u.Email, c.customer.Name)
		case !u.PortalAccess && before.PortalAccess:
			action, summary = "company-user.portal-off", fmt.Sprintf("turned off portal access of %s (customer %q)", u.Email, c.customer.Name)
		}
		ev := audit.New(ctx, c.org.ID, audit.Customer, action, summary)
		c.target(&ev, *u)
		ev.Changes = diff(fieldsOfCompanyUser(before), fieldsOfCompanyUser(*u))
		return ev, nil
	})
	if err != nil {
		return next, duplicateCompanyUser(notFoundAs(err, "company user"))
	}
	return c.sendPortalInvitation(ctx, next, token), nil
}

// remove deletes cur; a DELETE names no version, so a change made meanwhile is read
// again rather than answered as a conflict.
func (c companyUsers) remove(ctx context.Context, cur domain.CompanyUser) error {
	for attempt := 0; ; attempt++ {
		ev := audit.New(ctx, c.org.ID, audit.Customer, "company-user.delete",
			fmt.Sprintf("removed company user %s from customer %q", cur.Email, c.customer.Name))
		c.target(&ev, cur)
		err := c.d.Store.DeleteCompanyUser(ctx, c.org.ID, cur, ev)
		if err == nil || problem.As(err).Code != "stale-version" {
			return notFoundAs(err, "company user")
		}
		if attempt == 2 {
			return fmt.Errorf("delete company user %s: changed concurrently three times", cur.ID)
		}
		if cur, err = c.d.Store.GetCompanyUser(ctx, c.org.ID, c.customer.ID, cur.ID); err != nil {
			return notFoundAs(err, "company user")
		}
	}
}

func (d *Deps) portalAcceptURL(token string) string {
	return d.ConsoleURL + "/portal/accept?token=" + url.QueryEscape(token)
}

// sendPortalInvitation emails the invitation of token, when there is one. As with team
// invitations, the user is written first: a send that fails keeps them with portal
// status email-failed and the reason, and turning portal access off and on sends a new
// one.
func (c companyUsers) sendPortalInvitation(ctx context.Context, u domain.CompanyUser, token string) domain.CompanyUser {
	if token == "" {
		return u
	}
	msg, err := mail.PortalInvitation(mail.PortalInvitationEmail{To: u.Email, CompanyName: c.customer.Name, MSPName: c.org.Name,
		Role: string(u.Role), ExpiresAt: *u.InviteExpiresAt, AcceptURL: c.d.portalAcceptURL(token)})
	reason := "the email could not be sent; check the address, then turn portal access off and on to send another"
	switch {
	case err != nil:
	case c.d.Mail == nil:
		err, reason = errors.New("no mail sender is configured"), "this deployment sends no email (MAIL_FROM is not set)"
	default:
		if err = c.d.Mail.Send(ctx, msg); err != nil && !mail.Permanent(err) {
			reason = "the email service did not answer; turn portal access off and on in a few minutes to send another"
		}
	}
	if err == nil {
		return u
	}
	slog.WarnContext(ctx, "portal invitation email not sent", "requestId", RequestID(ctx), "organizationId", c.org.ID,
		"companyUserId", u.ID, "permanent", mail.Permanent(err), "err", err.Error())
	saved, perr := c.d.Store.UpdateCompanyUserFrom(context.WithoutCancel(ctx), c.org.ID, u, nil, func(n *domain.CompanyUser) (audit.Event, error) {
		n.PortalStatus, n.EmailError = domain.PortalEmailFailed, reason
		return audit.Event{}, nil
	})
	if perr != nil {
		slog.ErrorContext(ctx, "portal invitation status not recorded", "requestId", RequestID(ctx), "companyUserId", u.ID, "err", perr.Error())
		return u
	}
	return saved
}

// companyUserRoutes serve the MSP's company user routes and the portal Admin's alike;
// what differs is how the caller reaches the users (companyUsersOf, companyUserOf),
// what a change may not touch (guard, a 409 after validation), and where a new user is.

// companyUsersOf resolves whose users a request manages.
type companyUsersOf func(ctx context.Context, d *Deps, r *http.Request) (companyUsers, error)

// companyUserOf resolves the company user of the path, and whose it is.
type companyUserOf func(ctx context.Context, d *Deps, r *http.Request) (companyUsers, domain.CompanyUser, error)

func createCompanyUserWith(of companyUsersOf, manual bool, path func(domain.CompanyUser) string) func(*Deps) http.Handler {
	return func(d *Deps) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			cu, err := of(ctx, d, r)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			var in companyUserInput
			if err := decode(r, &in); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			if manual {
				in.Source, in.ExternalID = "", nil
			}
			u, err := cu.create(ctx, in)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			w.Header().Set("Location", path(u))
			write(w, http.StatusCreated, viewCompanyUser(u))
		})
	}
}

func updateCompanyUserWith(of companyUserOf, guard func(context.Context, domain.CompanyUser) error) func(*Deps) http.Handler {
	return func(d *Deps) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			cu, cur, err := of(ctx, d, r)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			var in companyUserInput
			if err := decode(r, &in); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			if err := guard(ctx, cur); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			next, err := cu.update(ctx, cur, in)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			write(w, http.StatusOK, viewCompanyUser(next))
		})
	}
}

func deleteCompanyUserWith(of companyUserOf, guard func(context.Context, domain.CompanyUser) error) func(*Deps) http.Handler {
	return func(d *Deps) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			cu, cur, err := of(ctx, d, r)
			if err == nil {
				err = guard(ctx, cur)
			}
			if err == nil {
				err = cu.remove(ctx, cur)
			}
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
}

// The MSP's: the customer of the path, under the caller's tenant scope for "manage
// users". Plain functions, so a route's literal stays static (see Route).
func createCompanyUser(d *Deps) http.Handler {
	return createCompanyUserWith(func(ctx context.Context, d *Deps, r *http.Request) (companyUsers, error) {
		cust, err := loadCustomer(ctx, d, r, permission.ManageUsers)
		return companyUsers{d, access.From(ctx).Org, cust.Customer}, err
	}, false, func(u domain.CompanyUser) string { return companyUserPath(u.CustomerID, u.ID) })(d)
}

func updateCompanyUser(d *Deps) http.Handler {
	return updateCompanyUserWith(mspCompanyUser, anyCompanyUser)(d)
}

func deleteCompanyUser(d *Deps) http.Handler {
	return deleteCompanyUserWith(mspCompanyUser, anyCompanyUser)(d)
}

func mspCompanyUser(ctx context.Context, d *Deps, r *http.Request) (companyUsers, domain.CompanyUser, error) {
	return loadCompanyUser(ctx, d, r, permission.ManageUsers)
}

func anyCompanyUser(context.Context, domain.CompanyUser) error { return nil }

// loadCompanyUser reads the customer of the path under the caller's scope for p, and
// the company user of the path.
func loadCompanyUser(ctx context.Context, d *Deps, r *http.Request, p permission.Permission) (companyUsers, domain.CompanyUser, error) {
	oc := access.From(ctx)
	user := beside(func() (domain.CompanyUser, error) {
		return d.Store.GetCompanyUser(ctx, oc.Org.ID, r.PathValue("customerId"), r.PathValue("userId"))
	})
	cust, err := loadCustomer(ctx, d, r, p)
	if err != nil {
		return companyUsers{}, domain.CompanyUser{}, err
	}
	u, err := user()
	if err != nil {
		return companyUsers{}, domain.CompanyUser{}, notFoundAs(err, "company user")
	}
	return companyUsers{d, oc.Org, cust.Customer}, u, nil
}

// trainingInput assigns one course.
type trainingInput struct {
	Course string     `json:"course"`
	URL    string     `json:"url"`
	DueAt  *time.Time `json:"dueAt"`
}

func (in trainingInput) validate() error {
	var v problem.Validation
	course := strings.TrimSpace(in.Course)
	v.Check(course == "", "course", "is required")
	v.Check(len([]rune(course)) > domain.MaxNameLength, "course", "must be at most %d characters", domain.MaxNameLength)
	if in.URL != "" {
		u, err := url.Parse(in.URL)
		v.Check(err != nil || u.Scheme != "https" || u.Host == "" || len(in.URL) > 2000, "url", "must be an https URL of at most 2000 characters")
	}
	return v.Err()
}

func assignTraining(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cu, cur, err := loadCompanyUser(ctx, d, r, permission.ManageUsers)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in trainingInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if err := in.validate(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		actor := audit.OriginFrom(ctx).Actor
		next, err := d.Store.UpdateCompanyUserFrom(ctx, cu.org.ID, cur, nil, func(u *domain.CompanyUser) (audit.Event, error) {
			if len(u.Training) >= domain.MaxCompanyTraining {
				return audit.Event{}, problem.Conflictf("training-limit", "a company user has at most %d training assignments", domain.MaxCompanyTraining)
			}
			a := domain.TrainingAssignment{ID: domain.NewID(), Course: strings.TrimSpace(in.Course), URL: in.URL, AssignedBy: actor.Email, AssignedAt: d.Store.Now()}
			if in.DueAt != nil {
				due := in.DueAt.UTC()
				a.DueAt = &due
			}
			u.Training = append(u.Training, a)
			ev := audit.New(ctx, cu.org.ID, audit.Customer, "company-user.training-assign",
				fmt.Sprintf("assigned training %q to %s (customer %q)", a.Course, u.Email, cu.customer.Name))
			cu.target(&ev, *u)
			return ev, nil
		})
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "company user"))
			return
		}
		write(w, http.StatusOK, viewCompanyUser(next))
	})
}
