package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

const maxBody = 1 << 20

// decode reads a JSON body into v. Unknown fields are ignored, so a PUT accepts the body
// of the matching GET with its read-only fields; every other fault is a 4xx naming the
// field.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return problem.New(problem.UnsupportedMediaType, "unsupported-media-type", "send the body as application/json")
		}
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return problem.Invalidf("body", "could not be read")
	}
	if len(raw) > maxBody {
		return bodyError(&http.MaxBytesError{Limit: maxBody})
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// encoding/json reports only the first type error; name them all.
			var val problem.Validation
			typeErrors(&val, raw, reflect.TypeOf(v), "")
			if verr := val.Err(); verr != nil {
				return verr
			}
		}
		return bodyError(err)
	}
	if dec.More() {
		return problem.Invalidf("body", "must hold one JSON object")
	}
	return nil
}

func bodyError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &te):
		field := jsonPath(te.Field)
		if field == "" {
			field = "body"
		}
		return problem.Invalidf(field, "must be %s", jsonType(te.Type.Kind().String()))
	case errors.As(err, &se):
		return problem.Invalidf("body", "is not valid JSON at byte %d", se.Offset)
	case errors.As(err, &mbe):
		return problem.New(problem.PayloadTooLarge, "body-too-large", fmt.Sprintf("the body must be at most %d bytes", maxBody))
	case errors.Is(err, io.EOF):
		return problem.Invalidf("body", "is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem.Invalidf("body", "is truncated JSON")
	}
	return problem.Invalidf("body", "is not a valid JSON object")
}

// typeErrors adds a field error for every member of the JSON object raw whose value does
// not fit the Go type t it decodes into, descending into nested objects.
func typeErrors(v *problem.Validation, raw []byte, t reflect.Type, prefix string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return
	}
	fields := map[string]reflect.Type{}
	collectFields(t, fields)
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ft, ok := fields[name]
		if !ok {
			continue
		}
		typeErrorsOf(v, members[name], ft, prefix+name)
	}
}

// typeErrorsOf adds the type errors of one JSON value decoded into Go type t, named
// path, descending into objects and arrays ("licenses[2].assigned").
func typeErrorsOf(v *problem.Validation, raw json.RawMessage, t reflect.Type, path string) {
	err := json.Unmarshal(raw, reflect.New(t).Interface())
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var elems []json.RawMessage
	switch {
	case te.Field == "" && (t.Kind() != reflect.Slice || json.Unmarshal(raw, &elems) != nil):
		v.Add(path, "must be %s", jsonType(te.Type.Kind().String()))
	case t.Kind() == reflect.Slice:
		if json.Unmarshal(raw, &elems) != nil {
			v.Add(path, "must be an array")
			return
		}
		for i, e := range elems {
			typeErrorsOf(v, e, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	default:
		typeErrors(v, raw, t, path+".")
	}
}

// collectFields maps the JSON names of a struct's fields to their types, with embedded
// structs' fields promoted unless a shallower field has the name (as encoding/json does).
func collectFields(t reflect.Type, out map[string]reflect.Type) {
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			embedded = append(embedded, f.Type)
			continue
		}
		if name != "" && name != "-" && f.IsExported() {
			out[name] = f.Type
		}
	}
	for _, e := range embedded {
		inner := map[string]reflect.Type{}
		collectFields(e, inner)
		for name, ft := range inner {
			if _, taken := out[name]; !taken {
				out[name] = ft
			}
		}
	}
}

// jsonPath drops the Go names of embedded structs that encoding/json puts in a type
// error's field path ("Profile.companyName"): JSON names here are lower camelCase.
func jsonPath(field string) string {
	var out []string
	for _, seg := range strings.Split(field, ".") {
		if seg != "" && !unicode.IsUpper(rune(seg[0])) {
			out = append(out, seg)
		}
	}
	return strings.Join(out, ".")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int32", "int64", "float64":
		return "a number"
	case "slice":
		return "an array"
	}
	return "an object"
}

// write sends v as JSON with status.
func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// page reads ?limit= and ?cursor=, refusing bad values by name.
func page(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxLimit {
			return p, problem.Invalidf("limit", "must be a whole number from 1 to %d", store.MaxLimit)
		}
		p.Limit = n
	}
	if len(p.Cursor) > 2048 {
		return p, problem.Invalidf("cursor", "is not a cursor this list returned")
	}
	return p, nil
}

// List is the shape of every paged list.
// namedPage reads a list's page and ?q=, the start of a name to search by (any case).
func namedPage(r *http.Request) (store.Page, string, error) {
	p, err := page(r)
	if err != nil {
		return p, "", err
	}
	prefix := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(prefix) > domain.MaxNameLength {
		return p, "", problem.Invalidf("q", "must be at most %d characters", domain.MaxNameLength)
	}
	return p, prefix, nil
}

type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// filtered is the page of items that keep lets through, each shown as view: lists whose
// rows depend on the caller's tenant scope.
func filtered[T, V any](items []T, next string, keep func(T) bool, view func(T) V) List[V] {
	out := List[V]{Items: make([]V, 0, len(items)), NextCursor: next}
	for _, it := range items {
		if keep(it) {
			out.Items = append(out.Items, view(it))
		}
	}
	return out
}
