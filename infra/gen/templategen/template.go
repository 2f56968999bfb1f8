package templategen

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.yaml.in/yaml/v3"

	"github.com/switchboard-msp/switchboard/shared/api"
	"github.com/switchboard-msp/switchboard/shared/billingbus"
	"github.com/switchboard-msp/switchboard/shared/console"
	"github.com/switchboard-msp/switchboard/shared/envelope/kmskeys"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/mail"
	"github.com/switchboard-msp/switchboard/shared/permission"
	"github.com/switchboard-msp/switchboard/shared/store"
)

// Logical ids of the stack's fixed resources.
const (
	TableID            = "Table"
	UserPoolID         = "UserPool"
	IdentityProviderID = "EntraIdentityProvider"
	UserPoolClientID   = "UserPoolClient"
	UserPoolDomainID   = "UserPoolDomain"
	HTTPAPIID          = "HttpApi"
	AccessLogsID       = "HttpApiAccessLogs"
	FunctionLogsID     = "FunctionLogs"
	AuthorizerName     = "CognitoAuthorizer"
	// APIEventName names each route function's HttpApi event.
	APIEventName = "Api"
	// JobsQueueID feeds the queue worker; JobsDeadLetterQueueID keeps the messages it
	// failed QueueMaxReceiveCount times.
	JobsQueueID = "JobsQueue"
	// BillingBusID is the EventBridge bus switchboard-billing.
	BillingBusID          = "BillingBus"
	JobsDeadLetterQueueID = "JobsDeadLetterQueue"
	// DocumentsBucketID holds customer documents, uploaded from the console.
	DocumentsBucketID       = "DocumentsBucket"
	DocumentsBucketPolicyID = "DocumentsBucketPolicy"
	// ConnectionsKeyID is the KMS key that wraps the data keys of connection
	// credentials (envelope encryption, shared/envelope/kmskeys).
	ConnectionsKeyID = "ConnectionsKey"
)

// The queue worker's settings.
const (
	// WorkerTimeout is the worker function's timeout in seconds; jobs.Env.ShouldYield
	// asks runners to continue in a new invocation a minute before it.
	WorkerTimeout = 300
	// WorkerMemory (MB) holds a job's input (up to 10 MiB) and its parse comfortably.
	WorkerMemory = 1024
	// WorkerBatchSize messages reach one invocation; they run concurrently.
	WorkerBatchSize = 5
	// WorkerMaxConcurrency caps the invocations the queue drives at once.
	WorkerMaxConcurrency = 10
	// QueueVisibilityTimeout is six times the worker's timeout, as AWS advises for
	// SQS event sources: a message reappears only once its run is certainly over.
	QueueVisibilityTimeout = 6 * WorkerTimeout
	// QueueMaxReceiveCount deliveries of a message before the dead-letter queue; the
	// worker fails a job on its last (jobs.MaxAttempts = QueueMaxReceiveCount-1 runs).
	QueueMaxReceiveCount = 5
)

// A schedule's settings.
const (
	// ScheduleEventName names a schedule function's ScheduleV2 event; SAM names the
	// AWS::Scheduler::Schedule <LogicalId><ScheduleEventName> and its role after it.
	ScheduleEventName = "Schedule"
	// ScheduleTimeout is a schedule function's timeout in seconds; a run stops
	// starting work shortly before it (api.ExpireInvitations) and the next run goes on.
	ScheduleTimeout = 120
	// ScheduleMaxEventAge (seconds) is how long Scheduler keeps trying to hand a run
	// to Lambda; a run that waited longer would meet the next one.
	ScheduleMaxEventAge = 900
	// ScheduleMaxRetries are Scheduler's attempts after a failed hand-over (Lambda
	// throttling). A run that fails inside the function is retried by Lambda's
	// asynchronous invocation; runs are idempotent.
	ScheduleMaxRetries = 3
)

// BusRuleTimeout is a bus rule's timeout in seconds: one email.
const BusRuleTimeout = 30

// busRule is a bus rule's EventBridge rule on the billing bus, matching the billing
// system's events of its DetailTypes and targeting the function, and the permission
// that lets the rule invoke it.
func busRule(f Function) []kv {
	return []kv{
		{f.LogicalID() + "Rule", m("Type", "AWS::Events::Rule", "Properties", m(
			"Description", f.Job.Summary,
			"EventBusName", ref(BillingBusID),
			"EventPattern", m("source", strs(billingbus.BillingSource), "detail-type", strs(f.Job.DetailTypes...)),
			"Targets", list(m("Id", "function", "Arn", getAtt(f.LogicalID(), "Arn"))),
		))},
		{f.LogicalID() + "RulePermission", m("Type", "AWS::Lambda::Permission", "Properties", m(
			"Action", "lambda:InvokeFunction",
			"FunctionName", getAtt(f.LogicalID(), "Arn"),
			"Principal", "events.amazonaws.com",
			"SourceArn", getAtt(f.LogicalID()+"Rule", "Arn"),
		))},
	}
}

// TriggerTimeout is a Cognito trigger's timeout in seconds: Cognito waits 5 seconds
// for a trigger and fails the sign-in without its answer.
const TriggerTimeout = 5

// scheduleExpression is what EventBridge Scheduler accepts for a recurring schedule.
var scheduleExpression = regexp.MustCompile(`^(rate\(1 (minute|hour|day)\)|rate\([1-9][0-9]* (minutes|hours|days)\)|cron\([^()]+\))$`)

// WorkerMappingID is the logical id of a queue worker's event source mapping.
func (f Function) WorkerMappingID() string { return camel(f.Name) + "QueueMapping" }

// stack is what the template holds beyond the functions, which their policies and
// environment refer to.
type stack struct {
	// worker is the queue worker, when the table has one; the jobs queue exists then.
	worker *Function
	// triggers are the user pool's Lambda triggers, in function order.
	triggers []trigger
}

// trigger is one of the user pool's Lambda triggers: its LambdaConfig property (such
// as PostAuthentication) and the function it invokes.
type trigger struct {
	property string
	fn       *Function
}

// cognitoTriggers are the user pool triggers the generator wires (LambdaConfig
// properties) to the handler field the job must have.
var cognitoTriggers = map[string]func(api.Job) bool{
	api.TriggerPostAuthentication: func(j api.Job) bool { return j.PostAuthentication != nil },
	api.TriggerPreTokenGeneration: func(j api.Job) bool { return j.PreTokenGeneration != nil },
}

func stackOf(fns []Function) (stack, error) {
	var st stack
	for i, f := range fns {
		if f.Job == nil {
			continue
		}
		switch f.Job.Kind {
		case KindQueueWorker:
			if st.worker != nil {
				return stack{}, fmt.Errorf("jobs %s and %s are both queue workers; one worker runs every kind of job", st.worker.Name, f.Name)
			}
			st.worker = &fns[i]
		case KindCognitoTrigger:
			has, ok := cognitoTriggers[f.Job.Trigger]
			if !ok || !has(*f.Job) {
				return stack{}, fmt.Errorf("job %s (%s): template.yaml cannot wire its trigger %q; teach templategen.cognitoTriggers it", f.Name, f.Job.Kind, f.Job.Trigger)
			}
			for _, t := range st.triggers {
				if t.property == f.Job.Trigger {
					return stack{}, fmt.Errorf("jobs %s and %s are both the user pool's %s trigger", t.fn.Name, f.Name, f.Job.Trigger)
				}
			}
			if slices.ContainsFunc(f.Job.Actions, func(a string) bool { return strings.HasPrefix(a, "cognito-idp:") }) {
				// The pool names the function; a role or environment naming the pool
				// would be a circular dependency.
				return stack{}, fmt.Errorf("job %s: a Cognito trigger cannot call Cognito (%v): the user pool depends on the function", f.Name, f.Job.Actions)
			}
			st.triggers = append(st.triggers, trigger{f.Job.Trigger, &fns[i]})
		}
	}
	return st, nil
}

// TriggerPermissionID is the logical id of the permission that lets the user pool
// invoke a trigger function.
func (f Function) TriggerPermissionID() string { return camel(f.Name) + "Permission" }

// usesUserPool reports whether the function calls Cognito: only those get the pool's
// ids in their environment (USER_POOL_ID, USER_POOL_CLIENT_ID), so that no other
// function, the triggers the pool refers to above all, depends on the pool.
func (f Function) usesUserPool() bool {
	return slices.ContainsFunc(f.Actions(), func(a string) bool { return strings.HasPrefix(a, "cognito-idp:") })
}

// usesConnectionsKey reports whether the function calls KMS: only those get the key's
// id in their environment and the key in their policy.
func (f Function) usesConnectionsKey() bool {
	return slices.ContainsFunc(f.Actions(), func(a string) bool { return strings.HasPrefix(a, "kms:") })
}

// connectionsKey is the KMS key of connection credentials: symmetric, rotated yearly by
// KMS, kept when the stack goes (deleting it would make every sealed credential
// unreadable). Its policy lets the account's IAM policies grant its use, which the
// functions' roles do, each for the actions it needs.
func connectionsKey() om {
	return m("Type", "AWS::KMS::Key", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain", "Properties", m(
		"Description", sub("${AWS::StackName}: wraps the data keys of connection credentials"),
		"EnableKeyRotation", true,
		"KeySpec", "SYMMETRIC_DEFAULT",
		"KeyUsage", "ENCRYPT_DECRYPT",
		"KeyPolicy", m("Version", "2012-10-17", "Statement", list(m(
			"Sid", "AccountIAMPolicies",
			"Effect", "Allow",
			"Principal", m("AWS", sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
			"Action", "kms:*",
			"Resource", "*",
		))),
	))
}

// MaxFunctionNameLength keeps "<stack name>-<function>" within Lambda's 64 characters
// for stack names of up to 64-1-MaxFunctionNameLength (23) characters.
const MaxFunctionNameLength = 40

// CORSAllowHeaders are the request headers the console sends.
var CORSAllowHeaders = []string{"Authorization", "Content-Type", "X-Organization-Id", "Idempotency-Key", "X-Support-Reason"}

// logRetentionDays are the values CloudWatch Logs accepts.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Template is template.yaml for fns.
func Template(fns []Function) ([]byte, error) {
	st, err := stackOf(fns)
	if err != nil {
		return nil, err
	}
	resources := m(
		TableID, table(),
		UserPoolID, userPool(st),
		IdentityProviderID, identityProvider(),
		UserPoolClientID, userPoolClient(),
		UserPoolDomainID, m("Type", "AWS::Cognito::UserPoolDomain", "Properties", m(
			"Domain", ref("AuthDomainPrefix"),
			"UserPoolId", ref(UserPoolID),
		)),
		HTTPAPIID, httpAPI(fns),
		AccessLogsID, m("Type", "AWS::Logs::LogGroup", "DeletionPolicy", "Delete", "UpdateReplacePolicy", "Delete", "Properties", m(
			"LogGroupName", sub("/aws/vendedlogs/${AWS::StackName}/http-api"),
			"RetentionInDays", ref("LogRetentionDays"),
		)),
		// Every function logs to this one group (Lambda names each stream after its
		// function), not a group each: one group a function is a resource a function,
		// and the stack must stay under CloudFormation's 500 resources.
		FunctionLogsID, m("Type", "AWS::Logs::LogGroup", "DeletionPolicy", "Delete", "UpdateReplacePolicy", "Delete", "Properties", m(
			"LogGroupName", sub(FunctionLogGroupName),
			"RetentionInDays", ref("LogRetentionDays"),
		)),
		DocumentsBucketID, documentsBucket(),
		DocumentsBucketPolicyID, documentsBucketPolicy(),
		// The billing bus: metering publishes usage records on it, and the downstream
		// billing system its invoices and payments (shared/billingbus).
		BillingBusID, m("Type", "AWS::Events::EventBus", "Properties", m(
			"Name", sub("${AWS::StackName}-billing"),
			"Description", "Switchboard's usage records for the billing system, and its invoice and payment events",
		)),
	)
	if slices.ContainsFunc(fns, Function.usesConnectionsKey) {
		resources = append(resources, kv{ConnectionsKeyID, connectionsKey()})
	}
	env := m(
		"TABLE_NAME", ref(TableID),
		"CONSOLE_URL", ref("ConsoleUrl"),
		"SES_SENDER", ref("SesSenderIdentity"),
		mail.EnvMailFrom, ref("MailFrom"),
		"DOCUMENTS_BUCKET", ref(DocumentsBucketID),
		billingbus.EnvBusName, ref(BillingBusID),
	)
	outputs := m(
		"ApiUrl", output("Base URL of the HTTP API", sub("https://${"+HTTPAPIID+"}.execute-api.${AWS::Region}.${AWS::URLSuffix}")),
		"UserPoolId", output("Cognito user pool", ref(UserPoolID)),
		"UserPoolClientId", output("Cognito app client of the console (the JWT audience)", ref(UserPoolClientID)),
		"AuthDomain", output("Hosted UI of the user pool", sub("https://${"+UserPoolDomainID+"}.auth.${AWS::Region}.amazoncognito.com")),
		"TableName", output("DynamoDB table", ref(TableID)),
		"DocumentsBucketName", output("S3 bucket of customer documents", ref(DocumentsBucketID)),
		"BillingBusName", output("EventBridge bus of usage records (usage.recorded) and billing events", ref(BillingBusID)),
	)
	if st.worker != nil {
		resources = append(resources,
			kv{JobsDeadLetterQueueID, m("Type", "AWS::SQS::Queue", "Properties", m(
				"MessageRetentionPeriod", 1209600, // 14 days, the most SQS keeps a message
				"SqsManagedSseEnabled", true,
			))},
			kv{JobsQueueID, m("Type", "AWS::SQS::Queue", "Properties", m(
				"VisibilityTimeout", QueueVisibilityTimeout,
				"MessageRetentionPeriod", 345600, // 4 days
				"SqsManagedSseEnabled", true,
				"RedrivePolicy", m(
					"deadLetterTargetArn", getAtt(JobsDeadLetterQueueID, "Arn"),
					"maxReceiveCount", QueueMaxReceiveCount,
				),
			))},
		)
		env = append(env, kv{"JOBS_QUEUE_URL", ref(JobsQueueID)})
		outputs = append(outputs,
			kv{"JobsQueueUrl", output("SQS queue of jobs", ref(JobsQueueID))},
			kv{"JobsDeadLetterQueueUrl", output("Job messages the worker failed "+fmt.Sprint(QueueMaxReceiveCount)+" times", ref(JobsDeadLetterQueueID))},
		)
	}
	for _, f := range fns {
		if len(f.Name) > MaxFunctionNameLength {
			return nil, fmt.Errorf("function %q: name longer than %d characters", f.Name, MaxFunctionNameLength)
		}
		fn, err := function(f, st)
		if err != nil {
			return nil, err
		}
		r, err := role(f, st)
		if err != nil {
			return nil, err
		}
		resources = append(resources, kv{f.LogicalID(), fn}, kv{f.RoleID(), r})
		if f.Job != nil && f.Job.Kind == KindCognitoTrigger {
			resources = append(resources, kv{f.TriggerPermissionID(), m("Type", "AWS::Lambda::Permission", "Properties", m(
				"Action", "lambda:InvokeFunction",
				"FunctionName", getAtt(f.LogicalID(), "Arn"),
				"Principal", "cognito-idp.amazonaws.com",
				"SourceAccount", ref("AWS::AccountId"),
				"SourceArn", getAtt(UserPoolID, "Arn"),
			))})
		}
		if f.Job != nil && f.Job.Kind == KindBusRule {
			resources = append(resources, busRule(f)...)
		}
		if st.worker != nil && f.Name == st.worker.Name {
			// A plain event source mapping rather than SAM's SQS event, which would also
			// attach AWSLambdaSQSQueueExecutionRole (SQS actions on every queue) to the
			// role: the function's inline policy grants them on the jobs queue alone.
			resources = append(resources, kv{f.WorkerMappingID(), m("Type", "AWS::Lambda::EventSourceMapping", "Properties", m(
				"EventSourceArn", getAtt(JobsQueueID, "Arn"),
				"FunctionName", ref(f.LogicalID()),
				"BatchSize", WorkerBatchSize,
				"FunctionResponseTypes", strs("ReportBatchItemFailures"),
				"ScalingConfig", m("MaximumConcurrency", WorkerMaxConcurrency),
			))})
		}
	}
	tpl := m(
		"AWSTemplateFormatVersion", "2010-09-09",
		"Transform", "AWS::Serverless-2016-10-31",
		"Description", "Switchboard: the MSP control plane. One Lambda per API route behind an HTTP API with a Cognito (Entra ID) JWT authorizer, one DynamoDB table.",
		"Parameters", parameters(),
		"Globals", m("Function", m(
			"Runtime", "provided.al2023",
			"Architectures", strs("arm64"),
			"Handler", "bootstrap",
			"CodeUri", ".",
			"MemorySize", 256,
			// API Gateway gives up on an integration after 30 seconds.
			"Timeout", 29,
			"Environment", m("Variables", env),
		)),
		"Resources", resources,
		"Outputs", outputs,
	)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n# Source: shared/api.Routes and Jobs, shared/store.TableDefinition, infra/gen/templategen.\n", Generated)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(tpl); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	return b.Bytes(), nil
}

func output(desc string, value any) om { return m("Description", desc, "Value", value) }

func parameters() om {
	guid := "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
	return m(
		"ConsoleUrl", m("Type", "String",
			"Description", "Origin of the web console, without a trailing slash (CORS origin; OAuth callback and sign-out URLs are built from it)",
			"AllowedPattern", `^(https://[A-Za-z0-9.-]+|http://localhost)(:[0-9]{1,5})?$`,
			"ConstraintDescription", "an https origin such as https://console.example.com, or http://localhost:<port>"),
		"SesSenderIdentity", m("Type", "String",
			"Description", "Verified SES identity (email address or domain) that sends Switchboard's mail; functions read it as SES_SENDER",
			"AllowedPattern", `^([^@\s]+@)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`,
			"ConstraintDescription", "an email address or a domain name"),
		"MailFrom", m("Type", "String",
			"Description", "From address of Switchboard's mail (MAIL_FROM), optionally with a display name: an address of SesSenderIdentity, e.g. Switchboard <no-reply@mail.example.com>",
			"Default", "no-reply@example.com",
			"AllowedPattern", `^([^<>"@]+ <[^@\s<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+>|[^@\s<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$`,
			"ConstraintDescription", "an email address, or a display name and an address in angle brackets"),
		"EntraTenantId", m("Type", "String",
			"Description", "Directory (tenant) id of the Microsoft Entra ID tenant people sign in with",
			"AllowedPattern", guid, "ConstraintDescription", "a GUID"),
		"EntraClientId", m("Type", "String",
			"Description", "Application (client) id of the Entra app registration Cognito federates to",
			"AllowedPattern", guid, "ConstraintDescription", "a GUID"),
		"EntraClientSecretArn", m("Type", "String",
			"Description", "ARN of the Secrets Manager secret whose SecretString is the Entra app's client secret",
			"AllowedPattern", `^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$`,
			"ConstraintDescription", "a Secrets Manager secret ARN"),
		"AuthDomainPrefix", m("Type", "String",
			"Description", "Prefix of the Cognito hosted UI domain: https://<prefix>.auth.<region>.amazoncognito.com",
			"AllowedPattern", `^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`,
			"ConstraintDescription", "lowercase letters, digits and hyphens; not starting or ending with a hyphen"),
		"LogRetentionDays", m("Type", "Number",
			"Description", "Days CloudWatch Logs keeps each function's and the API's logs",
			"Default", 30,
			"AllowedValues", logRetentionDays),
	)
}

// table is the DynamoDB table, from store.TableDefinition.
func table() om {
	def := store.TableDefinition()
	keySchema := func(ks []types.KeySchemaElement) []om {
		var out []om
		for _, k := range ks {
			out = append(out, m("AttributeName", *k.AttributeName, "KeyType", string(k.KeyType)))
		}
		return out
	}
	var attrs []om
	for _, a := range def.AttributeDefinitions {
		attrs = append(attrs, m("AttributeName", *a.AttributeName, "AttributeType", string(a.AttributeType)))
	}
	var gsis []om
	for _, g := range def.GlobalSecondaryIndexes {
		proj := m("ProjectionType", string(g.Projection.ProjectionType))
		if len(g.Projection.NonKeyAttributes) > 0 {
			proj = append(proj, kv{"NonKeyAttributes", g.Projection.NonKeyAttributes})
		}
		gsis = append(gsis, m("IndexName", *g.IndexName, "KeySchema", keySchema(g.KeySchema), "Projection", proj))
	}
	props := m(
		"BillingMode", "PAY_PER_REQUEST",
		"AttributeDefinitions", attrs,
		"KeySchema", keySchema(def.KeySchema),
	)
	if len(gsis) > 0 {
		props = append(props, kv{"GlobalSecondaryIndexes", gsis})
	}
	props = append(props,
		kv{"TimeToLiveSpecification", m("AttributeName", def.TTLAttribute, "Enabled", true)},
		kv{"PointInTimeRecoverySpecification", m("PointInTimeRecoveryEnabled", true)},
		kv{"DeletionProtectionEnabled", true},
	)
	return m("Type", "AWS::DynamoDB::Table", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain", "Properties", props)
}

func userPool(st stack) om {
	custom := func(name string, maxLen int) om {
		return m("Name", name, "AttributeDataType", "String", "Mutable", true,
			"StringAttributeConstraints", m("MinLength", "0", "MaxLength", fmt.Sprint(maxLen)))
	}
	props := m(
		"UserPoolName", sub("${AWS::StackName}-users"),
		"DeletionProtection", "ACTIVE",
		"UsernameAttributes", strs("email"),
		"UsernameConfiguration", m("CaseSensitive", false),
		"AutoVerifiedAttributes", strs("email"),
		"UserAttributeUpdateSettings", m("AttributesRequireVerificationBeforeUpdate", strs("email")),
		"AccountRecoverySetting", m("RecoveryMechanisms", list(m("Name", "verified_email", "Priority", 1))),
		"MfaConfiguration", "OPTIONAL",
		"EnabledMfas", strs("SOFTWARE_TOKEN_MFA"),
		"Policies", m("PasswordPolicy", m(
			"MinimumLength", 12, "RequireLowercase", true, "RequireUppercase", true,
			"RequireNumbers", true, "RequireSymbols", true, "TemporaryPasswordValidityDays", 7,
		)),
		"Schema", list(
			m("Name", "email", "AttributeDataType", "String", "Required", true, "Mutable", true),
			custom("tid", 64),
			custom("amr", 256),
		),
	)
	if len(st.triggers) > 0 {
		var cfg om
		for _, t := range st.triggers {
			cfg = append(cfg, kv{t.property, getAtt(t.fn.LogicalID(), "Arn")})
		}
		props = append(props, kv{"LambdaConfig", cfg})
	}
	return m("Type", "AWS::Cognito::UserPool", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain", "Properties", props)
}

func identityProvider() om {
	return m("Type", "AWS::Cognito::UserPoolIdentityProvider", "Properties", m(
		"UserPoolId", ref(UserPoolID),
		"ProviderName", EntraProviderName,
		"ProviderType", "OIDC",
		"ProviderDetails", m(
			"client_id", ref("EntraClientId"),
			"client_secret", sub("{{resolve:secretsmanager:${EntraClientSecretArn}}}"),
			"attributes_request_method", "GET",
			"oidc_issuer", sub("https://login.microsoftonline.com/${EntraTenantId}/v2.0"),
			"authorize_scopes", "openid email profile",
		),
		// Entra's email_verified equivalent is the optional claim xms_edov (the email's
		// domain is verified by the tenant); the API maps a first sign-in to a user only
		// when email_verified is true.
		"AttributeMapping", m(
			"email", "email",
			"email_verified", "xms_edov",
			"name", "name",
			"custom:tid", "tid",
			"custom:amr", "amr",
		),
	))
}

func userPoolClient() om {
	return m("Type", "AWS::Cognito::UserPoolClient", "Properties", m(
		"UserPoolId", ref(UserPoolID),
		"ClientName", sub("${AWS::StackName}-console"),
		"GenerateSecret", false,
		"AllowedOAuthFlowsUserPoolClient", true,
		"AllowedOAuthFlows", strs("code"),
		"AllowedOAuthScopes", strs("openid", "email", "profile"),
		"CallbackURLs", list(sub("${ConsoleUrl}"+console.CallbackPath)),
		"LogoutURLs", list(sub("${ConsoleUrl}/")),
		// Ref makes the client depend on the provider, which must exist first.
		"SupportedIdentityProviders", list[any]("COGNITO", ref(IdentityProviderID)),
		// Tokens come only from the hosted UI's code flow, whose scopes exclude
		// aws.cognito.signin.user.admin: no token can rewrite custom:amr or custom:tid.
		"ExplicitAuthFlows", strs("ALLOW_REFRESH_TOKEN_AUTH"),
		"ReadAttributes", strs("custom:amr", "custom:tid", "email", "email_verified", "name"),
		"WriteAttributes", strs("custom:amr", "custom:tid", "email", "name"),
		"PreventUserExistenceErrors", "ENABLED",
		"EnableTokenRevocation", true,
		"IdTokenValidity", 60,
		"AccessTokenValidity", 60,
		"RefreshTokenValidity", 7,
		"TokenValidityUnits", m("IdToken", "minutes", "AccessToken", "minutes", "RefreshToken", "days"),
	))
}

func httpAPI(fns []Function) om {
	var methods []string
	for _, f := range fns {
		if f.Route != nil && !slices.Contains(methods, f.Route.Method) {
			methods = append(methods, f.Route.Method)
		}
	}
	slices.Sort(methods)
	accessLog := `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",` +
		`"routeKey":"$context.routeKey","status":"$context.status","responseLength":"$context.responseLength",` +
		`"latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage",` +
		`"authorizerError":"$context.authorizer.error"}`
	return m("Type", "AWS::Serverless::HttpApi", "Properties", m(
		"FailOnWarnings", true,
		"Auth", m(
			"DefaultAuthorizer", AuthorizerName,
			"Authorizers", m(AuthorizerName, m(
				"IdentitySource", "$request.header.Authorization",
				"JwtConfiguration", m(
					"issuer", sub("https://cognito-idp.${AWS::Region}.amazonaws.com/${"+UserPoolID+"}"),
					"audience", list(ref(UserPoolClientID)),
				),
			)),
		),
		"CorsConfiguration", m(
			"AllowOrigins", list(ref("ConsoleUrl")),
			"AllowHeaders", CORSAllowHeaders,
			"AllowMethods", methods,
			"ExposeHeaders", strs("Location", "X-Request-Id"),
			"MaxAge", 600,
		),
		"AccessLogSettings", m(
			"DestinationArn", getAtt(AccessLogsID, "Arn"),
			"Format", accessLog,
		),
	))
}

func function(f Function, st stack) (om, error) {
	desc := f.Summary()
	if f.Route != nil {
		desc = f.Route.Method + " " + f.Route.Path + ": " + desc
	}
	if len(desc) > 256 {
		desc = desc[:253] + "..."
	}
	props := m(
		"FunctionName", sub("${AWS::StackName}-"+f.Name),
		"Description", desc,
		"LoggingConfig", m("LogFormat", "JSON", "LogGroup", ref(FunctionLogsID)),
	)
	// Its own role (role), not SAM's: SAM's would also attach AWSLambdaBasicExecutionRole,
	// which grants the logs actions on every log group ("*").
	props = append(props, kv{"Role", getAtt(f.RoleID(), "Arn")})
	var vars om
	if f.usesUserPool() {
		vars = append(vars, kv{identity.EnvUserPoolID, ref(UserPoolID)}, kv{identity.EnvUserPoolClientID, ref(UserPoolClientID)})
	}
	if f.usesConnectionsKey() {
		vars = append(vars, kv{kmskeys.EnvKeyID, getAtt(ConnectionsKeyID, "Arn")})
	}
	if len(vars) > 0 {
		// Added to the Globals' variables by SAM.
		props = append(props, kv{"Environment", m("Variables", vars)})
	}
	if f.Route != nil {
		ev := m("ApiId", ref(HTTPAPIID), "Method", f.Route.Method, "Path", f.Route.Path)
		if f.Route.Permission == permission.Public {
			ev = append(ev, kv{"Auth", m("Authorizer", "NONE")})
		}
		props = append(props, kv{"Events", m(APIEventName, m("Type", "HttpApi", "Properties", ev))})
	} else if f.Job.Kind == KindQueueWorker {
		// Its trigger is the event source mapping written beside it.
		props = append(props, kv{"Timeout", WorkerTimeout}, kv{"MemorySize", WorkerMemory})
	} else if f.Job.Kind == KindSchedule {
		ev, err := scheduleEvent(*f.Job)
		if err != nil {
			return nil, err
		}
		props = append(props, kv{"Timeout", ScheduleTimeout}, kv{"Events", m(ScheduleEventName, ev)})
	} else if f.Job.Kind == KindCognitoTrigger {
		// Its trigger is the user pool's LambdaConfig, with the permission beside it.
		props = append(props, kv{"Timeout", TriggerTimeout})
	} else if f.Job.Kind == KindConsole {
		evs, err := consoleEvents(*f.Job)
		if err != nil {
			return nil, err
		}
		// The pages are public; what the browser needs to sign in is configuration.
		props = append(props, kv{"MemorySize", ConsoleMemory}, kv{"Timeout", ConsoleTimeout},
			kv{"Environment", m("Variables", m(
				console.EnvAuthDomain, sub("https://${"+UserPoolDomainID+"}.auth.${AWS::Region}.amazoncognito.com"),
				console.EnvClientID, ref(UserPoolClientID),
				console.EnvUploadOrigin, sub("https://${"+DocumentsBucketID+"}.s3.${AWS::Region}.amazonaws.com"),
			))},
			kv{"Events", evs})
	} else if f.Job.Kind == KindBusRule {
		// Its trigger is the rule on the billing bus written beside it (busRule).
		props = append(props, kv{"Timeout", BusRuleTimeout})
	} else {
		return nil, fmt.Errorf("job %s (%s): template.yaml cannot wire its trigger yet; teach templategen.function its kind", f.Name, f.Job.Kind)
	}
	return m(
		"Type", "AWS::Serverless::Function",
		"Metadata", m("BuildMethod", "makefile"),
		"Properties", props,
	), nil
}

// KindConsole is the api.Job kind of the web console.
const KindConsole = api.KindConsole

// The console function's settings: it copies embedded bytes, so the least memory
// Lambda offers is plenty, and it answers well within a few seconds.
const (
	ConsoleMemory  = 128
	ConsoleTimeout = 10
)

// ConsoleEventName is the name of the console's HttpApi event for its i-th path.
func ConsoleEventName(i int) string { return fmt.Sprintf("Page%d", i+1) }

// consoleEvents are the console's HttpApi events: GET on each of its paths, without
// the authorizer.
func consoleEvents(j api.Job) (om, error) {
	if len(j.Paths) == 0 {
		return nil, fmt.Errorf("console %s has no Paths", j.Function)
	}
	var evs om
	for i, p := range j.Paths {
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "/api/") {
			return nil, fmt.Errorf("console %s: path %q must be absolute and outside /api/", j.Function, p)
		}
		evs = append(evs, kv{ConsoleEventName(i), m("Type", "HttpApi", "Properties", m(
			"ApiId", ref(HTTPAPIID), "Method", "GET", "Path", p, "Auth", m("Authorizer", "NONE")))})
	}
	return evs, nil
}

// scheduleEvent is a schedule function's SAM ScheduleV2 event: an EventBridge
// Scheduler schedule (and the role it invokes the function with) on the job's
// expression, in UTC, on time (no flexible window). CloudFormation names the schedule
// (OmitName): SAM would name it after its logical id, which two stacks in one account
// and region would share.
func scheduleEvent(j api.Job) (om, error) {
	if !scheduleExpression.MatchString(j.Schedule) {
		return nil, fmt.Errorf("schedule %s: Schedule %q is no rate(...) or cron(...) expression", j.Function, j.Schedule)
	}
	input, err := scheduleInput(j)
	if err != nil {
		return nil, err
	}
	desc := j.Summary
	if len(desc) > 512 {
		desc = desc[:509] + "..."
	}
	return m("Type", "ScheduleV2", "Properties", m(
		"ScheduleExpression", j.Schedule,
		"Description", desc,
		"OmitName", true,
		"FlexibleTimeWindow", m("Mode", "OFF"),
		"Input", input,
		"RetryPolicy", m("MaximumEventAgeInSeconds", ScheduleMaxEventAge, "MaximumRetryAttempts", ScheduleMaxRetries),
	)), nil
}

// FunctionLogGroupName is the name of the log group every function writes to
// (LoggingConfig), under the stack's name; it must not start with "aws/".
const FunctionLogGroupName = "/switchboard/${AWS::StackName}/functions"

// LogActions are what every function's role allows on the functions' log group, where
// Lambda writes its logs: creating a stream in the group, and writing events to its own
// streams only (FunctionLogStreams), so no function writes in another's name.
var LogActions = []string{"logs:CreateLogStream", "logs:PutLogEvents"}

// FunctionLogStreams is the Fn::Sub of a function's own log streams in the shared group:
// Lambda names them YYYY/MM/DD/<function name>[<version>]<instance>, so the date is
// the only wildcard before the name.
func FunctionLogStreams(name string) string {
	return functionLogStreamsPrefix + name + "[*"
}

const functionLogStreamsPrefix = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${" + FunctionLogsID + "}:log-stream:*/${AWS::StackName}-"

// FunctionOfLogStreams is the function whose FunctionLogStreams res is, if it is one.
func FunctionOfLogStreams(res string) (string, bool) {
	name, ok := strings.CutPrefix(res, functionLogStreamsPrefix)
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, "[*")
	return name, ok && name != "" && !strings.ContainsAny(name, "*?[")
}

// DocumentsPrefix starts the key of every object in the documents bucket
// (domain.DocumentKey); object actions are granted under it only.
const DocumentsPrefix = "orgs/"

// role is a function's execution role: Lambda may assume it, and its one inline policy
// grants the function's actions (policyStatements).
func role(f Function, st stack) (om, error) {
	statements, err := policyStatements(f, st)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", f.Name, err)
	}
	return m(
		"Type", "AWS::IAM::Role",
		"Properties", m(
			"AssumeRolePolicyDocument", m("Version", "2012-10-17", "Statement", list(m(
				"Effect", "Allow",
				"Principal", m("Service", "lambda.amazonaws.com"),
				"Action", "sts:AssumeRole",
			))),
			"Policies", list(m(
				"PolicyName", "function",
				"PolicyDocument", m("Version", "2012-10-17", "Statement", statements),
			)),
		),
	), nil
}

// policyStatements grants the function's log writes on its own streams, and its
// actions on the resources of their service, never on "*": DynamoDB actions on the
// table (Query and Scan also on each of its indexes, by name), SES on the account's
// identities, Cognito on the user pool, SQS on the jobs queue, S3 on the documents
// bucket (object actions on the objects under DocumentsPrefix, ListBucket and
// GetBucket* on the bucket). An action of another service is an error until its
// resources are added here.
func policyStatements(f Function, st stack) ([]om, error) {
	out := []om{
		m("Sid", "LogStreams", "Effect", "Allow", "Action", LogActions[:1], "Resource", list[any](getAtt(FunctionLogsID, "Arn"))),
		m("Sid", "Logs", "Effect", "Allow", "Action", LogActions[1:], "Resource", list[any](sub(FunctionLogStreams(f.Name)))),
	}
	byService := map[string][]string{}
	for _, a := range f.Actions() {
		svc, name, ok := strings.Cut(a, ":")
		if !ok || name == "" || strings.ContainsAny(name, "*?") {
			return nil, fmt.Errorf("action %q is not service:Action", a)
		}
		byService[svc] = append(byService[svc], a)
	}
	services := make([]string, 0, len(byService))
	for s := range byService {
		services = append(services, s)
	}
	slices.Sort(services)
	for _, svc := range services {
		var sid string
		var resources []any
		switch svc {
		case "dynamodb":
			sid, resources = "Table", list[any](getAtt(TableID, "Arn"))
			var indexed []string
			for _, a := range byService[svc] {
				if a == "dynamodb:Query" || a == "dynamodb:Scan" {
					indexed = append(indexed, a)
				}
			}
			if len(indexed) > 0 {
				var indexes []any
				for _, g := range store.TableDefinition().GlobalSecondaryIndexes {
					indexes = append(indexes, sub("${"+TableID+".Arn}/index/"+*g.IndexName))
				}
				out = append(out, m("Sid", "Table", "Effect", "Allow", "Action", byService[svc], "Resource", resources),
					m("Sid", "TableIndexes", "Effect", "Allow", "Action", indexed, "Resource", indexes))
				continue
			}
		case "ses":
			// Every identity of the account in its region: SES authorizes a send on the
			// identity of the From address and, while the account is in the SES sandbox,
			// on each recipient's verified identity too, which no template can name.
			sid, resources = "SesSender", list[any](sub(SESIdentities))
		case "cognito-idp":
			sid, resources = "UserPool", list[any](getAtt(UserPoolID, "Arn"))
		case "kms":
			sid, resources = "ConnectionsKey", list[any](getAtt(ConnectionsKeyID, "Arn"))
		case "events":
			sid, resources = "BillingBus", list[any](getAtt(BillingBusID, "Arn"))
		case "sqs":
			if st.worker == nil {
				return nil, fmt.Errorf("sqs actions %v: no queue-worker job consumes the jobs queue; add it to api.Jobs", byService[svc])
			}
			sid, resources = "JobsQueue", list[any](getAtt(JobsQueueID, "Arn"))
		case "s3":
			var object, bucket []string
			for _, a := range byService[svc] {
				if strings.HasPrefix(a, "s3:ListBucket") || strings.HasPrefix(a, "s3:GetBucket") {
					bucket = append(bucket, a)
				} else {
					object = append(object, a)
				}
			}
			if len(object) > 0 {
				out = append(out, m("Sid", "Documents", "Effect", "Allow", "Action", object,
					"Resource", list[any](sub("${"+DocumentsBucketID+".Arn}/"+DocumentsPrefix+"*"))))
			}
			if len(bucket) > 0 {
				out = append(out, m("Sid", "DocumentsBucket", "Effect", "Allow", "Action", bucket,
					"Resource", list[any](getAtt(DocumentsBucketID, "Arn"))))
			}
			continue
		default:
			return nil, fmt.Errorf("no resources known for %s actions (%v); add them to templategen.policyStatements", svc, byService[svc])
		}
		out = append(out, m("Sid", sid, "Effect", "Allow", "Action", byService[svc], "Resource", resources))
	}
	return out, nil
}

// SESIdentities is the resource of the SES statement: every identity of the account in
// the stack's region (see policyStatements).
const SESIdentities = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"

// documentsBucket keeps customer documents: private (no ACLs, every public access
// blocked, TLS only through its policy), encrypted, uploaded from the console with
// presigned PUTs, and rid of the parts of uploads never completed.
func documentsBucket() om {
	return m("Type", "AWS::S3::Bucket", "DeletionPolicy", "Retain", "UpdateReplacePolicy", "Retain", "Properties", m(
		"BucketEncryption", m("ServerSideEncryptionConfiguration", list(m(
			"ServerSideEncryptionByDefault", m("SSEAlgorithm", "AES256"),
			"BucketKeyEnabled", true,
		))),
		"PublicAccessBlockConfiguration", m(
			"BlockPublicAcls", true,
			"BlockPublicPolicy", true,
			"IgnorePublicAcls", true,
			"RestrictPublicBuckets", true,
		),
		"OwnershipControls", m("Rules", list(m("ObjectOwnership", "BucketOwnerEnforced"))),
		"CorsConfiguration", m("CorsRules", list(m(
			"AllowedMethods", strs("PUT"),
			"AllowedOrigins", list(ref("ConsoleUrl")),
			"AllowedHeaders", strs("*"),
			"ExposedHeaders", strs("ETag"),
			"MaxAge", 3000,
		))),
		"LifecycleConfiguration", m("Rules", list(m(
			"Id", "AbortIncompleteUploads",
			"Status", "Enabled",
			"AbortIncompleteMultipartUpload", m("DaysAfterInitiation", 1),
		))),
	))
}

// documentsBucketPolicy refuses every request to the bucket that is not over TLS.
func documentsBucketPolicy() om {
	return m("Type", "AWS::S3::BucketPolicy", "Properties", m(
		"Bucket", ref(DocumentsBucketID),
		"PolicyDocument", m(
			"Version", "2012-10-17",
			"Statement", list(m(
				"Sid", "DenyInsecureTransport",
				"Effect", "Deny",
				"Principal", "*",
				"Action", "s3:*",
				"Resource", list[any](getAtt(DocumentsBucketID, "Arn"), sub("${"+DocumentsBucketID+".Arn}/*")),
				"Condition", m("Bool", m("aws:SecureTransport", "false")),
			)),
		),
	))
}
