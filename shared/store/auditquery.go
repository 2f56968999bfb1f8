package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// AuditQuery filters an organization's audit log. Zero fields do not filter.
type AuditQuery struct {
	// Category: events of the category; audit.Support selects the events done on
	// behalf of the organization by a member of its parent (onBehalfOf set), whatever
	// their own category.
	Category audit.Category
	// ActorID: events done by this user.
	ActorID string
	// TargetKind (TargetCustomer, TargetTenant, TargetUser) and TargetID: events that
	// targeted this object.
	TargetKind, TargetID string
	// From and To bound the events' times, both inclusive.
	From, To time.Time
	Page     Page
}

// maxAuditQueries bounds the Queries one page of a filtered list makes while the
// filters that no key serves drop items: the page then holds fewer items than asked,
// with a cursor to go on from.
const maxAuditQueries = 5

// ListAudit returns one page of an organization's audit events, newest first.
func (s *Store) ListAudit(ctx context.Context, orgID string, page Page) ([]audit.Event, string, error) {
	return s.QueryAudit(ctx, orgID, AuditQuery{Page: page})
}

// QueryAudit returns one page of an organization's audit events that match q, newest
// first, hiding expired ones (DynamoDB deletes them late). Each filter can be served by
// a key, and the most selective one present is: a target, from the audit log's copy
// partition of that object (ORG#<org>#AUDIT#<kind>#<id>); an actor, from GSI2
// (ORG#<org>#AUDIT#ACTOR#<userId>); the support category, from the copy partition of
// events done on behalf of the organization (ORG#<org>#AUDIT#SUPPORT); another
// category, from GSI1 (ORG#<org>#AUDIT#CATEGORY#<category>); none, from the log's own
// partition (ORG#<org>#AUDIT). The time range is the sort key's range in each
// (EVT#<time>#<id>). The other filters present, and expiry, apply to what that key
// reads. Errors: ErrNoOrganization; a 400 problem naming cursor for a cursor of
// another query.
func (s *Store) QueryAudit(ctx context.Context, orgID string, q AuditQuery) ([]audit.Event, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), ScanIndexForward: aws.Bool(false)}
	pkAttr, skAttr, pk := AttrPK, AttrSK, auditPK(orgID)
	cursorAttrs := []string{AttrPK, AttrSK}
	byCategory := q.Category != ""
	byActor := q.ActorID != ""
	switch {
	case q.TargetID != "":
		pk = auditTargetPK(orgID, q.TargetKind, q.TargetID)
	case byActor:
		in.IndexName, pkAttr, skAttr, pk = aws.String(IndexGSI2), AttrGSI2PK, AttrGSI2SK, auditActorPK(orgID, q.ActorID)
		byActor = false
	case q.Category == audit.Support:
		pk, byCategory = auditSupportPK(orgID), false
	case byCategory:
		in.IndexName, pkAttr, skAttr, pk = aws.String(IndexGSI1), AttrGSI1PK, AttrGSI1SK, auditCategoryPK(orgID, q.Category)
		byCategory = false
	}
	if in.IndexName != nil {
		cursorAttrs = append(cursorAttrs, pkAttr, skAttr)
	}
	now := s.now()
	// The filters no key serves are applied here rather than as a FilterExpression
	// (which reads and bills the same items; the embedded engine's is unreliable).
	keep := func(it map[string]types.AttributeValue, ev audit.Event) bool {
		switch {
		case expired(it, now):
			return false
		case byActor && ev.Actor.UserID != q.ActorID:
			return false
		case byCategory && q.Category == audit.Support:
			return ev.OnBehalfOf != nil || ev.Category == audit.Support
		case byCategory:
			return ev.Category == q.Category
		}
		return true
	}
	lo, hi := prefixEvent, prefixEvent+"~"
	if !q.From.IsZero() {
		lo = prefixEvent + sortTime(q.From)
	}
	if !q.To.IsZero() {
		hi = prefixEvent + sortTime(q.To) + "#~"
	}
	in.ExpressionAttributeNames = map[string]string{"#pk": pkAttr, "#sk": skAttr}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(pk), ":lo": str(lo), ":hi": str(hi)}
	in.KeyConditionExpression = aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi")
	start, err := decodeCursor(q.Page.Cursor, pkAttr, pk, cursorAttrs...)
	if err != nil {
		return nil, "", err
	}
	if sk, ok := start[skAttr].(*types.AttributeValueMemberS); ok && (sk.Value < lo || sk.Value > hi) {
		return nil, "", problem.Invalidf("cursor", "is not a cursor this list returned")
	}
	in.ExclusiveStartKey = start
	want := q.Page.limit()
	events := make([]audit.Event, 0, want)
	for range maxAuditQueries {
		in.Limit = aws.Int32(want - int32(len(events)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("query audit of %s: %w", orgID, err)
		}
		for _, it := range out.Items {
			var ev audit.Event
			if err := decode(it, &ev); err != nil {
				return nil, "", err
			}
			if keep(it, ev) {
				events = append(events, ev)
			}
		}
		in.ExclusiveStartKey = lastKeyIn(out.LastEvaluatedKey, pkAttr, pk)
		if len(in.ExclusiveStartKey) == 0 || int32(len(events)) >= want {
			break
		}
	}
	return events, encodeCursor(in.ExclusiveStartKey), nil
}

// lastKeyIn is a Query's LastEvaluatedKey, or nil when it lies outside the partition
// queried: the embedded engine, filtering, can go on past the partition's end and
// return a key of another one, which means the partition is done.
func lastKeyIn(k map[string]types.AttributeValue, pkAttr, pk string) map[string]types.AttributeValue {
	if v, ok := k[pkAttr].(*types.AttributeValueMemberS); !ok || v.Value != pk {
		return nil
	}
	return k
}

// ChainPoint is one place in a chain: an event's sequence number and hash.
type ChainPoint struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// ChainBreak is the first place the chain does not hold.
type ChainBreak struct {
	// Seq is the sequence number where the chain breaks: the event expected there.
	Seq int64 `json:"seq"`
	// EventID is the event found there, if any.
	EventID string `json:"eventId,omitempty"`
	// Reason: sequence-gap (an event is missing, or out of place), prev-hash-mismatch
	// (the event does not name the previous event's hash), hash-mismatch (the event's
	// content does not hash to its hash: it was edited), missing-events (the chain
	// ends before its head), head-mismatch (the head names another last event).
	Reason   string `json:"reason"`
	Expected string `json:"expected"`
	Found    string `json:"found"`
}

// ChainReport is what verifying an organization's chain found.
type ChainReport struct {
	OK bool `json:"ok"`
	// Complete: the walk reached the head (or a break); else Resume goes on. (Not a
	// list's nextCursor: a check is not paged by limit.)
	Complete bool `json:"complete"`
	// Verified counts the events this walk checked.
	Verified   int64       `json:"verified"`
	Checkpoint ChainPoint  `json:"checkpoint"`
	Head       ChainPoint  `json:"head"`
	Break      *ChainBreak `json:"break,omitempty"`
	Resume     string      `json:"resume,omitempty"`
}

// verifyPage is how many events one Query of a chain walk reads.
const verifyPage = 500

// chainEvent is one event as a walk reads it.
type chainEvent struct {
	audit.Event
	sk      string
	expires int64
}

// chainCursor reads an organization's audit partition in sort key order, strongly
// consistent, one Query page at a time.
type chainCursor struct {
	s   *Store
	in  *dynamodb.QueryInput
	buf []map[string]types.AttributeValue
	end bool
}

// openChain reads org's audit partition from sort key from (op ">=" or ">").
func (s *Store) openChain(org, op, from string) *chainCursor {
	return &chainCursor{s: s, in: &dynamodb.QueryInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("PK = :pk AND SK " + op + " :from"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(auditPK(org)), ":from": str(from),
		},
		Limit: aws.Int32(verifyPage)}}
}

// next returns the next item, or nil at the partition's end.
func (c *chainCursor) next(ctx context.Context) (map[string]types.AttributeValue, error) {
	for len(c.buf) == 0 {
		if c.end {
			return nil, nil
		}
		out, err := c.s.db.Query(ctx, c.in)
		if err != nil {
			return nil, fmt.Errorf("walk audit chain: %w", err)
		}
		c.buf, c.in.ExclusiveStartKey = out.Items, out.LastEvaluatedKey
		c.end = len(out.LastEvaluatedKey) == 0
	}
	it := c.buf[0]
	c.buf = c.buf[1:]
	return it, nil
}

// chainStart reads an organization's checkpoint and head and opens the walk of its
// events, all with one Query: CHAIN#CHECKPOINT and CHAIN#HEAD sort just before the
// events (EVT#...). ok is false when the organization has no chain.
func (s *Store) chainStart(ctx context.Context, org string) (cp Checkpoint, head ChainHead, cur *chainCursor, ok bool, err error) {
	cur = s.openChain(org, ">=", skCheckpoint)
	for _, want := range []struct {
		typ string
		v   any
	}{{"AuditCheckpoint", &cp}, {"AuditChainHead", &head}} {
		it, err := cur.next(ctx)
		if err != nil || it == nil || itemType(it) != want.typ {
			return cp, head, nil, false, err
		}
		if err := decode(it, want.v); err != nil {
			return cp, head, nil, false, err
		}
	}
	return cp, head, cur, true, nil
}

// walkChain reads the events cur yields after afterSK, checking each against the one
// before it (prev): its sequence number, its prevHash and its own hash. It stops at
// the event with sequence number last (the head read before the walk; later events are
// not the walk's), at the first break (returned), or when visit returns false. It
// returns the last good point and its sort key.
func walkChain(ctx context.Context, cur *chainCursor, afterSK string, prev ChainPoint, last int64,
	visit func(chainEvent) bool) (ChainPoint, string, *ChainBreak, error) {
	lastSK := afterSK
	for prev.Seq < last {
		it, err := cur.next(ctx)
		if err != nil {
			return prev, lastSK, nil, err
		}
		if it == nil {
			break
		}
		sk := it[AttrSK].(*types.AttributeValueMemberS).Value
		if sk <= afterSK || itemType(it) != "AuditEvent" {
			continue // behind the checkpoint: passed, expiring
		}
		ev := chainEvent{sk: sk}
		if err := decode(it, &ev.Event); err != nil {
			return prev, lastSK, nil, err
		}
		if n, ok := it[AttrTTL].(*types.AttributeValueMemberN); ok {
			ev.expires, _ = strconv.ParseInt(n.Value, 10, 64)
		}
		if brk := checkLink(prev, ev.Event); brk != nil {
			return prev, lastSK, brk, nil
		}
		if !visit(ev) {
			return prev, lastSK, nil, nil
		}
		prev, lastSK = ChainPoint{Seq: ev.Seq, Hash: ev.Hash}, ev.sk
	}
	if prev.Seq < last {
		return prev, lastSK, &ChainBreak{Seq: prev.Seq + 1, Reason: "missing-events",
			Expected: strconv.FormatInt(last, 10), Found: strconv.FormatInt(prev.Seq, 10)}, nil
	}
	return prev, lastSK, nil, nil
}

// checkLink checks that ev follows prev.
func checkLink(prev ChainPoint, ev audit.Event) *ChainBreak {
	want := prev.Seq + 1
	if ev.Seq != want {
		return &ChainBreak{Seq: want, EventID: ev.ID, Reason: "sequence-gap",
			Expected: strconv.FormatInt(want, 10), Found: strconv.FormatInt(ev.Seq, 10)}
	}
	if ev.PrevHash != prev.Hash {
		return &ChainBreak{Seq: want, EventID: ev.ID, Reason: "prev-hash-mismatch", Expected: prev.Hash, Found: ev.PrevHash}
	}
	h, err := audit.CanonicalHash(ev)
	if err != nil || h != ev.Hash {
		return &ChainBreak{Seq: want, EventID: ev.ID, Reason: "hash-mismatch", Expected: h, Found: ev.Hash}
	}
	return nil
}

// VerifyAudit walks an organization's chain from its checkpoint (or from where resume,
// returned by an earlier call, left off) towards the head it reads first, checking up
// to budget events, and reports the first break or that the chain holds. Expired
// events still in the table are checked like the others. Errors: ErrNoOrganization; a
// 400 problem naming resume.
func (s *Store) VerifyAudit(ctx context.Context, orgID, resume string, budget int) (ChainReport, error) {
	if orgID == "" {
		return ChainReport{}, ErrNoOrganization
	}
	var rep ChainReport
	var cp Checkpoint
	var head ChainHead
	var cur *chainCursor
	var prev ChainPoint
	var afterSK string
	if resume == "" {
		var ok bool
		var err error
		if cp, head, cur, ok, err = s.chainStart(ctx, orgID); err != nil || !ok {
			rep.OK, rep.Complete = err == nil, err == nil
			return rep, err
		}
		prev, afterSK = ChainPoint{Seq: cp.Seq, Hash: cp.Hash}, cp.AfterSK
	} else {
		var err error
		if cp, head, prev, afterSK, err = s.resumeChain(ctx, orgID, resume); err != nil {
			return rep, err
		}
		cur = s.openChain(orgID, ">", afterSK)
	}
	rep.Head, rep.Checkpoint = ChainPoint{Seq: head.Seq, Hash: head.Hash}, ChainPoint{Seq: cp.Seq, Hash: cp.Hash}
	n := 0
	end, lastSK, brk, err := walkChain(ctx, cur, afterSK, prev, head.Seq, func(chainEvent) bool {
		if n >= budget {
			return false
		}
		n++
		return true
	})
	if err != nil {
		return rep, err
	}
	rep.Verified, rep.Break = int64(n), brk
	switch {
	case brk != nil:
		rep.Complete = true
	case end.Seq < head.Seq:
		rep.OK, rep.Resume = true, encodeCursor(key(auditPK(orgID), lastSK))
	case end.Hash != head.Hash:
		rep.Complete, rep.Break = true, &ChainBreak{Seq: head.Seq, Reason: "head-mismatch", Expected: head.Hash, Found: end.Hash}
	default:
		rep.OK, rep.Complete = true, true
	}
	return rep, nil
}

// resumeChain reads, with one consistent BatchGetItem, the checkpoint, the head and the
// event a resume value names, and returns where the walk goes on: after that event, or
// after the checkpoint when it moved past the event meanwhile.
func (s *Store) resumeChain(ctx context.Context, orgID, resume string) (cp Checkpoint, head ChainHead, prev ChainPoint, afterSK string, err error) {
	bad := problem.Invalidf("resume", "is not a value this check returned")
	start, err := decodeCursor(resume, AttrPK, auditPK(orgID), AttrPK, AttrSK)
	if err != nil {
		return cp, head, prev, "", bad
	}
	sk := start[AttrSK].(*types.AttributeValueMemberS).Value
	items, err := s.batchGetWith(ctx, []map[string]types.AttributeValue{
		key(auditPK(orgID), skCheckpoint), key(auditPK(orgID), skChainHead), start}, true)
	if err != nil {
		return cp, head, prev, "", fmt.Errorf("verify audit chain of %s: %w", orgID, err)
	}
	var from *audit.Event
	found := 0
	for _, it := range items {
		switch itemType(it) {
		case "AuditCheckpoint":
			found++
			err = decode(it, &cp)
		case "AuditChainHead":
			found++
			err = decode(it, &head)
		case "AuditEvent":
			from = new(audit.Event)
			err = decode(it, from)
		}
		if err != nil {
			return cp, head, prev, "", err
		}
	}
	if found != 2 || from == nil || from.OrganizationID != orgID {
		return cp, head, prev, "", bad
	}
	if sk <= cp.AfterSK {
		return cp, head, ChainPoint{Seq: cp.Seq, Hash: cp.Hash}, cp.AfterSK, nil
	}
	return cp, head, ChainPoint{Seq: from.Seq, Hash: from.Hash}, sk, nil
}

// CheckpointResult is what advancing one organization's checkpoint did.
type CheckpointResult struct {
	From, To int64
	Break    *ChainBreak
}

// AdvanceCheckpoint moves an organization's checkpoint past the events that expire
// within CheckpointMargin of now, verifying each on the way (a checkpoint never passes
// a break, which it returns), and sets when it is next due: CheckpointMargin before the
// first event after it expires, or, with none, before the earliest any later event can
// expire. A concurrent advance wins: the write is conditioned on the sequence number
// read. Errors: ErrNoOrganization; ErrNotFound when the organization has no chain.
func (s *Store) AdvanceCheckpoint(ctx context.Context, orgID string, now time.Time) (CheckpointResult, error) {
	if orgID == "" {
		return CheckpointResult{}, ErrNoOrganization
	}
	cp, head, cur, ok, err := s.chainStart(ctx, orgID)
	if err != nil {
		return CheckpointResult{}, err
	}
	if !ok {
		return CheckpointResult{}, ErrNotFound
	}
	res := CheckpointResult{From: cp.Seq}
	horizon := now.Add(CheckpointMargin).Unix()
	var next int64
	moved := cp
	_, _, brk, err := walkChain(ctx, cur, cp.AfterSK, ChainPoint{Seq: cp.Seq, Hash: cp.Hash}, head.Seq, func(ev chainEvent) bool {
		if ev.expires > horizon {
			next = ev.expires
			return false
		}
		moved.Seq, moved.Hash, moved.AfterSK, moved.At = ev.Seq, ev.Hash, ev.sk, ev.At
		return true
	})
	if err != nil {
		return res, err
	}
	switch {
	case brk != nil:
		// Verification is needed before the break's neighbours expire: try daily.
		res.Break = brk
		moved.Due = now.Add(24 * time.Hour)
	case next > 0:
		moved.Due = time.Unix(next, 0).UTC().Add(-CheckpointMargin)
	default:
		soonest := max(head.LastExpiresAt, now.Add(domain.AuditRetention(domain.PlanFree)).Unix())
		moved.Due = time.Unix(soonest, 0).UTC().Add(-CheckpointMargin)
	}
	res.To = moved.Seq
	put, err := s.checkpointPut(orgID, moved, &cp.Seq)
	if err != nil {
		return res, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.Put.TableName, Item: put.Put.Item,
		ConditionExpression: put.Put.ConditionExpression, ExpressionAttributeValues: put.Put.ExpressionAttributeValues})
	if err != nil && !isConditionFailed(err) {
		return res, fmt.Errorf("advance audit checkpoint of %s: %w", orgID, err)
	}
	return res, nil
}

// SystemDueCheckpoints lists the organizations whose audit checkpoint is due at now,
// from GSI1: the checkpoint schedule's read, in the system scope (it spans
// organizations, and no request path calls it).
func (s *Store) SystemDueCheckpoints(ctx context.Context, now time.Time, page Page) ([]string, string, error) {
	start, err := decodeCursor(page.Cursor, AttrGSI1PK, checkpointDuePK, AttrPK, AttrSK, AttrGSI1PK, AttrGSI1SK)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), IndexName: aws.String(IndexGSI1),
		KeyConditionExpression: aws.String("GSI1PK = :pk AND GSI1SK <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(checkpointDuePK), ":now": str(now.UTC().Format(time.RFC3339) + "#~"),
		},
		Limit: aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list due audit checkpoints: %w", err)
	}
	orgs := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		var cp struct {
			OrganizationID string `json:"organizationId"`
		}
		if err := decode(it, &cp); err != nil {
			return nil, "", err
		}
		orgs = append(orgs, cp.OrganizationID)
	}
	return orgs, encodeCursor(out.LastEvaluatedKey), nil
}
