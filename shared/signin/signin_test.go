package signin

import (
	"testing"

	"github.com/switchboard-msp/switchboard/shared/audit"
)

func TestParseClient(t *testing.T) {
	for _, tc := range []struct {
		name, ua string
		want     *audit.Client
	}{
		{"Chrome on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			&audit.Client{Browser: "Chrome", BrowserVersion: "131.0.0.0", OS: "Windows", Device: "Desktop"}},
		{"Edge on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
			&audit.Client{Browser: "Edge", BrowserVersion: "131.0.2903.86", OS: "macOS", Device: "Desktop"}},
		{"Safari on an iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
			&audit.Client{Browser: "Safari", BrowserVersion: "17.1", OS: "iOS", Device: "Mobile"}},
		{"Safari on an iPad", "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
			&audit.Client{Browser: "Safari", BrowserVersion: "17.1", OS: "iOS", Device: "Tablet"}},
		{"Firefox on Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
			&audit.Client{Browser: "Firefox", BrowserVersion: "133.0", OS: "Linux", Device: "Desktop"}},
		{"a crawler", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			&audit.Client{Browser: "Googlebot", BrowserVersion: "2.1", Device: "Bot"}},
		{"a command-line client", "curl/8.4.0", &audit.Client{Browser: "curl", BrowserVersion: "8.4.0"}},
		{"empty", "  ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseClient(tc.ua)
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("ParseClient = %+v, want %+v", got, tc.want)
			}
		})
	}
}
