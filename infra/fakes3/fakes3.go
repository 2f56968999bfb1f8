// Package fakes3 is an in-process, in-memory S3-compatible endpoint for `make run` and
// plain `go test`: github.com/johannesboyne/gofakes3 behind a check of presigned URLs
// as S3 makes it (signature over the signed headers, expiry), so an upload of another
// size or type than the one signed is refused here as it is in AWS. It is never linked
// into a Lambda.
package fakes3

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/objects/s3objects"
)

// Handler serves an empty in-memory S3. Presigned requests must carry a valid
// signature by awsconfig.LocalCredentials and be unexpired; other requests (the SDK's,
// signed in the Authorization header) are served unchecked.
func Handler() http.Handler {
	fake := gofakes3.New(s3mem.New())
	return presignCheck(fake.Server(), time.Now)
}

// Serve serves the fake on ln until ctx ends and returns a store on bucket, created.
func Serve(ctx context.Context, ln net.Listener, bucket string) (*s3objects.Store, error) {
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return storeOn(ctx, "http://"+ln.Addr().String(), bucket)
}

// Start runs the fake for one test and returns a store on a new bucket.
func Start(t testing.TB) *s3objects.Store {
	t.Helper()
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	st, err := storeOn(context.Background(), srv.URL, "documents-test")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func storeOn(ctx context.Context, endpoint, bucket string) (*s3objects.Store, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	st := s3objects.New(cfg, bucket, endpoint)
	if err := st.CreateBucket(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// presignCheck refuses presigned requests that S3 would refuse: expired, or whose
// signature does not match the request (another Content-Length or Content-Type than
// the signed ones, a changed path or query). A browser's CORS preflight (OPTIONS) of a
// presigned URL is not signed, and S3 answers it from the bucket's CORS rules.
func presignCheck(next http.Handler, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions || r.URL.Query().Get("X-Amz-Signature") == "" {
			next.ServeHTTP(w, r)
			return
		}
		if code, msg := verify(r, now()); code != "" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func verify(r *http.Request, now time.Time) (code, message string) {
	q := r.URL.Query()
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return "AuthorizationQueryParametersError", "X-Amz-Date is not a valid date"
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires < 1 || expires > 604800 {
		return "AuthorizationQueryParametersError", "X-Amz-Expires must be from 1 to 604800 seconds"
	}
	if now.After(signedAt.Add(time.Duration(expires) * time.Second)) {
		return "AccessDenied", "Request has expired"
	}
	// X-Amz-Credential is <access key>/<date>/<region>/<service>/aws4_request.
	scope := strings.Split(q.Get("X-Amz-Credential"), "/")
	creds, err := awsconfig.LocalCredentials().Retrieve(r.Context())
	if err != nil || len(scope) != 5 || scope[0] != creds.AccessKeyID {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	want := q.Get("X-Amz-Signature")
	q.Del("X-Amz-Signature")
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	again, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), nil)
	if err != nil {
		return "SignatureDoesNotMatch", "the request could not be rebuilt"
	}
	again.Host = r.Host
	for _, h := range strings.Split(q.Get("X-Amz-SignedHeaders"), ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
				again.Header[http.CanonicalHeaderKey(h)] = v
			}
		}
	}
	signed, _, err := v4.NewSigner().PresignHTTP(r.Context(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
		again, "UNSIGNED-PAYLOAD", scope[3], scope[2], signedAt, func(o *v4.SignerOptions) {
			o.DisableURIPathEscaping = true
			o.DisableHeaderHoisting = true
		})
	if err != nil {
		return "SignatureDoesNotMatch", err.Error()
	}
	got, err := url.Parse(signed)
	if err != nil || got.Query().Get("X-Amz-Signature") != want {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	return "", ""
}
