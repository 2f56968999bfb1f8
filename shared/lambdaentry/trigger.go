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

// CognitoTrigger runs the Cognito trigger whose Function is name; it does not return.
func CognitoTrigger(name string) {
	startJob(name, func(ctx context.Context, name string) (any, error) { return PostAuthenticationHandler(ctx, name) })
}

// PostAuthenticationHandler builds the handler of Post Authentication trigger name
// from the environment: the table (TABLE_NAME, DYNAMODB_ENDPOINT). Nothing of the user
// pool: the pool names the function, so the function cannot name the pool.
func PostAuthenticationHandler(ctx context.Context, name string) (PostAuthenticationFunc, error) {
	job, err := postAuthenticationJob(name)
	if err != nil {
		return nil, err
	}
	st, _, err := tableFromEnv(ctx)
	if err != nil {
		return nil, err
	}
	return api.PostAuthenticationHandler(st, job), nil
}

func postAuthenticationJob(name string) (api.Job, error) {
	for _, j := range api.Jobs() {
		if j.Function == name && j.Kind == api.KindCognitoTrigger && j.Trigger == api.TriggerPostAuthentication && j.PostAuthentication != nil {
			return j, nil
		}
	}
	return api.Job{}, fmt.Errorf("no Post Authentication trigger is served by function %s", name)
}
