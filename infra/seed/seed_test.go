package seed_test

import (
	"context"
	"testing"

	"github.com/switchboard-msp/switchboard/infra/seed"
	"github.com/switchboard-msp/switchboard/infra/testenv"
)

// TestMembershipsAreWhole: every seeded membership, the Owner's included, carries the
// version and join time the API documents (version >= 1, joinedAt set); the fuzzing gate
// found the Owner's written without them (version 0, joinedAt 0001-01-01).
func TestMembershipsAreWhole(t *testing.T) {
	ctx := context.Background()
	st := testenv.NewTable(t, testenv.DynamoDB(t))
	if err := seed.Demo(ctx, st); err != nil {
		t.Fatal(err)
	}
	for _, p := range seed.People {
		m, err := st.GetMember(ctx, seed.DemoOrganizationID, p.ID)
		if err != nil {
			t.Fatalf("%s: %v", p.Email, err)
		}
		if m.Version < 1 || m.JoinedAt.IsZero() {
			t.Errorf("%s: version %d, joinedAt %s", p.Email, m.Version, m.JoinedAt)
		}
	}
}
