package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// quitTimeout bounds the QUIT that ends a kept session.
const quitTimeout = 2 * time.Second

// smtpPool keeps up to SMTPOptions.MaxIdle connected, greeted (EHLO),
// encrypted and authenticated go-mail clients between deliveries. A
// gomail.Client is not safe for concurrent use, so each delivery in flight
// holds one client; idle ones are a LIFO stack, so under light load the
// surplus ages out. Each idle client has a timer that QUITs it after
// SMTPOptions.IdleTimeout.
type smtpPool struct {
	o   *SMTPOptions
	log *slog.Logger

	mu     sync.Mutex
	idle   []*smtpConn // most recently used last
	closed bool
}

// smtpConn is one SMTP session.
type smtpConn struct {
	c    *gomail.Client
	conn net.Conn // the connection go-mail dialled (TLS for implicit TLS)
	ctx  context.Context
	stop func() bool // ends the close-on-ctx hook of the current delivery
	idle *time.Timer // the idle timeout while in the pool
}

// send delivers msg on a kept session or a new one. A kept session that
// fails with a connection-level error before the message data was sent is
// closed and the message is sent once more on a new connection
// (retryable). reused reports whether the delivery that succeeded ran on
// a kept session.
func (p *smtpPool) send(ctx context.Context, msg *gomail.Msg) (reused bool, err error) {
	if sc := p.get(); sc != nil {
		err := p.deliver(ctx, sc, msg)
		if err == nil {
			return true, nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return false, err
		}
		p.log.DebugContext(ctx, "kept smtp session failed, retrying on a new connection", "error", err.Error())
	}
	sc, err := p.dial(ctx)
	if err != nil {
		return false, fmt.Errorf("dial failed: %w", err)
	}
	return false, p.deliver(ctx, sc, msg)
}

// deliver sends msg on sc and puts sc back into the pool on success; on
// failure sc is closed. A failure of the RSET after an accepted message
// counts as delivered (the server has the message), but the session is
// not kept.
func (p *smtpPool) deliver(ctx context.Context, sc *smtpConn, msg *gomail.Msg) error {
	sc.ctx = ctx
	// go-mail's deadlines are per command; closing the connection when
	// ctx ends bounds the whole conversation.
	conn := sc.conn
	sc.stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
	err := sc.c.Send(msg)
	live := sc.stop()
	var se *gomail.SendError
	if err != nil && errors.As(err, &se) && se.Reason == gomail.ErrSMTPReset && msg.IsDelivered() {
		sc.discard()
		return nil
	}
	if err != nil || !live {
		sc.discard()
		return err
	}
	p.put(sc)
	return nil
}

// retryable reports whether err, from go-mail's Send on a kept session,
// shows the session was dead before the message data went out: the
// connection check, MAIL FROM, RCPT TO or the DATA command failed without a
// server reply (EOF, reset, broken pipe: code 0) or with 421 (RFC 5321
// §4.2.2 "closing transmission channel"). Failures while sending or ending
// the data are never retried: the server may have accepted the message.
func retryable(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrConnCheck, gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData:
	default:
		return false
	}
	code := se.ErrorCode()
	return code == 0 || code == 421
}

// get pops the most recently used idle session, or returns nil.
func (p *smtpPool) get() *smtpConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	sc := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	sc.idle.Stop() // expire finds sc gone from idle if it already fired
	return sc
}

// put keeps sc for reuse, or closes it when the pool is full or closed.
func (p *smtpPool) put(sc *smtpConn) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.o.MaxIdle {
		p.mu.Unlock()
		sc.quit()
		return
	}
	sc.ctx, sc.stop = nil, nil
	if sc.idle == nil {
		sc.idle = time.AfterFunc(p.o.IdleTimeout, func() { p.expire(sc) })
	} else {
		sc.idle.Reset(p.o.IdleTimeout)
	}
	p.idle = append(p.idle, sc)
	p.mu.Unlock()
}

// expire QUITs sc if it is still idle.
func (p *smtpPool) expire(sc *smtpConn) {
	p.mu.Lock()
	for i, x := range p.idle {
		if x == sc {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.mu.Unlock()
			sc.quit()
			return
		}
	}
	p.mu.Unlock()
}

// close QUITs the idle sessions; sessions in use are closed when put back.
func (p *smtpPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, sc := range idle {
		sc.idle.Stop()
		sc.quit()
	}
}

// quit ends the session politely (QUIT, bounded by quitTimeout) and closes
// the connection.
func (sc *smtpConn) quit() {
	_ = sc.conn.SetDeadline(time.Now().Add(quitTimeout))
	_ = sc.c.Close()
	_ = sc.conn.Close()
}

// discard closes the connection without a QUIT (the session is broken or
// in an unknown state).
func (sc *smtpConn) discard() { _ = sc.conn.Close() }

// dial connects, greets, secures and authenticates a new session with the
// options of the mailer (TLS policy and AUTH as described at SMTPOptions).
func (p *smtpPool) dial(ctx context.Context) (*smtpConn, error) {
	o := p.o
	sc := &smtpConn{ctx: ctx}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		nd := &net.Dialer{}
		var conn net.Conn
		var err error
		if o.ImplicitTLS {
			conn, err = (&tls.Dialer{NetDialer: nd, Config: o.TLSConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = nd.DialContext(dctx, network, addr)
		}
		if err == nil {
			sc.conn = conn
			// Bounds the greeting, STARTTLS and AUTH by the delivery's ctx.
			sc.stop = context.AfterFunc(sc.ctx, func() { _ = conn.Close() })
		}
		return conn, err
	}
	opts := []gomail.Option{
		gomail.WithPort(o.Port),
		gomail.WithTimeout(o.Timeout),
		gomail.WithTLSConfig(o.TLSConfig),
		gomail.WithDialContextFunc(dial),
		// A dead kept session shows at MAIL FROM as well, where it is
		// retried (retryable); a NOOP before each message would cost a
		// round trip per delivery.
		gomail.WithoutNoop(),
	}
	if o.ImplicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else if o.RequireTLS {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if o.User != "" {
		// PLAIN and LOGIN are refused by go-mail on an unencrypted
		// connection to anything but localhost.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin, gomail.SMTPAuthCramMD5),
			gomail.WithUsername(o.User), gomail.WithPassword(o.Password))
	}
	c, err := gomail.NewClient(o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	sc.c = c
	err = c.DialWithContext(ctx)
	if sc.stop != nil {
		sc.stop()
	}
	if err != nil {
		if sc.conn != nil {
			_ = sc.conn.Close()
		}
		return nil, err
	}
	return sc, nil
}
