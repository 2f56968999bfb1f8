package api_test

import (
	"io"
	"os"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
)

func TestMain(m *testing.M) {
	// Request logs are checked by their own test; here they would bury failures. The
	// watch keeps them, with every exchange of every test's API and every email sent to
	// an outbox, for the suite-wide secrets check (secrets_test.go) once all tests ran.
	suiteWatch = testenv.StartWatch(logSink())
	code := m.Run()
	if checkSuiteSecrets(suiteWatch, os.Stderr) && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// suiteWatch sees every exchange, log line and outbox email of this test binary.
var suiteWatch *testenv.Watch

// openapitestValidator checks every exchange of a test against the OpenAPI document.
var openapitestValidator = openapitest.Validator

// logSink discards request logs unless SWITCHBOARD_TEST_LOGS is set.
func logSink() io.Writer {
	if os.Getenv("SWITCHBOARD_TEST_LOGS") != "" {
		return os.Stderr
	}
	return io.Discard
}
