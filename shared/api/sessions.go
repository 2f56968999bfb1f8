package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/signin"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// SessionsCreate is called by the console once after each sign-in. Its store calls
// (a consistent GetItem of the marker, a Query of the memberships on GSI1, one
// TransactWriteItems of Puts, and for a user in more organizations than a transaction
// holds further PutItems and an UpdateItem) are all among AuthActions.
var SessionsCreate = Route{Method: "POST", Path: "/api/sessions", Permission: permission.Authenticated, Function: "sessions-create", Category: audit.SignIn,
	Summary: "Record the caller's sign-in, once per session, in the audit log of each of their organizations", Handler: createSession}

// sessionRoutes are the sign-in's.
func sessionRoutes() []Route {
	return []Route{SessionsCreate}
}

// ActionSessionSignIn is the action of the sign-in event POST /api/sessions records;
// ActionCognitoAuthentication that of the event the Post Authentication trigger
// records. Both are in category sign-in.
const (
	ActionSessionSignIn         = "session.sign-in"
	ActionCognitoAuthentication = "cognito.authentication"
)

// sessionView is the sign-in POST /api/sessions recorded: the same body on every call
// of one session. It holds no token value: sessionId is a hash.
type sessionView struct {
	SessionID        string        `json:"sessionId"`
	SignedInAt       time.Time     `json:"signedInAt"`
	SourceIP         string        `json:"sourceIp"`
	UserAgent        string        `json:"userAgent"`
	Client           *audit.Client `json:"client,omitempty"`
	IdentityProvider string        `json:"identityProvider"`
	Organizations    int           `json:"organizations"`
}

// createSession records the caller's sign-in: 201 the first time in a session, 200
// with the same body after. The request has no body; one sent is ignored.
func createSession(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		o := audit.OriginFrom(ctx)
		in := store.SignIn{
			SessionID:        store.SignInSessionID(cl.userID, cl.principal.SessionID),
			UserID:           cl.userID,
			Email:            o.Actor.Email,
			SourceIP:         o.SourceIP,
			UserAgent:        o.UserAgent,
			ClientOf:         signin.ParseClient,
			IdentityProvider: cl.principal.Provider,
		}
		rec, created, err := d.Store.RecordSignIn(ctx, in, sessionSignInEvent)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		write(w, status, sessionView{SessionID: rec.SessionID, SignedInAt: rec.SignedInAt, SourceIP: rec.SourceIP,
			UserAgent: rec.UserAgent, Client: rec.Client, IdentityProvider: rec.IdentityProvider, Organizations: rec.Organizations})
	})
}

// sessionSignInEvent is the audit event of a recorded sign-in; the store gives it its
// organization, id and time.
func sessionSignInEvent(rec store.SignIn) audit.Event {
	return audit.Event{
		Actor:            audit.Actor{UserID: rec.UserID, Email: rec.Email},
		Category:         audit.SignIn,
		Action:           ActionSessionSignIn,
		Targets:          audit.Targets{UserIDs: []string{rec.UserID}},
		Summary:          signin.Summary(rec.Email, rec.Client, rec.SourceIP, rec.IdentityProvider),
		SourceIP:         rec.SourceIP,
		UserAgent:        rec.UserAgent,
		Client:           rec.Client,
		IdentityProvider: rec.IdentityProvider,
	}
}

// KindCognitoTrigger is the Job kind of a function a Cognito user pool invokes.
const KindCognitoTrigger = "cognito-trigger"

// TriggerPostAuthentication names the user pool's Post Authentication trigger (its
// LambdaConfig property).
const TriggerPostAuthentication = "PostAuthentication"

// postAuthenticationJob records every successful authentication in the audit log of
// each organization the user belongs to. Its actions: the identity's GetItem, the
// memberships' Query on GSI1, the chain heads' BatchGetItem and TransactWriteItems of
// event Puts. It never needs the
// user pool, so nothing of it refers to the pool, which refers to it.
func postAuthenticationJob() Job {
	return Job{Function: "cognito-post-authentication", Kind: KindCognitoTrigger, Trigger: TriggerPostAuthentication,
		Summary: "Records each successful sign-in to the user pool in the audit log of every organization of the user",
		Actions: []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchGetItem"},
		PostAuthentication: func(ctx context.Context, st *store.Store, ev events.CognitoEventUserPoolsPostAuthentication) (int, error) {
			return RecordAuthentication(ctx, st, ev)
		}}
}

// RecordAuthentication records the authentication Cognito reports in ev and returns in
// how many organizations. Cognito tells the user's attributes, the app client and
// whether the device is new, but not the source IP or the user agent: the event has
// none (POST /api/sessions records those). An identity not mapped to a user yet (its
// first sign-in, before any API request) belongs to no organization: nothing is
// recorded.
func RecordAuthentication(ctx context.Context, st *store.Store, ev events.CognitoEventUserPoolsPostAuthentication) (int, error) {
	attrs := ev.Request.UserAttributes
	sub := attrs["sub"]
	if sub == "" {
		return 0, fmt.Errorf("post authentication of %s: no sub attribute", ev.UserName)
	}
	userID, err := st.LookupIdentity(ctx, sub)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("post authentication: %w", err)
	}
	email := domain.NormalizeEmail(attrs["email"])
	provider := auth.Claims{"identities": attrs["identities"]}.Provider()
	e := audit.Event{
		Actor:            audit.Actor{UserID: userID, Email: email},
		Category:         audit.SignIn,
		Action:           ActionCognitoAuthentication,
		Targets:          audit.Targets{UserIDs: []string{userID}},
		Summary:          signin.Summary(email, nil, "", provider),
		IdentityProvider: provider,
	}
	if ev.Request.NewDeviceUsed {
		e.Client = &audit.Client{NewDevice: true}
	}
	n, err := st.RecordAuthentication(ctx, userID, e)
	if err != nil {
		return n, fmt.Errorf("post authentication of user %s: %w", userID, err)
	}
	return n, nil
}

// postAuthenticationBudget is how long the trigger may spend recording: Cognito waits
// 5 seconds for a trigger, and fails the sign-in when it gets no answer.
const postAuthenticationBudget = 3 * time.Second

// PostAuthenticationHandler is the Lambda handler of a Post Authentication job: it
// records the authentication and returns the event unchanged, as Cognito requires.
// A failure to record is logged as an error and does not fail the sign-in: refusing
// everyone's sign-in because an audit write failed would be worse than a gap in the
// log that the error log shows (POST /api/sessions still records the session).
func PostAuthenticationHandler(st *store.Store, j Job) func(context.Context, events.CognitoEventUserPoolsPostAuthentication) (events.CognitoEventUserPoolsPostAuthentication, error) {
	return func(ctx context.Context, ev events.CognitoEventUserPoolsPostAuthentication) (events.CognitoEventUserPoolsPostAuthentication, error) {
		ctx = WithFunction(ctx, j.Function)
		rctx, cancel := context.WithTimeout(ctx, postAuthenticationBudget)
		defer cancel()
		start := time.Now()
		n, err := j.PostAuthentication(rctx, st, ev)
		attrs := []any{"function", j.Function, "triggerSource", ev.TriggerSource, "clientId", ev.CallerContext.ClientID,
			"organizations", n, "durationMs", time.Since(start).Milliseconds()}
		if err != nil {
			slog.ErrorContext(ctx, "sign-in not recorded in the audit log", append(attrs, "err", err.Error())...)
			return ev, nil
		}
		slog.InfoContext(ctx, "sign-in recorded", attrs...)
		return ev, nil
	}
}
