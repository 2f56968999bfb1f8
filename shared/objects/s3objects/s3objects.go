// Package s3objects is objects.Bucket on S3: customer documents in the bucket named by
// DOCUMENTS_BUCKET. S3_ENDPOINT points it at moto or the local server's in-process fake
// (path-style addressing). It is apart from package objects so that only the functions
// that keep documents link the S3 client (the generated main.go names Connect).
package s3objects

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/objects"
)

// Environment variables read here.
const (
	EnvBucket   = objects.EnvBucket
	EnvEndpoint = "S3_ENDPOINT"
)

// The errors of objects.Bucket, for callers of this package alone.
var (
	ErrNotConfigured = objects.ErrNotConfigured
	ErrNotFound      = objects.ErrNotFound
)

// Store signs uploads and downloads of objects in one bucket, inspects and deletes them.
// A nil *Store, or one without a bucket, answers ErrNotConfigured.
type Store struct {
	bucket   string
	endpoint string
	load     func(context.Context) (aws.Config, error)
	now      func() time.Time

	once      sync.Once
	client    *s3.Client
	presigner *s3.PresignClient
	err       error
}

var _ objects.Bucket = (*Store)(nil)

// Connect is FromEnv on an AWS configuration the caller has loaded already (a Lambda
// loads it once at start), in the form lambdaentry.Objects takes; it cannot fail.
func Connect(cfg aws.Config) (objects.Bucket, error) {
	endpoint := os.Getenv(EnvEndpoint)
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		cfg.Credentials = awsconfig.LocalCredentials()
	}
	return New(cfg, os.Getenv(EnvBucket), endpoint), nil
}

// FromEnv returns a store on DOCUMENTS_BUCKET (and S3_ENDPOINT when set). It does no
// work until first used, so a Lambda's cold start pays nothing for it.
func FromEnv() *Store {
	return &Store{bucket: os.Getenv(EnvBucket), endpoint: os.Getenv(EnvEndpoint), load: loadConfig, now: time.Now}
}

// New returns a store on bucket with cfg; endpoint, when set, overrides S3's and uses
// path-style addressing (moto, the in-process fake).
func New(cfg aws.Config, bucket, endpoint string) *Store {
	return &Store{bucket: bucket, endpoint: endpoint, now: time.Now,
		load: func(context.Context) (aws.Config, error) { return cfg, nil }}
}

func loadConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	if os.Getenv(EnvEndpoint) != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		cfg.Credentials = awsconfig.LocalCredentials()
	}
	return cfg, nil
}

// Bucket is the bucket's name ("" when not configured).
func (s *Store) Bucket() string {
	if s == nil {
		return ""
	}
	return s.bucket
}

// Configured reports whether the store has a bucket.
func (s *Store) Configured() bool { return s != nil && s.bucket != "" }

// Client returns the S3 client, building it on first use.
func (s *Store) Client(ctx context.Context) (*s3.Client, error) {
	if !s.Configured() {
		return nil, ErrNotConfigured
	}
	s.once.Do(func() {
		cfg, err := s.load(context.WithoutCancel(ctx))
		if err != nil {
			s.err = err
			return
		}
		s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
			if s.endpoint != "" {
				o.BaseEndpoint = aws.String(s.endpoint)
				o.UsePathStyle = true
			}
			// A presigned upload carries no checksum the browser could compute up front.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		})
		s.presigner = s3.NewPresignClient(s.client)
	})
	return s.client, s.err
}

// Presigned and Info are objects' types, for callers of this package alone.
type (
	Presigned = objects.Presigned
	Info      = objects.Info
)

func (s *Store) presigned(method, url string, signed http.Header, ttl time.Duration) Presigned {
	h := map[string]string{}
	for k, v := range signed {
		if http.CanonicalHeaderKey(k) == "Host" || len(v) == 0 {
			continue
		}
		h[http.CanonicalHeaderKey(k)] = v[0]
	}
	return Presigned{Method: method, URL: url, Header: h, ExpiresAt: s.now().UTC().Add(ttl).Truncate(time.Second)}
}

// PresignPut signs an upload of exactly size bytes of contentType to key, valid for ttl.
// S3 refuses an upload whose Content-Type or Content-Length differs from the signed ones.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (Presigned, error) {
	if _, err := s.Client(ctx); err != nil {
		return Presigned{}, err
	}
	req, err := s.presigner.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), ContentType: aws.String(contentType), ContentLength: aws.Int64(size),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return Presigned{}, fmt.Errorf("presign upload of %s: %w", key, err)
	}
	return s.presigned(http.MethodPut, req.URL, req.SignedHeader, ttl), nil
}

// PresignGet signs a download of key valid for ttl, served as an attachment named
// filename with contentType.
func (s *Store) PresignGet(ctx context.Context, key, filename, contentType string, ttl time.Duration) (Presigned, error) {
	if _, err := s.Client(ctx); err != nil {
		return Presigned{}, err
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if filename != "" {
		in.ResponseContentDisposition = aws.String(mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	}
	if contentType != "" {
		in.ResponseContentType = aws.String(contentType)
	}
	req, err := s.presigner.PresignGetObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return Presigned{}, fmt.Errorf("presign download of %s: %w", key, err)
	}
	return s.presigned(http.MethodGet, req.URL, req.SignedHeader, ttl), nil
}

// Head reads an object's size and type. Errors: ErrNotFound while it is not uploaded.
func (s *Store) Head(ctx context.Context, key string) (Info, error) {
	c, err := s.Client(ctx)
	if err != nil {
		return Info{}, err
	}
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		var nf *types.NotFound
		var nk *types.NoSuchKey
		if errors.As(err, &nf) || errors.As(err, &nk) {
			return Info{}, ErrNotFound
		}
		return Info{}, fmt.Errorf("head %s: %w", key, err)
	}
	return Info{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType)}, nil
}

// Delete removes an object; deleting one that does not exist succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	c, err := s.Client(ctx)
	if err != nil {
		return err
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// CreateBucket creates the store's bucket when it does not exist: for the local server
// and tests (the template creates the real one).
func (s *Store) CreateBucket(ctx context.Context) error {
	c, err := s.Client(ctx)
	if err != nil {
		return err
	}
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}
