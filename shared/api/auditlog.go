package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Routes: the audit log's export and its chain check (the list is a foundation route).
var (
	AuditLogExport = Route{Method: "GET", Path: "/api/audit-log/export", Permission: permission.ViewAuditLog, Function: "audit-log-export",
		Summary: "Download the organization's audit events as CSV or Excel, with the list's filters", Handler: exportAuditLog}
	AuditLogVerify = Route{Method: "GET", Path: "/api/audit-log/verify", Permission: permission.ViewAuditLog, Function: "audit-log-verify",
		Summary: "Check the organization's audit hash chain from its checkpoint and report the first break", Read: fetchAuditVerify}
)

// auditLogRoutes are the audit log's routes besides the list.
func auditLogRoutes() []Route { return []Route{AuditLogExport, AuditLogVerify} }

// idParam is what an actor or target id may look like: the ids this system makes
// (and the external ids it stores), never a key separator: 1 to 128 of
// [A-Za-z0-9._@:-]. A loop rather than a regexp, whose {1,128} compiled at every cold
// start of every function.
func idParam(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._@:-", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// auditQuery reads the audit log's filters: category, actor (a user id), targetType
// (customer, tenant or user) with targetId, and from/to (RFC 3339, inclusive). Every
// invalid value is a 400 naming its parameter.
func auditQuery(r *http.Request, v *problem.Validation) store.AuditQuery {
	q := r.URL.Query()
	var out store.AuditQuery
	invalid := func(name, msg string) { v.Add(name, "%s", msg) }
	if c := q.Get("category"); c != "" {
		if !audit.Category(c).Valid() {
			invalid("category", "must be one of "+categoryList())
		}
		out.Category = audit.Category(c)
	}
	if a := q.Get("actor"); a != "" {
		if !idParam(a) {
			invalid("actor", "must be a user id")
		}
		out.ActorID = a
	}
	kind, id := q.Get("targetType"), q.Get("targetId")
	switch {
	case kind == "" && id == "":
	case kind == "":
		invalid("targetType", "is required with targetId: customer, tenant or user")
	case id == "":
		invalid("targetId", "is required with targetType")
	case kind != store.TargetCustomer && kind != store.TargetTenant && kind != store.TargetUser:
		invalid("targetType", "must be customer, tenant or user")
	case !idParam(id):
		invalid("targetId", "must be the id of a "+kind)
	default:
		out.TargetKind, out.TargetID = kind, id
	}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"from", &out.From}, {"to", &out.To}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			invalid(p.name, "must be an RFC 3339 date-time, such as 2025-01-31T23:59:59Z")
			continue
		}
		*p.to = t.UTC()
	}
	if !out.From.IsZero() && !out.To.IsZero() && out.To.Before(out.From) {
		invalid("to", "must not be before from")
	}
	return out
}

func categoryList() string {
	var names []string
	for _, c := range audit.Categories() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// fetchAuditLog reads one page of the organization's audit events that match the
// filters, newest first.
func fetchAuditLog(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	var v problem.Validation
	q := auditQuery(r, &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var err error
	if q.Page, err = page(r); err != nil {
		return nil, err
	}
	events, next, err := d.Store.QueryAudit(ctx, orgID, q)
	if err != nil {
		return nil, err
	}
	return List[audit.Event]{Items: events, NextCursor: next}, nil
}

// verifyBudget is how many events one check walks; a longer chain answers
// complete: false with a resume value to go on from (a Query page holds ~500 events, so
// the walk stays well inside API Gateway's 30 seconds).
const verifyBudget = 20000

// fetchAuditVerify walks the organization's hash chain from its checkpoint (or from
// ?resume=) and reports the first break, or that it holds.
func fetchAuditVerify(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	resume := r.URL.Query().Get("resume")
	if len(resume) > 2048 {
		return nil, problem.Invalidf("resume", "is not a value this check returned")
	}
	return d.Store.VerifyAudit(ctx, orgID, resume, verifyBudget)
}

// auditExportColumns are the export's columns; the first is named with the time zone.
var auditExportColumns = []string{"Category", "Action", "Summary", "Actor", "Actor Email", "On Behalf Of",
	"Customers", "Tenants", "Users", "Emails", "Source IP", "Browser", "Operating System", "Identity Provider",
	"Changes", "Event ID", "Seq", "Hash"}

// auditRow is one event's row in the organization's time zone and date format.
func auditRow(ev audit.Event, loc *time.Location, layout string) []any {
	behalf := ""
	if ev.OnBehalfOf != nil {
		behalf = ev.OnBehalfOf.MSPOrganizationID + " for " + ev.OnBehalfOf.SubOrganizationID
		if ev.OnBehalfOf.Reason != "" {
			behalf += ": " + ev.OnBehalfOf.Reason
		}
	}
	var browser, os string
	if ev.Client != nil {
		browser, os = strings.TrimSpace(ev.Client.Browser+" "+ev.Client.BrowserVersion), ev.Client.OS
	}
	var changes []string
	for _, c := range ev.Changes {
		changes = append(changes, c.Field)
	}
	return []any{ev.At.In(loc).Format(layout), string(ev.Category), ev.Action, ev.Summary, ev.Actor.UserID, ev.Actor.Email, behalf,
		strings.Join(ev.Targets.CustomerIDs, "; "), strings.Join(ev.Targets.TenantIDs, "; "), strings.Join(ev.Targets.UserIDs, "; "),
		strings.Join(ev.Targets.Emails, "; "), ev.SourceIP, browser, os, ev.IdentityProvider, strings.Join(changes, "; "),
		ev.ID, ev.Seq, ev.Hash}
}

// exportAuditLog downloads the events that match the list's filters, newest first, as
// CSV or Excel, with times in the organization's time zone and date format. It is
// bounded like the customers export: past maxExportBytes, 413 export-too-large.
func exportAuditLog(d *Deps) http.Handler {
	const hint = "narrow it with from=, to= or another filter"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		var v problem.Validation
		format, err := exportFormat(r)
		if err != nil {
			v.Add("format", "must be csv or xlsx")
		}
		q := auditQuery(r, &v)
		if err := v.Err(); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		loc, layout := exportClock(oc.Org.Profile, true)
		var out exportRows
		header := []any{"Time (" + loc.String() + ")"}
		for _, c := range auditExportColumns {
			header = append(header, c)
		}
		out.add(header...)
		q.Page.Limit = store.MaxLimit
		for {
			events, next, err := d.Store.QueryAudit(ctx, oc.Org.ID, q)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			for _, ev := range events {
				out.add(auditRow(ev, loc, layout)...)
			}
			if out.tooLarge() {
				problem.Write(ctx, w, r, errExportTooLarge(hint))
				return
			}
			if next == "" {
				break
			}
			q.Page.Cursor = next
		}
		out.send(w, r, format, "audit-log-"+time.Now().In(loc).Format("2006-01-02"), "Audit log", hint)
	})
}
