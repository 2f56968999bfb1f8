package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/switchboard-msp/switchboard/infra/fakes3"
	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/objects"
	"github.com/switchboard-msp/switchboard/shared/objects/s3objects"
)

// EnvS3Port fixes the port of the in-memory S3 (default: a free one).
const EnvS3Port = "S3_PORT"

// startDocuments gives the documents tab its storage: the bucket of DOCUMENTS_BUCKET
// (on S3_ENDPOINT, say moto, where it is created when missing), or else an in-memory
// S3 on 127.0.0.1 whose presigned URLs curl and browsers can use as they would AWS's.
// It returns the origin browsers upload to, for the console's CSP ("" when unknown).
func startDocuments(ctx context.Context, deps *api.Deps) (string, error) {
	if os.Getenv(objects.EnvBucket) != "" {
		b := s3objects.FromEnv()
		deps.Objects = b
		endpoint := os.Getenv(s3objects.EnvEndpoint)
		if endpoint != "" {
			if err := b.CreateBucket(ctx); err != nil {
				return "", err
			}
		}
		slog.Info("documents", "bucket", b.Bucket(), "endpoint", endpoint)
		return strings.TrimSuffix(endpoint, "/"), nil
	}
	port := os.Getenv(EnvS3Port)
	if port == "" {
		port = "0"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return "", fmt.Errorf("listen for the in-memory S3: %w", err)
	}
	st, err := fakes3.Serve(ctx, ln, "switchboard-documents")
	if err != nil {
		return "", fmt.Errorf("start the in-memory S3: %w", err)
	}
	deps.Objects = st
	slog.Info("documents", "bucket", st.Bucket(), "endpoint", "http://"+ln.Addr().String(), "storage", "in-memory S3 (gofakes3)")
	return "http://" + ln.Addr().String(), nil
}
