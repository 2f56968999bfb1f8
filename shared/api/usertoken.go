package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// TriggerPreTokenGeneration names the user pool's Pre Token Generation trigger (its
// LambdaConfig property).
const TriggerPreTokenGeneration = "PreTokenGeneration"

// preTokenGenerationBudget keeps the trigger inside the 5 seconds Cognito waits for it.
const preTokenGenerationBudget = 3 * time.Second

// preTokenGenerationJob puts the identity's user id in every ID token the pool issues
// (auth.ClaimUserID), so that a request, even the first of a cold Lambda, authorizes
// with one read of the organization, membership and session instead of reading the
// identity mapping first. Its one action is the mapping's GetItem. Like every trigger,
// nothing of it refers to the user pool, which refers to it.
func preTokenGenerationJob() Job {
	return Job{Function: "cognito-pre-token-generation", Kind: KindCognitoTrigger, Trigger: TriggerPreTokenGeneration,
		Summary: "Adds the Switchboard user id of the identity to the ID tokens the user pool issues",
		Actions: []string{"dynamodb:GetItem"}, PreTokenGeneration: UserClaims}
}

// UserClaims returns the claims to add to the ID token of ev's identity: its user id,
// once the identity is mapped. An identity not mapped yet (its very first sign-in) gets
// none; its first request maps it, and its next token carries the claim.
func UserClaims(ctx context.Context, st *store.Store, ev events.CognitoEventUserPoolsPreTokenGen) (map[string]string, error) {
	sub := ev.Request.UserAttributes["sub"]
	if sub == "" {
		return nil, fmt.Errorf("pre token generation of %s: no sub attribute", ev.UserName)
	}
	userID, err := UserOf(ctx, st, sub)
	if err != nil || userID == "" {
		return nil, err
	}
	return map[string]string{auth.ClaimUserID: userID}, nil
}

// UserOf is the user id of identity subject, "" when it is not mapped yet.
func UserOf(ctx context.Context, st *store.Store, subject string) (string, error) {
	userID, err := st.LookupIdentity(ctx, subject)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up the user of identity %s: %w", subject, err)
	}
	return userID, nil
}

// PreTokenGenerationHandler is the Lambda handler of a Pre Token Generation job: the
// event back with the job's claims added. A failure is logged and the token is issued
// without them: requests then look the mapping up, which is slower but the same answer,
// whereas failing the trigger would fail the sign-in.
func PreTokenGenerationHandler(st *store.Store, j Job) func(context.Context, events.CognitoEventUserPoolsPreTokenGen) (events.CognitoEventUserPoolsPreTokenGen, error) {
	return func(ctx context.Context, ev events.CognitoEventUserPoolsPreTokenGen) (events.CognitoEventUserPoolsPreTokenGen, error) {
		ctx = WithFunction(ctx, j.Function)
		rctx, cancel := context.WithTimeout(ctx, preTokenGenerationBudget)
		defer cancel()
		claims, err := j.PreTokenGeneration(rctx, st, ev)
		if err != nil {
			slog.ErrorContext(ctx, "token issued without the user claim", "function", j.Function,
				"triggerSource", ev.TriggerSource, "err", err.Error())
			return ev, nil
		}
		if len(claims) > 0 {
			add := ev.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride
			if add == nil {
				add = map[string]string{}
			}
			for k, v := range claims {
				add[k] = v
			}
			ev.Response.ClaimsOverrideDetails.ClaimsToAddOrOverride = add
		}
		return ev, nil
	}
}
