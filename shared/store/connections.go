package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Connection keys: an organization's connections share one partition; a Microsoft 365
// connection also claims its tenant (one per tenant) and, while it has a next sync,
// sits in the system partition of GSI1 that the m365-sync schedule reads.
const (
	prefixConnection = "CONN#"
	m365SyncDuePK    = "M365-SYNC-DUE"
)

func connectionsPK(orgID string) string { return orgPartition(orgID, "CONNECTIONS") }
func m365ClaimPK(orgID, tenantID string) string {
	return orgPartition(orgID, "M365#"+tenantID)
}

func (s *Store) connectionItem(orgID string, c domain.Connection) (map[string]types.AttributeValue, error) {
	var extra map[string]types.AttributeValue
	if c.Type == domain.ConnectionM365 && c.NextSyncAt != nil {
		extra = map[string]types.AttributeValue{
			AttrGSI1PK: str(m365SyncDuePK), AttrGSI1SK: str(c.NextSyncAt.UTC().Format(time.RFC3339) + "#" + orgID + "#" + c.ID),
		}
	}
	return item(c, "Connection", connectionsPK(orgID), prefixConnection+c.ID, extra)
}

// Errors of connections.
var (
	// ErrTenantHasConnection: the tenant already has a Microsoft 365 connection.
	ErrTenantHasConnection = errors.New("the tenant already has a Microsoft 365 connection")
	// ErrNoTenant: a Microsoft 365 connection names a tenant that does not exist.
	ErrNoTenant = errors.New("no such tenant")
)

// CreateConnection writes a connection and its audit event, and counts it on the bill
// conditioned on the plan's limit; a Microsoft 365 connection also claims its tenant,
// which must exist, in the same transaction. Errors: ErrTenantHasConnection,
// ErrNoTenant, a 409 plan-limit at the limit, ErrNotFound for an unknown organization.
func (s *Store) CreateConnection(ctx context.Context, orgID string, c domain.Connection, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	c.OrganizationID, c.Version = orgID, 1
	it, err := s.connectionItem(orgID, c)
	if err != nil {
		return err
	}
	cond := aws.String("attribute_not_exists(PK)")
	items := []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String(s.table), Item: it, ConditionExpression: cond}}}
	if c.Type == domain.ConnectionM365 {
		claim, err := item(map[string]string{"connectionId": c.ID}, "M365Claim", m365ClaimPK(orgID, c.TenantID), skUnique, nil)
		if err != nil {
			return err
		}
		items = append(items,
			types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: claim, ConditionExpression: cond}},
			types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(s.table),
				Key: key(tenantPK(orgID, c.TenantID), skTenant), ConditionExpression: aws.String("attribute_exists(PK)")}})
	}
	// The bill's count of connections, conditioned on the plan's limit.
	usage, err := s.usageUpdate(ctx, orgID, domain.Usage{}, billDelta{connections: 1})
	if err != nil {
		return err
	}
	first := len(items)
	items = append(items, usage...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.anyFailed(first, []int{0, 1}):
		if lerr := s.limitReached(ctx, orgID, domain.MetricConnections); lerr != nil {
			return lerr
		}
		return ErrNotFound
	case errors.As(err, &te) && c.Type == domain.ConnectionM365 && te.ConditionFailed(1):
		return ErrTenantHasConnection
	case errors.As(err, &te) && c.Type == domain.ConnectionM365 && te.ConditionFailed(2):
		return ErrNoTenant
	}
	return fmt.Errorf("create connection %s: %w", c.ID, err)
}

// GetConnection reads a connection. Errors: ErrNotFound.
func (s *Store) GetConnection(ctx context.Context, orgID, id string) (domain.Connection, error) {
	if orgID == "" {
		return domain.Connection{}, ErrNoOrganization
	}
	if !domain.ValidID(id) {
		return domain.Connection{}, ErrNotFound
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(connectionsPK(orgID), prefixConnection+id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.Connection{}, fmt.Errorf("get connection %s: %w", id, err)
	}
	if out.Item == nil {
		return domain.Connection{}, ErrNotFound
	}
	var c domain.Connection
	return c, decode(out.Item, &c)
}

// M365ConnectionOf reads the Microsoft 365 connection of a tenant. Errors: ErrNotFound
// when the tenant has none.
func (s *Store) M365ConnectionOf(ctx context.Context, orgID, tenantID string) (domain.Connection, error) {
	if orgID == "" {
		return domain.Connection{}, ErrNoOrganization
	}
	if !domain.ValidID(tenantID) {
		return domain.Connection{}, ErrNotFound
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table),
		Key: key(m365ClaimPK(orgID, tenantID), skUnique), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.Connection{}, fmt.Errorf("get the connection of tenant %s: %w", tenantID, err)
	}
	if out.Item == nil {
		return domain.Connection{}, ErrNotFound
	}
	var claim struct {
		ConnectionID string `json:"connectionId"`
	}
	if err := decode(out.Item, &claim); err != nil {
		return domain.Connection{}, err
	}
	return s.GetConnection(ctx, orgID, claim.ConnectionID)
}

// ListConnections returns one page of an organization's connections, oldest id first.
func (s *Store) ListConnections(ctx context.Context, orgID string, page Page) ([]domain.Connection, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	pk := connectionsPK(orgID)
	start, err := decodeCursor(page.Cursor, AttrPK, pk, AttrPK, AttrSK)
	if err != nil {
		return nil, "", err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :c)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":c": str(prefixConnection)},
		Limit:                     aws.Int32(page.limit()), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("list connections of %s: %w", orgID, err)
	}
	conns := make([]domain.Connection, 0, len(out.Items))
	for _, it := range out.Items {
		var c domain.Connection
		if err := decode(it, &c); err != nil {
			return nil, "", err
		}
		conns = append(conns, c)
	}
	return conns, encodeCursor(out.LastEvaluatedKey), nil
}

// connectionPut is the Put of next conditioned on the version of cur.
func (s *Store) connectionPut(orgID string, cur, next domain.Connection) (types.TransactWriteItem, error) {
	it, err := s.connectionItem(orgID, next)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("version = :read"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":read": num(cur.Version)}}}, nil
}

// UpdateConnectionFrom writes a connection as change leaves it, conditioned on the
// version read (and on expected, when given), with the audit event change returns.
// Its id, type, tenant and creation stay. Errors: a stale-version 409.
func (s *Store) UpdateConnectionFrom(ctx context.Context, orgID string, cur domain.Connection, expected *int64,
	change func(*domain.Connection) (audit.Event, error)) (domain.Connection, error) {
	if orgID == "" {
		return domain.Connection{}, ErrNoOrganization
	}
	if expected != nil && *expected != cur.Version {
		return domain.Connection{}, problem.StaleVersion("the connection")
	}
	next := cur
	ev, err := change(&next)
	if err != nil {
		return domain.Connection{}, err
	}
	next.ID, next.OrganizationID, next.Type, next.TenantID, next.CreatedAt = cur.ID, orgID, cur.Type, cur.TenantID, cur.CreatedAt
	next.Version, next.UpdatedAt = cur.Version+1, s.now()
	put, err := s.connectionPut(orgID, cur, next)
	if err != nil {
		return domain.Connection{}, err
	}
	ev.OrganizationID = orgID
	err = s.transact(ctx, []types.TransactWriteItem{put}, &ev)
	var te *TxError
	switch {
	case err == nil:
		return next, nil
	case errors.As(err, &te) && te.ConditionFailed(0):
		return domain.Connection{}, problem.StaleVersion("the connection")
	}
	return domain.Connection{}, fmt.Errorf("update connection %s: %w", cur.ID, err)
}

// DeleteConnection removes a connection (if it still exists) and a Microsoft 365
// connection's tenant claim, with the audit event, and releases it on the bill. The tenant keeps its readings.
// Errors: ErrNotFound when another request removed it first.
func (s *Store) DeleteConnection(ctx context.Context, orgID string, cur domain.Connection, ev audit.Event) error {
	if orgID == "" {
		return ErrNoOrganization
	}
	items := []types.TransactWriteItem{{Delete: &types.Delete{TableName: aws.String(s.table),
		Key: key(connectionsPK(orgID), prefixConnection+cur.ID), ConditionExpression: aws.String("attribute_exists(PK)")}}}
	if cur.Type == domain.ConnectionM365 {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table),
			Key: key(m365ClaimPK(orgID, cur.TenantID), skUnique), ConditionExpression: aws.String("connectionId = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(cur.ID)}}})
	}
	// Releasing it on the bill: the delete is conditioned on the item, so a repeat
	// releases nothing twice.
	usage, err := s.usageUpdate(ctx, orgID, domain.Usage{}, billDelta{connections: -1})
	if err != nil {
		return err
	}
	items = append(items, usage...)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	if errors.As(err, &te) && te.anyConditionFailed() {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", cur.ID, err)
	}
	return nil
}

// SystemDueM365Connections reads one page of the Microsoft 365 connections whose next
// sync is at or before now, across organizations (system scope: the m365-sync schedule).
func (s *Store) SystemDueM365Connections(ctx context.Context, now time.Time, page Page) ([]domain.Connection, string, error) {
	conns, next, err := systemDue[domain.Connection](ctx, s, m365SyncDuePK, now, page)
	if err != nil {
		return nil, "", fmt.Errorf("list due connections: %w", err)
	}
	return conns, next, nil
}

// SyncTenant writes what one Microsoft 365 read of a tenant left: the tenant as change
// leaves it (readings on success, only its sync error on failure), with its customer's
// copy and counters and the organization's assigned licenses moved as UpdateTenantFrom
// moves them, and the connection's status and next sync, with the audit event, in one
// transaction conditioned on both versions read. Errors: a stale-version 409 when
// either changed meanwhile.
func (s *Store) SyncTenant(ctx context.Context, orgID string, cur domain.Tenant, conn, nextConn domain.Connection,
	change func(*domain.Tenant) audit.Event) (domain.Tenant, domain.Connection, error) {
	if orgID == "" {
		return domain.Tenant{}, domain.Connection{}, ErrNoOrganization
	}
	next := cur
	ev := change(&next)
	next.ID, next.EntraTenantID, next.CustomerID, next.CreatedAt = cur.ID, cur.EntraTenantID, cur.CustomerID, cur.CreatedAt
	next.Version, next.UpdatedAt = cur.Version+1, s.now()
	items, err := s.tenantUpdateItems(ctx, orgID, cur, next)
	if err != nil {
		return domain.Tenant{}, domain.Connection{}, err
	}
	nextConn.Version, nextConn.UpdatedAt = conn.Version+1, s.now()
	put, err := s.connectionPut(orgID, conn, nextConn)
	if err != nil {
		return domain.Tenant{}, domain.Connection{}, err
	}
	items = append(items, put)
	ev.OrganizationID = orgID
	err = s.transact(ctx, items, &ev)
	var te *TxError
	switch {
	case err == nil:
		return next, nextConn, nil
	case errors.As(err, &te) && (te.ConditionFailed(0) || te.ConditionFailed(len(items)-1)):
		return domain.Tenant{}, domain.Connection{}, problem.StaleVersion("the tenant or its connection")
	}
	return domain.Tenant{}, domain.Connection{}, fmt.Errorf("sync tenant %s: %w", cur.ID, err)
}
