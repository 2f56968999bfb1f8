package api

import (
	"net/http"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

func listAuditLog(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p, err := page(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		events, next, err := d.Store.ListAudit(ctx, access.From(ctx).Org.ID, p)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		write(w, http.StatusOK, List[audit.Event]{Items: events, NextCursor: next})
	})
}
