package openapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/testenv"
)

// TestWebsitesAgreeWithTheDocument: the fuzzing gate (infra/stack/fuzz-api.sh) found
// the profile accepting websites that are not URIs ("http://a.com/ä b|{}"), which the
// profile's own response then carried against the document's format uri. Every
// website the API accepts, the document must accept, and each non-URI here is refused
// by both.
func TestWebsitesAgreeWithTheDocument(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		website string
		ok      bool
	}{
		{"https://contosomsp.com", true},
		{"HTTP://CONTOSO.COM:8080/a/b;c?q=1&r=%20x#top", true},
		{"http://user:secret@contoso.com/", true},
		{"http://contoso.com/ä", false},
		{"http://contoso.com/a b", false},
		{"http://contoso.com/x|{}", false},
		{"http://contoso.com/#a#b", false},
		{"http://contoso.com/[x]", false},
		{"http://contoso.com/%zz", false},
		{"http://contoso.com/?q=%zz", false},
		{"ftp://contoso.com", false},
		{"http://", false},
		{"http:///x", false},
	}
	for _, tc := range cases {
		t.Run(tc.website, func(t *testing.T) {
			body := with(goodProfile(), "website", tc.website)
			raw, _ := json.Marshal(body)
			req, _ := http.NewRequest("PUT", "http://api.test"+profilePath, bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+w.tok["Owner"])
			docErrs := w.chk.RequestErrors(req)
			res := w.env.Do(testenv.Request{Method: "PUT", Path: profilePath, Token: w.tok["Owner"], Body: body})
			if accepted := res.Status == http.StatusOK; accepted != tc.ok {
				t.Errorf("API answered %d %s", res.Status, res.Body)
			}
			if res.Status == http.StatusOK && len(docErrs) > 0 {
				t.Errorf("the API accepts a website the document rejects: %v", docErrs)
			}
		})
	}
}
