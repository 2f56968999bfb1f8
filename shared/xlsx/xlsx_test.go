package xlsx_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/switchboard-msp/switchboard/shared/xlsx"
)

// TestWriteReadsBack writes a sheet and reads it with a full spreadsheet library:
// texts stay texts (a leading "=" or digits included), numbers are numbers.
func TestWriteReadsBack(t *testing.T) {
	rows := [][]any{
		{"Name", "Users", "Ratio", "Notes"},
		{"Acme & Sons <ltd>", int64(33), 0.25, "  spaced  "},
		{"'=HYPERLINK(\"x\")", 7, 1.5, "0042"},
		{"Ünïcödé 日本", int64(-1), float64(3), "line\nbreak"},
	}
	var buf bytes.Buffer
	if err := xlsx.Write(&buf, "Customers", rows); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer func() { _ = f.Close() }()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"Customers"}) {
		t.Fatalf("sheets %v", got)
	}
	got, err := f.GetRows("Customers")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Name", "Users", "Ratio", "Notes"},
		{"Acme & Sons <ltd>", "33", "0.25", "  spaced  "},
		{"'=HYPERLINK(\"x\")", "7", "1.5", "0042"},
		{"Ünïcödé 日本", "-1", "3", "line\nbreak"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("rows\n got %q\nwant %q", got, want)
	}
	for cell, typ := range map[string]excelize.CellType{"A2": excelize.CellTypeInlineString, "B2": excelize.CellTypeUnset,
		"C3": excelize.CellTypeUnset, "D3": excelize.CellTypeInlineString} {
		if ct, err := f.GetCellType("Customers", cell); err != nil || ct != typ {
			t.Errorf("%s: type %v %v, want %v", cell, ct, err, typ)
		}
	}
	if formula, _ := f.GetCellFormula("Customers", "A3"); formula != "" {
		t.Errorf("A3 became a formula: %q", formula)
	}
}

func TestWriteRejects(t *testing.T) {
	for _, name := range []string{"", "a/b", "this sheet name is far too long for excel"} {
		if err := xlsx.Write(&bytes.Buffer{}, name, nil); err == nil {
			t.Errorf("sheet name %q accepted", name)
		}
	}
	if err := xlsx.Write(&bytes.Buffer{}, "S", [][]any{{true}}); err == nil {
		t.Error("a bool cell was accepted")
	}
}

func TestColumn(t *testing.T) {
	for n, want := range map[int]string{1: "A", 10: "J", 26: "Z", 27: "AA", 52: "AZ", 53: "BA", 702: "ZZ", 703: "AAA", 16384: "XFD"} {
		if got := xlsx.Column(n); got != want {
			t.Errorf("Column(%d) = %s, want %s", n, got, want)
		}
	}
}
