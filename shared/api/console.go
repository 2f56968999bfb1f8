package api

// KindConsole is the Job kind of the web console: a function API Gateway starts for
// the console's paths (Job.Paths, GET, no authorizer), which serves the embedded
// single-page application and calls no AWS service. Its main.go is written by hand
// (functions/console), beside the web sources it embeds.
const KindConsole = "console"

// ConsolePaths are the API Gateway paths the console serves: the root and, as the
// least specific route, every path no API route has (API Gateway prefers the most
// specific route, so /api/... routes keep theirs).
var ConsolePaths = []string{"/", "/{proxy+}"}

// consoleJob is the web console's function.
func consoleJob() Job {
	return Job{Function: "console", Kind: KindConsole, Paths: ConsolePaths,
		Summary: "The web console: its pages, scripts and sign-in configuration"}
}
