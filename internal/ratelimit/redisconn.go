package ratelimit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConn is where the Redis server is, as configured (rate_limiter.redis.*): either URL, or Address
// with Password and TLS. NewRedisClient is the one place that turns it into client options.
type RedisConn struct {
	// URL is redis://[user[:password]@]host[:port][/db] or rediss://… (TLS), the form Redis documents
	// for its clients (https://www.iana.org/assignments/uri-schemes/prov/redis); query parameters are
	// go-redis's (dial_timeout=…, …). When set it overrides Address, Password and TLS.
	URL string
	// Address is host:port; Password authenticates (AUTH); TLS connects with TLS (server name from
	// Address, system roots).
	Address  string
	Password string
	TLS      bool
}

// RedisOptions returns the go-redis client options for c with inkan's fail-fast timeouts (500 ms dial,
// read and write, one dial retry, no command retries; so that a Redis outage costs a request at most
// about a second before the in-memory fallback answers). It opens no connection. Errors name the key at
// fault (rate_limiter.redis.url or rate_limiter.redis.address) and never contain the password.
func RedisOptions(c RedisConn) (*redis.Options, error) {
	var opt *redis.Options
	switch {
	case c.URL != "":
		l := strings.ToLower(c.URL)
		if !strings.HasPrefix(l, "redis://") && !strings.HasPrefix(l, "rediss://") {
			return nil, errors.New("rate_limiter.redis.url: must start with redis:// or rediss:// (TLS)")
		}
		o, err := redis.ParseURL(c.URL)
		if err != nil {
			msg := err.Error()
			if o == nil && c.URL != "" {
				msg = strings.ReplaceAll(msg, c.URL, "…")
			}
			return nil, fmt.Errorf("rate_limiter.redis.url: %s", msg)
		}
		opt = o
	case c.Address != "":
		host, port, err := net.SplitHostPort(c.Address)
		if err != nil || port == "" {
			return nil, fmt.Errorf("rate_limiter.redis.address: must be host:port, got %q", c.Address)
		}
		opt = &redis.Options{Addr: c.Address, Password: c.Password}
		if c.TLS {
			opt.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	default:
		return nil, errors.New("rate_limiter.redis.url: set it (or rate_limiter.redis.address) when rate_limiter.store is redis")
	}
	opt.DialTimeout = 500 * time.Millisecond
	opt.DialerRetries = 1
	opt.ReadTimeout = 500 * time.Millisecond
	opt.WriteTimeout = 500 * time.Millisecond
	opt.PoolTimeout = time.Second
	opt.MaxRetries = -1
	return opt, nil
}
