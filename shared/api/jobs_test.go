package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// fixtureJob creates a queued job in orgID through the store.
func fixtureJob(t *testing.T, st *store.Store, orgID string) string {
	t.Helper()
	j, err := st.CreateJob(context.Background(), store.Job{ID: domain.NewID(), OrganizationID: orgID, Kind: "fixture",
		Category: audit.Settings}, nil, audit.Event{Category: audit.Settings, Action: "job.start", Summary: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

func TestGetJob(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitest.Validator(t)
	alpha, beta := env.NewOrg("owner@jobs-alpha.example"), env.NewOrg("owner@jobs-beta.example")
	viewer := env.AddMember(alpha.ID, permission.ReadOnly, "viewer@jobs-alpha.example")

	// A job started through the service as alpha's owner runs in this process.
	runners := jobs.NewRegistry()
	runners.Register("count-to-three", func(ctx context.Context, e *jobs.Env, j *jobs.Job) error {
		for i := j.Progress.Done; i < 3; i++ {
			errs := []jobs.Error{}
			if i == 1 {
				errs = append(errs, jobs.Error{Line: 2, Field: "name", Message: "is required"})
			}
			if err := e.Checkpoint(ctx, jobs.Checkpoint{Done: i + 1, Total: 3, Errors: errs, Result: map[string]int64{"counted": i + 1}}); err != nil {
				return err
			}
		}
		return nil
	})
	svc := jobs.NewLocal(env.Store, runners)
	svc.Queue.(*jobs.LocalQueue).SetHandler((&jobs.Worker{Store: env.Store, Queue: svc.Queue, Runners: runners}).Handle)
	ctx := audit.WithOrigin(context.Background(), audit.Origin{Actor: audit.Actor{UserID: "u-owner", Email: alpha.OwnerEmail}})
	started, err := svc.Start(ctx, jobs.StartInput{Kind: "count-to-three", OrganizationID: alpha.ID, Category: audit.Customer})
	if err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Idle(waitCtx); err != nil {
		t.Fatal(err)
	}
	queued := fixtureJob(t, env.Store, alpha.ID)
	betaJob := fixtureJob(t, env.Store, beta.ID)

	for _, tc := range []struct {
		name, token, org, job string
		status                int
		check                 func(t *testing.T, v api.JobView)
	}{
		{"finished job", alpha.OwnerToken, alpha.ID, started.ID, http.StatusOK, func(t *testing.T, v api.JobView) {
			if v.Status != jobs.Succeeded || v.Progress != (jobs.Progress{Done: 3, Total: 3}) || v.ErrorCount != 1 ||
				len(v.Errors) != 1 || v.Errors[0].Line != 2 || string(v.Result) != `{"counted":3}` ||
				v.CreatedBy.Email != alpha.OwnerEmail || v.StartedAt == nil || v.FinishedAt == nil || v.Kind != "count-to-three" {
				t.Errorf("job = %+v", v)
			}
		}},
		{"queued job as a viewer", viewer, alpha.ID, queued, http.StatusOK, func(t *testing.T, v api.JobView) {
			if v.Status != jobs.Queued || v.Version != 1 || len(v.Errors) != 0 || string(v.Result) != "{}" || v.StartedAt != nil {
				t.Errorf("job = %+v", v)
			}
		}},
		{"without X-Organization-Id: the active organization", alpha.OwnerToken, "", queued, http.StatusOK, nil},
		{"another organization's job id", alpha.OwnerToken, alpha.ID, betaJob, http.StatusNotFound, nil},
		{"another organization's job id, named by its organization", alpha.OwnerToken, beta.ID, betaJob, http.StatusNotFound, nil},
		{"another organization's owner asking for this one's job", beta.OwnerToken, "", queued, http.StatusNotFound, nil},
		{"a job id that does not exist", alpha.OwnerToken, alpha.ID, "no-such-job", http.StatusNotFound, nil},
		{"a malformed job id", alpha.OwnerToken, alpha.ID, "bad%20id!", http.StatusNotFound, nil},
		{"without a token", "", alpha.ID, queued, http.StatusUnauthorized, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.org != "" {
				h = []string{api.HeaderOrganization, tc.org}
			}
			res := env.Get("/api/jobs/"+tc.job, tc.token, h...)
			if res.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tc.status, res.Body)
			}
			if tc.check != nil {
				var v api.JobView
				res.JSON(t, &v)
				tc.check(t, v)
			}
		})
	}

	// The start and the finish are in the organization's audit log.
	events, _, err := env.Store.ListAudit(context.Background(), alpha.ID, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Category == audit.Customer {
			seen[ev.Action] = true
			if ev.Actor.Email != alpha.OwnerEmail {
				t.Errorf("%s by %+v, want the job's creator", ev.Action, ev.Actor)
			}
		}
	}
	if !seen["job.start"] || !seen["job.succeeded"] {
		t.Errorf("audit actions %v, want job.start and job.succeeded", seen)
	}
}
