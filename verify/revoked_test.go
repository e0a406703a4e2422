package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// revokedServer serves a revocation list that tests can change and count.
type revokedServer struct {
	*httptest.Server
	mu   sync.Mutex
	ids  []string
	hits int
	down bool
}

func newRevokedServer(t testing.TB) *revokedServer {
	s := &revokedServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		if s.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		type entry struct {
			SessionID string `json:"session_id"`
			Exp       int64  `json:"exp"`
		}
		body := struct {
			Sessions []entry `json:"sessions"`
		}{Sessions: []entry{}}
		for _, id := range s.ids {
			body.Sessions = append(body.Sessions, entry{id, time.Now().Add(time.Hour).Unix()})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *revokedServer) revoke(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = append(s.ids, id)
}

func (s *revokedServer) hitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func withSession(id string) func(*jwt.Builder) {
	return func(b *jwt.Builder) { b.Claim("session_id", id) }
}

// TestRevocationPolling: a token accepted before its session is revoked is
// refused once the interval has passed; under load the list and the JWKS
// are fetched at most once per interval.
func TestRevocationPolling(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, "k1", jwa.EdDSA())
	keys := newJWKSServer(t, s.public(t))
	list := newRevokedServer(t)
	const interval = 10 * time.Second
	v, clk := newVerifier(t, Options{JWKSURL: keys.URL, RevocationURL: list.URL, RevocationInterval: interval, MaxAge: interval})
	tok := s.sign(t, clk.Now(), withSession(sessionID))
	other := s.sign(t, clk.Now(), withSession("11111111-2222-4333-8444-555555555555"))

	load := func() {
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					_, _ = v.Verify(ctx, other)
				}
			}()
		}
		wg.Wait()
	}
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	load()
	if n := list.hitCount(); n != 1 {
		t.Fatalf("list fetched %d times within one interval, want 1", n)
	}
	list.revoke(sessionID)
	clk.Advance(interval - time.Second)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("within the interval the old list holds: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrRevoked) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("one interval after the revocation: %v; want ErrRevoked", err)
	}
	load()
	if n, k := list.hitCount(), keys.hitCount(); n != 2 || k > 2 {
		t.Fatalf("after two intervals under load: list %d, JWKS %d fetches; want 2, ≤ 2", n, k)
	}
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("another session: %v", err)
	}

	// The list server goes down: the last list is kept.
	list.mu.Lock()
	list.down = true
	list.mu.Unlock()
	clk.Advance(interval)
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("list down: %v; want the last list's ErrRevoked", err)
	}
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("list down, another session: %v", err)
	}
}

// TestRevocationFailsClosed: without a first list no token is accepted.
func TestRevocationFailsClosed(t *testing.T) {
	s := newSigner(t, "k1", jwa.EdDSA())
	keys := newJWKSServer(t, s.public(t))
	list := newRevokedServer(t)
	list.down = true
	v, clk := newVerifier(t, Options{JWKSURL: keys.URL, RevocationURL: list.URL, RevocationInterval: time.Second})
	if _, err := v.Verify(context.Background(), s.sign(t, clk.Now(), withSession(sessionID))); !errors.Is(err, ErrRevocationUnavailable) {
		t.Fatalf("no list: %v; want ErrRevocationUnavailable", err)
	}
}

func TestRevocationURLDefault(t *testing.T) {
	for jwks, want := range map[string]string{
		"https://auth.example.com/.well-known/jwks.json":      "https://auth.example.com/sessions/revoked",
		"https://example.com/auth/.well-known/jwks.json":      "https://example.com/auth/sessions/revoked",
		"http://127.0.0.1:8000/.well-known/jwks.json?x=1#top": "http://127.0.0.1:8000/sessions/revoked",
	} {
		v, err := New(Options{JWKSURL: jwks, RevocationInterval: time.Second})
		if err != nil || v.revURL != want {
			t.Errorf("%s: %q, %v; want %q", jwks, v.revURL, err, want)
		}
	}
	if _, err := New(Options{JWKSURL: "https://a.test/.well-known/jwks.json", RevocationInterval: time.Second, RevocationURL: "/relative"}); err == nil {
		t.Error("relative RevocationURL accepted")
	}
}

// BenchmarkRevocation measures, at 10,000 revoked sessions, the list's
// size, one fetch and parse of it, and Verify with and without the
// revocation check (README "Keeping native apps signed in").
func BenchmarkRevocation(b *testing.B) {
	ctx := context.Background()
	s := newSigner(b, "k1", jwa.EdDSA())
	keys := newJWKSServer(b, s.public(b))
	list := newRevokedServer(b)
	for i := range 10_000 {
		list.ids = append(list.ids, fmt.Sprintf("%08x-2222-4333-8444-555555555555", i))
	}
	resp, err := http.Get(list.URL)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.Logf("list of 10000 sessions: %d bytes", len(body))

	b.Run("fetch+parse", func(b *testing.B) {
		v, err := New(Options{JWKSURL: keys.URL, RevocationURL: list.URL, RevocationInterval: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if l, err := v.fetchRevoked(ctx); err != nil || len(l) != 10_000 {
				b.Fatal(len(l), err)
			}
		}
	})
	b.Run("lookup", func(b *testing.B) {
		v, err := New(Options{JWKSURL: keys.URL, RevocationURL: list.URL, RevocationInterval: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		if err := v.checkRevoked(ctx, sessionID); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := v.checkRevoked(ctx, sessionID); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, interval := range []time.Duration{0, time.Hour} {
		b.Run(fmt.Sprintf("verify/revocation=%v", interval > 0), func(b *testing.B) {
			v, err := New(Options{JWKSURL: keys.URL, RevocationURL: list.URL, RevocationInterval: interval})
			if err != nil {
				b.Fatal(err)
			}
			tok := s.sign(b, time.Now(), withSession(sessionID))
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
