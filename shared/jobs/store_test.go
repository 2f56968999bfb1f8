package jobs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestJobItems covers the job item in the store: creation with its audit event,
// organization scoping, version-conditioned writes, errors kept within limits, expiry.
func TestJobItems(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()

		t.Run("created queued with its audit event, read back", func(t *testing.T) {
			j := newJob(t, st, "acme", "import", nil)
			got := getJob(t, st, j)
			if got.Status != jobs.Queued || got.Version != 1 || got.Kind != "import" || got.CreatedBy != creator.Actor ||
				got.CreatedAt.IsZero() || got.Input != nil || len(got.Errors) != 0 || got.Attempts != 0 {
				t.Errorf("job = %+v", got)
			}
			evs, _, err := st.ListAudit(ctx, "acme", store.Page{})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 || evs[0].Action != "job.start" || evs[0].Actor != creator.Actor {
				t.Errorf("audit = %+v", evs)
			}
			if _, err := st.CreateJob(ctx, j, nil, audit.Event{Category: audit.Customer, Action: "job.start"}); problem.As(err).Code != "job-exists" {
				t.Errorf("the same id twice: %v", err)
			}
		})

		t.Run("organization scoping", func(t *testing.T) {
			j := newJob(t, st, "acme-corp", "import", []byte("x"))
			for _, tc := range []struct {
				name string
				err  error
				want error
			}{
				{"get with another organization", func() error { _, err := st.GetJob(ctx, "acme", j.ID); return err }(), store.ErrNotFound},
				{"get without an organization", func() error { _, err := st.GetJob(ctx, "", j.ID); return err }(), store.ErrNoOrganization},
				{"input of another organization", func() error { _, err := st.ReadInput(ctx, "acme", j.ID); return err }(), store.ErrNotFound},
				{"input without an organization", func() error { _, err := st.ReadInput(ctx, "", j.ID); return err }(), store.ErrNoOrganization},
				{"create without an organization", func() error {
					_, err := st.CreateJob(ctx, jobs.Job{ID: domain.NewID(), Kind: "import"}, nil, audit.Event{})
					return err
				}(), store.ErrNoOrganization},
				{"progress without an organization", func() error {
					x := j
					x.OrganizationID, x.Status = "", jobs.Running
					_, err := st.SaveProgress(ctx, x)
					return err
				}(), store.ErrNoOrganization},
			} {
				if !errors.Is(tc.err, tc.want) {
					t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
				}
			}
		})

		t.Run("every write is conditioned on the version read", func(t *testing.T) {
			j := newJob(t, st, "acme", "import", nil)
			claimed, err := st.ClaimJob(ctx, j, time.Now().Add(time.Minute))
			if err != nil || claimed.Version != 2 || claimed.Status != jobs.Running || claimed.Attempts != 1 || claimed.StartedAt == nil {
				t.Fatalf("claim: %+v %v", claimed, err)
			}
			if _, err := st.ClaimJob(ctx, j, time.Now()); !errors.Is(err, store.ErrJobChanged) {
				t.Errorf("a second claim from the same read: %v", err)
			}
			// Eight writers advance the job from the same read: exactly one wins.
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, changed := 0, 0
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					x := claimed
					x.Progress.Done = int64(i + 1)
					_, err := st.SaveProgress(ctx, x)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, store.ErrJobChanged):
						changed++
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if wins != 1 || changed != 7 || getJob(t, st, j).Version != 3 {
				t.Errorf("%d writers won, %d were refused, version %d; want 1, 7, 3", wins, changed, getJob(t, st, j).Version)
			}
			if _, err := st.FinishJob(ctx, claimed, jobs.Succeeded, "", nil); !errors.Is(err, store.ErrJobChanged) {
				t.Errorf("finish from a stale read: %v", err)
			}
		})

		t.Run("errors are capped, all are counted", func(t *testing.T) {
			j := newJob(t, st, "acme", "import", nil)
			j, _ = st.ClaimJob(ctx, j, time.Now().Add(time.Minute))
			var errs []jobs.Error
			for i := range 1500 {
				errs = append(errs, jobs.Error{Line: int64(i + 2), Field: "email", Message: "is not an email address"})
			}
			errs[0].Message = strings.Repeat("é", 2000)
			store.AppendJobErrors(&j, errs...)
			if _, err := st.SaveProgress(ctx, j); err != nil {
				t.Fatal(err)
			}
			got := getJob(t, st, j)
			if got.ErrorCount != 1500 || len(got.Errors) != jobs.MaxErrors || got.Errors[999].Line != 1001 ||
				len([]rune(got.Errors[0].Message)) != 300 {
				t.Errorf("errorCount %d, kept %d, last kept line %d, first message %d characters",
					got.ErrorCount, len(got.Errors), got.Errors[len(got.Errors)-1].Line, len([]rune(got.Errors[0].Message)))
			}
			// Long errors stop being kept before the item nears DynamoDB's 400 KB.
			long := jobs.Job{}
			for range 1000 {
				store.AppendJobErrors(&long, jobs.Error{Field: strings.Repeat("f", 300), Message: strings.Repeat("m", 300)})
			}
			if size := len(long.Errors) * 632; len(long.Errors) >= 1000 || size > 210_000 {
				t.Errorf("kept %d long errors (~%d bytes)", len(long.Errors), size)
			}
			if long.ErrorCount != 1000 {
				t.Errorf("counted %d, want 1000", long.ErrorCount)
			}
		})

		t.Run("expiry is checked on read", func(t *testing.T) {
			j := newJob(t, st, "acme", "import", []byte("a,b"))
			later := func(d time.Duration) *store.Store { return st.WithClock(func() time.Time { return time.Now().Add(d) }) }
			if _, err := later(store.JobRetention+time.Hour).GetJob(ctx, "acme", j.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("an unfinished job past its retention: %v", err)
			}
			if _, err := later(store.JobRetention+time.Hour).ReadInput(ctx, "acme", j.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("input past its retention: %v", err)
			}
			// Finishing restarts the retention from the finish.
			fin := later(20 * 24 * time.Hour)
			j, _ = fin.ClaimJob(ctx, j, time.Now())
			if _, err := fin.FinishJob(ctx, j, jobs.Succeeded, "", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := later(40*24*time.Hour).GetJob(ctx, "acme", j.ID); err != nil {
				t.Errorf("10 days after finishing: %v", err)
			}
			if _, err := later(51*24*time.Hour).GetJob(ctx, "acme", j.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("31 days after finishing: %v", err)
			}
		})
	})
}

// TestInputChunks round-trips inputs through chunk items: empty, small (written in
// the job's transaction), multi-megabyte (written before it) and too large.
func TestInputChunks(t *testing.T) {
	engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			size   int
			chunks int
		}{
			{"one byte", 1, 1},
			{"exactly one chunk", store.JobInputChunkSize, 1},
			{"one byte more", store.JobInputChunkSize + 1, 2},
			{"1.5 MB, in the job's transaction", 1_500_000, 5},
			{"7.3 MB, before the job's transaction", 7_300_000, 25},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := make([]byte, tc.size)
				_, _ = rand.Read(in)
				j := newJob(t, st, "acme", "import", in)
				if j.Input == nil || j.Input.Chunks != tc.chunks || j.Input.Size != int64(tc.size) {
					t.Fatalf("input = %+v, want %d chunks", j.Input, tc.chunks)
				}
				out, err := st.ReadInput(ctx, "acme", j.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, in) {
					t.Fatalf("read %d bytes back, not the %d written", len(out), len(in))
				}
				last, err := st.Client().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.TableName()), Key: map[string]types.AttributeValue{
					"PK": &types.AttributeValueMemberS{Value: "ORG#acme#JOB#" + j.ID},
					"SK": &types.AttributeValueMemberS{Value: "INPUT#" + pad4(tc.chunks-1)},
				}})
				if err != nil || last.Item == nil || last.Item["expiresAt"] == nil {
					t.Errorf("last chunk item: %v %v", last, err)
				}
			})
		}
		t.Run("a job without input", func(t *testing.T) {
			j := newJob(t, st, "acme", "import", nil)
			if _, err := st.ReadInput(ctx, "acme", j.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ReadInput = %v, want ErrNotFound", err)
			}
		})
		t.Run("an input over the limit", func(t *testing.T) {
			_, err := st.CreateJob(ctx, jobs.Job{ID: domain.NewID(), OrganizationID: "acme", Kind: "import"},
				make([]byte, store.MaxJobInput+1), audit.Event{Category: audit.Customer, Action: "job.start"})
			if !errors.Is(err, store.ErrJobInputTooLarge) {
				t.Errorf("CreateJob = %v", err)
			}
		})
		t.Run("a missing chunk is an error, not a short input", func(t *testing.T) {
			in := make([]byte, 2*store.JobInputChunkSize+10)
			j := newJob(t, st, "acme", "import", in)
			_, err := st.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(st.TableName()), Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "ORG#acme#JOB#" + j.ID},
				"SK": &types.AttributeValueMemberS{Value: "INPUT#0001"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if out, err := st.ReadInput(ctx, "acme", j.ID); err == nil || errors.Is(err, store.ErrNotFound) {
				t.Errorf("ReadInput = %d bytes, %v; want an error", len(out), err)
			}
		})
	})
}

func pad4(n int) string { return fmt.Sprintf("%04d", n) }
