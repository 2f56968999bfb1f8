package api

import (
	"context"
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
