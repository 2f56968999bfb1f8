package jobs_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// TestMain keeps the worker's logs out of the output unless -v is given.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}

// engines runs a test on the embedded engine and, when `make test` has started it,
// on DynamoDB Local.
func engines(t *testing.T, run func(t *testing.T, st *store.Store)) {
	t.Helper()
	eps := map[string]string{"embedded": testenv.EmbeddedEndpoint()}
	if ep := os.Getenv(awsconfig.EnvDynamoDBEndpoint); ep != "" {
		eps["dynamodb-local"] = ep
	}
	for name, ep := range eps {
		t.Run(name, func(t *testing.T) { run(t, testenv.NewTable(t, testenv.DynamoDBAt(t, ep))) })
	}
}

// creator is the origin of the request that starts the test jobs.
var creator = audit.Origin{Actor: audit.Actor{UserID: "u-dana", Email: "dana@example.com"}, SourceIP: "203.0.113.7", UserAgent: "test"}

func startCtx() context.Context { return audit.WithOrigin(context.Background(), creator) }

// newJob creates a queued job of kind in orgID through the store.
func newJob(t *testing.T, st *store.Store, orgID, kind string, input []byte) jobs.Job {
	t.Helper()
	j, err := st.CreateJob(startCtx(), jobs.Job{ID: domain.NewID(), OrganizationID: orgID, Kind: kind, Category: audit.Customer,
		CreatedBy: creator.Actor, SourceIP: creator.SourceIP, UserAgent: creator.UserAgent}, input,
		audit.New(startCtx(), orgID, audit.Customer, "job.start", "test job"))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func getJob(t *testing.T, st *store.Store, j jobs.Job) jobs.Job {
	t.Helper()
	out, err := st.GetJob(context.Background(), j.OrganizationID, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// captureQueue records the messages sent to it, or refuses them with err.
type captureQueue struct {
	mu   sync.Mutex
	msgs []jobs.Message
	err  error
}

func (q *captureQueue) Enqueue(_ context.Context, orgID, jobID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.msgs = append(q.msgs, jobs.Message{OrganizationID: orgID, JobID: jobID})
	return nil
}

func (q *captureQueue) sent() []jobs.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]jobs.Message(nil), q.msgs...)
}

// rows is the side effect of the test runners: one item per row of a job, written
// as the runner contract asks: the write is conditioned on the row being absent or
// already this job's, so a step done again after a crash finds its own row and counts
// it (its earlier count was lost with the batch), while a row another job made is
// left alone. It counts every attempt, and the rows each attempt created.
type rows struct {
	st       *store.Store
	mu       sync.Mutex
	attempts map[int64]int
	applied  map[int64]int // rows created
}

func newRows(st *store.Store) *rows {
	return &rows{st: st, attempts: map[int64]int{}, applied: map[int64]int{}}
}

// write makes row i of job j, reporting whether it is this job's row (made now, or
// by an earlier attempt of the same batch) and so counts in the job's result.
func (r *rows) write(ctx context.Context, j *jobs.Job, i int64) (bool, error) {
	r.mu.Lock()
	r.attempts[i]++
	r.mu.Unlock()
	item := map[string]types.AttributeValue{
		"PK":    &types.AttributeValueMemberS{Value: "ORG#" + j.OrganizationID + "#ROW"},
		"SK":    &types.AttributeValueMemberS{Value: fmt.Sprintf("ROW#%s#%04d", j.ID, i)},
		"jobId": &types.AttributeValueMemberS{Value: j.ID},
	}
	_, err := r.st.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.st.TableName()), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		// Written before: by an earlier attempt of this job's batch, or by someone else.
		_, err = r.st.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.st.TableName()), Item: item,
			ConditionExpression:       aws.String("jobId = :job"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":job": &types.AttributeValueMemberS{Value: j.ID}}})
		if errors.As(err, &cf) {
			return false, nil
		}
		return err == nil, err
	}
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	r.applied[i]++
	r.mu.Unlock()
	return true, nil
}

func (r *rows) counts() (attempts, applied map[int64]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, p := map[int64]int{}, map[int64]int{}
	for k, v := range r.attempts {
		a[k] = v
	}
	for k, v := range r.applied {
		p[k] = v
	}
	return a, p
}

type counts struct {
	Written int64 `json:"written"`
}

// batchRunner writes rows 0..n-1 in batches of batch, checkpointing after each batch
// with the running count of rows it wrote. hook, when set, runs before each row and
// may stop the run.
func batchRunner(r *rows, n, batch int64, hook func(ctx context.Context, j *jobs.Job, i int64) error) jobs.Runner {
	return func(ctx context.Context, env *jobs.Env, j *jobs.Job) error {
		var c counts
		if err := jsonResult(j, &c); err != nil {
			return err
		}
		for i := j.Progress.Done; i < n; {
			end := min(i+batch, n)
			for ; i < end; i++ {
				if hook != nil {
					if err := hook(ctx, j, i); err != nil {
						return err
					}
				}
				made, err := r.write(ctx, j, i)
				if err != nil {
					return jobs.Retry(err)
				}
				if made {
					c.Written++
				}
			}
			if err := env.Checkpoint(ctx, jobs.Checkpoint{Done: i, Total: n, Result: c}); err != nil {
				return err
			}
		}
		return nil
	}
}

func jsonResult(j *jobs.Job, v any) error {
	if len(j.Result) == 0 {
		return nil
	}
	return jsonUnmarshal(j.Result, v)
}

// worker is a worker over st with its own registry and a capturing queue.
func worker(st *store.Store, kinds map[string]jobs.Runner) (*jobs.Worker, *captureQueue) {
	reg := jobs.NewRegistry()
	for k, run := range kinds {
		reg.Register(k, run)
	}
	q := &captureQueue{}
	return &jobs.Worker{Store: st, Queue: q, Runners: reg}, q
}

func waitIdle(t *testing.T, svc *jobs.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := svc.Idle(ctx); err != nil {
		t.Fatalf("jobs did not finish: %v", err)
	}
}
