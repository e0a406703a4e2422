package mail_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	imail "github.com/inkan-auth/inkan/internal/mail"
	"github.com/inkan-auth/inkan/internal/outboxtest"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/smtptest"
)

var (
	_ passcode.Mailer = (*imail.SMTPMailer)(nil)
	_ passcode.Mailer = (*imail.DevMailer)(nil)
)

const wait = 10 * time.Second // upper bound for a message to arrive

func newSMTP(t *testing.T, srv *smtptest.Server, edit func(*imail.SMTPOptions)) (*imail.SMTPMailer, *outboxtest.Buffer) {
	t.Helper()
	o := imail.SMTPOptions{
		Host:        srv.Host,
		Port:        srv.Port,
		FromAddress: "noreply@acme.example",
		FromName:    "Acme Sign-in",
		Timeout:     5 * time.Second,
		TLSConfig:   srv.ClientTLSConfig(),
	}
	if edit != nil {
		edit(&o)
	}
	log, buf := captureLog()
	m, err := imail.NewSMTP(o, loadTemplates(t), log)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() }) // before the server's cleanup (LIFO)
	return m, buf
}

func passcodeMail(code string) inkan.PasscodeMail {
	return inkan.PasscodeMail{To: "ada@example.com", UserID: uuid.MustParse("5c9e7f3a-1b2d-4e6f-8a9b-0c1d2e3f4a5b"), Code: code, TTL: 300 * time.Second, ServiceName: "Acme"}
}

func TestSMTPDelivers(t *testing.T) {
	srv := smtptest.Start(t)
	m, logs := newSMTP(t, srv, nil)
	const code = "739164"
	if err := m.SendPasscode(context.Background(), passcodeMail(code)); err != nil {
		t.Fatalf("SendPasscode: %v", err)
	}
	got := srv.WaitMessage(t, wait)
	if got.From != "noreply@acme.example" || len(got.To) != 1 || got.To[0] != "ada@example.com" {
		t.Errorf("envelope from %q to %v", got.From, got.To)
	}
	p := parseMail(t, got.Data)
	if p.From.Name != "Acme Sign-in" || p.From.Address != "noreply@acme.example" {
		t.Errorf("From = %v", p.From)
	}
	if len(p.To) != 1 || p.To[0].Address != "ada@example.com" {
		t.Errorf("To = %v", p.To)
	}
	if p.ContentType != "multipart/alternative" {
		t.Errorf("Content-Type = %q", p.ContentType)
	}
	if p.Subject != "Your sign-in code for Acme" {
		t.Errorf("Subject = %q (code must not be in it by default)", p.Subject)
	}
	if p.Header.Get("Content-Language") != "en" || p.Header.Get("Message-Id") == "" || p.Header.Get("Date") == "" {
		t.Errorf("headers %v", p.Header)
	}
	if !strings.Contains(p.TextType, "charset=UTF-8") || !strings.Contains(p.HTMLType, "charset=UTF-8") {
		t.Errorf("part types %q %q", p.TextType, p.HTMLType)
	}
	for name, body := range map[string]string{"text": p.Text, "html": p.HTML} {
		for _, want := range []string{code, "Acme", "It expires in 5 minutes.", "Enter this code to sign in to Acme:"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s body lacks %q:\n%s", name, want, body)
			}
		}
	}
	if !strings.Contains(p.HTML, `<html lang="en">`) {
		t.Errorf("html body:\n%s", p.HTML)
	}
	t.Logf("message:\n%s", got.Data)
	if got.TLS || got.User != "" {
		t.Errorf("plain server: TLS %v user %q", got.TLS, got.User)
	}
	assertNoSecret(t, logs.String(), code)
	if !strings.Contains(logs.String(), "passcode mail sent") || strings.Contains(logs.String(), "ada@") {
		t.Errorf("log: %s", logs)
	}
}

func TestSMTPCodeInSubject(t *testing.T) {
	srv := smtptest.Start(t)
	m, logs := newSMTP(t, srv, func(o *imail.SMTPOptions) { o.CodeInSubject = true })
	const code = "205817"
	if err := m.SendPasscode(context.Background(), passcodeMail(code)); err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, srv.WaitMessage(t, wait).Data)
	if p.Subject != code+" is your sign-in code for Acme" {
		t.Errorf("Subject = %q", p.Subject)
	}
	assertNoSecret(t, logs.String(), code)
}

func TestSMTPLanguages(t *testing.T) {
	srv := smtptest.Start(t)
	m, _ := newSMTP(t, srv, nil)
	cases := []struct {
		x, accept, lang, subject, phrase string
	}{
		{"", "", "en", "Your sign-in code for Acme", "Enter this code to sign in to Acme"},
		{"", "de-AT", "de", "Ihr Anmeldecode für Acme", "Er läuft in 5 Minuten ab."},
		{"", "fr-FR,fr;q=0.9", "fr", "Votre code de connexion pour Acme", "Il expire dans 5 minutes."},
		{"es", "", "es", "Tu código de acceso para Acme", "Caduca en 5 minutos."},
		{"", "it", "it", "Il tuo codice di accesso per Acme", "Scade tra 5 minuti."},
		{"", "nl-NL", "nl", "Je inlogcode voor Acme", "De code verloopt over 5 minuten."},
		{"", "pt-br", "pt-BR", "Seu código de acesso para Acme", "Ele expira em 5 minutos."},
		{"", "zh", "zh-CN", "您的 Acme 登录验证码", "验证码将在 5 分钟后失效。"},
		{"", "ja-JP,en;q=0.5", "ja", "Acme のサインインコード", "このコードの有効期限は 5 分です。"},
		{"", "ko-KR", "en", "Your sign-in code for Acme", "It expires in 5 minutes."},
		{"", "fr;q=0.4, nl;q=0.8, de;q=0.6", "nl", "Je inlogcode voor Acme", "Deel deze code met niemand."},
		{"ja", "de", "ja", "Acme のサインインコード", "次のコードを入力してください"},
	}
	for _, c := range cases {
		pm := passcodeMail("318406")
		pm.Language, pm.AcceptLanguage = c.x, c.accept
		if err := m.SendPasscode(context.Background(), pm); err != nil {
			t.Fatalf("%q/%q: %v", c.x, c.accept, err)
		}
		p := parseMail(t, srv.WaitMessage(t, wait).Data)
		if got := p.Header.Get("Content-Language"); got != c.lang {
			t.Errorf("X-Language %q Accept-Language %q: Content-Language %q, want %q", c.x, c.accept, got, c.lang)
		}
		if p.Subject != c.subject {
			t.Errorf("%s: Subject %q, want %q", c.lang, p.Subject, c.subject)
		}
		if !strings.Contains(p.Text, c.phrase) || !strings.Contains(p.HTML, c.phrase) {
			t.Errorf("%s: %q missing from a body:\n%s\n%s", c.lang, c.phrase, p.Text, p.HTML)
		}
		if !strings.Contains(p.HTML, `lang="`+c.lang+`"`) {
			t.Errorf("%s: html lang attribute missing", c.lang)
		}
	}
}

func TestSMTPAuthAndTLS(t *testing.T) {
	const user, pass = "mailer", "s3cret-pa55"
	cases := []struct {
		name    string
		opts    []smtptest.Option
		implict bool
		tls     bool
	}{
		{"plain auth", []smtptest.Option{smtptest.RequireAuth(user, pass)}, false, false},
		{"starttls", []smtptest.Option{smtptest.WithSTARTTLS(), smtptest.RequireAuth(user, pass)}, false, true},
		{"implicit tls", []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.RequireAuth(user, pass)}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, c.opts...)
			m, logs := newSMTP(t, srv, func(o *imail.SMTPOptions) {
				o.User, o.Password, o.ImplicitTLS = user, pass, c.implict
			})
			const code = "640271"
			if err := m.SendPasscode(context.Background(), passcodeMail(code)); err != nil {
				t.Fatalf("SendPasscode: %v", err)
			}
			got := srv.WaitMessage(t, wait)
			if got.User != user || got.TLS != c.tls {
				t.Errorf("user %q TLS %v, want %q %v", got.User, got.TLS, user, c.tls)
			}
			if !strings.Contains(parseMail(t, got.Data).Text, code) {
				t.Error("code missing")
			}
			assertNoSecret(t, logs.String(), code, pass)
		})
	}
}

func TestSMTPSlowServerStillDelivers(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Stall(20*time.Millisecond))
	m, _ := newSMTP(t, srv, nil)
	if err := m.SendPasscode(context.Background(), passcodeMail("120934")); err != nil {
		t.Fatalf("SendPasscode: %v", err)
	}
	if !strings.Contains(parseMail(t, srv.WaitMessage(t, wait).Data).Text, "120934") {
		t.Error("code missing")
	}
}

func TestSMTPUntrustedCertificateFails(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	m, logs := newSMTP(t, srv, func(o *imail.SMTPOptions) { o.TLSConfig = nil }) // system roots
	const code = "571938"
	err := m.SendPasscode(context.Background(), passcodeMail(code))
	assertDeliveryError(t, err, code)
	assertNoSecret(t, logs.String(), code)
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages recorded", n)
	}
}

func TestSMTPFailures(t *testing.T) {
	const user, pass = "mailer", "s3cret-pa55"
	downAddr := func(t *testing.T) (string, int) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := l.Addr().(*net.TCPAddr)
		l.Close()
		return a.IP.String(), a.Port
	}
	cases := []struct {
		name string
		opts []smtptest.Option
		edit func(*imail.SMTPOptions)
		ctx  time.Duration // ctx deadline, 0 = none
	}{
		{"refused recipient", []smtptest.Option{smtptest.RefuseRecipients()}, nil, 0},
		{"connection closed during data", []smtptest.Option{smtptest.CloseOnData()}, nil, 0},
		{"stall, mailer timeout", []smtptest.Option{smtptest.Stall(time.Hour)}, func(o *imail.SMTPOptions) { o.Timeout = 300 * time.Millisecond }, 0},
		{"stall, ctx deadline", []smtptest.Option{smtptest.Stall(time.Hour)}, func(o *imail.SMTPOptions) { o.Timeout = time.Hour }, 300 * time.Millisecond},
		{"auth required, none configured", []smtptest.Option{smtptest.RequireAuth(user, pass)}, nil, 0},
		{"wrong password", []smtptest.Option{smtptest.RequireAuth(user, pass)}, func(o *imail.SMTPOptions) { o.User, o.Password = user, "wrong-"+pass }, 0},
		{"server down", nil, func(o *imail.SMTPOptions) { o.Host, o.Port = downAddr(t) }, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, c.opts...)
			m, logs := newSMTP(t, srv, c.edit)
			ctx := context.Background()
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.ctx)
				defer cancel()
			}
			const code = "862047"
			start := time.Now()
			err := m.SendPasscode(ctx, passcodeMail(code))
			// The bound is generous: the server stalls for an hour,
			// the deadline is 300 ms.
			if elapsed := time.Since(start); elapsed > 30*time.Second {
				t.Errorf("SendPasscode took %v", elapsed)
			}
			assertDeliveryError(t, err, code)
			t.Logf("error: %v", err)
			if strings.HasPrefix(c.name, "stall") && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages recorded", n)
			}
			l := logs.String()
			if !strings.Contains(l, "passcode mail delivery failed") || !strings.Contains(l, "level=WARN") {
				t.Errorf("failure not logged: %s", l)
			}
			assertNoSecret(t, l, code, pass)
		})
	}
}

func TestNewSMTPValidates(t *testing.T) {
	tpl := loadTemplates(t)
	good := imail.SMTPOptions{Host: "smtp.example.com", Port: 587, FromAddress: "noreply@example.com"}
	if _, err := imail.NewSMTP(good, tpl, nil); err != nil {
		t.Fatalf("good options: %v", err)
	}
	cases := map[string]func(*imail.SMTPOptions){
		"smtp.host":    func(o *imail.SMTPOptions) { o.Host = "" },
		"smtp.port":    func(o *imail.SMTPOptions) { o.Port = 70000 },
		"from_address": func(o *imail.SMTPOptions) { o.FromAddress = "not an address" },
		"timeout":      func(o *imail.SMTPOptions) { o.Timeout = -time.Second },
	}
	for key, edit := range cases {
		o := good
		edit(&o)
		_, err := imail.NewSMTP(o, tpl, nil)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v does not name it", key, err)
		}
	}
}

func assertDeliveryError(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatal("SendPasscode succeeded, want an error")
	}
	if k := inkan.KindOf(err); k != inkan.KindBadGateway {
		t.Errorf("kind %v, want KindBadGateway: %v", k, err)
	}
	if strings.Contains(err.Error(), code) {
		t.Errorf("error contains the code: %v", err)
	}
}

func assertNoSecret(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("log contains secret %q:\n%s", s, log)
		}
	}
}

// TestSMTPRequireTLS: with RequireTLS a server that offers no STARTTLS
// gets nothing (the passcode would cross the network in the clear), while
// one that offers it gets the message encrypted; without RequireTLS the
// plain server still gets it (opportunistic, a loopback relay).
func TestSMTPRequireTLS(t *testing.T) {
	plain := smtptest.Start(t)
	m, logs := newSMTP(t, plain, func(o *imail.SMTPOptions) { o.RequireTLS = true })
	const code = "302718"
	err := m.SendPasscode(context.Background(), passcodeMail(code))
	assertDeliveryError(t, err, code)
	assertNoSecret(t, logs.String(), code)
	if n := len(plain.Messages()); n != 0 {
		t.Fatalf("%d messages delivered without TLS", n)
	}

	tlsSrv := smtptest.Start(t, smtptest.WithSTARTTLS())
	m, _ = newSMTP(t, tlsSrv, func(o *imail.SMTPOptions) { o.RequireTLS = true })
	if err := m.SendPasscode(context.Background(), passcodeMail(code)); err != nil {
		t.Fatalf("STARTTLS server: %v", err)
	}
	if got := tlsSrv.WaitMessage(t, wait); !got.TLS {
		t.Fatal("delivered without TLS")
	}

	m, _ = newSMTP(t, plain, nil)
	if err := m.SendPasscode(context.Background(), passcodeMail(code)); err != nil {
		t.Fatalf("opportunistic to a plain server: %v", err)
	}
}
