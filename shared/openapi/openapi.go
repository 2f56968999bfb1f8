// Package openapi embeds the committed OpenAPI 3.1 document, the API's contract.
// The document is written first and the handlers follow it (spec-first); nothing is
// generated or reflected at start-up, so serving it costs a Lambda no init work.
package openapi

import _ "embed"

// Document is openapi.json as committed.
//
//go:embed openapi.json
var Document []byte
