// Package awsrecord is an AWS SDK middleware that records every call a request makes:
// service, operation and timing, collected per request through its context. The bench
// counts DynamoDB requests and sequential round trips with it.
//
// Tests use it to see which IAM actions each function's code path needs (the
// least-privilege gate): Enable adds it to every configuration awsconfig.Load returns,
// each call made in a context that names a function (api.WithFunction: a route's
// requests, the queue worker's and the schedules' runs) is attributed to that
// function, and each (function, action) pair is kept in this process (Observed) and,
// when SWITCHBOARD_AWS_CALLS_DIR is set, appended to a file there, so that the
// separate processes of `go test ./...` can be checked together afterwards (ReadDir,
// Check; infra/awsrecord/check). Calls made outside any function are the tests' own
// setup and are not kept.
package awsrecord

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// EnvCallsDir names the directory each test process appends its observed (function,
// action) pairs to; infra/stack/test.sh sets it and checks the directory at the end.
const EnvCallsDir = "SWITCHBOARD_AWS_CALLS_DIR"

// Call is one AWS API call.
type Call struct {
	Service   string
	Operation string
	Start     time.Time
	End       time.Time
	// Function is the function whose code path made the call ("" outside any).
	Function string
	// IAM are the IAM actions the call needs (see IAMActions).
	IAM []string
}

// Action is the service's API action of the call, e.g. "dynamodb:GetItem"; IAM lists
// what IAM authorizes it by, which differs for some (a transaction, HeadObject).
func (c Call) Action() string { return iamPrefix(c.Service) + ":" + c.Operation }

func iamPrefix(service string) string {
	switch service {
	case "DynamoDB":
		return "dynamodb"
	case "SESv2":
		return "ses"
	case "Cognito Identity Provider":
		return "cognito-idp"
	case "Scheduler":
		return "scheduler"
	case "SQS":
		return "sqs"
	case "S3":
		return "s3"
	case "EventBridge":
		return "events"
	}
	return strings.ToLower(service)
}

// IAMActions are the IAM actions that authorize one call of operation of service (its
// SDK service id, such as "DynamoDB") with input params. Most operations are their own
// action. The exceptions:
//   - DynamoDB transactions have no action of their own: each item of a
//     TransactWriteItems needs PutItem, UpdateItem, DeleteItem or ConditionCheckItem,
//     and a TransactGetItems needs GetItem.
//   - S3's HeadObject needs GetObject, HeadBucket and ListObjects(V2) need ListBucket,
//     DeleteObjects needs DeleteObject.
//   - SQS's batch operations need the single operation's action.
func IAMActions(service, operation string, params any) []string {
	p := iamPrefix(service)
	one := func(a string) []string { return []string{p + ":" + a} }
	switch service {
	case "DynamoDB":
		switch operation {
		case "TransactWriteItems":
			in, ok := params.(*dynamodb.TransactWriteItemsInput)
			if !ok || in == nil {
				return one(operation)
			}
			var out []string
			for _, it := range in.TransactItems {
				switch {
				case it.Put != nil:
					out = append(out, p+":PutItem")
				case it.Update != nil:
					out = append(out, p+":UpdateItem")
				case it.Delete != nil:
					out = append(out, p+":DeleteItem")
				case it.ConditionCheck != nil:
					out = append(out, p+":ConditionCheckItem")
				}
			}
			return dedupe(out)
		case "TransactGetItems":
			return one("GetItem")
		}
	case "S3":
		switch operation {
		case "HeadObject":
			return one("GetObject")
		case "HeadBucket", "ListObjects", "ListObjectsV2":
			return one("ListBucket")
		case "DeleteObjects":
			return one("DeleteObject")
		}
	case "SQS":
		if base, ok := strings.CutSuffix(operation, "Batch"); ok {
			return one(base)
		}
	}
	return one(operation)
}

// NotIAMActions are SDK operations that are no IAM action: a policy that lists one
// grants nothing (IAM's policy validator calls it an invalid action).
var NotIAMActions = []string{
	"dynamodb:TransactWriteItems", "dynamodb:TransactGetItems",
	"s3:HeadObject", "s3:HeadBucket", "s3:ListObjectsV2", "s3:DeleteObjects",
	"sqs:SendMessageBatch", "sqs:DeleteMessageBatch", "sqs:ChangeMessageVisibilityBatch",
}

func dedupe(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// Log collects the calls of one request.
type Log struct {
	mu    sync.Mutex
	calls []Call
}

// Calls returns the recorded calls in start order.
func (l *Log) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]Call(nil), l.calls...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Depth is the number of sequential round trips: the longest chain of calls each of
// which started after the previous one ended. Calls that overlap count once.
func (l *Log) Depth() int { return depth(l.Calls()) }

// DepthBefore is Depth over the calls that started before t: the round trips a caller
// waited for when the answer came at t, leaving out the work done after it
// (shared/afterresponse).
func (l *Log) DepthBefore(t time.Time) int {
	var before []Call
	for _, c := range l.Calls() {
		if c.Start.Before(t) {
			before = append(before, c)
		}
	}
	return depth(before)
}

func depth(calls []Call) int {
	d := make([]int, len(calls))
	best := 0
	for i, c := range calls {
		d[i] = 1
		for j := 0; j < i; j++ {
			if !c.Start.Before(calls[j].End) && d[j]+1 > d[i] {
				d[i] = d[j] + 1
			}
		}
		best = max(best, d[i])
	}
	return best
}

type logKey struct{}

// With returns a context whose AWS calls are recorded into a new Log.
func With(ctx context.Context) (context.Context, *Log) {
	l := &Log{}
	return context.WithValue(ctx, logKey{}, l), l
}

// Global, when set, records the calls made with a context that carries no Log (work
// a queue worker does outside any request, for example).
var Global *Log

const middlewareID = "switchboard-record"

// Install adds the recorder to an SDK config; calls made with a context from With are
// recorded into its Log, others into Global when it is set, and every call made in a
// function's context is observed for it (Observed). Installing it twice records once.
func Install(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, APIOption)
}

var enableOnce sync.Once

// Enable installs the recorder on every configuration awsconfig.Load returns from now
// on in this process (tests: infra/testenv enables it).
func Enable() {
	enableOnce.Do(func() { awsconfig.AddAPIOptions(APIOption) })
}

// APIOption adds the recorder to one client's middleware stack.
func APIOption(stack *middleware.Stack) error {
	if _, ok := stack.Initialize.Get(middlewareID); ok {
		return nil
	}
	// After the operation's own initialize middleware, which names the service and the
	// operation in the context.
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(middlewareID, record), middleware.After)
}

func record(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	fn := api.FunctionFrom(ctx)
	l, ok := ctx.Value(logKey{}).(*Log)
	if !ok {
		l = Global
	}
	if l == nil && fn == "" {
		return next.HandleInitialize(ctx, in)
	}
	service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	c := Call{Service: service, Operation: op, Function: fn, IAM: IAMActions(service, op, in.Parameters), Start: time.Now()}
	if fn != "" {
		for _, a := range c.IAM {
			observe(fn, a)
		}
	}
	out, md, err := next.HandleInitialize(ctx, in)
	c.End = time.Now()
	if l != nil {
		l.mu.Lock()
		l.calls = append(l.calls, c)
		l.mu.Unlock()
	}
	return out, md, err
}

// Observations are, per function, the IAM actions its calls needed, each with where it
// was seen (the test binaries).
type Observations map[string]map[string][]string

func (o Observations) add(fn, action, where string) {
	if o[fn] == nil {
		o[fn] = map[string][]string{}
	}
	for _, w := range o[fn][action] {
		if w == where {
			return
		}
	}
	o[fn][action] = append(o[fn][action], where)
}

var (
	seenMu  sync.Mutex
	seen    = Observations{}
	outFile *os.File
	outErr  error
	outOnce sync.Once
)

// process names this process in the records: its binary, such as "api.test".
var process = filepath.Base(os.Args[0])

func observe(fn, action string) {
	seenMu.Lock()
	defer seenMu.Unlock()
	if _, ok := seen[fn][action]; ok {
		return
	}
	seen.add(fn, action, process)
	dir := os.Getenv(EnvCallsDir)
	if dir == "" {
		return
	}
	outOnce.Do(func() {
		name := fmt.Sprintf("%s-%d.tsv", strings.TrimSuffix(process, ".test"), os.Getpid())
		outFile, outErr = os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	})
	if outErr == nil {
		_, outErr = fmt.Fprintf(outFile, "%s\t%s\t%s\n", fn, action, process)
	}
	if outErr != nil {
		// The final check would miss this process's calls: fail it loudly instead.
		panic(fmt.Sprintf("awsrecord: recording to %s: %v", dir, outErr))
	}
}

// Observed returns what this process observed so far.
func Observed() Observations {
	seenMu.Lock()
	defer seenMu.Unlock()
	out := Observations{}
	for fn, acts := range seen {
		for a, where := range acts {
			for _, w := range where {
				out.add(fn, a, w)
			}
		}
	}
	return out
}

// ReadDir reads what the processes of a run appended to dir.
func ReadDir(dir string) (Observations, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tsv"))
	if err != nil {
		return nil, err
	}
	out := Observations{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(strings.TrimRight(string(raw), "\n"), "\n") {
			if line == "" {
				continue
			}
			parts := strings.Split(line, "\t")
			if len(parts) != 3 {
				return nil, fmt.Errorf("%s:%d: %q is not function, action and process", f, i+1, line)
			}
			out.add(parts[0], parts[1], parts[2])
		}
	}
	return out, nil
}

// Listed returns, per function of the route table, the actions its policy grants: a
// route's IAMActions (its Actions and, when signed in, AuthActions), a job's Actions.
func Listed() map[string][]string {
	out := map[string][]string{}
	for _, rt := range api.Routes() {
		out[rt.Function] = rt.IAMActions()
	}
	for _, j := range api.Jobs() {
		out[j.Function] = j.Actions
	}
	return out
}

// Violation is an action a function's code path called that its entry does not list.
type Violation struct {
	Function, Action string
	// Where lists the test binaries that saw the call.
	Where []string
}

func (v Violation) String() string {
	where := strings.Join(v.Where, ", ")
	if _, ok := Listed()[v.Function]; !ok {
		return fmt.Sprintf("%s called %s, but no route or job of the table is served by function %s (seen in %s)", v.Function, v.Action, v.Function, where)
	}
	return fmt.Sprintf("%s called %s, which its route table entry does not list: add it to its Actions (seen in %s)", v.Function, v.Action, where)
}

// Check returns each observed (function, action) that the route table does not list,
// sorted.
func Check(o Observations) []Violation {
	listed := Listed()
	var out []Violation
	for fn, acts := range o {
		allowed := map[string]bool{}
		for _, a := range listed[fn] {
			allowed[a] = true
		}
		for a, where := range acts {
			if !allowed[a] {
				w := append([]string(nil), where...)
				sort.Strings(w)
				out = append(out, Violation{Function: fn, Action: a, Where: w})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Action < out[j].Action
	})
	return out
}

// Unused returns, per function, the listed actions that no observed call of it needed,
// sorted. AuthActions are reported once, under "AuthActions", when no signed-in route
// needed them. A listed action can be needed without a call the recorder sees (the
// queue worker's polling, which Lambda does; s3:ListBucket, which makes S3 answer a
// HeadObject of a missing key with 404), or on a path the suite does not take: this is
// a report to read, not a failure.
func Unused(o Observations) map[string][]string {
	isAuth := map[string]bool{}
	for _, a := range api.AuthActions {
		isAuth[a] = true
	}
	authUsed := map[string]bool{}
	out := map[string][]string{}
	for _, rt := range api.Routes() {
		if rt.Permission != permission.Public {
			for a := range o[rt.Function] {
				authUsed[a] = true
			}
		}
		for _, a := range rt.IAMActions() {
			if _, ok := o[rt.Function][a]; !ok && (!isAuth[a] || slices.Contains(rt.Actions, a)) {
				out[rt.Function] = append(out[rt.Function], a)
			}
		}
	}
	for _, a := range api.AuthActions {
		if !authUsed[a] {
			out["AuthActions"] = append(out["AuthActions"], a)
		}
	}
	for _, j := range api.Jobs() {
		for _, a := range j.Actions {
			if _, ok := o[j.Function][a]; !ok {
				out[j.Function] = append(out[j.Function], a)
			}
		}
	}
	for _, acts := range out {
		sort.Strings(acts)
	}
	return out
}
