package openapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// newJob writes a job of orgID, partway done with one error and a result, straight
// through the store, and returns its id.
func (w *world) newJob(orgID string) string {
	ctx := context.Background()
	j, err := w.env.Store.CreateJob(ctx, store.Job{ID: domain.NewID(), OrganizationID: orgID, Kind: "conformance-check",
		Category: audit.Settings, CreatedBy: audit.Actor{UserID: "u1", Email: "owner@alpha.example"}},
		[]byte("a,b\n1,2\n"), audit.Event{Category: audit.Settings, Action: "job.start", Summary: "conformance"})
	if err != nil {
		panic(err)
	}
	if j, err = w.env.Store.ClaimJob(ctx, j, w.env.Store.Now().Add(time.Minute)); err != nil {
		panic(err)
	}
	j.Progress = store.JobProgress{Done: 1, Total: 2}
	j.Result = []byte(`{"created":1}`)
	store.AppendJobErrors(&j, store.JobError{Line: 2, Field: "b", Message: "is not a name"})
	if _, err := w.env.Store.SaveProgress(ctx, j); err != nil {
		panic(err)
	}
	return j.ID
}

// jobSteps read a job through GET /api/jobs/{jobId}: good, denied, another
// organization's and without a token.
func jobSteps() []step {
	return []step{
		{name: "get a job", want: 200,
			req: func(w *world) testenv.Request {
				w.state["job"] = w.newJob(w.alpha.ID)
				return w.as("Owner", "GET", "/api/jobs/"+w.state["job"], nil, api.HeaderOrganization, w.alpha.ID)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var j api.JobView
				res.JSON(t, &j)
				if j.ID != w.state["job"] || j.Status != "running" || j.Progress.Done != 1 || j.ErrorCount != 1 ||
					len(j.Errors) != 1 || string(j.Result) != `{"created":1}` {
					t.Errorf("job = %s", res.Body)
				}
			}},
		{name: "get a job as a Read-Only member", want: 200,
			req: func(w *world) testenv.Request { return w.as("Read-Only", "GET", "/api/jobs/"+w.state["job"], nil) }},
		{name: "get a job as a Custom member without view-data", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.as("Custom(none)", "GET", "/api/jobs/"+w.state["job"], nil) }},
		{name: "get another organization's job", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "GET", "/api/jobs/"+w.newJob(w.beta.ID), nil, api.HeaderOrganization, w.alpha.ID)
			}},
		{name: "get a job without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.as("", "GET", "/api/jobs/"+w.state["job"], nil) }},
	}
}
