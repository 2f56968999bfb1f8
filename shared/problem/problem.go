// Package problem holds the one error type that crosses package boundaries and renders it
// as an RFC 9457 problem document. Internal errors are logged, never shown.
package problem

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// Kind classifies an error; each kind has one HTTP status.
type Kind int

// The kinds, in the DESIGN.md check order.
const (
	Internal Kind = iota
	Unauthenticated
	NotFound
	Forbidden
	Invalid
	Conflict
	PreconditionFailed
	TooManyRequests
	Unavailable
	PayloadTooLarge
	UnsupportedMediaType
	MethodNotAllowed
	// BadGateway: a system outside Switchboard (Microsoft Graph) refused or failed.
	BadGateway
)

var statuses = map[Kind]int{
	Internal:             http.StatusInternalServerError,
	Unauthenticated:      http.StatusUnauthorized,
	NotFound:             http.StatusNotFound,
	Forbidden:            http.StatusForbidden,
	Invalid:              http.StatusBadRequest,
	Conflict:             http.StatusConflict,
	PreconditionFailed:   http.StatusPreconditionFailed,
	TooManyRequests:      http.StatusTooManyRequests,
	Unavailable:          http.StatusServiceUnavailable,
	PayloadTooLarge:      http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	BadGateway:           http.StatusBadGateway,
}

// FieldError names one bad field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an error that a client may see.
type Error struct {
	Kind Kind
	// Code is a kebab-case word clients can branch on, e.g. "session-expired".
	Code    string
	Message string
	Fields  []FieldError
	// RetryAfter, in seconds, is sent as Retry-After when positive.
	RetryAfter int
	// Extra members are added to the problem document.
	Extra map[string]any
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d fields)", e.Code, e.Message, len(e.Fields))
	}
	return e.Code + ": " + e.Message
}

// Status is the HTTP status of the error.
func (e *Error) Status() int { return statuses[e.Kind] }

// New returns an Error of kind with a code and message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// NotFoundf is the 404 used for anything the caller cannot reach, including another
// organization's ids, so existence is never revealed.
func NotFoundf(format string, args ...any) *Error {
	return New(NotFound, "not-found", fmt.Sprintf(format, args...))
}

// Conflictf is a 409.
func Conflictf(code, format string, args ...any) *Error {
	return New(Conflict, code, fmt.Sprintf(format, args...))
}

// StaleVersion is the 409 of a PUT whose version is not the stored one.
func StaleVersion(what string) *Error {
	return New(Conflict, "stale-version", what+" was changed by someone else; reload it and apply your change again")
}

// Validation collects bad fields so that one 400 names all of them.
type Validation struct{ fields []FieldError }

// Add records a bad field.
func (v *Validation) Add(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Check adds field when bad is true.
func (v *Validation) Check(bad bool, field, format string, args ...any) {
	if bad {
		v.Add(field, format, args...)
	}
}

// Err returns the 400 naming every bad field, or nil when there is none.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: "validation", Message: "the request has invalid fields", Fields: v.fields}
}

// Invalidf is a 400 naming one field.
func Invalidf(field, format string, args ...any) *Error {
	var v Validation
	v.Add(field, format, args...)
	return v.Err().(*Error)
}

// Document is the RFC 9457 body.
type Document struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Code     string       `json:"code"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// TypeBase prefixes problem type URIs.
const TypeBase = "https://switchboard.dev/problems/"

// As returns the client-visible error inside err; else a 503 with Retry-After for a
// transient fault of a service (see Transient); else an internal one.
func As(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if after, ok := Transient(err); ok {
		return unavailable(after)
	}
	return New(Internal, "internal", "internal error")
}

// Write renders err as a problem document. Internal errors are logged with their cause
// and shown to the client only as "internal error"; transient faults of a service
// likewise, as a 503 with Retry-After.
func Write(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	pe := As(err)
	status := pe.Status()
	switch {
	case pe.Kind == Internal:
		slog.ErrorContext(ctx, "internal error", "err", err.Error(), "method", r.Method, "path", r.URL.Path)
	case pe.Code == CodeUnavailable:
		slog.WarnContext(ctx, "transient fault", "err", err.Error(), "method", r.Method, "path", r.URL.Path)
	}
	doc := map[string]any{
		"type":   TypeBase + pe.Code,
		"title":  http.StatusText(status),
		"status": status,
		"code":   pe.Code,
	}
	if pe.Message != "" {
		doc["detail"] = pe.Message
	}
	// The path as sent (percent-encoded), so that it is a URI reference whatever bytes
	// the request's path holds.
	doc["instance"] = r.URL.EscapedPath()
	if len(pe.Fields) > 0 {
		doc["errors"] = pe.Fields
	}
	for k, v := range pe.Extra {
		if _, taken := doc[k]; !taken {
			doc[k] = v
		}
	}
	if pe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(pe.RetryAfter))
	}
	if pe.Kind == Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(doc)
}
