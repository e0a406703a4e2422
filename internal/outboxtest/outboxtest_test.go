package outboxtest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/mail"
	"github.com/inkan-auth/inkan/internal/outboxtest"
)

// devMailer is the real development mailer writing to out.
func devMailer(t *testing.T, out io.Writer) *mail.DevMailer {
	t.Helper()
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatalf("LoadTemplates: %v", err)
	}
	return mail.NewDev(out, tpl, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func send(t *testing.T, m *mail.DevMailer, to, code string) {
	t.Helper()
	if err := m.SendPasscode(context.Background(), inkan.PasscodeMail{To: to, Code: code, TTL: 300 * time.Second, ServiceName: "Acme"}); err != nil {
		t.Fatalf("SendPasscode: %v", err)
	}
}

func TestCodeAndCount(t *testing.T) {
	var out outboxtest.Buffer
	m := devMailer(t, &out)
	if _, ok := out.Code("ada@example.test"); ok {
		t.Fatal("Code on an empty outbox reported a code")
	}
	send(t, m, "ada@example.test", "111111")
	send(t, m, "bob@example.test", "222222")
	send(t, m, "ada@example.test", "333333")
	if c, ok := out.Code("ada@example.test"); !ok || c != "333333" {
		t.Errorf("Code(ada) = %q, %v; want the newest, 333333", c, ok)
	}
	if c, ok := out.Code("bob@example.test"); !ok || c != "222222" {
		t.Errorf("Code(bob) = %q, %v", c, ok)
	}
	if c, ok := out.Code(""); !ok || c != "333333" {
		t.Errorf(`Code("") = %q, %v; want the newest of all`, c, ok)
	}
	if _, ok := out.Code("ada@example"); ok {
		t.Error("Code matched a prefix of the address")
	}
	for addr, want := range map[string]int{"ada@example.test": 2, "bob@example.test": 1, "eve@example.test": 0, "": 3} {
		if got := out.Count(addr); got != want {
			t.Errorf("Count(%q) = %d, want %d", addr, got, want)
		}
	}
	if out.Len() != len(out.String()) || out.Len() == 0 {
		t.Errorf("Len = %d, String has %d bytes", out.Len(), len(out.String()))
	}
}

func TestWaitCodeSeesALaterMail(t *testing.T) {
	var out outboxtest.Buffer
	m := devMailer(t, &out)
	send(t, m, "ada@example.test", "111111")
	seen := out.Count("ada@example.test")
	var wg sync.WaitGroup
	wg.Go(func() { send(t, m, "ada@example.test", "444444") })
	if c := out.WaitCode(t, "ada@example.test", seen, time.Minute); c != "444444" {
		t.Errorf("WaitCode = %q, want 444444", c)
	}
	wg.Wait()
}

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestWaitCodeGivesUp(t *testing.T) {
	var out outboxtest.Buffer
	r := &recorder{TB: t}
	if c := out.WaitCode(r, "ada@example.test", 0, 30*time.Millisecond); c != "" {
		t.Errorf("WaitCode on an empty outbox = %q", c)
	}
	if len(r.errs) != 1 {
		t.Errorf("WaitCode reported %d failures, want 1: %q", len(r.errs), r.errs)
	}
}
