package ratelimit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/outboxtest"
)

// redisOptions returns client options from INKAN_TEST_REDIS_URL or skips.
func newClient(t *testing.T, opt *redis.Options) *redis.Client {
	t.Helper()
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix unique to this test run and removes its
// keys afterwards.
func testPrefix(t *testing.T, opt *redis.Options) string {
	t.Helper()
	prefix := fmt.Sprintf("inkan-test:ratelimit:%s:%d:", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// testHashKey keys the Redis key hash in tests.
var testHashKey = []byte("0123456789abcdef-ratelimit-test")

// Bucket keys hold e-mail addresses, user ids and client addresses; none
// of them may appear in Redis in the clear, and two limiters with the same
// hash key (two nodes) still share the bucket.
func TestRedisKeysAreKeyedHashes(t *testing.T) {
	opt := dbtest.RedisOptions(t)
	prefix := testPrefix(t, opt)
	c := newClient(t, opt)
	lim := Limit{Tokens: 2, Interval: time.Hour}
	key := Key("/passcode/login/initialize", "email", "carol@example.test")
	mustTake(t, NewRedis(c, prefix, testHashKey), key, lim)
	mustTake(t, NewRedis(newClient(t, opt), prefix, testHashKey), key, lim)
	if res := mustTake(t, NewRedis(c, prefix, testHashKey), key, lim); res.Allowed {
		t.Fatalf("third take across two limiters allowed: %+v", res)
	}
	// Another hash key is another bucket: the key is not the plain text.
	if res := mustTake(t, NewRedis(c, prefix, []byte("another-secret-0123456789")), key, lim); !res.Allowed {
		t.Fatalf("take under another hash key denied: %+v", res)
	}
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("redis keys %q, want 2", keys)
	}
	for _, k := range keys {
		if strings.Contains(k, "carol") || strings.Contains(k, "example") || strings.Contains(k, "passcode") || len(k) != len(prefix)+43 {
			t.Fatalf("redis key %q is not a keyed hash", k)
		}
	}
}

func TestRedisAllowsTokensThenDenies(t *testing.T) {
	opt := dbtest.RedisOptions(t)
	prefix := testPrefix(t, opt)
	c := newClient(t, opt)
	r := NewRedis(c, prefix, testHashKey)
	lim := Limit{Tokens: 3, Interval: time.Minute}
	for i := range 3 {
		res := mustTake(t, r, "k", lim)
		if !res.Allowed || res.Limit != 3 || res.Remaining != 2-i || res.RetryAfter != 0 ||
			res.Reset <= 0 || res.Reset > time.Duration(i+1)*20*time.Second {
			t.Fatalf("take %d = %+v", i+1, res)
		}
	}
	res := mustTake(t, r, "k", lim)
	if res.Allowed || res.Remaining != 0 || res.RetryAfter <= 0 || res.RetryAfter > 20*time.Second ||
		res.Reset <= 40*time.Second || res.Reset > time.Minute {
		t.Fatalf("take 4 = %+v, want denied with 0 < RetryAfter <= 20s", res)
	}
	// The key expires once the bucket would be full again, within Interval.
	ttl, err := c.PTTL(context.Background(), r.redisKey("k")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL = %s, want in (0, 1m]", ttl)
	}
	// Keys are independent.
	if !mustTake(t, r, "other", lim).Allowed {
		t.Fatal("other key denied")
	}
}

func TestRedisRefillsOverTime(t *testing.T) {
	opt := dbtest.RedisOptions(t)
	r := NewRedis(newClient(t, opt), testPrefix(t, opt), testHashKey)
	lim := Limit{Tokens: 2, Interval: 300 * time.Millisecond}
	mustTake(t, r, "k", lim)
	mustTake(t, r, "k", lim)
	res := mustTake(t, r, "k", lim)
	if res.Allowed || res.RetryAfter <= 0 {
		t.Fatalf("third take = %+v, want denied", res)
	}
	// Wait as long as the limiter says, then poll (Redis's clock, not ours).
	time.Sleep(res.RetryAfter)
	for i := 0; ; i++ {
		res = mustTake(t, r, "k", lim)
		if res.Allowed {
			break
		}
		if i == 100 {
			t.Fatalf("still denied after RetryAfter: %+v", res)
		}
		time.Sleep(res.RetryAfter)
	}
}

// Two nodes (two clients, two limiters, same prefix) share one budget.
func TestRedisTwoNodesShareBudget(t *testing.T) {
	opt := dbtest.RedisOptions(t)
	prefix := testPrefix(t, opt)
	nodes := []*Redis{NewRedis(newClient(t, opt), prefix, testHashKey), NewRedis(newClient(t, opt), prefix, testHashKey)}
	lim := Limit{Tokens: 5, Interval: time.Hour}
	allowed := 0
	for i := range 20 {
		if mustTake(t, nodes[i%2], Key("/token", "u", "192.0.2.7"), lim).Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("allowed %d across two nodes, want 5", allowed)
	}
}

func TestRedisConcurrentNeverExceedsTokens(t *testing.T) {
	opt := dbtest.RedisOptions(t)
	prefix := testPrefix(t, opt)
	nodes := []*Redis{NewRedis(newClient(t, opt), prefix, testHashKey), NewRedis(newClient(t, opt), prefix, testHashKey)}
	lim := Limit{Tokens: 10, Interval: time.Hour}
	var n atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			res, err := nodes[i%2].Take(context.Background(), "shared", lim)
			if err != nil {
				t.Error(err)
				return
			}
			if res.Allowed {
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if got := n.Load(); got != 10 {
		t.Fatalf("allowed %d of 100, want exactly 10", got)
	}
}

// proxy forwards TCP connections to target while up; when down it drops all
// connections and refuses new ones (closes them at once).
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.setUp(false)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up
		p.mu.Unlock()
		if !up {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(out, in) })
		p.wg.Go(func() { pipe(in, out) })
	}
}

func (p *proxy) setUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			c.Close()
			delete(p.conns, c)
		}
	}
}

func TestFallbackRedisGoesAwayAndComesBack(t *testing.T) {
	opt := dbtest.RedisOptions(t)
	prefix := testPrefix(t, opt)
	p := startProxy(t, opt.Addr)
	popt := *opt
	popt.Addr = p.ln.Addr().String()
	popt.MaxRetries = -1 // fail at once instead of retrying
	popt.DialerRetries = 1
	var logs outboxtest.Buffer
	f := NewFallback(NewRedis(newClient(t, &popt), prefix, testHashKey), NewMemory(nil), slog.New(slog.NewTextHandler(&logs, nil)))
	f.probeEvery = 0 // probe on every degraded Take

	key := Key("/passcode/login/initialize", "alice@example.test", "192.0.2.1")
	lim := Limit{Tokens: 3, Interval: time.Hour}
	for i := range 2 {
		if res := mustTake(t, f, key, lim); !res.Allowed || res.Remaining != 2-i {
			t.Fatalf("redis take %d = %+v", i+1, res)
		}
	}
	if f.Degraded() {
		t.Fatal("degraded while Redis is up")
	}

	p.setUp(false)
	// Served from memory: a fresh per-node budget of 3, then denied.
	for i := range 3 {
		if res := mustTake(t, f, key, lim); !res.Allowed || res.Remaining != 2-i {
			t.Fatalf("memory take %d = %+v", i+1, res)
		}
		if !f.Degraded() {
			t.Fatal("not degraded while Redis is down")
		}
	}
	if res := mustTake(t, f, key, lim); res.Allowed || res.RetryAfter <= 0 {
		t.Fatalf("memory take 4 = %+v, want denied", res)
	}
	if n := strings.Count(logs.String(), "unreachable"); n != 1 {
		t.Fatalf("logged %d unreachable lines, want 1:\n%s", n, logs.String())
	}

	p.setUp(true)
	// Back on Redis: its bucket still has 1 of 3 tokens left.
	if res := mustTake(t, f, key, lim); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("take after recovery = %+v, want Redis's last token", res)
	}
	if f.Degraded() {
		t.Fatal("still degraded after Redis came back")
	}
	if res := mustTake(t, f, key, lim); res.Allowed {
		t.Fatalf("Redis budget exceeded after recovery: %+v", res)
	}
	out := logs.String()
	if n := strings.Count(out, "reachable again"); n != 1 {
		t.Fatalf("logged %d recovery lines, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "alice") || strings.Contains(out, prefix) {
		t.Fatalf("log leaks the bucket key:\n%s", out)
	}
}

// Without any Redis: a client to a closed port degrades at once, logs once,
// and probes only every probeEvery.
func TestFallbackUnreachableRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })

	var logs outboxtest.Buffer
	clk := newClock()
	f := NewFallback(NewRedis(c, "p:", testHashKey), NewMemory(clk.Now), slog.New(slog.NewTextHandler(&logs, nil)))
	f.now = clk.Now
	lim := Limit{Tokens: 2, Interval: time.Minute}
	want := []bool{true, true, false, false}
	for i, w := range want {
		res := mustTake(t, f, "bob@example.test", lim)
		if res.Allowed != w {
			t.Fatalf("take %d = %+v, want allowed=%v", i+1, res, w)
		}
	}
	if !f.Degraded() {
		t.Fatal("not degraded")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("logged %d warnings, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "bob") {
		t.Fatalf("log leaks the key:\n%s", logs.String())
	}
	// A probe is due after probeEvery; it fails, still one warning.
	clk.Advance(probeEvery)
	mustTake(t, f, "bob@example.test", lim)
	if !f.Degraded() || strings.Count(logs.String(), "level=WARN") != 1 {
		t.Fatalf("after failed probe: degraded=%v logs:\n%s", f.Degraded(), logs.String())
	}
	if _, err := f.Take(context.Background(), "k", Limit{}); err == nil {
		t.Fatal("invalid limit accepted")
	}
}
