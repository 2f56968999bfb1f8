package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Keys of approvals. License orders and held actions share one partition per
// organization, apart by sort-key prefix; their ids sort by request time
// (domain.NewApprovalID), so a list reads its prefix backwards, newest first.
const (
	approvalsKind = "APPROVALS"
	// approvalExpiryPK is the one partition of GSI1 where pending approvals (orders
	// and held actions) are kept by expiry; the expiry schedule reads it, never the table.
	approvalExpiryPK = "APPROVAL-EXPIRY"
	// Buckets of the GSI2 status lists: pending and expired approvals share "open",
	// sorted by expiry, so a key condition on the time tells them apart whether or
	// not the schedule has stored the expiry yet.
	bucketOpen = "open"
)

// Queue is one of the two lists approvals are kept in.
type Queue string

// The queues: license orders (GET /api/msp-portal/license-orders) and the actions held
// for approval (GET /api/approvals).
const (
	LicenseOrders Queue = "ORDER#"
	HeldActions   Queue = "REQUEST#"
)

// QueueOf is the queue an approval is kept in.
func QueueOf(a domain.Approval) Queue {
	if a.Action == domain.ActionLicenseOrder {
		return LicenseOrders
	}
	return HeldActions
}

func approvalsPK(orgID string) string { return orgPartition(orgID, approvalsKind) }

// bucket is the GSI2 list an approval of status is kept in.
func bucket(status string) string {
	if status == domain.ApprovalPending || status == domain.ApprovalExpired {
		return bucketOpen
	}
	return status
}

func statusListPK(orgID string, q Queue, b string) string {
	return approvalsPK(orgID) + "#" + string(q) + b
}

// approvalItem keeps an approval in its organization, in the status list of its queue
// (GSI2, by expiry) and, while pending, in GSI1 by expiry for the schedule.
func approvalItem(a domain.Approval) (map[string]types.AttributeValue, error) {
	q := QueueOf(a)
	b := bucket(a.Status)
	// The open list sorts by expiry (request time + ApprovalTTL, so newest first
	// still), the decided ones by id (request time).
	sk := a.ID
	if b == bucketOpen {
		sk = sortTime(a.ExpiresAt) + "#" + a.ID
	}
	extra := map[string]types.AttributeValue{
		AttrVersion: num(a.Version),
		AttrGSI2PK:  str(statusListPK(a.OrganizationID, q, b)),
		AttrGSI2SK:  str(sk),
	}
	if a.Status == domain.ApprovalPending {
		extra[AttrGSI1PK] = str(approvalExpiryPK)
		extra[AttrGSI1SK] = str(a.ExpiresAt.UTC().Format(time.RFC3339) + "#" + a.OrganizationID + "#" + a.ID)
	} else {
		// A decided approval leaves the expiry partition for one of its organization's
		// that nothing reads, rather than losing its GSI1 keys: the embedded engine's
		// index breaks (every later Query of it fails) when a Put drops keys an item had.
		extra[AttrGSI1PK] = str(approvalsPK(a.OrganizationID) + "#DECIDED")
		extra[AttrGSI1SK] = str(a.ID)
	}
	return item(a, "Approval", approvalsPK(a.OrganizationID), string(q)+a.ID, extra)
}

// approvalPut writes a new approval, or a's next state over the version read (only
// while the stored one is still pending).
func (s *Store) approvalPut(a domain.Approval, read int64) (types.TransactWriteItem, error) {
	if a.OrganizationID == "" {
		return types.TransactWriteItem{}, ErrNoOrganization
	}
	a.Version = read + 1
	it, err := approvalItem(a)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	put := &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)")}
	if read > 0 {
		put.ConditionExpression = aws.String("version = :v AND #s = :pending")
		put.ExpressionAttributeNames = map[string]string{"#s": "status"}
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(read), ":pending": str(domain.ApprovalPending)}
	}
	return types.TransactWriteItem{Put: put}, nil
}

// CreateApproval writes a new pending approval with its audit event, in one
// transaction. It returns the approval as stored (version 1).
func (s *Store) CreateApproval(ctx context.Context, a domain.Approval, ev audit.Event) (domain.Approval, error) {
	put, err := s.approvalPut(a, 0)
	if err != nil {
		return domain.Approval{}, err
	}
	ev.OrganizationID = a.OrganizationID
	if err := s.transact(ctx, []types.TransactWriteItem{put}, &ev); err != nil {
		return domain.Approval{}, fmt.Errorf("create approval %s in %s: %w", a.ID, a.OrganizationID, err)
	}
	a.Version = 1
	return a, nil
}

// GetApproval returns one approval of queue q, read consistently. Errors: ErrNotFound.
func (s *Store) GetApproval(ctx context.Context, orgID string, q Queue, id string) (domain.Approval, error) {
	if orgID == "" {
		return domain.Approval{}, ErrNoOrganization
	}
	if !domain.ValidID(id) {
		return domain.Approval{}, ErrNotFound
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(approvalsPK(orgID), string(q)+id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.Approval{}, fmt.Errorf("get approval %s of %s: %w", id, orgID, err)
	}
	if out.Item == nil {
		return domain.Approval{}, ErrNotFound
	}
	var a domain.Approval
	return a, decode(out.Item, &a)
}

// ListApprovals returns one page of queue q's approvals, newest first: all of them
// (the organization's partition), or those of one status (GSI2). Pending and expired
// share a list sorted by expiry, so each is one key condition on it at now, and an
// approval past its expiry lists as expired before the schedule stores it.
func (s *Store) ListApprovals(ctx context.Context, orgID string, q Queue, status string, now time.Time, page Page) ([]domain.Approval, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), ScanIndexForward: aws.Bool(false), Limit: aws.Int32(page.limit())}
	var err error
	if status == "" {
		pk := approvalsPK(orgID)
		in.KeyConditionExpression = aws.String("PK = :pk AND begins_with(SK, :q)")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(pk), ":q": str(string(q))}
		in.ExclusiveStartKey, err = decodeCursor(page.Cursor, AttrPK, pk, AttrPK, AttrSK)
	} else {
		pk := statusListPK(orgID, q, bucket(status))
		in.IndexName = aws.String(IndexGSI2)
		in.KeyConditionExpression = aws.String("GSI2PK = :pk")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(pk)}
		// An approval expires when now reaches its expiry: "<now>#~" sorts after every
		// key of that instant.
		switch status {
		case domain.ApprovalPending:
			in.KeyConditionExpression = aws.String("GSI2PK = :pk AND GSI2SK > :now")
		case domain.ApprovalExpired:
			in.KeyConditionExpression = aws.String("GSI2PK = :pk AND GSI2SK <= :now")
		}
		if status == domain.ApprovalPending || status == domain.ApprovalExpired {
			in.ExpressionAttributeValues[":now"] = str(sortTime(now) + "#~")
		}
		in.ExclusiveStartKey, err = decodeCursor(page.Cursor, AttrGSI2PK, pk, AttrPK, AttrSK, AttrGSI2PK, AttrGSI2SK)
	}
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list approvals of %s: %w", orgID, err)
	}
	list := make([]domain.Approval, 0, len(out.Items))
	for _, it := range out.Items {
		var a domain.Approval
		if err := decode(it, &a); err != nil {
			return nil, "", err
		}
		list = append(list, a)
	}
	return list, encodeCursor(out.LastEvaluatedKey), nil
}

// SetApprovalNotice records on a pending approval why its approvers were not emailed,
// over the version read. It changes no state, so it writes no audit event.
func (s *Store) SetApprovalNotice(ctx context.Context, a domain.Approval, notice string) (domain.Approval, error) {
	read := a.Version
	a.NotifyError = notice
	put, err := s.approvalPut(a, read)
	if err != nil {
		return domain.Approval{}, err
	}
	if err := s.transact(ctx, []types.TransactWriteItem{put}); err != nil {
		return domain.Approval{}, fmt.Errorf("record the notice of approval %s: %w", a.ID, err)
	}
	a.Version = read + 1
	return a, nil
}

// Rider is a change that rides along in the first transaction a request's change
// writes (as the idempotency record does): an approval's decision with its audit
// event, written with the action it approves, so that the two commit together or not
// at all. A rider is written at most once; a transaction that fails releases it for
// a retry.
type Rider struct {
	items  []types.TransactWriteItem
	events []*audit.Event
	// size counts the items the rider adds, its events' activity copies included.
	size int
	// conflict is returned when an item of the rider fails its condition.
	conflict error

	mu        sync.Mutex
	taken     bool
	committed bool
}

type riderKey struct{}

// WithRider returns ctx whose first transaction also writes r.
func WithRider(ctx context.Context, r *Rider) context.Context {
	return context.WithValue(ctx, riderKey{}, r)
}

func riderFrom(ctx context.Context) *Rider {
	r, _ := ctx.Value(riderKey{}).(*Rider)
	return r
}

// Committed reports whether the rider was written with a change that committed.
func (r *Rider) Committed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.committed
}

func (r *Rider) take() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.taken || r.committed {
		return false
	}
	r.taken = true
	return true
}

func (r *Rider) settle(committed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.taken, r.committed = false, committed
}

// reservedItems is how many items transact adds to a change in ctx beyond its own
// and its events': the idempotency record and the rider's.
func reservedItems(ctx context.Context) int {
	n := 1
	if r := riderFrom(ctx); r != nil {
		n += r.size
	}
	return n
}

// DecisionRider is the rider that writes next, an approval's decision or a new
// approval (read nil), with its audit event ev unless nil. Its conflict, when the
// approval was decided or changed meanwhile, is a 409 approval-not-pending.
func (s *Store) DecisionRider(next domain.Approval, read *domain.Approval, ev *audit.Event) (*Rider, error) {
	var v int64
	if read != nil {
		v = read.Version
	}
	put, err := s.approvalPut(next, v)
	if err != nil {
		return nil, err
	}
	r := &Rider{items: []types.TransactWriteItem{put}, size: 1,
		conflict: problem.Conflictf("approval-not-pending", "this request was decided or changed meanwhile; reload it")}
	if ev != nil {
		ev.OrganizationID = next.OrganizationID
		// The event's chain items: itself, its copies and the heads.
		r.events, r.size = []*audit.Event{ev}, 1+chainItemCount(*ev)
	}
	return r, nil
}

// DecideApproval writes an approval's decision alone (a rejection), with its audit
// event, over the version read. Errors: 409 approval-not-pending when it was decided
// or changed meanwhile.
func (s *Store) DecideApproval(ctx context.Context, next, read domain.Approval, ev audit.Event) (domain.Approval, error) {
	r, err := s.DecisionRider(next, &read, &ev)
	if err != nil {
		return domain.Approval{}, err
	}
	if err := s.transact(WithRider(ctx, r), nil); err != nil {
		return domain.Approval{}, fmt.Errorf("decide approval %s: %w", next.ID, err)
	}
	next.Version = read.Version + 1
	return next, nil
}

// SystemDueApprovals lists pending approvals (license orders and held actions) whose
// expiry is at or before now, oldest first, from GSI1: the expiry schedule's read, in
// the system scope (it spans organizations, and no request path calls it).
func (s *Store) SystemDueApprovals(ctx context.Context, now time.Time, page Page) ([]domain.Approval, string, error) {
	due, next, err := systemDue[domain.Approval](ctx, s, approvalExpiryPK, now, page)
	if err != nil {
		return nil, "", fmt.Errorf("list due approvals: %w", err)
	}
	return due, next, nil
}

// ExpireApproval marks a pending approval expired, if it still is pending and due at
// now, with the audit event ev makes of it, in one transaction. It reports whether it
// changed anything, so a repeated run is a no-op.
func (s *Store) ExpireApproval(ctx context.Context, due domain.Approval, now time.Time, ev func(domain.Approval) audit.Event) (bool, error) {
	a, err := s.GetApproval(ctx, due.OrganizationID, QueueOf(due), due.ID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if a.Status != domain.ApprovalPending || now.Before(a.ExpiresAt) {
		return false, nil
	}
	next := a
	next.Status = domain.ApprovalExpired
	put, err := s.approvalPut(next, a.Version)
	if err != nil {
		return false, err
	}
	e := ev(a)
	e.OrganizationID = a.OrganizationID
	err = s.transact(ctx, []types.TransactWriteItem{put}, &e)
	var te *TxError
	if errors.As(err, &te) && (te.ConditionFailed(0) || te.conflicted()) {
		return false, nil // decided meanwhile: the next run looks again
	}
	if err != nil {
		return false, fmt.Errorf("expire approval %s of %s: %w", a.ID, a.OrganizationID, err)
	}
	return true, nil
}
