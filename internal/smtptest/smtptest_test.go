package smtptest_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/inkan-auth/inkan/internal/smtptest"
)

const body = "Subject: hello\r\n\r\nbody\r\n"

func send(t *testing.T, c *smtp.Client, to string) error {
	t.Helper()
	defer c.Close()
	return c.SendMail("from@example.com", []string{to}, strings.NewReader(body))
}

func dial(t *testing.T, s *smtptest.Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func TestRecordsMessagesInOrder(t *testing.T) {
	s := smtptest.Start(t)
	if s.Host != "127.0.0.1" || s.Port == 0 || !strings.HasSuffix(s.Addr, ":"+strconv.Itoa(s.Port)) {
		t.Fatalf("address %q %q %d", s.Addr, s.Host, s.Port)
	}
	for _, to := range []string{"a@example.com", "b@example.com"} {
		if err := send(t, dial(t, s), to); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	first, second := s.WaitMessage(t, 10*time.Second), s.WaitMessage(t, 10*time.Second)
	if first.To[0] != "a@example.com" || second.To[0] != "b@example.com" || first.From != "from@example.com" {
		t.Errorf("messages %+v %+v", first, second)
	}
	if !strings.Contains(string(first.Data), "Subject: hello") || first.TLS || first.User != "" {
		t.Errorf("first %+v", first)
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("Messages() has %d", n)
	}
}

func TestRefuseRecipientsAndToggle(t *testing.T) {
	s := smtptest.Start(t, smtptest.RefuseRecipients())
	err := send(t, dial(t, s), "a@example.com")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("err = %v, want 550", err)
	}
	s.SetRefuseRecipients(false)
	if err := send(t, dial(t, s), "a@example.com"); err != nil {
		t.Fatalf("after toggle: %v", err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages", n)
	}
}

func TestCloseOnData(t *testing.T) {
	s := smtptest.Start(t, smtptest.CloseOnData())
	if err := send(t, dial(t, s), "a@example.com"); err == nil {
		t.Fatal("send succeeded on a dropped connection")
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages", n)
	}
}

func TestStallNeverAnswers(t *testing.T) {
	s := smtptest.Start(t, smtptest.Stall(time.Hour))
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	var buf [64]byte
	n, err := conn.Read(buf[:])
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read %q, %v; want a timeout (no greeting)", buf[:n], err)
	}
}

func TestRequireAuth(t *testing.T) {
	s := smtptest.Start(t, smtptest.RequireAuth("u", "p"))
	if err := send(t, dial(t, s), "a@example.com"); err == nil {
		t.Fatal("unauthenticated send accepted")
	}
	c := dial(t, s)
	if err := c.Auth(sasl.NewPlainClient("", "u", "wrong")); err == nil {
		t.Fatal("wrong password accepted")
	}
	c.Close()
	c = dial(t, s)
	if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
		t.Fatalf("auth: %v", err)
	}
	if err := send(t, c, "a@example.com"); err != nil {
		t.Fatalf("send: %v", err)
	}
	if m := s.WaitMessage(t, 10*time.Second); m.User != "u" {
		t.Errorf("user %q", m.User)
	}
}

func TestTLS(t *testing.T) {
	s := smtptest.Start(t, smtptest.WithSTARTTLS())
	c, err := smtp.DialStartTLS(s.Addr, s.ClientTLSConfig())
	if err != nil {
		t.Fatalf("starttls: %v", err)
	}
	if err := send(t, c, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if !s.WaitMessage(t, 10*time.Second).TLS {
		t.Error("STARTTLS message not marked TLS")
	}

	s = smtptest.Start(t, smtptest.WithImplicitTLS())
	c, err = smtp.DialTLS(s.Addr, s.ClientTLSConfig())
	if err != nil {
		t.Fatalf("implicit tls: %v", err)
	}
	if err := send(t, c, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if !s.WaitMessage(t, 10*time.Second).TLS {
		t.Error("implicit TLS message not marked TLS")
	}
	if smtptest.Start(t).ClientTLSConfig() != nil {
		t.Error("plain server has a TLS config")
	}
}
