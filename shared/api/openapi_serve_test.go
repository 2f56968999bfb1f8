package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/openapi"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"gzip, deflate, br"}, true},
		{[]string{"br;q=1.0, GZIP;q=0.5"}, true},
		{[]string{"deflate", "gzip"}, true},
		{[]string{"*"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"identity, deflate"}, false},
		{[]string{"gzipped"}, false},
	} {
		if got := acceptsGzip(tc.values); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

// TestOpenAPIDocumentServedCompressed: a client that accepts gzip gets the committed
// compression of the document, the others the document itself.
func TestOpenAPIDocumentServedCompressed(t *testing.T) {
	h := openAPIDocument(nil)
	for _, tc := range []struct {
		accept   string
		encoding string
	}{
		{"gzip, deflate, br", "gzip"},
		{"", ""},
		{"gzip;q=0", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil)
		if tc.accept != "" {
			r.Header.Set("Accept-Encoding", tc.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		res := w.Result()
		if got := res.Header.Get("Content-Encoding"); got != tc.encoding || res.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, Vary %q", tc.accept, got, res.Header.Get("Vary"))
		}
		body := w.Body.Bytes()
		if tc.encoding == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(body, openapi.Document) {
			t.Errorf("Accept-Encoding %q: the body is not the committed document", tc.accept)
		}
	}
}
