package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Store is the DynamoDB single-table store.
type Store struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time
	// parents is shared by the copies WithClock makes.
	parents *parentCache
	// chains queues this process's writers of each organization's audit chain; shared
	// by the copies WithClock makes.
	chains *chainLocks
	// roots caches sub-organizations' view of their parents' plans (billing.go).
	roots *rootCache
}

// New returns a store over table.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table, now: func() time.Time { return time.Now().UTC() }, parents: &parentCache{}, chains: &chainLocks{}, roots: &rootCache{}}
}

// WithClock returns a copy of the store that reads time from now; tests use it.
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Client returns the DynamoDB client, for benchmarks and table set-up.
func (s *Store) Client() *dynamodb.Client { return s.db }

// TableName is the table the store uses.
func (s *Store) TableName() string { return s.table }

// Errors returned by the store; they map to problems at the edge.
var (
	// ErrNotFound: the item does not exist (or is expired).
	ErrNotFound = errors.New("not found")
	// ErrNoOrganization: an organization-scoped call without an organization id.
	ErrNoOrganization = errors.New("store: organization id required")
)

// Key prefixes. Every organization-scoped partition key is "ORG#<id>" or
// "ORG#<id>#<kind>": the id is always followed by the end of the key or '#', and ids
// contain no '#', so one id's keys never share a prefix with another's.
const (
	prefixOrg      = "ORG#"
	prefixUser     = "USER#"
	prefixEmail    = "EMAIL#"
	prefixIdentity = "IDENTITY#"
	prefixMember   = "MEMBER#"
	prefixSession  = "SESSION#"
	prefixIdem     = "IDEM#"
	skOrg          = "ORG"
	skUser         = "USER"
	skEmail        = "EMAIL"
	skIdentity     = "IDENTITY"
)

func orgPK(orgID string) string              { return prefixOrg + orgID }
func orgPartition(orgID, kind string) string { return prefixOrg + orgID + "#" + kind }
func userPK(userID string) string            { return prefixUser + userID }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

var jsonTags = func(o *attributevalue.EncoderOptions) { o.TagKey = "json" }
var jsonTagsDecode = func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// item marshals v (a domain record with json tags) and adds keys.
func item(v any, itemType, pk, sk string, extra map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMapWithOptions(v, jsonTags)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", itemType, err)
	}
	dropEmptyMaps(m)
	m[AttrPK] = str(pk)
	m[AttrSK] = str(sk)
	m[AttrType] = str(itemType)
	for k, v := range extra {
		m[k] = v
	}
	return m, nil
}

// dropEmptyMaps removes empty nested maps and lists, which engines store
// inconsistently; an absent attribute decodes to the same zero value. It reaches into
// lists too: the embedded engine reads an empty list inside a list's map back as an
// empty attribute value (which the SDK decodes as a copy of a neighbouring value, and
// which can make every later Query of the table fail), so an audit change from `[]`
// to a list must not store the `[]`. An empty element of a list is stored as NULL.
func dropEmptyMaps(m map[string]types.AttributeValue) {
	for k, v := range m {
		switch mv := v.(type) {
		case *types.AttributeValueMemberM:
			dropEmptyMaps(mv.Value)
			if len(mv.Value) == 0 {
				delete(m, k)
			}
		case *types.AttributeValueMemberL:
			dropEmptyInList(mv.Value)
			if len(mv.Value) == 0 {
				delete(m, k)
			}
		}
	}
}

// dropEmptyInList applies dropEmptyMaps to the elements of a list, whose positions stay.
func dropEmptyInList(l []types.AttributeValue) {
	for i, v := range l {
		switch lv := v.(type) {
		case *types.AttributeValueMemberM:
			dropEmptyMaps(lv.Value)
			if len(lv.Value) == 0 {
				l[i] = &types.AttributeValueMemberNULL{Value: true}
			}
		case *types.AttributeValueMemberL:
			dropEmptyInList(lv.Value)
			if len(lv.Value) == 0 {
				l[i] = &types.AttributeValueMemberNULL{Value: true}
			}
		}
	}
}

func decode(m map[string]types.AttributeValue, v any) error {
	if err := attributevalue.UnmarshalMapWithOptions(m, v, jsonTagsDecode); err != nil {
		return fmt.Errorf("unmarshal item: %w", err)
	}
	return nil
}

// expired reports whether an item's TTL has passed: engines delete expired items late
// or never, so expiry is always checked on read.
func expired(m map[string]types.AttributeValue, now time.Time) bool {
	n, ok := m[AttrTTL].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	var sec int64
	if _, err := fmt.Sscan(n.Value, &sec); err != nil {
		return false
	}
	return now.Unix() >= sec
}

func activitySK(at time.Time, id string) string { return "A#" + sortTime(at) + "#" + id }

// ListActivity returns one page of the audit events that targeted a customer
// ("customer") or a tenant ("tenant"), newest first.
func (s *Store) ListActivity(ctx context.Context, orgID, kind, id string, page Page) ([]audit.Event, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	pk := customerPK(orgID, id)
	if kind == "tenant" {
		pk = tenantPK(orgID, id)
	}
	start, err := decodeCursor(page.Cursor, AttrPK, pk, AttrPK, AttrSK)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :a)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":a": str("A#")},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list activity of %s %s: %w", kind, id, err)
	}
	events := make([]audit.Event, 0, len(out.Items))
	for _, it := range out.Items {
		var ev audit.Event
		if err := decode(it, &ev); err != nil {
			return nil, "", err
		}
		// Copies expire with their event; DynamoDB deletes them late.
		if !expired(it, s.now()) {
			events = append(events, ev)
		}
	}
	return events, encodeCursor(out.LastEvaluatedKey), nil
}

func auditSK(at time.Time, id string) string { return prefixEvent + sortTime(at) + "#" + id }

// TxError is a cancelled transaction with the reason of each item.
type TxError struct {
	Reasons []string
	err     error
}

func (e *TxError) Error() string {
	return fmt.Sprintf("transaction cancelled %v: %v", e.Reasons, e.err)
}
func (e *TxError) Unwrap() error { return e.err }

// RetryableError reports whether the transaction was cancelled only by conflicts with
// concurrent transactions or by throttling (after the SDK's retries of it): nothing
// was applied and the same request may succeed later, so the client gets 503 with
// Retry-After (shared/problem) rather than a 500. A failed condition is not retryable.
func (e *TxError) RetryableError() bool { return awsconfig.TransientReasons(e.Reasons) }

// ConditionFailed reports whether item i failed its condition.
func (e *TxError) ConditionFailed(i int) bool {
	return i < len(e.Reasons) && e.Reasons[i] == "ConditionalCheckFailed"
}

// unprocessedError: DynamoDB left part of a batch unprocessed (it throttled) through
// every attempt. Transient: the client gets 503 with Retry-After.
type unprocessedError string

func errUnprocessed(op string) error { return unprocessedError(op) }

func (e unprocessedError) Error() string      { return string(e) + ": items left unprocessed (throttled)" }
func (unprocessedError) RetryableError() bool { return true }

// maxTransactItems is DynamoDB's limit on the items of one TransactWriteItems.
const maxTransactItems = 100

// transact writes items and the audit events in one TransactWriteItems; see
// transactWith.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem, events ...*audit.Event) error {
	return s.transactWith(ctx, items, txOptions{}, events...)
}

// transactWith writes items and the audit events, chained (auditchain.go), in one
// TransactWriteItems: it reads the chain heads of the events' organizations, appends
// the events, their copies and the heads' Puts after items (so the callers' item
// positions in a TxError stay theirs), and sends it (send). When a head's condition
// fails, a concurrent change extended that chain first: the change is built again on
// the heads as they are now and sent again, for up to chainRetryBudget, rather than
// answered as a conflict; only the conditions of items are the caller's to map.
// Every event keeps its id, and its time unless the chain's last event is later.
func (s *Store) transactWith(ctx context.Context, items []types.TransactWriteItem, opt txOptions, events ...*audit.Event) error {
	// A rider (an approval's decision) follows the change's own items, so their
	// indexes, which callers read failed conditions by, stay as they are.
	rider := riderFrom(ctx)
	riderFirst, riderEnd := -1, -1
	if rider != nil && rider.take() {
		riderFirst = len(items)
		items = append(items, rider.items...)
		riderEnd = len(items)
		events = append(events, rider.events...)
	}
	err := s.transactChained(ctx, items, opt, events)
	if riderFirst < 0 {
		return err
	}
	var te *TxError
	switch {
	case err == nil:
		rider.settle(true)
	case errors.As(err, &te):
		rider.settle(false)
		for i := riderFirst; i < riderEnd; i++ {
			if te.ConditionFailed(i) {
				return rider.conflict
			}
		}
	default:
		rider.settle(false)
	}
	return err
}

// transactChained is transactWith once the rider, if any, is among items and events.
func (s *Store) transactChained(ctx context.Context, items []types.TransactWriteItem, opt txOptions, events []*audit.Event) error {
	if len(events) == 0 {
		_, err := s.send(ctx, items)
		return err
	}
	var orgs []string
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.OrganizationID == "" {
			return fmt.Errorf("audit event %s/%s: %w", ev.Category, ev.Action, ErrNoOrganization)
		}
		if ev.ID == "" {
			ev.ID = domain.NewID()
		}
		if !seen[ev.OrganizationID] {
			seen[ev.OrganizationID] = true
			orgs = append(orgs, ev.OrganizationID)
		}
	}
	orig := make([]audit.Event, len(events))
	for i, ev := range events {
		orig[i] = *ev
	}
	// Writers in this process take turns at each head; only writers in other processes
	// race for it (and lose rounds).
	unlock, err := s.chains.lock(ctx, orgs)
	if err != nil {
		return err
	}
	defer unlock()
	states, ahead := s.chainsAhead(ctx, orgs)
	if !ahead {
		if states, err = s.readChains(ctx, orgs); err != nil {
			return err
		}
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		for i, ev := range events {
			*ev = orig[i]
		}
		cw, err := s.chainWrites(events, states, opt)
		if err != nil {
			return err
		}
		all := append(append(make([]types.TransactWriteItem, 0, len(items)+len(cw.items)), items...), cw.items...)
		carried, err := s.send(ctx, all)
		var te *TxError
		if !errors.As(err, &te) || !te.anyFailed(len(items), cw.guards) {
			return err
		}
		// Another change moved a head first, or this very transaction committed on an
		// attempt whose answer was lost and the engine did not recognise its repeat:
		// the heads, read again, tell which.
		if states, err = s.readChains(ctx, orgs); err != nil {
			return err
		}
		if states[orgs[0]].head.Hash == cw.heads[orgs[0]].Hash {
			if carried {
				claimFrom(ctx).settle(claimCommitted)
			}
			return nil
		}
		if time.Since(start) > chainRetryBudget {
			return chainBusyError{org: orgs[0], rounds: attempt}
		}
		if err := chainBackoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// anyFailed reports whether one of the items at guards (offset by base) failed its
// condition.
func (e *TxError) anyFailed(base int, guards []int) bool {
	for _, g := range guards {
		if e.ConditionFailed(base + g) {
			return true
		}
	}
	return false
}

// send sends one TransactWriteItems, and reports whether it carried the request's
// idempotency record. The SDK's retryer retries it on throttling, 5xx and transaction
// conflicts (with the same ClientRequestToken, so a repeat of an attempt that
// committed but whose answer was lost applies nothing twice). In a keyed POST
// (WithIdempotency) the first transaction also writes the request's idempotency
// record; when another request holds the key it fails with ErrIdempotencyKeyTaken and
// applies nothing. When the transaction fails without saying whether it committed
// (every answer lost), the record, which exists only if it did, decides: a transaction
// that committed returns nil, so the request answers its success instead of a 503 for
// an applied change.
func (s *Store) send(ctx context.Context, items []types.TransactWriteItem) (bool, error) {
	claim := claimFrom(ctx)
	idem := -1
	if claim != nil && len(items) < maxTransactItems && claim.take() {
		put, err := s.idempotencyPut(claim)
		if err != nil {
			claim.settle(claimOpen)
			return false, err
		}
		items = append(items, put)
		idem = len(items) - 1
	}
	carried := idem >= 0
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items},
		awsconfig.RetryTransactionConflicts)
	if err == nil {
		if carried {
			claim.settle(claimCommitted)
		}
		return carried, nil
	}
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		if carried {
			// No answer says whether it committed (answers lost, 5xx after the
			// commit): the record, written only with the change, tells.
			if s.ownRecord(ctx, claim) {
				claim.settle(claimCommitted)
				return carried, nil
			}
			claim.settle(claimUncertain)
		}
		return carried, err
	}
	te := &TxError{err: err}
	for _, r := range tc.CancellationReasons {
		te.Reasons = append(te.Reasons, aws.ToString(r.Code))
	}
	if carried {
		claim.settle(claimOpen)
		// A failed condition may be the record's (engines need not report every failed
		// condition): the key's record, if any, says whose.
		if te.anyConditionFailed() {
			if rec, err := s.GetIdempotent(ctx, claim.UserID, claim.Scope, claim.Key); err == nil {
				if rec.RequestID == claim.RequestID {
					// An earlier attempt of this very transaction committed.
					claim.settle(claimCommitted)
					return carried, nil
				}
				claim.settle(claimTaken)
				return carried, ErrIdempotencyKeyTaken
			}
		}
	}
	return carried, te
}

func (e *TxError) anyConditionFailed() bool {
	for i := range e.Reasons {
		if e.ConditionFailed(i) {
			return true
		}
	}
	return false
}

// Page asks for one page of a list.
type Page struct {
	Limit  int
	Cursor string
}

// Page limits.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

func (p Page) limit() int32 {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return int32(p.Limit)
}

// cursor is the opaque form of a LastEvaluatedKey; all keys here are strings.
func encodeCursor(k map[string]types.AttributeValue) string {
	if len(k) == 0 {
		return ""
	}
	plain := map[string]string{}
	for name, v := range k {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			plain[name] = sv.Value
		}
	}
	b, _ := json.Marshal(plain)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor and refuses one that does not belong to the partition
// being listed, so a crafted cursor cannot reach another partition or fail the Query.
func decodeCursor(c, partitionAttr, partition string, attrs ...string) (map[string]types.AttributeValue, error) {
	if c == "" {
		return nil, nil
	}
	bad := problem.Invalidf("cursor", "is not a cursor this list returned")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	var plain map[string]string
	if json.Unmarshal(b, &plain) != nil || plain[partitionAttr] != partition {
		return nil, bad
	}
	out := map[string]types.AttributeValue{}
	for _, a := range attrs {
		v, ok := plain[a]
		if !ok || v == "" {
			return nil, bad
		}
		out[a] = str(v)
	}
	if len(out) != len(plain) {
		return nil, bad
	}
	return out, nil
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

func marshalValue(v any) (types.AttributeValue, error) {
	av, err := attributevalue.MarshalWithOptions(v, jsonTags)
	if err != nil {
		return nil, fmt.Errorf("marshal value: %w", err)
	}
	return av, nil
}
