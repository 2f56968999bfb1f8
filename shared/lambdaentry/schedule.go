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

// Schedule runs the schedule whose Function is name, with the services uses wire for
// a schedule that runs with deps (Job.RunDeps); it does not return.
func Schedule(name string, uses ...Use) {
	startJob(name, func(ctx context.Context, name string) (any, error) { return ScheduleHandler(ctx, name, uses...) })
}

// ScheduleHandler builds the handler of schedule name from the environment: the table
// (TABLE_NAME, DYNAMODB_ENDPOINT) and, for a schedule that runs with deps, the
// services uses wire.
func ScheduleHandler(ctx context.Context, name string, uses ...Use) (ScheduleFunc, error) {
	job, err := scheduleJob(name)
	if err != nil {
		return nil, err
	}
	st, cfg, err := tableFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	if job.RunDeps == nil {
		return ScheduleOn(st, name)
	}
	deps := api.BaseDeps(st, os.Getenv("CONSOLE_URL"))
	for _, use := range uses {
		if err := use(ctx, cfg, deps); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return ScheduleWith(deps, name)
}

// ScheduleWith is the handler of schedule name over deps: a schedule that runs with
// deps (Job.RunDeps), or any other on deps' store.
func ScheduleWith(deps *api.Deps, name string) (ScheduleFunc, error) {
	job, err := scheduleJob(name)
	if err != nil {
		return nil, err
	}
	if job.RunDeps == nil {
		return ScheduleOn(deps.Store, name)
	}
	return scheduleFunc(name, func(ctx context.Context, now time.Time) (any, error) { return job.RunDeps(ctx, deps, now) }, deps.Store), nil
}

// ScheduleOn is the handler of schedule name over st. Each invocation runs the job
// once at the store's current time and logs its result as JSON; a failed run returns
// its error, so that Lambda records it (and retries the asynchronous invocation: runs
// are idempotent).
func ScheduleOn(st *store.Store, name string) (ScheduleFunc, error) {
	job, err := scheduleJob(name)
	if err != nil {
		return nil, err
	}
	if job.Run == nil {
		return nil, fmt.Errorf("schedule %s runs with deps: use ScheduleWith", name)
	}
	return scheduleFunc(name, func(ctx context.Context, now time.Time) (any, error) { return job.Run(ctx, st, now) }, st), nil
}

// scheduleFunc is the Lambda handler of a schedule that runs run at the store's time.
func scheduleFunc(name string, run func(context.Context, time.Time) (any, error), st *store.Store) ScheduleFunc {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		ctx = api.WithFunction(ctx, name)
		var ev ScheduleEvent
		// Any JSON is a trigger; only an object carries the schedule's attributes.
		_ = json.Unmarshal(payload, &ev)
		start := time.Now()
		res, err := run(ctx, st.Now())
		attrs := []any{"function", name, "scheduledTime", ev.ScheduledTime, "executionId", ev.ExecutionID,
			"attempt", ev.AttemptNumber, "result", res, "durationMs", time.Since(start).Milliseconds()}
		if err != nil {
			slog.ErrorContext(ctx, "schedule run failed", append(attrs, "err", err.Error())...)
			return res, fmt.Errorf("%s: %w", name, err)
		}
		slog.InfoContext(ctx, "schedule run", attrs...)
		return res, nil
	}
}

func scheduleJob(name string) (api.Job, error) {
	for _, j := range api.Jobs() {
		if j.Function == name && j.Kind == "schedule" && (j.Run != nil || j.RunDeps != nil) {
			return j, nil
		}
	}
	return api.Job{}, fmt.Errorf("no schedule job is served by function %s", name)
}
