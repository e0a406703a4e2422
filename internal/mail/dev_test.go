package mail_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	imail "github.com/inkan-auth/inkan/internal/mail"
)

func TestDevMailerWritesOutbox(t *testing.T) {
	var out bytes.Buffer
	log, logs := captureLog()
	m := imail.NewDev(&out, loadTemplates(t), log)
	const code = "418205"
	pm := passcodeMail(code)
	pm.AcceptLanguage = "de-AT"
	if err := m.SendPasscode(context.Background(), pm); err != nil {
		t.Fatal(err)
	}
	o := out.String()
	for _, want := range []string{
		"inkan development outbox",
		"To:       ada@example.com",
		"Subject:  Ihr Anmeldecode für Acme",
		"Language: de",
		"Passcode: " + code + " (valid for 5 minutes)",
		"Er läuft in 5 Minuten ab.",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("outbox lacks %q:\n%s", want, o)
		}
	}
	l := logs.String()
	if !strings.Contains(l, "level=INFO") || !strings.Contains(l, `msg="passcode mail written to development outbox"`) ||
		!strings.Contains(l, "user_id="+pm.UserID.String()) || strings.Contains(l, "ada@") {
		t.Errorf("log: %s", l)
	}
	assertNoSecret(t, l, code)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDevMailerWriteFailure(t *testing.T) {
	log, logs := captureLog()
	m := imail.NewDev(failingWriter{}, loadTemplates(t), log)
	const code = "930571"
	err := m.SendPasscode(context.Background(), passcodeMail(code))
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), code) {
		t.Errorf("error contains the code: %v", err)
	}
	assertNoSecret(t, logs.String(), code)
}
