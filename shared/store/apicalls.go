package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard-msp/switchboard/shared/domain"
)

// APICallShards is how many counter items hold one bill's API calls of a month. Each
// call adds 1 to one shard picked at random, so a busy organization's writes spread
// over APICallShards partitions: a partition takes at most 1,000 writes a second, and
// API Gateway's default account quota is 10,000 requests a second, so ten shards let
// one organization use the whole quota without throttling its own counter. Reading a
// month is one BatchGetItem of the ten (docs/decisions.md, "API-call metering").
const APICallShards = 10

const (
	skCalls   = "CALLS"
	attrCalls = "calls"
	// callsOrgPrefix names, on a shard, the attribute counting the calls of one
	// organization of the bill (the bill's own or a sub-organization's).
	callsOrgPrefix = "org:"
	// callsRetention keeps a month's counters for the usage summary's history.
	callsRetention = 400 * 24 * time.Hour
)

func apiCallsPK(rootID, month string, shard int) string {
	return orgPartition(rootID, fmt.Sprintf("CALLS#%s#%02d", month, shard))
}

// CountAPICall counts one API call of orgID on the bill rootID (orgID itself for a
// top-level organization) in at's month: one UpdateItem of a random shard. It returns
// the shard's new count, from which the caller estimates the month's total.
func (s *Store) CountAPICall(ctx context.Context, rootID, orgID string, at time.Time) (int64, error) {
	return s.AddAPICalls(ctx, rootID, orgID, at, 1)
}

// AddAPICalls moves the count of orgID's API calls on the bill rootID in at's month by
// n (-1 takes back a call counted before the request was refused): one UpdateItem of a
// random shard, whose new count it returns.
func (s *Store) AddAPICalls(ctx context.Context, rootID, orgID string, at time.Time, n int64) (int64, error) {
	if rootID == "" || orgID == "" {
		return 0, ErrNoOrganization
	}
	month := domain.MonthKey(at)
	shard := rand.IntN(APICallShards)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(apiCallsPK(rootID, month, shard), skCalls),
		UpdateExpression:         aws.String("ADD #c :one, #o :one SET #t = if_not_exists(#t, :type), #e = if_not_exists(#e, :exp)"),
		ExpressionAttributeNames: map[string]string{"#c": attrCalls, "#o": callsOrgPrefix + orgID, "#t": AttrType, "#e": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(n), ":type": str("APICalls"),
			":exp": num(domain.MonthStart(at).AddDate(0, 1, 0).Add(callsRetention).Unix())},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("count API call of %s: %w", orgID, err)
	}
	return attrInt(out.Attributes, attrCalls), nil
}

// MonthCalls are one month's API calls of a bill: the total and each organization's.
type MonthCalls struct {
	Month string
	Total int64
	ByOrg map[string]int64
}

// APICalls reads the API calls of the bill rootID in each of months, consistently:
// BatchGetItems of APICallShards keys per month.
func (s *Store) APICalls(ctx context.Context, rootID string, months ...string) ([]MonthCalls, error) {
	if rootID == "" {
		return nil, ErrNoOrganization
	}
	keys := make([]map[string]types.AttributeValue, 0, len(months)*APICallShards)
	byMonth := map[string]*MonthCalls{}
	for _, m := range months {
		if byMonth[m] != nil {
			continue // a month asked twice is read once
		}
		byMonth[m] = &MonthCalls{Month: m, ByOrg: map[string]int64{}}
		for shard := range APICallShards {
			keys = append(keys, key(apiCallsPK(rootID, m, shard), skCalls))
		}
	}
	for start := 0; start < len(keys); start += maxBatchGetKeys {
		items, err := s.batchGetWith(ctx, keys[start:min(start+maxBatchGetKeys, len(keys))], true)
		if err != nil {
			return nil, fmt.Errorf("read API calls of %s: %w", rootID, err)
		}
		for _, it := range items {
			pk := attrString(it, AttrPK)
			// ORG#<root>#CALLS#<month>#<shard>
			parts := strings.Split(pk, "#")
			if len(parts) != 5 {
				continue
			}
			mc := byMonth[parts[3]]
			if mc == nil {
				continue
			}
			mc.Total += attrInt(it, attrCalls)
			for name := range it {
				if id, ok := strings.CutPrefix(name, callsOrgPrefix); ok {
					mc.ByOrg[id] += attrInt(it, name)
				}
			}
		}
	}
	out := make([]MonthCalls, len(months))
	for i, m := range months {
		out[i] = *byMonth[m]
	}
	return out, nil
}

// MarkAPICallsExhausted records on the bill rootID that month's API calls reached the
// limit of plan, which every later request of the month reads while authorizing. It is
// conditioned on the bill still being on plan, so a call counted before an upgrade
// cannot block the new plan. It reports whether it wrote.
func (s *Store) MarkAPICallsExhausted(ctx context.Context, rootID, month, plan string) (bool, error) {
	cond := "attribute_exists(PK) AND (attribute_not_exists(#x) OR #x <> :m) AND #p = :p"
	if plan == domain.DefaultPlan {
		cond = "attribute_exists(PK) AND (attribute_not_exists(#x) OR #x <> :m) AND (#p = :p OR attribute_not_exists(#p))"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: key(orgPK(rootID), skOrg),
		UpdateExpression:          aws.String("SET #x = :m"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#x": attrAPICallsExhausted, "#p": attrPlan},
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": str(month), ":p": str(plan)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark API calls of %s exhausted: %w", rootID, err)
	}
	s.roots.forget(rootID)
	return true, nil
}
