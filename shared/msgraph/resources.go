package msgraph

import (
	"context"
	"encoding/json"
	"net/url"
)

// AssignedLicense is one license of a user (Graph's assignedLicense).
type AssignedLicense struct {
	SKUID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans,omitempty"`
}

// User is the part of Graph's user resource the company-user import and the licensed
// user count read.
type User struct {
	ID                string            `json:"id"`
	DisplayName       string            `json:"displayName"`
	Mail              string            `json:"mail"`
	UserPrincipalName string            `json:"userPrincipalName"`
	JobTitle          string            `json:"jobTitle"`
	AssignedLicenses  []AssignedLicense `json:"assignedLicenses"`
}

// Licensed reports whether the user holds at least one license.
func (u User) Licensed() bool { return len(u.AssignedLicenses) > 0 }

// userSelect is the $select of ListUsers: only what User holds.
const userSelect = "id,displayName,mail,userPrincipalName,jobTitle,assignedLicenses"

// ListUsers reads every user of the tenant (GET /v1.0/users, 999 a page, following
// @odata.nextLink). Needs the application permission User.Read.All.
func (s *Session) ListUsers(ctx context.Context) ([]User, error) {
	q := url.Values{"$select": {userSelect}, "$top": {"999"}}
	return collect[User](ctx, s, "/v1.0/users?"+q.Encode())
}

// collect reads every element of a Graph collection, page by page.
func collect[T any](ctx context.Context, s *Session, path string) ([]T, error) {
	var out []T
	err := s.each(ctx, path, func(raw json.RawMessage) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// PrepaidUnits are a subscribed SKU's purchased units by state.
type PrepaidUnits struct {
	Enabled   int64 `json:"enabled"`
	Suspended int64 `json:"suspended"`
	Warning   int64 `json:"warning"`
	LockedOut int64 `json:"lockedOut"`
}

// SubscribedSKU is one of the tenant's commercial subscriptions (Graph's subscribedSku).
type SubscribedSKU struct {
	SKUID            string       `json:"skuId"`
	SKUPartNumber    string       `json:"skuPartNumber"`
	CapabilityStatus string       `json:"capabilityStatus"`
	ConsumedUnits    int64        `json:"consumedUnits"`
	PrepaidUnits     PrepaidUnits `json:"prepaidUnits"`
	AppliesTo        string       `json:"appliesTo"`
}

// SubscribedSKUs reads GET /v1.0/subscribedSkus. Needs Organization.Read.All (or
// LicenseAssignment.Read.All).
func (s *Session) SubscribedSKUs(ctx context.Context) ([]SubscribedSKU, error) {
	return collect[SubscribedSKU](ctx, s, "/v1.0/subscribedSkus")
}

// SecureScore is one day's Microsoft Secure Score of the tenant.
type SecureScore struct {
	ID                string  `json:"id"`
	CreatedDateTime   string  `json:"createdDateTime"`
	CurrentScore      float64 `json:"currentScore"`
	MaxScore          float64 `json:"maxScore"`
	ActiveUserCount   int64   `json:"activeUserCount"`
	LicensedUserCount int64   `json:"licensedUserCount"`
}

// Percent is the score as a percentage of the maximum, 0 without a maximum.
func (s SecureScore) Percent() float64 {
	if s.MaxScore <= 0 {
		return 0
	}
	return s.CurrentScore / s.MaxScore * 100
}

// LatestSecureScore reads the newest Secure Score (GET /v1.0/security/secureScores
// ?$top=1; Graph lists them newest first). ok is false when the tenant has none yet.
// Needs SecurityEvents.Read.All.
func (s *Session) LatestSecureScore(ctx context.Context) (score SecureScore, ok bool, err error) {
	p, err := s.get(ctx, s.c.graph+"/v1.0/security/secureScores?"+url.Values{"$top": {"1"}}.Encode())
	if err != nil {
		return SecureScore{}, false, err
	}
	if len(p.Value) == 0 {
		return SecureScore{}, false, nil
	}
	if err := json.Unmarshal(p.Value[0], &score); err != nil {
		return SecureScore{}, false, &Error{Kind: BadResponse, Message: "a secure score cannot be read", err: err}
	}
	return score, true, nil
}
