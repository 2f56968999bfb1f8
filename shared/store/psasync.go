package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// PSA sync keys: one partition per PSA connection holds its sync state ("STATE"), each
// link's baseline ("BASE#<externalId>") and each conflict held for review
// ("HOLD#<externalId>"), so a sync reads all it keeps in one Query. A PSA connection
// with a next sync sits in the system partition psaSyncDuePK of GSI1 that the psa-sync
// schedule reads (connectionItem).
const (
	skPSAState    = "STATE"
	prefixPSABase = "BASE#"
	prefixPSAHold = "HOLD#"
	psaSyncDuePK  = "PSA-SYNC-DUE"
)

func psaSyncPK(orgID, connectionID string) string {
	return orgPartition(orgID, "PSASYNC#"+connectionID)
}

// PSASyncRead is what a PSA connection's sync keeps.
type PSASyncRead struct {
	State     domain.PSASyncState
	Baselines map[string]domain.PSABaseline     // by external id
	Held      map[string]domain.PSAHeldConflict // by external id
}

// PSASync reads a PSA connection's sync state, baselines and held conflicts. A
// connection never synced has state version 0 and the hold policy.
func (s *Store) PSASync(ctx context.Context, orgID, connectionID string) (PSASyncRead, error) {
	out := PSASyncRead{State: domain.PSASyncState{ConnectionID: connectionID, ConflictPolicy: domain.PSAHold},
		Baselines: map[string]domain.PSABaseline{}, Held: map[string]domain.PSAHeldConflict{}}
	if orgID == "" {
		return out, ErrNoOrganization
	}
	var start map[string]types.AttributeValue
	for {
		page, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(s.table),
			KeyConditionExpression:    aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(psaSyncPK(orgID, connectionID))},
			ConsistentRead:            aws.Bool(true), ExclusiveStartKey: start})
		if err != nil {
			return out, fmt.Errorf("read the sync of connection %s: %w", connectionID, err)
		}
		for _, it := range page.Items {
			sk := it[AttrSK].(*types.AttributeValueMemberS).Value
			switch {
			case sk == skPSAState:
				err = decode(it, &out.State)
			case strings.HasPrefix(sk, prefixPSABase):
				var b domain.PSABaseline
				err = decode(it, &b)
				out.Baselines[b.ExternalID] = b
			case strings.HasPrefix(sk, prefixPSAHold):
				var h domain.PSAHeldConflict
				err = decode(it, &h)
				out.Held[h.ExternalID] = h
			}
			if err != nil {
				return out, err
			}
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// PutPSASyncState writes a sync state conditioned on the version read (st.Version; 0
// when there was none), with ev when given, and answers it with its new version.
// Errors: a stale-version 409 when another run or request wrote it meanwhile.
func (s *Store) PutPSASyncState(ctx context.Context, orgID string, st domain.PSASyncState, ev *audit.Event) (domain.PSASyncState, error) {
	if orgID == "" {
		return st, ErrNoOrganization
	}
	read := st.Version
	st.Version++
	it, err := item(st, "PSASyncState", psaSyncPK(orgID, st.ConnectionID), skPSAState, nil)
	if err != nil {
		return st, err
	}
	put := s.versionedPut(it, read)
	var events []*audit.Event
	if ev != nil {
		ev.OrganizationID = orgID
		events = append(events, ev)
	}
	err = s.transact(ctx, []types.TransactWriteItem{{Put: put}}, events...)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return st, problem.StaleVersion("the sync state")
	case err != nil:
		return st, fmt.Errorf("write the sync state of connection %s: %w", st.ConnectionID, err)
	}
	return st, nil
}

// PutPSABaseline records a link's fields as both sides hold them after a sync. It is
// bookkeeping, not a change: a baseline lost to a fault is written again by the next
// sync, which finds both sides equal.
func (s *Store) PutPSABaseline(ctx context.Context, orgID, connectionID string, b domain.PSABaseline) error {
	it, err := item(b, "PSABaseline", psaSyncPK(orgID, connectionID), prefixPSABase+b.ExternalID, nil)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("write the baseline of %s: %w", b.ExternalID, err)
	}
	return nil
}

// PutPSAHeld holds a conflict for review, with its audit event, in one transaction.
func (s *Store) PutPSAHeld(ctx context.Context, orgID, connectionID string, h domain.PSAHeldConflict, ev audit.Event) error {
	it, err := item(h, "PSAHeldConflict", psaSyncPK(orgID, connectionID), prefixPSAHold+h.ExternalID, nil)
	if err != nil {
		return err
	}
	ev.OrganizationID = orgID
	if err := s.transact(ctx, []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it}}}, &ev); err != nil {
		return fmt.Errorf("hold the conflict of %s: %w", h.ExternalID, err)
	}
	return nil
}

// DeletePSAHeld releases a held conflict, with its audit event, in one transaction.
// Errors: ErrNotFound when it is not held (another request resolved it).
func (s *Store) DeletePSAHeld(ctx context.Context, orgID, connectionID, externalID string, ev audit.Event) error {
	ev.OrganizationID = orgID
	err := s.transact(ctx, []types.TransactWriteItem{{Delete: &types.Delete{TableName: aws.String(s.table),
		Key: key(psaSyncPK(orgID, connectionID), prefixPSAHold+externalID), ConditionExpression: aws.String("attribute_exists(PK)")}}}, &ev)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("release the conflict of %s: %w", externalID, err)
	}
	return nil
}

// SystemDuePSAConnections reads one page of the PSA connections whose next sync is at
// or before now, across organizations (system scope: the psa-sync schedule).
func (s *Store) SystemDuePSAConnections(ctx context.Context, now time.Time, page Page) ([]domain.Connection, string, error) {
	conns, next, err := systemDue[domain.Connection](ctx, s, psaSyncDuePK, now, page)
	if err != nil {
		return nil, "", fmt.Errorf("list due PSA connections: %w", err)
	}
	return conns, next, nil
}

// SetPSAConnectionUse records a PSA sync's use of a connection (status, error, last
// use) and its next sync, conditioned on the version read. It is bookkeeping, as a
// Microsoft 365 sync's next time: what the sync changed is audited where it changed.
func (s *Store) SetPSAConnectionUse(ctx context.Context, orgID string, cur domain.Connection, failure *domain.Problem, nextSync, now time.Time) (domain.Connection, error) {
	next := cur
	next.NextSyncAt, next.LastError = &nextSync, failure
	if failure == nil {
		next.Status, next.LastUsedAt = domain.ConnectionConnected, &now
	} else {
		next.Status = domain.ConnectionFailed
	}
	next.Version, next.UpdatedAt = cur.Version+1, now
	put, err := s.connectionPut(orgID, cur, next)
	if err != nil {
		return cur, err
	}
	err = s.transact(ctx, []types.TransactWriteItem{put})
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return cur, problem.StaleVersion("the connection")
	case err != nil:
		return cur, fmt.Errorf("record the use of connection %s: %w", cur.ID, err)
	}
	return next, nil
}

// ResolvePSAHeld releases a held conflict in one transaction with what resolving it
// changes here: the customer's synced fields set to fields (when cur is given; a
// conditioned on the version read), the link's baseline, and the audit event. Errors:
// ErrNotFound when the conflict is no longer held; a stale-version 409 when the
// customer changed meanwhile.
func (s *Store) ResolvePSAHeld(ctx context.Context, orgID, connectionID string, cur *domain.Customer, b domain.PSABaseline, ev audit.Event) (*domain.Customer, error) {
	if orgID == "" {
		return nil, ErrNoOrganization
	}
	base, err := item(b, "PSABaseline", psaSyncPK(orgID, connectionID), prefixPSABase+b.ExternalID, nil)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String(s.table), Key: key(psaSyncPK(orgID, connectionID), prefixPSAHold+b.ExternalID),
			ConditionExpression: aws.String("attribute_exists(PK)")}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: base}},
	}
	var next *domain.Customer
	if cur != nil {
		n := *cur
		n.SetPSAFields(b.Fields)
		n.Version, n.UpdatedAt = cur.Version+1, s.now()
		next = &n
		postal, err := marshalValue(n.PostalAddress)
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: aws.String(s.table), Key: key(customerPK(orgID, cur.ID), skCustomer),
			UpdateExpression:    aws.String("SET #n = :n, #ph = :ph, #web = :web, #pa = :pa, #ad = :ad, #up = :up, #v = :v, #g1s = :name"),
			ConditionExpression: aws.String("attribute_exists(PK) AND #v = :read"),
			ExpressionAttributeNames: map[string]string{"#n": "name", "#ph": "phone", "#web": "website", "#pa": "postalAddress", "#ad": "address",
				"#up": "updatedAt", "#v": "version", "#g1s": AttrGSI1SK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": str(n.Name), ":ph": str(n.Phone),
				":web": str(n.Website), ":pa": postal, ":ad": str(n.Address),
				":up": str(n.UpdatedAt.Format("2006-01-02T15:04:05.999999999Z07:00")), ":v": num(n.Version), ":read": num(cur.Version),
				":name": str(strings.ToLower(n.Name) + nameSep + n.ID)}}})
	}
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case errors.As(err, &te) && te.ConditionFailed(0):
		return nil, ErrNotFound
	case errors.As(err, &te) && cur != nil && te.ConditionFailed(2):
		return nil, problem.StaleVersion("the customer")
	case err != nil:
		return nil, fmt.Errorf("resolve the conflict of %s: %w", b.ExternalID, err)
	}
	return next, nil
}
