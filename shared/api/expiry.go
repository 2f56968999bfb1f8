package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// expiryRate is how often the invitation expiry schedule runs. An invitation past its
// expiry already cannot be accepted (domain.Invitation.Expired is checked on read);
// the schedule makes the stored status, the platform users list and the audit log say so.
const expiryRate = "rate(15 minutes)"

// expireInvitationsJob is the schedule that marks overdue invitations expired. Its
// actions are those of store.SystemDueInvitations (a Query on GSI1) and
// store.ExpireInvitation (a consistent GetItem, then a TransactWriteItems that puts the
// invitation and its audit event, which IAM authorizes as PutItem; the token lookup
// stays, so its link keeps answering "expired").
func expireInvitationsJob() Job {
	return Job{Function: "expire-invitations", Kind: "schedule", Schedule: expiryRate,
		Summary: "Marks the invitations past their expiry expired, with an audit event each",
		Actions: []string{
			"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem",
			// The event's chain: its head read with the organization (BatchGetItem).
			"dynamodb:BatchGetItem",
		},
		Run: func(ctx context.Context, st *store.Store, now time.Time) (any, error) {
			return ExpireInvitations(ctx, st, now)
		}}
}

// ExpiryResult counts what one run of ExpireInvitations did.
type ExpiryResult struct {
	// Expired invitations were marked expired by this run, each with its audit event.
	Expired int `json:"expired"`
	// Skipped invitations were listed as due but had changed meanwhile: accepted,
	// revoked, resent, or expired by another run.
	Skipped int `json:"skipped"`
	// Failed invitations could not be marked; the next run tries them again.
	Failed int `json:"failed"`
	// Unfinished is set when the run stopped at its deadline with due invitations
	// possibly left; the next run goes on with them.
	Unfinished bool `json:"unfinished,omitempty"`
}

// expiryPageSize is how many due invitations one Query reads.
var expiryPageSize = 100

// expiryMargin is how long before its context's deadline a run stops starting work,
// so that it returns its counts rather than being cut off.
var expiryMargin = 5 * time.Second

// ExpireInvitations marks every pending invitation whose expiry is at or before now
// expired, with an audit event in the invitation's organization (category
// user-management, action invitation.expire, no actor: a system job). It reads them
// page by page from the expiry index (never a Scan) and stops early, with Unfinished
// set, when ctx's deadline comes near. It is idempotent: an invitation changes only
// while it is pending and due, so a second run, or two runs at once, expire each
// invitation once. One invitation's failure does not stop the others: the run goes
// on and returns an error naming how many failed, with the counts.
func ExpireInvitations(ctx context.Context, st *store.Store, now time.Time) (ExpiryResult, error) {
	return sweep(ctx, "invitations",
		func(cursor string) ([]domain.Invitation, string, error) {
			return st.SystemDueInvitations(ctx, now, store.Page{Limit: expiryPageSize, Cursor: cursor})
		},
		func(inv domain.Invitation) (bool, error) {
			changed, err := st.ExpireInvitation(ctx, inv.OrganizationID, inv.ID, now, expiryEvent(inv))
			if err != nil {
				slog.ErrorContext(ctx, "expire invitation", "organizationId", inv.OrganizationID, "invitationId", inv.ID, "err", err.Error())
			}
			return changed, err
		})
}

// sweep is one run of an expiry schedule: it lists what is due page by page and
// expires each, counting what changed, what had changed meanwhile and what failed,
// and stops starting work when ctx's deadline comes near.
func sweep[T any](ctx context.Context, what string, list func(cursor string) ([]T, string, error), expire func(T) (bool, error)) (ExpiryResult, error) {
	var res ExpiryResult
	var firstErr error
	cursor := ""
	for {
		if stopping(ctx) {
			res.Unfinished = true
			break
		}
		due, next, err := list(cursor)
		if err != nil {
			return res, errors.Join(firstErr, err)
		}
		for _, it := range due {
			if stopping(ctx) {
				res.Unfinished = true
				return res, failures(what, res, firstErr)
			}
			changed, err := expire(it)
			switch {
			case err != nil:
				res.Failed++
				if firstErr == nil {
					firstErr = err
				}
			case changed:
				res.Expired++
			default:
				res.Skipped++
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return res, failures(what, res, firstErr)
}

// expiryEvent is the audit event of one invitation's expiry.
func expiryEvent(inv domain.Invitation) audit.Event {
	return audit.Event{
		OrganizationID: inv.OrganizationID,
		// The zero actor is the system's (the audit log documents an empty userId and
		// email for system jobs).
		Actor:    audit.Actor{},
		Category: audit.UserManagement,
		Action:   "invitation.expire",
		Targets:  audit.Targets{Emails: []string{inv.Email}},
		Summary:  fmt.Sprintf("the invitation of %s expired unused", inv.Email),
		Changes:  []audit.Change{{Field: "status", From: inv.Status, To: domain.InvitationExpired}},
	}
}

// stopping reports whether a run should start no more work: ctx is done, or its
// deadline is within expiryMargin.
func stopping(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < expiryMargin
}

func failures(what string, res ExpiryResult, first error) error {
	if res.Failed == 0 {
		return nil
	}
	return fmt.Errorf("expire %s: %d of %d failed, the first: %w", what, res.Failed, res.Expired+res.Skipped+res.Failed, first)
}
