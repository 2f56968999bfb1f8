package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// HeaderPortalAccount picks which of the caller's company users a portal request acts
// as (a company user id), for the rare person who is a company user at two companies;
// without it, the first.
const HeaderPortalAccount = "X-Portal-Account"

// Routes: seed 002's client portal. A company user whose portal access is on, and who
// accepted its invitation, uses them with the portal permissions of their company role
// (shared/permission/portal.go). They are no organization's routes: an MSP member, who
// has no company user, is refused them (404), and a company user has no membership to
// reach the MSP's routes with.
var (
	PortalInvitationsAccept = Route{Method: "POST", Path: "/api/portal/invitations/accept", Permission: permission.Authenticated, Function: "portal-invitations-accept", Category: audit.Customer,
		Summary: "Accept a portal invitation sent to the caller's email", Handler: acceptPortalInvitation}
	PortalTicketsList = Route{Method: "GET", Path: "/api/portal/tickets", Permission: permission.PortalTickets, Function: "portal-tickets-list",
		Summary: "List the company's tickets, newest first", Handler: listPortalTickets}
	PortalTicketsCreate = Route{Method: "POST", Path: "/api/portal/tickets", Permission: permission.PortalTickets, Function: "portal-tickets-create", Category: audit.Customer,
		Summary: "Submit a support ticket", Handler: createPortalTicket,
		Actions: []string{"kms:Decrypt"}}
	PortalDashboardGet = Route{Method: "GET", Path: "/api/portal/dashboard", Permission: permission.PortalDashboard, Function: "portal-dashboard-get",
		Summary: "The company dashboard: tenants, users and open tickets", Handler: portalDashboard}
	PortalUsersList = Route{Method: "GET", Path: "/api/portal/users", Permission: permission.PortalDashboard, Function: "portal-users-list",
		Summary: "List the company's users", Handler: listPortalUsers}
	PortalUsersCreate = Route{Method: "POST", Path: "/api/portal/users", Permission: permission.PortalManageUsers, Function: "portal-users-create", Category: audit.Customer,
		Summary: "Add a user to the company", Handler: createPortalUser, Actions: []string{"ses:SendEmail"}}
	PortalUsersUpdate = Route{Method: "PUT", Path: "/api/portal/users/{userId}", Permission: permission.PortalManageUsers, Function: "portal-users-update", Category: audit.Customer,
		Summary: "Update one of the company's users", Handler: updatePortalUser, Actions: []string{"dynamodb:DeleteItem", "ses:SendEmail"}}
	PortalUsersDelete = Route{Method: "DELETE", Path: "/api/portal/users/{userId}", Permission: permission.PortalManageUsers, Function: "portal-users-delete", Category: audit.Customer,
		Summary: "Remove one of the company's users", Handler: deletePortalUser, Actions: []string{"dynamodb:DeleteItem"}}
	PortalTrainingList = Route{Method: "GET", Path: "/api/portal/training", Permission: permission.PortalTraining, Function: "portal-training-list",
		Summary: "The caller's training assignments", Handler: listPortalTraining}
)

// portalRoutes are the client portal's.
func portalRoutes() []Route {
	return []Route{PortalInvitationsAccept, PortalTicketsList, PortalTicketsCreate, PortalDashboardGet, PortalUsersList,
		PortalUsersCreate, PortalUsersUpdate, PortalUsersDelete, PortalTrainingList}
}

// portalContext is who a portal request acts as: a company user of a customer of the
// MSP organization OrgID.
type portalContext struct {
	OrgID    string
	Customer domain.Customer
	User     domain.CompanyUser
}

type portalKey struct{}

func portalFrom(ctx context.Context) *portalContext {
	p, _ := ctx.Value(portalKey{}).(*portalContext)
	return p
}

var errNoPortalAccess = problem.NotFoundf("you have no client portal access; ask your IT provider to turn it on")

// portal resolves the caller's company user (404 when there is none with portal access
// on: GSI2 finds candidates, the item read consistently decides, so turning access off
// refuses the very next request), then the company role's permission (403).
func portal(rt Route, d *Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		accounts, err := d.Store.PortalAccounts(ctx, cl.userID)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		want := strings.TrimSpace(r.Header.Get(HeaderPortalAccount))
		i := slices.IndexFunc(accounts, func(a store.PortalAccount) bool { return want == "" || a.CompanyUserID == want })
		if i < 0 {
			problem.Write(ctx, w, r, errNoPortalAccess)
			return
		}
		a := accounts[i]
		u, cust, uerr, cerr := companyUserAndCustomer(ctx, d, a)
		if errors.Is(uerr, store.ErrNotFound) || errors.Is(cerr, store.ErrNotFound) || uerr == nil && !u.PortalActiveFor(cl.userID) {
			problem.Write(ctx, w, r, errNoPortalAccess)
			return
		}
		if err := errors.Join(uerr, cerr); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if f, ok := ctx.Value(logFieldsKey{}).(*logFields); ok {
			f.organizationID = a.OrganizationID
		}
		if !permission.PortalAllows(string(u.Role), rt.Permission) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden",
				"your company role ("+string(u.Role)+") does not allow: "+permission.Describe(rt.Permission)))
			return
		}
		pc := &portalContext{OrgID: a.OrganizationID, Customer: cust.Customer, User: u}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, portalKey{}, pc)))
	})
}

// companyUserAndCustomer reads a company user and its customer, concurrently.
func companyUserAndCustomer(ctx context.Context, d *Deps, a store.PortalAccount) (u domain.CompanyUser, cust store.CustomerDetail, uerr, cerr error) {
	parallel(
		func() { u, uerr = d.Store.GetCompanyUser(ctx, a.OrganizationID, a.CustomerID, a.CompanyUserID) },
		func() { cust, cerr = d.Store.GetCustomer(ctx, a.OrganizationID, a.CustomerID) },
	)
	return u, cust, uerr, cerr
}

// portalAccountView answers an accepted invitation: the company and the caller's
// company user.
type portalAccountView struct {
	OrganizationID string          `json:"organizationId"`
	CompanyName    string          `json:"companyName"`
	User           companyUserView `json:"user"`
}

func acceptPortalInvitation(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		token, err := decodeToken(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		hash := domain.HashInvitationToken(token)
		ref, err := d.Store.PortalTokenRef(ctx, hash)
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "invitation"))
			return
		}
		u, cust, uerr, cerr := companyUserAndCustomer(ctx, d, store.PortalAccount{OrganizationID: ref.OrganizationID,
			CustomerID: ref.CustomerID, CompanyUserID: ref.CompanyUserID})
		if err := errors.Join(uerr, cerr); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "invitation"))
			return
		}
		now := d.Store.Now()
		switch {
		case ref.AcceptedBy == cl.userID && u.PortalActiveFor(cl.userID):
			// A repeat of this caller's accept: the same answer.
		case ref.AcceptedBy != "":
			problem.Write(ctx, w, r, store.ErrInvitationUsed)
			return
		case u.InviteTokenHash != hash || !u.PortalAccess:
			problem.Write(ctx, w, r, errInvitationNotFound)
			return
		case !u.InvitePending(now):
			problem.Write(ctx, w, r, problem.Conflictf("invitation-expired", "this portal invitation expired; ask your IT provider for a new one"))
			return
		case !cl.principal.EmailVerified || !strings.EqualFold(domain.NormalizeEmail(cl.principal.Email), u.Email):
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "invitation-email-mismatch",
				"this invitation was sent to another email address; sign in with the address it was sent to"))
			return
		default:
			ev := audit.New(ctx, ref.OrganizationID, audit.Customer, "company-user.portal-accept",
				fmt.Sprintf("%s accepted the portal invitation of customer %q", u.Email, cust.Customer.Name))
			ev.Targets = audit.Targets{CustomerIDs: []string{cust.Customer.ID}, Emails: []string{u.Email}}
			if u, err = d.Store.AcceptPortalInvitation(ctx, ref.OrganizationID, u, cl.userID, now, ev); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
		}
		write(w, http.StatusOK, portalAccountView{OrganizationID: ref.OrganizationID, CompanyName: cust.Customer.Name, User: viewCompanyUser(u)})
	})
}

func listPortalTickets(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		pc := portalFrom(ctx)
		p, err := page(r)
		status := r.URL.Query().Get("status")
		if err == nil && status != "" && !slices.Contains(domain.TicketStatuses(), status) {
			err = problem.Invalidf("status", "must be one of %s", strings.Join(domain.TicketStatuses(), ", "))
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		tickets, next, err := d.Store.ListTickets(ctx, pc.OrgID, pc.Customer.ID, status, p)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if tickets == nil {
			tickets = []domain.Ticket{}
		}
		for i := range tickets {
			tickets[i].PSA = nil // the MSP's bookkeeping, not the company's
		}
		write(w, http.StatusOK, List[domain.Ticket]{Items: tickets, NextCursor: next})
	})
}

// portalTicketInput is what a company user says about a new ticket; status and tenant
// are the MSP's to set.
type portalTicketInput struct {
	Subject     string `json:"subject"`
	Description string `json:"description"`
	Priority    string `json:"priority"`
}

func createPortalTicket(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		pc := portalFrom(ctx)
		var in portalTicketInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		t := domain.Ticket{ID: domain.NewID(), CustomerID: pc.Customer.ID, Subject: in.Subject, Description: in.Description,
			Status: domain.TicketOpen, Priority: domain.PriorityNormal, CreatedBy: audit.OriginFrom(ctx).Actor, CreatedAt: now, UpdatedAt: now}
		if in.Priority != "" {
			t.Priority = in.Priority
		}
		t.Normalize()
		var v problem.Validation
		t.Validate(&v)
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		t.PSA = newTicketPSA(pc.Customer, now)
		ev := audit.New(ctx, pc.OrgID, audit.Customer, "ticket.create",
			fmt.Sprintf("%s submitted ticket %q in the client portal of customer %q", pc.User.Email, t.Subject, pc.Customer.Name))
		ev.Targets = ticketTargets(t.CustomerID)
		if err := d.Store.CreateTicket(ctx, pc.OrgID, t, ev); err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "company"))
			return
		}
		t.Version = 1
		t = pushTicketNow(ctx, d, pc.OrgID, t, true)
		t.PSA = nil // the MSP's bookkeeping, not the company's
		w.Header().Set("Location", "/api/portal/tickets/"+t.ID)
		write(w, http.StatusCreated, t)
	})
}

// portalTenantView is a tenant as the company's dashboard shows it.
type portalTenantView struct {
	ID            string `json:"id"`
	DisplayName   string `json:"displayName"`
	PrimaryDomain string `json:"primaryDomain"`
	Health        string `json:"health"`
	LicensedUsers int64  `json:"licensedUsers"`
}

// portalDashboardView is the company dashboard.
type portalDashboardView struct {
	CompanyName     string             `json:"companyName"`
	Tenants         []portalTenantView `json:"tenants"`
	UserCount       int64              `json:"userCount"`
	OpenTicketCount int64              `json:"openTicketCount"`
	TicketCount     int64              `json:"ticketCount"`
}

func portalDashboard(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		pc := portalFrom(ctx)
		o, err := d.Store.GetCustomerOverview(ctx, pc.OrgID, pc.Customer.ID)
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "company"))
			return
		}
		v := portalDashboardView{CompanyName: o.Customer.Name, Tenants: []portalTenantView{}, UserCount: o.Counters.CompanyUserCount,
			OpenTicketCount: o.Counters.OpenTicketCount, TicketCount: o.Counters.TicketCount}
		for _, t := range o.Tenants {
			v.Tenants = append(v.Tenants, portalTenantView{ID: t.ID, DisplayName: t.DisplayName, PrimaryDomain: t.PrimaryDomain,
				Health: t.Health, LicensedUsers: t.LicensedUsers})
		}
		write(w, http.StatusOK, v)
	})
}

// portalUsers is the company's users as its Admin manages them, through the MSP's code.
func portalUsers(ctx context.Context, d *Deps) (companyUsers, error) {
	pc := portalFrom(ctx)
	org, err := d.Store.GetOrganization(ctx, pc.OrgID)
	if err != nil {
		return companyUsers{}, notFoundAs(err, "company")
	}
	return companyUsers{d, org, pc.Customer}, nil
}

func listPortalUsers(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		pc := portalFrom(ctx)
		p, err := page(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		users, next, err := d.Store.ListCompanyUsers(ctx, pc.OrgID, pc.Customer.ID, p)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, filtered(users, next, func(domain.CompanyUser) bool { return true }, viewCompanyUser))
	})
}

// The portal Admin's: their own company; their own account is not theirs to change.
func createPortalUser(d *Deps) http.Handler {
	return createCompanyUserWith(func(ctx context.Context, d *Deps, _ *http.Request) (companyUsers, error) {
		return portalUsers(ctx, d)
	}, true, func(u domain.CompanyUser) string { return "/api/portal/users/" + u.ID })(d)
}

func updatePortalUser(d *Deps) http.Handler {
	return updateCompanyUserWith(loadPortalUser, ownAccount)(d)
}

func deletePortalUser(d *Deps) http.Handler {
	return deleteCompanyUserWith(loadPortalUser, ownAccount)(d)
}

// loadPortalUser reads the company user of the path, of the caller's company.
func loadPortalUser(ctx context.Context, d *Deps, r *http.Request) (companyUsers, domain.CompanyUser, error) {
	pc := portalFrom(ctx)
	u, err := d.Store.GetCompanyUser(ctx, pc.OrgID, pc.Customer.ID, r.PathValue("userId"))
	if err != nil {
		return companyUsers{}, u, notFoundAs(err, "user")
	}
	cu, err := portalUsers(ctx, d)
	return cu, u, err
}

// ownAccount refuses a portal Admin's change of their own company user (409
// own-portal-account): it could lock the company out; their IT provider can.
func ownAccount(ctx context.Context, u domain.CompanyUser) error {
	if u.ID == portalFrom(ctx).User.ID {
		return problem.Conflictf("own-portal-account", "you cannot change or remove your own portal account; ask your IT provider")
	}
	return nil
}

// trainingListView lists the caller's own assignments.
type trainingListView struct {
	Items []domain.TrainingAssignment `json:"items"`
}

func listPortalTraining(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items := portalFrom(r.Context()).User.Training
		if items == nil {
			items = []domain.TrainingAssignment{}
		}
		write(w, http.StatusOK, trainingListView{Items: items})
	})
}
