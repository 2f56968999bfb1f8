package api

import (
	"net/http"

	"github.com/switchboard-msp/switchboard/shared/access"
	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/envelope"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/jobs"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/msgraph"
	"github.com/switchboard-msp/switchboard/shared/objects"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Deps are what handlers need. Build them once per process.
type Deps struct {
	Store    *store.Store
	Resolver *access.Resolver
	// ConsoleURL is the web console's origin, used in links.
	ConsoleURL string
	// Jobs starts long work: on the SQS queue of JOBS_QUEUE_URL (jobs/sqsqueue, wired
	// by lambdaentry.Jobs), or in this process.
	Jobs *jobs.Service
	// Objects keeps customer documents in DOCUMENTS_BUCKET (objects/s3objects, wired by
	// lambdaentry.Objects); nil answers objects.ErrNotConfigured.
	Objects objects.Bucket
	// Mail sends invitations: SES v2 in Lambda (MAIL_FROM), the outbox locally. Without
	// one, invitations are kept with status email-failed.
	Mail mail.Sender
	// Identity makes Cognito admin calls (per-organization Entra providers, global
	// sign-out; identity/cognito, wired by lambdaentry.Identity); nil where no user
	// pool is configured.
	Identity identity.Directory
	// Keys seal and open connection credentials: KMS in Lambda (lambdaentry.Keys), a
	// local key here (SWITCHBOARD_LOCAL_KEY, else one made for the process).
	Keys envelope.Keys
	// Graph reaches Entra's token endpoint and Microsoft Graph (GRAPH_AUTHORITY_URL,
	// GRAPH_BASE_URL); nil means msgraph.FromEnv on first use.
	Graph *msgraph.Client
	// PSA redirects PSA connections to other endpoints (PSA_CONNECTWISE_URL,
	// PSA_AUTOTASK_ZONE_LOOKUP_URL, PSA_HALOPSA_URL: the stand-ins); nil reads the
	// environment at each use.
	PSA *PSAEndpoints
	// Events publishes on the billing bus (BILLING_BUS_NAME); nil where no function
	// publishes.
	Events billingbus.Publisher
}

// graph is the Graph client: Deps.Graph, or the environment's (read at each use: it
// is two variables and a client over the shared transport).
func (d *Deps) graph() *msgraph.Client {
	if d.Graph != nil {
		return d.Graph
	}
	return msgraph.FromEnv()
}

// The services are interfaces (or, for jobs, a service over a Queue interface) so that
// this package links no AWS service beyond DynamoDB: each function's generated main.go
// links and starts only the clients its route's Actions name (lambdaentry.Uses).

// directory is Identity, or identity.None where no user pool is configured.
func (d *Deps) directory() identity.Directory {
	if d.Identity == nil {
		return identity.None{}
	}
	return d.Identity
}

// bucket is Objects, or objects.None where no bucket is configured.
func (d *Deps) bucket() objects.Bucket {
	if d.Objects == nil {
		return objects.None{}
	}
	return d.Objects
}

// NewDeps wires the dependencies over a store for one process that serves every route
// (the local server, tests, the bench): jobs on the in-process queue with every runner,
// a local key, Graph. The callers add what needs an AWS client of its own (Objects,
// Identity, an SQS queue), which this package does not link.
func NewDeps(st *store.Store, consoleURL string) *Deps {
	d := BaseDeps(st, consoleURL)
	d.Jobs = jobs.NewLocal(st, JobRunners())
	// A local key cannot fail to be made unless SWITCHBOARD_LOCAL_KEY is malformed,
	// which then fails every use of it with the reason.
	if keys, err := envelope.LocalFromEnv(); err == nil {
		d.Keys = keys
	} else {
		d.Keys = brokenKeys{err}
	}
	d.Graph = msgraph.FromEnv()
	return d
}

// BaseDeps are what every route needs: the table and the access resolver. A Lambda
// function adds only the services its own route uses (lambdaentry.Serve), so that it
// links and starts no other.
func BaseDeps(st *store.Store, consoleURL string) *Deps {
	d := &Deps{Store: st, Resolver: access.NewResolver(st), ConsoleURL: consoleURL}
	d.Resolver.OnSignUp = d.acceptPendingInvitations
	d.Resolver.PortalOnly = st.PortalInvitesFor
	return d
}

// Mount adds every route to mux, each wrapped in the middleware chain, and a problem
// document for unknown paths.
func Mount(mux *http.ServeMux, d *Deps, routes []Route) {
	for _, rt := range routes {
		mux.Handle(rt.Pattern(), Wrap(rt, d))
	}
	mux.Handle("/api/", notFound())
}

// Handler returns a mux with every route of the table.
func Handler(d *Deps) http.Handler {
	mux := http.NewServeMux()
	Mount(mux, d, Routes())
	return mux
}
