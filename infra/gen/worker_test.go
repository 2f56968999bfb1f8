package main

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/jobs/sqsqueue"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// sampleRuns counts the runs of the sample job's kind.
var sampleRuns atomic.Int64

// sampleRunners are every runner of the API and the sample job's.
func sampleRunners() *jobs.Registry {
	reg := api.JobRunners()
	reg.Register("events-sample", func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
		sampleRuns.Add(1)
		in, err := env.Input(ctx)
		if err != nil {
			return err
		}
		return env.Checkpoint(ctx, jobs.Checkpoint{Done: 1, Total: 1, Result: map[string]int{"bytes": len(in)}})
	})
	return reg
}

// TestWorkerEventRunsTheJob invokes the job worker's handler as Lambda would, with
// events/job-worker.json plus a record that is no job message and one naming a job
// that does not exist: the job runs once, the bad record is reported as a batch item
// failure (to reach the dead-letter queue), the missing job's message is done with.
func TestWorkerEventRunsTheJob(t *testing.T) {
	ctx := context.Background()
	worker, raw := jobOfKind(t, templategen.KindQueueWorker)
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("events/%s.json: %v, %d records", worker.Function, err, len(ev.Records))
	}

	st := lambdaTable(t)
	t.Setenv(jobs.EnvQueueURL, "")
	seedSampleJob(ctx, t, st, "events-sample")

	bad := ev.Records[0]
	bad.MessageId, bad.Body = "bad-record", "this is not a job message"
	missing := ev.Records[0]
	missing.MessageId, missing.Body = "missing-job", `{"organizationId":"`+templategen.SampleOrgID+`","jobId":"no-such-job"}`
	ev.Records = append(ev.Records, bad, missing)

	h, err := lambdaentry.WorkerHandler(ctx, worker.Function, sampleRunners(), sqsqueue.Connect)
	if err != nil {
		t.Fatal(err)
	}
	// The second delivery of the same batch finds the job finished: no run.
	for round, wantRuns := range []int64{1, 0} {
		before := sampleRuns.Load()
		res, err := h(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, f := range res.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		if !slices.Equal(failed, []string{"bad-record"}) {
			t.Errorf("round %d: batch item failures %v, want only the bad record", round, failed)
		}
		if got := sampleRuns.Load() - before; got != wantRuns {
			t.Errorf("round %d: the runner ran %d times, want %d", round, got, wantRuns)
		}
	}
	j, err := st.GetJob(ctx, templategen.SampleOrgID, templategen.SampleJobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != store.JobSucceeded || j.Progress.Done != 1 || string(j.Result) != `{"bytes":13}` || j.Attempts != 1 {
		t.Errorf("job after the event: %+v", j)
	}
	if _, err := lambdaentry.WorkerHandler(ctx, "jobs-get", sampleRunners(), sqsqueue.Connect); err == nil {
		t.Error("WorkerHandler accepted a route's function")
	}
}

// jobOfKind is api.Jobs' job of kind, and its sample event (events/<function>.json).
func jobOfKind(t *testing.T, kind string) (api.Job, []byte) {
	t.Helper()
	for _, j := range api.Jobs() {
		if j.Kind == kind {
			return j, readFile(t, repoRoot(t), "events/"+j.Function+".json")
		}
	}
	t.Fatalf("api.Jobs has no job of kind %s", kind)
	return api.Job{}, nil
}
