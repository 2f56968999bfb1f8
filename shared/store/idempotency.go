package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// IdempotencyWindow is how long a mutating POST's first result is replayed.
const IdempotencyWindow = 24 * time.Hour

// IdempotentResult is the first response to a POST with an Idempotency-Key.
type IdempotentResult struct {
	Fingerprint string    `json:"fingerprint"`
	Status      int       `json:"status"`
	ContentType string    `json:"contentType"`
	Location    string    `json:"location,omitempty"`
	Body        string    `json:"body"`
	CreatedAt   time.Time `json:"createdAt"`
}

// idemSK hashes the client's key with the route so keys of any length and alphabet fit.
func idemSK(scope, key string) string {
	h := sha256.Sum256([]byte(scope + "\x00" + key))
	return prefixIdem + hex.EncodeToString(h[:])
}

// GetIdempotent returns the stored result for a user's key on a route, if it is within
// the window. Errors: ErrNotFound.
func (s *Store) GetIdempotent(ctx context.Context, userID, scope, idemKey string) (IdempotentResult, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(userPK(userID), idemSK(scope, idemKey)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return IdempotentResult{}, fmt.Errorf("get idempotency record: %w", err)
	}
	if out.Item == nil || expired(out.Item, s.now()) {
		return IdempotentResult{}, ErrNotFound
	}
	var r IdempotentResult
	return r, decode(out.Item, &r)
}

// PutIdempotent stores the first result; a concurrent first writer wins and the loser's
// result is not stored.
func (s *Store) PutIdempotent(ctx context.Context, userID, scope, idemKey string, r IdempotentResult) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	m, err := item(r, "Idempotency", userPK(userID), idemSK(scope, idemKey), nil)
	if err != nil {
		return err
	}
	m[AttrTTL] = num(r.CreatedAt.Add(IdempotencyWindow).Unix())
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: m,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR expiresAt <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(s.now().Unix())},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("put idempotency record: %w", err)
	}
	return nil
}
