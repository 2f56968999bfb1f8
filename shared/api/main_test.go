package api_test

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/openapitest"
)

func TestMain(m *testing.M) {
	// Request logs are checked by their own test; here they would bury failures.
	slog.SetDefault(slog.New(slog.NewJSONHandler(logSink(), nil)))
	os.Exit(m.Run())
}

// openapitestValidator checks every exchange of a test against the OpenAPI document.
var openapitestValidator = openapitest.Validator

// logSink discards request logs unless SWITCHBOARD_TEST_LOGS is set.
func logSink() io.Writer {
	if os.Getenv("SWITCHBOARD_TEST_LOGS") != "" {
		return os.Stderr
	}
	return io.Discard
}
