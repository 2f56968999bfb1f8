package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
	"github.com/switchboard-msp/switchboard/shared/xlsx"
)

// CustomersExport downloads the customer list as CSV or Excel (seed 001 "Export").
var CustomersExport = Route{Method: "GET", Path: "/api/msp-portal/customers/export", Permission: permission.ViewData, Function: "customers-export",
	Summary: "Download the customer list as CSV or Excel", Handler: exportCustomers}

// maxExportBytes keeps a download inside Lambda's 6 MB response, base64 included for
// Excel's binary body.
const maxExportBytes = 4 << 20

// exportColumns are the list's columns, in seed 001's order and words.
var exportColumns = []string{"Customer Name", "Primary Contact", "Primary Contact Email", "Tenants", "Total Users",
	"Total Licenses", "Health Status", "PSA ID", "Created", "Archived"}

// dateLayout is the organization's date format (seed 000's business settings).
func dateLayout(format string) string {
	if format == domain.DateFormatInternational {
		return "02/01/2006 15:04"
	}
	return "01/02/2006 3:04 PM"
}

func exportRow(c domain.Customer, loc *time.Location, layout string) []string {
	var psa []string
	for _, l := range c.PSALinks {
		psa = append(psa, l.Type+":"+l.ExternalID)
	}
	return []string{c.Name, c.PrimaryContactName, c.PrimaryContactEmail, strconv.FormatInt(c.TenantCount, 10),
		strconv.FormatInt(c.TotalUsers, 10), strconv.FormatInt(c.TotalLicenses, 10), c.Health(), strings.Join(psa, "; "),
		c.CreatedAt.In(loc).Format(layout), strconv.FormatBool(c.Archived)}
}

// safeCell defuses spreadsheet formulas in exported text (CSV injection).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func exportCustomers(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		oc := access.From(ctx)
		q := r.URL.Query()
		format := q.Get("format")
		if format == "" {
			format = "csv"
		}
		if format != "csv" && format != "xlsx" {
			problem.Write(ctx, w, r, problem.Invalidf("format", "must be csv or xlsx"))
			return
		}
		archived := q.Get("archived")
		if archived != "" && archived != "true" && archived != "false" {
			problem.Write(ctx, w, r, problem.Invalidf("archived", "must be true or false"))
			return
		}
		loc, err := time.LoadLocation(oc.Org.Profile.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		layout := dateLayout(oc.Org.Profile.DateFormat)
		rows := [][]string{exportColumns}
		size := 0
		query := store.CustomerQuery{Archived: archived == "true", Page: store.Page{Limit: store.MaxLimit}}
		for {
			page, next, err := d.Store.ListCustomers(ctx, oc.Org.ID, query)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			for _, c := range page {
				if !visibleCustomer(oc, permission.ViewData, c) {
					continue
				}
				row := exportRow(c, loc, layout)
				for i := range row {
					row[i] = safeCell(row[i])
					size += len(row[i]) + 1
				}
				rows = append(rows, row)
			}
			if size > maxExportBytes {
				problem.Write(ctx, w, r, problem.New(problem.PayloadTooLarge, "export-too-large",
					"the export is larger than one download can carry; narrow it with archived= or export in parts"))
				return
			}
			if next == "" {
				break
			}
			query.Page.Cursor = next
		}
		name := fmt.Sprintf("customers-%s", time.Now().In(loc).Format("2006-01-02"))
		var body bytes.Buffer
		if format == "csv" {
			cw := csv.NewWriter(&body)
			if err := cw.WriteAll(rows); err != nil {
				problem.Write(ctx, w, r, fmt.Errorf("write csv: %w", err))
				return
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			name += ".csv"
		} else {
			if err := writeXLSX(&body, rows); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			w.Header().Set("Content-Type", xlsx.ContentType)
			name += ".xlsx"
		}
		if body.Len() > maxExportBytes {
			problem.Write(ctx, w, r, problem.New(problem.PayloadTooLarge, "export-too-large",
				"the export is larger than one download can carry; narrow it with archived= or export in parts"))
			return
		}
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body.Bytes())
	})
}

// writeXLSX writes rows as the "Customers" sheet, the counts (Tenants, Total Users,
// Total Licenses) as numbers.
func writeXLSX(buf *bytes.Buffer, rows [][]string) error {
	cells := make([][]any, len(rows))
	for i, row := range rows {
		cells[i] = make([]any, len(row))
		for j, v := range row {
			cells[i][j] = v
			if i > 0 && j >= 3 && j <= 5 {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					cells[i][j] = n
				}
			}
		}
	}
	if err := xlsx.Write(buf, "Customers", cells); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}
