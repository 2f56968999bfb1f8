// Command console serves the web console (GET / and GET /{proxy+} without authorizer):
// the embedded build of web/ and its sign-in configuration. It calls no AWS service.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard-msp/switchboard/functions/console/web"
	"github.com/switchboard-msp/switchboard/shared/console"
)

func main() {
	lambda.Start(httpadapter.NewV2(console.Handler(web.Dist(), console.FromEnv())).ProxyWithContext)
}
