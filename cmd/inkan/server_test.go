package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/client"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/outboxtest"
)

// testServer is a real inkan started through run() on ephemeral ports.
type testServer struct {
	URL      string // public API
	AdminURL string
	Stdout   *outboxtest.Buffer // the development outbox
	Stderr   *outboxtest.Buffer // the log (JSON lines)
	cancel   context.CancelFunc
	done     chan struct{} // closed when run returned; err holds its result
	err      error
}

// baseEnv is the environment every test server gets: ephemeral ports, JSON
// logs, the given database. dialect "sqlite" uses a file in dir.
func baseEnv(t *testing.T, dialect string) map[string]string {
	env := map[string]string{
		"SERVER_PUBLIC_ADDRESS": "127.0.0.1:0",
		"SERVER_ADMIN_ADDRESS":  "127.0.0.1:0",
		"LOG_FORMAT":            "json",
		"LOG_LEVEL":             "debug",
	}
	o := dbtest.Options(t, dialect)
	env["DATABASE_DIALECT"] = o.Dialect
	if o.Dialect == "sqlite" {
		env["DATABASE_DATABASE"] = o.DSN
	} else {
		env["DATABASE_URL"] = o.DSN
		env["SECRETS_KEYS"] = "a-test-secret-that-is-long-enough"
		env["DATABASE_AUTO_MIGRATE"] = "true"
		env["EMAIL_DELIVERY_MAILER"] = "development" // the test reads passcodes from standard output
	}
	return env
}

// startServer runs `inkan serve` with env until the test ends, and waits
// until /health/ready answers 200.
func startServer(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	return startServerArgs(t, env, "serve")
}

// stop ends the server and waits until run returned (its error is checked at cleanup).
func (s *testServer) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s after cancel")
	}
}

// startServerArgs runs the command line args (a serve command) like startServer.
func startServerArgs(t *testing.T, env map[string]string, args ...string) *testServer {
	t.Helper()
	s := runServer(t, env, args...)
	s.waitAddrs(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/ready never answered 200 (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runServer runs the command line args (serve) with env until the test ends, without waiting for it.
func runServer(t *testing.T, env map[string]string, args ...string) *testServer {
	t.Helper()
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{Stdout: &outboxtest.Buffer{}, Stderr: &outboxtest.Buffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		s.err = run(ctx, args, environ, strings.NewReader(""), s.Stdout, s.Stderr)
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
			if s.err != nil && !t.Failed() {
				t.Errorf("serve returned %v", s.err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("serve did not stop within 20s after cancel")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.Stderr.String())
		}
	})
	return s
}

// waitAddrs waits until the server logged both listening addresses (http:// URLs).
func (s *testServer) waitAddrs(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for s.URL == "" || s.AdminURL == "" {
		select {
		case <-s.done:
			t.Fatalf("serve exited early: %v\nlog:\n%s", s.err, s.Stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not report its addresses\nlog:\n%s", s.Stderr.String())
		}
		s.URL, s.AdminURL = listenAddrs(s.Stderr.String())
		time.Sleep(20 * time.Millisecond)
	}
}

// listenAddrs finds the "public API listening" and "admin API listening"
// log lines and returns their URLs.
func listenAddrs(log string) (public, admin string) {
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch line.Msg {
		case "public API listening":
			public = "http://" + line.Addr
		case "admin API listening":
			admin = "http://" + line.Addr
		}
	}
	return public, admin
}

// lastCode returns the newest passcode the development outbox holds for
// address, failing the test when there is none.
func (s *testServer) lastCode(t *testing.T, address string) string {
	t.Helper()
	code, ok := s.Stdout.Code(address)
	if !ok {
		t.Fatalf("no passcode for %s in the outbox:\n%s", address, s.Stdout.String())
	}
	return code
}

// signUpWithPasscode creates a user for email through c, asks for a passcode and returns the user and
// the JSON body that finalizes it.
func (s *testServer) signUpWithPasscode(t *testing.T, c *client.Client, email string) (*client.CreatedUser, string) {
	t.Helper()
	ctx := context.Background()
	created, err := c.CreateUser(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.InitPasscode(ctx, created.UserID, created.EmailID)
	if err != nil {
		t.Fatal(err)
	}
	return created, `{"id":"` + pc.ID + `","code":"` + s.lastCode(t, email) + `"}`
}

func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d@example.test", prefix, time.Now().UnixNano())
}
