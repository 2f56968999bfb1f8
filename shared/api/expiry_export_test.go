package api

import "time"

// SetExpiryPaging sets the page size and deadline margin of ExpireInvitations for a
// test and returns what restores them.
func SetExpiryPaging(pageSize int, margin time.Duration) (restore func()) {
	oldSize, oldMargin := expiryPageSize, expiryMargin
	expiryPageSize, expiryMargin = pageSize, margin
	return func() { expiryPageSize, expiryMargin = oldSize, oldMargin }
}
