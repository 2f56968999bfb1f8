package templategen

import (
	"bytes"
	"crypto/md5" // SQS names a body by its MD5 in md5OfBody
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/lambdaentry"
	"github.com/switchboard-msp/switchboard/shared/permission"
)

// The sample caller of every event: a user federated from Microsoft Entra ID, signed
// in with MFA, whose verified email makes the first request create their user and a
// default organization. SampleOrgID is the organization the events name (in a path,
// the X-Organization-Id header or a body); tests create it, owned by this user.
const (
	SampleSubject     = "6f1c2d3e-4b5a-4c6d-9e8f-0a1b2c3d4e5f"
	SampleEmail       = "alex.rivera@example.com"
	SampleName        = "Alex Rivera"
	SampleEntraTenant = "11111111-2222-3333-4444-555555555555"
	SampleOrgID       = "sample-org"
	SampleClientID    = "4example0app0client0id0000"
	SampleUserPool    = "us-east-1_EXAMPLE01"
	SampleSourceIP    = "203.0.113.10"
	SampleUserAgent   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	sampleAPIID       = "a1b2c3d4e5"
	sampleAuthTime    = 1700000000
)

// EntraProviderName is the Cognito identity provider of Microsoft Entra ID; tokens of
// users it federates name it in their identities claim.
const EntraProviderName = "EntraID"

// SampleClaims are the sample caller's ID token claims as API Gateway's JWT authorizer
// hands them to the function: every value a string, arrays written "[a b]" and
// objects "map[k:v]" (observed, not documented, behaviour), numbers in decimal.
func SampleClaims() map[string]string {
	return map[string]string{
		"aud":              SampleClientID,
		"auth_time":        fmt.Sprint(sampleAuthTime),
		"amr":              "[mfa]",
		"cognito:username": EntraProviderName + "_" + SampleSubject,
		"custom:tid":       SampleEntraTenant,
		"email":            SampleEmail,
		"email_verified":   "true",
		"event_id":         "0b9f7c3a-5d2e-4f1a-8c6b-3e2d1f0a9b8c",
		"exp":              fmt.Sprint(sampleAuthTime + 3600),
		"iat":              fmt.Sprint(sampleAuthTime),
		"identities": "[map[dateCreated:1699990000000 issuer:https://login.microsoftonline.com/" + SampleEntraTenant +
			"/v2.0 primary:true providerName:" + EntraProviderName + " providerType:OIDC userId:" + SampleSubject + "]]",
		"iss":        "https://cognito-idp.us-east-1.amazonaws.com/" + SampleUserPool,
		"jti":        "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f7a",
		"name":       SampleName,
		"origin_jti": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
		"sub":        SampleSubject,
		"token_use":  "id",
	}
}

// Sample objects the events name besides those of SampleParam: the duplicate customer
// the merge event merges into SampleParam("customerId"), and the Entra id of the
// tenant SampleParam("tenantId") (which its update event keeps).
const (
	SampleDuplicateCustomerID = "sample-duplicate-customer"
	SampleManagedTenant       = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
)

// sampleFiles are the request bodies of routes that take a file rather than JSON, with
// their content type.
var sampleFiles = map[string]struct{ ContentType, Body string }{
	"customers-import": {"text/csv", "Customer Name,Primary Contact,Primary Contact Email,Phone,External ID\r\n" +
		"Fabrikam Inc.,Dana Lee,dana.lee@fabrikam.example,+1 (555) 234-5678,FAB-1001\r\n" +
		"Northwind Traders,Sam Patel,sam.patel@northwind.example,+1 (555) 345-6789,NWT-2002\r\n"},
}

// SampleInvitationToken is the accept token of the sample invitation that the
// invitation events send (its invitation is seeded by the tests that invoke them).
const SampleInvitationToken = "c2FtcGxlLWludml0YXRpb24tdG9rZW4tMDAwMDAwMDA"

// sampleQueries are the query strings of events whose route reads one.
var sampleQueries = map[string]string{
	"platform-users-access":  "permission=manage-users&tenantId=" + SampleParam("tenantId"),
	"sub-organizations-list": "q=north&limit=25",
	"license-orders-list":    "status=pending&limit=25",
	"approvals-list":         "status=pending",
	"audit-log-list":         "category=settings&limit=25",
	"audit-log-export":       "format=csv&category=settings&from=2020-01-01T00:00:00Z",
}

// sampleBodies are the request bodies of the events of PUT and POST routes, as the
// console sends them. A route without one gets an empty object.
var sampleBodies = map[string]any{
	"customers-create": map[string]any{
		"name": "Fabrikam Inc.", "primaryContactName": "Dana Lee", "primaryContactEmail": "dana.lee@fabrikam.example",
		"phone": "+1 (555) 234-5678", "address": "200 Fabrikam Way, Seattle, WA 98101", "notes": "Onboarded with two tenants",
		"externalId": "FAB-1001",
		"psaLinks":   []any{map[string]any{"connectionId": "connectwise-main", "type": "connectwise", "externalId": "1001"}},
	},
	"customers-update": map[string]any{
		"name": "Sample Customer Ltd", "primaryContactName": "Jordan Smith", "primaryContactEmail": "jordan.smith@sample-customer.example",
		"phone": "+1 (555) 456-7890", "archived": false,
	},
	"customers-tenants-associate": map[string]any{"tenantId": SampleParam("tenantId")},
	"customers-merge":             map[string]any{"sourceCustomerId": SampleDuplicateCustomerID},
	"customers-contacts-create": map[string]any{
		"name": "Riley Chen", "email": "riley.chen@sample-customer.example", "phone": "+1 (555) 567-8901",
		"title": "Operations Manager", "notes": "Call after 30 minutes without an answer from IT",
	},
	"customers-contacts-update": map[string]any{
		"name": "Jordan Smith", "email": "jordan.smith@sample-customer.example", "phone": "+1 (555) 456-7890",
		"title": "Head of IT", "escalationOrder": 1,
	},
	"customers-tickets-create": map[string]any{
		"subject": "Outlook keeps asking for a password", "description": "Since this morning, for everyone in the Berlin office.",
		"priority": "high",
	},
	"customers-tickets-update": map[string]any{
		"subject": "Outlook keeps asking for a password", "description": "Conditional access policy fixed; monitoring.",
		"status": "resolved", "priority": "high",
	},
	"customers-documents-create": map[string]any{"name": "Network diagram.pdf", "contentType": "application/pdf", "size": 482133},
	"customers-users-create": map[string]any{
		"email": "diego.siciliani@sample-customer.example", "name": "Diego Siciliani", "jobTitle": "Buyer", "role": "Manager",
		"portalAccess": true,
	},
	"customers-users-update": map[string]any{
		"email": "lynne.robbins@sample-customer.example", "name": "Lynne Robbins", "jobTitle": "Controller", "role": "Admin",
		"portalAccess": false,
	},
	"customers-users-training-assign": map[string]any{"course": "Phishing awareness", "url": "https://learn.example/phishing",
		"dueAt": "2027-01-31T00:00:00Z"},
	"customers-users-import": map[string]any{"source": "csv",
		"csv": "Email,Name,Job Title,Role\r\nalan.steiner@sample-customer.example,Alan Steiner,CFO,Manager\r\n"},
	"portal-invitations-accept": map[string]any{"token": SamplePortalToken},
	"portal-tickets-create": map[string]any{"subject": "Printer on fire", "description": "Third floor, next to the kitchen.",
		"priority": "high"},
	"portal-users-create": map[string]any{"email": "megan.bowen@sample-customer.example", "name": "Megan Bowen", "role": "User"},
	"portal-users-update": map[string]any{"email": "lynne.robbins@sample-customer.example", "name": "Lynne Robbins",
		"jobTitle": "Controller", "role": "Manager"},
	"tenants-create": map[string]any{
		"entraTenantId": "8c2f0d4e-6b1a-4f3c-9d7e-2a5b8c1d0e3f", "primaryDomain": "fabrikam.onmicrosoft.com",
		"displayName": "Fabrikam", "licensedUsers": 45,
		"licenses":      []any{map[string]any{"sku": "O365_BUSINESS_PREMIUM", "assigned": 45}},
		"securityScore": 68.5, "health": "warning",
	},
	"tenants-update": map[string]any{
		"entraTenantId": SampleManagedTenant, "primaryDomain": "samplecustomer.onmicrosoft.com",
		"displayName": "Sample Customer (production)", "licensedUsers": 120,
		"licenses":      []any{map[string]any{"sku": "SPE_E3", "assigned": 100}, map[string]any{"sku": "EMS", "assigned": 20}},
		"securityScore": 81, "health": "healthy",
	},
	"platform-users-invite": map[string]any{
		"email": "jamie.lee@example.com", "displayName": "Jamie Lee", "role": "Technician",
		"tenantAccess": map[string]any{"mode": "selected", "tenantIds": []any{SampleParam("tenantId")}},
	},
	"platform-users-update": map[string]any{
		"role": "Custom", "permissions": []any{"view-data", "manage-users"},
		"tenantAccess": map[string]any{"mode": "all-except", "tenantIds": []any{SampleParam("tenantId")}},
	},
	"invitations-lookup": map[string]any{"token": SampleInvitationToken},
	"invitations-accept": map[string]any{"token": SampleInvitationToken},
	"authentication-put": map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 240},
	"authentication-sso-put": map[string]any{
		"entraTenantId": "11111111-2222-3333-4444-555555555555", "clientId": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
		"clientSecret": "sample-client-secret-value", "domains": []any{"contoso.example"},
	},
	"me-active-organization-put": map[string]any{"organizationId": SampleOrgID},
	"sub-organizations-create": map[string]any{
		"companyName": "Northwind Traders", "phone": "+1 (555) 345-6789", "email": "northwind-admin@contoso.example",
		"confirmEmail": "northwind-admin@contoso.example", "firstName": "Sam", "lastName": "Patel",
	},
	"organizations-create": map[string]any{"name": "Northwind IT Services"},
	"billing-plan-put":     map[string]any{"plan": "professional"},
	"license-orders-create": map[string]any{
		"tenantId": SampleParam("tenantId"), "sku": "SPE_E3", "quantity": 5, "note": "Five new starters in the Berlin office on Monday",
	},
	"license-orders-reject": map[string]any{"reason": "Reassign the licenses of the five leavers instead"},
	"approvals-reject":      map[string]any{"reason": "The customer still has an open invoice; keep its record"},
	"organizations-rename":  map[string]any{"name": "Contoso Managed Services"},
	"connections-create": map[string]any{
		"type": "m365", "label": "Sample Customer Graph app", "tenantId": SampleParam("tenantId"),
		"credentials": map[string]any{"clientId": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d", "clientSecret": "sample~client.secret_value-0123"},
	},
	"connections-update": map[string]any{
		"label":       "Sample Customer Graph app (rotated)",
		"credentials": map[string]any{"clientId": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d", "clientSecret": "sample~rotated.secret_value-4567"},
	},
	"profile-put": map[string]any{
		"companyName":         "Contoso Managed Services LLC",
		"displayName":         "Contoso MSP",
		"address":             "1 Microsoft Way, Redmond, WA 98052",
		"phone":               "+1 (555) 123-4567",
		"primaryContactEmail": "ops@contoso.example",
		"website":             "https://contoso.example",
		"taxId":               "12-3456789",
		"timeZone":            "America/Los_Angeles",
		"dateFormat":          "US",
		"currency":            "USD",
		"language":            "en-US",
		"billingContact":      map[string]any{"name": "Pat Kim", "email": "billing@contoso.example", "phone": "+1 (555) 987-6543"},
		"authentication":      map[string]any{"entraSsoEnabled": true, "requireMfa": true, "sessionTimeoutMinutes": 480},
	},
}

// SampleParam is the value an event gives a path parameter: orgId is SampleOrgID,
// customerId is "sample-customer".
func SampleParam(name string) string {
	switch name {
	case "orgId":
		return SampleOrgID
	case "step":
		return "company-users" // an onboarding step's name, not an id
	}
	base := strings.TrimSuffix(name, "Id")
	var b strings.Builder
	b.WriteString("sample-")
	for i, r := range base {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// httpEvent is API Gateway's HTTP API payload format 2.0, in the field order AWS
// documents it.
type httpEvent struct {
	Version         string            `json:"version"`
	RouteKey        string            `json:"routeKey"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Headers         map[string]string `json:"headers"`
	PathParameters  map[string]string `json:"pathParameters,omitempty"`
	RequestContext  requestContext    `json:"requestContext"`
	Body            string            `json:"body,omitempty"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	Authorizer   *authorizer `json:"authorizer,omitempty"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         httpDetails `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

type authorizer struct {
	JWT jwtAuthorizer `json:"jwt"`
}

type jwtAuthorizer struct {
	Claims map[string]string `json:"claims"`
	// Scopes is null for an ID token, which has no scope claim.
	Scopes []string `json:"scopes"`
}

type httpDetails struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// Event is events/<name>.json: the request API Gateway sends the route's function, as
// the console would make it.
func Event(rt api.Route) ([]byte, error) {
	path := rt.Path
	var params map[string]string
	for _, p := range rt.PathParams() {
		if params == nil {
			params = map[string]string{}
		}
		params[p] = SampleParam(p)
		path = strings.Replace(path, "{"+p+"}", params[p], 1)
	}
	domain := sampleAPIID + ".execute-api.us-east-1.amazonaws.com"
	sum := sha256.Sum256([]byte(rt.Function))
	ev := httpEvent{
		Version:        "2.0",
		RouteKey:       rt.Pattern(),
		RawPath:        path,
		RawQueryString: sampleQueries[rt.Function],
		Headers: map[string]string{
			"accept":            "application/json",
			"accept-encoding":   "gzip, deflate, br",
			"accept-language":   "en-US,en;q=0.9",
			"host":              domain,
			"origin":            "https://console.example.com",
			"user-agent":        SampleUserAgent,
			"x-amzn-trace-id":   fmt.Sprintf("Root=1-6553f100-%x", sum[:12]),
			"x-forwarded-for":   SampleSourceIP,
			"x-forwarded-port":  "443",
			"x-forwarded-proto": "https",
		},
		PathParameters: params,
		RequestContext: requestContext{
			AccountID:    "123456789012",
			APIID:        sampleAPIID,
			DomainName:   domain,
			DomainPrefix: sampleAPIID,
			HTTP: httpDetails{Method: rt.Method, Path: path, Protocol: "HTTP/1.1",
				SourceIP: SampleSourceIP, UserAgent: SampleUserAgent},
			RequestID: base64.StdEncoding.EncodeToString(sum[:10]),
			RouteKey:  rt.Pattern(),
			Stage:     "$default",
			Time:      "14/Nov/2023:22:13:20 +0000",
			TimeEpoch: sampleAuthTime * 1000,
		},
	}
	if rt.Permission != permission.Public {
		ev.RequestContext.Authorizer = &authorizer{JWT: jwtAuthorizer{Claims: SampleClaims()}}
	}
	if rt.OrgScoped() && rt.OrgParam == "" {
		ev.Headers[strings.ToLower(api.HeaderOrganization)] = SampleOrgID
	}
	if rt.Method == http.MethodPut || rt.Method == http.MethodPost || rt.Method == http.MethodPatch {
		if file, ok := sampleFiles[rt.Function]; ok {
			ev.Body = file.Body
			ev.Headers["content-type"] = file.ContentType
		} else {
			body, ok := sampleBodies[rt.Function]
			if !ok {
				body = map[string]any{}
			}
			raw, err := json.Marshal(body)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", rt.Function, err)
			}
			ev.Body = string(raw)
			ev.Headers["content-type"] = "application/json"
		}
		ev.Headers["content-length"] = fmt.Sprint(len(ev.Body))
		if rt.Method == http.MethodPost && rt.Permission != permission.Public {
			ev.Headers[strings.ToLower(api.HeaderIdempotencyKey)] = fmt.Sprintf("%x", sum[:16])
		}
	}
	return sampleJSON(rt.Function, ev)
}

// SamplePortalToken is the secret of the portal invitation the sample accept event
// carries (tests seed its company user; it is no real secret).
const SamplePortalToken = "c2FtcGxlLXBvcnRhbC1pbnZpdGF0aW9uLXRva2VuLTA"

// SampleJobID is the job the worker's sample event names (SampleParam("jobId")).
const SampleJobID = "sample-job"

// sqsRecord is one record of an SQS event as Lambda delivers it, in the order AWS
// documents it.
type sqsRecord struct {
	MessageID              string            `json:"messageId"`
	ReceiptHandle          string            `json:"receiptHandle"`
	Body                   string            `json:"body"`
	Attributes             map[string]string `json:"attributes"`
	MessageAttributes      map[string]any    `json:"messageAttributes"`
	MD5OfMessageAttributes *string           `json:"md5OfMessageAttributes"`
	MD5OfBody              string            `json:"md5OfBody"`
	EventSource            string            `json:"eventSource"`
	EventSourceARN         string            `json:"eventSourceARN"`
	AWSRegion              string            `json:"awsRegion"`
}

// WorkerEvent is events/<name>.json of a queue worker: the SQS batch the event source
// mapping hands it, one message naming SampleJobID of SampleOrgID.
func WorkerEvent(j api.Job) ([]byte, error) {
	body := `{"organizationId":"` + SampleOrgID + `","jobId":"` + SampleJobID + `"}`
	sum := sha256.Sum256([]byte(j.Function))
	rec := sqsRecord{
		MessageID:     fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		ReceiptHandle: "AQEB" + base64.RawStdEncoding.EncodeToString(sum[:]),
		Body:          body,
		Attributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    fmt.Sprint(sampleAuthTime * 1000),
			"SenderId":                         "AROAEXAMPLEROLEID:switchboard-jobs-start",
			"ApproximateFirstReceiveTimestamp": fmt.Sprint(sampleAuthTime*1000 + 120),
		},
		MessageAttributes: map[string]any{},
		MD5OfBody:         fmt.Sprintf("%x", md5.Sum([]byte(body))),
		EventSource:       "aws:sqs",
		EventSourceARN:    "arn:aws:sqs:us-east-1:123456789012:switchboard-JobsQueue-EXAMPLE",
		AWSRegion:         "us-east-1",
	}
	return sampleJSON(j.Function, map[string][]sqsRecord{"Records": {rec}})
}

// scheduleInput is the payload of a schedule's target: its ScheduleEvent, each value
// but the schedule's name one of EventBridge Scheduler's context attributes, which
// Scheduler replaces on every invocation.
func scheduleInput(j api.Job) (string, error) {
	raw, err := marshalCompact(lambdaentry.ScheduleEvent{
		Schedule:      j.Function,
		ScheduleARN:   "<aws.scheduler.schedule-arn>",
		ScheduledTime: "<aws.scheduler.scheduled-time>",
		ExecutionID:   "<aws.scheduler.execution-id>",
		AttemptNumber: "<aws.scheduler.attempt-number>",
	})
	if err != nil {
		return "", fmt.Errorf("schedule %s input: %w", j.Function, err)
	}
	return string(raw), nil
}

// ScheduleSampleEvent is events/<name>.json of a schedule: the payload its target
// sends (scheduleInput) as Scheduler fills it in for the first attempt of a run.
func ScheduleSampleEvent(j api.Job) ([]byte, error) {
	sum := sha256.Sum256([]byte(j.Function))
	ev := lambdaentry.ScheduleEvent{
		Schedule: j.Function,
		// SAM's schedule, without a name (OmitName), is named by CloudFormation.
		ScheduleARN:   "arn:aws:scheduler:us-east-1:123456789012:schedule/default/switchboard-" + camel(j.Function) + "FunctionSchedule-EXAMPLE",
		ScheduledTime: time.Unix(sampleAuthTime, 0).UTC().Truncate(15 * time.Minute).Format(time.RFC3339),
		ExecutionID:   fmt.Sprintf("%x", sum[:8]),
		AttemptNumber: "1",
	}
	return sampleJSON(j.Function, ev)
}

// marshalCompact is json.Marshal without HTML escaping (Scheduler's attributes are
// written <aws.scheduler.…>).
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// TriggerEvent is events/<name>.json of a Cognito trigger: the event its Trigger sends.
func TriggerEvent(j api.Job) ([]byte, error) {
	if j.Trigger == api.TriggerPreTokenGeneration {
		return PreTokenGenerationEvent(j)
	}
	return PostAuthenticationEvent(j)
}

// PreTokenGenerationEvent is events/<name>.json of the Pre Token Generation trigger:
// the event Cognito sends it before issuing the sample caller's tokens at sign-in.
func PreTokenGenerationEvent(j api.Job) ([]byte, error) {
	ev := events.CognitoEventUserPoolsPreTokenGen{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{
			Version:       "1",
			TriggerSource: "TokenGeneration_Authentication",
			Region:        "us-east-1",
			UserPoolID:    SampleUserPool,
			CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: SampleClientID},
			UserName:      EntraProviderName + "_" + SampleSubject,
		},
		Request: events.CognitoEventUserPoolsPreTokenGenRequest{
			UserAttributes: map[string]string{
				"sub":                 SampleSubject,
				"cognito:user_status": "EXTERNAL_PROVIDER",
				"email":               SampleEmail,
				"email_verified":      "true",
				"name":                SampleName,
			},
			GroupConfiguration: events.GroupConfiguration{},
			ClientMetadata:     map[string]string{},
		},
	}
	return sampleJSON(j.Function, ev)
}

// PostAuthenticationEvent is events/<name>.json of the Post Authentication trigger:
// the event Cognito sends it after the sample caller (federated from Entra ID, as in
// SampleClaims) signed in through the console's app client.
func PostAuthenticationEvent(j api.Job) ([]byte, error) {
	identities, err := marshalCompact([]map[string]any{{
		"dateCreated": "1699990000000", "userId": SampleSubject, "providerName": EntraProviderName,
		"providerType": "OIDC", "issuer": nil, "primary": "true",
	}})
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", j.Function, err)
	}
	ev := events.CognitoEventUserPoolsPostAuthentication{
		CognitoEventUserPoolsHeader: events.CognitoEventUserPoolsHeader{
			Version:       "1",
			TriggerSource: "PostAuthentication_Authentication",
			Region:        "us-east-1",
			UserPoolID:    SampleUserPool,
			CallerContext: events.CognitoEventUserPoolsCallerContext{AWSSDKVersion: "aws-sdk-unknown-unknown", ClientID: SampleClientID},
			UserName:      EntraProviderName + "_" + SampleSubject,
		},
		Request: events.CognitoEventUserPoolsPostAuthenticationRequest{
			NewDeviceUsed: false,
			UserAttributes: map[string]string{
				"sub":                 SampleSubject,
				"cognito:user_status": "EXTERNAL_PROVIDER",
				"email":               SampleEmail,
				"email_verified":      "true",
				"name":                SampleName,
				"custom:tid":          SampleEntraTenant,
				"custom:amr":          `["pwd","mfa"]`,
				"identities":          string(identities),
			},
			ClientMetadata: map[string]string{},
		},
	}
	return sampleJSON(j.Function, ev)
}

// sampleJSON is the text of a sample event: indented JSON without HTML escaping, as
// AWS documents its events.
func sampleJSON(function string, v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("event %s: %w", function, err)
	}
	return b.Bytes(), nil
}

// BusRuleEvent is events/<name>.json of a bus rule: the billing system's invoice.issued
// for the sample organization, as EventBridge delivers it to the rule's target.
func BusRuleEvent(j api.Job) ([]byte, error) {
	detail, err := json.Marshal(billingbus.InvoiceEvent{OrganizationID: SampleOrgID, InvoiceID: "INV-2026-0042", Amount: "249.00",
		Currency: "EUR", PeriodStart: "2026-10-01T00:00:00Z", PeriodEnd: "2026-11-01T00:00:00Z", DueDate: "2026-11-30",
		URL: "https://billing.example.com/invoices/INV-2026-0042"})
	if err != nil {
		return nil, err
	}
	return sampleJSON(j.Function, events.CloudWatchEvent{Version: "0", ID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", DetailType: j.DetailTypes[0],
		Source: billingbus.BillingSource, AccountID: "123456789012", Time: time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
		Region: "us-east-1", Resources: []string{}, Detail: detail})
}
