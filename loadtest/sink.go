package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is the SMTP server the passcode mails of a load test go to: it
// keeps the newest code per recipient and wakes whoever waits for it.
// Point the server's email_delivery.smtp.host/port at its address.
type sink struct {
	srv   *smtp.Server
	ln    net.Listener
	mu    sync.Mutex
	codes map[string]string        // recipient address -> newest code
	wait  map[string]chan struct{} // closed when a code arrives
	mails int
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// startSink listens on addr (host:port, loopback in practice) and serves
// SMTP until close.
func startSink(addr string) (*sink, error) {
	s := &sink{codes: map[string]string{}, wait: map[string]chan struct{}{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp sink: %w", err)
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) addr() string { return s.ln.Addr().String() }

func (s *sink) close() { _ = s.srv.Close(); _ = s.ln.Close() }

// code returns the code for address that arrives after (or before, if not
// yet taken) the call, waiting until ctx ends. Each code is handed out once.
func (s *sink) code(ctx context.Context, address string) (string, error) {
	for {
		s.mu.Lock()
		if c, ok := s.codes[address]; ok {
			delete(s.codes, address)
			s.mu.Unlock()
			return c, nil
		}
		ch, ok := s.wait[address]
		if !ok {
			ch = make(chan struct{})
			s.wait[address] = ch
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", fmt.Errorf("no passcode mail for %s: %w", address, ctx.Err())
		}
	}
}

func (s *sink) deliver(to []string, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mails++
	for _, a := range to {
		a = strings.ToLower(a)
		s.codes[a] = code
		if ch, ok := s.wait[a]; ok {
			close(ch)
			delete(s.wait, a)
		}
	}
}

type sinkSession struct {
	s  *sink
	to []string
}

func (ss *sinkSession) AuthMechanisms() []string             { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Reset()        { ss.to = nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	code, err := mailCode(raw)
	if err != nil {
		return nil // not a passcode mail: accepted and ignored
	}
	ss.s.deliver(ss.to, code)
	return nil
}

// mailCode finds the six-digit code in the text/plain part of a message
// (a single text/plain body or multipart/alternative).
func mailCode(raw []byte) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	text, err := plainText(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return "", err
	}
	if c := sixDigits.FindString(text); c != "" {
		return c, nil
	}
	return "", errors.New("no code in the message")
}

func plainText(contentType, encoding string, body io.Reader) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return "", errors.New("no text/plain part")
			}
			if t, err := plainText(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err == nil {
				return t, nil
			}
		}
	}
	if mt != "text/plain" {
		return "", errors.New("not text/plain")
	}
	var r io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		b, err := io.ReadAll(body)
		if err != nil {
			return "", err
		}
		return decodeBase64(b)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

func decodeBase64(b []byte) (string, error) {
	out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	return string(out), err
}
