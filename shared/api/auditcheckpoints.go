package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-msp/switchboard/shared/store"
)

// checkpointRate is how often the audit checkpoint schedule runs: far more often than
// store.CheckpointMargin, so a few missed runs never let an event expire before the
// checkpoint passes it.
const checkpointRate = "rate(6 hours)"

// auditCheckpointsJob is the schedule that moves each organization's audit chain
// checkpoint past the events about to expire (store.AdvanceCheckpoint), so the chain
// stays verifiable from the checkpoint once DynamoDB deletes them. Its actions are
// those of store.SystemDueCheckpoints (a Query on GSI1) and store.AdvanceCheckpoint
// (consistent GetItems of the checkpoint and head, consistent Queries of the
// organization's events, a conditional PutItem of the checkpoint).
func auditCheckpointsJob() Job {
	return Job{Function: "audit-checkpoints", Kind: "schedule", Schedule: checkpointRate,
		Summary: "Moves each organization's audit chain checkpoint past the events about to expire, verifying them",
		Actions: []string{"dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"},
		Run: func(ctx context.Context, st *store.Store, now time.Time) (any, error) {
			return AdvanceCheckpoints(ctx, st, now)
		}}
}

// CheckpointRunResult counts what one run of AdvanceCheckpoints did.
type CheckpointRunResult struct {
	// Advanced checkpoints moved past at least one event.
	Advanced int `json:"advanced"`
	// Rescheduled checkpoints had nothing due yet and only moved their due time.
	Rescheduled int `json:"rescheduled"`
	// Breaks are chains whose checkpoint stopped at a break (logged with it).
	Breaks int `json:"breaks"`
	// Failed organizations are tried again by the next run.
	Failed     int  `json:"failed"`
	Unfinished bool `json:"unfinished,omitempty"`
}

// AdvanceCheckpoints advances every due checkpoint at now, page by page from the due
// index, stopping early (Unfinished) when ctx's deadline comes near. A chain break is
// logged as an error with the place it was found and counted; the checkpoint stays
// before it, so verify keeps reporting it.
func AdvanceCheckpoints(ctx context.Context, st *store.Store, now time.Time) (CheckpointRunResult, error) {
	var res CheckpointRunResult
	var firstErr error
	cursor := ""
	for {
		if stopping(ctx) {
			res.Unfinished = true
			break
		}
		due, next, err := st.SystemDueCheckpoints(ctx, now, store.Page{Limit: expiryPageSize, Cursor: cursor})
		if err != nil {
			return res, errors.Join(firstErr, err)
		}
		for _, org := range due {
			if stopping(ctx) {
				res.Unfinished = true
				return res, checkpointFailures(res, firstErr)
			}
			moved, err := st.AdvanceCheckpoint(ctx, org, now)
			switch {
			case err != nil:
				res.Failed++
				if firstErr == nil {
					firstErr = err
				}
				slog.ErrorContext(ctx, "advance audit checkpoint", "organizationId", org, "err", err.Error())
			case moved.Break != nil:
				res.Breaks++
				slog.ErrorContext(ctx, "audit chain break", "organizationId", org, "seq", moved.Break.Seq,
					"eventId", moved.Break.EventID, "reason", moved.Break.Reason)
			case moved.To > moved.From:
				res.Advanced++
			default:
				res.Rescheduled++
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return res, checkpointFailures(res, firstErr)
}

func checkpointFailures(res CheckpointRunResult, first error) error {
	if res.Failed == 0 {
		return nil
	}
	return fmt.Errorf("advance audit checkpoints: %d failed, the first: %w", res.Failed, first)
}
