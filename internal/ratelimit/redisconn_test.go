package ratelimit_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/ratelimit"
)

// TestRedisOptionsForms: the URL forms operators use (user, password, database number, TLS) and the
// address form, and the refusals.
func TestRedisOptionsForms(t *testing.T) {
	tests := []struct {
		name                 string
		c                    ratelimit.RedisConn
		addr, user, password string
		db                   int
		tls                  bool
		serverName           string
	}{
		{"plain url", ratelimit.RedisConn{URL: "redis://redis.internal:6379"}, "redis.internal:6379", "", "", 0, false, ""},
		{"default port", ratelimit.RedisConn{URL: "redis://redis.internal"}, "redis.internal:6379", "", "", 0, false, ""},
		{"password and db", ratelimit.RedisConn{URL: "redis://:s3cret@redis.internal:6380/3"}, "redis.internal:6380", "", "s3cret", 3, false, ""},
		{"acl user", ratelimit.RedisConn{URL: "redis://inkan:s3cret@redis.internal/5"}, "redis.internal:6379", "inkan", "s3cret", 5, false, ""},
		{"tls", ratelimit.RedisConn{URL: "rediss://inkan:s3cret@cache.example.com:6380/2"}, "cache.example.com:6380", "inkan", "s3cret", 2, true, "cache.example.com"},
		{"url wins over address", ratelimit.RedisConn{URL: "redis://a:1/1", Address: "b:2"}, "a:1", "", "", 1, false, ""},
		{"address", ratelimit.RedisConn{Address: "redis.internal:6379", Password: "pw"}, "redis.internal:6379", "", "pw", 0, false, ""},
		{"address with tls", ratelimit.RedisConn{Address: "cache.example.com:6380", TLS: true}, "cache.example.com:6380", "", "", 0, true, "cache.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ratelimit.RedisOptions(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if o.Addr != tc.addr || o.Username != tc.user || o.Password != tc.password || o.DB != tc.db || (o.TLSConfig != nil) != tc.tls {
				t.Fatalf("got addr %q user %q password %q db %d tls %v", o.Addr, o.Username, o.Password, o.DB, o.TLSConfig != nil)
			}
			if tc.tls && o.TLSConfig.ServerName != tc.serverName {
				t.Errorf("TLS server name %q, want %q", o.TLSConfig.ServerName, tc.serverName)
			}
			if o.MaxRetries != -1 || o.DialTimeout == 0 {
				t.Errorf("fail-fast timeouts not set: %+v", o)
			}
		})
	}
	for _, bad := range []ratelimit.RedisConn{
		{URL: "http://h:6379"}, {URL: "redis://h:6379/notanumber"}, {URL: "redis://:pw@h/99999999999999999999"}, {Address: "nohostport"}, {},
	} {
		_, err := ratelimit.RedisOptions(bad)
		if err == nil {
			t.Errorf("%+v accepted", bad)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rate_limiter.redis.") {
			t.Errorf("%+v: error does not name the key: %v", bad, err)
		}
		if strings.Contains(err.Error(), ":pw@") {
			t.Errorf("the password shows: %v", err)
		}
	}
}

// TestRedisURLReachesItsDatabase: a URL's database number is the database the limiter writes to, on
// the server of INKAN_TEST_REDIS_URL (whatever database that names).
func TestRedisURLReachesItsDatabase(t *testing.T) {
	base := dbtest.RedisOptions(t)
	for _, db := range []int{base.DB, (base.DB + 1) % 16} {
		u := "redis://"
		if base.Username != "" || base.Password != "" {
			u += base.Username + ":" + base.Password + "@"
		}
		u += base.Addr + "/" + strconv.Itoa(db)
		o, err := ratelimit.RedisOptions(ratelimit.RedisConn{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(o)
		key := "inkan-test:redisconn:" + t.Name() + ":" + strconv.Itoa(db)
		if err := c.Set(t.Context(), key, "x", 0).Err(); err != nil {
			c.Close()
			t.Fatalf("db %d: %v", db, err)
		}
		probe := *base
		probe.DB = db
		pc := redis.NewClient(&probe)
		got, err := pc.Get(t.Context(), key).Result()
		pc.Del(t.Context(), key)
		pc.Close()
		c.Close()
		if err != nil || got != "x" {
			t.Fatalf("db %d: key not found there (%q, %v)", db, got, err)
		}
	}
}
