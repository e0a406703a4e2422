package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// DefaultSMTPTimeout bounds one delivery when SMTPOptions.Timeout is zero.
const DefaultSMTPTimeout = 10 * time.Second

// SMTPOptions configure an SMTPMailer; they mirror Hanko's
// email_delivery.* keys (docs/compatibility.md "Passcodes" "Mail").
type SMTPOptions struct {
	Host     string // email_delivery.smtp.host; required
	Port     int    // email_delivery.smtp.port; 0 → 465 with ImplicitTLS, else 587
	User     string // email_delivery.smtp.user; AUTH is used only when set
	Password string // email_delivery.smtp.password

	FromAddress string // email_delivery.from_address (RFC 5322 addr-spec); required
	FromName    string // email_delivery.from_name; may be empty

	// ImplicitTLS speaks TLS from the first byte (SMTPS, RFC 8314 §3.3,
	// usually port 465). Otherwise STARTTLS (RFC 3207) is used when the
	// server offers it; without it the session stays plain unless
	// RequireTLS.
	ImplicitTLS bool
	// RequireTLS (email_delivery.smtp.require_tls) refuses to deliver over
	// a plain session: without ImplicitTLS the server must offer STARTTLS
	// and the handshake must succeed, or delivery fails (KindBadGateway).
	RequireTLS bool
	// Timeout bounds one whole delivery (dial, TLS, AUTH, MAIL, RCPT,
	// DATA, QUIT); 0 → DefaultSMTPTimeout. A shorter ctx deadline wins.
	Timeout time.Duration
	// CodeInSubject puts the code in the subject line (off by default:
	// subjects show in notifications and mailbox lists).
	CodeInSubject bool
	// TLSConfig replaces the client TLS configuration (tests trusting a
	// self-signed certificate); nil → system roots, server name Host,
	// TLS 1.2 or later.
	TLSConfig *tls.Config
}

// SMTPMailer delivers passcode mails over SMTP with github.com/wneessen/go-mail.
// It satisfies passcode.Mailer and is safe for concurrent use: every
// delivery uses its own connection.
type SMTPMailer struct {
	o    SMTPOptions
	from *mail.Address
	t    *Templates
	log  *slog.Logger
}

// NewSMTP checks o and returns a mailer using templates t and logger log
// (nil → slog.Default()). It does not connect. Errors name the option at
// fault: missing host, port out of 1–65535, missing or invalid from address,
// negative timeout, nil templates.
func NewSMTP(o SMTPOptions, t *Templates, log *slog.Logger) (*SMTPMailer, error) {
	if t == nil {
		return nil, errors.New("mail: no templates")
	}
	if o.Host == "" {
		return nil, errors.New("mail: email_delivery.smtp.host is empty")
	}
	if o.Port == 0 {
		o.Port = 587
		if o.ImplicitTLS {
			o.Port = 465
		}
	}
	if o.Port < 1 || o.Port > 65535 {
		return nil, fmt.Errorf("mail: email_delivery.smtp.port %d is not in 1–65535", o.Port)
	}
	if o.FromAddress == "" {
		return nil, errors.New("mail: email_delivery.from_address is empty")
	}
	from, err := mail.ParseAddress(o.FromAddress)
	if err != nil || from.Name != "" {
		return nil, fmt.Errorf("mail: email_delivery.from_address %q is not an e-mail address", o.FromAddress)
	}
	from.Name = o.FromName
	if o.Timeout < 0 {
		return nil, fmt.Errorf("mail: smtp timeout %v is negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultSMTPTimeout
	}
	if o.TLSConfig == nil {
		o.TLSConfig = &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	} else if o.TLSConfig.ServerName == "" {
		o.TLSConfig = o.TLSConfig.Clone()
		o.TLSConfig.ServerName = o.Host
	}
	if log == nil {
		log = slog.Default()
	}
	return &SMTPMailer{o: o, from: from, t: t, log: log}, nil
}

// SendPasscode renders p (see Templates.RenderPasscode) and delivers it as
// multipart/alternative (text/plain, text/html) from "FromName
// <FromAddress>" to p.To. It returns when the server has accepted the
// message, or with an error of kind inkan.KindBadGateway when delivery
// failed (server unreachable, TLS or AUTH failure, recipient refused,
// connection dropped, timeout). Log lines name p.UserID, never the
// recipient address. Delivery ends by ctx's deadline or
// cancellation or SMTPOptions.Timeout, whichever comes first. Neither the
// error nor any log line contains the code.
func (m *SMTPMailer) SendPasscode(ctx context.Context, p inkan.PasscodeMail) error {
	r, err := m.t.RenderPasscode(p, m.o.CodeInSubject)
	if err != nil {
		return inkan.Wrap(inkan.KindInternal, "", err)
	}
	msg := gomail.NewMsg()
	msg.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, m.from)
	if err := msg.To(p.To); err != nil {
		return inkan.Wrap(inkan.KindInvalid, "invalid e-mail address", fmt.Errorf("mail: recipient: %w", err))
	}
	msg.Subject(r.Subject)
	msg.SetGenHeader(gomail.HeaderContentLang, r.Language)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated") // RFC 3834 §5
	msg.SetMessageID()
	msg.SetDateWithValue(time.Now().UTC())
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)

	// ctx bounds the whole delivery; go-mail's own timeout (per command)
	// is only a backstop.
	ctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()

	// go-mail applies ctx to the dial only; closing the connection when
	// ctx ends bounds the whole SMTP conversation.
	stop := func() bool { return false }
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		nd := &net.Dialer{}
		var conn net.Conn
		var err error
		if m.o.ImplicitTLS {
			conn, err = (&tls.Dialer{NetDialer: nd, Config: m.o.TLSConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = nd.DialContext(dctx, network, addr)
		}
		if err == nil {
			stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
		}
		return conn, err
	}
	opts := []gomail.Option{
		gomail.WithPort(m.o.Port),
		gomail.WithTimeout(m.o.Timeout),
		gomail.WithTLSConfig(m.o.TLSConfig),
		gomail.WithDialContextFunc(dial),
	}
	if m.o.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else if m.o.RequireTLS {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if m.o.User != "" {
		// PLAIN and LOGIN are refused by go-mail on an unencrypted
		// connection to anything but localhost.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin, gomail.SMTPAuthCramMD5),
			gomail.WithUsername(m.o.User), gomail.WithPassword(m.o.Password))
	}
	client, err := gomail.NewClient(m.o.Host, opts...)
	if err != nil {
		return inkan.Wrap(inkan.KindInternal, "", fmt.Errorf("mail: smtp client: %w", err))
	}

	start := time.Now()
	err = client.DialAndSendWithContext(ctx, msg)
	stop()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		} else if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
		}
		err = fmt.Errorf("mail: smtp delivery to %s:%d: %w", m.o.Host, m.o.Port, err)
		m.log.WarnContext(ctx, "passcode mail delivery failed",
			"user_id", p.UserID, "smtp_host", m.o.Host, "smtp_port", m.o.Port, "error", err.Error())
		return inkan.Wrap(inkan.KindBadGateway, "the passcode mail could not be delivered", err)
	}
	m.log.InfoContext(ctx, "passcode mail sent",
		"user_id", p.UserID, "language", r.Language, "smtp_host", m.o.Host, "duration_ms", time.Since(start).Milliseconds())
	return nil
}
