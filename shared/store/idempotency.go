package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/problem"
)

// IdempotencyWindow is how long a mutating POST's first result is replayed.
const IdempotencyWindow = 24 * time.Hour

// IdempotentResult is the record of a POST with an Idempotency-Key: written in the
// change's own transaction (Status 0: applied, response not stored yet), then
// completed with the first response.
type IdempotentResult struct {
	Fingerprint string `json:"fingerprint"`
	// RequestID is the request that wrote the record.
	RequestID string `json:"requestId,omitempty"`
	// Status is the first response's; 0 while the change is applied but its response
	// is not stored (the request is finishing, or it ended before storing it).
	Status      int       `json:"status"`
	ContentType string    `json:"contentType,omitempty"`
	Location    string    `json:"location,omitempty"`
	Body        string    `json:"body"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Applied reports whether the record stands for a change applied by its request,
// whose response is not stored.
func (r IdempotentResult) Applied() bool { return r.Status == 0 }

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

func (s *Store) idempotencyItem(userID, scope, idemKey string, r IdempotentResult) (map[string]types.AttributeValue, error) {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	m, err := item(r, "Idempotency", userPK(userID), idemSK(scope, idemKey), nil)
	if err != nil {
		return nil, err
	}
	m[AttrTTL] = num(r.CreatedAt.Add(IdempotencyWindow).Unix())
	return m, nil
}

// PutIdempotent stores the first result of a request that wrote no record in a
// transaction (a 4xx, or a route whose change is not one transaction), or completes
// the record its own transaction wrote (same RequestID). Another request's record within
// the window is kept: the first writer wins and the loser's result is not stored.
func (s *Store) PutIdempotent(ctx context.Context, userID, scope, idemKey string, r IdempotentResult) error {
	m, err := s.idempotencyItem(userID, scope, idemKey, r)
	if err != nil {
		return err
	}
	cond := "attribute_not_exists(PK) OR expiresAt <= :now"
	vals := map[string]types.AttributeValue{":now": num(s.now().Unix())}
	if r.RequestID != "" {
		cond += " OR requestId = :req"
		vals[":req"] = str(r.RequestID)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: m,
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals,
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("put idempotency record: %w", err)
	}
	return nil
}

// ReleaseIdempotent ends the record that request requestID wrote, so the key may be
// used again: the request committed its change but then answered 5xx, declaring the
// result one the client should not be held to (a job whose message the queue refused
// is marked failed; starting it again is the remedy).
//
// The record is expired rather than deleted (an UpdateItem, which every signed-in
// request may make): reads and the next transaction treat it as absent.
func (s *Store) ReleaseIdempotent(ctx context.Context, userID, scope, idemKey, requestID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(userPK(userID), idemSK(scope, idemKey)),
		UpdateExpression:          aws.String("SET expiresAt = :now"),
		ConditionExpression:       aws.String("requestId = :req"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":req": str(requestID), ":now": num(s.now().Unix())},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release idempotency record: %w", err)
	}
	return nil
}

// IdempotencyClaim carries a keyed POST into the store: the first transaction the
// request commits writes the idempotency record with its change (conditioned on there
// being none within the window), so the change and the record are applied together or
// not at all, and a repeat of the request can never apply the change twice, whatever
// dies between the commit and the response.
type IdempotencyClaim struct {
	UserID, Scope, Key, Fingerprint, RequestID string

	mu    sync.Mutex
	state claimState
}

type claimState int

const (
	claimOpen      claimState = iota // no transaction of the request carried the record yet
	claimInFlight                    // a transaction carrying it is being sent
	claimCommitted                   // a transaction carrying it committed
	claimUncertain                   // the transaction carrying it failed without an answer: it may have committed
	claimTaken                       // another request holds the key: nothing of this one was applied
)

type claimKey struct{}

// WithIdempotency returns ctx carrying c: the store's transactions in ctx write c's
// record.
func WithIdempotency(ctx context.Context, c *IdempotencyClaim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

func claimFrom(ctx context.Context) *IdempotencyClaim {
	c, _ := ctx.Value(claimKey{}).(*IdempotencyClaim)
	return c
}

// Committed reports whether a transaction of the request committed the record (with
// its change).
func (c *IdempotencyClaim) Committed() bool { return c.is(claimCommitted) }

// Taken reports whether a transaction of the request was refused because another
// request committed a record for the same key first; nothing of that transaction was
// applied.
func (c *IdempotencyClaim) Taken() bool { return c.is(claimTaken) }

// Uncertain reports whether the transaction carrying the record failed in a way that
// does not say whether it committed (its answers were lost).
func (c *IdempotencyClaim) Uncertain() bool { return c.is(claimUncertain) }

func (c *IdempotencyClaim) is(s claimState) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == s
}

// take reserves the record for one transaction, when none carried it yet.
func (c *IdempotencyClaim) take() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != claimOpen {
		return false
	}
	c.state = claimInFlight
	return true
}

func (c *IdempotencyClaim) settle(s claimState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = s
}

// ErrIdempotencyKeyTaken: another request with the same Idempotency-Key committed its
// change first; this request's transaction was cancelled and applied nothing. The
// middleware answers with the other request's result instead.
var ErrIdempotencyKeyTaken = func() error {
	pe := problem.Conflictf("idempotency-key-in-progress",
		"a request with this Idempotency-Key is being completed; repeat it in a moment for its response")
	pe.RetryAfter = 1
	return pe
}()

// idempotencyPut is the record's Put in the change's transaction.
func (s *Store) idempotencyPut(c *IdempotencyClaim) (types.TransactWriteItem, error) {
	m, err := s.idempotencyItem(c.UserID, c.Scope, c.Key, IdempotentResult{Fingerprint: c.Fingerprint, RequestID: c.RequestID})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: m,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR expiresAt <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(s.now().Unix())}}}, nil
}

// ownRecord reports whether the key's record was written by c's request: its
// transaction committed on an earlier attempt whose answer was lost (an engine that
// ignores ClientRequestToken then cancels the SDK's repeat of it).
func (s *Store) ownRecord(ctx context.Context, c *IdempotencyClaim) bool {
	r, err := s.GetIdempotent(ctx, c.UserID, c.Scope, c.Key)
	return err == nil && r.RequestID == c.RequestID
}
