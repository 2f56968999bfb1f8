package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/api"
)

type jobJSON struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress struct {
		Done  int64 `json:"done"`
		Total int64 `json:"total"`
	} `json:"progress"`
	Errors []struct {
		Line    int64  `json:"line"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Result map[string]any `json:"result"`
}

// n reads a count of the job's result.
func (j jobJSON) n(key string) int64 {
	f, _ := j.Result[key].(float64)
	return int64(f)
}

func (c customers) waitJob(id string) jobJSON {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var j jobJSON
		c.do("GET", "/api/jobs/"+id, nil, http.StatusOK).JSON(c.t, &j)
		if j.Status == "succeeded" || j.Status == "failed" || time.Now().After(deadline) {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c customers) importCSV(file string, want int) *testenv.Response {
	c.t.Helper()
	res := c.env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers/import", Token: c.tok, Body: file,
		Headers: map[string]string{"Content-Type": "text/csv"}})
	if res.Status != want {
		c.t.Fatalf("import: %d, want %d: %s", res.Status, want, res.Body)
	}
	return res
}

func TestImportCustomers(t *testing.T) {
	env := testenv.New(t)
	env.Observe = openapitestValidator(t)
	org := env.NewOrg("owner@import.example")
	c := customers{t, env, org.OwnerToken}

	var b strings.Builder
	b.WriteString("Customer Name,Primary Contact Email,External ID,PSA Type,PSA Connection ID,PSA ID\n")
	for i := 0; i < 250; i++ {
		fmt.Fprintf(&b, "Customer %03d,c%d@example.com,ext-%d,,,\n", i, i, i)
	}
	b.WriteString(",not-an-email,,,,\n")                    // line 252: two bad fields
	b.WriteString("PSA Customer,,,connectwise,cw-1,4711\n") // line 253
	b.WriteString("Bad PSA,,,salesforce,cw-1,1\n")          // line 254
	b.WriteString("Customer 000 again,,ext-0,,,\n")         // line 255: same external id as line 2
	file := b.String()

	var started jobJSON
	c.importCSV(file, http.StatusAccepted).JSON(t, &started)
	j := c.waitJob(started.ID)
	if j.Status != "succeeded" || j.Progress.Done != 254 || j.n("created") != 251 || j.n("failed") != 2 || j.n("skipped") != 1 {
		t.Fatalf("first import: %+v", j)
	}
	got := map[string]bool{}
	for _, e := range j.Errors {
		got[fmt.Sprintf("%d:%s", e.Line, e.Field)] = true
	}
	for _, want := range []string{"252:name", "252:primaryContactEmail", "254:psaType"} {
		if !got[want] {
			t.Errorf("errors lack %s: %+v", want, j.Errors)
		}
	}
	var list api.List[customerJSON]
	c.do("GET", "/api/msp-portal/customers?limit=100&q=customer%20249", nil, 200).JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("imported customer not listed: %+v", list.Items)
	}

	// The same file again creates nothing: every good row carries an external or PSA id.
	var again jobJSON
	c.importCSV(file, http.StatusAccepted).JSON(t, &again)
	j = c.waitJob(again.ID)
	if j.Status != "succeeded" || j.n("created") != 0 || j.n("skipped") != 252 {
		t.Fatalf("second import: %+v", j)
	}

	// File-level faults answer at once.
	c.importCSV("email\nx@y.z\n", http.StatusBadRequest)
	c.importCSV("Customer Name\n", http.StatusBadRequest)
	res := env.Do(testenv.Request{Method: "POST", Path: "/api/msp-portal/customers/import", Token: c.tok, Body: "{}"})
	if res.Status != http.StatusUnsupportedMediaType {
		t.Fatalf("json body: %d", res.Status)
	}
}
