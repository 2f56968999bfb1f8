package coldstart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchboard-msp/switchboard/shared/afterresponse"
)

// envRole makes the test binary act as a Lambda function: TestMain starts the handler
// it names instead of running the tests.
const envRole = "COLDSTART_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(envRole) {
	case "":
		os.Exit(m.Run())
	case "echo":
		lambda.Start(func(ctx context.Context, in json.RawMessage) (map[string]any, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			deadline, _ := ctx.Deadline()
			return map[string]any{"statusCode": 200, "body": string(in), "arn": lc.InvokedFunctionArn,
				"function": lambdacontext.FunctionName, "deadlineInFuture": deadline.After(time.Now())}, nil
		})
	case "fail":
		lambda.Start(func(context.Context, json.RawMessage) (any, error) { return nil, errors.New("no luck") })
	case "after":
		// A function that leaves work for after its response, as the API's functions do.
		lambda.Start(afterresponse.Handler(func(ctx context.Context, in json.RawMessage) (map[string]any, error) {
			afterresponse.From(ctx).Go(ctx, func(context.Context) {
				time.Sleep(200 * time.Millisecond)
				fmt.Fprintln(os.Stderr, "task done")
			})
			return map[string]any{"statusCode": 200}, nil
		}))
	case "exit":
		fmt.Fprintln(os.Stderr, "bad configuration")
		os.Exit(3)
	case "hang":
		time.Sleep(time.Minute)
	}
}

func self(t *testing.T, name string) Function {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Function{Name: name, Path: exe, Event: []byte(`{"hello":"world"}`)}
}

func TestInvokeResponse(t *testing.T) {
	inv, err := Invoke(context.Background(), self(t, "echo-fn"), []string{envRole + "=echo"}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Kind != KindResponse {
		t.Fatalf("kind %s: %s", inv.Kind, inv.Body)
	}
	var out struct {
		StatusCode       int    `json:"statusCode"`
		Body             string `json:"body"`
		ARN              string `json:"arn"`
		Function         string `json:"function"`
		DeadlineInFuture bool   `json:"deadlineInFuture"`
	}
	if err := json.Unmarshal(inv.Body, &out); err != nil {
		t.Fatalf("%s: %v", inv.Body, err)
	}
	if out.StatusCode != 200 || out.Body != `{"hello":"world"}` || !strings.HasSuffix(out.ARN, ":function:echo-fn") ||
		out.Function != "echo-fn" || !out.DeadlineInFuture {
		t.Fatalf("answer %+v", out)
	}
	if inv.Init <= 0 || inv.Init > inv.Duration {
		t.Fatalf("init %s, duration %s", inv.Init, inv.Duration)
	}
}

// TestInvokeAfterResponse: as in Lambda, the response ends the measurement, and the
// invocation ends (and the process is stopped) only once the runtime asks for the next
// one, after the work left for then: aws-lambda-go closes the response between.
func TestInvokeAfterResponse(t *testing.T) {
	inv, err := Invoke(context.Background(), self(t, "after-fn"), []string{envRole + "=after"}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Kind != KindResponse || string(inv.Body) != `{"statusCode":200}` || !strings.Contains(inv.Output, "task done") {
		t.Fatalf("kind %s %s, output %q", inv.Kind, inv.Body, inv.Output)
	}
	// The task sleeps 200 ms after the response: the invocation cannot end sooner.
	if inv.Done-inv.Duration < 200*time.Millisecond {
		t.Fatalf("response at %s, invocation ended at %s", inv.Duration, inv.Done)
	}
	// A function that leaves nothing ends its invocation right after the response.
	plain, err := Invoke(context.Background(), self(t, "echo-fn"), []string{envRole + "=echo"}, 30*time.Second)
	if err != nil || plain.Done < plain.Duration {
		t.Fatalf("plain: %v, response at %s, ended at %s", err, plain.Duration, plain.Done)
	}
}

// TestInvokeWarm: with warm, the process gets the same event again once its first
// invocation ended (after the work it left), and the second answer is timed apart.
func TestInvokeWarm(t *testing.T) {
	for _, role := range []string{"echo", "after"} {
		inv, err := invoke(context.Background(), self(t, role+"-fn"), []string{envRole + "=" + role}, 30*time.Second, true, nil)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if inv.WarmKind != KindResponse || !bytes.Equal(inv.WarmBody, inv.Body) && role == "after" || inv.Warm <= 0 {
			t.Fatalf("%s: warm answer %s %s in %s (first %s)", role, inv.WarmKind, inv.WarmBody, inv.Warm, inv.Body)
		}
		// The second event is handed out only once the first invocation ended.
		if inv.Done <= 0 || inv.Done < inv.Duration {
			t.Fatalf("%s: first answered at %s, ended at %s", role, inv.Duration, inv.Done)
		}
	}
	// Without warm, no second event.
	inv, err := Invoke(context.Background(), self(t, "echo-fn"), []string{envRole + "=echo"}, 30*time.Second)
	if err != nil || inv.WarmKind != "" || inv.Warm != 0 {
		t.Fatalf("warm without asking: %v %s %s", err, inv.WarmKind, inv.Warm)
	}
}

// TestInvokePrepare: with a prepare, the cold and the warm invocation each get their
// own copy of the event.
func TestInvokePrepare(t *testing.T) {
	n := 0
	prepare := func(fn string, ev []byte) []byte {
		n++
		return []byte(fmt.Sprintf(`{"fn":%q,"n":%d,"was":%s}`, fn, n, ev))
	}
	fn := self(t, "echo-fn")
	fn.Event = []byte(`{"k":1}`)
	inv, err := invoke(context.Background(), fn, []string{envRole + "=echo"}, 30*time.Second, true, prepare)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body []byte
		want string
	}{{inv.Body, `{\"fn\":\"echo-fn\",\"n\":1,\"was\":{\"k\":1}}`}, {inv.WarmBody, `{\"fn\":\"echo-fn\",\"n\":2,\"was\":{\"k\":1}}`}} {
		if !strings.Contains(string(c.body), c.want) {
			t.Errorf("answer %s, want the event %s", c.body, c.want)
		}
	}
}

func TestInvokeFailures(t *testing.T) {
	inv, err := Invoke(context.Background(), self(t, "fail-fn"), []string{envRole + "=fail"}, 30*time.Second)
	if err != nil || inv.Kind != KindError || !strings.Contains(string(inv.Body), "no luck") {
		t.Fatalf("function error: %v %s %s", err, inv.Kind, inv.Body)
	}
	if _, err := Invoke(context.Background(), self(t, "exit-fn"), []string{envRole + "=exit"}, 30*time.Second); err == nil ||
		!strings.Contains(err.Error(), "exited before answering") || !strings.Contains(err.Error(), "bad configuration") {
		t.Fatalf("exit: %v", err)
	}
	start := time.Now()
	if _, err := Invoke(context.Background(), self(t, "hang-fn"), []string{envRole + "=hang"}, 300*time.Millisecond); err == nil ||
		!strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("hang: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the hung process was not stopped")
	}
}

func TestMeasureBaseline(t *testing.T) {
	base, other := self(t, "base"), self(t, "other")
	res := Measure(context.Background(), []Function{base, other, other}, Options{Env: []string{envRole + "=echo"}, Runs: 2, Warmup: 1, Baseline: true})
	for _, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	// The baseline runs once per round on its own and once before each other function.
	if len(res[0].Samples) != 6 || len(res[1].Samples) != 2 || len(res[0].Inits) != 6 || res[1].Size == 0 {
		t.Fatalf("samples %d %d, inits %d, size %d", len(res[0].Samples), len(res[1].Samples), len(res[0].Inits), res[1].Size)
	}
	if res[1].Median() <= 0 {
		t.Fatal("no median")
	}
}

func TestRuntimeAPIRejectsOtherRequestIDs(t *testing.T) {
	api, err := newRuntimeAPI("fn", []byte(`{}`), Deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	res, err := http.Get("http://" + api.Addr() + pathNext)
	if err != nil || res.StatusCode != http.StatusOK || res.Header.Get("Lambda-Runtime-Aws-Request-Id") != api.requestID ||
		res.Header.Get("Lambda-Runtime-Deadline-Ms") == "" || res.Header.Get("Lambda-Runtime-Trace-Id") == "" {
		t.Fatalf("next: %v %+v", err, res)
	}
	res.Body.Close()
	res, err = http.Post("http://"+api.Addr()+"/2018-06-01/runtime/invocation/other/response", "application/json", strings.NewReader(`{}`))
	if err != nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("other id: %v %+v", err, res)
	}
	res.Body.Close()
	res, err = http.Post("http://"+api.Addr()+pathInitError, "application/json", strings.NewReader(`{"errorMessage":"x"}`))
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("init error: %v %+v", err, res)
	}
	res.Body.Close()
	if o := <-api.done; o.kind != KindInitError {
		t.Fatalf("outcome %+v", o)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{{nil, 0}, {[]time.Duration{3}, 3}, {[]time.Duration{5, 1, 3}, 3}, {[]time.Duration{4, 1, 2, 3}, 2}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
