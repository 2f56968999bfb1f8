package api_test

import (
	"testing"

	"github.com/switchboard-msp/switchboard/infra/awsrecord"
)

// TestAWSCallsAreListed is the least-privilege gate within this test binary: every
// AWS action that a function's code path called during the package's tests (routes
// through their middleware, jobs on the queue worker; infra/awsrecord attributes each
// call) is listed in its route table entry, so its deployed role allows it. t.Parallel
// holds it until every other (sequential) test of the package has finished, so it sees
// their calls. infra/stack/test.sh checks the calls of every package together.
func TestAWSCallsAreListed(t *testing.T) {
	t.Parallel()
	checkAWSCalls(t)
}

func checkAWSCalls(t *testing.T) {
	t.Helper()
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
