package api

import (
	"context"
	"net/http"
)

type functionKey struct{}

// WithFunction returns ctx naming the Lambda function whose code path runs in it: a
// route's Function (Wrap puts it in every request's context) or a job's (the queue
// worker's and the schedules' entry points in shared/lambdaentry). Tests attribute
// the AWS calls made with ctx to that function (infra/awsrecord).
func WithFunction(ctx context.Context, function string) context.Context {
	return context.WithValue(ctx, functionKey{}, function)
}

// FunctionFrom returns the function named in ctx, or "" outside any function.
func FunctionFrom(ctx context.Context) string {
	f, _ := ctx.Value(functionKey{}).(string)
	return f
}

// withFunction names the route's function in the context of each of its requests.
func withFunction(rt Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(WithFunction(r.Context(), rt.Function)))
	})
}
