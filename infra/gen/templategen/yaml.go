package templategen

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// om is a YAML mapping that keeps its keys in the order written, so the template
// reads top-down (parameters, resources, outputs) and every run writes the same bytes.
type om []kv

type kv struct {
	k string
	v any
}

// m builds an om from alternating keys and values.
func m(pairs ...any) om {
	if len(pairs)%2 != 0 {
		panic("templategen: odd number of arguments to m")
	}
	out := make(om, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			panic(fmt.Sprintf("templategen: key %v is not a string", pairs[i]))
		}
		out = append(out, kv{k, pairs[i+1]})
	}
	return out
}

// MarshalYAML renders the mapping in order.
func (o om) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, e := range o {
		var v yaml.Node
		if err := v.Encode(e.v); err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.k, err)
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: e.k}, &v)
	}
	return n, nil
}

// CloudFormation intrinsic functions in their long form, which any YAML reader parses.
func ref(name string) om            { return m("Ref", name) }
func sub(s string) om               { return m("Fn::Sub", s) }
func getAtt(res, attr string) om    { return m("Fn::GetAtt", []string{res, attr}) }
func list[T any](items ...T) []T    { return items }
func strs(items ...string) []string { return items }
