package openapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/xuri/excelize/v2"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/store"
)

const (
	auditExportPath = "/api/audit-log/export"
	auditVerifyPath = "/api/audit-log/verify"
)

// TestAuditLogConformsToTheDocument drives the audit log's filters, its export and its
// chain check through every documented status but 500, each exchange checked against
// openapi.json, on a world of its own (the check edits an event in the table).
func TestAuditLogConformsToTheDocument(t *testing.T) {
	w := newWorld(t)
	if !w.run(t, auditSteps()) {
		return
	}
	for _, m := range w.chk.Unobserved("500", "503", "429") {
		if _, path, _ := strings.Cut(m, " "); strings.HasPrefix(strings.Fields(path)[0], "/api/audit-log/") {
			t.Errorf("documented but never observed: %s", m)
		}
	}
}

// auditEvents is the body of a 200 of the list.
type auditEvents struct {
	Items []struct {
		ID, Action, Hash, PrevHash string
		Category                   audit.Category
		Seq                        int64
		At                         time.Time
	}
	NextCursor string
}

func auditSteps() []step {
	list := func(role, query string) func(w *world) testenv.Request {
		return func(w *world) testenv.Request { return w.at(role, "GET", "/api/audit-log?"+query, nil) }
	}
	return []step{
		{name: "filter by category", want: 200, req: list("Owner", "category=settings"),
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l auditEvents
				res.JSON(t, &l)
				if len(l.Items) == 0 {
					t.Fatal("no settings event")
				}
				for _, ev := range l.Items {
					if ev.Category != audit.Settings || ev.Seq < 1 || len(ev.Hash) != 64 {
						t.Errorf("event %+v", ev)
					}
				}
			}},
		{name: "filter by actor, time and category", want: 200,
			req: func(w *world) testenv.Request {
				from := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
				return w.at("Read-Only", "GET", "/api/audit-log?category=user-management&actor=nobody&from="+from, nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var l auditEvents
				if res.JSON(t, &l); len(l.Items) != 0 {
					t.Errorf("events of nobody: %+v", l.Items)
				}
			}},
		{name: "filter by a target", want: 200, req: list("Owner", "targetType=customer&targetId=no-such-customer")},
		{name: "filters that are not valid", want: 400, code: "validation", fields: []string{"category", "targetId", "to"},
			req: list("Owner", "category=everything&targetType=tenant&from=2021-01-01T00:00:00Z&to=2020-01-01T00:00:00Z")},
		{name: "a target id without its type, and a time that is no time", want: 400, code: "validation", fields: []string{"targetType", "from"},
			req: list("Owner", "targetId=abc&from=yesterday")},

		// The export.
		{name: "export the log as CSV", want: 200,
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", auditExportPath+"?category=settings", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
				if err != nil || len(rows) < 2 || rows[0][0] != "Time (UTC)" || rows[1][1] != "settings" {
					t.Fatalf("csv %v: %v", rows, err)
				}
			}},
		{name: "export the log as Excel, as a Read-Only member", want: 200,
			req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", auditExportPath+"?format=xlsx", nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				f, err := excelize.OpenReader(bytes.NewReader(res.Body))
				if err != nil {
					t.Fatalf("open xlsx: %v", err)
				}
				defer func() { _ = f.Close() }()
				if rows, err := f.GetRows("Audit log"); err != nil || len(rows) < 2 || rows[0][2] != "Action" {
					t.Fatalf("xlsx rows %v: %v", rows, err)
				}
			}},
		{name: "export with a bad format and filter", want: 400, code: "validation", fields: []string{"format", "targetType"},
			req: func(w *world) testenv.Request {
				return w.at("Owner", "GET", auditExportPath+"?format=pdf&targetType=device&targetId=x", nil)
			}},
		{name: "export as a Technician", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Technician", "GET", auditExportPath, nil) }},
		{name: "export another organization's log", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "GET", auditExportPath, nil, "X-Organization-Id", w.beta.ID)
			}},
		{name: "export without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.at("", "GET", auditExportPath, nil) }},
		{name: "export more than one download carries", want: 413, code: "export-too-large",
			// Events with summaries no request could write fill 4 MiB at once.
			req: func(w *world) testenv.Request {
				big := w.env.NewOrg("owner@big-audit.example")
				for i := range 13 {
					ev := audit.Event{OrganizationID: big.ID, Category: audit.Settings, Action: "fixture",
						Summary: fmt.Sprint(i) + strings.Repeat("s", 350_000)}
					if err := w.env.Store.RecordEvents(context.Background(), ev); err != nil {
						panic(err)
					}
				}
				r := w.as("", "GET", auditExportPath, nil)
				r.Token = big.OwnerToken
				return r
			}},

		// The chain check.
		{name: "verify the chain", want: 200,
			req: func(w *world) testenv.Request { return w.at("Read-Only", "GET", auditVerifyPath, nil) },
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var rep store.ChainReport
				res.JSON(t, &rep)
				if !rep.OK || !rep.Complete || rep.Head.Seq < 2 || rep.Verified != rep.Head.Seq || rep.Break != nil {
					t.Errorf("report %s", res.Body)
				}
			}},
		{name: "verify finds an event edited in the table", want: 200,
			req: func(w *world) testenv.Request {
				res := w.env.Get("/api/audit-log?limit=1", w.tok["Owner"], "X-Organization-Id", w.alpha.ID)
				var l auditEvents
				if err := json.Unmarshal(res.Body, &l); err != nil || len(l.Items) != 1 {
					panic(fmt.Sprintf("list: %s", res.Body))
				}
				ev := l.Items[0]
				w.state["edited seq"] = fmt.Sprint(ev.Seq)
				_, err := w.env.Store.Client().UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
					TableName: aws.String(w.env.Store.TableName()),
					Key: map[string]types.AttributeValue{
						store.AttrPK: &types.AttributeValueMemberS{Value: "ORG#" + w.alpha.ID + "#AUDIT"},
						store.AttrSK: &types.AttributeValueMemberS{Value: "EVT#" + ev.At.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + ev.ID},
					},
					UpdateExpression:          aws.String("SET summary = :s"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "rewritten"}},
				})
				if err != nil {
					panic(err)
				}
				return w.at("Owner", "GET", auditVerifyPath, nil)
			},
			check: func(t *testing.T, w *world, res *testenv.Response) {
				var rep store.ChainReport
				res.JSON(t, &rep)
				if rep.OK || rep.Break == nil || rep.Break.Reason != "hash-mismatch" || fmt.Sprint(rep.Break.Seq) != w.state["edited seq"] {
					t.Errorf("report %s, want a hash-mismatch at %s", res.Body, w.state["edited seq"])
				}
			}},
		{name: "verify from a resume value it never gave", want: 400, code: "validation", fields: []string{"resume"},
			req: func(w *world) testenv.Request { return w.at("Owner", "GET", auditVerifyPath+"?resume=not-one", nil) }},
		{name: "verify as a Technician", want: 403, code: "forbidden",
			req: func(w *world) testenv.Request { return w.at("Technician", "GET", auditVerifyPath, nil) }},
		{name: "verify another organization's chain", want: 404, code: "not-found",
			req: func(w *world) testenv.Request {
				return w.as("Owner", "GET", auditVerifyPath, nil, "X-Organization-Id", w.beta.ID)
			}},
		{name: "verify without a token", want: 401, code: "unauthenticated",
			req: func(w *world) testenv.Request { return w.at("", "GET", auditVerifyPath, nil) }},
	}
}
