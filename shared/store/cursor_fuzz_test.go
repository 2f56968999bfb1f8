package store

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FuzzDecodeCursor: a cursor from a client is untrusted. Decoding never panics, and a
// cursor it accepts always names the partition being listed and exactly the key
// attributes asked for, so a crafted one cannot reach another partition.
func FuzzDecodeCursor(f *testing.F) {
	good := encodeCursor(map[string]types.AttributeValue{AttrPK: str("ORG#a#AUDIT"), AttrSK: str("EVT#1")})
	for _, seed := range []string{good, "", "e30", "!!", "eyJQSyI6Ik9SRyNiI0FVRElUIiwiU0siOiJ4In0", "bnVsbA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		key, err := decodeCursor(cursor, AttrPK, "ORG#a#AUDIT", AttrPK, AttrSK)
		if err != nil || key == nil {
			return
		}
		if pk, ok := key[AttrPK].(*types.AttributeValueMemberS); !ok || pk.Value != "ORG#a#AUDIT" {
			t.Fatalf("accepted a cursor of another partition: %v", key)
		}
		if len(key) != 2 {
			t.Fatalf("accepted a cursor with attributes %v", key)
		}
		if _, ok := key[AttrSK].(*types.AttributeValueMemberS); !ok {
			t.Fatalf("accepted a cursor without a sort key: %v", key)
		}
	})
}
