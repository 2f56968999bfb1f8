package templategen

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.yaml.in/yaml/v3"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

func route(fn, method, path string) api.Route {
	return api.Route{Method: method, Path: path, Permission: permission.ViewData, Function: fn, Summary: "s"}
}

func TestFunctionsOfRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		routes []api.Route
		jobs   []api.Job
		want   string
	}{
		{"upper case", []api.Route{route("Me-get", "GET", "/api/me")}, nil, "kebab-case"},
		{"underscore", []api.Route{route("me_get", "GET", "/api/me")}, nil, "kebab-case"},
		{"double hyphen", []api.Route{route("me--get", "GET", "/api/me")}, nil, "kebab-case"},
		{"twice", []api.Route{route("me-get", "GET", "/api/me"), route("me-get", "PUT", "/api/me")}, nil, "two entries"},
		{"route and job", []api.Route{route("sync", "GET", "/api/x")}, []api.Job{{Function: "sync"}}, "two entries"},
		{"same logical id", []api.Route{route("a-1b", "GET", "/api/x"), route("a1b", "GET", "/api/y")}, nil, "same logical id"},
		{"relative path", []api.Route{route("x-get", "GET", "api/x")}, nil, "absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FunctionsOf(tc.routes, tc.jobs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	fns, err := FunctionsOf([]api.Route{route("b-get", "GET", "/b"), route("a-get", "GET", "/a")}, nil)
	if err != nil || len(fns) != 2 || fns[0].Name != "a-get" {
		t.Errorf("FunctionsOf = %v, %v; want both, sorted", fns, err)
	}
}

func TestTemplateRefuses(t *testing.T) {
	long := strings.Repeat("a", MaxFunctionNameLength+1)
	ses := route("mail-send", "POST", "/api/mail")
	ses.Actions = []string{"ses:SendEmail"}
	sns := route("topic-send", "POST", "/api/topic")
	sns.Actions = []string{"sns:Publish"}
	sqs := route("queue-send", "POST", "/api/queue")
	sqs.Actions = []string{"sqs:SendMessage"}
	postAuth := func(name string) api.Job {
		return api.Job{Function: name, Kind: KindCognitoTrigger, Trigger: api.TriggerPostAuthentication, Actions: []string{"dynamodb:PutItem"},
			PostAuthentication: func(context.Context, *store.Store, events.CognitoEventUserPoolsPostAuthentication) (int, error) {
				return 0, nil
			}}
	}
	worker := func(name string) api.Job {
		return api.Job{Function: name, Kind: KindQueueWorker, Actions: []string{"sqs:ReceiveMessage"}}
	}
	for _, tc := range []struct {
		name   string
		routes []api.Route
		jobs   []api.Job
		want   string
	}{
		{"long name", []api.Route{route(long, "GET", "/x")}, nil, "longer than"},
		{"unknown service", []api.Route{sns}, nil, "no resources known for sns"},
		{"sqs without a queue worker", []api.Route{sqs}, nil, "no queue-worker job consumes the jobs queue"},
		{"two queue workers", nil, []api.Job{worker("worker-a"), worker("worker-b")}, "both queue workers"},
		{"unknown kind", nil, []api.Job{{Function: "stream-consumer", Kind: "dynamodb-stream"}}, "cannot wire its trigger"},
		{"unknown Cognito trigger", nil, []api.Job{{Function: "pre-sign-up", Kind: KindCognitoTrigger, Trigger: "PreSignUp"}}, "cannot wire its trigger"},
		{"Post Authentication without a handler", nil, []api.Job{{Function: "post-auth", Kind: KindCognitoTrigger, Trigger: api.TriggerPostAuthentication}}, "cannot wire its trigger"},
		{"two Post Authentication triggers", nil, []api.Job{postAuth("post-auth-a"), postAuth("post-auth-b")}, "both the user pool's PostAuthentication trigger"},
		{"a trigger calling Cognito", nil, []api.Job{func() api.Job {
			j := postAuth("post-auth")
			j.Actions = append(j.Actions, "cognito-idp:AdminGetUser")
			return j
		}()}, "cannot call Cognito"},
		{"schedule without an expression", nil, []api.Job{{Function: "expire-invitations", Kind: KindSchedule}}, "no rate(...) or cron(...)"},
		{"schedule with a bad expression", nil, []api.Job{{Function: "expire-invitations", Kind: KindSchedule, Schedule: "every 15 minutes"}}, "no rate(...) or cron(...)"},
		{"schedule with a singular rate", nil, []api.Job{{Function: "expire-invitations", Kind: KindSchedule, Schedule: "rate(15 minute)"}}, "no rate(...) or cron(...)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fns, err := FunctionsOf(tc.routes, tc.jobs)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Template(fns); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	fns, _ := FunctionsOf([]api.Route{ses}, nil)
	tpl, err := Template(fns)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(tpl, []byte("${AWS::AccountId}:identity/*")) || !bytes.Contains(tpl, []byte("- ses:SendEmail")) {
		t.Errorf("SES actions are not granted on the account's identities:\n%s", tpl)
	}
}

// TestTemplateSchedule: a schedule's function runs on a ScheduleV2 event with its
// expression, an unnamed schedule, its Input and its own least-privilege policy;
// every function reads the mail sender and the user pool from its environment, and
// Cognito actions are granted on the user pool.
func TestTemplateSchedule(t *testing.T) {
	run := func(context.Context, *store.Store, time.Time) (any, error) { return nil, nil }
	sched := api.Job{Function: "expire-invitations", Kind: KindSchedule, Schedule: "rate(15 minutes)", Summary: "Expires",
		Actions: []string{"dynamodb:Query", "dynamodb:GetItem"}, Run: run}
	signOut := route("members-remove", "DELETE", "/api/members/{id}")
	signOut.Actions = []string{"cognito-idp:AdminUserGlobalSignOut"}
	fns, err := FunctionsOf([]api.Route{signOut}, []api.Job{sched})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Template(fns)
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]map[string]any `yaml:"Parameters"`
		Globals    struct {
			Function struct {
				Environment struct {
					Variables map[string]any `yaml:"Variables"`
				} `yaml:"Environment"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	fn := tpl.Resources["ExpireInvitationsFunction"].Properties
	// roleStatements are the statements of the function's role's one inline policy.
	roleStatements := func(fnID string) []any {
		pols, _ := tpl.Resources[fnID+"Role"].Properties["Policies"].([]any)
		if len(pols) != 1 {
			t.Fatalf("%sRole has %d policies, want 1", fnID, len(pols))
		}
		sts, _ := pols[0].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)
		return sts
	}
	ev, _ := fn["Events"].(map[string]any)[ScheduleEventName].(map[string]any)
	props, _ := ev["Properties"].(map[string]any)
	for what, c := range map[string]struct{ got, want any }{
		"event type":      {ev["Type"], "ScheduleV2"},
		"expression":      {props["ScheduleExpression"], "rate(15 minutes)"},
		"unnamed":         {props["OmitName"], true},
		"on time":         {props["FlexibleTimeWindow"], map[string]any{"Mode": "OFF"}},
		"timeout":         {fn["Timeout"], ScheduleTimeout},
		"role":            {fn["Role"], map[string]any{"Fn::GetAtt": []any{"ExpireInvitationsFunctionRole", "Arn"}}},
		"no SAM policies": {fn["Policies"], nil},
		"policy": {roleStatements("ExpireInvitationsFunction"), []any{
			map[string]any{"Sid": "LogStreams", "Effect": "Allow", "Action": []any{"logs:CreateLogStream"}, "Resource": []any{map[string]any{"Fn::GetAtt": []any{"FunctionLogs", "Arn"}}}},
			map[string]any{"Sid": "Logs", "Effect": "Allow", "Action": []any{"logs:PutLogEvents"}, "Resource": []any{map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${FunctionLogs}:log-stream:*/${AWS::StackName}-expire-invitations[*"}}},
			map[string]any{"Sid": "Table", "Effect": "Allow", "Action": []any{"dynamodb:Query", "dynamodb:GetItem"}, "Resource": []any{map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}}},
			map[string]any{"Sid": "TableIndexes", "Effect": "Allow", "Action": []any{"dynamodb:Query"}, "Resource": []any{map[string]any{"Fn::Sub": "${Table.Arn}/index/GSI1"}, map[string]any{"Fn::Sub": "${Table.Arn}/index/GSI2"}}}}},
		"MAIL_FROM": {tpl.Globals.Function.Environment.Variables["MAIL_FROM"], map[string]any{"Ref": "MailFrom"}},
		// The user pool's ids only in the functions that call Cognito, never in Globals.
		"USER_POOL_ID in Globals":        {tpl.Globals.Function.Environment.Variables["USER_POOL_ID"], nil},
		"USER_POOL_CLIENT_ID in Globals": {tpl.Globals.Function.Environment.Variables["USER_POOL_CLIENT_ID"], nil},
		"user pool of the Cognito caller": {tpl.Resources["MembersRemoveFunction"].Properties["Environment"],
			map[string]any{"Variables": map[string]any{"USER_POOL_ID": map[string]any{"Ref": "UserPool"}, "USER_POOL_CLIENT_ID": map[string]any{"Ref": "UserPoolClient"}}}},
		"no user pool for the schedule": {fn["Environment"], nil},
		"MailFrom default":              {tpl.Parameters["MailFrom"]["Default"], "no-reply@example.com"},
		"cognito statement": {roleStatements("MembersRemoveFunction")[2],
			map[string]any{"Sid": "UserPool", "Effect": "Allow", "Action": []any{"cognito-idp:AdminUserGlobalSignOut"}, "Resource": []any{map[string]any{"Fn::GetAtt": []any{"UserPool", "Arn"}}}}},
	} {
		if js(c.got) != js(c.want) {
			t.Errorf("%s: %s, want %s", what, js(c.got), js(c.want))
		}
	}
	var input map[string]string
	if err := json.Unmarshal([]byte(props["Input"].(string)), &input); err != nil {
		t.Fatalf("Input %v: %v", props["Input"], err)
	}
	for k, want := range map[string]string{"schedule": "expire-invitations", "scheduleArn": "<aws.scheduler.schedule-arn>",
		"scheduledTime": "<aws.scheduler.scheduled-time>", "executionId": "<aws.scheduler.execution-id>",
		"attemptNumber": "<aws.scheduler.attempt-number>"} {
		if input[k] != want {
			t.Errorf("Input %s = %q, want %q", k, input[k], want)
		}
	}
	pattern := regexp.MustCompile(tpl.Parameters["MailFrom"]["AllowedPattern"].(string))
	for addr, ok := range map[string]bool{"no-reply@example.com": true, "Switchboard <no-reply@mail.example.com>": true,
		"no-reply": false, "Switchboard no-reply@example.com": false, "<no-reply@example.com>": false} {
		if pattern.MatchString(addr) != ok {
			t.Errorf("MailFrom pattern accepts %q: %v, want %v", addr, !ok, ok)
		}
	}

	// A schedule's main.go starts its handler; one without Run has none to start.
	src, err := ScheduleMainGo(sched)
	if err != nil || !bytes.Contains(src, []byte(`lambdaentry.Schedule("expire-invitations")`)) {
		t.Errorf("main.go: %v\n%s", err, src)
	}
	sched.Run = nil
	if _, err := ScheduleMainGo(sched); err == nil {
		t.Error("ScheduleMainGo accepted a schedule without Run")
	}
}

func TestEventShape(t *testing.T) {
	for _, tc := range []struct {
		route        api.Route
		authorizer   bool
		orgHeader    bool
		body         bool
		idempotency  bool
		rawPath      string
		organization string
	}{
		{api.Route{Method: http.MethodGet, Path: "/api/openapi.json", Permission: permission.Public, Function: "openapi-get"},
			false, false, false, false, "/api/openapi.json", ""},
		{api.Route{Method: http.MethodPost, Path: "/api/organizations", Permission: permission.Authenticated, Function: "organizations-create"},
			true, false, true, true, "/api/organizations", ""},
		{api.Route{Method: http.MethodPut, Path: "/api/organizations/{orgId}", Permission: permission.RenameOrganization,
			Function: "organizations-rename", OrgParam: "orgId"}, true, false, true, false, "/api/organizations/" + SampleOrgID, ""},
		{api.Route{Method: http.MethodGet, Path: "/api/customers/{customerId}/tenants/{tenantId}", Permission: permission.ViewData,
			Function: "tenants-get"}, true, true, false, false, "/api/customers/sample-customer/tenants/sample-tenant", SampleOrgID},
	} {
		t.Run(tc.route.Function, func(t *testing.T) {
			raw, err := Event(tc.route)
			if err != nil {
				t.Fatal(err)
			}
			s := string(raw)
			for _, c := range []struct {
				what string
				has  bool
				want bool
			}{
				{"authorizer", strings.Contains(s, `"authorizer"`), tc.authorizer},
				{"x-organization-id", strings.Contains(s, `"x-organization-id": "`+SampleOrgID+`"`), tc.orgHeader},
				{"body", strings.Contains(s, `"body"`), tc.body},
				{"idempotency-key", strings.Contains(s, `"idempotency-key"`), tc.idempotency},
				{"rawPath", strings.Contains(s, `"rawPath": "`+tc.rawPath+`"`), true},
			} {
				if c.has != c.want {
					t.Errorf("%s: present %v, want %v\n%s", c.what, c.has, c.want, s)
				}
			}
		})
	}
}

func TestSampleParam(t *testing.T) {
	for in, want := range map[string]string{"orgId": SampleOrgID, "customerId": "sample-customer",
		"companyUserId": "sample-company-user", "name": "sample-name"} {
		if got := SampleParam(in); got != want {
			t.Errorf("SampleParam(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestWrite generates into an empty tree, then regenerates without changes, then
// removes what it generated for a function that is gone and keeps hand-written files.
func TestWrite(t *testing.T) {
	root := t.TempDir()
	changed, err := Write(root)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(files) {
		t.Errorf("first run wrote %d files, want %d", len(changed), len(files))
	}
	if changed, err := Write(root); err != nil || len(changed) != 0 {
		t.Errorf("second run changed %v (%v), want nothing", changed, err)
	}
	gone := filepath.Join(root, "functions", "gone-get")
	handWritten := filepath.Join(root, "functions", "hand-written")
	for dir, src := range map[string]string{gone: "// " + Generated + "\npackage main\n", handWritten: "package main\n"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "events", "gone-get.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err = Write(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"events/gone-get.json (removed)", "functions/gone-get (removed)"}
	if !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v", changed, want)
	}
	if _, err := os.Stat(handWritten); err != nil {
		t.Errorf("a hand-written function folder was removed: %v", err)
	}
}

// TestTemplateGrantsQueueAndBucket: with a queue worker, SQS actions are granted on the
// jobs queue; S3 object actions on the documents bucket's objects and bucket actions on
// the bucket; the queue and its dead-letter queue exist only with a worker.
func TestTemplateGrantsQueueAndBucket(t *testing.T) {
	docs := route("documents-upload", "POST", "/api/documents")
	docs.Actions = []string{"sqs:SendMessage", "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListBucket"}
	w := api.Job{Function: "job-worker", Kind: KindQueueWorker, Summary: "w",
		Actions: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "dynamodb:GetItem"}}
	fns, err := FunctionsOf([]api.Route{docs}, []api.Job{w})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Template(fns)
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	statements := func(id string) map[string]string {
		out := map[string]string{}
		pols, _ := tpl.Resources[id+"Role"].Properties["Policies"].([]any)
		for _, p := range pols {
			for _, st := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				res, _ := json.Marshal(st["Resource"])
				act, _ := json.Marshal(st["Action"])
				out[st["Sid"].(string)] = string(act) + " on " + string(res)
			}
		}
		return out
	}
	for id, want := range map[string]map[string]string{
		"DocumentsUploadFunction": {
			"JobsQueue":       `["sqs:SendMessage"] on [{"Fn::GetAtt":["JobsQueue","Arn"]}]`,
			"Documents":       `["s3:PutObject","s3:GetObject","s3:DeleteObject"] on [{"Fn::Sub":"${DocumentsBucket.Arn}/orgs/*"}]`,
			"DocumentsBucket": `["s3:ListBucket"] on [{"Fn::GetAtt":["DocumentsBucket","Arn"]}]`,
		},
		"JobWorkerFunction": {
			"JobsQueue": `["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"] on [{"Fn::GetAtt":["JobsQueue","Arn"]}]`,
			"Table":     `["dynamodb:GetItem"] on [{"Fn::GetAtt":["Table","Arn"]}]`,
		},
	} {
		got := statements(id)
		for sid := range got {
			// A route's Table and TableIndexes statements hold AuthActions; Logs and LogStreams are every function's.
			if _, ok := want[sid]; !ok && sid != "Table" && sid != "TableIndexes" && sid != "Logs" && sid != "LogStreams" {
				t.Errorf("%s: unexpected statement %s: %s", id, sid, got[sid])
			}
		}
		for sid, w := range want {
			if got[sid] != w {
				t.Errorf("%s: %s grants %s, want %s", id, sid, got[sid], w)
			}
		}
	}
	for _, id := range []string{"JobsQueue", "JobsDeadLetterQueue", "JobWorkerQueueMapping", "DocumentsBucket", "DocumentsBucketPolicy"} {
		if tpl.Resources[id].Type == "" {
			t.Errorf("no %s in the template", id)
		}
	}

	// Without a worker there is no queue to send to, and no queue in the template.
	fns, _ = FunctionsOf([]api.Route{route("a-get", "GET", "/a")}, nil)
	raw, err = Template(fns)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("JobsQueue")) || bytes.Contains(raw, []byte("JOBS_QUEUE_URL")) {
		t.Errorf("a template without a queue worker has a jobs queue")
	}
}
