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
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/switchboard-msp/switchboard/shared/access"
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

// Wrap puts a route's handler behind the checks, in the fixed order: 401, 404, 403;
// the handler then validates (400) and checks state (409/412).
func Wrap(rt Route, d *Deps) http.Handler {
	var h http.Handler
	if rt.Read != nil {
		h = readHandler(d, rt.Read)
	} else {
		h = rt.Handler(d)
	}
	if rt.Method == http.MethodPost && rt.Permission != permission.Public {
		h = idempotent(rt, d, h)
	}
	if rt.OrgScoped() {
		h = organization(rt, d, h)
	}
	if rt.Permission != permission.Public {
		h = authenticate(d, h)
	}
	return logged(rt, h)
}

type requestIDKey struct{}

// logFields is filled in by inner middleware for the request's log line.
type logFields struct{ organizationID string }

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
// The session's activity is written concurrently with the handler's work.
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
		oc, touch, err := d.Resolver.Organization(ctx, cl.principal, cl.userID, requested)
		if err != nil {
			problem.Write(ctx, w, r, err)
			return
		}
		if f, ok := ctx.Value(logFieldsKey{}).(*logFields); ok {
			f.organizationID = oc.Org.ID
		}
		if !oc.Can(rt.Permission) {
			problem.Write(ctx, w, r, problem.New(problem.Forbidden, "forbidden",
				"your role ("+string(oc.Role())+") does not allow: "+permission.Describe(rt.Permission)))
			return
		}
		if early != nil && oc.Org.ID == requested {
			ctx = context.WithValue(ctx, fetchedKey{}, <-early)
		}
		var wg sync.WaitGroup
		if touch != nil {
			wg.Add(1)
			// Detached from cancellation so a finished response does not abort the write;
			// waited for below so Lambda does not freeze it half-done.
			go func() {
				defer wg.Done()
				if err := touch(context.WithoutCancel(ctx)); err != nil {
					slog.WarnContext(ctx, "session activity not recorded", "requestId", RequestID(ctx), "err", err.Error())
				}
			}()
		}
		next.ServeHTTP(w, r.WithContext(access.With(ctx, oc)))
		wg.Wait()
	})
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

// idempotent replays the first result of a POST repeated with the same
// Idempotency-Key within 24 hours; the same key with another body is a 409.
func idempotent(rt Route, d *Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		idemKey := r.Header.Get(HeaderIdempotencyKey)
		if idemKey == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(idemKey) > 255 {
			problem.Write(ctx, w, r, problem.Invalidf(HeaderIdempotencyKey, "must be at most 255 characters"))
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
			scope += " " + oc.Org.ID
		}
		sum := sha256.Sum256(append([]byte(r.URL.RawQuery+"\x00"), body...))
		fingerprint := hex.EncodeToString(sum[:])
		userID := callerFrom(ctx).userID
		prev, err := d.Store.GetIdempotent(ctx, userID, scope, idemKey)
		switch {
		case err == nil && prev.Fingerprint != fingerprint:
			problem.Write(ctx, w, r, problem.Conflictf("idempotency-key-reused",
				"this Idempotency-Key was used with a different request in the last 24 hours"))
			return
		case err == nil:
			w.Header().Set("Content-Type", prev.ContentType)
			if prev.Location != "" {
				w.Header().Set("Location", prev.Location)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.Status)
			_, _ = io.WriteString(w, prev.Body)
			return
		case !errors.Is(err, store.ErrNotFound):
			problem.Write(ctx, w, r, err)
			return
		}
		cw := &captureWriter{header: w.Header()}
		next.ServeHTTP(cw, r)
		if cw.status < 500 {
			res := store.IdempotentResult{Fingerprint: fingerprint, Status: cw.status,
				ContentType: cw.header.Get("Content-Type"), Location: cw.header.Get("Location"), Body: cw.body.String()}
			if err := d.Store.PutIdempotent(ctx, userID, scope, idemKey, res); err != nil {
				slog.WarnContext(ctx, "idempotency record not stored", "requestId", RequestID(ctx), "err", err.Error())
			}
		}
		w.WriteHeader(cw.status)
		_, _ = w.Write(cw.body.Bytes())
	})
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
