// Package objects is where customer documents are kept: one bucket, whose objects
// clients upload and download themselves through presigned URLs, so a Lambda never
// carries a document through API Gateway's payload limit; the API only signs, inspects
// and deletes. Bucket is the seam; objects/s3objects is S3 (and moto, and the local
// server's fake). This package links no AWS service, so a function that keeps no
// document does not start one.
package objects

import (
	"context"
	"errors"
	"time"
)

// EnvBucket names the documents bucket; unset, no bucket is configured.
const EnvBucket = "DOCUMENTS_BUCKET"

// Errors a Bucket returns.
var (
	// ErrNotConfigured: no bucket is configured (DOCUMENTS_BUCKET is unset).
	ErrNotConfigured = errors.New("objects: no documents bucket is configured (DOCUMENTS_BUCKET)")
	// ErrNotFound: the object does not exist (yet).
	ErrNotFound = errors.New("objects: no such object")
)

// Bucket signs uploads and downloads of objects in one bucket, inspects and deletes
// them. Every method returns ErrNotConfigured when no bucket is configured.
type Bucket interface {
	// PresignPut signs an upload of exactly size bytes of contentType to key, valid for
	// ttl; the bucket refuses an upload whose Content-Type or Content-Length differs.
	PresignPut(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (Presigned, error)
	// PresignGet signs a download of key valid for ttl, served as an attachment named
	// filename with contentType.
	PresignGet(ctx context.Context, key, filename, contentType string, ttl time.Duration) (Presigned, error)
	// Head reads an object's size and type. Errors: ErrNotFound while it is not uploaded.
	Head(ctx context.Context, key string) (Info, error)
	// Delete removes an object; deleting one that does not exist succeeds.
	Delete(ctx context.Context, key string) error
}

// Presigned is a request the client makes itself: method, URL, and the headers it must
// send exactly as given (they are part of the signature).
type Presigned struct {
	Method    string
	URL       string
	Header    map[string]string
	ExpiresAt time.Time
}

// Info is what the bucket knows of a stored object.
type Info struct {
	Size        int64
	ContentType string
}

// None is the Bucket of a process without one: every call answers ErrNotConfigured.
type None struct{}

var _ Bucket = None{}

func (None) PresignPut(context.Context, string, string, int64, time.Duration) (Presigned, error) {
	return Presigned{}, ErrNotConfigured
}

func (None) PresignGet(context.Context, string, string, string, time.Duration) (Presigned, error) {
	return Presigned{}, ErrNotConfigured
}

func (None) Head(context.Context, string) (Info, error) { return Info{}, ErrNotConfigured }
func (None) Delete(context.Context, string) error       { return ErrNotConfigured }
