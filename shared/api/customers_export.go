package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// CustomersExport downloads the customer list as CSV or Excel (seed 001 "Export").
var CustomersExport = Route{Method: "GET", Path: "/api/msp-portal/customers/export", Permission: permission.ViewData, Function: "customers-export",
	Summary: "Download the customer list as CSV or Excel", Handler: exportCustomers}

// exportColumns are the list's columns, in seed 001's order and words.
var exportColumns = []string{"Customer Name", "Primary Contact", "Primary Contact Email", "Tenants", "Total Users",
	"Total Licenses", "Health Status", "PSA ID", "Created", "Archived"}

// exportRow is one customer's row; the counts stay numbers (Excel cells of type number).
func exportRow(c domain.Customer, loc *time.Location, layout string) []any {
	var psa []string
	for _, l := range c.PSALinks {
		psa = append(psa, l.Type+":"+l.ExternalID)
	}
	return []any{c.Name, c.PrimaryContactName, c.PrimaryContactEmail, c.TenantCount, c.TotalUsers, c.TotalLicenses,
		c.Health(), strings.Join(psa, "; "), c.CreatedAt.In(loc).Format(layout), strconv.FormatBool(c.Archived)}
}

func exportCustomers(d *Deps) http.Handler {
	const hint = "narrow it with archived= or export in parts"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		format, err := exportFormat(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		archived := r.URL.Query().Get("archived")
		if archived != "" && archived != "true" && archived != "false" {
			problem.Write(ctx, w, r, problem.Invalidf("archived", "must be true or false"))
			return
		}
		loc, layout := exportClock(oc.Org.Profile, false)
		var out exportRows
		header := make([]any, len(exportColumns))
		for i, c := range exportColumns {
			header[i] = c
		}
		out.add(header...)
		query := store.CustomerQuery{Archived: archived == "true", Page: store.Page{Limit: store.MaxLimit}}
		for {
			page, next, err := d.Store.ListCustomers(ctx, oc.Org.ID, query)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			for _, c := range page {
				if visibleCustomer(oc, permission.ViewData, c) {
					out.add(exportRow(c, loc, layout)...)
				}
			}
			if out.tooLarge() {
				problem.Write(ctx, w, r, errExportTooLarge(hint))
				return
			}
			if next == "" {
				break
			}
			query.Page.Cursor = next
		}
		out.send(w, r, format, "customers-"+time.Now().In(loc).Format("2006-01-02"), "Customers", hint)
	})
}
