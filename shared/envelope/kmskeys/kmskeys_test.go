package kmskeys_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/switchboard-msp/switchboard/infra/envelopetest"
	"github.com/switchboard-msp/switchboard/infra/testenv"
	"github.com/switchboard-msp/switchboard/shared/awsconfig"
	"github.com/switchboard-msp/switchboard/shared/envelope/kmskeys"
)

// TestKMSOnMoto runs the providers' contract on moto's KMS: GenerateDataKey and Decrypt
// with an encryption context, as the cloud's key does.
func TestKMSOnMoto(t *testing.T) {
	ep := testenv.MotoEndpoint(t)
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = awsconfig.LocalCredentials()
	client := kmskeys.NewClient(cfg, ep)
	key, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("switchboard connections (test)")})
	if err != nil {
		t.Fatal(err)
	}
	envelopetest.Contract(t, kmskeys.New(client, aws.ToString(key.KeyMetadata.KeyId)))
}
