package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/afterresponse"
	"github.com/switchboard-msp/switchboard/shared/audit"
	"github.com/switchboard-msp/switchboard/shared/auth"
	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/problem"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// HeaderOrganization names the organization a request acts in.
const HeaderOrganization = "X-Organization-Id"

// HeaderIdempotencyKey makes a mutating POST safe to repeat.
const HeaderIdempotencyKey = "Idempotency-Key"

// HeaderSupportReason, sent while supporting a sub-organization, is recorded on every
// audit event of the request. It is validated on every organization-scoped request,
// and recorded only on the support path.
const HeaderSupportReason = "X-Support-Reason"

// MaxSupportReason is the longest X-Support-Reason, in characters.
const MaxSupportReason = 500

// Wrap puts a route's handler behind the checks, in the fixed order: 401, 404, 403;
// the handler then validates (400) and checks state (409/412).
func Wrap(rt Route, d *Deps) http.Handler {
	var h http.Handler
	if rt.Read != nil {
		h = readHandler(d, rt.Read)
	} else {
		h = rt.Handler(d)
	}
	if idempotentRoute(rt) {
		h = idempotent(rt, d, h)
	}
	if rt.OrgScoped() {
		h = organization(rt, d, h)
	}
	if rt.Portal() {
		h = portal(rt, d, h)
	}
	if rt.Permission != permission.Public {
		h = authenticate(d, h)
	}
	return withFunction(rt, logged(rt, h))
}

type requestIDKey struct{}

// logFields is filled in by inner middleware for the request's log line.
type logFields struct{ organizationID, supportedFrom string }

type logFieldsKey struct{}

// statusRecorder remembers the status written, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logged logs one JSON line per request, with request and organization ids and never
// a token, and turns a panic into a problem.
func logged(rt Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := requestID(r)
		fields := &logFields{}
		ctx := context.WithValue(r.Context(), requestIDKey{}, reqID)
		ctx = context.WithValue(ctx, logFieldsKey{}, fields)
		rec := &statusRecorder{ResponseWriter: w}
		rec.Header().Set("X-Request-Id", reqID)
		defer func() {
			if v := recover(); v != nil {
				slog.ErrorContext(ctx, "panic", "requestId", reqID, "panic", v)
				problem.Write(ctx, rec, r, errors.New("panic"))
			}
			attrs := []any{"requestId", reqID, "method", r.Method, "route", rt.Path, "status", rec.status,
				"durationMs", time.Since(start).Milliseconds()}
			if fields.supportedFrom != "" {
				attrs = append(attrs, "supportedFrom", fields.supportedFrom)
			}
			if fields.organizationID != "" {
				attrs = append(attrs, "organizationId", fields.organizationID)
			} else if o := r.Header.Get(HeaderOrganization); o != "" && domain.ValidID(o) {
				attrs = append(attrs, "organizationId", o)
			}
			slog.InfoContext(ctx, "request", attrs...)
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

func requestID(r *http.Request) string {
	if c, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && c.RequestID != "" {
		return c.RequestID
	}
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && domain.ValidID(id) {
		return id
	}
	return domain.NewID()
}

// RequestID returns the id of the request in ctx.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// source returns the caller's IP and user agent as API Gateway saw them, or as the
// local server's connection shows them.
func source(r *http.Request) (ip, ua string) {
	if c, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
		return c.HTTP.SourceIP, c.HTTP.UserAgent
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return ip, r.UserAgent()
}

// claims reads the verified claims: those put in the context by the local verifier, or
// those API Gateway's JWT authorizer put in the Lambda event.
func claims(r *http.Request) (auth.Claims, bool) {
	if c, ok := auth.ClaimsFrom(r.Context()); ok {
		return c, true
	}
	gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || gw.Authorizer == nil || gw.Authorizer.JWT == nil {
		return nil, false
	}
	return fromAuthorizer(gw.Authorizer.JWT), true
}

func fromAuthorizer(jwt *events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription) auth.Claims {
	c := auth.Claims{}
	for k, v := range jwt.Claims {
		c[k] = v
	}
	return c
}

type principalKey struct{}

type caller struct {
	principal auth.Principal
	userID    string
}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(principalKey{}).(caller)
	return c
}

// authenticate turns verified claims into the caller's user (401 when absent).
func authenticate(d *Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c, ok := claims(r)
		if !ok {
			problem.Write(ctx, w, r, problem.New(problem.Unauthenticated, auth.CodeUnauthenticated, "sign in and send the ID token as a Bearer token"))
			return
		}
		p, err := c.Principal()
		if err != nil {
			problem.Write(ctx, w, r, problem.New(problem.Unauthenticated, auth.CodeUnauthenticated, "the token lacks required claims"))
			return
		}
		ip, ua := source(r)
		ctx = audit.WithOrigin(ctx, audit.Origin{Actor: audit.Actor{Email: domain.NormalizeEmail(p.Email)}, SourceIP: ip, UserAgent: ua})
		userID, err := d.Resolver.User(ctx, p)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		o := audit.OriginFrom(ctx)
		o.Actor.UserID = userID
		ctx = audit.WithOrigin(ctx, o)
		ctx = context.WithValue(ctx, principalKey{}, caller{principal: p, userID: userID})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// organization resolves the organization and role (404), then the permission (403).
// The call is then counted, and the session's activity written, after the response
// where the runtime holds the invocation open for them (afterresponse), else alongside
// it.
func organization(rt Route, d *Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		cl := callerFrom(ctx)
		requested := strings.TrimSpace(r.Header.Get(HeaderOrganization))
		if rt.OrgParam != "" {
			requested = r.PathValue(rt.OrgParam)
		}
		var early chan fetched
		if rt.Read != nil && requested != "" && domain.ValidID(requested) {
			early = make(chan fetched, 1)
			go func() {
				v, err := rt.Read(ctx, d, r, requested)
				early <- fetched{v, err}
			}()
		}
		// A keyed POST's idempotency record is read beside the authorization, and used
		// only once the caller is authorized in the organization it names.
		var idem *idempotencyRead
		if idempotentRoute(rt) && requested != "" && domain.ValidID(requested) {
			if key := r.Header.Get(HeaderIdempotencyKey); key != "" && len(key) <= maxIdempotencyKey {
				idem = readIdempotency(ctx, d, cl.userID, idempotencyScope(rt, requested), key)
			}
		}
		// A change's audit chain head too: its write then waits for its own reads only.
		var chain *store.ChainRead
		if changes(rt) && requested != "" && domain.ValidID(requested) {
			chain = d.Store.ReadChainAhead(ctx, requested)
		}
		now := d.Store.Now()
		oc, touch, err := d.Resolver.Organization(ctx, cl.principal, cl.userID, requested)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if f, ok := ctx.Value(logFieldsKey{}).(*logFields); ok {
			f.organizationID = oc.Org.ID
			if oc.SupportedFrom != nil {
				f.supportedFrom = oc.SupportedFrom.ID
			}
		}
		if rt.FreshSignIn {
			if err := auth.CheckFreshSignIn(cl.principal, d.Store.Now()); err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
		}
		if !oc.Can(rt.Permission) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden",
				"your role ("+string(oc.Role())+") does not allow: "+permission.Describe(rt.Permission)))
			return
		}
		reason, err := supportReason(r)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if oc.Via == access.ViaSupport {
			// Every event of the request is the sub-organization's, written "on behalf of".
			o := audit.OriginFrom(ctx)
			o.OnBehalfOf = &audit.OnBehalfOf{MSPOrganizationID: oc.SupportedFrom.ID, SubOrganizationID: oc.Org.ID, Reason: reason}
			ctx = audit.WithOrigin(ctx, o)
		}
		bill, err := d.Store.BillingRootOf(ctx, oc.Org)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if oc.Org.ParentID != "" {
			oc.Org.Plan = bill.Plan // a sub-organization is on its parent's plan
		}
		if err := apiCallsOpen(rt, bill, now); err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if early != nil && oc.Org.ID == requested {
			ctx = context.WithValue(ctx, fetchedKey{}, <-early)
		}
		if idem != nil && oc.Org.ID == requested {
			ctx = context.WithValue(ctx, idempotencyReadKey{}, idem)
		}
		if chain != nil && oc.Org.ID == requested {
			ctx = store.WithChainRead(ctx, chain)
		}
		// The bookkeeping of an authorized call: count it on its bill, and record the
		// session's activity when due. Neither changes the answer.
		count := func(ctx context.Context) {
			if err := meterCall(ctx, d, bill, oc.Org.ID, now); err != nil {
				slog.WarnContext(ctx, "API call not metered", "requestId", RequestID(ctx), "err", err.Error())
			}
		}
		record := func(ctx context.Context) {
			if err := touch(ctx); err != nil {
				slog.WarnContext(ctx, "session activity not recorded", "requestId", RequestID(ctx), "err", err.Error())
			}
		}
		served := r.WithContext(access.With(ctx, oc))
		if after := afterresponse.From(ctx); after != nil {
			// In Lambda, the runtime holds the invocation open for it after the response:
			// the caller does not wait, and the calls do not compete with the request's.
			next.ServeHTTP(w, served)
			after.Go(ctx, count)
			if touch != nil {
				after.Go(ctx, record)
			}
			return
		}
		// Elsewhere it runs alongside the request's own work, and the request waits for it.
		var own afterresponse.Tasks
		own.Go(ctx, count)
		if touch != nil {
			own.Go(ctx, record)
		}
		next.ServeHTTP(w, served)
		own.Wait()
	})
}

// supportReason reads X-Support-Reason: at most MaxSupportReason characters of
// printable text, kept in the audit log (400 naming the header otherwise).
func supportReason(r *http.Request) (string, error) {
	reason := strings.TrimSpace(r.Header.Get(HeaderSupportReason))
	switch {
	case !utf8.ValidString(reason) || strings.ContainsFunc(reason, unicode.IsControl):
		return "", problem.Invalidf(HeaderSupportReason, "must be plain text on one line")
	case utf8.RuneCountInString(reason) > MaxSupportReason:
		return "", problem.Invalidf(HeaderSupportReason, "must be at most %d characters", MaxSupportReason)
	}
	return reason, nil
}

// captureWriter buffers a response so an idempotent POST can store it.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}

// idempotencyInProgress is how long after its commit a request may still be storing
// its response: API Gateway ends every request within 30 seconds.
const idempotencyInProgress = 30 * time.Second

// idempotent replays the first result of a POST repeated with the same
// Idempotency-Key within 24 hours; the same key with another body is a 409.
//
// The key's record is written in the change's own transaction (store.WithIdempotency:
// the request's first transaction carries it), so the change and the record commit
// together: a repeat can never apply the change twice, whatever fails or dies between
// the commit and the response. The response is stored on the record afterwards and
// replayed from it. A record without a response means the change was applied but its
// response is not stored: a 409 idempotency-key-in-progress (Retry-After) while the
// first request may still be finishing, later a 409 idempotency-response-lost naming
// when it was applied. A request that commits nothing (a 4xx, a POST whose change is
// not a store transaction) stores its response after it is written, as before: there
// is no change to repeat. A 5xx, or an answer with Retry-After, is not stored, so a
// retry after a fault runs again; a request that committed and still answers so (a job
// whose message the queue refused, which is marked failed) releases the key for that
// retry.
func idempotent(rt Route, d *Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		idemKey := r.Header.Get(HeaderIdempotencyKey)
		if idemKey == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(idemKey) > maxIdempotencyKey {
			problem.Write(ctx, w, r, problem.Invalidf(HeaderIdempotencyKey, "must be at most %d characters", maxIdempotencyKey))
			return
		}
		limit := int64(maxBody)
		if rt.MaxBody > 0 {
			limit = rt.MaxBody
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			problem.Write(ctx, w, r, bodyError(err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		scope := rt.Pattern()
		if oc := access.From(ctx); oc != nil {
			scope = idempotencyScope(rt, oc.Org.ID)
		}
		// The request is its path (the route's parameters), query and body.
		sum := sha256.Sum256(append([]byte(r.URL.EscapedPath()+"\x00"+r.URL.RawQuery+"\x00"), body...))
		claim := &store.IdempotencyClaim{UserID: callerFrom(ctx).userID, Scope: scope, Key: idemKey,
			Fingerprint: hex.EncodeToString(sum[:]), RequestID: domain.NewID()}
		var prev store.IdempotentResult
		if pre, ok := ctx.Value(idempotencyReadKey{}).(*idempotencyRead); ok && pre.userID == claim.UserID && pre.scope == scope && pre.key == idemKey {
			prev, err = pre.result()
		} else {
			prev, err = d.Store.GetIdempotent(ctx, claim.UserID, scope, idemKey)
		}
		switch {
		case err == nil:
			replay(w, r, claim, prev, d.Store.Now())
			return
		case !errors.Is(err, store.ErrNotFound):
			problem.Write(ctx, w, r, err)
			return
		}
		before := w.Header().Clone()
		cw := &captureWriter{header: w.Header()}
		next.ServeHTTP(cw, r.WithContext(store.WithIdempotency(ctx, claim)))
		// Detached: the response is written either way, and the record must not be
		// left half-done because the client went away.
		wctx := context.WithoutCancel(ctx)
		switch {
		case claim.Taken():
			// A concurrent request with this key committed first; this one applied
			// nothing. Answer with that request's result.
			for h := range w.Header() {
				if _, ok := before[h]; !ok {
					delete(w.Header(), h)
				}
			}
			prev, err := d.Store.GetIdempotent(wctx, claim.UserID, scope, idemKey)
			if err != nil {
				problem.Write(ctx, w, r, err)
				return
			}
			replay(w, r, claim, prev, d.Store.Now())
			return
		case !final(cw) && claim.Committed():
			if err := d.Store.ReleaseIdempotent(wctx, claim.UserID, scope, idemKey, claim.RequestID); err != nil {
				slog.WarnContext(ctx, "idempotency record not released", "requestId", RequestID(ctx), "err", err.Error())
			}
		case final(cw):
			res := store.IdempotentResult{Fingerprint: claim.Fingerprint, RequestID: claim.RequestID, Status: cw.status,
				ContentType: cw.header.Get("Content-Type"), Location: cw.header.Get("Location"), Body: cw.body.String()}
			// A committed record is completed; otherwise the response is stored unless
			// another request holds the key by now. A failure here loses only the
			// replay: the response is still the truth.
			keep := func(ctx context.Context) {
				if err := d.Store.PutIdempotent(ctx, claim.UserID, scope, idemKey, res); err != nil {
					slog.WarnContext(ctx, "idempotency record not stored", "requestId", RequestID(ctx), "err", err.Error())
				}
			}
			if after := afterresponse.From(ctx); after != nil {
				// In Lambda the response goes first and the runtime holds the invocation
				// open until the record is stored; a repeat in between finds the change
				// applied and its response not yet stored (409 idempotency-key-in-progress,
				// Retry-After), as it would while the request itself still ran.
				w.WriteHeader(cw.status)
				_, _ = w.Write(cw.body.Bytes())
				after.Go(wctx, keep)
				return
			}
			keep(wctx)
		}
		w.WriteHeader(cw.status)
		_, _ = w.Write(cw.body.Bytes())
	})
}

// changes reports whether rt's requests change what the organization holds (and
// record it in its audit log): all but reads.
func changes(rt Route) bool {
	return rt.Method != http.MethodGet && rt.Method != http.MethodHead
}

// maxIdempotencyKey is the longest Idempotency-Key, in bytes.
const maxIdempotencyKey = 255

// idempotentRoute reports whether rt's requests may carry an Idempotency-Key: every
// signed-in POST.
func idempotentRoute(rt Route) bool {
	return rt.Method == http.MethodPost && rt.Permission != permission.Public
}

// idempotencyScope is what a key is unique within: the route, in the organization.
func idempotencyScope(rt Route, orgID string) string { return rt.Pattern() + " " + orgID }

// idempotencyRead is a keyed POST's record, read beside the authorization.
type idempotencyRead struct {
	userID, scope, key string
	result             func() (store.IdempotentResult, error)
}

type idempotencyReadKey struct{}

// readIdempotency starts reading the record of userID's key in scope.
func readIdempotency(ctx context.Context, d *Deps, userID, scope, key string) *idempotencyRead {
	return &idempotencyRead{userID: userID, scope: scope, key: key, result: beside(func() (store.IdempotentResult, error) {
		return d.Store.GetIdempotent(ctx, userID, scope, key)
	})}
}

// final reports whether a response is the request's result, which a repeat with the
// same key replays: not a 5xx, nor an answer that asks to try again later (Retry-After,
// such as 409 tenant-busy), which a repeat should run again for.
func final(cw *captureWriter) bool {
	return cw.status < 500 && cw.header.Get("Retry-After") == ""
}

// replay answers a keyed POST from the key's record: its first response; a 409 when
// the key came with another request; or, when the first request's change is applied
// but its response not stored, a 409 saying so.
func replay(w http.ResponseWriter, r *http.Request, claim *store.IdempotencyClaim, prev store.IdempotentResult, now time.Time) {
	ctx := r.Context()
	switch {
	case prev.Fingerprint != claim.Fingerprint:
		problem.Write(ctx, w, r, problem.Conflictf("idempotency-key-reused",
			"this Idempotency-Key was used with a different request in the last 24 hours"))
	case prev.Applied() && now.Sub(prev.CreatedAt) < idempotencyInProgress:
		pe := problem.Conflictf("idempotency-key-in-progress",
			"a request with this Idempotency-Key is being completed; repeat it in a moment for its response")
		pe.RetryAfter = 1
		problem.Write(ctx, w, r, pe)
	case prev.Applied():
		pe := problem.Conflictf("idempotency-response-lost",
			"a request with this Idempotency-Key was applied at %s, but its response was not kept; read the resource to see the result",
			prev.CreatedAt.UTC().Format(time.RFC3339))
		pe.Extra = map[string]any{"appliedAt": prev.CreatedAt.UTC()}
		problem.Write(ctx, w, r, pe)
	default:
		w.Header().Set("Content-Type", prev.ContentType)
		if prev.Location != "" {
			w.Header().Set("Location", prev.Location)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(prev.Status)
		_, _ = io.WriteString(w, prev.Body)
	}
}

type fetched struct {
	v   any
	err error
}

type fetchedKey struct{}

// presenter is fetched data that depends on who asks (tenant scope, billing rights).
// A Read may run before the caller is authorized, so it returns the raw data and the
// response is shaped here, once the caller's rights are known.
type presenter interface {
	Present(oc *access.Context) (any, error)
}

// readHandler answers a read with the data fetched early, or fetches it now when the
// organization was not known before resolving (no X-Organization-Id).
func readHandler(d *Deps, read Fetch) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		f, ok := ctx.Value(fetchedKey{}).(fetched)
		if !ok {
			f.v, f.err = read(ctx, d, r, access.From(ctx).Org.ID)
		}
		if f.err == nil {
			if p, ok := f.v.(presenter); ok {
				f.v, f.err = p.Present(access.From(ctx))
			}
		}
		if f.err != nil {
			problem.Write(ctx, w, r, f.err)
			return
		}
		write(w, http.StatusOK, f.v)
	})
}

func notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(r.Context(), w, r, problem.NotFoundf("no route for %s %s", r.Method, r.URL.Path))
	})
}
