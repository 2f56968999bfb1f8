package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/domain"
)

// Usage records: what the metering schedule writes, one per bill and period, under
// ORG#<org>#USAGE. A record is written once (attribute_not_exists), then published on
// the billing bus and marked published; a run finding a record unpublished publishes it.
const (
	usagePartition = "USAGE"
	// PeriodHour and PeriodMonth are the periods a record covers.
	PeriodHour  = "hour"
	PeriodMonth = "month"
	// usageRetention keeps hourly records for the billing system to re-read.
	usageRetention = 400 * 24 * time.Hour
)

// UsageRecord is one organization's metered usage over one period: the body of the
// `usage.recorded` event on the billing bus (docs/decisions.md documents its schema).
type UsageRecord struct {
	// ID is "<organizationId>/<period>/<key>": the same record always has the same id,
	// so a consumer deduplicates repeats of its event.
	ID             string    `json:"id"`
	OrganizationID string    `json:"organizationId"`
	Period         string    `json:"period"`
	PeriodKey      string    `json:"periodKey"`
	PeriodStart    time.Time `json:"periodStart"`
	PeriodEnd      time.Time `json:"periodEnd"`
	Plan           string    `json:"plan"`
	ManagedUsers   int64     `json:"managedUsers"`
	ManagedTenants int64     `json:"managedTenants"`
	Customers      int64     `json:"customers"`
	// SubOrganizations are counted in, and listed by id with their API calls.
	SubOrganizations int64 `json:"subOrganizations"`
	// APICalls are the calls of the record's month up to the period's end: for a
	// monthly record the month's total, for an hourly one the month to date.
	APICalls      int64            `json:"apiCalls"`
	APICallsByOrg map[string]int64 `json:"apiCallsByOrganization,omitempty"`
	RecordedAt    time.Time        `json:"recordedAt"`
	Published     bool             `json:"published"`
}

// HourPeriod and MonthPeriod name a period: "2026-11-24T13" and "2026-11".
func HourPeriod(start time.Time) string  { return start.UTC().Format("2006-01-02T15") }
func MonthPeriod(start time.Time) string { return domain.MonthKey(start) }

func usageSK(period, key string) string { return period + "#" + key }

// BillingOrgs returns one page of the top-level organizations, by id, with their
// bills: a Query of the system-scope index GSI2 BILLING-ORGS (never a Scan). System
// scope: for the metering schedule only.
func (s *Store) BillingOrgs(ctx context.Context, page Page) ([]Bill, string, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), IndexName: aws.String(IndexGSI2),
		KeyConditionExpression:    aws.String("GSI2PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(orgIndexPK)},
		Limit:                     aws.Int32(page.limit())}
	if page.Cursor != "" {
		start, err := decodeCursor(page.Cursor, AttrGSI2PK, orgIndexPK, AttrPK, AttrSK, AttrGSI2PK, AttrGSI2SK)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list billing organizations: %w", err)
	}
	bills := make([]Bill, 0, len(out.Items))
	for _, it := range out.Items {
		if attrString(it, "parentId") != "" {
			continue // fail closed: only top-level organizations are billed
		}
		b, err := decodeBill(it)
		if err != nil {
			return nil, "", err
		}
		bills = append(bills, b)
	}
	return bills, encodeCursor(out.LastEvaluatedKey), nil
}

// UsageRecords reads the records of orgIDs for one period, consistently, by
// organization id (absent when not written).
func (s *Store) UsageRecords(ctx context.Context, orgIDs []string, period, periodKey string) (map[string]UsageRecord, error) {
	keys := make([]map[string]types.AttributeValue, len(orgIDs))
	for i, id := range orgIDs {
		keys[i] = key(orgPartition(id, usagePartition), usageSK(period, periodKey))
	}
	out := map[string]UsageRecord{}
	for start := 0; start < len(keys); start += maxBatchGetKeys {
		items, err := s.batchGetWith(ctx, keys[start:min(start+maxBatchGetKeys, len(keys))], true)
		if err != nil {
			return nil, fmt.Errorf("read usage records: %w", err)
		}
		for _, it := range items {
			var r UsageRecord
			if err := decode(it, &r); err != nil {
				return nil, err
			}
			out[r.OrganizationID] = r
		}
	}
	return out, nil
}

// PutUsageRecord writes r unless its period's record exists: it reports whether this
// call wrote it (an overlapping run loses and writes nothing).
func (s *Store) PutUsageRecord(ctx context.Context, r UsageRecord) (bool, error) {
	if r.OrganizationID == "" {
		return false, ErrNoOrganization
	}
	r.Published = false
	it, err := item(r, "UsageRecord", orgPartition(r.OrganizationID, usagePartition), usageSK(r.Period, r.PeriodKey),
		map[string]types.AttributeValue{AttrTTL: num(r.PeriodEnd.Add(usageRetention).Unix())})
	if err != nil {
		return false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put usage record %s: %w", r.ID, err)
	}
	return true, nil
}

// MarkUsagePublished records that r's event is on the billing bus.
func (s *Store) MarkUsagePublished(ctx context.Context, r UsageRecord) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.table),
		Key:                       key(orgPartition(r.OrganizationID, usagePartition), usageSK(r.Period, r.PeriodKey)),
		UpdateExpression:          aws.String("SET published = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}})
	if err != nil {
		return fmt.Errorf("mark usage record %s published: %w", r.ID, err)
	}
	return nil
}

// ListUsageRecords returns one page of an organization's records of period, newest
// first.
func (s *Store) ListUsageRecords(ctx context.Context, orgID, period string, page Page) ([]UsageRecord, string, error) {
	if orgID == "" {
		return nil, "", ErrNoOrganization
	}
	pk := orgPartition(orgID, usagePartition)
	in := &dynamodb.QueryInput{TableName: aws.String(s.table), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":p": str(period + "#")},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(page.limit())}
	if page.Cursor != "" {
		start, err := decodeCursor(page.Cursor, AttrPK, pk, AttrPK, AttrSK)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list usage records of %s: %w", orgID, err)
	}
	recs := make([]UsageRecord, 0, len(out.Items))
	for _, it := range out.Items {
		var r UsageRecord
		if err := decode(it, &r); err != nil {
			return nil, "", err
		}
		recs = append(recs, r)
	}
	return recs, encodeCursor(out.LastEvaluatedKey), nil
}

// ClaimAlert records that bill orgID was alerted of metric at threshold (percent) in
// period: it reports whether this call claimed it, so each alert is sent once a period.
func (s *Store) ClaimAlert(ctx context.Context, orgID, period string, m domain.Metric, threshold int, at time.Time, until time.Time) (bool, error) {
	it := map[string]types.AttributeValue{
		AttrPK: str(orgPartition(orgID, usagePartition)), AttrSK: str(fmt.Sprintf("ALERT#%s#%s#%d", period, m, threshold)),
		AttrType: str("UsageAlert"), "sentAt": str(at.UTC().Format(time.RFC3339)), AttrTTL: num(until.Unix()),
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim usage alert of %s: %w", orgID, err)
	}
	return true, nil
}

// ReleaseAlert forgets a claimed alert whose email failed, so the next run sends it.
func (s *Store) ReleaseAlert(ctx context.Context, orgID, period string, m domain.Metric, threshold int) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
		Key: key(orgPartition(orgID, usagePartition), fmt.Sprintf("ALERT#%s#%s#%d", period, m, threshold))})
	if err != nil {
		return fmt.Errorf("release usage alert of %s: %w", orgID, err)
	}
	return nil
}
