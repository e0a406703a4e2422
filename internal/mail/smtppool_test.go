package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	imail "github.com/inkan-auth/inkan/internal/mail"
	"github.com/inkan-auth/inkan/internal/smtptest"
)

// codes counts how often each passcode arrived at srv.
func codes(t *testing.T, srv *smtptest.Server) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, msg := range srv.Messages() {
		text := parseMail(t, msg.Data).Text
		found := false
		for _, f := range strings.Fields(text) {
			if len(f) == 6 && strings.Trim(f, "0123456789") == "" {
				n[f]++
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no code in %q", text)
		}
	}
	return n
}

func assertEachOnce(t *testing.T, srv *smtptest.Server, sent []string) {
	t.Helper()
	got := codes(t, srv)
	for _, c := range sent {
		if got[c] != 1 {
			t.Errorf("code %s arrived %d times", c, got[c])
		}
	}
	if len(srv.Messages()) != len(sent) {
		t.Errorf("%d messages arrived, %d sent", len(srv.Messages()), len(sent))
	}
}

// Sequential mails share one session, over plain SMTP, STARTTLS and
// implicit TLS, with AUTH where the server requires it.
func TestSMTPReusesConnection(t *testing.T) {
	const user, pass = "mailer", "s3cret-pa55"
	cases := []struct {
		name     string
		opts     []smtptest.Option
		implicit bool
		tls      bool
		user     string
	}{
		{"plain", nil, false, false, ""},
		{"plain auth", []smtptest.Option{smtptest.RequireAuth(user, pass)}, false, false, user},
		{"starttls auth", []smtptest.Option{smtptest.WithSTARTTLS(), smtptest.RequireAuth(user, pass)}, false, true, user},
		{"implicit tls auth", []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.RequireAuth(user, pass)}, true, true, user},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, c.opts...)
			m, logs := newSMTP(t, srv, func(o *imail.SMTPOptions) {
				o.ImplicitTLS = c.implicit
				if c.user != "" {
					o.User, o.Password = user, pass
				}
			})
			var sent []string
			for i := range 20 {
				code := fmt.Sprintf("%06d", 100000+i)
				if err := m.SendPasscode(context.Background(), passcodeMail(code)); err != nil {
					t.Fatalf("mail %d: %v", i, err)
				}
				sent = append(sent, code)
			}
			if accepted, _ := srv.Connections(); accepted != 1 {
				t.Errorf("%d connections for 20 sequential mails, want 1", accepted)
			}
			for _, msg := range srv.Messages() {
				if msg.TLS != c.tls || msg.User != c.user {
					t.Errorf("TLS %v user %q, want %v %q", msg.TLS, msg.User, c.tls, c.user)
				}
			}
			assertEachOnce(t, srv, sent)
			if !strings.Contains(logs.String(), "reused_connection=true") {
				t.Errorf("reuse not logged: %s", logs.String())
			}
			assertNoSecret(t, logs.String(), pass)
		})
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	srv := smtptest.Start(t)
	m, _ := newSMTP(t, srv, nil)
	const goroutines, each = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	var sent []string
	for g := range goroutines {
		for i := range each {
			sent = append(sent, fmt.Sprintf("%06d", 200000+g*100+i))
		}
	}
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := m.SendPasscode(context.Background(), passcodeMail(sent[g*each+i])); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assertEachOnce(t, srv, sent)
	// The surplus sessions are ended (QUIT) when their delivery is done.
	srv.WaitConnections(t, wait, func(_, open int) bool { return open <= imail.DefaultSMTPMaxIdle })
	accepted, open := srv.Connections()
	t.Logf("%d connections for %d mails, %d kept", accepted, goroutines*each, open)
}

// A relay that drops an idle session: the next mail goes out once, on a
// new connection.
func TestSMTPServerDropsIdleConnection(t *testing.T) {
	srv := smtptest.Start(t)
	m, _ := newSMTP(t, srv, nil)
	if err := m.SendPasscode(context.Background(), passcodeMail("300001")); err != nil {
		t.Fatal(err)
	}
	srv.WaitConnections(t, wait, func(_, open int) bool { return open == 1 })
	srv.DropConnections()
	srv.WaitConnections(t, wait, func(_, open int) bool { return open == 0 })
	if err := m.SendPasscode(context.Background(), passcodeMail("300002")); err != nil {
		t.Fatalf("after the server dropped the session: %v", err)
	}
	if accepted, _ := srv.Connections(); accepted != 2 {
		t.Errorf("%d connections, want 2", accepted)
	}
	assertEachOnce(t, srv, []string{"300001", "300002"})
	// And the new session is kept.
	if err := m.SendPasscode(context.Background(), passcodeMail("300003")); err != nil {
		t.Fatal(err)
	}
	if accepted, _ := srv.Connections(); accepted != 2 {
		t.Errorf("%d connections, want 2", accepted)
	}
}

// A kept session that fails once the message data is on its way is not
// retried: the server may have accepted the message.
func TestSMTPNoRetryAfterData(t *testing.T) {
	srv := smtptest.Start(t)
	m, _ := newSMTP(t, srv, nil)
	if err := m.SendPasscode(context.Background(), passcodeMail("400001")); err != nil {
		t.Fatal(err)
	}
	srv.SetCloseOnData(true)
	const code = "400002"
	assertDeliveryError(t, m.SendPasscode(context.Background(), passcodeMail(code)), code)
	if accepted, _ := srv.Connections(); accepted != 1 {
		t.Errorf("%d connections: the failed delivery was retried", accepted)
	}
	srv.SetCloseOnData(false)
	srv.SetRefuseRecipients(true)
	const refused = "400003"
	assertDeliveryError(t, m.SendPasscode(context.Background(), passcodeMail(refused)), refused)
	srv.SetRefuseRecipients(false)
	if err := m.SendPasscode(context.Background(), passcodeMail("400004")); err != nil {
		t.Fatal(err)
	}
	assertEachOnce(t, srv, []string{"400001", "400004"})
}

func TestSMTPIdleTimeoutAndClose(t *testing.T) {
	srv := smtptest.Start(t)
	m, _ := newSMTP(t, srv, func(o *imail.SMTPOptions) { o.IdleTimeout = 50 * time.Millisecond })
	if err := m.SendPasscode(context.Background(), passcodeMail("500001")); err != nil {
		t.Fatal(err)
	}
	srv.WaitConnections(t, wait, func(accepted, open int) bool { return accepted == 1 && open == 0 })

	srv2 := smtptest.Start(t)
	m2, _ := newSMTP(t, srv2, nil)
	if err := m2.SendPasscode(context.Background(), passcodeMail("500002")); err != nil {
		t.Fatal(err)
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	srv2.WaitConnections(t, wait, func(accepted, open int) bool { return accepted == 1 && open == 0 })
	// A closed mailer still delivers, on a connection of its own.
	if err := m2.SendPasscode(context.Background(), passcodeMail("500003")); err != nil {
		t.Fatal(err)
	}
	srv2.WaitConnections(t, wait, func(accepted, open int) bool { return accepted == 2 && open == 0 })
}

func BenchmarkSMTPSendPasscode(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []smtptest.Option
	}{{"plain", nil}, {"starttls", []smtptest.Option{smtptest.WithSTARTTLS()}}} {
		b.Run(c.name, func(b *testing.B) {
			srv := smtptest.Start(b, c.opts...)
			m, err := imail.NewSMTP(imail.SMTPOptions{
				Host: srv.Host, Port: srv.Port, FromAddress: "noreply@acme.example",
				Timeout: 5 * time.Second, TLSConfig: srv.ClientTLSConfig(),
			}, loadTemplates(b), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			if c, ok := any(m).(interface{ Close() error }); ok {
				b.Cleanup(func() { _ = c.Close() })
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := m.SendPasscode(context.Background(), passcodeMail("739164")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
