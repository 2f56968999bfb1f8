package cognito

import (
	"reflect"
	"slices"
	"testing"

	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// fill sets every exported field of the value v points to to a non-zero value, through
// pointers, slices and structs.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("x-" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i))
			}
		}
	default:
		t.Fatalf("fill: no value for a %s", v.Type())
	}
}

// Every setting UpdateUserPoolClient takes must be copied from the described client,
// since Cognito resets the ones a request leaves out. This runs without moto, on a
// described client with every field set, so a setting a newer SDK adds to the request
// fails here until updateClientInput copies it.
func TestUpdateClientInputCarriesEverySetting(t *testing.T) {
	t.Parallel()
	var c ciptypes.UserPoolClientType
	cv := reflect.ValueOf(&c).Elem()
	for i := range cv.NumField() {
		f := cv.Type().Field(i)
		if f.IsExported() && f.Name != "CreationDate" && f.Name != "LastModifiedDate" {
			fill(t, cv.Field(i))
		}
	}
	d := &Directory{poolID: "pool", appClientID: "client"}
	providers := []string{"COGNITO", "entra-x"}
	in := d.updateClientInput(&c, providers)
	if *in.UserPoolId != "pool" || *in.ClientId != "client" || !slices.Equal(in.SupportedIdentityProviders, providers) {
		t.Fatalf("ids or providers: %+v", in)
	}
	iv := reflect.ValueOf(in).Elem()
	for i := range iv.NumField() {
		f := iv.Type().Field(i)
		if !f.IsExported() || f.Name == "UserPoolId" || f.Name == "ClientId" || f.Name == "SupportedIdentityProviders" {
			continue
		}
		got, want := iv.Field(i), cv.FieldByName(f.Name)
		if !want.IsValid() {
			t.Errorf("%s: a request field with no described counterpart; decide how to keep it", f.Name)
			continue
		}
		if want.Kind() == reflect.Pointer && got.Kind() != reflect.Pointer {
			want = want.Elem()
		}
		if got.IsZero() || !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%s is not carried over: %v, described %v", f.Name, got, want)
		}
	}
}
