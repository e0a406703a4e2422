package app_test

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/smtptest"
)

// smtpConfig points a node at a smtptest server.
func smtpConfig(s *smtptest.Server, timeout time.Duration) func(*config.Config) {
	return func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.EmailDelivery.SMTP.Host = s.Host
		c.EmailDelivery.SMTP.Port = strconv.Itoa(s.Port)
		off := false
		c.EmailDelivery.SMTP.ImplicitTLS = &off
		c.EmailDelivery.SMTP.Timeout = timeout
		c.Service.Name = "Example App"
	}
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// mailCode extracts the passcode from the text/plain part of a message.
func mailCode(t *testing.T, m smtptest.Message) (code, subject, text, html string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b := new(strings.Builder)
		dec := p.Header.Get("Content-Transfer-Encoding")
		raw, _ := readAllPart(p, dec)
		b.WriteString(raw)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			text = b.String()
		} else {
			html = b.String()
		}
	}
	code = sixDigits.FindString(text)
	return code, subject, text, html
}

// TestSMTPFlow: the passcode arrives over real SMTP, in the requested
// language, and finalizes; no passcode, JWT or e-mail address ever
// appears in the log (the mail log line names the user id).
func TestSMTPFlow(t *testing.T) {
	s := smtptest.Start(t)
	h := newHarness(t, smtpConfig(s, 5*time.Second))
	var secrets []string
	for i, lang := range []string{"de-AT,de;q=0.9,en;q=0.5", "fr", "ja"} {
		addr := "mail" + strconv.Itoa(i) + "@example.test"
		r := h.do(t, "POST", "/users", `{"email":"`+addr+`"}`)
		var u map[string]string
		r.json(t, &u)
		r = h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+u["user_id"]+`","email_id":"`+u["email_id"]+`"}`, "Accept-Language: "+lang)
		if r.Status != 200 {
			t.Fatalf("init: %d %s", r.Status, r.Body)
		}
		var pc struct{ ID string }
		r.json(t, &pc)
		m := s.WaitMessage(t, 10*time.Second)
		if len(m.To) != 1 || m.To[0] != addr {
			t.Fatalf("mail to %v, want %s", m.To, addr)
		}
		code, subject, text, html := mailCode(t, m)
		if code == "" || !strings.Contains(html, code) || !strings.Contains(text, "Example App") || strings.Contains(subject, code) {
			t.Fatalf("mail: subject %q code %q\ntext %s", subject, code, text)
		}
		if lang == "fr" && !strings.Contains(string(m.Data), "Content-Language: fr") {
			t.Errorf("French requested, mail headers:\n%s", m.Data[:min(600, len(m.Data))])
		}
		r = h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"`+code+`"}`)
		if r.Status != 200 {
			t.Fatalf("finalize: %d %s", r.Status, r.Body)
		}
		secrets = append(secrets, code, r.Header.Get("X-Auth-Token"), addr)
		if !strings.Contains(h.Log.String(), `"msg":"passcode mail sent","user_id":"`+u["user_id"]+`"`) {
			t.Fatalf("the mail log line does not name the user id:\n%s", h.Log.String())
		}
	}
	log := h.Log.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("the log holds a secret %q", s)
		}
	}
}

// TestSMTPFailures: a refusing, closing or stalling mail server makes
// initialize answer 502 with the error body within the delivery deadline;
// no usable passcode is left, and the log names the failure without a code.
func TestSMTPFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  smtptest.Option
	}{
		{"refused recipient", smtptest.RefuseRecipients()},
		{"connection closed", smtptest.CloseOnData()},
		{"stalled", smtptest.Stall(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := smtptest.Start(t, tc.opt)
			h := newHarness(t, smtpConfig(s, 500*time.Millisecond))
			r := h.do(t, "POST", "/users", `{"email":"fail@example.test"}`)
			var u map[string]string
			r.json(t, &u)
			before := h.countRows(t, "passcodes")
			r = h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+u["user_id"]+`","email_id":"`+u["email_id"]+`"}`)
			if r.Status != 502 || !strings.Contains(string(r.Body), `"code":502`) || !strings.Contains(string(r.Body), "failed to send passcode") {
				t.Fatalf("init with a failing mail server: %d %s", r.Status, r.Body)
			}
			if n := h.countRows(t, "passcodes"); n != before {
				t.Fatalf("%d passcodes after a failed delivery, want %d", n, before)
			}
			if !strings.Contains(h.Log.String(), "passcode mail delivery failed") {
				t.Errorf("the failure is not logged:\n%s", h.Log.String())
			}
			for _, line := range strings.Split(h.Log.String(), "\n") {
				if strings.Contains(line, "passcode") && sixDigits.MatchString(stripTimes(line)) {
					t.Errorf("log line may hold a code: %s", line)
				}
			}
		})
	}
}

// stripTimes removes timestamps, ids and durations, which contain digit runs.
func stripTimes(line string) string {
	line = regexp.MustCompile(`"(time|request_id|duration_ms|addr|passcode_id|email_id|user_id)":("[^"]*"|[0-9.]+)`).ReplaceAllString(line, "")
	return regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f-]{27}`).ReplaceAllString(line, "")
}

func readAllPart(p *multipart.Part, encoding string) (string, error) {
	var r io.Reader = p
	if strings.EqualFold(encoding, "quoted-printable") {
		r = quotedprintable.NewReader(p)
	} else if strings.EqualFold(encoding, "base64") {
		r = base64.NewDecoder(base64.StdEncoding, p)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// TestBrokenTemplateStopsStartUp: an operator template that does not parse
// stops start-up with a message naming the file.
func TestBrokenTemplateStopsStartUp(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "passcode.txt.tmpl"), []byte("{{ .Code "), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Database.Database = filepath.Join(t.TempDir(), "inkan.db")
	cfg.Email.TemplatesDir = dir
	_, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "passcode.txt.tmpl") {
		t.Fatalf("start-up with a broken template: %v", err)
	}
}

// TestDevMailerLogsNoAddress: the development mailer writes the address
// to its outbox only; the log names the user id.
func TestDevMailerLogsNoAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	userID, _, _ := h.signUp(t, "nolog@example.test")
	if log := h.Log.String(); strings.Contains(log, "nolog@") || !strings.Contains(log, `"msg":"passcode mail written to development outbox","user_id":"`+userID+`"`) {
		t.Fatalf("log holds the address or lacks the user id:\n%s", log)
	}
}
