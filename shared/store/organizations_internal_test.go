package store

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-msp/switchboard/shared/domain"
)

// TestOrgOptionalAttrs keeps orgOptionalAttrs in step with domain.Organization: a field
// an edit can clear must be removed by the update, or its old value would survive.
func TestOrgOptionalAttrs(t *testing.T) {
	var want []string
	ty := reflect.TypeFor[domain.Organization]()
	for i := range ty.NumField() {
		name, opts, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if strings.Contains(opts, "omitempty") {
			want = append(want, name)
		}
	}
	got := slices.Clone(orgOptionalAttrs)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("orgOptionalAttrs = %v, domain.Organization's omitempty fields = %v", got, want)
	}
}
