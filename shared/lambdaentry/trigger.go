package lambdaentry

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/api"
)

// PostAuthenticationFunc is a Post Authentication trigger's Lambda handler: Cognito's
// event in, the same event out.
type PostAuthenticationFunc func(ctx context.Context, ev events.CognitoEventUserPoolsPostAuthentication) (events.CognitoEventUserPoolsPostAuthentication, error)

// PreTokenGenerationFunc is a Pre Token Generation trigger's Lambda handler: Cognito's
// event in, the event with the claims to add out.
type PreTokenGenerationFunc func(ctx context.Context, ev events.CognitoEventUserPoolsPreTokenGen) (events.CognitoEventUserPoolsPreTokenGen, error)

// CognitoTrigger runs the Cognito trigger whose Function is name; it does not return.
func CognitoTrigger(name string) {
	startJob(name, func(ctx context.Context, name string) (any, error) { return TriggerHandler(ctx, name) })
}

// TriggerHandler builds the handler of Cognito trigger name from the environment: the
// table (TABLE_NAME, DYNAMODB_ENDPOINT). Nothing of the user pool: the pool names the
// function, so the function cannot name the pool. The handler is a
// PostAuthenticationFunc or a PreTokenGenerationFunc, as the job's Trigger says.
func TriggerHandler(ctx context.Context, name string) (any, error) {
	job, err := triggerJob(name)
	if err != nil {
		return nil, err
	}
	st, _, err := tableFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	switch job.Trigger {
	case api.TriggerPostAuthentication:
		return PostAuthenticationFunc(api.PostAuthenticationHandler(st, job)), nil
	default:
		return PreTokenGenerationFunc(api.PreTokenGenerationHandler(st, job)), nil
	}
}

// PostAuthenticationHandler is TriggerHandler of a Post Authentication trigger.
func PostAuthenticationHandler(ctx context.Context, name string) (PostAuthenticationFunc, error) {
	h, err := TriggerHandler(ctx, name)
	if err != nil {
		return nil, err
	}
	f, ok := h.(PostAuthenticationFunc)
	if !ok {
		return nil, fmt.Errorf("function %s is not a Post Authentication trigger", name)
	}
	return f, nil
}

// PreTokenGenerationHandler is TriggerHandler of a Pre Token Generation trigger.
func PreTokenGenerationHandler(ctx context.Context, name string) (PreTokenGenerationFunc, error) {
	h, err := TriggerHandler(ctx, name)
	if err != nil {
		return nil, err
	}
	f, ok := h.(PreTokenGenerationFunc)
	if !ok {
		return nil, fmt.Errorf("function %s is not a Pre Token Generation trigger", name)
	}
	return f, nil
}

func triggerJob(name string) (api.Job, error) {
	for _, j := range api.Jobs() {
		if j.Function != name || j.Kind != api.KindCognitoTrigger {
			continue
		}
		switch {
		case j.Trigger == api.TriggerPostAuthentication && j.PostAuthentication != nil,
			j.Trigger == api.TriggerPreTokenGeneration && j.PreTokenGeneration != nil:
			return j, nil
		}
	}
	return api.Job{}, fmt.Errorf("no Cognito trigger is served by function %s", name)
}
