package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/switchboard-msp/switchboard/infra/testenv"
)

func TestExportCustomers(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@export.example")
	c := customers{t, env, org.OwnerToken}
	acme := c.customer("Acme")
	c.customer("=HYPERLINK(\"http://evil\")")
	tn := c.tenant("AcmeProd", 33, "warning")
	c.do("POST", "/api/msp-portal/customers/"+acme.ID+"/tenants", map[string]string{"tenantId": tn}, 200)

	// International dates in Amsterdam time.
	var profile map[string]any
	c.do("GET", "/api/msp-portal/settings/profile", nil, 200).JSON(t, &profile)
	profile["dateFormat"], profile["timeZone"] = "International", "Europe/Amsterdam"
	c.do("PUT", "/api/msp-portal/settings/profile", profile, 200)

	res := c.do("GET", "/api/msp-portal/customers/export?format=csv", nil, http.StatusOK)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.Contains(res.Header.Get("Content-Disposition"), ".csv") {
		t.Fatalf("csv headers: %v", res.Header)
	}
	rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "Customer Name" || rows[0][6] != "Health Status" {
		t.Fatalf("csv: %v %v", rows, err)
	}
	var acmeRow []string
	for _, r := range rows[1:] {
		if r[0] == "Acme" {
			acmeRow = r
		} else if !strings.HasPrefix(r[0], "'=") {
			t.Fatalf("a formula was exported as is: %q", r[0])
		}
	}
	if acmeRow == nil || acmeRow[3] != "1" || acmeRow[4] != "33" || acmeRow[6] != "warning" || !strings.Contains(acmeRow[8], "/") {
		t.Fatalf("acme row: %v", acmeRow)
	}
	// DD/MM/YYYY: the first field is the day, at most 31.
	if day := acmeRow[8][:2]; day > "31" {
		t.Fatalf("date not international: %s", acmeRow[8])
	}

	res = c.do("GET", "/api/msp-portal/customers/export?format=xlsx", nil, http.StatusOK)
	f, err := excelize.OpenReader(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatalf("open xlsx: %v", err)
	}
	defer f.Close()
	xrows, err := f.GetRows("Customers")
	if err != nil || len(xrows) != 3 || xrows[0][0] != "Customer Name" {
		t.Fatalf("xlsx rows: %v %v", xrows, err)
	}
	c.do("GET", "/api/msp-portal/customers/export?format=pdf", nil, http.StatusBadRequest)
	viewer := customers{t, env, env.AddMember(org.ID, "Read-Only", "viewer@export.example")}
	viewer.do("GET", "/api/msp-portal/customers/export", nil, http.StatusOK)
}
