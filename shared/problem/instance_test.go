package problem_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// TestInstanceIsAURIReference: the fuzzing gate sent ids with control and non-ASCII
// characters ("/api/jobs/%C2%84"), and the 404's instance echoed the decoded path,
// which is no URI reference. The instance is the path as sent, percent-encoded.
func TestInstanceIsAURIReference(t *testing.T) {
	for _, target := range []string{"/api/jobs/%C2%84", "/api/jobs/a%20b", "/api/jobs/%0A", "/api/me"} {
		r := httptest.NewRequest("GET", target, nil)
		w := httptest.NewRecorder()
		problem.Write(context.Background(), w, r, problem.NotFoundf("the job was not found"))
		var doc struct{ Instance string }
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(doc.Instance)
		if doc.Instance != target || err != nil || u.Path != r.URL.Path {
			t.Errorf("%s: instance %q (parse error %v)", target, doc.Instance, err)
		}
		for _, c := range doc.Instance {
			if c <= ' ' || c >= 0x7f {
				t.Errorf("%s: instance %q holds %q", target, doc.Instance, c)
			}
		}
	}
}
