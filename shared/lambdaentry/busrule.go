package lambdaentry

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/api"
)

// BusRuleFunc is a bus rule's Lambda handler: one EventBridge event in.
type BusRuleFunc func(ctx context.Context, ev events.CloudWatchEvent) (api.BillingEventResult, error)

// BusRule runs the bus rule whose Function is name, with the services uses wire; it
// does not return.
func BusRule(name string, uses ...Use) {
	startJob(name, func(ctx context.Context, name string) (any, error) { return BusRuleHandler(ctx, name, uses...) })
}

// BusRuleHandler builds the handler of bus rule name from the environment.
func BusRuleHandler(ctx context.Context, name string, uses ...Use) (BusRuleFunc, error) {
	var job *api.Job
	for _, j := range api.Jobs() {
		if j.Function == name && j.Kind == api.KindBusRule && j.BusEvent != nil {
			job = &j
		}
	}
	if job == nil {
		return nil, fmt.Errorf("no bus rule is served by function %s", name)
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
	return func(ctx context.Context, ev events.CloudWatchEvent) (api.BillingEventResult, error) {
		return job.BusEvent(api.WithFunction(ctx, name), deps, ev)
	}, nil
}
