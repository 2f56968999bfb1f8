package auth

import (
	"time"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/problem"
)

// Problem codes of the sign-in rules; clients send the user back to sign-in on each.
const (
	CodeUnauthenticated  = "unauthenticated"
	CodeEmailNotVerified = "email-not-verified"
	CodeMFARequired      = "mfa-required"
	CodeSessionExpired   = "session-expired"
	// CodeReauthenticationRequired: the route needs a sign-in from the last
	// FreshSignInWindow (by the token's auth_time), and the caller's is older.
	CodeReauthenticationRequired = "reauthentication-required"
)

// FreshSignInWindow is how recent a sign-in must be for routes that re-confirm the
// caller's identity (creating a sub-organization, re-issuing an admin's access): the
// role seed 004's "parent video password" plays.
const FreshSignInWindow = 5 * time.Minute

// CheckFreshSignIn returns a 401 reauthentication-required unless p signed in within
// FreshSignInWindow of now. A sign-in time up to a minute ahead (clock skew) counts
// as fresh.
func CheckFreshSignIn(p Principal, now time.Time) error {
	if p.AuthTime.IsZero() || now.Sub(p.AuthTime) > FreshSignInWindow || p.AuthTime.Sub(now) > time.Minute {
		return problem.New(problem.Unauthenticated, CodeReauthenticationRequired,
			"this action needs a recent sign-in: sign in again (within the last 5 minutes) and repeat it")
	}
	return nil
}

// ActivityWriteInterval bounds how often a session's last activity is written.
const ActivityWriteInterval = time.Minute

// SignInRules are the checks an organization's authentication settings impose on a
// sign-in. Later rules (SSO-only, tenant restrictions) are added here.
type SignInRules struct {
	Settings domain.AuthSettings
}

// Check applies the rules to a principal whose session was last active at lastSeen
// (zero for a session's first request). It returns a 401 problem when a rule fails.
func (r SignInRules) Check(p Principal, lastSeen, now time.Time) error {
	if r.Settings.RequireMFA && !p.HasMFA() {
		return problem.New(problem.Unauthenticated, CodeMFARequired,
			"this organization requires multi-factor authentication; sign in again with MFA")
	}
	if !lastSeen.IsZero() && now.Sub(lastSeen) > r.Settings.SessionTimeout() {
		return problem.New(problem.Unauthenticated, CodeSessionExpired,
			"your session ended after inactivity; sign in again")
	}
	return nil
}

// NeedsActivityWrite reports whether a session's last activity is stale enough to write.
func NeedsActivityWrite(lastSeen, now time.Time) bool {
	return lastSeen.IsZero() || now.Sub(lastSeen) >= ActivityWriteInterval
}
