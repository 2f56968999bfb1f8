// Package customerimport reads seed 001's "Import Customers" CSV: headers matched
// case-insensitively, each row validated on its own so that bad rows are reported with
// their line and field while good rows are kept.
package customerimport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// MaxRows is the most data rows one file may hold.
const MaxRows = 10_000

// MaxBytes bounds the file, under API Gateway and Lambda's 6 MB request payload.
const MaxBytes = 5 << 20

// Row is one data row: the customer it describes, or the faults that keep it out.
type Row struct {
	// Line is the row's line number in the file (the header is line 1).
	Line     int
	Customer domain.Customer
	Errors   []problem.FieldError
}

// columns maps normalized header names to the customer field they fill.
var columns = map[string]string{
	"customername": "name", "name": "name", "customer": "name", "company": "name", "companyname": "name",
	"primarycontact": "primaryContactName", "primarycontactname": "primaryContactName", "contactname": "primaryContactName", "contact": "primaryContactName",
	"primarycontactemail": "primaryContactEmail", "email": "primaryContactEmail", "contactemail": "primaryContactEmail",
	"phone": "phone", "phonenumber": "phone",
	"address": "address",
	// The address in parts and the website: optional columns, read where present (few
	// names, so a file that has two of them is rarely refused as naming one twice).
	"addressline1": "line1", "street": "line1", "addressline2": "line2", "city": "city", "state": "state",
	"postalcode": "postalCode", "zip": "postalCode", "country": "country", "website": "website",
	"externalid": "externalId",
	"psaid":      "psaId", "psarecordid": "psaId",
	"psatype": "psaType", "psa": "psaType",
	"psaconnectionid": "psaConnectionId", "psaconnection": "psaConnectionId",
}

// normalize drops case, spaces and punctuation: "Customer Name", "customer_name" and
// "CUSTOMERNAME" are one header.
func normalize(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HeaderError is a fault of the file as a whole.
type HeaderError struct{ Msg string }

func (e *HeaderError) Error() string { return e.Msg }

// Parse reads the whole file. It fails only for faults of the file itself (no header,
// no name column, duplicate columns, too many rows, not CSV at all); row faults are
// reported on their rows.
func Parse(r io.Reader) ([]Row, error) {
	recs, err := Records(r, columns, "name", "no customer name column: name one \"Customer Name\"")
	if err != nil {
		return nil, err
	}
	rows := make([]Row, 0, len(recs))
	for _, rec := range recs {
		if rec.Err != nil {
			rows = append(rows, Row{Line: rec.Line, Errors: []problem.FieldError{*rec.Err}})
			continue
		}
		rows = append(rows, parseRow(rec))
	}
	return rows, nil
}

// Record is one data row of a file: its fields by the names columns maps headers to,
// or the fault that makes it unreadable.
type Record struct {
	Line   int
	fields map[string]string
	Err    *problem.FieldError
}

// Get returns a field of the record, trimmed; "" when its column is absent.
func (r Record) Get(field string) string { return strings.TrimSpace(r.fields[field]) }

// Records reads a CSV file whose headers columns maps (normalized: any case, spaces and
// punctuation) to field names; required must be among them (else missing is the
// error). Unknown columns are ignored. It fails only for faults of the file itself;
// a row that is not valid CSV is a record with Err.
func Records(r io.Reader, columns map[string]string, required, missing string) ([]Record, error) {
	cr := csv.NewReader(io.LimitReader(r, MaxBytes+1))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &HeaderError{"the file is empty: the first line must name the columns"}
	}
	if err != nil {
		return nil, &HeaderError{fmt.Sprintf("the header line is not CSV: %v", err)}
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // Excel's byte-order mark
	}
	index := map[string]int{}
	for i, h := range header {
		field, ok := columns[normalize(h)]
		if !ok {
			continue // exports of other tools carry extra columns
		}
		if _, dup := index[field]; dup {
			return nil, &HeaderError{fmt.Sprintf("column %q appears twice", h)}
		}
		index[field] = i
	}
	if _, ok := index[required]; !ok {
		return nil, &HeaderError{missing}
	}
	var recs []Record
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
				recs = append(recs, Record{Line: pe.StartLine, Err: &problem.FieldError{Field: "row", Message: "is not valid CSV: " + pe.Err.Error()}})
				if len(recs) > MaxRows {
					return nil, &HeaderError{fmt.Sprintf("the file has more than %d rows", MaxRows)}
				}
				continue
			}
			return nil, &HeaderError{fmt.Sprintf("line %d is not CSV: %v", pe.StartLine, pe.Err)}
		}
		if err != nil {
			return nil, &HeaderError{fmt.Sprintf("the file could not be read: %v", err)}
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(recs) >= MaxRows {
			return nil, &HeaderError{fmt.Sprintf("the file has more than %d rows; split it", MaxRows)}
		}
		fields := make(map[string]string, len(index))
		for f, i := range index {
			if i < len(rec) {
				fields[f] = rec[i]
			}
		}
		recs = append(recs, Record{Line: line, fields: fields})
	}
	return recs, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func parseRow(rec Record) Row {
	get, line := rec.Get, rec.Line
	c := domain.Customer{
		Name: get("name"), PrimaryContactName: get("primaryContactName"), PrimaryContactEmail: get("primaryContactEmail"),
		Phone: get("phone"), Address: get("address"), Notes: get("notes"), ExternalID: get("externalId"), Website: get("website"),
		PostalAddress: domain.PostalAddress{Line1: get("line1"), Line2: get("line2"), City: get("city"), State: get("state"),
			PostalCode: get("postalCode"), Country: get("country")},
	}
	var v problem.Validation
	if id := get("psaId"); id != "" || get("psaType") != "" || get("psaConnectionId") != "" {
		c.PSALinks = []domain.PSALink{{ConnectionID: get("psaConnectionId"), Type: strings.ToLower(get("psaType")), ExternalID: id}}
	}
	c.Normalize()
	c.FollowParts(domain.PostalAddress{})
	c.Validate(&v, "")
	row := Row{Line: line, Customer: c}
	if err := v.Err(); err != nil {
		for _, f := range problem.As(err).Fields {
			f.Field = strings.Replace(f.Field, "psaLinks[0].connectionId", "psaConnectionId", 1)
			f.Field = strings.Replace(f.Field, "psaLinks[0].type", "psaType", 1)
			f.Field = strings.Replace(f.Field, "psaLinks[0].externalId", "psaId", 1)
			row.Errors = append(row.Errors, f)
		}
	}
	return row
}
