package app

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/passkey"
	"github.com/inkan-auth/inkan/internal/ratelimit"
	"github.com/inkan-auth/inkan/internal/store"
)

// LoadConfig is how every command reads its configuration: config.Load (defaults, file, environment,
// every key judged, config.Validate) followed by the checks that need another package or a file: the
// database address (store.Resolve), the Redis address (ratelimit.RedisOptions), the TLS key pairs. `inkan serve` and `inkan config check`
// both call it, so they accept and refuse exactly the same files and environments.
//
// It returns a file error as is, or a *config.ValidationError listing every problem; the returned
// Config is usable only when the error is nil. Config.IgnoredKeys lists the Hanko keys that are
// accepted and ignored, for the caller to warn about. It writes nothing.
func LoadConfig(path string, environ []string) (config.Config, error) {
	cfg, err := config.Load(path, environ)
	var ve *config.ValidationError
	if err != nil && !errors.As(err, &ve) {
		return cfg, err
	}
	if ve == nil {
		ve = &config.ValidationError{}
	}
	if _, more := databaseProblems(cfg); len(more) > 0 {
		ve.Problems = append(ve.Problems, more...)
	}
	ve.Problems = append(ve.Problems, redisProblems(cfg)...)
	ve.Problems = append(ve.Problems, tlsProblems(cfg)...)
	ve.Problems = append(ve.Problems, relatedOriginProblems(cfg)...)
	if len(ve.Problems) == 0 {
		return cfg, nil
	}
	sortProblems(ve.Problems)
	return cfg, ve
}

// CheckConfig validates a configuration built in code (not through LoadConfig): config.Validate and the
// database, Redis and TLS checks of LoadConfig. New calls it before it writes anything.
func CheckConfig(cfg config.Config) (store.Target, error) {
	var ps []config.Problem
	if err := cfg.Validate(); err != nil {
		var ve *config.ValidationError
		if !errors.As(err, &ve) {
			return store.Target{}, err
		}
		ps = append(ps, ve.Problems...)
	}
	target, more := databaseProblems(cfg)
	ps = append(ps, more...)
	ps = append(ps, redisProblems(cfg)...)
	ps = append(ps, tlsProblems(cfg)...)
	ps = append(ps, relatedOriginProblems(cfg)...)
	if len(ps) > 0 {
		sortProblems(ps)
		return target, &config.ValidationError{Problems: ps}
	}
	return target, nil
}

// databaseProblems resolves the database address with store.Resolve (the one place that builds
// connection strings) and checks the rules that depend on the resolved dialect: a server database needs
// secrets.keys, since every node must share them and only the SQLite setup generates a secret file, and
// an SMTP host unless the development mailer is asked for by name (no production node prints passcodes).
func databaseProblems(cfg config.Config) (store.Target, []config.Problem) {
	target, err := store.Resolve(address(cfg))
	var ps []config.Problem
	var ae *store.AddressError
	if errors.As(err, &ae) {
		for _, p := range ae.Problems {
			ps = append(ps, config.Problem{Key: p.Key, Message: p.Message})
		}
		return target, ps
	}
	if target.Dialect != "sqlite" && len(cfg.Secrets.Keys) == 0 {
		ps = append(ps, config.Problem{Key: "secrets.keys", Message: "must list at least one secret with dialect " + target.Dialect + ": every node must share it (a generated secret file is only used with sqlite)"})
	}
	if target.Dialect != "sqlite" && cfg.EmailDelivery.Enabled && cfg.EmailDelivery.Mailer == "" && strings.TrimSpace(cfg.EmailDelivery.SMTP.Host) == "" {
		ps = append(ps, config.Problem{Key: "email_delivery.smtp.host", Message: "must be set with dialect " + target.Dialect + ": passcodes would only be printed to standard output (set email_delivery.mailer: development to do that on purpose)"})
	}
	return target, ps
}

// relatedOriginProblems judges webauthn.related_origins with passkey.CheckRelatedOrigins (the label
// limit of WebAuthn L3 §5.11.1 needs the public suffix list, which internal/config does not carry);
// entries config.Validate already refused are not judged twice.
func relatedOriginProblems(cfg config.Config) []config.Problem {
	var ok []string
	var index []int
	for i, o := range cfg.Webauthn.RelatedOrigins {
		if strings.HasPrefix(strings.ToLower(o), "https://") {
			ok = append(ok, o)
			index = append(index, i)
		}
	}
	var ps []config.Problem
	for _, p := range passkey.CheckRelatedOrigins(ok) {
		key := "webauthn.related_origins"
		if p.Index >= 0 {
			key = fmt.Sprintf("%s[%d]", key, index[p.Index])
		}
		ps = append(ps, config.Problem{Key: key, Message: p.Message})
	}
	return ps
}

// redisProblems judges the Redis address with ratelimit.RedisOptions (where the client options are
// built) when the limiter uses Redis.
func redisProblems(cfg config.Config) []config.Problem {
	if _, err := redisOptions(cfg); err != nil {
		key, msg, _ := strings.Cut(err.Error(), ": ")
		return []config.Problem{{Key: key, Message: msg}}
	}
	return nil
}

// redisOptions returns the Redis client options, nil when the limiter does not use Redis.
func redisOptions(cfg config.Config) (*redis.Options, error) {
	rl := cfg.RateLimiter
	if !rl.Enabled || rl.Store != "redis" {
		return nil, nil
	}
	return ratelimit.RedisOptions(ratelimit.RedisConn{URL: rl.Redis.URL, Address: rl.Redis.Address, Password: rl.Redis.Password, TLS: rl.Redis.TLS})
}

// address is the configuration's database address for store.Resolve.
func address(cfg config.Config) store.Address {
	db := cfg.Database
	return store.Address{Dialect: db.Dialect, URL: db.URL, Host: db.Host, Port: db.Port, User: db.User, Password: db.Password, Database: db.Database}
}

// autoMigrate reports whether serve applies pending migrations: database.auto_migrate when set,
// otherwise true for sqlite only.
func autoMigrate(cfg config.Config, target store.Target) bool {
	if cfg.Database.AutoMigrate != nil {
		return *cfg.Database.AutoMigrate
	}
	return target.Dialect == "sqlite"
}

// sortProblems sorts by key, stable, as config sorts its own problems.
func sortProblems(ps []config.Problem) {
	slices.SortStableFunc(ps, func(a, b config.Problem) int { return strings.Compare(a.Key, b.Key) })
}
