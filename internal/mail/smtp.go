package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// DefaultSMTPTimeout bounds one delivery when SMTPOptions.Timeout is zero.
const DefaultSMTPTimeout = 10 * time.Second

// DefaultSMTPMaxIdle is how many idle SMTP sessions an SMTPMailer keeps
// when SMTPOptions.MaxIdle is zero.
const DefaultSMTPMaxIdle = 4

// DefaultSMTPIdleTimeout is how long an idle SMTP session is kept when
// SMTPOptions.IdleTimeout is zero: below the 60 s or so after which many
// relays drop idle sessions, while a steady trickle of logins still
// reuses one.
const DefaultSMTPIdleTimeout = 30 * time.Second

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
	// Timeout bounds one whole delivery (dial, TLS and AUTH when no kept
	// session is free, MAIL, RCPT, DATA, RSET, and the one retry); 0 →
	// DefaultSMTPTimeout. A shorter ctx deadline wins.
	Timeout time.Duration
	// CodeInSubject puts the code in the subject line (off by default:
	// subjects show in notifications and mailbox lists).
	CodeInSubject bool
	// MaxIdle is how many connected sessions are kept for reuse between
	// deliveries; 0 → DefaultSMTPMaxIdle. More may be open at once while
	// deliveries run concurrently; the surplus is closed (QUIT) when done.
	MaxIdle int
	// IdleTimeout closes (QUIT) a kept session that has not been used for
	// this long; 0 → DefaultSMTPIdleTimeout.
	IdleTimeout time.Duration
	// TLSConfig replaces the client TLS configuration (tests trusting a
	// self-signed certificate); nil → system roots, server name Host,
	// TLS 1.2 or later.
	TLSConfig *tls.Config
}

// SMTPMailer delivers passcode mails over SMTP with github.com/wneessen/go-mail.
// It satisfies passcode.Mailer and is safe for concurrent use: every
// delivery in flight has a connection of its own, taken from a small pool
// of sessions kept open between deliveries (see smtpPool), so a login
// usually pays neither TCP nor TLS handshake nor AUTH.
type SMTPMailer struct {
	o    SMTPOptions
	from *mail.Address
	t    *Templates
	log  *slog.Logger
	pool *smtpPool
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
	if o.MaxIdle < 0 {
		return nil, fmt.Errorf("mail: smtp max idle connections %d is negative", o.MaxIdle)
	}
	if o.MaxIdle == 0 {
		o.MaxIdle = DefaultSMTPMaxIdle
	}
	if o.IdleTimeout < 0 {
		return nil, fmt.Errorf("mail: smtp idle timeout %v is negative", o.IdleTimeout)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultSMTPIdleTimeout
	}
	m := &SMTPMailer{o: o, from: from, t: t, log: log}
	m.pool = &smtpPool{o: &m.o, log: log}
	return m, nil
}

// Close ends the idle connections (QUIT, each bounded by a few seconds)
// and makes connections in use close when their delivery ends. Later
// SendPasscode calls still work, each on a connection of its own that is
// closed afterwards. Close always returns nil; it satisfies io.Closer
// (App.Close calls it on shutdown).
func (m *SMTPMailer) Close() error {
	m.pool.close()
	return nil
}

// SendPasscode renders p (see Templates.RenderPasscode) and delivers it as
// multipart/alternative (text/plain, text/html) from "FromName
// <FromAddress>" to p.To. It returns when the server has accepted the
// message, or with an error of kind inkan.KindBadGateway when delivery
// failed (server unreachable, TLS or AUTH failure, recipient refused,
// connection dropped, timeout). A kept session the server has closed in
// the meantime (EOF, reset, 421) is replaced by a new connection and the
// message sent again, once, but only when the failure came before the
// message data was sent (MAIL, RCPT or DATA command), so the server cannot
// have accepted it. Log lines name p.UserID, never the
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

	start := time.Now()
	reused, err := m.pool.send(ctx, msg)
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
		"user_id", p.UserID, "language", r.Language, "smtp_host", m.o.Host, "reused_connection", reused,
		"duration_ms", time.Since(start).Milliseconds())
	return nil
}
