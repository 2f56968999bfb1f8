package api

import (
	"context"
	"net/http"

	"github.com/switchboard-msp/switchboard/shared/audit"
)

// fetchAuditLog reads one page of the organization's audit events, newest first.
func fetchAuditLog(ctx context.Context, d *Deps, r *http.Request, orgID string) (any, error) {
	p, err := page(r)
	if err != nil {
		return nil, err
	}
	events, next, err := d.Store.ListAudit(ctx, orgID, p)
	if err != nil {
		return nil, err
	}
	return List[audit.Event]{Items: events, NextCursor: next}, nil
}
