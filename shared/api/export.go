package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/xlsx"
)

// maxExportBytes keeps a download inside Lambda's 6 MB response, base64 included for
// Excel's binary body.
const maxExportBytes = 4 << 20

// exportFormat reads ?format=: csv (the default) or xlsx.
func exportFormat(r *http.Request) (string, error) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "xlsx" {
		return "", problem.Invalidf("format", "must be csv or xlsx")
	}
	return format, nil
}

// exportClock is the organization's time zone (UTC when it names none this system
// knows) and its date format's layout.
func exportClock(p domain.Profile, withSeconds bool) (*time.Location, string) {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	layout := "01/02/2006 3:04 PM"
	if p.DateFormat == domain.DateFormatInternational {
		layout = "02/01/2006 15:04"
	}
	if withSeconds {
		layout = strings.Replace(layout, ":04", ":04:05", 1)
	}
	return loc, layout
}

// safeCell defuses spreadsheet formulas in exported text (CSV injection).
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportRows collects a download's rows (text defused, numbers kept as numbers for
// Excel) and its size, so a download too large for one response is refused early.
type exportRows struct {
	rows [][]any
	size int
}

func (e *exportRows) add(row ...any) {
	for i, v := range row {
		if s, ok := v.(string); ok {
			row[i] = safeCell(s)
			e.size += len(s) + 1
		} else {
			e.size += 12
		}
	}
	e.rows = append(e.rows, row)
}

func (e *exportRows) tooLarge() bool { return e.size > maxExportBytes }

// errExportTooLarge: the download would not fit one response; hint says how to narrow it.
func errExportTooLarge(hint string) error {
	return problem.New(problem.PayloadTooLarge, "export-too-large",
		"the export is larger than one download can carry; "+hint)
}

// send writes the rows as a download named name (the extension follows format): CSV,
// or an Excel workbook with one sheet.
func (e *exportRows) send(w http.ResponseWriter, r *http.Request, format, name, sheet, hint string) {
	ctx := r.Context()
	var body bytes.Buffer
	if format == "csv" {
		cw := csv.NewWriter(&body)
		for _, row := range e.rows {
			text := make([]string, len(row))
			for i, v := range row {
				text[i] = fmt.Sprint(v)
			}
			if err := cw.Write(text); err != nil {
				problem.Write(ctx, w, r, fmt.Errorf("write csv: %w", err))
				return
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			problem.Write(ctx, w, r, fmt.Errorf("write csv: %w", err))
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		if err := xlsx.Write(&body, sheet, e.rows); err != nil {
			problem.Write(ctx, w, r, fmt.Errorf("write xlsx: %w", err))
			return
		}
		w.Header().Set("Content-Type", xlsx.ContentType)
	}
	if body.Len() > maxExportBytes {
		problem.Write(ctx, w, r, errExportTooLarge(hint))
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body.Bytes())
}
