package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// TestJobLifecycle runs one job per outcome a runner can have and checks what the
// worker records and whether the message is to be delivered again.
func TestJobLifecycle(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var sawOrigin atomic.Value
		kinds := map[string]jobs.Runner{
			"succeeds": func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
				sawOrigin.Store(audit.OriginFrom(ctx))
				var p struct{ Greeting string }
				if err := env.Params(&p); err != nil {
					return err
				}
				return env.Checkpoint(ctx, jobs.Checkpoint{Done: 2, Total: 2, Cursor: "next-page",
					Errors: []jobs.Error{{Line: 3, Field: "name", Message: "is required"}},
					Result: map[string]string{"greeting": p.Greeting}})
			},
			"fails": func(context.Context, *jobs.Env, *jobs.Job) error {
				return jobs.Failf("the file has no %s column", "name")
			},
			"breaks": func(context.Context, *jobs.Env, *jobs.Job) error { return errors.New("dynamodb: secret detail") },
			"panics": func(context.Context, *jobs.Env, *jobs.Job) error { panic("boom") },
			"bad-result": func(ctx context.Context, env *jobs.Env, _ *jobs.Job) error {
				return env.Checkpoint(ctx, jobs.Checkpoint{Result: []int{1}})
			},
			"goes-backwards": func(ctx context.Context, env *jobs.Env, _ *jobs.Job) error {
				return env.Checkpoint(ctx, jobs.Checkpoint{Done: -1})
			},
		}
		w, q := worker(st, kinds)
		svc := &jobs.Service{Store: st, Queue: q, Runners: w.Runners}
		for _, tc := range []struct {
			kind     string
			params   any
			status   jobs.Status
			failure  string
			redrive  bool
			finished bool
		}{
			{kind: "succeeds", params: map[string]string{"greeting": "hello"}, status: jobs.Succeeded, finished: true},
			{kind: "fails", status: jobs.Failed, failure: "the file has no name column", finished: true},
			{kind: "breaks", status: jobs.Failed, failure: "internal error", finished: true},
			{kind: "panics", status: jobs.Failed, failure: "internal error", finished: true},
			{kind: "bad-result", status: jobs.Failed, failure: "internal error", finished: true},
			{kind: "goes-backwards", status: jobs.Failed, failure: "internal error", finished: true},
		} {
			t.Run(tc.kind, func(t *testing.T) {
				j, err := svc.Start(startCtx(), jobs.StartInput{Kind: tc.kind, OrganizationID: "acme", Params: tc.params, Category: audit.Customer})
				if err != nil {
					t.Fatal(err)
				}
				if err := w.Handle(ctx, "acme", j.ID); err != nil {
					t.Fatalf("Handle = %v, want the message done with", err)
				}
				got := getJob(t, st, j)
				if got.Status != tc.status || got.Failure != tc.failure || got.Attempts != 1 || got.StartedAt == nil ||
					(got.FinishedAt != nil) != tc.finished || got.LeaseUntil != nil {
					t.Errorf("job = %+v", got)
				}
				if strings.Contains(got.Failure, "secret") {
					t.Errorf("an internal error's text reached the job: %q", got.Failure)
				}
				// Delivered again: the finished job is not run again.
				if err := w.Handle(ctx, "acme", j.ID); err != nil || getJob(t, st, j).Version != got.Version {
					t.Errorf("a second delivery changed the finished job: %v", err)
				}
				evs, _, err := st.ListAudit(ctx, "acme", store.Page{Limit: 5})
				if err != nil {
					t.Fatal(err)
				}
				if evs[0].Action != "job."+string(tc.status) || evs[0].Actor != creator.Actor || evs[0].Category != audit.Customer {
					t.Errorf("last audit event %+v", evs[0])
				}
			})
		}
		t.Run("succeeds: checkpoint contents and origin", func(t *testing.T) {
			j, _ := svc.Start(startCtx(), jobs.StartInput{Kind: "succeeds", OrganizationID: "acme", Params: map[string]string{"greeting": "hi"}, Category: audit.Customer})
			if err := w.Handle(ctx, "acme", j.ID); err != nil {
				t.Fatal(err)
			}
			got := getJob(t, st, j)
			if got.Progress != (jobs.Progress{Done: 2, Total: 2}) || got.Cursor != "next-page" || string(got.Result) != `{"greeting":"hi"}` ||
				got.ErrorCount != 1 || got.Errors[0].Field != "name" || got.Version != 4 {
				t.Errorf("job = %+v", got)
			}
			if o, _ := sawOrigin.Load().(audit.Origin); o.Actor != creator.Actor || o.SourceIP != creator.SourceIP {
				t.Errorf("the runner's ctx carries origin %+v, want the starter's", o)
			}
		})
		t.Run("unknown kind", func(t *testing.T) {
			j := newJob(t, st, "acme", "no-such-kind", nil)
			if err := w.Handle(ctx, "acme", j.ID); err != nil {
				t.Fatal(err)
			}
			if got := getJob(t, st, j); got.Status != jobs.Failed || !strings.Contains(got.Failure, `no runner handles jobs of kind "no-such-kind"`) {
				t.Errorf("job = %+v", got)
			}
		})
		t.Run("messages naming nothing", func(t *testing.T) {
			if err := w.Handle(ctx, "acme", "no-such-job"); err != nil {
				t.Errorf("a job that does not exist: %v, want the message done with", err)
			}
			for _, ids := range [][2]string{{"", "x"}, {"acme", ""}, {"acme#x", "y"}} {
				if err := w.Handle(ctx, ids[0], ids[1]); !errors.Is(err, jobs.ErrBadMessage) {
					t.Errorf("Handle(%q, %q) = %v, want ErrBadMessage", ids[0], ids[1], err)
				}
			}
		})
	})
}

// TestResumeFromCheckpoint: a run that stops between a row's write and the batch's
// checkpoint is delivered again and resumes from the checkpoint; the rows of the
// unfinished batch are attempted again but each is written once, and the result
// counts each once.
func TestResumeFromCheckpoint(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const n, batch = 10, 3
		r := newRows(st)
		var crashed atomic.Bool
		var starts []int64
		var mu sync.Mutex
		w, _ := worker(st, map[string]jobs.Runner{"import": func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
			mu.Lock()
			starts = append(starts, j.Progress.Done)
			mu.Unlock()
			return batchRunner(r, n, batch, func(_ context.Context, j *jobs.Job, i int64) error {
				// Row 7 is the second of the batch 6..8: row 6 is written, then the run
				// breaks before the batch's checkpoint.
				if i == 7 && crashed.CompareAndSwap(false, true) {
					return jobs.Retry(errors.New("throttled"))
				}
				return nil
			})(ctx, env, j)
		}})
		j := newJob(t, st, "acme", "import", nil)
		if err := w.Handle(ctx, "acme", j.ID); err == nil {
			t.Fatal("the interrupted run's message was done with; it must be delivered again")
		}
		mid := getJob(t, st, j)
		if mid.Status != jobs.Running || mid.Progress.Done != 6 || mid.LeaseUntil != nil || mid.Attempts != 1 {
			t.Fatalf("after the interruption: %+v", mid)
		}
		if err := w.Handle(ctx, "acme", j.ID); err != nil {
			t.Fatal(err)
		}
		got := getJob(t, st, j)
		var c counts
		_ = jsonUnmarshal(got.Result, &c)
		if got.Status != jobs.Succeeded || got.Progress.Done != n || c.Written != n || got.Attempts != 2 {
			t.Errorf("job = %+v, result %s", got, got.Result)
		}
		attempts, applied := r.counts()
		for i := int64(0); i < n; i++ {
			wantAttempts := 1
			if i == 6 {
				wantAttempts = 2 // written, then attempted again after the resume
			}
			if applied[i] != 1 || attempts[i] != wantAttempts {
				t.Errorf("row %d: written %d times in %d attempts; want once in %d", i, applied[i], attempts[i], wantAttempts)
			}
		}
		if len(starts) != 2 || starts[0] != 0 || starts[1] != 6 {
			t.Errorf("runs started at %v, want [0 6]", starts)
		}
	})
}

// TestRacingWorkers: two workers get the same job's message at once (SQS delivers at
// least once): one runs it, the other leaves it to the lease holder. Progress is
// applied once: each checkpoint is one version.
func TestRacingWorkers(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const n, batch = 12, 2
		r := newRows(st)
		var runs atomic.Int64
		run := batchRunner(r, n, batch, func(context.Context, *jobs.Job, int64) error {
			time.Sleep(2 * time.Millisecond)
			return nil
		})
		counted := func(ctx context.Context, env *jobs.Env, j *jobs.Job) error { runs.Add(1); return run(ctx, env, j) }
		a, _ := worker(st, map[string]jobs.Runner{"import": counted})
		b, _ := worker(st, map[string]jobs.Runner{"import": counted})
		for round := range 5 {
			j := newJob(t, st, "acme", "import", nil)
			runs.Store(0)
			var wg sync.WaitGroup
			for _, w := range []*jobs.Worker{a, b, a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := w.Handle(ctx, "acme", j.ID); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got := getJob(t, st, j)
			// 1 created + 1 claim + n/batch checkpoints + 1 finish.
			if got.Status != jobs.Succeeded || got.Progress.Done != n || got.Version != 3+n/batch || runs.Load() != 1 {
				t.Errorf("round %d: job %+v after %d runs; want one run and version %d", round, got, runs.Load(), 3+n/batch)
			}
		}
		_, applied := r.counts()
		for i := int64(0); i < n; i++ {
			if applied[i] != 5 { // once per round's job
				t.Errorf("row %d written %d times over 5 jobs", i, applied[i])
			}
		}
	})
}

// TestStalledWorkerLosesTheJob: a worker that stalls past its lease loses the job to
// the next delivery; when it wakes up, its next checkpoint is refused (ErrLost) and it
// stops. The second worker resumed from the first's checkpoint; no row is written
// twice and no progress is applied twice.
func TestStalledWorkerLosesTheJob(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const n, batch = 9, 3
		r := newRows(st)
		stalled, resume := make(chan struct{}), make(chan struct{})
		var stallOnce sync.Once
		var lostErr atomic.Value
		slowRun := batchRunner(r, n, batch, func(_ context.Context, j *jobs.Job, i int64) error {
			if i == 3 { // after the first batch's checkpoint
				stallOnce.Do(func() { close(stalled); <-resume })
			}
			return nil
		})
		a, _ := worker(st, map[string]jobs.Runner{"import": func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
			err := slowRun(ctx, env, j)
			lostErr.Store(errOrNil{err})
			return err
		}})
		later := st.WithClock(func() time.Time { return time.Now().Add(time.Hour) }) // past a's lease
		var bStart int64 = -1
		b, _ := worker(later, map[string]jobs.Runner{"import": func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
			bStart = j.Progress.Done
			return batchRunner(r, n, batch, nil)(ctx, env, j)
		}})

		j := newJob(t, st, "acme", "import", nil)
		aDone := make(chan error, 1)
		go func() { aDone <- a.Handle(ctx, "acme", j.ID) }()
		<-stalled
		// a holds a live lease: a duplicate delivery now is left to it.
		if err := (&jobs.Worker{Store: st, Runners: a.Runners}).Handle(ctx, "acme", j.ID); err != nil {
			t.Fatal(err)
		}
		if got := getJob(t, st, j); got.Attempts != 1 {
			t.Fatalf("a delivery during a live lease claimed the job: %+v", got)
		}
		// An hour later, a's lease has run out: b claims the job and finishes it.
		if err := b.Handle(ctx, "acme", j.ID); err != nil {
			t.Fatal(err)
		}
		close(resume)
		if err := <-aDone; err != nil {
			t.Errorf("the stalled worker's message: %v, want done with", err)
		}
		if e, _ := lostErr.Load().(errOrNil); !errors.Is(e.err, jobs.ErrLost) {
			t.Errorf("the stalled worker's run ended with %v, want ErrLost", e.err)
		}
		got := getJob(t, st, j)
		var c counts
		_ = jsonUnmarshal(got.Result, &c)
		// 1 created, a: claim + 1 checkpoint, b: claim + 2 checkpoints + finish.
		if got.Status != jobs.Succeeded || got.Progress.Done != n || c.Written != n || got.Attempts != 2 || got.Version != 7 || bStart != 3 {
			t.Errorf("job %+v (result %s), b started at %d", got, got.Result, bStart)
		}
		attempts, applied := r.counts()
		for i := int64(0); i < n; i++ {
			if applied[i] != 1 {
				t.Errorf("row %d written %d times", i, applied[i])
			}
		}
		if attempts[3] != 2 {
			t.Errorf("row 3 attempted %d times; the stalled worker's attempt should have found it written", attempts[3])
		}
	})
}

type errOrNil struct{ err error }

// TestContinueAndAttempts: a runner out of time checkpoints and continues in a new
// invocation (queued again, attempts reset); a job that keeps breaking is failed on
// the delivery after MaxAttempts runs.
func TestContinueAndAttempts(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		r := newRows(st)
		const n = 6
		var yields atomic.Int64
		w, q := worker(st, map[string]jobs.Runner{
			"import": func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
				for i := j.Progress.Done; i < n; i++ {
					if _, err := r.write(ctx, j, i); err != nil {
						return err
					}
					if err := env.Checkpoint(ctx, jobs.Checkpoint{Done: i + 1, Total: n}); err != nil {
						return err
					}
					if i%2 == 1 && i+1 < n && env.ShouldYield() {
						yields.Add(1)
						return jobs.ErrContinue
					}
				}
				return nil
			},
			"flaky": func(context.Context, *jobs.Env, *jobs.Job) error { return jobs.Retry(errors.New("throttled")) },
		})
		w.YieldMargin = time.Hour // every invocation below is "nearly out of time"

		j := newJob(t, st, "acme", "import", nil)
		for i := 0; ; i++ {
			// Like Lambda, each invocation has a deadline.
			dctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := w.Handle(dctx, "acme", j.ID)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			got := getJob(t, st, j)
			if got.Status == jobs.Succeeded {
				break
			}
			if got.Status != jobs.Running || got.LeaseUntil != nil || got.Attempts != 0 || i > n {
				t.Fatalf("after continuing: %+v", got)
			}
			if sent := q.sent(); len(sent) != i+1 || sent[i].JobID != j.ID {
				t.Fatalf("continuations queued: %v", sent)
			}
		}
		if yields.Load() != n/2-1 {
			t.Errorf("%d continuations, want %d", yields.Load(), n/2-1)
		}

		f := newJob(t, st, "acme", "flaky", nil)
		for i := 1; i <= jobs.MaxAttempts; i++ {
			if err := w.Handle(ctx, "acme", f.ID); err == nil {
				t.Fatalf("attempt %d of a flaky job was done with", i)
			}
		}
		if err := w.Handle(ctx, "acme", f.ID); err != nil {
			t.Fatal(err)
		}
		if got := getJob(t, st, f); got.Status != jobs.Failed || got.Attempts != jobs.MaxAttempts ||
			!strings.Contains(got.Failure, "stopped after 4 attempts") {
			t.Errorf("flaky job = %+v", got)
		}
	})
}

// TestLocalQueue: jobs started on the in-process queue run; a failing delivery is
// delivered again like SQS would, up to five times; a full or closed queue refuses.
func TestLocalQueue(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		reg := jobs.NewRegistry()
		svc := jobs.NewLocal(st, reg)
		r := newRows(st)
		var flaky atomic.Int64
		reg.Register("import", batchRunner(r, 4, 2, nil))
		reg.Register("flaky", func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
			if flaky.Add(1) < 3 {
				return jobs.Retry(errors.New("throttled"))
			}
			return env.Checkpoint(ctx, jobs.Checkpoint{Done: 1, Total: 1})
		})
		q := svc.Queue.(*jobs.LocalQueue)
		q.RetryDelay = func(int) time.Duration { return time.Millisecond }
		q.SetHandler((&jobs.Worker{Store: st, Queue: q, Runners: reg}).Handle)

		var started []jobs.Job
		for range 20 {
			j, err := svc.Start(startCtx(), jobs.StartInput{Kind: "import", OrganizationID: "acme", Category: audit.Customer})
			if err != nil {
				t.Fatal(err)
			}
			started = append(started, j)
		}
		fj, err := svc.Start(startCtx(), jobs.StartInput{Kind: "flaky", OrganizationID: "acme", Category: audit.Customer})
		if err != nil {
			t.Fatal(err)
		}
		waitIdle(t, svc)
		for _, j := range started {
			if got := getJob(t, st, j); got.Status != jobs.Succeeded || got.Progress.Done != 4 {
				t.Errorf("job %s = %+v", j.ID, got)
			}
		}
		if got := getJob(t, st, fj); got.Status != jobs.Succeeded || flaky.Load() != 3 || got.Attempts != 3 {
			t.Errorf("flaky job after %d runs: %+v", flaky.Load(), got)
		}

		// Always failing: delivered five times, then dropped.
		var deliveries atomic.Int64
		small := jobs.NewLocalQueue(1, 2)
		small.RetryDelay = q.RetryDelay
		small.SetHandler(func(context.Context, string, string) error { deliveries.Add(1); return errors.New("down") })
		if err := small.Enqueue(context.Background(), "acme", "j1"); err != nil {
			t.Fatal(err)
		}
		waitLocal(t, small)
		if deliveries.Load() != 5 {
			t.Errorf("%d deliveries, want 5", deliveries.Load())
		}
		// Full: a blocked handler holds one message, the buffer two more.
		block := make(chan struct{})
		small.SetHandler(func(context.Context, string, string) error { <-block; return nil })
		var full error
		for i := 0; i < 10 && full == nil; i++ {
			full = small.Enqueue(context.Background(), "acme", "j")
		}
		if !errors.Is(full, jobs.ErrQueueFull) {
			t.Errorf("a full queue: %v", full)
		}
		close(block)
		waitLocal(t, small)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := small.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := small.Enqueue(context.Background(), "acme", "j"); !errors.Is(err, jobs.ErrQueueClosed) {
			t.Errorf("a closed queue: %v", err)
		}
	})
}

func waitLocal(t *testing.T, q *jobs.LocalQueue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.Idle(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStart covers what Start refuses and what it does when the queue refuses the
// message: the job is failed at once, and the caller gets a 503 to start it again.
func TestStart(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		reg := jobs.NewRegistry()
		reg.Register("import", func(context.Context, *jobs.Env, *jobs.Job) error { return nil })
		q := &captureQueue{}
		svc := &jobs.Service{Store: st, Queue: q, Runners: reg}
		ok := jobs.StartInput{Kind: "import", OrganizationID: "acme", Category: audit.Customer, Total: 3,
			Input: []byte("name\nContoso\n"), Params: map[string]bool{"dryRun": true}}
		for _, tc := range []struct {
			name   string
			change func(in *jobs.StartInput)
			want   string
		}{
			{"no organization", func(in *jobs.StartInput) { in.OrganizationID = "" }, store.ErrNoOrganization.Error()},
			{"unknown kind", func(in *jobs.StartInput) { in.Kind = "nope" }, `no runner is registered for kind "nope"`},
			{"no category", func(in *jobs.StartInput) { in.Category = "" }, "an audit category is required"},
			{"params not an object", func(in *jobs.StartInput) { in.Params = []int{1} }, "params must encode as a JSON object"},
			{"input too large", func(in *jobs.StartInput) { in.Input = make([]byte, jobs.MaxInput+1) }, "input-too-large"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := ok
				tc.change(&in)
				if _, err := svc.Start(startCtx(), in); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Start = %v, want an error saying %q", err, tc.want)
				}
			})
		}
		if len(q.sent()) != 0 {
			t.Errorf("refused starts sent %v", q.sent())
		}

		j, err := svc.Start(startCtx(), ok)
		if err != nil {
			t.Fatal(err)
		}
		got := getJob(t, st, j)
		if got.Status != jobs.Queued || got.Progress.Total != 3 || string(got.Params) != `{"dryRun":true}` || got.CreatedBy != creator.Actor ||
			got.SourceIP != creator.SourceIP || got.Input == nil || len(q.sent()) != 1 || q.sent()[0] != (jobs.Message{OrganizationID: "acme", JobID: j.ID}) {
			t.Errorf("started %+v, sent %v", got, q.sent())
		}

		q.err = errors.New("sqs: unavailable")
		j, err = svc.Start(startCtx(), ok)
		if pe := problem.As(err); pe.Status() != 503 || pe.Code != "job-not-queued" {
			t.Fatalf("Start with the queue down = %v", err)
		}
		if got := getJob(t, st, j); got.Status != jobs.Failed || got.Failure != jobs.NotQueued || j.Status != jobs.Failed {
			t.Errorf("a job the queue refused: %+v", got)
		}
	})
}

func TestRegistry(t *testing.T) {
	noop := func(context.Context, *jobs.Env, *jobs.Job) error { return nil }
	for _, tc := range []struct {
		name string
		kind string
		run  jobs.Runner
	}{
		{"empty kind", "", noop},
		{"upper case", "Import", noop},
		{"nil runner", "import", nil},
		{"twice", "twice", noop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := jobs.NewRegistry()
			if tc.kind == "twice" {
				reg.Register("twice", noop)
			}
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", tc.kind)
				}
			}()
			reg.Register(tc.kind, tc.run)
		})
	}
	reg := jobs.NewRegistry()
	reg.Register("b-kind", noop)
	reg.Register("a-kind", noop)
	if got := reg.Kinds(); len(got) != 2 || got[0] != "a-kind" {
		t.Errorf("Kinds = %v", got)
	}
}
