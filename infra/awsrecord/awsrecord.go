// Package awsrecord is an AWS SDK middleware that records every call a request makes:
// service, operation and timing, collected per request through its context. The bench
// counts DynamoDB requests and sequential round trips with it; tests use it to see
// which AWS actions each function's code path calls.
package awsrecord

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Call is one AWS API call.
type Call struct {
	Service   string
	Operation string
	Start     time.Time
	End       time.Time
}

// Action is the IAM action of the call, e.g. "dynamodb:GetItem".
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
	}
	return service
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
func (l *Log) Depth() int {
	calls := l.Calls()
	depth := make([]int, len(calls))
	best := 0
	for i, c := range calls {
		depth[i] = 1
		for j := 0; j < i; j++ {
			if !c.Start.Before(calls[j].End) && depth[j]+1 > depth[i] {
				depth[i] = depth[j] + 1
			}
		}
		best = max(best, depth[i])
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

// Install adds the recorder to an SDK config; calls made with a context from With are
// recorded into its Log, others into Global when it is set.
func Install(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("switchboard-record",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				l, ok := ctx.Value(logKey{}).(*Log)
				if !ok {
					l = Global
				}
				if l == nil {
					return next.HandleInitialize(ctx, in)
				}
				c := Call{Service: awsmiddleware.GetServiceID(ctx), Operation: awsmiddleware.GetOperationName(ctx), Start: time.Now()}
				out, md, err := next.HandleInitialize(ctx, in)
				c.End = time.Now()
				l.mu.Lock()
				l.calls = append(l.calls, c)
				l.mu.Unlock()
				return out, md, err
			}), middleware.Before)
	})
}
