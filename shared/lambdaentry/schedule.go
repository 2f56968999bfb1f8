package lambdaentry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// ScheduleEvent is the payload a schedule's EventBridge Scheduler target sends: the
// Input template.yaml gives it, whose values Scheduler fills in from its context
// attributes (<aws.scheduler.scheduled-time> and the others) on every invocation.
type ScheduleEvent struct {
	// Schedule names the job: its Function.
	Schedule      string `json:"schedule"`
	ScheduleARN   string `json:"scheduleArn"`
	ScheduledTime string `json:"scheduledTime"`
	ExecutionID   string `json:"executionId"`
	AttemptNumber string `json:"attemptNumber"`
}

// ScheduleFunc is a schedule's Lambda handler. It accepts any JSON payload (the
// ScheduleEvent fields it finds are logged) and returns the run's result.
type ScheduleFunc func(ctx context.Context, payload json.RawMessage) (any, error)

// Schedule runs the schedule whose Function is name, with the services uses wire (a
// job with RunWith); it does not return.
func Schedule(name string, uses ...Use) {
	startJob(name, func(ctx context.Context, name string) (any, error) { return ScheduleHandler(ctx, name, uses...) })
}

// ScheduleHandler builds the handler of schedule name from the environment: the table
// (TABLE_NAME, DYNAMODB_ENDPOINT) and the services uses wire.
func ScheduleHandler(ctx context.Context, name string, uses ...Use) (ScheduleFunc, error) {
	if _, err := scheduleJob(name); err != nil {
		return nil, err
	}
	st, cfg, err := tableFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	deps := api.BaseDeps(st, os.Getenv("CONSOLE_URL"))
	for _, use := range uses {
		if err := use(ctx, cfg, deps); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return ScheduleWith(deps, name)
}

// ScheduleOn is the handler of schedule name over st, with no other service.
func ScheduleOn(st *store.Store, name string) (ScheduleFunc, error) {
	return ScheduleWith(api.BaseDeps(st, os.Getenv("CONSOLE_URL")), name)
}

// ScheduleWith is the handler of schedule name over d. Each invocation runs the job
// once at the store's current time and logs its result as JSON; a failed run returns
// its error, so that Lambda records it (and retries the asynchronous invocation: runs
// are idempotent).
func ScheduleWith(d *api.Deps, name string) (ScheduleFunc, error) {
	st := d.Store
	job, err := scheduleJob(name)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		ctx = api.WithFunction(ctx, name)
		var ev ScheduleEvent
		// Any JSON is a trigger; only an object carries the schedule's attributes.
		_ = json.Unmarshal(payload, &ev)
		start := time.Now()
		var res any
		var err error
		if job.RunWith != nil {
			res, err = job.RunWith(ctx, d, st.Now())
		} else {
			res, err = job.Run(ctx, st, st.Now())
		}
		attrs := []any{"function", name, "scheduledTime", ev.ScheduledTime, "executionId", ev.ExecutionID,
			"attempt", ev.AttemptNumber, "result", res, "durationMs", time.Since(start).Milliseconds()}
		if err != nil {
			slog.ErrorContext(ctx, "schedule run failed", append(attrs, "err", err.Error())...)
			return res, fmt.Errorf("%s: %w", name, err)
		}
		slog.InfoContext(ctx, "schedule run", attrs...)
		return res, nil
	}, nil
}

func scheduleJob(name string) (api.Job, error) {
	for _, j := range api.Jobs() {
		if j.Function == name && j.Kind == "schedule" && (j.Run != nil || j.RunWith != nil) {
			return j, nil
		}
	}
	return api.Job{}, fmt.Errorf("no schedule job is served by function %s", name)
}
