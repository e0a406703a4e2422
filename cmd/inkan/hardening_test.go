package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowHeadersAreCut: a client that sends part of a request header and
// stalls (slowloris) is disconnected by server.read_header_timeout, and the
// server keeps answering others. The read deadline below is a hang
// detector, far above the configured 1s.
func TestSlowHeadersAreCut(t *testing.T) {
	env := baseEnv(t, "sqlite")
	env["SERVER_READ_HEADER_TIMEOUT"] = "1s"
	s := startServer(t, env)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /health/alive HTTP/1.1\r\nHost: "+u.Host+"\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a stalled request header was not cut by the server within 60s (read %q)", b)
	}
	if strings.Contains(string(b), "200 OK") {
		t.Fatalf("server answered an incomplete request: %q", b)
	}
	t.Logf("stalled header connection closed by the server after %s", time.Since(began).Round(time.Millisecond))

	resp, err := http.Get(s.URL + "/health/alive")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("server after the stall: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestServeDatabaseStall (PostgreSQL): the database stops answering (a
// proxy in front of it swallows every byte). Requests that need it fail
// with 503 within the request deadline instead of hanging, and
// /health/ready turns 503 "database unavailable".
func TestServeDatabaseStall(t *testing.T) {
	if os.Getenv("INKAN_TEST_POSTGRES_URL") == "" {
		t.Skip("INKAN_TEST_POSTGRES_URL not set; skipping the PostgreSQL stall test")
	}
	env := baseEnv(t, "postgres")
	pg, err := url.Parse(env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, pg.Host)
	pg.Host = proxy.Addr()
	env["DATABASE_URL"] = pg.String()
	env["DATABASE_MAX_OPEN_CONNS"] = "2"
	env["RATE_LIMITER_ENABLED"] = "false"
	s := startServer(t, env)

	proxy.Stall()
	type result struct {
		status int
		body   string
		err    error
	}
	client := &http.Client{Timeout: 90 * time.Second}
	get := func(method, path, body string) result {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return result{err: err}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{status: resp.StatusCode, body: string(b)}
	}
	if r := get("GET", "/health/ready", ""); r.err != nil || r.status != 503 || !strings.Contains(r.body, "database unavailable") {
		t.Fatalf("ready with a stalled database: %+v", r)
	}
	done := make(chan result, 4)
	for range 4 { // more than the pool holds
		go func() { done <- get("POST", "/user", `{"email":"stall@example.test"}`) }()
	}
	for range 4 {
		r := <-done
		if r.err != nil || r.status != 503 || !strings.Contains(r.body, `"code":503`) {
			t.Fatalf("request with a stalled database: %+v", r)
		}
	}
	if r := get("GET", "/health/alive", ""); r.status != 200 {
		t.Fatalf("alive: %+v", r)
	}
}

// stallProxy forwards TCP to a target until Stall: from then on it keeps
// accepting but never forwards a byte, and stalls open connections too.
type stallProxy struct {
	ln      net.Listener
	target  string
	stalled chan struct{}
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, stalled: make(chan struct{})}
	var mu sync.Mutex
	var conns []net.Conn
	keep := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			keep(c)
			select {
			case <-p.stalled:
				continue // hold it open, silent
			default:
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			keep(u)
			go p.pipe(u, c)
			go p.pipe(c, u)
		}
	}()
	return p
}

func (p *stallProxy) Addr() string { return p.ln.Addr().String() }

// Stall stops forwarding.
func (p *stallProxy) Stall() { close(p.stalled) }

// pipe copies src to dst until Stall, then swallows src.
func (p *stallProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		select {
		case <-p.stalled:
			continue
		default:
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestMaxConnections: with server.max_connections 2, two kept-alive
// connections hold both slots and a third is not served until one of them
// closes — then it is. The short read deadline only checks that the third
// is NOT answered (a slow machine cannot make that fail); the long one is
// a hang detector.
func TestMaxConnections(t *testing.T) {
	env := baseEnv(t, "sqlite")
	env["SERVER_MAX_CONNECTIONS"] = "2"
	s := startServer(t, env)
	http.DefaultClient.CloseIdleConnections() // the readiness probe's connection
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	request := "GET /health/alive HTTP/1.1\r\nHost: " + u.Host + "\r\n\r\n"
	open := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		return c
	}
	answered := func(c net.Conn, within time.Duration) bool {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(within))
		b := make([]byte, 12)
		_, err := io.ReadFull(c, b)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false
		}
		if err != nil || string(b) != "HTTP/1.1 200" {
			t.Fatalf("read %q: %v", b, err)
		}
		return true
	}
	first, second := open(), open()
	for _, c := range []net.Conn{first, second} {
		if !answered(c, 60*time.Second) {
			t.Fatal("a connection within the limit was not served")
		}
	}
	third := open()
	if answered(third, 300*time.Millisecond) {
		t.Fatal("a third connection was served while two held both slots")
	}
	first.Close()
	if !answered(third, 60*time.Second) {
		t.Fatal("the third connection was not served after a slot freed")
	}
	if !strings.Contains(s.Stderr.String(), `"max_connections":2`) {
		t.Fatalf("the limit is not logged:\n%s", s.Stderr.String())
	}
}
