// Package api holds the HTTP API: the route table, the middleware every route runs
// through, and the handlers. The same handlers serve in Lambda, in the local server
// and in tests.
package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Route is one entry of the route table.
type Route struct {
	Method string
	// Path uses API Gateway's and net/http's {param} syntax.
	Path       string
	Permission permission.Permission
	// Function is the Lambda that serves the route: functions/<Function>/.
	Function string
	// OrgParam names the path parameter that picks the organization, when the route
	// acts on an organization named in its path rather than the active one.
	OrgParam string
	Summary  string
	// Actions are the AWS actions the route's code path uses, beyond those every
	// authenticated request uses (see AuthActions).
	Actions []string
	Handler func(*Deps) http.Handler
	// MaxBody, when set, raises the 1 MiB body limit for a route that takes a file.
	MaxBody int64
	// FreshSignIn makes the caller re-confirm who they are: a sign-in (auth_time) within
	// auth.FreshSignInWindow, else 401 reauthentication-required, checked once the
	// organization is resolved and before the permission.
	FreshSignIn bool
	// Read, set instead of Handler on an organization-scoped read, fetches the data
	// of organization orgID. When the request names the organization up front, the
	// fetch runs concurrently with resolving the caller's access, so the read costs one
	// round trip; its result is used only once the caller is authorized.
	Read Fetch
	// Category, on a route that changes something (any method but GET), is the audit
	// category of every event it writes (its jobs' included). Actions taken while
	// supporting a sub-organization keep their category and carry onBehalfOf; the
	// support filter selects them.
	Category audit.Category
	// Unaudited, on a route that changes something yet writes no audit event, says
	// why; exactly one of Category and Unaudited is set on such a route.
	Unaudited string
	// AlwaysOpen, when set, says why the route stays open once the organization's API
	// calls of the month are used up (billing and invitations: it can always upgrade).
	AlwaysOpen string
	// SizeReason, when set, is why the function's binary may exceed the size target of
	// `make bench` (1.5× a minimal Lambda on the table): the large library it must link.
	SizeReason string
}

// Fetch reads the data of an organization-scoped read and returns the response body.
type Fetch func(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error)

// Pattern is the net/http ServeMux pattern of the route.
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// OrgScoped reports whether the route acts inside an organization as one of its
// members (or supporters).
func (r Route) OrgScoped() bool {
	return r.Permission != permission.Public && r.Permission != permission.Authenticated && !r.Portal()
}

// Portal reports whether the route is the client portal's: it acts as the caller's
// company user, with a portal permission of their company role.
func (r Route) Portal() bool { return permission.IsPortal(r.Permission) }

// IAMActions is every AWS action the route's function may call.
func (r Route) IAMActions() []string {
	if r.Permission == permission.Public {
		return r.Actions
	}
	return dedupe(append(append([]string{}, AuthActions...), r.Actions...))
}

// PathParams lists the route's path parameters in order.
func (r Route) PathParams() []string {
	var out []string
	for _, seg := range strings.Split(r.Path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.Trim(seg, "{}"))
		}
	}
	return out
}

// AuthActions are used by every signed-in request: identity lookup and first sign-in
// (which accepts the invitations pending for the caller's email, deleting their token
// lookups), organization resolution, session activity, and replay of idempotent POSTs.
// Actions are IAM's: a transaction has none of its own, IAM authorizes each of its
// items as PutItem, UpdateItem, DeleteItem or ConditionCheckItem (TransactGetItems as
// GetItem). The tests record every call and fail on one its route does not list.
var AuthActions = []string{
	"dynamodb:GetItem",
	"dynamodb:BatchGetItem",
	"dynamodb:Query",
	"dynamodb:PutItem",
	"dynamodb:UpdateItem",
	"dynamodb:DeleteItem",
}

// Job is a function that no route of the API starts: a schedule, a Cognito trigger, a
// queue worker or the web console.
type Job struct {
	Function string
	// Kind is "schedule", "cognito-trigger", "queue-worker", "bus-rule" or "console".
	Kind    string
	Summary string
	// Actions are the AWS actions the job's code path uses.
	Actions []string
	// Schedule, for a schedule, is its EventBridge Scheduler expression, such as
	// "rate(15 minutes)" or "cron(0 3 * * ? *)" (UTC).
	Schedule string
	// Run, for a schedule, does one run's work at now, in the store's system scope. Its
	// result is logged (as JSON); a run that stops early leaves the rest to the next.
	Run func(ctx context.Context, st *store.Store, now time.Time) (any, error)
	// Paths, for the console, are the GET paths API Gateway routes to it, without the
	// authorizer: the pages are public, the API calls they make carry the token.
	Paths []string
	// RunWith, for a schedule that uses services beyond the table (set instead of
	// Run), does one run's work with the deps its Actions wire (lambdaentry.Uses).
	RunWith func(ctx context.Context, d *Deps, now time.Time) (any, error)
	// DetailTypes, for a bus rule, are the detail types of the billing system's events
	// (source billingbus.BillingSource) its rule on the billing bus matches; BusEvent
	// handles one, with the deps its Actions wire.
	DetailTypes []string
	BusEvent    func(ctx context.Context, d *Deps, ev events.CloudWatchEvent) (BillingEventResult, error)
	// Trigger, for a Cognito trigger, is the user pool's LambdaConfig property that
	// invokes it: TriggerPostAuthentication or TriggerPreTokenGeneration.
	Trigger string
	// PostAuthentication, for the Post Authentication trigger, records one
	// authentication and returns in how many organizations (PostAuthenticationHandler
	// wraps it).
	PostAuthentication func(ctx context.Context, st *store.Store, ev events.CognitoEventUserPoolsPostAuthentication) (int, error)
	// PreTokenGeneration, for the Pre Token Generation trigger, returns the claims to add
	// to the ID token Cognito is about to issue (PreTokenGenerationHandler wraps it).
	PreTokenGeneration func(ctx context.Context, st *store.Store, ev events.CognitoEventUserPoolsPreTokenGen) (map[string]string, error)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
