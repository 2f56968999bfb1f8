// Package coldstart measures the cold start of the Lambda functions as Lambda starts
// them: it builds each function's binary with the deployment's flags (for this
// machine's architecture), serves the Lambda Runtime API on 127.0.0.1, starts the
// binary with the environment Lambda gives a provided.al2023 function, hands it one
// event, and times exec → first response. `make bench` uses it; nothing under
// functions/ or shared/ links it.
package coldstart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// BuildFlags are the deployment's go build flags (docs: "Local stack and tests"); the
// bench builds for this machine's GOOS and GOARCH instead of linux/arm64.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// Build builds the main packages pkgs (patterns relative to dir, such as
// "./functions/...") into the directory out, each binary named after its package's
// directory, with CGO_ENABLED=0 and BuildFlags. The go command leaves a binary that is
// already up to date alone, so building into the same out again relinks only what
// changed, and the compile steps come from the Go build cache.
func Build(ctx context.Context, goCmd, dir, out string, pkgs ...string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	args := append(append([]string{"build"}, BuildFlags...), "-o", out+string(filepath.Separator))
	cmd := exec.CommandContext(ctx, goCmd, append(args, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", goCmd, strings.Join(cmd.Args[1:], " "), err, msg)
	}
	return nil
}

// Function is one binary to cold-start and the event it gets.
type Function struct {
	// Name is AWS_LAMBDA_FUNCTION_NAME.
	Name string
	// Path is the executable (Lambda's bootstrap).
	Path  string
	Event []byte
}

// Invocation is one cold start of a function.
type Invocation struct {
	// Duration runs from exec to the first response (or error) fully received by the
	// Runtime API.
	Duration time.Duration
	// Init runs from exec to the process's first request for an invocation: what
	// Lambda reports as the init duration.
	Init time.Duration
	// Done runs from exec to the end of the invocation: the runtime asking for the
	// next one once it has answered and finished the work it left for after its
	// response (shared/afterresponse). Lambda freezes or reuses the environment only
	// then.
	Done time.Duration
	// Kind is KindResponse, KindError or KindInitError.
	Kind string
	Body []byte
	// Warm, with Options.Warm, runs from handing the same event out again, once the
	// first invocation ended, to that answer: the request on a warm process. WarmKind
	// and WarmBody are that answer's.
	Warm     time.Duration
	WarmKind string
	WarmBody []byte
	// Output is the tail of what the process wrote to stdout and stderr.
	Output string
}

// Deadline is the invocation's deadline, the template's function timeout.
const Deadline = 29 * time.Second

// LambdaEnv is the environment the Lambda service gives a provided.al2023 function
// process (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html),
// with the Runtime API at api and static credentials that the local engines accept.
// The function's own variables go after it.
func LambdaEnv(name, taskRoot, api string) []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"_HANDLER=bootstrap",
		"AWS_LAMBDA_RUNTIME_API=" + api,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]coldstart",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		// DynamoDB Local needs an alphanumeric access key id.
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_SESSION_TOKEN=local",
	}
}

// Invoke starts fn's binary as a new Lambda sandbox would, with LambdaEnv and then env,
// hands it fn.Event through the Runtime API, and stops the process once it has
// answered (or after timeout). A process that exits or times out before answering is
// an error, with its output.
func Invoke(ctx context.Context, fn Function, env []string, timeout time.Duration) (Invocation, error) {
	return invoke(ctx, fn, env, timeout, false, nil)
}

// invoke is Invoke; with warm, the process gets the same event once more after its
// first invocation, and Invocation.Warm times it. prepare, when set, gives each of the
// two invocations its own copy of the event.
func invoke(ctx context.Context, fn Function, env []string, timeout time.Duration, warm bool, prepare func(string, []byte) []byte) (Invocation, error) {
	event := fn.Event
	if prepare != nil {
		event = prepare(fn.Name, fn.Event)
	}
	api, err := newRuntimeAPI(fn.Name, event, Deadline)
	if err != nil {
		return Invocation{}, err
	}
	api.warm = warm
	if warm && prepare != nil {
		api.warmEvent = prepare(fn.Name, fn.Event)
	}
	defer api.Close()
	out := &tail{max: 8 << 10}
	cmd := exec.Command(fn.Path)
	cmd.Dir = filepath.Dir(fn.Path)
	cmd.Env = append(LambdaEnv(fn.Name, cmd.Dir, api.Addr()), env...)
	cmd.Stdout, cmd.Stderr = out, out
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Invocation{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	answered := func(o outcome) Invocation {
		inv := Invocation{Duration: o.at.Sub(start), Kind: o.kind, Body: o.body, Output: out.String()}
		if asked := api.initDone(); !asked.IsZero() {
			inv.Init = asked.Sub(start)
		}
		return inv
	}
	select {
	case o := <-api.done:
		inv := answered(o)
		// Let the process finish the invocation, as Lambda does before freezing it.
		select {
		case <-api.releasedCh:
			inv.Done = api.releasedAt().Sub(start)
		case <-timer.C:
			stop()
			return inv, fmt.Errorf("%s answered but did not end its invocation within %s: %s", fn.Name, timeout, lastLines(out.String(), 5))
		case err := <-exited:
			return inv, fmt.Errorf("%s exited before ending its invocation (%v): %s", fn.Name, err, lastLines(out.String(), 5))
		}
		if warm {
			select {
			case o := <-api.warmDone:
				api.mu.Lock()
				inv.Warm = o.at.Sub(api.warmAt)
				api.mu.Unlock()
				inv.WarmKind, inv.WarmBody = o.kind, o.body
			case <-timer.C:
				stop()
				return inv, fmt.Errorf("%s gave no second answer within %s: %s", fn.Name, timeout, lastLines(out.String(), 5))
			case err := <-exited:
				return inv, fmt.Errorf("%s exited before its second answer (%v): %s", fn.Name, err, lastLines(out.String(), 5))
			}
		}
		stop()
		inv.Output = out.String()
		return inv, nil
	case err := <-exited:
		select {
		case o := <-api.done:
			return answered(o), nil
		default:
		}
		return Invocation{Output: out.String()}, fmt.Errorf("%s exited before answering (%v): %s", fn.Name, err, lastLines(out.String(), 5))
	case <-timer.C:
		stop()
		return Invocation{Output: out.String()}, fmt.Errorf("%s gave no answer within %s: %s", fn.Name, timeout, lastLines(out.String(), 5))
	case <-ctx.Done():
		stop()
		return Invocation{}, ctx.Err()
	}
}

// Result is a function's cold starts.
type Result struct {
	Function string
	// Size is the binary's size in bytes.
	Size    int64
	Samples []time.Duration
	// Inits are the init durations of the same runs, Dones their durations to the
	// end of the invocation, and Warms (with Options.Warm) their second requests'.
	Inits, Dones, Warms []time.Duration
	// Last is the last measured invocation.
	Last Invocation
	Err  error
}

// Median is the median of the samples (0 without any).
func (r Result) Median() time.Duration { return Median(r.Samples) }

// Median of ds, the mean of the middle two for an even count.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Options of Measure.
type Options struct {
	// Env is the functions' own environment (TABLE_NAME, endpoints, ...).
	Env []string
	// Runs is the number of measured cold starts of each function; Warmup runs come
	// first and are not counted (they fill the page cache and let the table reach the
	// state the sample events leave it in).
	Runs, Warmup int
	// Timeout bounds one invocation.
	Timeout time.Duration
	// Baseline, when set, starts fns[0] again before each of the other functions, so
	// that its samples spread over the whole measurement and share the machine's load
	// with every function's (a busy machine slows all of them by turns).
	Baseline bool
	// Warm, when set, hands each process the same event a second time once its first
	// invocation ended, and times that answer (Result.Warms): what the request costs
	// a warm process, to tell it from what the cold start added.
	Warm bool
	// Prepare, when set, makes the event of each invocation (cold or warm) from the
	// function's: what a request carries anew each time, as an Idempotency-Key does.
	Prepare func(function string, event []byte) []byte
	// Progress, when set, is told about each finished round.
	Progress func(round, rounds int)
}

// Measure cold-starts every function Warmup+Runs times, in rounds: each round starts
// each function once (and the baseline fns[0] before each, with Baseline), one process
// at a time, so that a drift of the machine or of the table's engine over the run is
// shared by all of them. A function whose invocation fails is reported with its error
// and left out of later rounds.
func Measure(ctx context.Context, fns []Function, o Options) []Result {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	res := make([]Result, len(fns))
	for i, fn := range fns {
		res[i].Function = fn.Name
		if st, err := os.Stat(fn.Path); err != nil {
			res[i].Err = err
		} else {
			res[i].Size = st.Size()
		}
	}
	rounds := o.Warmup + o.Runs
	run := func(i int, counted bool) {
		if res[i].Err != nil || ctx.Err() != nil {
			return
		}
		inv, err := invoke(ctx, fns[i], o.Env, o.Timeout, o.Warm, o.Prepare)
		if err != nil {
			res[i].Err = err
			return
		}
		res[i].Last = inv
		if counted {
			res[i].Samples = append(res[i].Samples, inv.Duration)
			res[i].Inits = append(res[i].Inits, inv.Init)
			res[i].Dones = append(res[i].Dones, inv.Done)
			if o.Warm {
				res[i].Warms = append(res[i].Warms, inv.Warm)
			}
		}
	}
	for round := 0; round < rounds; round++ {
		for i := range fns {
			if o.Baseline && i > 0 {
				run(0, round >= o.Warmup)
			}
			run(i, round >= o.Warmup)
		}
		if o.Progress != nil {
			o.Progress(round+1, rounds)
		}
	}
	return res
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
