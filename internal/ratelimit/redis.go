package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// takeScript is the GCRA of gcra() in microseconds, run atomically in Redis.
// The clock is the Redis server's TIME, so every node shares one clock and
// one budget. KEYS[1] = bucket key holding the theoretical arrival time (µs
// since the Unix epoch, < 2^53 so exact in Lua numbers); ARGV[1] = interval
// µs; ARGV[2] = emission interval µs (interval/tokens). Returns {allowed 0|1,
// remaining, reset µs, retry-after µs}. The key expires when the bucket is
// full again, i.e. after at most the interval.
var takeScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local em = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local nxt = tat + em
local d = nxt - now
if d > interval then
  return {0, 0, tat - now, d - interval}
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.max(1, math.ceil(d / 1000)))
return {1, math.floor((interval - d) / em), d, 0}
`)

// Redis is a Limiter whose buckets live in Redis (rate_limiter.store: redis),
// so all nodes using the same server and prefix share one budget per key.
// Each Take is one atomic Lua script (EVALSHA, falling back to EVAL on
// NOSCRIPT). Bucket keys, which hold user ids, e-mail addresses and client
// addresses, are never written to Redis in the clear: the Redis key is a
// keyed hash of the bucket key. Safe for concurrent use.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	hashKey []byte
}

// NewRedis returns a Limiter storing bucket key k under the Redis key
// prefix + base64url(HMAC-SHA256(hashKey, k)) (43 characters; e.g. prefix
// "inkan:rl:"). Every node sharing a budget must use the same prefix and
// hashKey; hashKey should be secret (at least 16 bytes), so that nobody
// reading Redis can test guesses of an address against the keys. The
// client is owned by the caller.
func NewRedis(client redis.UniversalClient, prefix string, hashKey []byte) *Redis {
	return &Redis{client: client, prefix: prefix, hashKey: append([]byte(nil), hashKey...)}
}

// redisKey is the Redis key of bucket key k.
func (r *Redis) redisKey(k string) string {
	m := hmac.New(sha256.New, r.hashKey)
	m.Write([]byte(k))
	return r.prefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Take takes one token from key's bucket. Errors: ErrInvalidLimit (wrapped),
// or the Redis/network/ctx error (wrapped) — the Fallback serves from memory
// then.
func (r *Redis) Take(ctx context.Context, key string, l Limit) (Result, error) {
	if err := l.validate(); err != nil {
		return Result{}, err
	}
	interval := l.Interval.Microseconds()
	em := l.emission().Microseconds()
	v, err := takeScript.Run(ctx, r.client, []string{r.redisKey(key)}, interval, em).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis take: %w", err)
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("ratelimit: redis take: unexpected reply of %d values", len(v))
	}
	return Result{
		Allowed:    v[0] == 1,
		Limit:      l.Tokens,
		Remaining:  int(v[1]),
		Reset:      time.Duration(v[2]) * time.Microsecond,
		RetryAfter: time.Duration(v[3]) * time.Microsecond,
	}, nil
}
