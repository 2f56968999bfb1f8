// Package xlsx writes a one-sheet Excel workbook (Office Open XML SpreadsheetML):
// text and number cells, no formulas or styles beyond the default. It is what the
// customer export needs, in the standard library alone: a general spreadsheet library
// costs every Lambda that links shared/api milliseconds of package initialization at
// each cold start, and megabytes of binary.
package xlsx

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of a workbook.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// MaxSheetName is the longest sheet name Excel accepts.
const MaxSheetName = 31

// Write writes a workbook of one sheet named sheet to w. Each row's cells are strings
// (written as text, so that nothing in them is read as a formula or a number) or
// integers and floats (written as numbers); row i is the sheet's row i+1 from column A.
func Write(w io.Writer, sheet string, rows [][]any) error {
	if sheet == "" || len(sheet) > MaxSheetName || strings.ContainsAny(sheet, `[]:*?/\`) {
		return fmt.Errorf("xlsx: invalid sheet name %q", sheet)
	}
	z := zip.NewWriter(w)
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", contentTypes},
		{"_rels/.rels", rootRels},
		{"xl/workbook.xml", fmt.Sprintf(workbook, escape(sheet))},
		{"xl/_rels/workbook.xml.rels", workbookRels},
		{"xl/styles.xml", styles},
	}
	for _, p := range parts {
		if err := writePart(z, p.name, func(b *bufio.Writer) error {
			_, err := b.WriteString(p.body)
			return err
		}); err != nil {
			return err
		}
	}
	if err := writePart(z, "xl/worksheets/sheet1.xml", func(b *bufio.Writer) error { return writeSheet(b, rows) }); err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	return nil
}

func writePart(z *zip.Writer, name string, body func(*bufio.Writer) error) error {
	f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("xlsx: %s: %w", name, err)
	}
	b := bufio.NewWriter(f)
	if err := body(b); err != nil {
		return fmt.Errorf("xlsx: %s: %w", name, err)
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("xlsx: %s: %w", name, err)
	}
	return nil
}

func writeSheet(b *bufio.Writer, rows [][]any) error {
	b.WriteString(xml.Header)
	b.WriteString(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, row := range rows {
		r := strconv.Itoa(i + 1)
		b.WriteString(`<row r="` + r + `">`)
		for j, v := range row {
			ref := Column(j+1) + r
			switch v := v.(type) {
			case string:
				b.WriteString(`<c r="` + ref + `" t="inlineStr"><is><t xml:space="preserve">`)
				if err := xml.EscapeText(b, []byte(v)); err != nil {
					return err
				}
				b.WriteString(`</t></is></c>`)
			case int:
				b.WriteString(`<c r="` + ref + `"><v>` + strconv.Itoa(v) + `</v></c>`)
			case int64:
				b.WriteString(`<c r="` + ref + `"><v>` + strconv.FormatInt(v, 10) + `</v></c>`)
			case float64:
				b.WriteString(`<c r="` + ref + `"><v>` + strconv.FormatFloat(v, 'g', -1, 64) + `</v></c>`)
			default:
				return fmt.Errorf("cell %s: unsupported value of type %T", ref, v)
			}
		}
		b.WriteString(`</row>`)
	}
	_, err := b.WriteString(`</sheetData></worksheet>`)
	return err
}

// Column is the letters of 1-based column n: A, …, Z, AA, ….
func Column(n int) string {
	var s []byte
	for n > 0 {
		n--
		s = append([]byte{byte('A' + n%26)}, s...)
		n /= 26
	}
	return string(s)
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const contentTypes = xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/>` +
	`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
	`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
	`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
	`</Types>`

const rootRels = xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
	`</Relationships>`

const workbook = xml.Header + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
	`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
	`<sheets><sheet name="%s" sheetId="1" r:id="rId1"/></sheets></workbook>`

const workbookRels = xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` +
	`</Relationships>`

// styles is the least style sheet Excel opens without repair: one font, the two fills
// it reserves, one border, and the default cell format.
const styles = xml.Header + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
	`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`
