// Package openapi embeds the committed OpenAPI 3.1 document, the API's contract.
// The document is written first and the handlers follow it (spec-first); nothing is
// generated or reflected at start-up, so serving it costs a Lambda no init work.
package openapi

import _ "embed"

// Document is openapi.json as committed.
//
//go:embed openapi.json
var Document []byte

// Gzipped is Document compressed with gzip, written by `go run ./infra/gen`: half a
// megabyte of JSON takes a cold Lambda milliseconds to escape into its response, a
// seventh of it as base64 far less, and clients download a seventh.
//
//go:embed openapi.json.gz
var Gzipped []byte
