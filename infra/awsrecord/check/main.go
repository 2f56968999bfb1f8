// Command check is the least-privilege gate over a whole `go test ./...` run: it reads
// the (function, IAM action) pairs the test processes appended to a directory
// (SWITCHBOARD_AWS_CALLS_DIR, see infra/awsrecord) and fails when a function called an
// action that its route table entry does not list. It also reports, without failing,
// the listed actions no call needed and the functions the suite never ran.
//
// Usage: go run ./infra/awsrecord/check DIR   (infra/stack/test.sh runs it)
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/switchboard-msp/switchboard/infra/awsrecord"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: check DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "least privilege:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	obs, err := awsrecord.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(obs) == 0 {
		return fmt.Errorf("no AWS call of any function was recorded in %s: the recorder is not installed (infra/testenv enables it) or %s was not passed to the tests", dir, awsrecord.EnvCallsDir)
	}
	listed := awsrecord.Listed()
	pairs := 0
	for _, acts := range obs {
		pairs += len(acts)
	}
	var never []string
	for fn := range listed {
		if _, ok := obs[fn]; !ok {
			never = append(never, fn)
		}
	}
	sort.Strings(never)
	fmt.Printf("least privilege: %d of %d functions made AWS calls in the suite, %d (function, action) pairs\n", len(obs), len(listed), pairs)
	if len(never) > 0 {
		fmt.Printf("  made no AWS call in the suite (nothing to check): %s\n", strings.Join(never, ", "))
	}
	unused := awsrecord.Unused(obs)
	fns := make([]string, 0, len(unused))
	for fn := range unused {
		if _, ran := obs[fn]; ran || fn == "AuthActions" {
			fns = append(fns, fn)
		}
	}
	sort.Strings(fns)
	for _, fn := range fns {
		fmt.Printf("  listed, not called in the suite: %s: %s\n", fn, strings.Join(unused[fn], ", "))
	}
	violations := awsrecord.Check(obs)
	for _, v := range violations {
		fmt.Println("  " + v.String())
	}
	if len(violations) > 0 {
		return fmt.Errorf("%d actions called but not listed: the deployed functions would be denied them", len(violations))
	}
	fmt.Println("least privilege: every AWS action a function called is listed in its route table entry")
	return nil
}
