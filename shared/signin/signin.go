// Package signin describes a sign-in for the audit log: the browser, operating system
// and device its user agent names, and a one-line summary an auditor reads.
//
// User agents are parsed with github.com/medama-io/go-useragent: a maintained,
// dependency-free parser whose definitions are embedded (no download at start, which a
// Lambda could not afford) and whose lookups take well under a microsecond. It reports
// browser name and version, OS name and device type; it does not report OS versions,
// which browsers have frozen in their user agents anyway (Windows 11 says "Windows NT
// 10.0", every macOS "10_15_7"), so none is recorded rather than a wrong one.
package signin

import (
	"fmt"
	"strings"

	"github.com/medama-io/go-useragent"

	"github.com/switchboard-msp/switchboard/shared/audit"
)

// ParseClient describes the browser, operating system and device of user agent ua;
// nil when ua is empty or names none of them.
func ParseClient(ua string) *audit.Client {
	if strings.TrimSpace(ua) == "" {
		return nil
	}
	// NewParser builds its trie once per process, on first use: only the functions
	// that record sign-ins pay for it.
	agent := useragent.NewParser().Parse(ua)
	c := &audit.Client{
		Browser: agent.Browser().String(),
		OS:      agent.OS().String(),
		Device:  agent.Device().String(),
	}
	if c.Browser != "" {
		c.BrowserVersion = agent.BrowserVersion()
	}
	if *c == (audit.Client{}) {
		return nil
	}
	return c
}

// Summary is the summary line of a sign-in event: who, with what, from where, through
// which identity provider; the parts not known are left out.
func Summary(email string, c *audit.Client, sourceIP, provider string) string {
	who := email
	if who == "" {
		who = "a user"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s signed in", who)
	if provider != "" {
		fmt.Fprintf(&b, " with %s", provider)
	}
	if c != nil && c.Browser != "" {
		fmt.Fprintf(&b, " using %s", strings.TrimSpace(c.Browser+" "+c.BrowserVersion))
		if c.OS != "" {
			fmt.Fprintf(&b, " on %s", c.OS)
		}
	} else if c != nil && c.OS != "" {
		fmt.Fprintf(&b, " on %s", c.OS)
	}
	if sourceIP != "" {
		fmt.Fprintf(&b, " from %s", sourceIP)
	}
	return b.String()
}
