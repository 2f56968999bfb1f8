package lambdaentry

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-msp/switchboard/shared/mail"
)

// TestLazySES: MAIL_FROM is checked at start, the SES client is built on the first
// email only, once.
func TestLazySES(t *testing.T) {
	for _, bad := range []string{"", "not an address", "a@b@c"} {
		t.Setenv(mail.EnvMailFrom, bad)
		if _, err := lazySESFromEnv(); err == nil {
			t.Errorf("MAIL_FROM %q accepted", bad)
		}
	}
	t.Setenv(mail.EnvMailFrom, "Switchboard <no-reply@example.com>")
	t.Setenv(mail.EnvSESEndpoint, "http://127.0.0.1:9") // nothing listens: sends fail fast
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	s, err := lazySESFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	l := s.(*lazySES)
	if l.ses != nil {
		t.Fatal("the SES client was built at start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg := mail.Message{To: []string{"someone@example.com"}, Subject: "s", Text: "t"}
	if err := s.Send(ctx, msg); err == nil {
		t.Fatal("a send to a closed port succeeded")
	}
	first := l.ses
	if first == nil {
		t.Fatal("the first send built no client")
	}
	_ = s.Send(ctx, msg)
	if l.ses != first {
		t.Fatal("the client was built again")
	}
}
