package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: the actions an organization holds for another member's approval
// (the profile's requireApprovalFor).
var (
	ApprovalsList = Route{Method: "GET", Path: "/api/approvals", Permission: permission.ApproveRequests, Function: "approvals-list",
		Summary: "List the actions held for approval, newest first", Read: fetchApprovals}
	ApprovalsGet = Route{Method: "GET", Path: "/api/approvals/{approvalId}", Permission: permission.ApproveRequests, Function: "approvals-get",
		Summary: "Get an action held for approval", Read: fetchApproval}
	ApprovalsApprove = Route{Method: "POST", Path: "/api/approvals/{approvalId}/approve", Permission: permission.ApproveRequests, Function: "approvals-approve", Category: audit.Approval,
		Summary: "Approve a held action, which then happens", Handler: approveHeldAction,
		// What the four held actions' code paths use: deleting a customer, inviting
		// (SES) or changing a platform user, removing one (Cognito sign-out).
		Actions: []string{"dynamodb:ConditionCheckItem", "ses:SendEmail", "cognito-idp:ListUsers", "cognito-idp:AdminUserGlobalSignOut"}}
	ApprovalsReject = Route{Method: "POST", Path: "/api/approvals/{approvalId}/reject", Permission: permission.ApproveRequests, Function: "approvals-reject", Category: audit.Approval,
		Summary: "Reject a held action, with a reason", Handler: rejectHeldAction}
)

// approvalRoutes are the actions held for approval.
func approvalRoutes() []Route {
	return []Route{ApprovalsList, ApprovalsGet, ApprovalsApprove, ApprovalsReject}
}

// reviewView is what license orders and held actions show of their approval.
type reviewView struct {
	ID          string          `json:"id"`
	Status      string          `json:"status"`
	RequestedBy domain.Inviter  `json:"requestedBy"`
	RequestedAt time.Time       `json:"requestedAt"`
	ExpiresAt   *time.Time      `json:"expiresAt,omitempty"`
	DecidedBy   *domain.Inviter `json:"decidedBy,omitempty"`
	DecidedAt   *time.Time      `json:"decidedAt,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	NotifyError string          `json:"notifyError,omitempty"`
	Version     int64           `json:"version"`
}

func viewReview(a domain.Approval, now time.Time) reviewView {
	v := reviewView{ID: a.ID, Status: a.StatusAt(now), RequestedBy: a.RequestedBy, RequestedAt: a.RequestedAt,
		DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt, Reason: a.Reason, NotifyError: a.NotifyError, Version: a.Version}
	// Only a request that waited (or waits) for a decision has an expiry to show.
	if v.Status == domain.ApprovalPending || v.Status == domain.ApprovalExpired {
		exp := a.ExpiresAt
		v.ExpiresAt = &exp
	}
	return v
}

// heldActionView is what a held action does once approved, in the platform users'
// and authentication settings' own words.
type heldActionView struct {
	CustomerID     string                  `json:"customerId,omitempty"`
	PlatformUserID string                  `json:"platformUserId,omitempty"`
	Email          string                  `json:"email,omitempty"`
	DisplayName    string                  `json:"displayName,omitempty"`
	Role           permission.Role         `json:"role,omitempty"`
	Permissions    []permission.Permission `json:"permissions,omitempty"`
	TenantAccess   *domain.TenantScope     `json:"tenantAccess,omitempty"`
	Authentication *domain.AuthSettings    `json:"authentication,omitempty"`
}

type approvalView struct {
	reviewView
	Action  domain.ApprovalAction `json:"action"`
	Summary string                `json:"summary"`
	Request heldActionView        `json:"request"`
}

func viewApproval(a domain.Approval, now time.Time) approvalView {
	v := approvalView{reviewView: viewReview(a, now), Action: a.Action, Summary: a.Summary}
	if h := a.Request; h != nil {
		v.Request = heldActionView{CustomerID: h.CustomerID, PlatformUserID: h.PlatformUserID, Email: h.Email,
			DisplayName: h.DisplayName, Authentication: h.Authentication}
		if h.Access != nil {
			scope := tenantAccessView(h.Access.TenantScope)
			v.Request.Role, v.Request.Permissions, v.Request.TenantAccess = h.Access.Role, h.Access.Permissions, &scope
		}
	}
	return v
}

// statusFilter reads ?status=, one of the approval statuses or nothing.
func statusFilter(r *http.Request) (string, error) {
	s := r.URL.Query().Get("status")
	if s != "" && !slices.Contains(domain.ApprovalStatuses(), s) {
		return "", problem.Invalidf("status", "must be pending, approved, rejected or expired")
	}
	return s, nil
}

// listApprovals reads one page of queue q, filtered by ?status=.
func listApprovals(ctx context.Context, d *Deps, r *http.Request, orgID string, q store.Queue) ([]domain.Approval, string, error) {
	p, err := page(r)
	if err != nil {
		return nil, "", err
	}
	status, err := statusFilter(r)
	if err != nil {
		return nil, "", err
	}
	return d.Store.ListApprovals(ctx, orgID, q, status, d.Store.Now(), p)
}

func fetchApprovals(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	items, next, err := listApprovals(ctx, d, r, orgID, store.HeldActions)
	if err != nil {
		return nil, err
	}
	now := d.Store.Now()
	return filtered(items, next, func(domain.Approval) bool { return true },
		func(a domain.Approval) approvalView { return viewApproval(a, now) }), nil
}

func fetchApproval(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	a, err := d.Store.GetApproval(ctx, orgID, store.HeldActions, r.PathValue("approvalId"))
	if err != nil {
		return nil, notFoundAs(err, "approval")
	}
	return viewApproval(a, d.Store.Now()), nil
}

// hold answers a request for an action the organization holds for approval: instead
// of happening, it becomes a pending approval (with its audit event), answered 202
// Accepted with the approval and its Location. Its route has checked everything it
// can check now; the approval checks it again when approved.
func (d *Deps) hold(w http.ResponseWriter, r *http.Request, action domain.ApprovalAction, summary string, req domain.HeldAction, targets audit.Targets) {
	ctx := r.Context()
	oc := access.From(ctx)
	now := d.Store.Now()
	a := domain.Approval{ID: domain.NewApprovalID(now), OrganizationID: oc.Org.ID, Action: action, Status: domain.ApprovalPending,
		Summary: summary, RequestedBy: inviterOf{oc}.inviter(), RequestedAt: now, ExpiresAt: now.Add(domain.ApprovalTTL), Request: &req}
	ev := audit.New(ctx, oc.Org.ID, audit.Approval, "approval.request", "asked for approval to "+summary)
	ev.Targets = targets
	saved, err := d.Store.CreateApproval(ctx, a, ev)
	if err != nil {
		problem.Write(ctx, w, r, err)
		return
	}
	w.Header().Set("Location", "/api/approvals/"+saved.ID)
	write(w, http.StatusAccepted, viewApproval(saved, now))
}

// loadDecidable reads the approval of queue q and path id for a decision by the
// caller: 404 when it does not exist or visible refuses it, 403 self-approval for the
// requester, 409 approval-not-pending once decided or expired.
func loadDecidable(ctx context.Context, d *Deps, q store.Queue, id string, visible func(domain.Approval) bool) (domain.Approval, error) {
	oc := access.From(ctx)
	a, err := d.Store.GetApproval(ctx, oc.Org.ID, q, id)
	if err == nil && !visible(a) {
		err = store.ErrNotFound
	}
	if err != nil {
		return domain.Approval{}, notFoundAs(err, "request")
	}
	return a, a.CheckDecision(oc.UserID, d.Store.Now())
}

// rejectionInput is the body of a rejection.
type rejectionInput struct {
	Reason *string `json:"reason"`
}

// rejection reads a rejection's reason: required, plain text.
func rejection(r *http.Request) (string, error) {
	var in rejectionInput
	if err := decode(r, &in); err != nil {
		return "", err
	}
	if in.Reason == nil || strings.TrimSpace(*in.Reason) == "" {
		return "", problem.Invalidf("reason", "is required: say why the request is rejected")
	}
	reason := strings.TrimSpace(*in.Reason)
	return reason, domain.ValidateReason(reason)
}

// reject decides a, read pending, rejected for reason, with the audit event of
// category and action; license orders and held actions share it.
func (d *Deps) reject(ctx context.Context, a domain.Approval, reason string, category audit.Category, action string) (domain.Approval, error) {
	oc := access.From(ctx)
	next := a.Decide(domain.ApprovalRejected, inviterOf{oc}.inviter(), reason, d.Store.Now())
	ev := audit.New(ctx, oc.Org.ID, category, action, fmt.Sprintf("rejected the request of %s to %s: %s", requester(a), a.Summary, reason))
	ev.Targets = approvalTargets(a)
	ev.Changes = []audit.Change{{Field: "status", From: domain.ApprovalPending, To: domain.ApprovalRejected}}
	return d.Store.DecideApproval(ctx, next, a, ev)
}

// requester names who asked, for audit summaries.
func requester(a domain.Approval) string {
	if a.RequestedBy.Email != "" {
		return a.RequestedBy.Email
	}
	return a.RequestedBy.Name
}

// approvalTargets are the objects an approval's events name.
func approvalTargets(a domain.Approval) audit.Targets {
	var t audit.Targets
	if a.Order != nil {
		t.TenantIDs = []string{a.Order.TenantID}
	}
	if h := a.Request; h != nil {
		if h.CustomerID != "" {
			t.CustomerIDs = []string{h.CustomerID}
		}
		if h.Email != "" {
			t.Emails = []string{h.Email}
		}
		if h.PlatformUserID != "" && a.Action == domain.ActionRemoveMember {
			t.UserIDs = []string{h.PlatformUserID}
		}
	}
	return t
}

// decidableHeld reads the path's held action for a decision by the caller.
func decidableHeld(ctx context.Context, d *Deps, r *http.Request) (domain.Approval, error) {
	return loadDecidable(ctx, d, store.HeldActions, r.PathValue("approvalId"), func(domain.Approval) bool { return true })
}

func rejectHeldAction(d *Deps) http.Handler {
	return rejectIn(d, decidableHeld, audit.Approval, "approval.reject",
		func(a domain.Approval, now time.Time) any { return viewApproval(a, now) })
}

// rejectIn is the handler of a rejection, of license orders and held actions alike:
// load reads what is rejected (404, 403, 409 first), then the reason is read (400),
// and the decision is written with its audit event of category and action and
// answered as view shows it.
func rejectIn(d *Deps, load func(context.Context, *Deps, *http.Request) (domain.Approval, error),
	category audit.Category, action string, view func(domain.Approval, time.Time) any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		a, err := load(ctx, d, r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		reason, err := rejection(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		saved, err := d.reject(ctx, a, reason, category, action)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, view(saved, d.Store.Now()))
	})
}

func approveHeldAction(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		a, err := decidableHeld(ctx, d, r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		next := a.Decide(domain.ApprovalApproved, inviterOf{oc}.inviter(), "", d.Store.Now())
		ev := audit.New(ctx, oc.Org.ID, audit.Approval, "approval.approve", fmt.Sprintf("approved the request of %s to %s", requester(a), a.Summary))
		ev.Targets = approvalTargets(a)
		if a.Action == domain.ActionDeleteCustomer {
			// The customer's partition, where a target's activity copy goes, is deleted in
			// this transaction; its own customer.delete event names it in the log.
			ev.Targets.CustomerIDs = nil
		}
		ev.Changes = []audit.Change{{Field: "status", From: domain.ApprovalPending, To: domain.ApprovalApproved}}
		rider, err := d.Store.DecisionRider(next, &a, &ev)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// The action's own transaction writes the decision: both happen, or neither
		// does and the request stays pending for another try or a rejection.
		if err := d.performHeld(store.WithRider(ctx, rider), a); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if !rider.Committed() {
			problem.Write(ctx, w, r, fmt.Errorf("approve %s: the action wrote no transaction to carry the decision", a.ID))
			return
		}
		next.Version = a.Version + 1
		write(w, http.StatusOK, viewApproval(next, d.Store.Now()))
	})
}

// targetGone is the 409 of an approval whose object is gone: nothing is left to do
// but reject it.
func targetGone(what string) error {
	return problem.Conflictf("approval-target-gone", "%s no longer exists; reject the request", what)
}

// performHeld does a held action, as its route would have, on the state of now: every
// precondition of the route is checked again. The route's permission is not: holding
// approve-requests is what lets a member approve (DESIGN.md's table), but the checks
// on the object itself run with the approver's rights (a customer in their scope, a
// grant or a platform user within their own access).
func (d *Deps) performHeld(ctx context.Context, a domain.Approval) error {
	oc := access.From(ctx)
	h := a.Request
	if h == nil {
		return fmt.Errorf("approval %s holds no action", a.ID)
	}
	switch a.Action {
	case domain.ActionDeleteCustomer:
		cur, err := loadCustomerByID(ctx, d, h.CustomerID, permission.DeleteCustomers)
		if problem.As(err).Kind == problem.NotFound {
			return targetGone("the customer")
		}
		if err != nil {
			return err
		}
		if cur.Customer.TenantCount > 0 {
			return tenantsAttached(cur.Customer.TenantCount)
		}
		return d.deleteCustomerNow(ctx, cur.Customer)
	case domain.ActionGrantAdministrator:
		if h.Access == nil {
			return fmt.Errorf("approval %s grants no access", a.ID)
		}
		granted, err := grantable(ctx, d, oc, *h.Access)
		if err != nil {
			return err
		}
		if h.PlatformUserID == "" {
			_, err := d.inviteNow(ctx, domain.Invitee{Email: h.Email, DisplayName: h.DisplayName, Access: granted}, a.RequestedBy)
			return err
		}
		e, err := d.heldPlatformUser(ctx, h.PlatformUserID)
		if err != nil {
			return err
		}
		_, err = d.changeAccessNow(ctx, e, granted, h.DisplayName)
		return err
	case domain.ActionRemoveMember:
		e, err := d.heldPlatformUser(ctx, h.PlatformUserID)
		if err != nil {
			return err
		}
		if e.Member == nil {
			return targetGone("the member")
		}
		return d.removeMemberNow(ctx, *e.Member)
	case domain.ActionChangeAuthSettings:
		if h.Authentication == nil {
			return fmt.Errorf("approval %s holds no settings", a.ID)
		}
		_, err := d.changeAuthNow(ctx, oc.Org, nil, *h.Authentication)
		return err
	}
	return fmt.Errorf("approval %s: unknown action %q", a.ID, a.Action)
}

// heldPlatformUser reads the platform user a held action names, as its route does:
// 409 once gone, 403 when their access exceeds the approver's, 409 for the Owner.
func (d *Deps) heldPlatformUser(ctx context.Context, id string) (store.TeamEntry, error) {
	oc := access.From(ctx)
	e, err := loadManageable(ctx, d, oc, id)
	if problem.As(err).Kind == problem.NotFound {
		return e, targetGone("the platform user")
	}
	if err != nil {
		return e, err
	}
	return e, ownerProtected(e)
}

// expireApprovalsJob is the schedule that marks license orders and held actions
// still pending past their expiry expired. Its actions are those of
// store.SystemDueApprovals (a Query on GSI1) and store.ExpireApproval (a consistent
// GetItem, a BatchGetItem of the audit chain's head, then a TransactWriteItems that
// puts the approval and its chained audit event).
func expireApprovalsJob() Job {
	return Job{Function: "expire-approvals", Kind: "schedule", Schedule: expiryRate,
		Summary: "Marks the license orders and held actions still pending past their expiry expired, with an audit event each",
		Actions: []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"},
		Run: func(ctx context.Context, st *store.Store, now time.Time) (any, error) {
			return ExpireApprovals(ctx, st, now)
		}}
}

// ExpireApprovals marks every pending license order and held action whose expiry is
// at or before now expired, with an audit event in its organization (category
// license-order or approval, no actor: a system job), as ExpireInvitations does for
// invitations: from the expiry index, idempotent, stopping near ctx's deadline.
// Reads already show them expired; the run makes the stored status and the log say so.
func ExpireApprovals(ctx context.Context, st *store.Store, now time.Time) (ExpiryResult, error) {
	return sweep(ctx, "approvals",
		func(cursor string) ([]domain.Approval, string, error) {
			return st.SystemDueApprovals(ctx, now, store.Page{Limit: expiryPageSize, Cursor: cursor})
		},
		func(a domain.Approval) (bool, error) {
			changed, err := st.ExpireApproval(ctx, a, now, approvalExpiryEvent)
			if err != nil {
				slog.ErrorContext(ctx, "expire approval", "organizationId", a.OrganizationID, "approvalId", a.ID, "err", err.Error())
			}
			return changed, err
		})
}

// approvalExpiryEvent is the audit event of one approval's expiry.
func approvalExpiryEvent(a domain.Approval) audit.Event {
	category, action := audit.Approval, "approval.expire"
	if a.Action == domain.ActionLicenseOrder {
		category, action = audit.LicenseOrder, "license-order.expire"
	}
	return audit.Event{
		OrganizationID: a.OrganizationID,
		Category:       category,
		Action:         action,
		Targets:        approvalTargets(a),
		Summary:        fmt.Sprintf("the request of %s to %s expired undecided", requester(a), a.Summary),
		Changes:        []audit.Change{{Field: "status", From: domain.ApprovalPending, To: domain.ApprovalExpired}},
	}
}

// errNoApprovers: nobody but the requester may approve requests.
var errNoApprovers = errors.New("no other member who may approve requests has an email address")
