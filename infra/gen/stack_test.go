package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
	"github.com/switchboard-msp/switchboard/infra/testenv"
)

// CloudFormation's limit on a stack's resources, and the most this stack may use: the
// rest is room for what a change adds before anyone has to split the stack.
const (
	stackResourceLimit = 500
	stackResourceMax   = 450
)

// stackCache is where infra/stack/install.sh keeps the tools (SWITCHBOARD_CACHE).
func stackCache() string {
	if c := os.Getenv("SWITCHBOARD_CACHE"); c != "" {
		return c
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "switchboard")
}

// needStack skips the test when a tool of the local stack is missing, unless `make
// test` requires the stack (SWITCHBOARD_REQUIRE_STACK), when it fails.
func needStack(t *testing.T, what string) {
	t.Helper()
	if os.Getenv(testenv.EnvRequireStack) != "" {
		t.Fatalf("%s, but the local stack is required: run infra/stack/install.sh (make test does)", what)
	}
	t.Skipf("%s; infra/stack/install.sh installs it (make test)", what)
}

// samPython is the interpreter of the SAM CLI's virtual environment, which holds
// aws-sam-translator, the library the SAM transform runs.
func samPython(t *testing.T) string {
	t.Helper()
	py := filepath.Join(stackCache(), "sam-venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		needStack(t, "the SAM CLI's virtual environment is not installed ("+py+")")
	}
	return py
}

// expandScript runs the SAM transform (aws-sam-translator, as CloudFormation's
// AWS::Serverless-2016-10-31 does) on the template read as JSON from stdin and writes
// the CloudFormation template to stdout. It names no managed policies (the template
// uses none) and points CodeUri at S3, as `sam package` would.
const expandScript = `
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader

class NoManagedPolicies(ManagedPolicyLoader):
    def __init__(self):
        pass
    def load(self):
        return {}

tpl = json.load(sys.stdin)
code = "s3://switchboard-artifacts/functions.zip"
fn_globals = tpl.get("Globals", {}).get("Function", {})
if isinstance(fn_globals.get("CodeUri"), str):
    fn_globals["CodeUri"] = code
for res in tpl.get("Resources", {}).values():
    props = res.get("Properties") or {}
    if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
        props["CodeUri"] = code
json.dump(transform(tpl, {}, NoManagedPolicies()), sys.stdout)
`

var (
	expandOnce sync.Once
	expanded   map[string]any
	expandErr  string
)

// expandedTemplate is template.yaml through the SAM transform: the CloudFormation
// template a deployment creates.
func expandedTemplate(t *testing.T) map[string]any {
	t.Helper()
	py := samPython(t)
	expandOnce.Do(func() {
		var tpl map[string]any
		if err := yaml.Unmarshal(readFile(t, repoRoot(t), templategen.TemplateFile), &tpl); err != nil {
			expandErr = "parse template.yaml: " + err.Error()
			return
		}
		in, err := json.Marshal(tpl)
		if err != nil {
			expandErr = "template.yaml as JSON: " + err.Error()
			return
		}
		cmd := exec.Command(py, "-c", expandScript)
		cmd.Stdin = bytes.NewReader(in)
		cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			expandErr = "SAM transform: " + err.Error() + "\n" + stderr.String()
			return
		}
		if err := json.Unmarshal(out, &expanded); err != nil {
			expandErr = "SAM transform output: " + err.Error()
		}
	})
	if expandErr != "" {
		t.Fatal(expandErr)
	}
	return expanded
}

// TestStackResourceCount counts the resources of the stack a deployment creates (the
// template after the SAM transform, which adds each function's API permission, the
// schedule and its role, the HTTP API's stage) and keeps it at most stackResourceMax
// of CloudFormation's stackResourceLimit.
func TestStackResourceCount(t *testing.T) {
	if size := len(readFile(t, repoRoot(t), templategen.TemplateFile)); size > 1_000_000 {
		t.Errorf("template.yaml is %d bytes; CloudFormation accepts at most 1 MB from S3", size)
	}
	resources, _ := expandedTemplate(t)["Resources"].(map[string]any)
	byType := map[string]int{}
	for _, r := range resources {
		byType[dig(r, "Type").(string)]++
	}
	types := make([]string, 0, len(byType))
	for typ := range byType {
		types = append(types, typ)
	}
	sort.Slice(types, func(i, j int) bool {
		return byType[types[i]] > byType[types[j]] || byType[types[i]] == byType[types[j]] && types[i] < types[j]
	})
	var parts []string
	for _, typ := range types {
		parts = append(parts, strings.TrimPrefix(typ, "AWS::")+" "+itoa(byType[typ]))
	}
	fns, err := templategen.Functions()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stack: %d CloudFormation resources after the SAM transform (%d functions), at most %d of CloudFormation's %d: %s",
		len(resources), len(fns), stackResourceMax, stackResourceLimit, strings.Join(parts, ", "))
	if len(resources) > stackResourceMax {
		t.Errorf("the stack has %d resources after the SAM transform; keep it at most %d (CloudFormation allows %d): split the stack or merge functions",
			len(resources), stackResourceMax, stackResourceLimit)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestExpandedStackGrantsOnlyTheRouteTable checks the roles a deployment creates: each
// function runs with the role template.yaml gives it, unchanged by the transform (no
// managed policy such as AWSLambdaBasicExecutionRole added), no IAM policy resource
// adds to any role, and no Allow anywhere names a "*" action or an unexplained
// wildcard resource.
func TestExpandedStackGrantsOnlyTheRouteTable(t *testing.T) {
	exp, _ := expandedTemplate(t)["Resources"].(map[string]any)
	src := loadTemplate(t)
	fns, err := templategen.Functions()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fns {
		fn := exp[f.LogicalID()]
		if dig(fn, "Type") != "AWS::Lambda::Function" {
			t.Errorf("the transform made no AWS::Lambda::Function %s", f.LogicalID())
			continue
		}
		if !equalJSON(dig(fn, "Properties", "Role"), map[string]any{"Fn::GetAtt": []any{f.RoleID(), "Arn"}}) {
			t.Errorf("%s runs with role %v, want its own %s", f.LogicalID(), dig(fn, "Properties", "Role"), f.RoleID())
		}
		if !equalJSON(dig(exp[f.RoleID()], "Properties"), src.Resources[f.RoleID()].Properties) {
			t.Errorf("the transform changed %s: %v", f.RoleID(), dig(exp[f.RoleID()], "Properties"))
		}
	}
	for id, r := range exp {
		switch typ := dig(r, "Type"); typ {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy":
			t.Errorf("%s (%s) grants beyond the roles' own policies", id, typ)
		case "AWS::IAM::Role":
			if arns := dig(r, "Properties", "ManagedPolicyArns"); arns != nil {
				t.Errorf("%s has managed policies %v, which grant what no route table entry lists", id, arns)
			}
		}
	}
	checkPolicies(t, "the expanded template", exp)
}
