package store

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
)

// TestItemsHoldNoEmptyCollections: no empty list or map is written at any depth, inside
// lists included (an audit change from `[]`), since the embedded engine reads a nested
// one back as an empty attribute value (see dropEmptyMaps).
func TestItemsHoldNoEmptyCollections(t *testing.T) {
	ev := audit.Event{ID: "e", OrganizationID: "o", Changes: []audit.Change{
		{Field: "psaLinks", From: []any{}, To: []any{map[string]any{"type": "autotask", "tags": []any{}}}},
		{Field: "nested", From: []any{[]any{}, map[string]any{}}, To: map[string]any{"a": map[string]any{}}},
	}}
	it, err := item(ev, "AuditEvent", "PK", "SK", nil)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v types.AttributeValue)
	walk = func(path string, v types.AttributeValue) {
		switch av := v.(type) {
		case *types.AttributeValueMemberM:
			if len(av.Value) == 0 {
				t.Errorf("%s: empty map", path)
			}
			for k, x := range av.Value {
				walk(path+"."+k, x)
			}
		case *types.AttributeValueMemberL:
			if len(av.Value) == 0 {
				t.Errorf("%s: empty list", path)
			}
			for _, x := range av.Value {
				walk(path+"[]", x)
			}
		case nil:
			t.Errorf("%s: no value", path)
		}
	}
	for k, v := range it {
		walk(k, v)
	}
	changes := it["changes"].(*types.AttributeValueMemberL).Value
	if len(changes) != 2 {
		t.Fatalf("%d changes", len(changes))
	}
	first := changes[0].(*types.AttributeValueMemberM).Value
	if _, ok := first["from"]; ok {
		t.Errorf("the empty from was kept: %#v", first["from"])
	}
}
