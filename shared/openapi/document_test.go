package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pb33f/jsonschema/v6"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi/datamodel"

	"github.com/switchboard-msp/switchboard/shared/openapi"
)

// problems runs every document check and returns what each found: the library's parse,
// model build and validation against the OpenAPI 3.1 meta-schema, then this project's
// own checks (local references resolve, every component is used).
func problems(doc []byte) []string {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil)) // the checks report; the library need not log
	d, err := libopenapi.NewDocumentWithConfiguration(doc, &datamodel.DocumentConfiguration{Logger: quiet})
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	var out []string
	info := d.GetSpecInfo()
	if info.SpecFormat != datamodel.OAS31 || !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(info.Version) {
		out = append(out, fmt.Sprintf("not an OpenAPI 3.1 document: version %q, format %q", info.Version, info.SpecFormat))
	}
	if _, err := d.BuildV3Model(); err != nil {
		out = append(out, "build model: "+err.Error())
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		return append(out, fmt.Sprintf("build validator: %v", errs))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			out = append(out, "meta-schema: "+e.Error())
		}
	}
	var tree any
	if err := json.Unmarshal(doc, &tree); err != nil {
		return append(out, "json: "+err.Error())
	}
	out = append(out, unresolvedRefs(tree)...)
	out = append(out, unusedComponents(tree)...)
	out = append(out, invalidSchemas(tree)...)
	return out
}

// invalidSchemas compiles every Schema Object of the document as JSON Schema 2020-12
// (the OAS 3.1 dialect), which checks each against the meta-schema: the OpenAPI
// meta-schema itself leaves Schema Objects unchecked.
func invalidSchemas(tree any) []string {
	const base = "urn:switchboard:openapi.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(base, tree); err != nil {
		return []string{"schema resource: " + err.Error()}
	}
	var out []string
	for _, ptr := range schemaPointers(tree, "") {
		if _, err := c.Compile(base + "#" + ptr); err != nil {
			out = append(out, "schema "+ptr+": "+err.Error())
		}
	}
	return out
}

// schemaPointers lists the JSON pointers of the document's Schema Objects: the
// components' schemas and each "schema" of a parameter, header or media type.
func schemaPointers(node any, at string) []string {
	var out []string
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			ptr := at + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
			switch {
			case at == "/components/schemas":
				out = append(out, ptr)
			case k == "schema":
				if _, ok := v.(map[string]any); ok {
					out = append(out, ptr)
				}
			default:
				out = append(out, schemaPointers(v, ptr)...)
			}
		}
	case []any:
		for i, v := range n {
			out = append(out, schemaPointers(v, fmt.Sprintf("%s/%d", at, i))...)
		}
	}
	sort.Strings(out)
	return out
}

// refs collects every "$ref" value in the tree.
func refs(node any, out *[]string) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			if s, ok := v.(string); ok && k == "$ref" {
				*out = append(*out, s)
				continue
			}
			refs(v, out)
		}
	case []any:
		for _, v := range n {
			refs(v, out)
		}
	}
}

func resolve(tree any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false // the document is self-contained
	}
	node := tree
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		m, ok := node.(map[string]any)
		if !ok {
			return false
		}
		if node, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

func unresolvedRefs(tree any) []string {
	var all, out []string
	refs(tree, &all)
	for _, r := range all {
		if !resolve(tree, r) {
			out = append(out, "unresolved $ref "+r)
		}
	}
	return out
}

// unusedComponents reports components nothing refers to: a leftover means the document
// drifted from the API.
func unusedComponents(tree any) []string {
	var all []string
	refs(tree, &all)
	used := map[string]bool{}
	for _, r := range all {
		used[r] = true
	}
	components, _ := tree.(map[string]any)["components"].(map[string]any)
	var out []string
	for kind, group := range components {
		if kind == "securitySchemes" {
			continue // referred to by name in security requirements
		}
		for name := range group.(map[string]any) {
			if !used["#/components/"+kind+"/"+name] {
				out = append(out, "unused component #/components/"+kind+"/"+name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	if p := problems(openapi.Document); len(p) > 0 {
		t.Fatalf("openapi.json has %d problems:\n%s", len(p), strings.Join(p, "\n"))
	}
	var head struct {
		OpenAPI           string `json:"openapi"`
		JSONSchemaDialect string `json:"jsonSchemaDialect"`
	}
	if err := json.Unmarshal(openapi.Document, &head); err != nil {
		t.Fatal(err)
	}
	if head.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", head.OpenAPI)
	}
	if head.JSONSchemaDialect != "https://spec.openapis.org/oas/3.1/dialect/base" {
		t.Errorf("jsonSchemaDialect = %q, want the OAS 3.1 base dialect", head.JSONSchemaDialect)
	}
	// The schema check must have reached every schema: the components' and the inline
	// ones of parameters, headers and bodies.
	var tree map[string]any
	if err := json.Unmarshal(openapi.Document, &tree); err != nil {
		t.Fatal(err)
	}
	ptrs := schemaPointers(tree, "")
	components := len(obj(tree, "components", "schemas"))
	if len(ptrs) <= components || !slices.Contains(ptrs, "/paths/~1api~1me/get/responses/200/content/application~1json/schema") {
		t.Errorf("schemaPointers found %d schemas (%d components): %v", len(ptrs), components, ptrs)
	}
}

// TestDocumentIsIndentedJSON keeps the committed file reviewable: two-space indented,
// no duplicate keys (which JSON parsers silently collapse), a final newline.
func TestDocumentIsIndentedJSON(t *testing.T) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(openapi.Document))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	if dups := duplicateKeys(openapi.Document); len(dups) > 0 {
		t.Errorf("duplicate keys: %v", dups)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, openapi.Document, "", "  "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(buf.Bytes()), bytes.TrimSpace(openapi.Document)) {
		t.Errorf("openapi.json is not indented with two spaces (json.Indent changes it)")
	}
	if !bytes.HasSuffix(openapi.Document, []byte("}\n")) {
		t.Errorf("openapi.json must end with a newline")
	}
}

// duplicateKeys walks the token stream and reports keys repeated within one object.
func duplicateKeys(doc []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // next string token in an object is a key
	}
	var stack []*frame
	var out []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		top := func() *frame {
			if len(stack) == 0 {
				return nil
			}
			return stack[len(stack)-1]
		}
		switch tk := tok.(type) {
		case json.Delim:
			switch tk {
			case '{', '[':
				if f := top(); f != nil && f.object {
					f.expect = true
				}
				stack = append(stack, &frame{object: tk == '{', keys: map[string]bool{}, expect: tk == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if f := top(); f != nil && f.object {
					f.expect = true
				}
			}
		default:
			f := top()
			if f != nil && f.object && f.expect {
				key := tk.(string)
				if f.keys[key] {
					out = append(out, key)
				}
				f.keys[key] = true
				f.expect = false
			} else if f != nil && f.object {
				f.expect = true
			}
		}
	}
}

// TestDocumentChecksCatchBrokenDocuments is the negative control of
// TestDocumentIsValidOpenAPI31: each mutation breaks the document in one way, and the
// checks must notice, so "no problems" means something.
func TestDocumentChecksCatchBrokenDocuments(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(doc map[string]any)
	}{
		{"OpenAPI 3.0 instead of 3.1", func(d map[string]any) { d["openapi"] = "3.0.3" }},
		{"info without a title", func(d map[string]any) { delete(obj(d, "info"), "title") }},
		{"info without a version", func(d map[string]any) { delete(obj(d, "info"), "version") }},
		{"a response without a description", func(d map[string]any) {
			delete(obj(d, "paths", "/api/me", "get", "responses", "200"), "description")
		}},
		{"a parameter in the body (Swagger 2.0 style)", func(d map[string]any) {
			obj(d, "components", "parameters", "Limit")["in"] = "body"
		}},
		{"a path that does not start with a slash", func(d map[string]any) {
			paths := obj(d, "paths")
			paths["api/me"] = paths["/api/me"]
			delete(paths, "/api/me")
		}},
		{"a schema with an unknown type", func(d map[string]any) {
			obj(d, "components", "schemas", "Plan")["type"] = "text"
		}},
		{"a security scheme of an unknown type", func(d map[string]any) {
			obj(d, "components", "securitySchemes", "cognitoIdToken")["type"] = "bearer"
		}},
		{"a reference to a schema that does not exist", func(d map[string]any) {
			obj(d, "components", "schemas", "Me", "properties")["user"] = map[string]any{"$ref": "#/components/schemas/Nobody"}
		}},
		{"a component nothing uses", func(d map[string]any) {
			obj(d, "components", "schemas")["Leftover"] = map[string]any{"type": "string"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(openapi.Document, &d); err != nil {
				t.Fatal(err)
			}
			tt.mutate(d)
			raw, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if p := problems(raw); len(p) == 0 {
				t.Errorf("the checks found nothing wrong with the broken document")
			} else {
				t.Logf("caught: %s", p[0])
			}
		})
	}
}

// obj walks into nested objects of a decoded document.
func obj(d map[string]any, path ...string) map[string]any {
	cur := d
	for _, p := range path {
		cur = cur[p].(map[string]any)
	}
	return cur
}
