package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// MeterUsageFunction is the metering schedule's function.
const MeterUsageFunction = "meter-usage"

func meterUsageJob() Job {
	return Job{Function: MeterUsageFunction, Kind: "schedule", Schedule: "rate(1 hour)",
		Summary: "Writes each organization's usage record of the past hour and of the past month, publishes each on the switchboard-billing bus, and emails billing alerts at 80% and 100% of a limit",
		Actions: []string{"dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
			"events:PutEvents", "ses:SendEmail"},
		RunWith: func(ctx context.Context, d *Deps, now time.Time) (any, error) { return MeterUsage(ctx, d, now) }}
}

// MeterResult is what one metering run did.
type MeterResult struct {
	Organizations int `json:"organizations"`
	// Written are the records this run wrote; Existing those an earlier or overlapping
	// run had written (a rerun writes nothing twice).
	Written   int `json:"written"`
	Existing  int `json:"existing"`
	Published int `json:"published"`
	Alerts    int `json:"alerts"`
	// Complete is false when the run stopped early (its time ran out); the next run
	// starts over and skips what is written.
	Complete bool `json:"complete"`
}

// meterPage is how many organizations a run reads per Query, and meterWorkers how
// many of them it meters at once.
const (
	meterPage    = 100
	meterWorkers = 8
	// meterReserve is the time a run keeps before its deadline to finish a page.
	meterReserve = 20 * time.Second
)

// MeterUsage is one run of the metering schedule at now: for every top-level
// organization (paged from the system-scope index, no Scan), the usage record of the
// hour that ended before now and of the month that ended before now's month, each
// written once (conditional Put), published on the billing bus, then marked published;
// and the billing alerts due. Sub-organizations are in their parent's records.
func MeterUsage(ctx context.Context, d *Deps, now time.Time) (MeterResult, error) {
	var res MeterResult
	hour := now.UTC().Truncate(time.Hour).Add(-time.Hour)
	month := domain.MonthStart(now).AddDate(0, -1, 0)
	cursor := ""
	for {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < meterReserve {
			return res, nil
		}
		bills, next, err := d.Store.BillingOrgs(ctx, store.Page{Limit: meterPage, Cursor: cursor})
		if err != nil {
			return res, err
		}
		if err := meterBills(ctx, d, bills, hour, month, now, &res); err != nil {
			return res, err
		}
		res.Organizations += len(bills)
		if next == "" {
			res.Complete = true
			return res, nil
		}
		cursor = next
	}
}

// meterBills meters one page of bills.
func meterBills(ctx context.Context, d *Deps, bills []store.Bill, hour, month, now time.Time, res *MeterResult) error {
	if len(bills) == 0 {
		return nil
	}
	ids := make([]string, len(bills))
	for i, b := range bills {
		ids[i] = b.OrganizationID
	}
	hourly, err := d.Store.UsageRecords(ctx, ids, store.PeriodHour, store.HourPeriod(hour))
	if err != nil {
		return err
	}
	monthly, err := d.Store.UsageRecords(ctx, ids, store.PeriodMonth, store.MonthPeriod(month))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var publish []store.UsageRecord
	err = eachOf(ctx, len(bills), func(ctx context.Context, i int) error {
		b := bills[i]
		hourRec, hourDone := hourly[b.OrganizationID]
		monthRec, monthDone := monthly[b.OrganizationID]
		// The hour's month to date, and the previous month's total.
		calls, err := d.Store.APICalls(ctx, b.OrganizationID, domain.MonthKey(hour), domain.MonthKey(month), domain.MonthKey(now))
		if err != nil {
			return err
		}
		alerts, err := alertBill(ctx, d, b, calls[2].Total, now)
		if err != nil {
			slog.WarnContext(ctx, "billing alerts not sent", "organizationId", b.OrganizationID, "err", err.Error())
		}
		var out []store.UsageRecord
		existing, written := 0, 0
		for _, r := range []struct {
			done   bool
			rec    store.UsageRecord
			period string
			start  time.Time
			end    time.Time
			calls  store.MonthCalls
		}{
			{hourDone, hourRec, store.PeriodHour, hour, hour.Add(time.Hour), calls[0]},
			{monthDone, monthRec, store.PeriodMonth, month, month.AddDate(0, 1, 0), calls[1]},
		} {
			if r.done {
				existing++
				if !r.rec.Published {
					out = append(out, r.rec) // written by a run that died before publishing
				}
				continue
			}
			rec := usageRecord(b, r.period, r.start, r.end, r.calls, now)
			wrote, err := d.Store.PutUsageRecord(ctx, rec)
			if err != nil {
				return err
			}
			if !wrote {
				existing++ // an overlapping run wrote it and publishes it
				continue
			}
			written++
			out = append(out, rec)
		}
		mu.Lock()
		defer mu.Unlock()
		publish = append(publish, out...)
		res.Existing += existing
		res.Written += written
		res.Alerts += alerts
		return nil
	})
	if err != nil {
		return err
	}
	if len(publish) == 0 {
		return nil
	}
	if d.Events == nil {
		return errors.New("no billing bus is configured (BILLING_BUS_NAME)")
	}
	events := make([]billingbus.Event, len(publish))
	for i, r := range publish {
		r.Published = true
		detail, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("usage record %s: %w", r.ID, err)
		}
		events[i] = billingbus.Event{DetailType: billingbus.DetailTypeUsageRecorded, Detail: detail}
	}
	if err := d.Events.Publish(ctx, events); err != nil {
		return err
	}
	if err := eachOf(ctx, len(publish), func(ctx context.Context, i int) error {
		return d.Store.MarkUsagePublished(ctx, publish[i])
	}); err != nil {
		return err
	}
	res.Published += len(publish)
	return nil
}

// usageRecord is a bill's record of one period, from its counters.
func usageRecord(b store.Bill, period string, start, end time.Time, calls store.MonthCalls, now time.Time) store.UsageRecord {
	key := store.HourPeriod(start)
	if period == store.PeriodMonth {
		key = store.MonthPeriod(start)
	}
	r := store.UsageRecord{ID: b.OrganizationID + "/" + period + "/" + key, OrganizationID: b.OrganizationID, Period: period,
		PeriodKey: key, PeriodStart: start, PeriodEnd: end, Plan: b.Plan, ManagedUsers: b.ManagedUsers,
		ManagedTenants: b.Used[domain.MetricManagedTenants], Customers: b.Used[domain.MetricCustomers],
		SubOrganizations: b.Used[domain.MetricSubOrganizations], APICalls: calls.Total, RecordedAt: now}
	if len(calls.ByOrg) > 1 {
		r.APICallsByOrg = calls.ByOrg
	}
	return r
}

// alertThresholds are the shares of a limit at which the billing contact is told.
var alertThresholds = []int{80, 100}

// alertBill emails the bill's billing contact each threshold of each limit its usage
// has reached, once per month: the alert is claimed (a conditional Put) before the
// email and released when the email fails, so the next run tries again.
func alertBill(ctx context.Context, d *Deps, b store.Bill, monthCalls int64, now time.Time) (int, error) {
	if d.Mail == nil || b.Org.Profile.BillingContact.Email == "" {
		return 0, nil
	}
	used := map[domain.Metric]int64{domain.MetricAPICalls: monthCalls}
	for m, n := range b.Used {
		used[m] = n
	}
	period := domain.MonthKey(now)
	sent := 0
	var errs []error
	for _, m := range domain.Metrics() {
		limit := b.Limits.Of(m)
		if limit == domain.Unlimited || limit == 0 {
			continue
		}
		// The highest threshold reached is the one told; a lower one is not sent after it.
		th := 0
		for _, t := range alertThresholds {
			if used[m]*100 >= int64(t)*limit {
				th = t
			}
		}
		if th == 0 {
			continue
		}
		claimed, err := d.Store.ClaimAlert(ctx, b.OrganizationID, period, m, th, now, domain.MonthStart(now).AddDate(0, 2, 0))
		if err != nil || !claimed {
			errs = append(errs, err)
			continue
		}
		headline := fmt.Sprintf("%s at %d%% of the %s plan's limit", m, th, b.Plan)
		details := [][2]string{{"Usage", fmt.Sprintf("%d of %d", used[m], limit)}, {"Plan", b.Plan}, {"Period", period}}
		if err := sendBillingNotice(ctx, d.Mail, d.ConsoleURL, b.Org, headline, details); err != nil {
			errs = append(errs, err, d.Store.ReleaseAlert(ctx, b.OrganizationID, period, m, th))
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// eachOf runs fn for 0..n-1 on meterWorkers goroutines and returns the first error;
// the others stop taking work once one fails.
func eachOf(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(meterWorkers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
