package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.yaml.in/yaml/v3"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/envelope/kmskeys"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// repoRoot is the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func readFile(t testing.TB, root, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("%v (run `make generate`)", err)
	}
	return b
}

// template is the committed template.yaml, parsed back.
type template struct {
	Parameters map[string]map[string]any `yaml:"Parameters"`
	Globals    map[string]any            `yaml:"Globals"`
	Resources  map[string]resource       `yaml:"Resources"`
	Outputs    map[string]any            `yaml:"Outputs"`
}

type resource struct {
	Type       string         `yaml:"Type"`
	Metadata   map[string]any `yaml:"Metadata"`
	Properties map[string]any `yaml:"Properties"`
}

func loadTemplate(t testing.TB) template {
	t.Helper()
	var tpl template
	if err := yaml.Unmarshal(readFile(t, repoRoot(t), templategen.TemplateFile), &tpl); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	return tpl
}

// dig walks nested maps by key and lists by index ("0").
func dig(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }
func sub(s string) map[string]any    { return map[string]any{"Fn::Sub": s} }

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestCommittedFilesAreGenerated fails when a route was added, changed or removed and
// the generated files were not rewritten.
func TestCommittedFilesAreGenerated(t *testing.T) {
	root := repoRoot(t)
	files, err := templategen.Files()
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		switch {
		case err != nil:
			t.Errorf("%s is missing: run `make generate` (%v)", p, err)
		case !bytes.Equal(got, files[p]):
			t.Errorf("%s differs from what the route table generates: run `make generate`", p)
		}
	}
	stale, err := templategen.Stale(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		t.Errorf("%s was generated for a function that is no longer in the route table: run `make generate`", p)
	}
}

func TestLogicalIDs(t *testing.T) {
	for _, tc := range []struct{ name, function, logGroup string }{
		{"me-get", "MeGetFunction", "MeGetLogGroup"},
		{"audit-log-list", "AuditLogListFunction", "AuditLogListLogGroup"},
		{"me-active-organization-put", "MeActiveOrganizationPutFunction", "MeActiveOrganizationPutLogGroup"},
		{"m365-sync", "M365SyncFunction", "M365SyncLogGroup"},
	} {
		f := templategen.Function{Name: tc.name}
		if f.LogicalID() != tc.function || f.LogGroupID() != tc.logGroup {
			t.Errorf("%s: got %s, %s; want %s, %s", tc.name, f.LogicalID(), f.LogGroupID(), tc.function, tc.logGroup)
		}
	}
}

func TestRoutePermissionsAreValid(t *testing.T) {
	for _, rt := range api.Routes() {
		if !permission.Valid(rt.Permission) {
			t.Errorf("%s %s (%s): permission %q is not in the permission table", rt.Method, rt.Path, rt.Function, rt.Permission)
		}
	}
}

// effective is a function property, from the function or from Globals.
func effective(tpl template, props map[string]any, key string) any {
	if key == "Environment" {
		// SAM adds a function's variables to the Globals' ones.
		vars := map[string]any{}
		for _, from := range []any{dig(tpl.Globals, "Function", key, "Variables"), dig(props, key, "Variables")} {
			m, _ := from.(map[string]any)
			for k, v := range m {
				vars[k] = v
			}
		}
		return map[string]any{"Variables": vars}
	}
	if v, ok := props[key]; ok {
		return v
	}
	return dig(tpl.Globals, "Function", key)
}

// policyActions returns the actions the function's role grants beyond its log writes,
// sorted and each once (a Query is granted on the table and on its indexes), and
// checks where the role grants them (checkResource). The function runs with its own
// role, whose one inline policy is the only thing that grants it anything: no policy
// on the function for SAM (which would ignore it), no managed policy.
func policyActions(t *testing.T, tpl template, f templategen.Function) []string {
	t.Helper()
	props := tpl.Resources[f.LogicalID()].Properties
	if props["Policies"] != nil || !equalJSON(props["Role"], map[string]any{"Fn::GetAtt": []any{f.RoleID(), "Arn"}}) {
		t.Errorf("%s: Role %v, Policies %v; want its own role %s and no SAM policies", f.LogicalID(), props["Role"], props["Policies"], f.RoleID())
	}
	role := tpl.Resources[f.RoleID()]
	if role.Type != "AWS::IAM::Role" {
		t.Fatalf("%s is %q, want an AWS::IAM::Role", f.RoleID(), role.Type)
	}
	if !equalJSON(dig(role.Properties, "AssumeRolePolicyDocument", "Statement"), []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}}) {
		t.Errorf("%s: trust policy %v; only Lambda may assume it", f.RoleID(), dig(role.Properties, "AssumeRolePolicyDocument"))
	}
	for key := range role.Properties {
		if key != "AssumeRolePolicyDocument" && key != "Policies" {
			t.Errorf("%s: unexpected property %s (a managed policy or boundary would grant what the route table does not list)", f.RoleID(), key)
		}
	}
	policies, _ := role.Properties["Policies"].([]any)
	if len(policies) != 1 {
		t.Fatalf("%s: %d inline policies, want 1", f.RoleID(), len(policies))
	}
	seen := map[string]bool{}
	var actions, logs []string
	stmts, _ := dig(policies[0], "PolicyDocument", "Statement").([]any)
	for _, s := range stmts {
		if dig(s, "Effect") != "Allow" {
			t.Errorf("statement %v is not an Allow", s)
		}
		sid := fmt.Sprint(dig(s, "Sid"))
		acts, _ := dig(s, "Action").([]any)
		for _, a := range acts {
			as := fmt.Sprint(a)
			checkResource(t, f, sid, as, dig(s, "Resource"))
			if sid == "Logs" {
				logs = append(logs, as)
				continue
			}
			if !seen[as] {
				seen[as] = true
				actions = append(actions, as)
			}
		}
	}
	if !slices.Equal(logs, templategen.LogActions) {
		t.Errorf("%s: writes logs with %v, want %v on its log group", f.RoleID(), logs, templategen.LogActions)
	}
	slices.Sort(actions)
	return actions
}

// checkResource checks that a statement grants action on the resources of its service,
// never "*": Logs on the function's own log group, DynamoDB on the table (Query and
// Scan on each of its indexes too, by name), Cognito on the user pool, SQS on the jobs
// queue, S3 objects under the documents prefix and bucket actions on the bucket,
// EventBridge on the billing bus, and SES on the account's identities (TestTemplateGrantsNoWildcards says why).
func checkResource(t *testing.T, f templategen.Function, sid, action string, got any) {
	t.Helper()
	var indexes []any
	for _, g := range store.TableDefinition().GlobalSecondaryIndexes {
		indexes = append(indexes, sub("${Table.Arn}/index/"+*g.IndexName))
	}
	getAtt := func(id string) []any { return []any{map[string]any{"Fn::GetAtt": []any{id, "Arn"}}} }
	want := map[string]struct {
		actions string // the statement's actions: a service prefix, or exact actions
		res     any
	}{
		"Logs":            {"logs:CreateLogStream logs:PutLogEvents", getAtt(f.LogGroupID())},
		"Table":           {"dynamodb:", getAtt("Table")},
		"TableIndexes":    {"dynamodb:Query dynamodb:Scan", indexes},
		"UserPool":        {"cognito-idp:", getAtt("UserPool")},
		"JobsQueue":       {"sqs:", getAtt("JobsQueue")},
		"Documents":       {"s3:", []any{sub("${DocumentsBucket.Arn}/" + templategen.DocumentsPrefix + "*")}},
		"DocumentsBucket": {"s3:ListBucket s3:GetBucket", getAtt("DocumentsBucket")},
		"SesSender":       {"ses:", []any{sub(templategen.SESIdentities)}},
		"ConnectionsKey":  {"kms:GenerateDataKey kms:Decrypt", getAtt(templategen.ConnectionsKeyID)},
		"BillingBus":      {"events:", getAtt(templategen.BillingBusID)},
	}[sid]
	if want.res == nil {
		t.Errorf("%s: statement %s (%s on %v) is none the template should write", f.RoleID(), sid, action, got)
		return
	}
	ok := false
	for _, a := range strings.Fields(want.actions) {
		ok = ok || a == action || strings.HasSuffix(a, ":") && strings.HasPrefix(action, a) ||
			a == "s3:GetBucket" && strings.HasPrefix(action, a)
	}
	if !ok {
		t.Errorf("%s: statement %s grants %s; it is for %s", f.RoleID(), sid, action, want.actions)
	}
	if !equalJSON(got, want.res) {
		t.Errorf("%s: %s granted on %v, want %v", f.RoleID(), action, got, want.res)
	}
}

// TestEveryRouteIsDeployed checks, for each route, its function folder, event,
// template function with the matching HttpApi event, log group, policy and build target.
func TestEveryRouteIsDeployed(t *testing.T) {
	root := repoRoot(t)
	tpl := loadTemplate(t)
	buildMk := string(readFile(t, root, templategen.BuildMkFile))
	vars := routeVars(t, filepath.Join(root, "shared", "api"))
	for _, rt := range api.Routes() {
		t.Run(rt.Function, func(t *testing.T) {
			f := templategen.Function{Name: rt.Function, Route: &rt}

			main := string(readFile(t, root, "functions/"+rt.Function+"/main.go"))
			name := templategen.RouteVar(rt.Function)
			if !strings.Contains(main, "package main") || !strings.Contains(main, "lambdaentry.Serve(api."+name) {
				t.Errorf("functions/%s/main.go does not serve api.%s", rt.Function, name)
			}
			if got, ok := vars[name]; !ok || got != rt.Function {
				t.Errorf("api.%s: want a package variable set to a Route literal of function %q; found function %q", name, rt.Function, got)
			}
			if n := strings.Count(main, "\n"); n > 16 {
				t.Errorf("functions/%s/main.go has %d lines; it should only wire the handler", rt.Function, n)
			}

			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(readFile(t, root, "events/"+rt.Function+".json"), &ev); err != nil {
				t.Fatalf("events/%s.json: %v", rt.Function, err)
			}
			if ev.Version != "2.0" || ev.RouteKey != rt.Pattern() || ev.RequestContext.RouteKey != rt.Pattern() ||
				ev.RequestContext.HTTP.Method != rt.Method {
				t.Errorf("event: version %q routeKey %q method %q; want 2.0, %q, %q", ev.Version, ev.RouteKey,
					ev.RequestContext.HTTP.Method, rt.Pattern(), rt.Method)
			}
			wantPath := rt.Path
			for _, p := range rt.PathParams() {
				if ev.PathParameters[p] == "" {
					t.Errorf("event lacks path parameter %s", p)
				}
				wantPath = strings.Replace(wantPath, "{"+p+"}", ev.PathParameters[p], 1)
			}
			if len(ev.PathParameters) != len(rt.PathParams()) || ev.RawPath != wantPath || ev.RequestContext.HTTP.Path != wantPath {
				t.Errorf("event path %q params %v; want %q", ev.RawPath, ev.PathParameters, wantPath)
			}
			hasAuthorizer := ev.RequestContext.Authorizer != nil && ev.RequestContext.Authorizer.JWT != nil
			if hasAuthorizer == (rt.Permission == permission.Public) {
				t.Errorf("event has JWT claims: %v; the route is %s", hasAuthorizer, rt.Permission)
			}

			res, ok := tpl.Resources[f.LogicalID()]
			if !ok {
				t.Fatalf("template.yaml has no %s", f.LogicalID())
			}
			if res.Type != "AWS::Serverless::Function" || dig(res.Metadata, "BuildMethod") != "makefile" {
				t.Errorf("%s: type %s, BuildMethod %v", f.LogicalID(), res.Type, dig(res.Metadata, "BuildMethod"))
			}
			p := res.Properties
			for key, want := range map[string]any{
				"Runtime": "provided.al2023", "Handler": "bootstrap", "CodeUri": ".", "Architectures": []any{"arm64"},
				"FunctionName": sub("${AWS::StackName}-" + rt.Function),
			} {
				if got := effective(tpl, p, key); !equalJSON(got, want) {
					t.Errorf("%s: %s is %v, want %v", f.LogicalID(), key, got, want)
				}
			}
			for _, env := range []string{"TABLE_NAME", "CONSOLE_URL", "SES_SENDER", "JOBS_QUEUE_URL", "DOCUMENTS_BUCKET"} {
				if dig(effective(tpl, p, "Environment"), "Variables", env) == nil {
					t.Errorf("%s: no environment variable %s", f.LogicalID(), env)
				}
			}
			// The connections key's id only where KMS is called.
			callsKMS := slices.ContainsFunc(rt.Actions, func(a string) bool { return strings.HasPrefix(a, "kms:") })
			if got := dig(effective(tpl, p, "Environment"), "Variables", kmskeys.EnvKeyID); callsKMS != (got != nil) ||
				callsKMS && !equalJSON(got, map[string]any{"Fn::GetAtt": []any{templategen.ConnectionsKeyID, "Arn"}}) {
				t.Errorf("%s: %s is %v; calls KMS: %v", f.LogicalID(), kmskeys.EnvKeyID, got, callsKMS)
			}
			// The user pool's ids only where Cognito is called: the pool refers to its
			// trigger functions, so no function may depend on the pool without need.
			callsCognito := slices.ContainsFunc(rt.Actions, func(a string) bool { return strings.HasPrefix(a, "cognito-idp:") })
			for env, want := range map[string]any{"USER_POOL_ID": ref("UserPool"), "USER_POOL_CLIENT_ID": ref("UserPoolClient")} {
				got := dig(effective(tpl, p, "Environment"), "Variables", env)
				if callsCognito && !equalJSON(got, want) || !callsCognito && got != nil {
					t.Errorf("%s: %s is %v; calls Cognito: %v", f.LogicalID(), env, got, callsCognito)
				}
			}

			evs, _ := p["Events"].(map[string]any)
			if len(evs) != 1 {
				t.Fatalf("%s: %d events, want the one HttpApi event", f.LogicalID(), len(evs))
			}
			for name, e := range evs {
				if dig(e, "Type") != "HttpApi" || !strings.EqualFold(fmt.Sprint(dig(e, "Properties", "Method")), rt.Method) ||
					dig(e, "Properties", "Path") != rt.Path || !equalJSON(dig(e, "Properties", "ApiId"), ref("HttpApi")) {
					t.Errorf("%s: event %s is %v; want HttpApi %s %s on HttpApi", f.LogicalID(), name, e, rt.Method, rt.Path)
				}
				auth := dig(e, "Properties", "Auth", "Authorizer")
				if rt.Permission == permission.Public && auth != "NONE" {
					t.Errorf("%s: public route has authorizer %v, want NONE", f.LogicalID(), auth)
				}
				if rt.Permission != permission.Public && auth != nil {
					t.Errorf("%s: route needs the default (Cognito) authorizer, has %v", f.LogicalID(), auth)
				}
			}

			lg := dig(p, "LoggingConfig", "LogGroup", "Ref")
			if lg != f.LogGroupID() {
				t.Errorf("%s: LoggingConfig.LogGroup is %v, want Ref %s", f.LogicalID(), lg, f.LogGroupID())
			}
			group := tpl.Resources[f.LogGroupID()]
			if group.Type != "AWS::Logs::LogGroup" ||
				!equalJSON(group.Properties["LogGroupName"], sub("/aws/lambda/${AWS::StackName}-"+rt.Function)) ||
				!equalJSON(group.Properties["RetentionInDays"], ref("LogRetentionDays")) {
				t.Errorf("%s: log group %+v", f.LogGroupID(), group)
			}

			// Exactly the entry's actions, both ways: nothing it calls is denied (the
			// least-privilege gate checks what it calls against the entry) and nothing
			// else is granted.
			actions := policyActions(t, tpl, f)
			want := slices.Clone(rt.IAMActions())
			slices.Sort(want)
			if !slices.Equal(actions, want) {
				t.Errorf("%s: its role allows %v; the route table's IAMActions are %v", f.LogicalID(), actions, want)
			}

			if !strings.Contains(buildMk, "\nbuild-"+f.LogicalID()+":\n") || !strings.Contains(buildMk, "./functions/"+rt.Function+"\n") {
				t.Errorf("functions/build.mk has no build-%s target for ./functions/%s", f.LogicalID(), rt.Function)
			}
		})
	}
}

// TestEveryJobIsDeployed checks the functions no route starts: for the queue worker,
// its generated main.go and SQS event, its function, log group, exact policy, event
// source mapping and the queue with its dead-letter queue.
func TestEveryJobIsDeployed(t *testing.T) {
	root := repoRoot(t)
	tpl := loadTemplate(t)
	buildMk := string(readFile(t, root, templategen.BuildMkFile))
	workers := 0
	for _, j := range api.Jobs() {
		t.Run(j.Function, func(t *testing.T) {
			f := templategen.Function{Name: j.Function, Job: &j}
			main, err := os.ReadFile(filepath.Join(root, "functions", j.Function, "main.go"))
			if err != nil {
				t.Errorf("job %s: %v", j.Function, err)
			}
			fn := tpl.Resources[f.LogicalID()]
			if fn.Type != "AWS::Serverless::Function" {
				t.Fatalf("job %s: template.yaml has no %s", j.Function, f.LogicalID())
			}
			if tpl.Resources[f.LogGroupID()].Type != "AWS::Logs::LogGroup" {
				t.Errorf("job %s: template.yaml has no %s", j.Function, f.LogGroupID())
			}
			// The console's target has the web build as its prerequisite.
			if !strings.Contains(buildMk, "\nbuild-"+f.LogicalID()+":") || !strings.Contains(buildMk, "./functions/"+j.Function+"\n") {
				t.Errorf("functions/build.mk has no build-%s target", f.LogicalID())
			}
			actions := policyActions(t, tpl, f)
			want := slices.Clone(j.Actions)
			slices.Sort(want)
			if !slices.Equal(actions, want) {
				t.Errorf("%s: its role allows %v; the job's Actions are %v", f.LogicalID(), actions, want)
			}
			if j.Kind == templategen.KindCognitoTrigger {
				checkTrigger(t, tpl, f)
				return
			}
			if j.Kind == templategen.KindConsole {
				checkConsole(t, tpl, f, string(main))
				return
			}
			if j.Kind != templategen.KindQueueWorker {
				return
			}
			workers++
			if !strings.Contains(string(main), fmt.Sprintf("lambdaentry.Worker(%q, sqsqueue.Connect)", j.Function)) {
				t.Errorf("functions/%s/main.go does not start worker %s:\n%s", j.Function, j.Function, main)
			}
			for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} {
				if !slices.Contains(j.Actions, a) {
					t.Errorf("a queue worker needs %s", a)
				}
			}
			var ev events.SQSEvent
			if err := json.Unmarshal(readFile(t, root, "events/"+j.Function+".json"), &ev); err != nil || len(ev.Records) == 0 {
				t.Fatalf("events/%s.json is no SQS event: %v", j.Function, err)
			}
			for _, r := range ev.Records {
				m, err := jobs.ParseMessage(r.Body)
				if err != nil || r.EventSource != "aws:sqs" || r.MessageId == "" || r.ReceiptHandle == "" ||
					m.OrganizationID != templategen.SampleOrgID || m.JobID != templategen.SampleJobID {
					t.Errorf("event record %+v: %v", r, err)
				}
			}
			if evs := fn.Properties["Events"]; evs != nil {
				t.Errorf("%s: SAM events %v; the worker's trigger is its own event source mapping", f.LogicalID(), evs)
			}
			timeout, _ := effective(tpl, fn.Properties, "Timeout").(int)
			if timeout != templategen.WorkerTimeout || fn.Properties["MemorySize"] != templategen.WorkerMemory {
				t.Errorf("%s: Timeout %v, MemorySize %v", f.LogicalID(), timeout, fn.Properties["MemorySize"])
			}

			mapping := tpl.Resources[f.WorkerMappingID()]
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"mapping type", mapping.Type, "AWS::Lambda::EventSourceMapping"},
				{"mapping queue", mapping.Properties["EventSourceArn"], map[string]any{"Fn::GetAtt": []any{"JobsQueue", "Arn"}}},
				{"mapping function", mapping.Properties["FunctionName"], ref(f.LogicalID())},
				{"mapping batch size", mapping.Properties["BatchSize"], templategen.WorkerBatchSize},
				{"partial batch responses", mapping.Properties["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}},
			} {
				if !equalJSON(c.got, c.want) {
					t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
				}
			}

			queue, dlq := tpl.Resources["JobsQueue"], tpl.Resources["JobsDeadLetterQueue"]
			if queue.Type != "AWS::SQS::Queue" || dlq.Type != "AWS::SQS::Queue" {
				t.Fatalf("queue %q, dead-letter queue %q", queue.Type, dlq.Type)
			}
			if v, _ := queue.Properties["VisibilityTimeout"].(int); v < 6*timeout {
				t.Errorf("VisibilityTimeout %d, want at least 6 × the worker's timeout %d", v, timeout)
			}
			for _, c := range []struct {
				what      string
				got, want any
			}{
				{"dead-letter target", dig(queue.Properties, "RedrivePolicy", "deadLetterTargetArn"), map[string]any{"Fn::GetAtt": []any{"JobsDeadLetterQueue", "Arn"}}},
				{"maxReceiveCount", dig(queue.Properties, "RedrivePolicy", "maxReceiveCount"), 5},
				{"queue SSE", queue.Properties["SqsManagedSseEnabled"], true},
				{"dead-letter queue SSE", dlq.Properties["SqsManagedSseEnabled"], true},
				{"queue URL in every function", dig(tpl.Globals, "Function", "Environment", "Variables", "JOBS_QUEUE_URL"), ref("JobsQueue")},
				{"the worker gives up on a job before the queue gives up on its message", jobs.MaxAttempts, templategen.QueueMaxReceiveCount - 1},
			} {
				if !equalJSON(c.got, c.want) {
					t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
				}
			}
			if jobs.DefaultYieldMargin >= time.Duration(timeout)*time.Second/2 {
				t.Errorf("runners are asked to yield %v before a %ds timeout: they would hardly run", jobs.DefaultYieldMargin, timeout)
			}
		})
	}
	if workers != 1 {
		t.Errorf("%d queue workers in api.Jobs, want 1 (every kind of job runs on it)", workers)
	}
}

// TestTemplateDocumentsBucket checks the customer documents bucket: private,
// encrypted, TLS only, uploads from the console, incomplete uploads cleaned up.
func TestTemplateDocumentsBucket(t *testing.T) {
	tpl := loadTemplate(t)
	b, pol := tpl.Resources["DocumentsBucket"], tpl.Resources["DocumentsBucketPolicy"]
	bucketArn := map[string]any{"Fn::GetAtt": []any{"DocumentsBucket", "Arn"}}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"type", b.Type, "AWS::S3::Bucket"},
		{"encryption", dig(b.Properties, "BucketEncryption", "ServerSideEncryptionConfiguration", "0", "ServerSideEncryptionByDefault", "SSEAlgorithm"), "AES256"},
		{"public access block", b.Properties["PublicAccessBlockConfiguration"], map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}},
		{"no ACLs", dig(b.Properties, "OwnershipControls", "Rules", "0", "ObjectOwnership"), "BucketOwnerEnforced"},
		{"CORS methods", dig(b.Properties, "CorsConfiguration", "CorsRules", "0", "AllowedMethods"), []any{"PUT"}},
		{"CORS origin", dig(b.Properties, "CorsConfiguration", "CorsRules", "0", "AllowedOrigins"), []any{ref("ConsoleUrl")}},
		{"CORS rules", len(dig(b.Properties, "CorsConfiguration", "CorsRules").([]any)), 1},
		{"abort incomplete uploads", dig(b.Properties, "LifecycleConfiguration", "Rules", "0", "AbortIncompleteMultipartUpload", "DaysAfterInitiation"), 1},
		{"lifecycle rule enabled", dig(b.Properties, "LifecycleConfiguration", "Rules", "0", "Status"), "Enabled"},
		{"bucket name in every function", dig(tpl.Globals, "Function", "Environment", "Variables", "DOCUMENTS_BUCKET"), ref("DocumentsBucket")},
		{"policy type", pol.Type, "AWS::S3::BucketPolicy"},
		{"policy bucket", pol.Properties["Bucket"], ref("DocumentsBucket")},
		{"TLS only", dig(pol.Properties, "PolicyDocument", "Statement", "0"), map[string]any{
			"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
			"Resource":  []any{bucketArn, sub("${DocumentsBucket.Arn}/*")},
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}},
	} {
		if !equalJSON(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
}

// TestNothingLacksARoute: every function folder, event, template function and HttpApi
// event belongs to a route or a job.
func TestNothingLacksARoute(t *testing.T) {
	root := repoRoot(t)
	known := map[string]bool{}
	byLogicalID := map[string]bool{}
	routeKeys := map[string]bool{}
	for _, rt := range api.Routes() {
		known[rt.Function] = true
		byLogicalID[templategen.Function{Name: rt.Function}.LogicalID()] = true
		routeKeys[rt.Method+" "+rt.Path] = true
	}
	for _, j := range api.Jobs() {
		known[j.Function] = true
		byLogicalID[templategen.Function{Name: j.Function}.LogicalID()] = true
		for _, p := range j.Paths {
			routeKeys["GET "+p] = true
		}
	}

	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !known[d.Name()] {
			t.Errorf("functions/%s serves no route or job: remove it (make generate removes generated ones)", d.Name())
		}
		if !d.IsDir() && d.Name() != "build.mk" {
			t.Errorf("functions/%s: only function folders and build.mk belong here", d.Name())
		}
	}
	evs, err := os.ReadDir(filepath.Join(root, "events"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !known[name] {
			t.Errorf("events/%s is the event of no route or job", e.Name())
		}
	}
	tpl := loadTemplate(t)
	for id, res := range tpl.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		if !byLogicalID[id] {
			t.Errorf("template.yaml function %s serves no route or job", id)
		}
		evs, _ := res.Properties["Events"].(map[string]any)
		for name, e := range evs {
			if dig(e, "Type") != "HttpApi" {
				continue
			}
			key := strings.ToUpper(fmt.Sprint(dig(e, "Properties", "Method"))) + " " + fmt.Sprint(dig(e, "Properties", "Path"))
			if !routeKeys[key] {
				t.Errorf("template.yaml %s event %s (%s) is no route of the table", id, name, key)
			}
		}
	}
}

func TestTemplateTableMatchesStore(t *testing.T) {
	tpl := loadTemplate(t)
	tbl := tpl.Resources[templategen.TableID]
	if tbl.Type != "AWS::DynamoDB::Table" {
		t.Fatalf("Table is %q", tbl.Type)
	}
	def := store.TableDefinition()
	p := tbl.Properties

	keySchema := func(v any) map[string]string {
		out := map[string]string{}
		list, _ := v.([]any)
		for _, k := range list {
			out[fmt.Sprint(dig(k, "KeyType"))] = fmt.Sprint(dig(k, "AttributeName"))
		}
		return out
	}
	wantKeys := map[string]string{}
	for _, k := range def.KeySchema {
		wantKeys[string(k.KeyType)] = *k.AttributeName
	}
	if got := keySchema(p["KeySchema"]); !equalJSON(got, wantKeys) {
		t.Errorf("KeySchema %v, want %v", got, wantKeys)
	}

	gotAttrs := map[string]string{}
	defs, _ := p["AttributeDefinitions"].([]any)
	for _, a := range defs {
		gotAttrs[fmt.Sprint(dig(a, "AttributeName"))] = fmt.Sprint(dig(a, "AttributeType"))
	}
	wantAttrs := map[string]string{}
	for _, a := range def.AttributeDefinitions {
		wantAttrs[*a.AttributeName] = string(a.AttributeType)
	}
	if !equalJSON(gotAttrs, wantAttrs) {
		t.Errorf("AttributeDefinitions %v, want %v", gotAttrs, wantAttrs)
	}

	type gsi struct {
		Keys       map[string]string
		Projection string
		NonKey     []string
	}
	gotGSIs := map[string]gsi{}
	list, _ := p["GlobalSecondaryIndexes"].([]any)
	for _, g := range list {
		var nonKey []string
		nk, _ := dig(g, "Projection", "NonKeyAttributes").([]any)
		for _, a := range nk {
			nonKey = append(nonKey, fmt.Sprint(a))
		}
		gotGSIs[fmt.Sprint(dig(g, "IndexName"))] = gsi{keySchema(dig(g, "KeySchema")), fmt.Sprint(dig(g, "Projection", "ProjectionType")), nonKey}
	}
	wantGSIs := map[string]gsi{}
	for _, g := range def.GlobalSecondaryIndexes {
		keys := map[string]string{}
		for _, k := range g.KeySchema {
			keys[string(k.KeyType)] = *k.AttributeName
		}
		wantGSIs[*g.IndexName] = gsi{keys, string(g.Projection.ProjectionType), g.Projection.NonKeyAttributes}
	}
	if !equalJSON(gotGSIs, wantGSIs) {
		t.Errorf("GlobalSecondaryIndexes %v, want %v", gotGSIs, wantGSIs)
	}

	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"TimeToLiveSpecification", "AttributeName"}, def.TTLAttribute},
		{[]string{"TimeToLiveSpecification", "Enabled"}, true},
		{[]string{"BillingMode"}, "PAY_PER_REQUEST"},
		{[]string{"PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"}, true},
		{[]string{"DeletionProtectionEnabled"}, true},
	} {
		if got := dig(p, c.path...); got != c.want {
			t.Errorf("Table %s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	if def.TTLAttribute != store.AttrTTL {
		t.Errorf("TableDefinition TTL %q, want %q", def.TTLAttribute, store.AttrTTL)
	}
}

// TestTemplateSignInAndAPI checks the fixed resources against the deployment's rules.
func TestTemplateSignInAndAPI(t *testing.T) {
	tpl := loadTemplate(t)
	r := tpl.Resources
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"authorizer issuer", dig(r["HttpApi"].Properties, "Auth", "Authorizers", "CognitoAuthorizer", "JwtConfiguration", "issuer"),
			sub("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}")},
		{"authorizer audience", dig(r["HttpApi"].Properties, "Auth", "Authorizers", "CognitoAuthorizer", "JwtConfiguration", "audience"),
			[]any{ref("UserPoolClient")}},
		{"default authorizer", dig(r["HttpApi"].Properties, "Auth", "DefaultAuthorizer"), "CognitoAuthorizer"},
		{"CORS origin", dig(r["HttpApi"].Properties, "CorsConfiguration", "AllowOrigins"), []any{ref("ConsoleUrl")}},
		{"CORS headers", dig(r["HttpApi"].Properties, "CorsConfiguration", "AllowHeaders"),
			[]any{"Authorization", "Content-Type", "X-Organization-Id", "Idempotency-Key", "X-Support-Reason"}},
		{"IdP type", dig(r["EntraIdentityProvider"].Properties, "ProviderType"), "OIDC"},
		{"IdP issuer", dig(r["EntraIdentityProvider"].Properties, "ProviderDetails", "oidc_issuer"),
			sub("https://login.microsoftonline.com/${EntraTenantId}/v2.0")},
		{"IdP client id", dig(r["EntraIdentityProvider"].Properties, "ProviderDetails", "client_id"), ref("EntraClientId")},
		{"IdP secret", dig(r["EntraIdentityProvider"].Properties, "ProviderDetails", "client_secret"),
			sub("{{resolve:secretsmanager:${EntraClientSecretArn}}}")},
		{"IdP scopes", dig(r["EntraIdentityProvider"].Properties, "ProviderDetails", "authorize_scopes"), "openid email profile"},
		{"map email", dig(r["EntraIdentityProvider"].Properties, "AttributeMapping", "email"), "email"},
		{"map tid", dig(r["EntraIdentityProvider"].Properties, "AttributeMapping", "custom:tid"), "tid"},
		{"map amr", dig(r["EntraIdentityProvider"].Properties, "AttributeMapping", "custom:amr"), "amr"},
		{"client secret", dig(r["UserPoolClient"].Properties, "GenerateSecret"), false},
		{"client flows", dig(r["UserPoolClient"].Properties, "AllowedOAuthFlows"), []any{"code"}},
		{"client scopes", dig(r["UserPoolClient"].Properties, "AllowedOAuthScopes"), []any{"openid", "email", "profile"}},
		{"client providers", dig(r["UserPoolClient"].Properties, "SupportedIdentityProviders"), []any{"COGNITO", ref("EntraIdentityProvider")}},
		{"hosted UI domain", dig(r["UserPoolDomain"].Properties, "Domain"), ref("AuthDomainPrefix")},
		{"log retention default", dig(tpl.Parameters["LogRetentionDays"], "Default"), 30},
	} {
		if !equalJSON(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	schema := map[string]bool{}
	attrs, _ := dig(r["UserPool"].Properties, "Schema").([]any)
	for _, a := range attrs {
		schema[fmt.Sprint(dig(a, "Name"))] = true
	}
	if !schema["tid"] || !schema["amr"] {
		t.Errorf("user pool schema %v lacks the custom attributes tid and amr", schema)
	}
	for _, p := range []string{"ConsoleUrl", "SesSenderIdentity", "EntraTenantId", "EntraClientId", "EntraClientSecretArn", "AuthDomainPrefix", "LogRetentionDays"} {
		if tpl.Parameters[p] == nil {
			t.Errorf("no parameter %s", p)
		}
	}
	for _, o := range []string{"ApiUrl", "UserPoolId", "UserPoolClientId", "TableName"} {
		if tpl.Outputs[o] == nil {
			t.Errorf("no output %s", o)
		}
	}
}

// TestLambdaCodeDoesNotImportInfra: the local server, development sign-in and outbox
// are never linked into a Lambda.
func TestLambdaCodeDoesNotImportInfra(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go not on PATH:", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./functions/...", "./shared/...")
	cmd.Dir = repoRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	const infra = "github.com/switchboard-msp/switchboard/infra"
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sawFunction := false
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		sawFunction = sawFunction || strings.Contains(pkg, "/functions/")
		for _, d := range strings.Fields(deps) {
			if d == infra || strings.HasPrefix(d, infra+"/") {
				t.Errorf("%s imports %s; nothing under functions/ or shared/ may link infra/", pkg, d)
			}
		}
	}
	if !sawFunction || len(lines) < len(api.Routes()) {
		t.Errorf("go list saw %d packages, no function among them: the check checked nothing", len(lines))
	}
}

// TestSamconfig: every template parameter without a default has a value for deploy.
func TestSamconfig(t *testing.T) {
	cfg := string(readFile(t, repoRoot(t), "samconfig.toml"))
	for _, want := range []string{`stack_name = "switchboard"`, `capabilities = "CAPABILITY_IAM"`, `resolve_s3 = true`,
		`region = "us-east-1"`, `confirm_changeset = true`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("samconfig.toml lacks %s", want)
		}
	}
	tpl := loadTemplate(t)
	for name, p := range tpl.Parameters {
		m := regexp.MustCompile(`"` + name + `=([^"]*)"`).FindStringSubmatch(cfg)
		if m == nil {
			if p["Default"] == nil {
				t.Errorf("samconfig.toml parameter_overrides has no %s, which has no default", name)
			}
			continue
		}
		if pat, ok := p["AllowedPattern"].(string); ok && !regexp.MustCompile(pat).MatchString(m[1]) {
			t.Errorf("samconfig.toml %s=%s does not match the template's AllowedPattern %s", name, m[1], pat)
		}
	}
}

// routeVars maps each package-level variable of package api that a Route composite
// literal initializes to the literal's Function. Only a literal is statically
// initialized, so that a binary that does not name the variable leaves its handler out.
func routeVars(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	out := map[string]string{}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, v := range vs.Values {
					lit, ok := v.(*ast.CompositeLit)
					if !ok {
						continue
					}
					if id, isIdent := lit.Type.(*ast.Ident); !isIdent || id.Name != "Route" {
						continue
					}
					for _, el := range lit.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if key, isKey := kv.Key.(*ast.Ident); ok && isKey && key.Name == "Function" {
							if s, isLit := kv.Value.(*ast.BasicLit); isLit {
								out[vs.Names[i].Name], _ = strconv.Unquote(s.Value)
							}
						}
					}
				}
			}
		}
	}
	return out
}

// checkTrigger checks a Cognito trigger's wiring: main.go starts it, the user pool's
// LambdaConfig names it, a permission lets only that pool of this account invoke it,
// its timeout is under Cognito's 5 seconds, and nothing of it (environment, role)
// refers to the pool, which would make a circular dependency.
func checkTrigger(t *testing.T, tpl template, f templategen.Function) {
	t.Helper()
	main := string(readFile(t, repoRoot(t), "functions/"+f.Name+"/main.go"))
	if !strings.Contains(main, fmt.Sprintf("lambdaentry.CognitoTrigger(%q)", f.Name)) {
		t.Errorf("functions/%s/main.go does not start trigger %s:\n%s", f.Name, f.Name, main)
	}
	arn := map[string]any{"Fn::GetAtt": []any{f.LogicalID(), "Arn"}}
	perm := tpl.Resources[f.TriggerPermissionID()]
	fn := tpl.Resources[f.LogicalID()]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"user pool trigger", dig(tpl.Resources["UserPool"].Properties, "LambdaConfig", f.Job.Trigger), arn},
		{"permission type", perm.Type, "AWS::Lambda::Permission"},
		{"permission function", perm.Properties["FunctionName"], arn},
		{"permission principal", perm.Properties["Principal"], "cognito-idp.amazonaws.com"},
		{"permission source", perm.Properties["SourceArn"], map[string]any{"Fn::GetAtt": []any{"UserPool", "Arn"}}},
		{"permission account", perm.Properties["SourceAccount"], ref("AWS::AccountId")},
		{"timeout", fn.Properties["Timeout"], templategen.TriggerTimeout},
		{"events", fn.Properties["Events"], nil},
	} {
		if !equalJSON(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, id := range []string{f.LogicalID(), f.RoleID()} {
		raw, _ := json.Marshal(tpl.Resources[id])
		if strings.Contains(string(raw), `"UserPool`) {
			t.Errorf("%s refers to the user pool, which refers to %s: %s", id, f.LogicalID(), raw)
		}
	}
	raw, _ := json.Marshal(tpl.Globals)
	if strings.Contains(string(raw), `"UserPool`) {
		t.Errorf("the Globals refer to the user pool, which refers to %s: %s", f.LogicalID(), raw)
	}
	// Each trigger's sample is the event its LambdaConfig property sends.
	var sample struct {
		events.CognitoEventUserPoolsHeader
		Request struct {
			UserAttributes map[string]string `json:"userAttributes"`
		} `json:"request"`
	}
	source := map[string]string{api.TriggerPostAuthentication: "PostAuthentication_", api.TriggerPreTokenGeneration: "TokenGeneration_"}[f.Job.Trigger]
	if err := json.Unmarshal(readFile(t, repoRoot(t), "events/"+f.Name+".json"), &sample); err != nil || source == "" ||
		!strings.HasPrefix(sample.TriggerSource, source) || sample.Request.UserAttributes["sub"] == "" {
		t.Errorf("events/%s.json is no %s event: %v", f.Name, f.Job.Trigger, err)
	}
}

// checkConsole: the console serves the embedded build on GET of each of its paths,
// without the authorizer, outside /api/, and may call no AWS service.
func checkConsole(t *testing.T, tpl template, f templategen.Function, main string) {
	t.Helper()
	if !strings.Contains(main, "console.Handler(web.Dist(), console.FromEnv())") {
		t.Errorf("functions/%s/main.go does not serve the embedded console:\n%s", f.Name, main)
	}
	if len(f.Job.Actions) != 0 {
		t.Errorf("the console calls no AWS service; it lists %v", f.Job.Actions)
	}
	fn := tpl.Resources[f.LogicalID()]
	evs, _ := fn.Properties["Events"].(map[string]any)
	if len(evs) != len(f.Job.Paths) || len(f.Job.Paths) == 0 {
		t.Fatalf("%s: events %v for paths %v", f.LogicalID(), evs, f.Job.Paths)
	}
	for i, p := range f.Job.Paths {
		ev := evs[templategen.ConsoleEventName(i)]
		for _, c := range []struct {
			what      string
			got, want any
		}{
			{"type", dig(ev, "Type"), "HttpApi"},
			{"method", dig(ev, "Properties", "Method"), "GET"},
			{"path", dig(ev, "Properties", "Path"), p},
			{"no authorizer", dig(ev, "Properties", "Auth", "Authorizer"), "NONE"},
		} {
			if !equalJSON(c.got, c.want) {
				t.Errorf("%s event %d %s: %v, want %v", f.LogicalID(), i+1, c.what, c.got, c.want)
			}
		}
		if strings.HasPrefix(p, "/api/") {
			t.Errorf("console path %s would shadow the API", p)
		}
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"auth domain", dig(fn.Properties, "Environment", "Variables", "CONSOLE_AUTH_DOMAIN"),
			sub("https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com")},
		{"client id", dig(fn.Properties, "Environment", "Variables", "CONSOLE_CLIENT_ID"), ref("UserPoolClient")},
		{"upload origin", dig(fn.Properties, "Environment", "Variables", "CONSOLE_UPLOAD_ORIGIN"), sub("https://${DocumentsBucket}.s3.${AWS::Region}.amazonaws.com")},
		{"callback URL", dig(tpl.Resources["UserPoolClient"].Properties, "CallbackURLs"), []any{sub("${ConsoleUrl}/auth/callback")}},
	} {
		if !equalJSON(c.got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
}
