// Package access is the one place that decides which organization a request acts in and
// with which role: through membership, or through a parent organization's support
// relation (an MSP member who holds permission.ManageSubOrgs acting inside one of its
// sub-organizations). It also maps each identity to its user on first sign-in.
package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Resolver resolves callers and the organization each request acts in.
type Resolver struct {
	store *store.Store
	// OnSignUp, when set, runs once after a new person's first sign-in created their
	// user: pending invitations to their email are accepted there (seed 003).
	OnSignUp func(ctx context.Context, p auth.Principal, userID string)
	// PortalOnly, when set, reports whether a new person's email has a pending client
	// portal invitation: their first sign-in then creates no organization of their own,
	// so a company user never holds an MSP console of their own by signing in.
	PortalOnly func(ctx context.Context, email string) (bool, error)
	// users caches identity → user: the mapping never changes once written, so a warm
	// Lambda skips that read.
	users sync.Map
	// seen caches, per user and session, a time at or before the session's last
	// recorded activity. Activity only moves forward, so while that time is within the
	// shortest timeout an organization can set, the session cannot have expired and a
	// warm Lambda skips reading it.
	mu   sync.Mutex
	seen map[string]sessionSeen
	// members caches, per user and organization, a membership read as one snapshot with
	// the organization's member epoch. Every membership write advances the epoch, so
	// while the organization item (read on every request) still carries it, the
	// membership is current and a warm Lambda skips reading it.
	members map[string]cachedMember
	// started is set once this process has read an authorization: its first one
	// skips the snapshot (see access).
	started atomic.Bool
}

type cachedMember struct {
	member domain.Membership
	epoch  int64
}

func (r *Resolver) cachedMember(userID, orgID string) (cachedMember, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.members[userID+"\x00"+orgID]
	return c, ok
}

func (r *Resolver) cacheMember(userID, orgID string, a store.Access) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := userID + "\x00" + orgID
	if a.Member == nil {
		delete(r.members, k)
		return
	}
	if r.members == nil || len(r.members) >= maxSeen {
		r.members = map[string]cachedMember{}
	}
	r.members[k] = cachedMember{member: *a.Member, epoch: a.MemberEpoch}
}

// access reads what authorizing a request in orgID needs. With the membership cached
// and the session not needed, that is the organization item alone.
func (r *Resolver) access(ctx context.Context, userID, orgID, sessionKey string) (store.Access, error) {
	if sessionKey == "" {
		if c, ok := r.cachedMember(userID, orgID); ok {
			a, err := r.store.OrganizationEpoch(ctx, orgID)
			if err != nil || a.Org == nil {
				return a, err
			}
			if a.MemberEpoch == c.epoch {
				m := c.member
				m.Permissions = slices.Clone(m.Permissions)
				m.TenantScope.TenantIDs = slices.Clone(m.TenantScope.TenantIDs)
				a.Member = &m
				return a, nil
			}
			// A membership changed since: read again, as a snapshot.
		}
	}
	if !r.started.Swap(true) {
		// A process's first request is its cold start's: its connection is new and
		// every code path cold. The snapshot only lets the membership be cached, which
		// the process's next request does as well; until then each item read
		// consistently authorizes as well, with one BatchGetItem.
		return r.store.ReadAccess(ctx, userID, orgID, sessionKey)
	}
	a, err := r.store.ResolveAccess(ctx, userID, orgID, sessionKey)
	if err != nil {
		return store.Access{}, err
	}
	// An organization written before epochs existed carries none (0): never cache it.
	if a.Snapshot && a.Org != nil && a.MemberEpoch > 0 {
		r.cacheMember(userID, orgID, a)
	}
	return a, nil
}

// sessionSeen is what this process knows of a session: a time at or before its last
// recorded activity, and when this process last tried to record it.
type sessionSeen struct {
	atOrBefore time.Time
	tried      time.Time
}

// maxSeen bounds the session cache of one process.
const maxSeen = 50_000

func (r *Resolver) seenAt(userID, sessionID string) (sessionSeen, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.seen[userID+"\x00"+sessionID]
	return t, ok
}

// remember raises what is known of a session: activity at or after at, and, when
// tried is set, a write attempted then.
func (r *Resolver) remember(userID, sessionID string, at, tried time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil || len(r.seen) >= maxSeen {
		r.seen = map[string]sessionSeen{}
	}
	k := userID + "\x00" + sessionID
	cur := r.seen[k]
	if at.After(cur.atOrBefore) {
		cur.atOrBefore = at
	}
	if tried.After(cur.tried) {
		cur.tried = tried
	}
	r.seen[k] = cur
}

// NewResolver returns a resolver over st.
func NewResolver(st *store.Store) *Resolver { return &Resolver{store: st} }

// Via says how the caller reaches the organization.
type Via string

// The paths into an organization.
const (
	ViaMembership Via = "membership"
	// ViaSupport: the caller is no member of the organization, a sub-organization, but
	// a member of its parent who holds permission.ManageSubOrgs, acting with the rights
	// of their role there.
	ViaSupport Via = "support"
)

// Context is the organization a request acts in, and the caller's rights there.
type Context struct {
	UserID    string
	Principal auth.Principal
	Org       domain.Organization
	// Member is the caller's membership in Org, or, on the support path, in
	// SupportedFrom: its role, permissions and tenant scope are the caller's rights.
	Member domain.Membership
	Via    Via
	// SupportedFrom, on the support path, is the parent organization the caller is a
	// member of.
	SupportedFrom *domain.Organization
}

// Role is the caller's role in the organization.
func (c *Context) Role() permission.Role { return c.Member.Role }

// Grant says how the caller holds p here.
func (c *Context) Grant(p permission.Permission) permission.Grant {
	return permission.GrantFor(c.Member.Role, c.Member.Permissions, p)
}

// Scope is the caller as the permission layer's tenant scope checks see them.
func (c *Context) Scope() permission.Member {
	return permission.Member{Role: c.Member.Role, Permissions: c.Member.Permissions, Scope: c.Member.TenantScope}
}

// Can reports whether the caller holds p at all (scoped grants included).
func (c *Context) Can(p permission.Permission) bool { return c.Grant(p) != permission.Denied }

type ctxKey struct{}

// With stores c in ctx.
func With(ctx context.Context, c *Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// From returns the organization context of an organization-scoped request.
func From(ctx context.Context) *Context {
	c, _ := ctx.Value(ctxKey{}).(*Context)
	return c
}

// User returns the user id of a principal, creating the user and a default
// organization on the identity's first sign-in. Only a verified email maps to a user.
func (r *Resolver) User(ctx context.Context, p auth.Principal) (string, error) {
	if id, ok := r.users.Load(p.Subject); ok {
		return id.(string), nil
	}
	if p.UserID != "" && domain.ValidID(p.UserID) {
		// The mapping never changes once written, and the claim was copied from it
		// when the token was issued: no read needed.
		r.users.Store(p.Subject, p.UserID)
		return p.UserID, nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		id, err := r.store.LookupIdentity(ctx, p.Subject)
		if err == nil {
			r.users.Store(p.Subject, id)
			return id, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if !p.EmailVerified || !domain.ValidEmail(strings.TrimSpace(p.Email)) {
			return "", problem.New(problem.Unauthenticated, auth.CodeEmailNotVerified,
				"sign in with an account whose email address is verified")
		}
		name := p.Name
		if name == "" {
			name = p.Email[:strings.Index(p.Email, "@")]
		}
		orgName := domain.Truncate(name, domain.MaxNameLength-len("'s organization")) + "'s organization"
		org := domain.Organization{ID: domain.NewID(), Name: orgName, Plan: domain.PlanFree, Profile: domain.NewProfile(orgName)}
		if r.PortalOnly != nil {
			portalOnly, err := r.PortalOnly(ctx, p.Email)
			if err != nil {
				return "", err
			}
			if portalOnly {
				org = domain.Organization{}
			}
		}
		u, err := r.store.SignUp(ctx, store.SignUpInput{Subject: p.Subject, Email: p.Email, Name: name, DefaultOrganization: org})
		if errors.Is(err, store.ErrIdentityTaken) {
			continue
		}
		if err != nil {
			return "", err
		}
		r.users.Store(p.Subject, u.ID)
		if r.OnSignUp != nil && org.ID != "" && u.ActiveOrganizationID == org.ID {
			r.OnSignUp(ctx, p, u.ID)
		}
		return u.ID, nil
	}
	return "", fmt.Errorf("map identity %s: concurrent sign-ups did not settle", p.Subject)
}

// Organization resolves the organization a request acts in: requested (from the path or
// X-Organization-Id) when given, else the user's active one. It returns a 404 when the
// caller cannot reach it, and a 401 when the organization's sign-in rules refuse the
// session. The returned touch, when not nil, records the session's activity and is run
// concurrently with the request's own work.
func (r *Resolver) Organization(ctx context.Context, p auth.Principal, userID, requested string) (*Context, func(context.Context) error, error) {
	orgID := requested
	fallback := false
	if orgID == "" {
		u, err := r.store.GetUser(ctx, userID)
		if err != nil {
			return nil, nil, fmt.Errorf("get user %s: %w", userID, err)
		}
		orgID, fallback = u.ActiveOrganizationID, true
	}
	if orgID != "" && !domain.ValidID(orgID) {
		return nil, nil, problem.NotFoundf("organization %q was not found", orgID)
	}
	now := r.store.Now()
	sessionKey := p.SessionID
	cached, known := r.seenAt(userID, p.SessionID)
	if known && now.Sub(cached.atOrBefore) <= domain.MinSessionTimeoutMinutes*time.Minute {
		sessionKey = "" // cannot have expired: no need to read it
	}
	var a store.Access
	var err error
	if orgID != "" {
		a, err = r.access(ctx, userID, orgID, sessionKey)
		if err != nil {
			return nil, nil, err
		}
	}
	var support *store.Access
	if a.Org != nil && a.Member == nil && !fallback && a.Org.ParentID != "" {
		// Not a member: a member of the parent who may support its sub-organizations
		// acts here with their role there. The parent's membership is checked on every
		// request, against the parent's member epoch, so a removed member or a role
		// that lost the permission is refused at once.
		if support, err = r.supporter(ctx, userID, a.Org.ParentID); err != nil {
			return nil, nil, err
		}
	}
	if (a.Org == nil || a.Member == nil) && support == nil && fallback {
		// The active organization is gone or the user was removed from it: switch the
		// user back to an organization they can still reach (seed 003).
		orgID, err = r.reachableOrganization(ctx, userID)
		if err != nil {
			return nil, nil, err
		}
		if orgID != "" {
			if a, err = r.access(ctx, userID, orgID, sessionKey); err != nil {
				return nil, nil, err
			}
			if err := r.store.SetActiveOrganization(ctx, userID, orgID); err != nil {
				return nil, nil, err
			}
		}
	}
	var c *Context
	switch {
	case a.Org != nil && a.Member != nil:
		c = &Context{UserID: userID, Principal: p, Org: *a.Org, Member: *a.Member, Via: ViaMembership}
	case a.Org != nil && support != nil:
		c = &Context{UserID: userID, Principal: p, Org: *a.Org, Member: *support.Member, Via: ViaSupport, SupportedFrom: support.Org}
	default:
		return nil, nil, problem.NotFoundf("organization %q was not found", orgID)
	}
	lastSeen := a.LastSeen()
	if sessionKey == "" {
		lastSeen = cached.atOrBefore
	}
	if err := (auth.SignInRules{Settings: c.Org.Profile.Authentication}).Check(p, lastSeen, now); err != nil {
		return nil, nil, err
	}
	if c.SupportedFrom != nil {
		// A supporter also keeps to the sign-in rules of the organization they belong to.
		if err := (auth.SignInRules{Settings: c.SupportedFrom.Profile.Authentication}).Check(p, lastSeen, now); err != nil {
			return nil, nil, err
		}
	}
	r.remember(userID, p.SessionID, lastSeen, time.Time{})
	var touch func(context.Context) error
	if auth.NeedsActivityWrite(lastSeen, now) && now.Sub(cached.tried) >= auth.ActivityWriteInterval {
		touch = func(ctx context.Context) error {
			wrote, err := r.store.TouchSession(ctx, userID, p.SessionID, now, auth.ActivityWriteInterval)
			if err != nil {
				return err
			}
			at := now.Add(-auth.ActivityWriteInterval) // another request wrote within the interval
			if wrote {
				at = now
			}
			r.remember(userID, p.SessionID, at, now)
			return nil
		}
	}
	return c, touch, nil
}

// supporter returns the caller's access to parentID when it lets them support the
// parent's sub-organizations, nil otherwise. Only a top-level organization has
// sub-organizations, so the chain is one step long.
func (r *Resolver) supporter(ctx context.Context, userID, parentID string) (*store.Access, error) {
	pa, err := r.access(ctx, userID, parentID, "")
	if err != nil {
		return nil, err
	}
	if pa.Org == nil || pa.Member == nil || pa.Org.ParentID != "" {
		return nil, nil
	}
	if permission.GrantFor(pa.Member.Role, pa.Member.Permissions, permission.ManageSubOrgs) == permission.Denied {
		return nil, nil
	}
	return &pa, nil
}

// reachableOrganization picks the user's owned organization, else the first one.
func (r *Resolver) reachableOrganization(ctx context.Context, userID string) (string, error) {
	members, _, _, err := r.store.ListMemberships(ctx, userID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return "", err
	}
	for _, m := range members {
		if m.Role == permission.Owner {
			return m.OrganizationID, nil
		}
	}
	if len(members) > 0 {
		return members[0].OrganizationID, nil
	}
	return "", nil
}
