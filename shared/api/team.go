package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// alwaysOpenInvitations: inviting stays open when API calls are used up, as members and
// invitations are never limited (seed 003) and a colleague may be the one to upgrade.
const alwaysOpenInvitations = "invitations: members and invitations are not limited (seed 003)"

// Routes: seed 000's platform users and seed 003's invitations.
var (
	PlatformUsersList = Route{Method: "GET", Path: "/api/settings/platform-users", Permission: permission.ManagePlatformUsers, Function: "platform-users-list",
		Summary: "List all platform users: members and pending invitations", Read: fetchTeam}
	PlatformUsersInvite = Route{Method: "POST", Path: "/api/settings/platform-users", Permission: permission.ManagePlatformUsers, Function: "platform-users-invite", Category: audit.UserManagement, AlwaysOpen: alwaysOpenInvitations,
		Summary: "Invite new platform user", Handler: invitePlatformUser, Actions: []string{"dynamodb:ConditionCheckItem", "ses:SendEmail"}}
	PlatformUsersUpdate = Route{Method: "PUT", Path: "/api/settings/platform-users/{id}", Permission: permission.ManagePlatformUsers, Function: "platform-users-update", Category: audit.UserManagement,
		Summary: "Update user role and access", Handler: updatePlatformUser}
	PlatformUsersRemove = Route{Method: "DELETE", Path: "/api/settings/platform-users/{id}", Permission: permission.ManagePlatformUsers, Function: "platform-users-remove", Category: audit.UserManagement,
		Summary: "Remove platform user, or revoke their invitation", Handler: removePlatformUser,
		Actions: []string{"dynamodb:DeleteItem", "cognito-idp:ListUsers", "cognito-idp:AdminUserGlobalSignOut"}}
	PlatformUsersResend = Route{Method: "POST", Path: "/api/settings/platform-users/{id}/resend", Permission: permission.ManagePlatformUsers, Function: "platform-users-resend", Category: audit.UserManagement, AlwaysOpen: alwaysOpenInvitations,
		Summary: "Resend an invitation with a new link, valid for 7 more days", Handler: resendInvitation,
		Actions: []string{"dynamodb:DeleteItem", "ses:SendEmail"}}
	PlatformUsersAccess = Route{Method: "GET", Path: "/api/settings/platform-users/{id}/access", Permission: permission.ManagePlatformUsers, Function: "platform-users-access",
		Summary: "Explain whether a platform user may use a permission, on a tenant", Handler: explainAccess}
	InvitationsLookup = Route{Method: "POST", Path: "/api/invitations/lookup", Permission: permission.Public, Function: "invitations-lookup", Unaudited: "reads an invitation by its token; changes nothing",
		Summary: "What an invitation offers: organization, inviter, role and expiry", Handler: lookupInvitation,
		Actions: []string{"dynamodb:GetItem"}}
	InvitationsAccept = Route{Method: "POST", Path: "/api/invitations/accept", Permission: permission.Authenticated, Function: "invitations-accept", Category: audit.UserManagement,
		Summary: "Accept an invitation sent to the caller's email", Handler: acceptInvitation,
		Actions: []string{"dynamodb:DeleteItem"}}
)

// teamRoutes are seed 000's platform users and seed 003's invitations.
func teamRoutes() []Route {
	return []Route{PlatformUsersList, PlatformUsersInvite, PlatformUsersUpdate, PlatformUsersRemove, PlatformUsersResend, PlatformUsersAccess, InvitationsLookup, InvitationsAccept}
}

// platformUserView is one row of the platform users list: a member or an invitation.
type platformUserView struct {
	ID           string                  `json:"id"`
	Kind         string                  `json:"kind"`
	Email        string                  `json:"email"`
	DisplayName  string                  `json:"displayName"`
	Role         permission.Role         `json:"role"`
	Permissions  []permission.Permission `json:"permissions"`
	TenantAccess domain.TenantScope      `json:"tenantAccess"`
	Status       string                  `json:"status"`
	JoinedAt     *time.Time              `json:"joinedAt,omitempty"`
	ExpiresAt    *time.Time              `json:"expiresAt,omitempty"`
	InvitedBy    *domain.Inviter         `json:"invitedBy,omitempty"`
	EmailError   string                  `json:"emailError,omitempty"`
	Version      int64                   `json:"version"`
}

// Kinds of platform user rows.
const (
	kindMember     = "member"
	kindInvitation = "invitation"
)

func tenantAccessView(s domain.TenantScope) domain.TenantScope {
	if s.Mode == "" {
		s.Mode = permission.ScopeAll
	}
	if s.TenantIDs == nil {
		s.TenantIDs = []string{}
	}
	return s
}

func permissionsView(p []permission.Permission) []permission.Permission {
	if p == nil {
		return []permission.Permission{}
	}
	return p
}

func viewMember(m domain.Membership) platformUserView {
	joined := m.JoinedAt
	return platformUserView{ID: m.UserID, Kind: kindMember, Email: m.Email, DisplayName: m.Name, Role: m.Role,
		Permissions: permissionsView(m.Permissions), TenantAccess: tenantAccessView(m.TenantScope),
		Status: domain.StatusActive, JoinedAt: &joined, Version: m.Version}
}

func viewInvitation(inv domain.Invitation, now time.Time) platformUserView {
	exp, by := inv.ExpiresAt, inv.InvitedBy
	return platformUserView{ID: inv.ID, Kind: kindInvitation, Email: inv.Email, DisplayName: inv.DisplayName, Role: inv.Role,
		Permissions: permissionsView(inv.Permissions), TenantAccess: tenantAccessView(inv.TenantScope),
		Status: inv.ListStatus(now), ExpiresAt: &exp, InvitedBy: &by, EmailError: inv.EmailError, Version: inv.Version}
}

func viewTeamEntry(e store.TeamEntry, now time.Time) platformUserView {
	if e.Member != nil {
		return viewMember(*e.Member)
	}
	return viewInvitation(*e.Invitation, now)
}

func fetchTeam(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, err := page(r)
	if err != nil {
		return nil, err
	}
	entries, next, err := d.Store.ListTeam(ctx, orgID, p)
	if err != nil {
		return nil, err
	}
	now := d.Store.Now()
	out := List[platformUserView]{Items: make([]platformUserView, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		out.Items = append(out.Items, viewTeamEntry(e, now))
	}
	return out, nil
}

// platformUserInput is the body of an invitation and of a change of role and access.
type platformUserInput struct {
	Email        string                  `json:"email"`
	DisplayName  string                  `json:"displayName"`
	Role         permission.Role         `json:"role"`
	Permissions  []permission.Permission `json:"permissions"`
	TenantAccess *domain.TenantScope     `json:"tenantAccess"`
	Version      *int64                  `json:"version"`
}

func (in platformUserInput) invitee() domain.Invitee {
	iv := domain.Invitee{Email: in.Email, DisplayName: in.DisplayName,
		Access: domain.Access{Role: in.Role, Permissions: in.Permissions}}
	if in.TenantAccess != nil {
		iv.TenantScope = *in.TenantAccess
	}
	iv.Normalize()
	return iv
}

// grantable checks what a caller hands out, as sent: the scope names only the
// organization's tenants (400 naming the index sent), and, once normalized, the caller
// holds everything granted (403). It returns the normalized access.
func grantable(ctx context.Context, d *Deps, oc *access.Context, a domain.Access) (domain.Access, error) {
	var ids []string
	if !permission.AllTenants(a.Role) { // an Administrator's scope is dropped unread
		ids = a.TenantScope.TenantIDs
	}
	if missing, err := d.Store.MissingTenants(ctx, oc.Org.ID, ids); err != nil {
		return a, err
	} else if len(missing) > 0 {
		var v problem.Validation
		for i, id := range a.TenantScope.TenantIDs {
			if slices.Contains(missing, id) {
				v.Add("tenantAccess.tenantIds["+strconv.Itoa(i)+"]", "%q is not a tenant of this organization", id)
			}
		}
		return a, v.Err()
	}
	a.Normalize()
	return a, grantProblem(permission.CanGrant(oc.Scope(), a.Member()))
}

// grantProblem is the 403 of a grant the caller may not make, naming the field.
func grantProblem(err error) error {
	var ge *permission.GrantError
	if errors.As(err, &ge) {
		pe := problem.New(problem.Forbidden, "grant-exceeds-own-access", ge.Error())
		pe.Fields = []problem.FieldError{{Field: ge.Field, Message: ge.Error()}}
		return pe
	}
	return err
}

func (d *Deps) acceptURL(token string) string {
	return d.ConsoleURL + "/invitations/accept?token=" + url.QueryEscape(token)
}

// sendInvitation emails an invitation; when the email cannot be sent the invitation
// is kept with status email-failed and the reason, so the inviter can resend it.
func (d *Deps) sendInvitation(ctx context.Context, org domain.Organization, inv domain.Invitation, token string) domain.Invitation {
	msg, err := mail.Invitation(mail.InvitationEmail{To: inv.Email, OrganizationName: org.Name,
		InviterName: inv.InvitedBy.Name, InviterEmail: inv.InvitedBy.Email, Role: string(inv.Role),
		ExpiresAt: inv.ExpiresAt, AcceptURL: d.acceptURL(token)})
	reason := "the email could not be sent; check the address and resend"
	switch {
	case err != nil:
	case d.Mail == nil:
		err, reason = errors.New("no mail sender is configured"), "this deployment sends no email (MAIL_FROM is not set)"
	default:
		if err = d.Mail.Send(ctx, msg); err != nil && !mail.Permanent(err) {
			reason = "the email service did not answer; resend in a few minutes"
		}
	}
	if err == nil {
		return inv
	}
	slog.WarnContext(ctx, "invitation email not sent", "requestId", RequestID(ctx), "organizationId", org.ID,
		"invitationId", inv.ID, "permanent", mail.Permanent(err), "err", err.Error())
	read := inv
	inv.Status, inv.EmailError = domain.InvitationEmailFailed, reason
	saved, perr := d.Store.PutInvitation(context.WithoutCancel(ctx), inv, read, nil)
	if perr != nil {
		// Answer what the table holds; the inviter can still resend.
		slog.ErrorContext(ctx, "invitation email status not recorded", "requestId", RequestID(ctx), "invitationId", inv.ID, "err", perr.Error())
		return read
	}
	return saved
}

func (oc inviterOf) inviter() domain.Inviter {
	name := oc.Member.Name
	if name == "" {
		name = oc.Principal.Name
	}
	return domain.Inviter{UserID: oc.UserID, Email: domain.NormalizeEmail(oc.Principal.Email), Name: name}
}

type inviterOf struct{ *access.Context }

func invitePlatformUser(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in platformUserInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		iv := in.invitee()
		if err := iv.Validate(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var err error
		if iv.Access, err = grantable(ctx, d, oc, iv.Access); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if iv.Role == permission.Administrator && oc.Org.Profile.RequiresApproval(domain.ActionGrantAdministrator) {
			d.hold(w, r, domain.ActionGrantAdministrator, fmt.Sprintf("invite %s as Administrator", iv.Email),
				domain.HeldAction{Email: iv.Email, DisplayName: iv.DisplayName, Access: &iv.Access}, audit.Targets{Emails: []string{iv.Email}})
			return
		}
		inv, err := d.inviteNow(ctx, iv, inviterOf{oc}.inviter())
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/settings/platform-users/"+inv.ID)
		write(w, http.StatusCreated, viewInvitation(inv, inv.CreatedAt))
	})
}

// inviteNow creates an invitation of iv from inviter, with its audit event, and emails
// it; the invite route and an approved grant-administrator request share it. The
// access is checked (grantable) by the caller.
func (d *Deps) inviteNow(ctx context.Context, iv domain.Invitee, inviter domain.Inviter) (domain.Invitation, error) {
	oc := access.From(ctx)
	now := d.Store.Now()
	token, hash := domain.NewInvitationToken()
	inv := domain.Invitation{ID: domain.NewID(), OrganizationID: oc.Org.ID, Email: iv.Email, DisplayName: iv.DisplayName,
		Role: iv.Role, Permissions: iv.Permissions, TenantScope: iv.TenantScope, InvitedBy: inviter,
		Status: domain.InvitationPending, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(domain.InvitationTTL), TokenHash: hash}
	ev := audit.New(ctx, oc.Org.ID, audit.UserManagement, "invitation.create",
		fmt.Sprintf("invited %s as %s", inv.Email, inv.Role))
	ev.Targets.Emails = []string{inv.Email}
	if err := d.Store.CreateInvitation(ctx, inv, ev); err != nil {
		return domain.Invitation{}, err
	}
	inv.Version = 1
	return d.sendInvitation(ctx, oc.Org, inv, token), nil
}

// loadManageable reads the member or invitation of the path's id (404 otherwise) that
// the caller may manage (403 otherwise, see manageable).
func loadManageable(ctx context.Context, d *Deps, oc *access.Context, id string) (store.TeamEntry, error) {
	e, err := d.Store.GetTeamEntry(ctx, oc.Org.ID, id)
	if err != nil {
		return e, notFoundAs(err, "platform user")
	}
	return e, manageable(oc, e)
}

// manageable refuses changes to anyone whose access exceeds the caller's own (403):
// managing them would hand out rights the caller does not hold. The Owner is measured
// by everything but the Owner-only rights, so that a full manager learns the Owner is
// protected (409, ownerProtected) and anyone less is refused.
func manageable(oc *access.Context, e store.TeamEntry) error {
	a := entryAccess(e)
	if a.Role == permission.Owner {
		a = domain.Access{Role: permission.Administrator, TenantScope: domain.AllTenantsScope()}
	}
	if err := permission.CanGrant(oc.Scope(), a.Member()); err != nil {
		return problem.New(problem.Forbidden, "exceeds-own-access",
			"this platform user holds access that you do not hold yourself: "+err.Error())
	}
	return nil
}

// ownerProtected is the 409 of any change to the Owner.
func ownerProtected(e store.TeamEntry) error {
	if e.Member != nil && e.Member.Role == permission.Owner {
		return problem.Conflictf("owner-protected", "the Owner cannot be removed or demoted; transfer ownership first")
	}
	return nil
}

func entryAccess(e store.TeamEntry) domain.Access {
	if e.Member != nil {
		return e.Member.Access()
	}
	return domain.Access{Role: e.Invitation.Role, Permissions: e.Invitation.Permissions, TenantScope: e.Invitation.TenantScope}
}

func entryVersion(e store.TeamEntry) int64 {
	if e.Member != nil {
		return e.Member.Version
	}
	return e.Invitation.Version
}

func accessChanges(before, after domain.Access) []audit.Change {
	var out []audit.Change
	if before.Role != after.Role {
		out = append(out, audit.Change{Field: "role", From: string(before.Role), To: string(after.Role)})
	}
	if !slices.Equal(before.Permissions, after.Permissions) {
		out = append(out, audit.Change{Field: "permissions", From: fmt.Sprint(before.Permissions), To: fmt.Sprint(after.Permissions)})
	}
	if before.TenantScope.Mode != after.TenantScope.Mode || !slices.Equal(before.TenantScope.TenantIDs, after.TenantScope.TenantIDs) {
		out = append(out, audit.Change{Field: "tenantAccess",
			From: before.TenantScope.Mode + fmt.Sprint(before.TenantScope.TenantIDs), To: after.TenantScope.Mode + fmt.Sprint(after.TenantScope.TenantIDs)})
	}
	return out
}

func updatePlatformUser(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		e, err := loadManageable(ctx, d, oc, r.PathValue("id"))
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var in platformUserInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		iv := in.invitee()
		var v problem.Validation
		iv.Access.Validate(&v)
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if iv.Access, err = grantable(ctx, d, oc, iv.Access); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if err := ownerProtected(e); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if in.Version != nil && *in.Version != entryVersion(e) {
			problem.Write(ctx, w, r, problem.StaleVersion("the platform user"))
			return
		}
		if grantsAdministrator(e, iv.Access) && oc.Org.Profile.RequiresApproval(domain.ActionGrantAdministrator) {
			email := entryEmail(e)
			d.hold(w, r, domain.ActionGrantAdministrator, fmt.Sprintf("make %s an Administrator", email),
				domain.HeldAction{PlatformUserID: r.PathValue("id"), Email: email, DisplayName: iv.DisplayName, Access: &iv.Access},
				entryTargets(e))
			return
		}
		view, err := d.changeAccessNow(ctx, e, iv.Access, iv.DisplayName)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, view)
	})
}

// grantsAdministrator reports whether giving e access a makes them an Administrator
// who was not one: what requireApprovalFor's grant-administrator holds.
func grantsAdministrator(e store.TeamEntry, a domain.Access) bool {
	return a.Role == permission.Administrator && entryAccess(e).Role != permission.Administrator
}

func entryEmail(e store.TeamEntry) string {
	if e.Member != nil {
		return e.Member.Email
	}
	return e.Invitation.Email
}

// entryTargets names a platform user in an audit event.
func entryTargets(e store.TeamEntry) audit.Targets {
	if e.Member != nil {
		return audit.Targets{UserIDs: []string{e.Member.UserID}, Emails: []string{e.Member.Email}}
	}
	return audit.Targets{Emails: []string{e.Invitation.Email}}
}

// changeAccessNow gives a member or invitation access a (checked by the caller), with
// its audit event; the update route and an approved grant-administrator request share
// it. displayName, when set, renames an invitation.
func (d *Deps) changeAccessNow(ctx context.Context, e store.TeamEntry, a domain.Access, displayName string) (platformUserView, error) {
	oc := access.From(ctx)
	changes := accessChanges(entryAccess(e), a)
	if e.Member != nil {
		m := *e.Member
		m.Role, m.Permissions, m.TenantScope = a.Role, a.Permissions, a.TenantScope
		ev := audit.New(ctx, oc.Org.ID, audit.UserManagement, "member.update",
			fmt.Sprintf("changed the access of %s to %s", m.Email, m.Role))
		ev.Targets.UserIDs, ev.Changes = []string{m.UserID}, changes
		saved, err := d.Store.UpdateMember(ctx, m, *e.Member, ev)
		if err != nil {
			return platformUserView{}, err
		}
		return viewMember(saved), nil
	}
	inv := *e.Invitation
	inv.Role, inv.Permissions, inv.TenantScope = a.Role, a.Permissions, a.TenantScope
	if displayName != "" {
		inv.DisplayName = displayName
	}
	ev := audit.New(ctx, oc.Org.ID, audit.UserManagement, "invitation.update",
		fmt.Sprintf("changed the invitation of %s to %s", inv.Email, inv.Role))
	ev.Targets.Emails, ev.Changes = []string{inv.Email}, changes
	saved, err := d.Store.PutInvitation(ctx, inv, *e.Invitation, &ev)
	if err != nil {
		return platformUserView{}, err
	}
	return viewInvitation(saved, d.Store.Now()), nil
}

func removePlatformUser(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		e, err := loadManageable(ctx, d, oc, r.PathValue("id"))
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if err := ownerProtected(e); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if e.Invitation != nil {
			inv := *e.Invitation
			ev := audit.New(ctx, oc.Org.ID, audit.UserManagement, "invitation.revoke", fmt.Sprintf("revoked the invitation of %s", inv.Email))
			ev.Targets.Emails = []string{inv.Email}
			if err := d.Store.DeleteInvitation(ctx, inv, ev); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		m := *e.Member
		if oc.Org.Profile.RequiresApproval(domain.ActionRemoveMember) {
			d.hold(w, r, domain.ActionRemoveMember, fmt.Sprintf("remove %s (%s)", m.Email, m.Role),
				domain.HeldAction{PlatformUserID: m.UserID, Email: m.Email}, entryTargets(e))
			return
		}
		if err := d.removeMemberNow(ctx, m); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// removeMemberNow removes a member, with its audit event, and signs them out; the
// remove route and an approved remove-member request share it. The store keeps the
// last-manager rule (409).
func (d *Deps) removeMemberNow(ctx context.Context, m domain.Membership) error {
	oc := access.From(ctx)
	ev := audit.New(ctx, oc.Org.ID, audit.UserManagement, "member.remove", fmt.Sprintf("removed %s (%s)", m.Email, m.Role))
	ev.Targets.UserIDs, ev.Targets.Emails = []string{m.UserID}, []string{m.Email}
	if err := d.Store.RemoveMember(ctx, m, ev); err != nil {
		return err
	}
	// The membership is gone, which already refuses their next request; signing them
	// out everywhere also ends their other organizations' sessions, as removal from
	// the team of their employer should.
	if err := d.directory().GlobalSignOut(context.WithoutCancel(ctx), m.Email); err != nil {
		slog.WarnContext(ctx, "removed member not signed out", "requestId", RequestID(ctx), "organizationId", oc.Org.ID,
			"userId", m.UserID, "err", err.Error())
	}
	return nil
}

func resendInvitation(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		e, err := loadManageable(ctx, d, oc, r.PathValue("id"))
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if e.Invitation == nil {
			problem.Write(ctx, w, r, problem.Conflictf("not-an-invitation", "%s is already a member; there is no invitation to resend", e.Member.Email))
			return
		}
		now := d.Store.Now()
		token, hash := domain.NewInvitationToken()
		inv := *e.Invitation
		inv.TokenHash, inv.Status, inv.EmailError = hash, domain.InvitationPending, ""
		inv.SentAt, inv.ExpiresAt = now, now.Add(domain.InvitationTTL)
		ev := audit.New(ctx, oc.Org.ID, audit.UserManagement, "invitation.resend",
			fmt.Sprintf("resent the invitation of %s; it expires %s", inv.Email, inv.ExpiresAt.Format(time.RFC3339)))
		ev.Targets.Emails = []string{inv.Email}
		saved, err := d.Store.PutInvitation(ctx, inv, *e.Invitation, &ev)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		saved = d.sendInvitation(ctx, oc.Org, saved, token)
		write(w, http.StatusOK, viewInvitation(saved, now))
	})
}

func explainAccess(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		e, err := d.Store.GetTeamEntry(ctx, oc.Org.ID, r.PathValue("id"))
		if err = notFoundAs(err, "platform user"); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		q := r.URL.Query()
		p := permission.Permission(q.Get("permission"))
		tenantID := q.Get("tenantId")
		var v problem.Validation
		v.Check(!slices.Contains(permission.All(), p), "permission", "must be one of the organization permissions")
		v.Check(tenantID != "" && !domain.ValidID(tenantID), "tenantId", "is not a tenant id")
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		ex := permission.Explain(entryAccess(e).Member(), p, tenantID)
		if tenantID != "" {
			// A tenant the organization does not have is denied, whatever the scope says.
			missing, err := d.Store.MissingTenants(ctx, oc.Org.ID, []string{tenantID})
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			if len(missing) > 0 {
				ex.Allowed, ex.Rule = false, "unknown-tenant"
				ex.Reason = fmt.Sprintf("tenant %s is not a tenant of this organization, so no scope reaches it", tenantID)
			}
		}
		write(w, http.StatusOK, ex)
	})
}
