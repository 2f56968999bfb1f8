// Command gen writes the files derived from the route table: functions/<name>/main.go,
// events/<name>.json, functions/build.mk and template.yaml (make generate). Run it from
// the repository root, or pass the root as its argument.
package main

import (
	"fmt"
	"os"

	"github.com/switchboard-msp/switchboard/infra/gen/templategen"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	if _, err := os.Stat(root + "/go.mod"); err != nil {
		fmt.Fprintln(os.Stderr, "gen: run from the repository root (or pass it as the argument):", err)
		os.Exit(2)
	}
	changed, err := templategen.Write(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, p := range changed {
		fmt.Println("gen: wrote", p)
	}
	if len(changed) == 0 {
		fmt.Println("gen: up to date")
	}
}
