package cognito_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/switchboard-msp/switchboard/shared/domain"
	"github.com/switchboard-msp/switchboard/shared/identity"
	"github.com/switchboard-msp/switchboard/shared/identity/cognito"
)

// unchanged fails the test for each setting of the app client that differs between
// before and after, but its identity providers and modification date.
func unchanged(t *testing.T, step string, before, after *ciptypes.UserPoolClientType) {
	t.Helper()
	b, a := reflect.ValueOf(*before), reflect.ValueOf(*after)
	for i := range b.NumField() {
		f := b.Type().Field(i)
		if !f.IsExported() || f.Name == "SupportedIdentityProviders" || f.Name == "LastModifiedDate" {
			continue
		}
		if !reflect.DeepEqual(b.Field(i).Interface(), a.Field(i).Interface()) {
			t.Errorf("%s: app client %s changed: %s -> %s", step, f.Name, show(b.Field(i)), show(a.Field(i)))
		}
	}
}

// carried fails the test unless every field of the UpdateUserPoolClient request, but
// the ids and the providers, holds the value of the same setting in before. moto merges
// an update into the stored client instead of resetting what it is not given, as
// Cognito does, so reading the client back cannot show a setting left out: the request
// itself is checked. Every setting of the test's client has a value, so a setting a
// newer SDK adds shows here as missing.
func carried(t *testing.T, step string, req cip.UpdateUserPoolClientInput, before *ciptypes.UserPoolClientType) {
	t.Helper()
	r, b := reflect.ValueOf(req), reflect.ValueOf(*before)
	for i := range r.NumField() {
		f := r.Type().Field(i)
		switch {
		case !f.IsExported():
			continue
		case f.Name == "UserPoolId" || f.Name == "ClientId" || f.Name == "SupportedIdentityProviders":
			if r.Field(i).IsZero() {
				t.Errorf("%s: the update has no %s", step, f.Name)
			}
			continue
		}
		got := r.Field(i)
		if got.IsZero() {
			t.Errorf("%s: the update leaves out %s (Cognito would reset it): set it in consoleClient and copy it in updateClientInput", step, f.Name)
			continue
		}
		want := b.FieldByName(f.Name)
		if !want.IsValid() {
			t.Errorf("%s: the update's %s is no setting of a described client", step, f.Name)
			continue
		}
		if want.Kind() == reflect.Pointer && got.Kind() != reflect.Pointer { // AllowedOAuthFlowsUserPoolClient
			want = want.Elem()
		}
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%s: the update's %s = %s, the client's %s", step, f.Name, show(got), show(want))
		}
	}
}

// show prints a field's value, through its pointer.
func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	return fmt.Sprintf("%+v", v.Interface())
}

func TestAppClientRegistration(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	orgA, orgB := "org-"+domain.NewID(), "org-"+domain.NewID()
	nameA, nameB := identity.ProviderName(orgA), identity.ProviderName(orgB)
	cfgA := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "a", Domains: []string{"contoso.example"}}
	cfgB := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientB, ClientSecret: "b", Domains: []string{"fabrikam.example"}}
	original := p.appClient(t)
	if !slices.Equal(original.SupportedIdentityProviders, []string{"COGNITO"}) {
		t.Fatalf("the app client starts with %v", original.SupportedIdentityProviders)
	}

	steps := []struct {
		name    string
		do      func() error
		want    []string
		updates int // UpdateUserPoolClient calls the step makes
	}{
		{"register A", func() error { return put(t, p.dir, orgA, cfgA, true) }, []string{"COGNITO", nameA}, 1},
		{"register B beside A", func() error { return put(t, p.dir, orgB, cfgB, true) }, []string{"COGNITO", nameA, nameB}, 1},
		{"update A: already listed", func() error {
			cfgA.Domains = []string{"contoso.example", "northwind.example"}
			cfgA.ClientSecret = ""
			return put(t, p.dir, orgA, cfgA, true)
		}, []string{"COGNITO", nameA, nameB}, 0},
		{"delete A", func() error { return p.dir.DeleteEntraProvider(ctx, orgA) }, []string{"COGNITO", nameB}, 1},
		{"delete A again", func() error { return p.dir.DeleteEntraProvider(ctx, orgA) }, []string{"COGNITO", nameB}, 0},
		{"register A again", func() error {
			cfgA.ClientSecret = "a2"
			return put(t, p.dir, orgA, cfgA, true)
		}, []string{"COGNITO", nameB, nameA}, 1},
		{"delete B", func() error { return p.dir.DeleteEntraProvider(ctx, orgB) }, []string{"COGNITO", nameA}, 1},
	}
	for _, s := range steps {
		before := p.appClient(t)
		sent := len(p.updates.requests())
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		after := p.appClient(t)
		if !slices.Equal(after.SupportedIdentityProviders, s.want) {
			t.Errorf("%s: providers = %v, want %v", s.name, after.SupportedIdentityProviders, s.want)
		}
		unchanged(t, s.name, original, after)
		reqs := p.updates.requests()[sent:]
		if len(reqs) != s.updates {
			t.Errorf("%s: %d UpdateUserPoolClient calls, want %d", s.name, len(reqs), s.updates)
		}
		for _, r := range reqs {
			carried(t, s.name, r, before)
			if !slices.Equal(r.SupportedIdentityProviders, s.want) {
				t.Errorf("%s: the update sends providers %v, want %v", s.name, r.SupportedIdentityProviders, s.want)
			}
		}
	}

	// What is listed is reported; a deleted provider is gone from the pool.
	if got, ok, err := p.dir.EntraProvider(ctx, orgA); err != nil || !ok || !got.Registered {
		t.Errorf("EntraProvider(A) = %+v %v %v", got, ok, err)
	}
	if _, ok, err := p.dir.EntraProvider(ctx, orgB); err != nil || ok {
		t.Errorf("B after its delete: %v %v", ok, err)
	}
}

// put runs PutEntraProvider and checks what it reports as registered.
func put(t *testing.T, d *cognito.Directory, org string, cfg identity.SSOConfig, registered bool) error {
	t.Helper()
	got, err := d.PutEntraProvider(t.Context(), org, cfg)
	if err == nil && got.Registered != registered {
		t.Errorf("put %s: Registered = %v, want %v", org, got.Registered, registered)
	}
	return err
}

func TestDirectoryWithoutAppClient(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	if p.bare.AppClientID() != "" || p.dir.AppClientID() != p.clientID {
		t.Fatalf("AppClientID: bare %q, dir %q", p.bare.AppClientID(), p.dir.AppClientID())
	}
	// WithAppClient returns a copy: the Directory it is called on keeps no client.
	if d := p.bare.WithAppClient(p.clientID); d.AppClientID() != p.clientID || p.bare.AppClientID() != "" || d.PoolID() != p.id {
		t.Fatalf("WithAppClient: %q on %q", d.AppClientID(), p.bare.AppClientID())
	}
	if p.bare.WithAppClient(" ").AppClientID() != "" {
		t.Fatal("a blank client id is kept")
	}

	org := "org-" + domain.NewID()
	cfg := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s", Domains: []string{"contoso.example"}}
	if err := put(t, p.bare, org, cfg, false); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := p.bare.EntraProvider(ctx, org); err != nil || !ok || got.Registered {
		t.Fatalf("EntraProvider without a client: %+v %v %v", got, ok, err)
	}
	// The Directory with the client sees it unlisted, and a put lists it.
	if got, ok, err := p.dir.EntraProvider(ctx, org); err != nil || !ok || got.Registered {
		t.Fatalf("EntraProvider before registration: %+v %v %v", got, ok, err)
	}
	if n := len(p.updates.requests()); n != 0 {
		t.Fatalf("%d app client updates without an app client", n)
	}
	cfg.ClientSecret = ""
	if err := put(t, p.dir, org, cfg, true); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := p.dir.EntraProvider(ctx, org); err != nil || !ok || !got.Registered {
		t.Fatalf("EntraProvider after registration: %+v %v %v", got, ok, err)
	}
}

func TestAppClientNotFound(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	d := p.bare.WithAppClient("nosuchclient")
	org := "org-" + domain.NewID()
	_, err := d.PutEntraProvider(ctx, org, identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s",
		Domains: []string{"contoso.example"}})
	var nf *ciptypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("put with a missing app client: %v", err)
	}
	// The provider itself was saved; the error says registration failed.
	if _, ok, _ := p.bare.EntraProvider(ctx, org); !ok {
		t.Fatal("the provider was not saved")
	}
	if _, _, err := d.EntraProvider(ctx, org); !errors.As(err, &nf) {
		t.Fatalf("EntraProvider with a missing app client: %v", err)
	}
	// A delete that cannot unlist the provider leaves it in place.
	if err := d.DeleteEntraProvider(ctx, org); !errors.As(err, &nf) {
		t.Fatalf("delete with a missing app client: %v", err)
	}
	if _, ok, _ := p.bare.EntraProvider(ctx, org); !ok {
		t.Fatal("the provider was deleted although it could not be unlisted")
	}
}

// moto never answers ConcurrentModificationException: the first update is refused here
// in its place, and the registration retries.
func TestAppClientRegistrationRetriesConcurrentModification(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	refused := func(n int, send func() error) error {
		return &ciptypes.ConcurrentModificationException{Message: aws.String("the client is being updated")}
	}
	// The first update is refused, the next goes through.
	p.updates.setIntercept(func(n int, send func() error) error {
		if n == 0 {
			return refused(n, send)
		}
		return send()
	})
	org := "org-" + domain.NewID()
	cfg := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s", Domains: []string{"contoso.example"}}
	if err := put(t, p.dir, org, cfg, true); err != nil {
		t.Fatalf("put after a concurrent modification: %v", err)
	}
	if n := len(p.updates.requests()); n != 2 {
		t.Fatalf("%d updates, want 2", n)
	}
	if ps := p.appClient(t).SupportedIdentityProviders; !slices.Equal(ps, []string{"COGNITO", identity.ProviderName(org)}) {
		t.Fatalf("providers = %v", ps)
	}

	// Refused twice, it gives up with the error.
	p.updates.setIntercept(refused)
	err := p.dir.DeleteEntraProvider(ctx, org)
	var cm *ciptypes.ConcurrentModificationException
	if !errors.As(err, &cm) {
		t.Fatalf("delete refused twice: %v", err)
	}
	if n := len(p.updates.requests()); n != 4 {
		t.Fatalf("%d updates in all, want 2 for the put and 2 for the delete", n)
	}
	if _, ok, _ := p.dir.EntraProvider(ctx, org); !ok {
		t.Fatal("the provider was deleted although it could not be unlisted")
	}
}

// A concurrent writer that read the client before our update and writes after it puts
// back its stale list; the registration reads the list back and makes the change again.
func TestAppClientRegistrationRedoesLostUpdate(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	ctx := t.Context()
	stale := p.appClient(t)
	p.updates.setIntercept(func(n int, send func() error) error {
		if err := send(); err != nil || n > 0 {
			return err
		}
		_, err := p.client.UpdateUserPoolClient(ctx, &cip.UpdateUserPoolClientInput{UserPoolId: &p.id, ClientId: &p.clientID,
			SupportedIdentityProviders: stale.SupportedIdentityProviders})
		return err
	})
	org := "org-" + domain.NewID()
	cfg := identity.SSOConfig{EntraTenantID: tenantA, ClientID: clientA, ClientSecret: "s", Domains: []string{"contoso.example"}}
	if err := put(t, p.dir, org, cfg, true); err != nil {
		t.Fatalf("put: %v", err)
	}
	if n := len(p.updates.requests()); n != 2 {
		t.Fatalf("%d updates, want 2", n)
	}
	if ps := p.appClient(t).SupportedIdentityProviders; !slices.Equal(ps, []string{"COGNITO", identity.ProviderName(org)}) {
		t.Fatalf("providers = %v", ps)
	}
}
