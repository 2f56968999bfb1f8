package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
)

// The audit partition of an organization (ORG#<orgId>#AUDIT) holds its events
// (EVT#<at>#<id>), its chain head and its chain checkpoint. Every event of the
// organization is chained: it carries its sequence number, the previous event's hash
// and its own, and the transaction that writes it also moves the head from the
// previous event to it, conditioned on the head's sequence number being the one read.
// Two concurrent changes in one organization therefore cannot both extend the chain
// from the same event: the second fails its head condition and is sent again on the
// head the first left (transactWith), so the log stays one chain.
const (
	skChainHead  = "CHAIN#HEAD"
	skCheckpoint = "CHAIN#CHECKPOINT"
	prefixEvent  = "EVT#"
	// checkpointDuePK is the system-scope GSI1 partition of the checkpoints, by the
	// time each must next advance (GSI1SK "<due>#<orgId>").
	checkpointDuePK = "AUDIT-CHECKPOINT-DUE"
	// CheckpointMargin is how long before the oldest event after a checkpoint expires
	// the checkpoint is due to move past it: the checkpoint schedule may miss runs for
	// this long before an expiry (DynamoDB deletes expired items up to days late, never
	// early) leaves a gap the checkpoint does not cover.
	CheckpointMargin = 48 * time.Hour
	// chainRetryBudget bounds how long one change is rebuilt on a fresh head and sent
	// again while concurrent changes in its organization keep winning. Each round
	// commits one of them, so a loser's odds of losing every round fall fast; a time
	// budget rather than a count, because how many rounds it takes grows with the number
	// of writers (an import's concurrent rows), while API Gateway's 30 seconds do not.
	chainRetryBudget = 10 * time.Second
)

// ChainHead is where an organization's chain ends: the last event's sequence number,
// hash and time, and the expiry of that event (events never expire before the one
// they follow, so the checkpoint can move forward in order).
type ChainHead struct {
	Seq           int64     `json:"seq"`
	Hash          string    `json:"hash"`
	At            time.Time `json:"at"`
	LastExpiresAt int64     `json:"lastExpiresAt"`
}

// Checkpoint is the chain's start for verification: the sequence number and hash of
// the last event before the retention boundary (0 and "" until one passed it), and the
// sort key after which the events it has not passed are.
type Checkpoint struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// AfterSK: the events after the checkpoint have sort keys above it.
	AfterSK string    `json:"afterSk"`
	At      time.Time `json:"at,omitempty"`
	// Due is when the checkpoint must next move: CheckpointMargin before the first
	// event after it expires.
	Due time.Time `json:"due"`
}

func auditPK(orgID string) string { return orgPartition(orgID, "AUDIT") }

// chainState is what extending one organization's chain needs: its head (read
// consistently) and its plan (for the events' retention).
type chainState struct {
	head   ChainHead
	exists bool
	plan   string
	// read is the head's sequence number as read, before a write advanced head.
	read int64
	// org is the organization's item as read (nil for one being created), whose plan
	// resolvePlans reads.
	org *domain.Organization
}

// readChains reads the chain head and the organization item of each organization
// with consistent BatchGetItems (one call for up to 50 organizations), and their
// plans. An organization being created in the same transaction has no item yet: free
// plan.
func (s *Store) readChains(ctx context.Context, orgIDs []string) (map[string]*chainState, error) {
	states, err := s.readChainItems(ctx, orgIDs)
	if err != nil {
		return nil, err
	}
	return states, s.resolvePlans(ctx, states)
}

// resolvePlans sets each state's plan from its organization: a sub-organization keeps
// its events as long as its parent's plan does.
func (s *Store) resolvePlans(ctx context.Context, states map[string]*chainState) error {
	for _, st := range states {
		if st.org == nil {
			continue
		}
		plan, err := s.PlanOf(ctx, *st.org)
		if err != nil {
			return err
		}
		st.plan = plan
	}
	return nil
}

// readChainItems is readChains without the plans.
func (s *Store) readChainItems(ctx context.Context, orgIDs []string) (map[string]*chainState, error) {
	out := make(map[string]*chainState, len(orgIDs))
	keys := make([]map[string]types.AttributeValue, 0, 2*len(orgIDs))
	for _, id := range orgIDs {
		out[id] = &chainState{plan: domain.PlanFree}
		keys = append(keys, key(auditPK(id), skChainHead), key(orgPK(id), skOrg))
	}
	for start := 0; start < len(keys); start += maxBatchGetKeys {
		items, err := s.batchGetWith(ctx, keys[start:min(start+maxBatchGetKeys, len(keys))], true)
		if err != nil {
			return nil, fmt.Errorf("read audit chain heads: %w", err)
		}
		for _, it := range items {
			switch itemType(it) {
			case "AuditChainHead":
				var h struct {
					ChainHead
					OrganizationID string `json:"organizationId"`
				}
				if err := decode(it, &h); err != nil {
					return nil, err
				}
				if st := out[h.OrganizationID]; st != nil {
					st.head, st.exists, st.read = h.ChainHead, true, h.Seq
				}
			case "Organization":
				var o domain.Organization
				if err := decode(it, &o); err != nil {
					return nil, err
				}
				if st := out[o.ID]; st != nil {
					st.org = &o
				}
			}
		}
	}
	return out, nil
}

func itemType(m map[string]types.AttributeValue) string {
	t, _ := m[AttrType].(*types.AttributeValueMemberS)
	if t == nil {
		return ""
	}
	return t.Value
}

// txOptions adjust how transactWith writes a change's events.
type txOptions struct {
	// noCopiesIn: no activity copy goes into this partition (it is being deleted).
	noCopiesIn string
}

// chainWrite is the chain part of one transaction: the events with their copies, and
// per organization the head's Put (and, for a new chain, the checkpoint's).
type chainWrite struct {
	items []types.TransactWriteItem
	// guards are the positions, in items, of the head and checkpoint Puts: a failed
	// condition there means another change extended the chain first.
	guards []int
	// heads are the heads this write leaves, by organization.
	heads map[string]ChainHead
}

// chainWrites assigns each event its place in its organization's chain on states
// (which it advances) and returns the items that write them.
func (s *Store) chainWrites(events []*audit.Event, states map[string]*chainState, opt txOptions) (chainWrite, error) {
	cw := chainWrite{heads: map[string]ChainHead{}}
	var orgs []string
	starts := map[string]time.Time{}
	firstExpires := map[string]int64{}
	for _, ev := range events {
		if ev.OrganizationID == "" {
			return cw, fmt.Errorf("audit event %s/%s: %w", ev.Category, ev.Action, ErrNoOrganization)
		}
		st := states[ev.OrganizationID]
		if _, seen := cw.heads[ev.OrganizationID]; !seen {
			orgs = append(orgs, ev.OrganizationID)
		}
		if ev.At.IsZero() {
			ev.At = s.now()
		}
		// Time never runs backwards along the chain, so the time-ordered sort key is
		// also the chain's order (one Query serves both time ranges and verification).
		if st.exists || st.head.Seq > 0 {
			if !ev.At.After(st.head.At) {
				ev.At = st.head.At.Add(time.Nanosecond)
			}
		} else if _, ok := starts[ev.OrganizationID]; !ok {
			starts[ev.OrganizationID] = ev.At
		}
		expires := max(ev.At.Add(domain.AuditRetention(st.plan)).Unix(), st.head.LastExpiresAt)
		if _, ok := firstExpires[ev.OrganizationID]; !ok {
			firstExpires[ev.OrganizationID] = expires
		}
		ev.Seq, ev.PrevHash, ev.Hash = st.head.Seq+1, st.head.Hash, ""
		its, err := s.eventItems(ev, expires, opt)
		if err != nil {
			return cw, err
		}
		cw.items = append(cw.items, its...)
		st.head = ChainHead{Seq: ev.Seq, Hash: ev.Hash, At: ev.At, LastExpiresAt: expires}
		cw.heads[ev.OrganizationID] = st.head
	}
	for _, org := range orgs {
		st := states[org]
		m, err := item(st.head, "AuditChainHead", auditPK(org), skChainHead,
			map[string]types.AttributeValue{"organizationId": str(org)})
		if err != nil {
			return cw, err
		}
		put := &types.Put{TableName: aws.String(s.table), Item: m}
		if st.exists {
			put.ConditionExpression = aws.String("seq = :read")
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":read": num(st.read)}
		} else {
			put.ConditionExpression = aws.String("attribute_not_exists(PK)")
		}
		cw.guards = append(cw.guards, len(cw.items))
		cw.items = append(cw.items, types.TransactWriteItem{Put: put})
		if start, ok := starts[org]; ok {
			// A new chain: its checkpoint starts before its first event (events
			// written before chaining existed are outside the chain).
			cp := Checkpoint{AfterSK: prefixEvent + sortTime(start), Due: time.Unix(firstExpires[org], 0).UTC().Add(-CheckpointMargin)}
			cpPut, err := s.checkpointPut(org, cp, nil)
			if err != nil {
				return cw, err
			}
			cw.guards = append(cw.guards, len(cw.items))
			cw.items = append(cw.items, cpPut)
		}
	}
	return cw, nil
}

// checkpointPut writes org's checkpoint, indexed by when it is due; conditioned on the
// sequence number read (readSeq), or on there being none (nil).
func (s *Store) checkpointPut(org string, cp Checkpoint, readSeq *int64) (types.TransactWriteItem, error) {
	m, err := item(cp, "AuditCheckpoint", auditPK(org), skCheckpoint, map[string]types.AttributeValue{
		"organizationId": str(org),
		AttrGSI1PK:       str(checkpointDuePK),
		AttrGSI1SK:       str(cp.Due.UTC().Format(time.RFC3339) + "#" + org),
	})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	put := &types.Put{TableName: aws.String(s.table), Item: m, ConditionExpression: aws.String("attribute_not_exists(PK)")}
	if readSeq != nil {
		put.ConditionExpression = aws.String("seq = :read")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":read": num(*readSeq)}
	}
	return types.TransactWriteItem{Put: put}, nil
}

// eventItems are the Puts of a chained event: the event in the organization's log,
// with its index keys (GSI1 by category, GSI2 by actor); a copy in the partition of
// each customer and tenant it targets (that object's activity, SK "A#<time>#<id>");
// and the audit log's own copies, which the filters read and which neither a customer's
// deletion nor a merge touch: one per target (customer, tenant, user) and one for an
// event done on behalf of another organization (the support filter). All expire with
// the event.
func (s *Store) eventItems(ev *audit.Event, expires int64, opt txOptions) ([]types.TransactWriteItem, error) {
	if ev.ID == "" {
		ev.ID = domain.NewID()
	}
	org, sk := ev.OrganizationID, auditSK(ev.At, ev.ID)
	ttl := num(expires)
	extra := map[string]types.AttributeValue{
		AttrTTL:    ttl,
		AttrGSI1PK: str(auditCategoryPK(org, ev.Category)), AttrGSI1SK: str(sk),
	}
	if ev.Actor.UserID != "" {
		extra[AttrGSI2PK], extra[AttrGSI2SK] = str(auditActorPK(org, ev.Actor.UserID)), str(sk)
	}
	m, err := item(ev, "AuditEvent", auditPK(org), sk, extra)
	if err != nil {
		return nil, err
	}
	// The hash is over the event as it reads back from the item, so that verifying
	// it later hashes the very same form.
	var stored audit.Event
	if err := decode(m, &stored); err != nil {
		return nil, err
	}
	if ev.Hash, err = audit.CanonicalHash(stored); err != nil {
		return nil, err
	}
	m["hash"] = str(ev.Hash)
	out := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: m,
		ConditionExpression: aws.String("attribute_not_exists(PK)")}}}
	put := func(itemType, pk, sk string) error {
		c, err := item(ev, itemType, pk, sk, map[string]types.AttributeValue{AttrTTL: ttl})
		if err != nil {
			return err
		}
		out = append(out, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: c}})
		return nil
	}
	seen := map[string]bool{}
	for _, c := range auditCopies(*ev) {
		if seen[c.pk] || c.pk == opt.noCopiesIn {
			continue
		}
		seen[c.pk] = true
		csk := sk
		if c.activity {
			csk = activitySK(ev.At, ev.ID)
		}
		if err := put(c.itemType(), c.pk, csk); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type auditCopy struct {
	pk       string
	activity bool
}

func (c auditCopy) itemType() string {
	if c.activity {
		return "Activity"
	}
	return "AuditCopy"
}

// auditCopies lists the partitions that hold a copy of ev.
func auditCopies(ev audit.Event) []auditCopy {
	org := ev.OrganizationID
	var out []auditCopy
	for _, id := range ev.Targets.CustomerIDs {
		out = append(out, auditCopy{pk: customerPK(org, id), activity: true}, auditCopy{pk: auditTargetPK(org, TargetCustomer, id)})
	}
	for _, id := range ev.Targets.TenantIDs {
		out = append(out, auditCopy{pk: tenantPK(org, id), activity: true}, auditCopy{pk: auditTargetPK(org, TargetTenant, id)})
	}
	for _, id := range ev.Targets.UserIDs {
		out = append(out, auditCopy{pk: auditTargetPK(org, TargetUser, id)})
	}
	if ev.OnBehalfOf != nil || ev.Category == audit.Support {
		out = append(out, auditCopy{pk: auditSupportPK(org)})
	}
	return out
}

// chainItemCount is the most items one event adds to its transaction: itself, its
// copies, and its organization's head and (for a new chain) checkpoint.
func chainItemCount(ev audit.Event) int { return 1 + len(auditCopies(ev)) + 2 }

// Target kinds of the audit log's target filter.
const (
	TargetCustomer = "customer"
	TargetTenant   = "tenant"
	TargetUser     = "user"
)

func auditCategoryPK(org string, c audit.Category) string {
	return orgPartition(org, "AUDIT#CATEGORY#"+string(c))
}
func auditActorPK(org, userID string) string { return orgPartition(org, "AUDIT#ACTOR#"+userID) }
func auditTargetPK(org, kind, id string) string {
	return orgPartition(org, "AUDIT#"+kind+"#"+id)
}
func auditSupportPK(org string) string { return orgPartition(org, "AUDIT#SUPPORT") }

// chainLocks queues the writers of one process by organization, so that they extend
// a chain one after the other instead of racing for its head: a race costs the losers
// a cancelled transaction (billed) and another round, and a writer that keeps losing
// to its neighbours (an import's concurrent rows) could lose for seconds.
type chainLocks struct {
	mu    sync.Mutex
	turns map[string]*chainTurn
	// released counts the turns given back, in any organization: a head read ahead
	// (ChainRead) is still this process's latest only while no writer has finished
	// since the read began.
	released atomic.Uint64
}

type chainTurn struct {
	ch   chan struct{}
	refs int
}

// lock takes the turn of each organization, in sorted order (no two writers wait for
// each other), and returns its release; it gives up when ctx ends.
func (l *chainLocks) lock(ctx context.Context, orgs []string) (func(), error) {
	sorted := slices.Sorted(slices.Values(orgs))
	var held []string
	release := func() {
		for _, org := range held {
			l.release(org)
		}
	}
	for _, org := range sorted {
		t := l.turn(org)
		select {
		case t.ch <- struct{}{}:
			held = append(held, org)
		case <-ctx.Done():
			l.drop(org)
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

func (l *chainLocks) turn(org string) *chainTurn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.turns == nil {
		l.turns = map[string]*chainTurn{}
	}
	t := l.turns[org]
	if t == nil {
		t = &chainTurn{ch: make(chan struct{}, 1)}
		l.turns[org] = t
	}
	t.refs++
	return t
}

func (l *chainLocks) release(org string) {
	l.mu.Lock()
	t := l.turns[org]
	l.mu.Unlock()
	l.released.Add(1)
	<-t.ch
	l.drop(org)
}

// drop forgets an organization's turn once no writer holds or awaits it.
func (l *chainLocks) drop(org string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.turns[org]; t != nil {
		if t.refs--; t.refs == 0 {
			delete(l.turns, org)
		}
	}
}

// ChainRead is an organization's chain head, read ahead of a change the request may
// make: beside its authorization, instead of after its own reads. A change in that
// organization starts from it when no writer of this process finished since the read
// began; otherwise, or when the read failed, it reads the head as usual. A head that
// another process moved meanwhile fails the change's condition and is read again, as
// for any head read before a race.
type ChainRead struct {
	org      string
	released uint64
	done     chan struct{}
	state    *chainState
	err      error
	used     atomic.Bool
}

type chainReadKey struct{}

// ReadChainAhead starts reading org's chain head and organization item.
func (s *Store) ReadChainAhead(ctx context.Context, org string) *ChainRead {
	r := &ChainRead{org: org, released: s.chains.released.Load(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		// The plan is resolved when the head is used: a sub-organization's is its
		// parent's, which the request's authorization has cached by then.
		states, err := s.readChainItems(ctx, []string{org})
		if err == nil {
			r.state = states[org]
		}
		r.err = err
	}()
	return r
}

// WithChainRead returns ctx carrying r: the first change of the request in r's
// organization may start from it.
func WithChainRead(ctx context.Context, r *ChainRead) context.Context {
	return context.WithValue(ctx, chainReadKey{}, r)
}

// chainsAhead returns the states a change in orgs, holding their turns, can start
// from without reading: the request's head read ahead, once, when orgs is its
// organization alone and no writer of this process finished since.
func (s *Store) chainsAhead(ctx context.Context, orgs []string) (map[string]*chainState, bool) {
	r, _ := ctx.Value(chainReadKey{}).(*ChainRead)
	if r == nil || len(orgs) != 1 || orgs[0] != r.org || r.released != s.chains.released.Load() || r.used.Load() {
		return nil, false
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, false
	}
	if r.err != nil || !r.used.CompareAndSwap(false, true) {
		return nil, false
	}
	st := *r.state
	states := map[string]*chainState{r.org: &st}
	if s.resolvePlans(ctx, states) != nil {
		return nil, false
	}
	return states, true
}

// Used reports whether a change started from the head read ahead.
func (r *ChainRead) Used() bool { return r.used.Load() }

// chainBusyError: concurrent changes in the organization won every round for
// chainRetryBudget; nothing of this change was applied. Transient: 503, Retry-After.
type chainBusyError struct {
	org    string
	rounds int
}

func (e chainBusyError) Error() string {
	return fmt.Sprintf("audit chain of %s: concurrent changes won %d rounds in %s", e.org, e.rounds, chainRetryBudget)
}
func (chainBusyError) RetryableError() bool { return true }

// chainBackoff waits before the attempt-th repeat of a change that lost its head to a
// concurrent one: random, growing to 50 ms, so the losers spread out without idling
// the chain.
func chainBackoff(ctx context.Context, attempt int) error {
	bound := min(2*time.Millisecond*time.Duration(attempt), 50*time.Millisecond)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(bound) + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
