// Package kmskeys is envelope.Keys on AWS KMS: data keys from GenerateDataKey under the
// connections key, unwrapped by Decrypt, with the encryption context KMS binds to them
// (and logs in CloudTrail). Only the functions whose actions name kms: link it.
package kmskeys

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/switchboard-msp/switchboard/shared/envelope"
)

// Environment variables.
const (
	// EnvKeyID is the KMS key (id, ARN or alias) that wraps connection credentials;
	// template.yaml sets it on the functions that use it.
	EnvKeyID = "CONNECTIONS_KEY_ID"
	// EnvEndpoint points the client at moto's KMS in tests.
	EnvEndpoint = "KMS_ENDPOINT"
)

// KMS is envelope.Keys on one KMS key.
type KMS struct {
	client *kms.Client
	keyID  string
}

var _ envelope.Keys = (*KMS)(nil)

// New is KMS on keyID through client.
func New(client *kms.Client, keyID string) *KMS { return &KMS{client: client, keyID: keyID} }

// NewClient is a KMS client of cfg, at endpoint when set (moto).
func NewClient(cfg aws.Config, endpoint string) *kms.Client {
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// Connect is KMS on CONNECTIONS_KEY_ID (KMS_ENDPOINT when set); without a key id it
// is an error, so a function that needs the key fails at start rather than at a call.
func Connect(cfg aws.Config) (envelope.Keys, error) {
	id := os.Getenv(EnvKeyID)
	if id == "" {
		return nil, fmt.Errorf("%s is not set", EnvKeyID)
	}
	return New(NewClient(cfg, os.Getenv(EnvEndpoint)), id), nil
}

// Provider is "kms".
func (k *KMS) Provider() string { return "kms" }

// GenerateDataKey asks KMS for an AES-256 data key bound to encCtx.
func (k *KMS) GenerateDataKey(ctx context.Context, encCtx map[string]string) ([]byte, []byte, string, error) {
	out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(k.keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: encCtx,
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("kms generate data key: %w", err)
	}
	return out.Plaintext, out.CiphertextBlob, aws.ToString(out.KeyId), nil
}

// Decrypt asks KMS to unwrap a data key, naming the key it must have been wrapped by.
func (k *KMS) Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId: aws.String(k.keyID), CiphertextBlob: wrapped, EncryptionContext: encCtx,
	})
	var invalid *types.InvalidCiphertextException
	if errors.As(err, &invalid) {
		return nil, envelope.ErrOpen
	}
	if err != nil {
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out.Plaintext, nil
}
