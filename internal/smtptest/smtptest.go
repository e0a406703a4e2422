// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// 127.0.0.1:0 for tests. It records every message it accepts and can be told
// to fail the ways real servers fail: refuse recipients, drop the connection
// during DATA, stall, or require authentication. STARTTLS and implicit TLS
// use a self-signed certificate generated in-process.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted (RFC 5321 envelope + data).
type Message struct {
	From string   // MAIL FROM reverse-path
	To   []string // RCPT TO forward-paths, in order
	Data []byte   // the RFC 5322 message as received, headers and body
	TLS  bool     // true when delivered over STARTTLS or implicit TLS
	User string   // the authenticated user name, "" without AUTH
}

// Option configures a Server at Start.
type Option func(*Server)

// RefuseRecipients makes the server answer every RCPT TO with
// "550 5.1.1 mailbox unavailable".
func RefuseRecipients() Option { return func(s *Server) { s.refuseRcpt = true } }

// CloseOnData makes the server drop the TCP connection as soon as the
// client starts sending message data; nothing is recorded.
func CloseOnData() Option { return func(s *Server) { s.closeOnData = true } }

// Stall makes the server accept TCP connections but wait d before writing
// each reply line (the greeting included). A d longer than the client's
// timeout means "never answers"; a short d means "answers slowly".
// Waiting ends early when the server is closed.
func Stall(d time.Duration) Option { return func(s *Server) { s.stall = d } }

// RequireAuth makes the server offer AUTH PLAIN (also without TLS) and
// refuse MAIL FROM with "502 5.7.0 Please authenticate first" until the
// client has authenticated as user/pass.
func RequireAuth(user, pass string) Option {
	return func(s *Server) { s.authUser, s.authPass = user, pass }
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1 and localhost; see Server.ClientTLSConfig.
func WithSTARTTLS() Option { return func(s *Server) { s.startTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (SMTPS,
// RFC 8314 §3.3) with the self-signed certificate; see Server.ClientTLSConfig.
func WithImplicitTLS() Option { return func(s *Server) { s.implicitTLS = true } }

// Server is a running SMTP test server. Addr is "127.0.0.1:<port>"; Host
// and Port are its parts. The failure modes may also be changed while it
// runs with the Set… methods.
type Server struct {
	Addr string
	Host string
	Port int

	srv      *smtp.Server
	certPool *x509.CertPool

	mu          sync.Mutex
	refuseRcpt  bool
	closeOnData bool
	stall       time.Duration
	authUser    string
	authPass    string
	startTLS    bool
	implicitTLS bool
	messages    []Message
	waited      int           // messages already returned by WaitMessage
	arrived     chan struct{} // closed and replaced when a message is recorded
	changed     chan struct{} // closed and replaced when a connection opens or closes
	conns       map[*trackedConn]struct{}
	accepted    int
	closed      chan struct{}
}

// Start starts a server on 127.0.0.1:0 and closes it in t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{}), changed: make(chan struct{}), conns: map[*trackedConn]struct{}{}, closed: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.startTLS || s.implicitTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: certificate: %v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.certPool = pool
	}
	s.srv = srv

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	var ln net.Listener = &trackListener{Listener: &stallListener{Listener: l, s: s}, s: s}
	if s.implicitTLS {
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else if !s.startTLS {
		srv.TLSConfig = nil
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Addr, s.Host, s.Port = addr.String(), addr.IP.String(), addr.Port

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		close(s.closed)
		_ = srv.Close()
		// Serve may not have registered the listener with srv yet, in
		// which case srv.Close leaves it open and Serve would block in
		// Accept forever; closing it here ends Serve either way.
		_ = l.Close()
		<-done
	})
	return s
}

// ClientTLSConfig returns a TLS client configuration that trusts the
// server's self-signed certificate (server name 127.0.0.1), or nil when the
// server was started without WithSTARTTLS or WithImplicitTLS.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.certPool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.certPool, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// SetRefuseRecipients switches RefuseRecipients on or off for new commands.
func (s *Server) SetRefuseRecipients(on bool) { s.mu.Lock(); s.refuseRcpt = on; s.mu.Unlock() }

// SetCloseOnData switches CloseOnData on or off for new commands.
func (s *Server) SetCloseOnData(on bool) { s.mu.Lock(); s.closeOnData = on; s.mu.Unlock() }

// SetStall sets the Stall delay for connections accepted from now on; 0
// turns stalling off.
func (s *Server) SetStall(d time.Duration) { s.mu.Lock(); s.stall = d; s.mu.Unlock() }

// Messages returns a copy of every message accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.To = slices.Clone(m.To)
		m.Data = slices.Clone(m.Data)
		out[i] = m
	}
	return out
}

// WaitMessage returns the oldest message not yet returned by WaitMessage,
// waiting for it up to timeout (an upper bound, not an expectation); it
// fails the test when none arrives in time.
func (s *Server) WaitMessage(t testing.TB, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.waited < len(s.messages) {
			m := s.messages[s.waited]
			s.waited++
			s.mu.Unlock()
			m.To = slices.Clone(m.To)
			m.Data = slices.Clone(m.Data)
			return m
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("smtptest: no message within %v", timeout)
			return Message{}
		}
	}
}

// Connections returns how many TCP connections the server has accepted so
// far and how many of them are still open (neither side has closed them).
func (s *Server) Connections() (accepted, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, len(s.conns)
}

// WaitConnections waits up to timeout (an upper bound, not an expectation)
// until cond, called with Connections' values, holds; it fails the test
// otherwise.
func (s *Server) WaitConnections(t testing.TB, timeout time.Duration, cond func(accepted, open int) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		accepted, open, changed := s.accepted, len(s.conns), s.changed
		s.mu.Unlock()
		if cond(accepted, open) {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("smtptest: connections (accepted %d, open %d) not as expected within %v", accepted, open, timeout)
			return
		}
	}
}

// DropConnections closes every open connection from the server side
// without a reply, as a relay dropping idle sessions does.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (s *Server) connChanged() { // with s.mu held
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, c: c}, nil
}

// session implements smtp.Session and smtp.AuthSession.
type session struct {
	s    *Server
	c    *smtp.Conn
	user string
	from string
	to   []string
}

var (
	errRefused = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	errAuth    = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication credentials invalid"}
)

func (ss *session) AuthMechanisms() []string {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.authUser == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		ss.s.mu.Lock()
		ok := ss.s.authUser != "" && user == ss.s.authUser && pass == ss.s.authPass
		ss.s.mu.Unlock()
		if !ok {
			return errAuth
		}
		ss.user = user
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	needAuth := ss.s.authUser != ""
	ss.s.mu.Unlock()
	if needAuth && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	refuse := ss.s.refuseRcpt
	ss.s.mu.Unlock()
	if refuse {
		return errRefused
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	ss.s.mu.Lock()
	drop := ss.s.closeOnData
	ss.s.mu.Unlock()
	if drop {
		_ = ss.c.Conn().Close()
		_, _ = io.Copy(io.Discard, r)
		return errors.New("connection dropped")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.s.record(Message{From: ss.from, To: slices.Clone(ss.to), Data: data, TLS: isTLS, User: ss.user})
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// trackListener counts accepted connections and keeps the open ones for
// Connections and DropConnections. It wraps the plain TCP listener (below
// TLS), so a connection counts from accept to close.
type trackListener struct {
	net.Listener
	s *Server
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.accepted++
	l.s.conns[tc] = struct{}{}
	l.s.connChanged()
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.connChanged()
		c.s.mu.Unlock()
	})
	return err
}

// stallListener wraps accepted connections so that writes wait for the
// server's stall delay.
type stallListener struct {
	net.Listener
	s *Server
}

func (l *stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	d := l.s.stall
	l.s.mu.Unlock()
	if d <= 0 {
		return c, nil
	}
	return &stallConn{Conn: c, delay: d, serverClosed: l.s.closed, connClosed: make(chan struct{})}, nil
}

type stallConn struct {
	net.Conn
	delay        time.Duration
	serverClosed <-chan struct{}
	connClosed   chan struct{}
	once         sync.Once
}

func (c *stallConn) Write(p []byte) (int, error) {
	timer := time.NewTimer(c.delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-c.serverClosed:
	case <-c.connClosed:
	}
	return c.Conn.Write(p)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.connClosed) })
	return c.Conn.Close()
}

// selfSigned makes an ECDSA P-256 certificate for 127.0.0.1 and localhost,
// valid for one hour, and a pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool, nil
}
