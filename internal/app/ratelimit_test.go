package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/ratelimit"
)

// uniqueAddress is an address no earlier run used, so buckets in a shared
// Redis never carry over between runs.
func uniqueAddress(prefix string) string {
	return fmt.Sprintf("%s-%d@example.test", prefix, time.Now().UnixNano())
}

// assertLimited checks a 429 with Hanko's body and every rate-limit header.
func assertLimited(t *testing.T, r response, limit int) {
	t.Helper()
	if r.Status != 429 || strings.TrimSpace(string(r.Body)) != `{"code":429,"message":"Too Many Requests"}` {
		t.Fatalf("want 429, got %d %s", r.Status, r.Body)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	if got := r.Header.Get("X-RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Fatalf("X-RateLimit-Limit = %q, want %d", got, limit)
	}
	if got := r.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Fatalf("X-RateLimit-Remaining = %q, want 0", got)
	}
	if reset, err := strconv.Atoi(r.Header.Get("X-RateLimit-Reset")); err != nil || reset < 1 || reset > 60 {
		t.Fatalf("X-RateLimit-Reset = %q", r.Header.Get("X-RateLimit-Reset"))
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("429 without Cache-Control: no-store")
	}
}

// exhaustPasscodeBudget sends passcode initialize for ids until the
// configured 3 tokens are used, checking the headers on each success, then
// expects 429. headers(i) gives the request headers of the i-th call.
func exhaustPasscodeBudget(t *testing.T, nodes []*harness, ids [2]string, headers func(i int) []string) {
	t.Helper()
	for i := range 3 {
		r := nodes[i%len(nodes)].initPasscodeFrom(t, ids, headers(i)...)
		if r.Status != 200 {
			t.Fatalf("init %d: %d %s", i+1, r.Status, r.Body)
		}
		if r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) || r.Header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("init %d headers: limit %q remaining %q reset %q", i+1,
				r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"), r.Header.Get("X-RateLimit-Reset"))
		}
	}
	for i := range 2 {
		assertLimited(t, nodes[(3+i)%len(nodes)].initPasscodeFrom(t, ids, headers(3+i)...), 3)
	}
}

func TestRateLimitPasscodeInitializeInMemory(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	addr := uniqueAddress("mem")
	ids := h.createUser(t, addr)
	exhaustPasscodeBudget(t, []*harness{h}, ids, func(int) []string { return nil })
	if n := h.Outbox.Count(addr); n != 3 {
		t.Fatalf("%d mails sent, want 3", n)
	}
	// Another user from the same client has its own budget.
	other := h.createUser(t, uniqueAddress("mem-other"))
	if r := h.initPasscodeFrom(t, other); r.Status != 200 {
		t.Fatalf("other user: %d %s", r.Status, r.Body)
	}
}

// TestRateLimitSpoofedForwardedFor: from a peer that is not a trusted
// proxy, rotating X-Forwarded-For and X-Real-IP never resets the bucket,
// and the logged client address is the socket's.
func TestRateLimitSpoofedForwardedFor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil) // no trusted proxies
	ids := h.createUser(t, uniqueAddress("spoof"))
	exhaustPasscodeBudget(t, []*harness{h}, ids, func(i int) []string {
		return []string{fmt.Sprintf("X-Forwarded-For: 203.0.113.%d", i+1), fmt.Sprintf("X-Real-IP: 198.51.100.%d", i+1)}
	})
	if strings.Contains(h.Log.String(), `"client_ip":"203.0.113.`) || strings.Contains(h.Log.String(), `"client_ip":"198.51.100.`) {
		t.Fatal("a spoofed header from an untrusted peer became the client address")
	}
}

// TestRateLimitPerAddressBehindTrustedProxy: behind a trusted proxy the
// forwarded address is the client address (it is logged), yet one e-mail
// address cannot be mail-bombed from rotating client addresses: the
// per-address bucket stops it.
func TestRateLimitPerAddressBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) { c.Server.Public.TrustedProxies = []string{"127.0.0.0/8"} })
	addr := uniqueAddress("bomb")
	ids := h.createUser(t, addr)
	exhaustPasscodeBudget(t, []*harness{h}, ids, func(i int) []string {
		return []string{fmt.Sprintf("X-Forwarded-For: 203.0.113.%d", i+1)}
	})
	if n := h.Outbox.Count(addr); n != 3 {
		t.Fatalf("%d mails sent to %s, want 3", n, addr)
	}
	if !strings.Contains(h.Log.String(), `"client_ip":"203.0.113.2"`) {
		t.Fatal("the forwarded address of a trusted proxy was not used as client address")
	}
}

// redisAddress returns host:port of INKAN_TEST_REDIS_URL and its options (any database number), or
// skips.
func redisAddress(t *testing.T) (string, *redis.Options) {
	t.Helper()
	opt := dbtest.RedisOptions(t)
	return opt.Addr, opt
}

// useRedis points the limiter at the server at addr with the database and credentials of opt, written
// as a rate_limiter.redis.url, so that the tests run on whatever database INKAN_TEST_REDIS_URL names.
func useRedis(addr string, opt *redis.Options) func(*config.Config) {
	return func(c *config.Config) {
		c.RateLimiter.Store = "redis"
		u := url.URL{Scheme: "redis", Host: addr, Path: "/" + strconv.Itoa(opt.DB)}
		if opt.Username != "" || opt.Password != "" {
			u.User = url.UserPassword(opt.Username, opt.Password)
		}
		c.RateLimiter.Redis.URL = u.String()
	}
}

// TestRateLimitRedisSharedAcrossNodes: two nodes on one database and one
// Redis share one budget per user, client and address.
func TestRateLimitRedisSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	addr, opt := redisAddress(t)
	n1 := newHarness(t, useRedis(addr, opt))
	n2 := newHarness(t, func(c *config.Config) {
		useRedis(addr, opt)(c)
		c.Database.Database = n1.DBPath // same database, same secret file
	})
	ids := n1.createUser(t, uniqueAddress("redis"))
	exhaustPasscodeBudget(t, []*harness{n1, n2}, ids, func(int) []string { return nil })
	for _, n := range []*harness{n1, n2} {
		if r := n.do(t, "GET", "/health/ready", ""); r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"ready":true}` {
			t.Fatalf("ready: %d %s", r.Status, r.Body)
		}
	}
}

// tcpProxy forwards connections to target until closed; closing it drops
// every connection, as if the server went away.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			u.Close()
			return
		}
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close() }()
		go func() { io.Copy(c, u); c.Close() }()
	}
}

// Close stops listening and cuts every forwarded connection.
func (p *tcpProxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestRateLimitRedisGoesAway: Redis disappears mid-test (the proxy in front
// of it closes). The node keeps serving and limiting from memory, logs the
// outage once, and /health/ready reports the degraded limiter while
// staying 200.
func TestRateLimitRedisGoesAway(t *testing.T) {
	t.Parallel()
	addr, opt := redisAddress(t)
	proxy := newTCPProxy(t, addr)
	h := newHarness(t, useRedis(proxy.Addr(), opt))
	address := uniqueAddress("outage")
	ids := h.createUser(t, address)
	if r := h.initPasscodeFrom(t, ids); r.Status != 200 || r.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Fatalf("init via Redis: %d %s remaining %q", r.Status, r.Body, r.Header.Get("X-RateLimit-Remaining"))
	}
	// The buckets are in Redis, keyed by a keyed hash: the address is not
	// readable there.
	c := redis.NewClient(opt)
	defer c.Close()
	if n, err := c.Exists(t.Context(), "inkan:rl:"+ratelimit.Key("/passcode/login/initialize", "email", address)).Result(); err != nil || n != 0 {
		t.Fatalf("Redis holds the bucket of the address in the clear: %d, %v", n, err)
	}
	keys, err := c.Keys(t.Context(), "inkan:rl:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no rate-limit keys in Redis: %v", err)
	}
	for _, k := range keys {
		if strings.Contains(k, "@") || strings.Contains(k, "127.0.0.1") {
			t.Fatalf("Redis key %q holds an address in the clear", k)
		}
	}

	proxy.Close()

	// Served from memory now: a fresh in-memory bucket of 3, then 429.
	exhaustPasscodeBudget(t, []*harness{h}, ids, func(int) []string { return nil })
	const warn = "rate limiter store unreachable"
	if n := strings.Count(h.Log.String(), warn); n != 1 {
		t.Fatalf("outage logged %d times, want once:\n%s", n, h.Log.String())
	}
	r := h.do(t, "GET", "/health/ready", "")
	var body struct {
		Ready       bool   `json:"ready"`
		RateLimiter string `json:"rate_limiter"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || r.Status != 200 || !body.Ready || body.RateLimiter != "degraded" {
		t.Fatalf("ready while Redis is away: %d %s", r.Status, r.Body)
	}
}

// clientLimits sets every per-client-address limit small, so tests can
// exhaust them.
func clientLimits(c *config.Config) {
	c.RateLimiter.PasscodeIPLimits = config.Limit{Tokens: 4, Interval: time.Minute}
	c.RateLimiter.SignupLimits = config.Limit{Tokens: 3, Interval: time.Minute}
	c.RateLimiter.LookupLimits = config.Limit{Tokens: 3, Interval: time.Minute}
	c.RateLimiter.WebauthnLimits = config.Limit{Tokens: 3, Interval: time.Minute}
	c.Server.Public.TrustedProxies = []string{"127.0.0.0/8"} // X-Forwarded-For names the client
}

// checkClientLimits drives every per-client limit over nodes (round
// robin): one client address sweeping many users and addresses is refused
// with 429 and Retry-After once its budget is spent, while another client
// address is not affected.
func checkClientLimits(t *testing.T, nodes []*harness, attacker, other string) {
	t.Helper()
	from := func(ip string) string { return "X-Forwarded-For: " + ip }
	node := func(i int) *harness { return nodes[i%len(nodes)] }

	// POST /users: 3 sign-ups of different addresses, then 429.
	var users [][2]string
	for i := range 4 {
		r := node(i).do(t, "POST", "/users", `{"email":"`+uniqueAddress(fmt.Sprintf("sweep%d", i))+`"}`, from(attacker))
		if i < 3 {
			if r.Status != 200 {
				t.Fatalf("sign-up %d: %d %s", i+1, r.Status, r.Body)
			}
			var u map[string]string
			r.json(t, &u)
			users = append(users, [2]string{u["user_id"], u["email_id"]})
			continue
		}
		assertClientLimited(t, r, 3)
	}
	if r := node(0).do(t, "POST", "/users", `{"email":"`+uniqueAddress("other")+`"}`, from(other)); r.Status != 200 {
		t.Fatalf("sign-up from another client: %d %s", r.Status, r.Body)
	}

	// POST /user: 3 look-ups of different addresses, then 429.
	for i := range 4 {
		r := node(i).do(t, "POST", "/user", `{"email":"`+uniqueAddress(fmt.Sprintf("probe%d", i))+`"}`, from(attacker))
		if i < 3 {
			if r.Status != 404 {
				t.Fatalf("look-up %d: %d %s", i+1, r.Status, r.Body)
			}
			continue
		}
		assertClientLimited(t, r, 3)
	}

	// Passcode initialize and finalize across users share one budget of 4:
	// three initializes for three users, one finalize, then both routes 429.
	var pcID string
	for i, u := range users {
		r := node(i).do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+u[0]+`","email_id":"`+u[1]+`"}`, from(attacker))
		if r.Status != 200 {
			t.Fatalf("passcode init for user %d: %d %s", i+1, r.Status, r.Body)
		}
		var pc struct{ ID string }
		r.json(t, &pc)
		pcID = pc.ID
	}
	if r := node(1).do(t, "POST", "/passcode/login/finalize", `{"id":"`+pcID+`","code":"000000"}`, from(attacker)); r.Status != 401 && r.Status != 200 {
		t.Fatalf("finalize within budget: %d %s", r.Status, r.Body)
	}
	sent := func() (n int) {
		for _, h := range nodes {
			n += h.Outbox.Count("")
		}
		return n
	}
	mails := sent()
	assertClientLimited(t, node(2).do(t, "POST", "/passcode/login/finalize", `{"id":"`+pcID+`","code":"000000"}`, from(attacker)), 4)
	assertClientLimited(t, node(3).do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+users[0][0]+`","email_id":"`+users[0][1]+`"}`, from(attacker)), 4)
	if n := sent(); n != mails {
		t.Fatalf("a refused initialize sent mail: %d → %d", mails, n)
	}
	if r := node(0).do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+users[1][0]+`","email_id":"`+users[1][1]+`"}`, from(other)); r.Status != 200 {
		t.Fatalf("passcode init from another client: %d %s", r.Status, r.Body)
	}

	// POST /webauthn/login/initialize: 3 ceremonies, then 429.
	for i := range 4 {
		r := node(i).do(t, "POST", "/webauthn/login/initialize", "", from(attacker))
		if i < 3 {
			if r.Status != 200 {
				t.Fatalf("webauthn init %d: %d %s", i+1, r.Status, r.Body)
			}
			continue
		}
		assertClientLimited(t, r, 3)
	}
	if r := node(0).do(t, "POST", "/webauthn/login/initialize", "", from(other)); r.Status != 200 {
		t.Fatalf("webauthn init from another client: %d %s", r.Status, r.Body)
	}
}

// assertClientLimited checks a 429 of a per-client limit of limit tokens.
func assertClientLimited(t *testing.T, r response, limit int) {
	t.Helper()
	assertLimited(t, r, limit)
}

// TestClientAddressLimitsInMemory: one client address cannot sweep users
// or addresses (rate_limiter.{signup,lookup,passcode_ip,webauthn}_limits).
func TestClientAddressLimitsInMemory(t *testing.T) {
	t.Parallel()
	h := newHarness(t, clientLimits)
	checkClientLimits(t, []*harness{h}, "203.0.113.10", "203.0.113.11")
}

// TestClientAddressLimitsRedis: two nodes sharing Redis share each client
// address's budget.
func TestClientAddressLimitsRedis(t *testing.T) {
	t.Parallel()
	addr, opt := redisAddress(t)
	n1 := newHarness(t, func(c *config.Config) { clientLimits(c); useRedis(addr, opt)(c) })
	n2 := newHarness(t, func(c *config.Config) {
		clientLimits(c)
		useRedis(addr, opt)(c)
		c.Database.Database = n1.DBPath
	})
	// Fresh client addresses per run: the Redis buckets outlive the test.
	n := time.Now().UnixNano()
	checkClientLimits(t, []*harness{n1, n2}, fmt.Sprintf("2001:db8:%x:%x::1", uint16(n>>16), uint16(n)), fmt.Sprintf("2001:db8:%x:%x::2", uint16(n>>32), uint16(n)))
}
