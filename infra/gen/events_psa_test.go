package main

import (
	"maps"
	"net/http"
	"testing"
)

func init() { maps.Copy(eventCases, psaEventCases) }

// psaEventCases: the sample events name a PSA connection the sample organization does
// not have, so each function answers its 404 through the whole chain (token, member,
// route); the PSA flows are shared/api's and infra/localserver's tests, against the
// stand-ins.
var psaEventCases = map[string]eventCase{
	"psa-matches":                {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-matches-accept":         {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-sync-run":               {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-sync-get":               {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-sync-update":            {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-conflicts-resolve":      {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-ticket-settings-get":    {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-ticket-settings-update": {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
	"psa-ticket-values":          {status: http.StatusNotFound, contentType: "application/problem+json", check: psaNotFound},
}

func psaNotFound(t *testing.T, b map[string]any) {
	if b["code"] != "not-found" {
		t.Errorf("body: %v", b)
	}
}
