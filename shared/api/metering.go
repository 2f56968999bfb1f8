package api

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// apiCallsOpen refuses a request once its bill's API calls of the month reached the
// plan's limit: 429 with Retry-After at the start of next month. Routes marked
// AlwaysOpen (billing, invitations) stay open so an organization can always upgrade;
// /api/me is not organization-scoped and never reaches here.
func apiCallsOpen(rt Route, bill store.BillingRoot, now time.Time) error {
	limit := domain.PlanOf(bill.Plan).Limits.APICallsPerMonth
	if rt.AlwaysOpen != "" || limit == domain.Unlimited || bill.APICallsExhausted != domain.MonthKey(now) {
		return nil
	}
	next := domain.MonthStart(now).AddDate(0, 1, 0)
	pe := problem.New(problem.TooManyRequests, "api-calls-exhausted",
		"the "+bill.Plan+" plan's API calls for this month are used up; they reset at "+next.Format(time.RFC3339)+", or upgrade the plan (PUT /api/billing/plan)")
	pe.RetryAfter = max(1, int(next.Sub(now).Seconds()+0.999))
	pe.Extra = map[string]any{"limit": string(domain.MetricAPICalls), "max": limit, "plan": bill.Plan, "resetsAt": next}
	return pe
}

// exhaustionCheck is the share of a limit from which each metered call reads the
// month's exact total (one BatchGetItem, still concurrent with the request's work).
// Below it the counted shard alone says the limit is far: a shard holds about
// 1/APICallShards of the month.
const exhaustionCheck = 0.8

// meterCall counts one API call of orgID on its bill, then checks the month's limit.
func meterCall(ctx context.Context, d *Deps, bill store.BillingRoot, orgID string, now time.Time) error {
	shard, err := d.Store.CountAPICall(ctx, bill.ID, orgID, now)
	if err != nil {
		return err
	}
	return checkExhaustion(ctx, d, bill, shard, now)
}

// checkExhaustion marks the month exhausted, on a plan with a monthly limit, once the
// exact total reaches it; shard is the count of the shard just written.
func checkExhaustion(ctx context.Context, d *Deps, bill store.BillingRoot, shard int64, now time.Time) error {
	limit := domain.PlanOf(bill.Plan).Limits.APICallsPerMonth
	month := domain.MonthKey(now)
	if limit == domain.Unlimited || bill.APICallsExhausted == month ||
		float64(shard*store.APICallShards) < exhaustionCheck*float64(limit) {
		return nil
	}
	calls, err := d.Store.APICalls(ctx, bill.ID, month)
	if err != nil || calls[0].Total < limit {
		return err
	}
	_, err = d.Store.MarkAPICallsExhausted(ctx, bill.ID, month, bill.Plan)
	return err
}

// earlyMeter counts a request's call while the request is being authorized, when it
// names its organization up front: the count's write then overlaps the authorization
// read, and a route whose work is that read alone (a GET of the profile) still answers
// after one round trip. The verdict settles it: authorized, the count stays (moved to
// the right bill if this process guessed wrong, then the limit is checked); refused
// (404, 403, 401, 429), it is taken back, so nobody spends another organization's calls.
type earlyMeter struct {
	once    sync.Once
	verdict chan *store.BillingRoot
	done    chan struct{}
}

func startEarlyMeter(ctx context.Context, d *Deps, orgID string, now time.Time) *earlyMeter {
	m := &earlyMeter{verdict: make(chan *store.BillingRoot, 1), done: make(chan struct{})}
	guess := d.Store.GuessBillingRoot(orgID)
	go func() {
		defer close(m.done)
		ctx := context.WithoutCancel(ctx)
		shard, err := d.Store.AddAPICalls(ctx, guess, orgID, now, 1)
		bill := <-m.verdict
		switch {
		case err != nil:
		case bill == nil:
			_, err = d.Store.AddAPICalls(ctx, guess, orgID, now, -1)
		case bill.ID != guess:
			if _, err = d.Store.AddAPICalls(ctx, guess, orgID, now, -1); err == nil {
				shard, err = d.Store.AddAPICalls(ctx, bill.ID, orgID, now, 1)
			}
		}
		if err == nil && bill != nil {
			err = checkExhaustion(ctx, d, *bill, shard, now)
		}
		if err != nil {
			slog.WarnContext(ctx, "API call not metered", "requestId", RequestID(ctx), "err", err.Error())
		}
	}()
	return m
}

// settle gives the verdict: the bill of an authorized request, nil for a refused one.
// The first verdict counts.
func (m *earlyMeter) settle(bill *store.BillingRoot) {
	m.once.Do(func() { m.verdict <- bill })
}

// wait returns once the count is written (or taken back).
func (m *earlyMeter) wait() { <-m.done }
