package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchboard-msp/switchboard/shared/store"
)

// capacity sums the DynamoDB capacity units the requests made with one context
// consumed, as the table reports them with ReturnConsumedCapacity TOTAL: read request
// units (RRU) and write request units (WRU) in on-demand terms.
type capacity struct {
	mu          sync.Mutex
	read, write float64
	// raised counts the TransactWriteItems whose reported units were below the
	// per-action floor (see transactWriteFloor) and were raised to it.
	raised int
}

func (c *capacity) units() (read, write float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read, c.write
}

type capacityKey struct{}

// withCapacity returns a context whose DynamoDB requests report their consumed
// capacity into a new tally. Requests made with other contexts are left as they are
// (so the latency figures are measured without ReturnConsumedCapacity), except into
// globalCapacity when that is set.
func withCapacity(ctx context.Context) (context.Context, *capacity) {
	c := &capacity{}
	return context.WithValue(ctx, capacityKey{}, c), c
}

// globalCapacity, when set, tallies the requests made with a context that carries no
// tally: a job's work, which runs outside the request that started it.
var globalCapacity atomic.Pointer[capacity]

// installCapacity adds the middleware to an SDK config: it sets ReturnConsumedCapacity
// TOTAL on every DynamoDB input that takes it, and adds the ConsumedCapacity of the
// output to the context's tally.
func installCapacity(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("switchboard-capacity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c, ok := ctx.Value(capacityKey{}).(*capacity)
				if !ok {
					c = globalCapacity.Load()
				}
				if c == nil || !askCapacity(in.Parameters) {
					return next.HandleInitialize(ctx, in)
				}
				out, md, err := next.HandleInitialize(ctx, in)
				c.add(in.Parameters, out.Result, err)
				return out, md, err
			}), middleware.Before)
	})
}

// askCapacity sets ReturnConsumedCapacity TOTAL on a DynamoDB input that supports it.
func askCapacity(in any) bool {
	const total = types.ReturnConsumedCapacityTotal
	switch v := in.(type) {
	case *dynamodb.GetItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.PutItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.UpdateItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.DeleteItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.QueryInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.ScanInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.BatchGetItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.BatchWriteItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.TransactGetItemsInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.TransactWriteItemsInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.ExecuteStatementInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.BatchExecuteStatementInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.ExecuteTransactionInput:
		v.ReturnConsumedCapacity = total
	default:
		return false
	}
	return true
}

func (c *capacity) add(in, out any, err error) {
	var read, write float64
	raised := false
	switch o := out.(type) {
	case *dynamodb.GetItemOutput:
		read = units(o.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		read = units(o.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		read = units(o.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		read = sum(o.ConsumedCapacity)
	case *dynamodb.TransactGetItemsOutput:
		read = sum(o.ConsumedCapacity)
	case *dynamodb.ExecuteStatementOutput:
		read = units(o.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		write = units(o.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		write = units(o.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		write = units(o.ConsumedCapacity)
	case *dynamodb.BatchWriteItemOutput:
		write = sum(o.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		write = sum(o.ConsumedCapacity)
		if t, ok := in.(*dynamodb.TransactWriteItemsInput); ok {
			if floor := transactWriteFloor(t); floor > write {
				write, raised = floor, true
			}
		}
	case *dynamodb.ExecuteTransactionOutput:
		write = sum(o.ConsumedCapacity)
	}
	// A single-item write whose condition fails is still billed (one unit for an item
	// up to 1 KB); the error carries no ConsumedCapacity.
	var ccf *types.ConditionalCheckFailedException
	if err != nil && errors.As(err, &ccf) {
		write = 1
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read += read
	c.write += write
	if raised {
		c.raised++
	}
}

func units(c *types.ConsumedCapacity) float64 {
	if c == nil {
		return 0
	}
	return aws.ToFloat64(c.CapacityUnits)
}

func sum(cs []types.ConsumedCapacity) float64 {
	t := 0.0
	for i := range cs {
		t += units(&cs[i])
	}
	return t
}

// transactWriteFloor is the least DynamoDB bills a TransactWriteItems: two units per
// started KB of each action's item, for the table and for each global secondary index
// the item is written to (an Update counts one KB, plus one per index key it sets; a
// Delete or a ConditionCheck counts one). DynamoDB Local applies the transactional 2×
// but under-reports transactions whose actions consume equal units (three small Puts
// report 2 WCU, where DynamoDB bills 6), so the bench counts the larger of the two.
func transactWriteFloor(in *dynamodb.TransactWriteItemsInput) float64 {
	indexes := [][2]string{{store.AttrGSI1PK, store.AttrGSI1SK}, {store.AttrGSI2PK, store.AttrGSI2SK}}
	total := 0.0
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			kb := math.Max(1, math.Ceil(float64(itemSize(it.Put.Item))/1024))
			writes := 1.0
			for _, ix := range indexes {
				if it.Put.Item[ix[0]] != nil && it.Put.Item[ix[1]] != nil {
					writes++
				}
			}
			total += kb * writes
		case it.Update != nil:
			total++
			expr := aws.ToString(it.Update.UpdateExpression)
			for placeholder, name := range it.Update.ExpressionAttributeNames {
				expr = strings.ReplaceAll(expr, placeholder, name)
			}
			for _, ix := range indexes {
				if setsAttr(expr, ix[0]) {
					total++
				}
			}
		default:
			total++
		}
	}
	return 2 * total
}

var setClause = regexp.MustCompile(`(?i)\bSET\b(.*?)(\bREMOVE\b|\bADD\b|\bDELETE\b|$)`)

// setsAttr reports whether an update expression's SET clause assigns attribute name.
func setsAttr(expr, name string) bool {
	m := setClause.FindStringSubmatch(expr)
	if m == nil {
		return false
	}
	for _, assignment := range strings.Split(m[1], ",") {
		if lhs, _, ok := strings.Cut(assignment, "="); ok && strings.TrimSpace(lhs) == name {
			return true
		}
	}
	return false
}

// itemSize approximates DynamoDB's item size: attribute names and values in bytes.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch a := v.(type) {
	case *types.AttributeValueMemberS:
		return len(a.Value)
	case *types.AttributeValueMemberN:
		return len(strings.TrimLeft(a.Value, "-0"))/2 + 1
	case *types.AttributeValueMemberB:
		return len(a.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range a.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range a.Value {
			n += len(s)/2 + 1
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range a.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range a.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + itemSize(a.Value) + len(a.Value)
	}
	return 0
}

// DynamoDB on-demand prices: the price table the cost model uses.
const (
	priceTable = "Amazon DynamoDB on-demand pricing, US East (N. Virginia), Standard table class " +
		"(aws.amazon.com/dynamodb/pricing/on-demand), the prices in effect since the 1 Nov 2024 reduction, as published in Oct 2026"
	pricePerMillionRRU = 0.125
	pricePerMillionWRU = 0.625
)

// costPerMillion is the price of one million calls that each consume read RRU and
// write WRU.
func costPerMillion(read, write float64) float64 {
	return read*pricePerMillionRRU + write*pricePerMillionWRU
}

// consoleSession is a modelled console session of an MSP technician: the calls each
// page makes, times the pages of a working session. The console loads /api/me on
// start, then works through customers (list, open a few, their overview, tickets,
// contacts and activity), tenants and, now and then, settings and the audit log. It is
// an assumption until the deployment's invocation counts replace it.
var consoleSession = map[string]int{
	"me-get":                   2,
	"organizations-list":       1,
	"customers-list":           3,
	"customers-get":            4,
	"customers-overview-get":   4,
	"customers-tickets-list":   2,
	"customers-contacts-list":  2,
	"customers-activity-list":  2,
	"customers-documents-list": 1,
	"tenants-list":             2,
	"tenants-get":              1,
	"customers-tickets-create": 1,
	"customers-tickets-update": 1,
	"profile-get":              1,
	"audit-log-list":           1,
	"platform-users-list":      1,
}

// routeCost is one route's DynamoDB units per call.
type routeCost struct {
	function    string
	read, write float64
	// status is the HTTP status of the counted call.
	status int
}

// printCosts prints what one million calls cost, for the ten routes a console
// session calls most, and the session itself; then the three dearest routes per call.
func printCosts(costs []routeCost, raised int) {
	// Only calls that succeeded: a refused sample costs less than the real call.
	byFn := map[string]routeCost{}
	for _, c := range costs {
		if c.status < 300 {
			byFn[c.function] = c
		}
	}
	var uncovered []string
	for fn := range consoleSession {
		if _, ok := byFn[fn]; !ok {
			uncovered = append(uncovered, fn)
		}
	}
	sort.Strings(uncovered)
	busiest := make([]string, 0, len(consoleSession))
	for fn := range consoleSession {
		if _, ok := byFn[fn]; ok {
			busiest = append(busiest, fn)
		}
	}
	sort.Slice(busiest, func(i, j int) bool {
		if consoleSession[busiest[i]] != consoleSession[busiest[j]] {
			return consoleSession[busiest[i]] > consoleSession[busiest[j]]
		}
		return busiest[i] < busiest[j]
	})
	sessionCalls := 0
	sessionCost := 0.0
	for fn, n := range consoleSession {
		if c, ok := byFn[fn]; ok {
			sessionCalls += n
			sessionCost += float64(n) * costPerMillion(c.read, c.write)
		}
	}
	fmt.Printf("\nDynamoDB cost of one million calls, on-demand (warm calls as counted above)\n")
	fmt.Printf("  price table: %s: $%.3f per million read request units, $%.3f per million write request units\n",
		priceTable, pricePerMillionRRU, pricePerMillionWRU)
	fmt.Printf("  routes: the ten a console session calls most (a modelled session of %d calls, in infra/bench/capacity.go), since volume, not unit cost, drives the bill\n", sessionCalls)
	fmt.Printf("  %-26s %11s %6s %6s %12s\n", "function", "per session", "RRU", "WRU", "$ per 1M")
	for _, fn := range busiest[:min(10, len(busiest))] {
		c := byFn[fn]
		fmt.Printf("  %-26s %11d %6.1f %6.1f %12.2f\n", fn, consoleSession[fn], c.read, c.write, costPerMillion(c.read, c.write))
	}
	fmt.Printf("  one million such sessions: $%.2f", sessionCost)
	if len(uncovered) > 0 {
		fmt.Printf(" (without %s: no successful sample call above)", strings.Join(uncovered, ", "))
	}
	fmt.Println()
	dearest := make([]routeCost, 0, len(byFn))
	for _, c := range byFn {
		dearest = append(dearest, c)
	}
	sort.Slice(dearest, func(i, j int) bool {
		if ci, cj := costPerMillion(dearest[i].read, dearest[i].write), costPerMillion(dearest[j].read, dearest[j].write); ci != cj {
			return ci > cj
		}
		return dearest[i].function < dearest[j].function
	})
	var parts []string
	for _, c := range dearest[:min(3, len(dearest))] {
		parts = append(parts, fmt.Sprintf("%s $%.2f", c.function, costPerMillion(c.read, c.write)))
	}
	fmt.Printf("  dearest per million successful calls: %s\n", strings.Join(parts, ", "))
	fmt.Printf("  units: DynamoDB Local's ReturnConsumedCapacity TOTAL; it bills transactional reads 2× (TransactGetItems), and transactional\n" +
		"  writes 2× per action but under-reports transactions of equal-sized actions, so each TransactWriteItems counts at least\n" +
		"  2 WRU per KB of each action and index write")
	if raised > 0 {
		fmt.Printf(" (%d raised to that floor)", raised)
	}
	fmt.Printf("; a failed conditional write counts 1 WRU.\n")
}
