package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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

// Routes: seed 000's license orders, which a Technician places "with approval".
var (
	LicenseOrdersCreate = Route{Method: "POST", Path: "/api/msp-portal/license-orders", Permission: permission.OrderLicenses, Function: "license-orders-create", Category: audit.LicenseOrder,
		Summary: "Order licenses for a tenant: approved at once, or pending an Administrator's approval", Handler: createLicenseOrder,
		Actions: []string{"ses:SendEmail"}}
	LicenseOrdersList = Route{Method: "GET", Path: "/api/msp-portal/license-orders", Permission: permission.ViewData, Function: "license-orders-list",
		Summary: "List license orders and their status, newest first", Read: fetchLicenseOrders}
	LicenseOrdersGet = Route{Method: "GET", Path: "/api/msp-portal/license-orders/{orderId}", Permission: permission.ViewData, Function: "license-orders-get",
		Summary: "Get a license order", Read: fetchLicenseOrder}
	LicenseOrdersApprove = Route{Method: "POST", Path: "/api/msp-portal/license-orders/{orderId}/approve", Permission: permission.ApproveRequests, Function: "license-orders-approve", Category: audit.LicenseOrder,
		Summary: "Approve a pending license order: its licenses are added to the tenant", Handler: approveLicenseOrder}
	LicenseOrdersReject = Route{Method: "POST", Path: "/api/msp-portal/license-orders/{orderId}/reject", Permission: permission.ApproveRequests, Function: "license-orders-reject", Category: audit.LicenseOrder,
		Summary: "Reject a pending license order, with a reason", Handler: rejectLicenseOrder}
)

// licenseOrderRoutes are seed 000's license orders.
func licenseOrderRoutes() []Route {
	return []Route{LicenseOrdersCreate, LicenseOrdersList, LicenseOrdersGet, LicenseOrdersApprove, LicenseOrdersReject}
}

type licenseOrderView struct {
	reviewView
	domain.LicenseOrder
}

func viewLicenseOrder(a domain.Approval, now time.Time) licenseOrderView {
	v := licenseOrderView{reviewView: viewReview(a, now)}
	if a.Order != nil {
		v.LicenseOrder = *a.Order
	}
	return v
}

// orderVisible reports whether the caller reaches an order's tenant with p: a scoped
// member sees and decides only the orders of tenants in their scope.
func orderVisible(oc *access.Context, p permission.Permission, a domain.Approval) bool {
	return a.Order != nil && oc.Scope().TenantAllowed(p, a.Order.TenantID)
}

// licenseOrders is a page of orders, shaped once the caller's scope is known.
type licenseOrders struct {
	items []domain.Approval
	next  string
	now   time.Time
}

func (l licenseOrders) Present(oc *access.Context) (any, error) {
	return filtered(l.items, l.next, func(a domain.Approval) bool { return orderVisible(oc, permission.ViewData, a) },
		func(a domain.Approval) licenseOrderView { return viewLicenseOrder(a, l.now) }), nil
}

func fetchLicenseOrders(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	items, next, err := listApprovals(ctx, d, r, orgID, store.LicenseOrders)
	if err != nil {
		return nil, err
	}
	return licenseOrders{items: items, next: next, now: d.Store.Now()}, nil
}

// licenseOrder is one order, shown only to a caller whose scope reaches its tenant.
type licenseOrder struct {
	a   domain.Approval
	now time.Time
}

func (l licenseOrder) Present(oc *access.Context) (any, error) {
	if !orderVisible(oc, permission.ViewData, l.a) {
		return nil, problem.NotFoundf("the license order was not found")
	}
	return viewLicenseOrder(l.a, l.now), nil
}

func fetchLicenseOrder(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	a, err := d.Store.GetApproval(ctx, orgID, store.LicenseOrders, r.PathValue("orderId"))
	if err != nil {
		return nil, notFoundAs(err, "license order")
	}
	return licenseOrder{a: a, now: d.Store.Now()}, nil
}

type licenseOrderInput struct {
	TenantID string `json:"tenantId"`
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Note     string `json:"note"`
}

func createLicenseOrder(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var in licenseOrderInput
		if err := decode(r, &in); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		o := domain.LicenseOrder{TenantID: in.TenantID, SKU: in.SKU, Quantity: in.Quantity, Note: in.Note}
		o.Normalize()
		var v problem.Validation
		o.Validate(&v)
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		// A tenant outside the caller's scope is as unknown to them as a missing one.
		t, err := d.Store.GetTenant(ctx, oc.Org.ID, o.TenantID)
		if err == nil && !oc.Scope().TenantAllowed(permission.OrderLicenses, t.ID) {
			err = store.ErrNotFound
		}
		if err != nil {
			problem.Write(ctx, w, r, notFoundAs(err, "tenant"))
			return
		}
		o.TenantName = t.DisplayName
		if _, err := o.Apply(t); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		me := inviterOf{oc}.inviter()
		a := domain.Approval{ID: domain.NewApprovalID(now), OrganizationID: oc.Org.ID, Action: domain.ActionLicenseOrder,
			Status: domain.ApprovalPending, Summary: fmt.Sprintf("order %d × %s for tenant %s", o.Quantity, o.SKU, t.DisplayName),
			RequestedBy: me, RequestedAt: now, ExpiresAt: now.Add(domain.ApprovalTTL), Order: &o}
		submitted := audit.New(ctx, oc.Org.ID, audit.LicenseOrder, "license-order.submit", fmt.Sprintf("submitted an order of %d × %s for tenant %s", o.Quantity, o.SKU, t.DisplayName))
		submitted.Targets.TenantIDs = []string{t.ID}
		var saved domain.Approval
		if oc.Grant(permission.OrderLicenses) == permission.ScopedApproval {
			// "With approval" (seed 000): the order waits for a member who may approve
			// requests, who is told by email.
			if saved, err = d.Store.CreateApproval(ctx, a, submitted); err == nil {
				saved = d.notifyApprovers(ctx, saved)
			}
		} else {
			// Placed by someone who may order outright: approved as it is placed, its
			// licenses recorded in the same transaction.
			saved, err = d.recordLicenses(ctx, a.Decide(domain.ApprovalApproved, me, "", now), nil, &submitted)
		}
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		w.Header().Set("Location", "/api/msp-portal/license-orders/"+saved.ID)
		write(w, http.StatusCreated, viewLicenseOrder(saved, now))
	})
}

// recordLicenses writes next, an order approved now, and adds its quantity to the
// tenant's licenses in the same transaction: UpdateTenantFrom moves the customer's
// counters, the organization's assigned licenses and, for a sub-organization, its
// parent's totals with it. read is the order as read while pending (nil for one
// approved as it is placed, whose submission event is submitted). A tenant changed
// concurrently is read again, a few times.
func (d *Deps) recordLicenses(ctx context.Context, next domain.Approval, read *domain.Approval, submitted *audit.Event) (domain.Approval, error) {
	oc := access.From(ctx)
	o := *next.Order
	for attempt := 0; ; attempt++ {
		t, err := d.Store.GetTenant(ctx, oc.Org.ID, o.TenantID)
		if errors.Is(err, store.ErrNotFound) {
			return domain.Approval{}, targetGone("the tenant")
		}
		if err != nil {
			return domain.Approval{}, err
		}
		rider, err := d.Store.DecisionRider(next, read, submitted)
		if err != nil {
			return domain.Approval{}, err
		}
		_, err = d.Store.UpdateTenantFrom(store.WithRider(ctx, rider), oc.Org.ID, t, nil, func(tn *domain.Tenant) (audit.Event, error) {
			licenses, err := o.Apply(*tn)
			if err != nil {
				return audit.Event{}, err
			}
			ev := audit.New(ctx, oc.Org.ID, audit.LicenseOrder, "license-order.approve",
				fmt.Sprintf("approved the order of %s: %d × %s for tenant %s", requester(next), o.Quantity, o.SKU, tn.DisplayName))
			ev.Targets.TenantIDs = []string{tn.ID}
			ev.Changes = []audit.Change{
				{Field: "status", From: domain.ApprovalPending, To: domain.ApprovalApproved},
				{Field: "licenses." + o.SKU, From: assigned(tn.Licenses, o.SKU), To: assigned(licenses, o.SKU)},
			}
			tn.Licenses = licenses
			return ev, nil
		})
		if err != nil && problem.As(err).Code == "stale-version" && attempt < 2 {
			continue
		}
		if err != nil {
			return domain.Approval{}, err
		}
		next.Version = 1
		if read != nil {
			next.Version = read.Version + 1
		}
		return next, nil
	}
}

// assigned is how many licenses of sku a tenant's list assigns.
func assigned(ls []domain.SKULicense, sku string) int64 {
	for _, l := range ls {
		if l.SKU == sku {
			return l.Assigned
		}
	}
	return 0
}

// decidableOrder reads the path's order for a decision by the caller: only an order
// of a tenant in their scope (404 otherwise), then the decision rules.
func decidableOrder(ctx context.Context, d *Deps, r *http.Request) (domain.Approval, error) {
	oc := access.From(ctx)
	return loadDecidable(ctx, d, store.LicenseOrders, r.PathValue("orderId"), func(a domain.Approval) bool {
		return orderVisible(oc, permission.ApproveRequests, a)
	})
}

func approveLicenseOrder(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		a, err := decidableOrder(ctx, d, r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		now := d.Store.Now()
		saved, err := d.recordLicenses(ctx, a.Decide(domain.ApprovalApproved, inviterOf{access.From(ctx)}.inviter(), "", now), &a, nil)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, viewLicenseOrder(saved, now))
	})
}

func rejectLicenseOrder(d *Deps) http.Handler {
	return rejectIn(d, decidableOrder, audit.LicenseOrder, "license-order.reject",
		func(a domain.Approval, now time.Time) any { return viewLicenseOrder(a, now) })
}

// maxApproverPages bounds how much of the team a notification reads (100 per page).
const maxApproverPages = 10

// approvers lists the emails of the members, other than the requester, who may
// approve the order: who hold permission.ApproveRequests on its tenant.
func (d *Deps) approvers(ctx context.Context, a domain.Approval) ([]string, error) {
	var out []string
	cursor := ""
	for range maxApproverPages {
		entries, next, err := d.Store.ListTeam(ctx, a.OrganizationID, store.Page{Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("list approvers of %s: %w", a.OrganizationID, err)
		}
		for _, e := range entries {
			m := e.Member
			if m != nil && m.UserID != a.RequestedBy.UserID && m.Email != "" &&
				m.Access().Member().TenantAllowed(permission.ApproveRequests, a.Order.TenantID) {
				out = append(out, m.Email)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// maxRecipients is how many addresses one email names (SES allows 50).
const maxRecipients = 50

// notifyApprovers emails the members who may approve a pending order. An email that
// cannot be sent fails nothing: the order waits all the same, and why nobody was told
// is recorded on it (notifyError) for the requester to see.
func (d *Deps) notifyApprovers(ctx context.Context, a domain.Approval) domain.Approval {
	oc := access.From(ctx)
	o := a.Order
	to, err := d.approvers(ctx, a)
	if err == nil && len(to) == 0 {
		err = errNoApprovers
	}
	notice := "the approvers could not be emailed; tell them the order waits"
	switch {
	case errors.Is(err, errNoApprovers):
		notice = "no other member who may approve this order was found to email"
	case err != nil:
	case d.Mail == nil:
		err, notice = errors.New("no mail sender is configured"), "this deployment sends no email (MAIL_FROM is not set)"
	default:
		for start := 0; start < len(to) && err == nil; start += maxRecipients {
			var msg mail.Message
			msg, err = mail.ApprovalRequest(mail.ApprovalRequestEmail{To: to[start:min(start+maxRecipients, len(to))],
				OrganizationName: oc.Org.Name, RequesterName: a.RequestedBy.Name, RequesterEmail: a.RequestedBy.Email,
				What: "a license order", ExpiresAt: a.ExpiresAt, ReviewURL: d.ConsoleURL + "/msp-portal/license-orders/" + a.ID,
				Details: [][2]string{{"Tenant", o.TenantName}, {"Product SKU", o.SKU}, {"Quantity", strconv.FormatInt(o.Quantity, 10)}, {"Note", o.Note}}})
			if err == nil {
				err = d.Mail.Send(ctx, msg)
			}
		}
	}
	if err == nil {
		return a
	}
	slog.WarnContext(ctx, "approvers not emailed", "requestId", RequestID(ctx), "organizationId", a.OrganizationID,
		"approvalId", a.ID, "err", err.Error())
	saved, perr := d.Store.SetApprovalNotice(context.WithoutCancel(ctx), a, notice)
	if perr != nil {
		slog.ErrorContext(ctx, "approval notice not recorded", "requestId", RequestID(ctx), "approvalId", a.ID, "err", perr.Error())
		return a
	}
	return saved
}
