package cognito

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// moto does not refuse an identifier that another provider of the pool already has, so
// the mapping of Cognito's refusals is tested here on constructed errors, wrapped as the
// SDK's operation errors wrap them.
func TestDomainTaken(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error {
		return &smithy.OperationError{ServiceID: "Cognito Identity Provider", OperationName: "UpdateIdentityProvider", Err: err}
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"modelled duplicate (create)", &ciptypes.DuplicateProviderException{Message: aws.String("Duplicate identifier found for providers")}, true},
		{"unmodelled duplicate (update)", &smithy.GenericAPIError{Code: "DuplicateProviderException", Message: "Identifier contoso.com already exists"}, true},
		{"invalid parameter about identifiers", &ciptypes.InvalidParameterException{Message: aws.String("Duplicate identifiers found for providers in user pool")}, true},
		{"identifier already in use", &smithy.GenericAPIError{Code: "InvalidParameterException", Message: "Identifier contoso.com is already in use"}, true},
		{"another invalid parameter", &ciptypes.InvalidParameterException{Message: aws.String("1 validation error detected: Value at 'idpIdentifiers' failed to satisfy constraint")}, false},
		{"not found", &ciptypes.ResourceNotFoundException{Message: aws.String("not found")}, false},
		{"not an API error", errors.New("connection reset"), false},
		{"nil", nil, false},
	}
	for _, c := range cases {
		if got := domainTaken(c.err); got != c.want {
			t.Errorf("%s: domainTaken(%v) = %v", c.name, c.err, got)
		}
		if c.err != nil {
			if got := domainTaken(fmt.Errorf("context: %w", wrap(c.err))); got != c.want {
				t.Errorf("%s wrapped: %v", c.name, got)
			}
		}
	}
}

func TestEscapeFilterValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"megan.bowen@contoso.example": "megan.bowen@contoso.example",
		`a"b@c.example`:               `a\"b@c.example`,
		`a\b@c.example`:               `a\\b@c.example`,
		`\"`:                          `\\\"`,
	} {
		if got := escapeFilterValue(in); got != want {
			t.Errorf("escapeFilterValue(%q) = %q, want %q", in, got, want)
		}
	}
}
