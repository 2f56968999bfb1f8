package fakes3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/shared/objects"
)

func send(t *testing.T, p objects.Presigned, body []byte, override map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(p.Method, p.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.Header {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	for k, v := range override {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// TestPresignedURLsAreCheckedAsS3Does: the fake refuses what S3 refuses, so local
// uploads fail the same way.
func TestPresignedURLsAreCheckedAsS3Does(t *testing.T) {
	ctx := context.Background()
	st := fakes3.Start(t)
	data := []byte("%PDF-1.7 runbook")
	put, err := st.PresignPut(ctx, "orgs/o/customers/c/d1", "application/pdf", int64(len(data)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// The console uploads from the browser: its CORS preflight is not signed.
	pre, err := http.NewRequest(http.MethodOptions, put.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	pre.Header.Set("Origin", "http://127.0.0.1:3000")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	pre.Header.Set("Access-Control-Request-Headers", "content-type")
	res, err := http.DefaultClient.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("CORS preflight of the upload: %d %v", res.StatusCode, res.Header)
	}
	if code, body := send(t, put, append(data, '!'), nil); code != http.StatusForbidden || !strings.Contains(string(body), "SignatureDoesNotMatch") {
		t.Fatalf("upload of another size: %d %s", code, body)
	}
	if code, body := send(t, put, data, map[string]string{"Content-Type": "text/html"}); code != http.StatusForbidden {
		t.Fatalf("upload of another type: %d %s", code, body)
	}
	if _, err := st.Head(ctx, "orgs/o/customers/c/d1"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("refused uploads stored something: %v", err)
	}
	if code, body := send(t, put, data, nil); code != http.StatusOK {
		t.Fatalf("upload: %d %s", code, body)
	}
	info, err := st.Head(ctx, "orgs/o/customers/c/d1")
	if err != nil || info.Size != int64(len(data)) {
		t.Fatalf("head = %+v, %v", info, err)
	}
	get, err := st.PresignGet(ctx, "orgs/o/customers/c/d1", "runbook.pdf", "application/pdf", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, get, nil, nil); code != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("download: %d %s", code, body)
	}
	tampered := get
	tampered.URL = strings.Replace(get.URL, "/d1?", "/d2?", 1)
	if code, _ := send(t, tampered, nil, nil); code != http.StatusForbidden {
		t.Fatalf("download of another key with the same signature: %d", code)
	}
	expired, err := st.PresignGet(ctx, "orgs/o/customers/c/d1", "", "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if code, body := send(t, expired, nil, nil); code != http.StatusForbidden || !strings.Contains(string(body), "expired") {
		t.Fatalf("expired URL: %d %s", code, body)
	}
	if err := st.Delete(ctx, "orgs/o/customers/c/d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Head(ctx, "orgs/o/customers/c/d1"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := st.Delete(ctx, "orgs/o/customers/c/d1"); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
}
