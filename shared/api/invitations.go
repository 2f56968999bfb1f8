package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

type tokenInput struct {
	Token string `json:"token"`
}

func decodeToken(r *http.Request) (string, error) {
	var in tokenInput
	if err := decode(r, &in); err != nil {
		return "", err
	}
	t := strings.TrimSpace(in.Token)
	if !domain.ValidInvitationToken(t) {
		return "", problem.Invalidf("token", "is not an invitation token; copy the whole link from the email")
	}
	return t, nil
}

var errInvitationNotFound = problem.NotFoundf("the invitation was not found; it may have been revoked or replaced by a newer email")

// invitationFor finds a token's invitation: 404 for unknown, revoked and rotated
// tokens, 409 once expired; a used token comes back with ref.AcceptedBy set.
func invitationFor(ctx context.Context, d *Deps, token string) (domain.Invitation, store.TokenRef, error) {
	hash := domain.HashInvitationToken(token)
	ref, err := d.Store.InvitationToken(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return domain.Invitation{}, ref, errInvitationNotFound
	}
	if err != nil {
		return domain.Invitation{}, ref, err
	}
	if ref.AcceptedBy != "" {
		return domain.Invitation{}, ref, nil
	}
	inv, err := d.Store.GetInvitation(ctx, ref.OrganizationID, ref.InvitationID)
	if errors.Is(err, store.ErrNotFound) || err == nil && inv.TokenHash != hash {
		return domain.Invitation{}, ref, errInvitationNotFound
	}
	if err != nil {
		return domain.Invitation{}, ref, err
	}
	if inv.Expired(d.Store.Now()) {
		return domain.Invitation{}, ref, invitationExpired(inv)
	}
	return inv, ref, nil
}

func invitationExpired(inv domain.Invitation) error {
	return problem.Conflictf("invitation-expired", "this invitation expired on %s; ask %s for a new one",
		inv.ExpiresAt.UTC().Format(time.RFC3339), inv.InvitedBy.Email)
}

// invitationLookupView is all that the public lookup reveals.
type invitationLookupView struct {
	OrganizationName string          `json:"organizationName"`
	InviterName      string          `json:"inviterName"`
	Role             permission.Role `json:"role"`
	ExpiresAt        time.Time       `json:"expiresAt"`
}

func lookupInvitation(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token, err := decodeToken(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		inv, ref, err := invitationFor(ctx, d, token)
		if err == nil && ref.AcceptedBy != "" {
			err = store.ErrInvitationUsed
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		org, err := d.Store.GetOrganization(ctx, inv.OrganizationID)
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "invitation"))
			return
		}
		inviter := inv.InvitedBy.Name
		if inviter == "" {
			inviter = inv.InvitedBy.Email
		}
		write(w, http.StatusOK, invitationLookupView{OrganizationName: org.Name, InviterName: inviter, Role: inv.Role, ExpiresAt: inv.ExpiresAt})
	})
}

// acceptedView answers an accept: the organization joined and the caller's access there.
type acceptedView struct {
	Organization organizationView `json:"organization"`
	Member       platformUserView `json:"member"`
}

// acceptable checks that the caller may take this invitation: it was sent to their
// verified email, and, when the organization signs in through its own Entra tenant,
// their token comes from that tenant.
func acceptable(p auth.Principal, inv domain.Invitation, org domain.Organization) error {
	if !p.EmailVerified || !strings.EqualFold(domain.NormalizeEmail(p.Email), inv.Email) {
		return problem.New(problem.Forbidden, "invitation-email-mismatch",
			"this invitation was sent to another email address; sign in with the address it was sent to")
	}
	if org.SSO != nil && !strings.EqualFold(p.EntraTenantID, org.SSO.EntraTenantID) {
		return problem.New(problem.Forbidden, "entra-tenant-mismatch",
			"this organization signs in with its own Microsoft Entra tenant; sign in with your work account there")
	}
	return nil
}

// acceptAs makes userID a member through inv, once.
func acceptAs(ctx context.Context, d *Deps, p auth.Principal, userID string, inv domain.Invitation) (domain.Organization, domain.Membership, error) {
	org, err := d.Store.GetOrganization(ctx, inv.OrganizationID)
	if err != nil {
		return domain.Organization{}, domain.Membership{}, notFoundAs(err, "invitation")
	}
	if err := acceptable(p, inv, org); err != nil {
		return domain.Organization{}, domain.Membership{}, err
	}
	name := inv.DisplayName
	if name == "" {
		name = p.Name
	}
	m := domain.Membership{OrganizationID: inv.OrganizationID, UserID: userID, Email: inv.Email, Name: name,
		Role: inv.Role, Permissions: inv.Permissions, TenantScope: inv.TenantScope, JoinedAt: d.Store.Now(), Version: 1}
	ev := audit.New(ctx, inv.OrganizationID, audit.UserManagement, "invitation.accept",
		fmt.Sprintf("%s accepted the invitation and joined as %s", inv.Email, inv.Role))
	ev.Actor = audit.Actor{UserID: userID, Email: inv.Email}
	ev.Targets.UserIDs, ev.Targets.Emails = []string{userID}, []string{inv.Email}
	if err := d.Store.AcceptInvitation(ctx, inv, m, ev); err != nil {
		return domain.Organization{}, domain.Membership{}, notFoundAs(err, "user")
	}
	return org, m, nil
}

func acceptInvitation(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		token, err := decodeToken(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		inv, ref, err := invitationFor(ctx, d, token)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		var org domain.Organization
		var m domain.Membership
		if ref.AcceptedBy != "" {
			// Accepted already: by this caller (a retry, or the sign-up that accepted it)
			// is answered as a success; by anyone else it is used.
			if ref.AcceptedBy != cl.userID {
				problem.Write(ctx, w, r, store.ErrInvitationUsed)
				return
			}
			if org, err = d.Store.GetOrganization(ctx, ref.OrganizationID); err == nil {
				m, err = d.Store.GetMember(ctx, ref.OrganizationID, cl.userID)
			}
			if err != nil {
				problem.Write(ctx, w, r, notFoundAs(err, "invitation"))
				return
			}
		} else if org, m, err = acceptAs(ctx, d, cl.principal, cl.userID, inv); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if org.ParentID != "" {
			if org.Plan, err = d.Store.PlanOf(ctx, org); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
		}
		write(w, http.StatusOK, acceptedView{
			Organization: viewOrganization(org),
			Member:       viewMember(m),
		})
	})
}

// acceptPendingInvitations accepts, for a person who just signed up, the pending
// invitations sent to their verified email, and leaves them working in the newest one.
// A refused one (expired, another Entra tenant) stays for them to see; errors are
// logged, never fail the sign-in.
func (d *Deps) acceptPendingInvitations(ctx context.Context, p auth.Principal, userID string) {
	invs, err := d.Store.PendingInvitationsFor(ctx, p.Email)
	if err != nil {
		slog.WarnContext(ctx, "pending invitations not read at sign-up", "requestId", RequestID(ctx), "err", err.Error())
		return
	}
	now := d.Store.Now()
	for _, inv := range invs {
		if inv.Expired(now) {
			continue
		}
		// The index lags the table: act only on what the item says now.
		cur, err := d.Store.GetInvitation(ctx, inv.OrganizationID, inv.ID)
		if err != nil || cur.Expired(now) || cur.Email != domain.NormalizeEmail(p.Email) {
			continue
		}
		if _, _, err := acceptAs(ctx, d, p, userID, cur); err != nil {
			slog.InfoContext(ctx, "invitation not accepted at sign-up", "requestId", RequestID(ctx),
				"organizationId", cur.OrganizationID, "invitationId", cur.ID, "err", err.Error())
		}
	}
}
