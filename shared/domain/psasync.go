package domain

import "time"

// Conflict policies of a PSA connection's sync: what happens to a field that changed on
// both sides since the last sync.
const (
	PSAWins         = "psa-wins"
	SwitchboardWins = "switchboard-wins"
	PSAHold         = "hold"
)

// PSAConflictPolicies lists them; the first is the default.
func PSAConflictPolicies() []string { return []string{PSAHold, PSAWins, SwitchboardWins} }

// PSAFields are the fields a PSA sync keeps equal on both sides of a link. Baselines
// written before Website and PostalAddress were synced read them as empty.
type PSAFields struct {
	Name          string        `json:"name"`
	Phone         string        `json:"phone"`
	Website       string        `json:"website"`
	PostalAddress PostalAddress `json:"postalAddress"`
}

// PSAFields are c's synced fields.
func (c Customer) PSAFields() PSAFields {
	return PSAFields{Name: c.Name, Phone: c.Phone, Website: c.Website, PostalAddress: c.PostalAddress}
}

// SetPSAFields writes f to c; the one-line address follows the parts (FollowParts).
func (c *Customer) SetPSAFields(f PSAFields) {
	prev := c.PostalAddress
	c.Name, c.Phone, c.Website, c.PostalAddress = f.Name, f.Phone, f.Website, f.PostalAddress
	c.FollowParts(prev)
}

// PSASyncState is one PSA connection's sync: its conflict policy, the high-water mark
// of the last complete sync, and a run in progress (its paging cursor), so a sync that
// dies half-way resumes.
type PSASyncState struct {
	ConnectionID   string `json:"connectionId"`
	ConflictPolicy string `json:"conflictPolicy"`
	// Since is the latest PSA change time seen by the last complete sync; the next one
	// lists companies changed at or after it (zero: every company).
	Since      time.Time      `json:"since"`
	LastSyncAt *time.Time     `json:"lastSyncAt,omitempty"`
	LastResult *PSASyncCounts `json:"lastResult,omitempty"`
	Run        *PSASyncRun    `json:"run,omitempty"`
	Version    int64          `json:"version"`
}

// PSASyncRun is a sync in progress: the since it lists from, the next page's cursor and
// the high-water mark of the pages done.
type PSASyncRun struct {
	Since     time.Time `json:"since"`
	Cursor    string    `json:"cursor"`
	HighWater time.Time `json:"highWater"`
	Pages     int       `json:"pages"`
	// PagesDone: every page is synced; what is left is pushing local changes.
	PagesDone bool      `json:"pagesDone,omitempty"`
	StartedAt time.Time `json:"startedAt"`
}

// PSASyncCounts count what a sync did (or, in a dry run, would do).
type PSASyncCounts struct {
	CreatedHere     int `json:"createdHere"`
	UpdatedHere     int `json:"updatedHere"`
	UpdatedInPSA    int `json:"updatedInPsa"`
	Conflicts       int `json:"conflicts"`
	Held            int `json:"held"`
	ProposedMatches int `json:"proposedMatches"`
	Unchanged       int `json:"unchanged"`
	Failed          int `json:"failed"`
}

// PSABaseline is a link's fields as both sides held them after the last sync: a side
// whose fields differ from it changed since.
type PSABaseline struct {
	ExternalID string    `json:"externalId"`
	CustomerID string    `json:"customerId"`
	Fields     PSAFields `json:"fields"`
	SyncedAt   time.Time `json:"syncedAt"`
}

// PSAHeldConflict is a conflict held for review under the hold policy.
type PSAHeldConflict struct {
	ExternalID   string    `json:"externalId"`
	CustomerID   string    `json:"customerId"`
	CustomerName string    `json:"customerName"`
	Local        PSAFields `json:"local"`
	PSA          PSAFields `json:"psa"`
	DetectedAt   time.Time `json:"detectedAt"`
}

// ValidPhone reports whether s is a phone number a customer may hold; a PSA's phone
// that is not is left out of the sync rather than refused.
func ValidPhone(s string) bool { return phonePattern().MatchString(s) }
