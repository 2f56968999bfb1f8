package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/awsrecord"
	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// TestAWSCallsAreListed is the least-privilege gate within this test binary, whose
// tests invoke every function through its Lambda entry point: every AWS action a
// function's code path called is listed in its route table entry, so its role allows
// it. t.Parallel holds it until the package's other (sequential) tests have finished,
// so it sees their calls. infra/stack/test.sh checks the calls of every package together.
func TestAWSCallsAreListed(t *testing.T) {
	t.Parallel()
	obs := awsrecord.Observed()
	if len(obs) == 0 {
		t.Fatal("no AWS call of any function was recorded: is the recorder installed (infra/testenv)?")
	}
	for _, v := range awsrecord.Check(obs) {
		t.Error(v)
	}
	pairs := 0
	for _, acts := range obs {
		pairs += len(acts)
	}
	t.Logf("%d functions made AWS calls, %d (function, action) pairs checked", len(obs), pairs)
}

// wildcardResources are the only resources with a wildcard that a role may be granted,
// each with the reason no narrower one exists. Everything else is granted on named
// resources: the table and each of its indexes, the user pool, the jobs queue, the
// bucket, the function's own log group.
var wildcardResources = map[string]string{
	templategen.SESIdentities: "SES authorizes a send on the identity of the From address and, while the account is " +
		"in the SES sandbox, on each recipient's verified identity too: recipients are whoever is invited, which no template can name",
	"${DocumentsBucket.Arn}/" + templategen.DocumentsPrefix + "*": "the documents' objects: their keys hold organization, " +
		"customer and document ids (domain.DocumentKey), which a policy cannot list",
}

// checkPolicies fails the test on each of policyProblems.
func checkPolicies(t *testing.T, where string, resources map[string]any) {
	t.Helper()
	for _, p := range policyProblems(where, resources) {
		t.Error(p)
	}
}

// policyProblems walks every policy document of resources (roles' inline policies,
// policy resources, bucket policies) and reports each Allow of a "*" action, of
// NotAction or NotResource, or on a resource that is "*" or holds a wildcard that
// wildcardResources does not explain.
func policyProblems(where string, resources map[string]any) []string {
	var out []string
	var walk func(id string, v any)
	walk = func(id string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "PolicyDocument" {
					stmts, _ := dig(c, "Statement").([]any)
					if st, ok := dig(c, "Statement").(map[string]any); ok {
						stmts = []any{st}
					}
					for _, s := range stmts {
						out = append(out, statementProblems(where+" "+id, s)...)
					}
				}
				walk(id, c)
			}
		case []any:
			for _, c := range x {
				walk(id, c)
			}
		}
	}
	for id, r := range resources {
		walk(id, r)
	}
	slices.Sort(out)
	return out
}

func statementProblems(where string, s any) []string {
	if dig(s, "Effect") != "Allow" {
		return nil
	}
	var out []string
	if dig(s, "NotAction") != nil || dig(s, "NotResource") != nil {
		out = append(out, fmt.Sprintf("%s: an Allow with NotAction or NotResource grants everything else: %v", where, s))
	}
	asList := func(v any) []any {
		if l, ok := v.([]any); ok {
			return l
		}
		return []any{v}
	}
	for _, a := range asList(dig(s, "Action")) {
		if str, ok := a.(string); !ok || strings.ContainsAny(str, "*?") {
			out = append(out, fmt.Sprintf("%s: Allow of action %v: name each action", where, a))
		}
	}
	for _, r := range asList(dig(s, "Resource")) {
		str, ok := r.(string)
		if !ok {
			str, ok = dig(r, "Fn::Sub").(string)
		}
		if !ok {
			if dig(r, "Fn::GetAtt") == nil && dig(r, "Ref") == nil {
				out = append(out, fmt.Sprintf("%s: resource %v is no ARN, Ref, GetAtt or Sub the check can read", where, r))
			}
			continue
		}
		if str == "*" {
			out = append(out, fmt.Sprintf("%s: Allow %v on \"*\"", where, dig(s, "Action")))
		} else if _, ownLogs := templategen.FunctionOfLogStreams(str); ownLogs {
			// A function's own log streams in the shared group: the wildcard is the date
			// Lambda puts before the function's name.
			continue
		} else if strings.ContainsAny(str, "*?") && wildcardResources[str] == "" {
			out = append(out, fmt.Sprintf("%s: Allow %v on %q: a wildcard where a narrower resource exists (or explain it in wildcardResources)", where, dig(s, "Action"), str))
		}
	}
	return out
}

// TestPolicyProblemsAreFound: the check finds what it is for, in the shapes the
// template and the SAM transform write (a string or a list; Fn::Sub).
func TestPolicyProblemsAreFound(t *testing.T) {
	doc := func(stmts ...any) map[string]any {
		return map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{"Policies": []any{
			map[string]any{"PolicyName": "p", "PolicyDocument": map[string]any{"Statement": stmts}}}}}
	}
	allow := func(action, resource any) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": action, "Resource": resource}
	}
	table := map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}
	for name, c := range map[string]struct {
		stmt any
		want int
	}{
		"named action on the table":     {allow([]any{"dynamodb:GetItem"}, []any{table}), 0},
		"explained wildcard":            {allow("ses:SendEmail", map[string]any{"Fn::Sub": templategen.SESIdentities}), 0},
		"a deny of everything":          {map[string]any{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, 0},
		"service wildcard action":       {allow("dynamodb:*", []any{table}), 1},
		"every action":                  {allow([]any{"*"}, []any{table}), 1},
		"every resource":                {allow("dynamodb:GetItem", "*"), 1},
		"every index":                   {allow("dynamodb:Query", []any{map[string]any{"Fn::Sub": "${Table.Arn}/index/*"}}), 1},
		"the whole bucket's objects":    {allow("s3:GetObject", []any{map[string]any{"Fn::Sub": "${DocumentsBucket.Arn}/*"}}), 1},
		"every log group":               {allow("logs:PutLogEvents", "arn:aws:logs:*:*:*"), 1},
		"one function's log streams":    {allow("logs:PutLogEvents", map[string]any{"Fn::Sub": templategen.FunctionLogStreams("me-get")}), 0},
		"every function's log streams":  {allow("logs:PutLogEvents", map[string]any{"Fn::Sub": templategen.FunctionLogStreams("*")}), 1},
		"not action":                    {map[string]any{"Effect": "Allow", "NotAction": "iam:*", "Resource": []any{table}}, 2},
		"wildcard action, any resource": {allow("sqs:*", "*"), 2},
	} {
		if got := policyProblems("test", map[string]any{"R": doc(c.stmt)}); len(got) != c.want {
			t.Errorf("%s: %d problems %q, want %d", name, len(got), got, c.want)
		}
	}
}

// TestTemplateGrantsNoWildcards: template.yaml itself grants no "*" action and no
// wildcard resource beyond wildcardResources.
func TestTemplateGrantsNoWildcards(t *testing.T) {
	tpl := loadTemplate(t)
	resources := map[string]any{}
	for id, r := range tpl.Resources {
		resources[id] = map[string]any{"Type": r.Type, "Properties": r.Properties}
	}
	checkPolicies(t, "template.yaml", resources)
	if !strings.HasPrefix(domain.DocumentKey("o", "c", "d"), templategen.DocumentsPrefix) {
		t.Errorf("document keys (%s) do not start with the prefix the template grants object actions under (%s)",
			domain.DocumentKey("o", "c", "d"), templategen.DocumentsPrefix)
	}
}

// TestRouteActionsAreIAMActions: every action of the route table is an IAM action, so
// granting it grants something: no SDK operation that IAM authorizes by other actions
// (dynamodb:TransactWriteItems is authorized as PutItem, UpdateItem, DeleteItem and
// ConditionCheckItem), none listed twice, and, with cfn-lint's copy of the IAM service
// reference at hand (the local stack), each one known to IAM.
func TestRouteActionsAreIAMActions(t *testing.T) {
	lists := map[string][]string{"AuthActions": api.AuthActions}
	for _, rt := range api.Routes() {
		lists[rt.Function] = rt.Actions
	}
	for _, j := range api.Jobs() {
		lists[j.Function] = j.Actions
	}
	known := iamReference(t)
	for fn, acts := range lists {
		seen := map[string]bool{}
		for _, a := range acts {
			svc, name, ok := strings.Cut(a, ":")
			switch {
			case !ok || name == "":
				t.Errorf("%s: %q is not service:Action", fn, a)
			case slices.Contains(awsrecord.NotIAMActions, a):
				t.Errorf("%s: %s is an SDK operation, not an IAM action: list what IAM authorizes it by (awsrecord.IAMActions)", fn, a)
			case seen[a]:
				t.Errorf("%s lists %s twice", fn, a)
			case known != nil && !known[svc][strings.ToLower(name)]:
				t.Errorf("%s: IAM knows no action %s", fn, a)
			}
			seen[a] = true
		}
	}
}

// iamReference is cfn-lint's copy of IAM's service authorization reference: per
// service prefix, its actions in lower case. Nil without the local stack's tools.
func iamReference(t *testing.T) map[string]map[string]bool {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(stackCache(), "*venv", "lib", "python*", "site-packages", "cfnlint", "data", "AdditionalSpecs", "Policies.json"))
	if len(matches) == 0 {
		if os.Getenv(testenv.EnvRequireStack) != "" {
			t.Fatalf("cfn-lint's IAM reference is not installed under %s", stackCache())
		}
		t.Log("cfn-lint's IAM reference is not installed: actions are not checked against it")
		return nil
	}
	raw, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]struct {
		Actions map[string]json.RawMessage `json:"Actions"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatalf("%s: %v", matches[0], err)
	}
	out := map[string]map[string]bool{}
	for svc, s := range ref {
		out[svc] = map[string]bool{}
		for a := range s.Actions {
			out[svc][strings.ToLower(a)] = true
		}
	}
	if len(out["dynamodb"]) == 0 {
		t.Fatalf("%s lists no dynamodb actions (%d services)", matches[0], len(out))
	}
	return out
}
