// Package app is inkan's composition root: it opens the store (migrating
// under a lock when allowed), loads or creates the secret, builds the
// services, and runs the public and admin HTTP servers with timeouts until
// the context ends, then shuts them down gracefully.
package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/net/netutil"

	"github.com/inkan-auth/inkan/internal/aaguid"
	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/audit"
	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/httpapi"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/keys"
	"github.com/inkan-auth/inkan/internal/login"
	"github.com/inkan-auth/inkan/internal/mail"
	"github.com/inkan-auth/inkan/internal/metrics"
	"github.com/inkan-auth/inkan/internal/mobile"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/passkey"
	"github.com/inkan-auth/inkan/internal/password"
	"github.com/inkan-auth/inkan/internal/ratelimit"
	"github.com/inkan-auth/inkan/internal/session"
	"github.com/inkan-auth/inkan/internal/store"
	"github.com/inkan-auth/inkan/internal/thirdparty"
	"github.com/inkan-auth/inkan/internal/webhook"
)

// App is a built inkan node.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	api     *httpapi.API
	audit   *audit.Log
	hooks   *webhook.Service
	closers []func() error
}

// NewLogger returns the process logger for cfg.Log (level, text|json) on w.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore opens the configured database for the maintenance commands (`migrate`, `jwk`, `user`):
// it never creates anything — a SQLite file that does not exist is an error naming the path — and it
// does not migrate. cfg must come from LoadConfig (it is checked again here all the same).
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	target, err := CheckConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return openStore(ctx, cfg, target, log, false)
}

// openStore opens target. With serve it creates a missing SQLite file and makes sure the schema is
// current: with auto-migrate (the default only for SQLite) it applies pending migrations under the
// store's lock; otherwise a schema that is behind is an error naming the command to run. Without serve
// a missing SQLite file is an error.
func openStore(ctx context.Context, cfg config.Config, target store.Target, log *slog.Logger, serve bool) (*store.Store, error) {
	if f := target.SQLiteFile(); f != "" && !serve {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("no SQLite database at %s (database.database, relative to the working directory %s); `inkan serve` creates it on first start — this command creates nothing", f, workingDir())
		}
	}
	st, err := store.Open(ctx, target.Options(store.Options{
		MaxOpenConns:    cfg.Database.MaxOpenConns,
		MaxIdleConns:    cfg.Database.MaxIdleConns,
		ConnMaxLifetime: cfg.Database.ConnMaxLifetime,
		ConnMaxIdleTime: cfg.Database.ConnMaxIdleTime,
	}))
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", target.Dialect, err)
	}
	if !serve {
		return st, nil
	}
	if autoMigrate(cfg, target) {
		applied, err := st.MigrateUp(ctx)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if len(applied) > 0 {
			log.Info("applied database migrations", "migrations", strings.Join(applied, ","))
		}
		return st, nil
	}
	if err := requireCurrentSchema(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// requireCurrentSchema fails when migrations are pending, naming the command to run.
func requireCurrentSchema(ctx context.Context, st *store.Store) error {
	pending, err := st.PendingMigrations(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	if pending > 0 {
		return fmt.Errorf("the database schema is behind by %d migration(s); run `inkan migrate up --config <file>` first (or set database.auto_migrate: true)", pending)
	}
	return nil
}

func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	return wd
}

// New builds a node from cfg. Logs go to log; the development mailer (used
// when email_delivery.smtp.host is empty) writes its messages to outbox,
// and so do the audit log's console lines with audit_log.console_output.
// output stdout (serve passes standard output).
func New(ctx context.Context, cfg config.Config, log *slog.Logger, outbox io.Writer) (_ *App, err error) {
	a := &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	// Nothing is written (no secret file, no database directory) before the whole configuration
	// has been judged.
	target, err := CheckConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	if len(cfg.IgnoredKeys) > 0 {
		log.Warn("configuration keys accepted for Hanko compatibility but not used by inkan", "keys", strings.Join(cfg.IgnoredKeys, ","))
	}
	if f := target.SQLiteFile(); f != "" {
		log.Info("database: embedded SQLite", "path", f)
	} else {
		log.Info("database", "dialect", target.Dialect)
	}
	secrets, err := loadSecrets(cfg, target, log, true)
	if err != nil {
		return nil, err
	}
	a.store, err = openStore(ctx, cfg, target, log, true)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.store.Close)

	tmpl, err := mail.LoadTemplates(cfg.Email.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	var mailer passcode.Mailer
	if cfg.EmailDelivery.Enabled {
		if mailer, err = newMailer(cfg, tmpl, log, outbox); err != nil {
			return nil, err
		}
		if c, ok := mailer.(io.Closer); ok { // the SMTP mailer's kept sessions
			a.closers = append(a.closers, c.Close)
		}
	} else {
		log.Info("mailer: none (email_delivery.enabled false): passcodes reach users through the email.send webhook")
	}

	km, err := keys.New(ctx, a.store, keysOptions(cfg, secrets), time.Now)
	if errors.Is(err, keys.ErrUndecryptable) {
		return nil, wrongSecret(err, cfg, target)
	}
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	audience := cfg.Session.Audience
	if len(audience) == 0 {
		audience = []string{cfg.Webauthn.RelyingParty.ID}
	}
	sessions := session.New(a.store, km, session.Options{
		Lifespan:         cfg.Session.Lifespan,
		Audience:         audience,
		Issuer:           cfg.Session.Issuer,
		Limit:            cfg.Session.Limit,
		IdleTimeout:      cfg.Session.IdleTimeout,
		AcquireIPAddress: cfg.Session.AcquireIPAddress,
		AcquireUserAgent: cfg.Session.AcquireUserAgent,
		Refresh:          refreshOptions(cfg, secrets, log),
	}, time.Now)
	passcodes, err := passcode.New(a.store, mailer, passcode.Options{
		TTL:          cfg.Email.PasscodeTTL,
		Secret:       derive(secrets[0], "inkan/passcode-hmac/v1"),
		OldSecrets:   deriveAll(secrets[1:], "inkan/passcode-hmac/v1"),
		FailureLimit: passcodeFailureLimit(cfg),
		ServiceName:  cfg.Service.Name,
		AppDelivers:  !cfg.EmailDelivery.Enabled,
		HookMail: func(m inkan.PasscodeMail, validUntil time.Time, delivered bool) ([]byte, error) {
			return hookMail(a.hooks, tmpl, cfg, m, validUntil, delivered)
		},
	}, time.Now, log)
	if err != nil {
		return nil, err
	}
	android, apple := mobileApps(cfg)
	appOrigins, err := mobile.OriginsFor(android)
	if err != nil {
		return nil, fmt.Errorf("mobile.android: %w", err)
	}
	if len(appOrigins) > 0 {
		log.Info("webauthn: accepting the Android apps' origins (mobile.android)", "origins", strings.Join(appOrigins, ","))
	}
	var mobileHandler http.Handler
	if len(android)+len(apple) > 0 {
		if mobileHandler, err = mobile.Handler(android, apple); err != nil {
			return nil, fmt.Errorf("mobile: %w", err)
		}
	}
	providers, err := aaguid.Load(cfg.Passkey.AAGUIDMetadataFile)
	if err != nil {
		return nil, fmt.Errorf("passkey.aaguid_metadata_file: %w", err)
	}
	if cfg.Passkey.AAGUIDMetadataFile != "" {
		log.Info("passkey providers: built-in names and the metadata file", "file", cfg.Passkey.AAGUIDMetadataFile, "aaguids", providers.Len())
	}
	passkeys, err := passkey.New(a.store, passkey.Options{
		RPID:                  cfg.Webauthn.RelyingParty.ID,
		RPDisplayName:         cfg.Webauthn.RelyingParty.DisplayName,
		Origins:               mergeOrigins(cfg.Webauthn.RelyingParty.Origins, mergeOrigins(appOrigins, cfg.Webauthn.RelatedOrigins)),
		RegistrationTimeout:   cfg.Webauthn.Timeouts.Registration,
		LoginTimeout:          cfg.Webauthn.Timeouts.Login,
		UserVerification:      cfg.Passkey.UserVerification,
		AttestationPreference: cfg.Passkey.AttestationPreference,
		Providers:             providers,
		Log:                   log,
	}, time.Now)
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	// The admin API sets passwords whatever password.enabled says; the
	// public password routes exist only with it.
	passwords, err := password.New(a.store, password.Options{MinLength: cfg.Password.MinLength, Hash: cfg.Password.Hash}, time.Now)
	if err != nil {
		return nil, err
	}
	limiter, err := newLimiter(cfg, log, derive(secrets[0], "inkan/ratelimit-key/v1"))
	if err != nil {
		return nil, err
	}
	if c, ok := limiter.(io.Closer); ok {
		a.closers = append(a.closers, c.Close)
	}

	reg, observer, err := newMetrics(a.store, limiter, cfg)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	a.audit = newAuditLog(a.store, cfg, outbox)
	a.hooks, err = newWebhooks(ctx, a, cfg, secrets, sessions, observer, log)
	if err != nil {
		return nil, err
	}
	// Events are kept for the fan-out only when a hook may receive them
	// (webhook.Service.Pending; Serve keeps the node's view of the stored
	// hooks fresh with WatchHooks).
	a.store.SetHookedTypes(a.hooks.Pending)
	if !cfg.EmailDelivery.Enabled {
		switch ok, err := a.hooks.SubscribesTo(ctx, webhook.EmailSend); {
		case err != nil:
			return nil, fmt.Errorf("webhooks: %w", err)
		case !ok:
			return nil, errors.New("email_delivery.enabled is false but no webhook subscribes to email.send, so passcodes would reach nobody: add a hook for email.send (webhooks.hooks with webhooks.enabled: true, or POST /webhooks while delivery is on)")
		}
	}
	a.store.SetEventSink(eventSink{audit: a.audit, metrics: observer, hooks: a.hooks})

	var wk httpapi.WellKnownConfig
	wk.Password.Enabled = cfg.Password.Enabled
	wk.Password.MinPasswordLength = cfg.Password.MinLength
	wk.Emails.RequireVerification = cfg.Email.RequireVerification
	wk.Emails.MaxNumOfAddresses = cfg.Email.Limit
	wk.Account.AllowDeletion = cfg.Account.AllowDeletion
	wk.Account.AllowSignup = cfg.Account.AllowSignup
	wk.Providers = wellKnownProviders(cfg)

	accounts := account.New(a.store, account.Options{RequireVerification: cfg.Email.RequireVerification, AllowSignup: cfg.Account.AllowSignup, EmailLimit: cfg.Email.Limit}, time.Now)
	logins := login.Deps{Journal: a.store, Accounts: accounts, Passcodes: passcodes, Passkeys: passkeys, Sessions: sessions, Now: time.Now}
	if passwords != nil {
		logins.Passwords = passwords
	}
	var idps *thirdparty.Providers
	var flow *thirdparty.Flow
	if cfgs := thirdPartyConfigs(ctx, cfg); len(cfgs) > 0 {
		if idps, err = thirdparty.New(cfgs, thirdPartyOptions(ctx)); err != nil {
			return nil, err
		}
		logins.ThirdParty, logins.Tokens = idps, a.store
		if webFlow(cfgs) {
			tp := cfg.ThirdParty
			flow, err = thirdparty.NewFlow(idps, thirdparty.FlowOptions{
				Secret:      string(derive(secrets[0], "inkan/thirdparty-state/v1")),
				RedirectURL: tp.RedirectURL, ErrorRedirectURL: tp.ErrorRedirectURL,
				DefaultRedirectURL: tp.DefaultRedirectURL, AllowedRedirectURLs: tp.AllowedRedirectURLs,
			})
			if err != nil {
				return nil, err
			}
		}
	}
	a.api = httpapi.New(httpapi.API{
		Accounts:      accounts,
		Login:         login.New(logins),
		Passcodes:     passcodes,
		Sessions:      sessions,
		Keys:          km,
		Passkeys:      passkeys,
		Passwords:     passwords,
		Limiter:       limiter,
		ProviderNames: func(id string) string { return idps.DisplayName(id) },
		Flow:          flow,
		Mobile:        mobileHandler,
		Ready:         a.store.Ping,
		Observer:      observer,
		Audit:         a.audit,
		Webhooks:      a.hooks,
		Metrics:       promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}),
		Opts: httpapi.Options{
			AuthTokenHeader: cfg.Session.EnableAuthTokenHeader,
			Cookie: httpapi.CookieOptions{
				Name:       cfg.Session.Cookie.Name,
				Domain:     cfg.Session.Cookie.Domain,
				HTTPOnly:   cfg.Session.Cookie.HTTPOnly,
				Secure:     cfg.Session.Cookie.Secure,
				SameSite:   sameSite(cfg.Session.Cookie.SameSite),
				Persistent: cfg.Session.Cookie.Retention != "session",
			},
			Lifespan:          cfg.Session.Lifespan,
			MaxBodyBytes:      cfg.Server.MaxRequestBodyBytes,
			RequestTimeout:    cfg.Server.RequestTimeout,
			PasscodesDisabled: !cfg.Email.Enabled || !cfg.Email.UseForAuthentication,
			PasskeysDisabled:  !cfg.Passkey.Enabled,
			TrustedProxies:    cfg.TrustedProxyPrefixes(),
			CORS: httpapi.CORSOptions{
				AllowOrigins:   cfg.Server.Public.CORS.AllowOrigins,
				UnsafeWildcard: cfg.Server.Public.CORS.UnsafeWildcardOriginAllowed,
			},
			PasscodeLimit:    limit(cfg.RateLimiter.PasscodeLimits),
			PasscodeIPLimit:  limit(cfg.RateLimiter.PasscodeIPLimits),
			SignupLimit:      limit(cfg.RateLimiter.SignupLimits),
			LookupLimit:      limit(cfg.RateLimiter.LookupLimits),
			WebauthnLimit:    limit(cfg.RateLimiter.WebauthnLimits),
			PasswordEnabled:  cfg.Password.Enabled,
			PasswordLimit:    limit(cfg.RateLimiter.PasswordLimits),
			RefreshEnabled:   refreshEnabled(cfg),
			RefreshLimit:     limit(cfg.RateLimiter.RefreshLimits),
			RefreshIPLimit:   limit(cfg.RateLimiter.RefreshIPLimits),
			RevocationMaxAge: cfg.Session.RevocationList.MaxAge,
			AllowDeletion:    cfg.Account.AllowDeletion,
			LogHealth:        cfg.Log.LogHealthAndMetrics,
			WellKnown:        wk,
			RelatedOrigins:   cfg.Webauthn.RelatedOrigins,
			AdminAPIKeys:     cfg.Server.Admin.APIKeys,
			ThirdParty:       idps != nil,
			ThirdPartyLimit:  limit(cfg.RateLimiter.ThirdPartyLimits),
			TokenLimit:       limit(cfg.RateLimiter.TokenLimits),
			Pprof:            cfg.Server.Admin.Pprof,
		},
	}, log)
	return a, nil
}

// Close releases the store's and the rate limiter's connections and ends
// the SMTP mailer's kept sessions (QUIT).
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.log.Warn("close", "error", err)
		}
	}
	a.closers = nil
}

// Serve listens on the public and admin addresses and serves until ctx is
// done. It refuses to start (config.ErrAdminUnprotected) when the admin
// listener would be reachable from other machines without an API key; then it stops accepting, waits up to server.shutdown_timeout for
// requests in flight, and returns. A listener that cannot bind is an error.
func (a *App) Serve(ctx context.Context) error {
	if err := a.cfg.CheckAdminExposure(); err != nil {
		return err
	}
	type listener struct {
		name string
		ln   net.Listener
		srv  *http.Server
		tls  bool
	}
	s := a.cfg.Server
	maxConns := maxConnections(s.MaxConnections)
	a.log.Info("connection limit per listener", "max_connections", maxConns)
	var ls []listener
	closeAll := func() {
		for _, o := range ls {
			o.ln.Close()
		}
	}
	for _, l := range []struct {
		name, addr string
		h          http.Handler
		tls        config.TLS
	}{
		{"public", s.Public.Address, a.api.Public(), s.Public.TLS},
		{"admin", s.Admin.Address, a.api.Admin(), s.Admin.TLS},
	} {
		tc, err := tlsConfig(l.tls, func(err error) {
			a.log.Error(l.name+" API: the changed TLS certificate does not load; still serving the previous one", "error", err)
		})
		if err != nil {
			closeAll()
			return fmt.Errorf("%s API: %w", l.name, err)
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("%s API: listen on %s: %w", l.name, l.addr, err)
		}
		ln = netutil.LimitListener(ln, maxConns)
		if tc != nil {
			ln = tls.NewListener(ln, tc)
		}
		ls = append(ls, listener{name: l.name, ln: ln, srv: &http.Server{
			Handler:           l.h,
			ReadTimeout:       s.ReadTimeout,
			ReadHeaderTimeout: s.ReadHeaderTimeout,
			WriteTimeout:      s.WriteTimeout,
			IdleTimeout:       s.IdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}, tls: tc != nil})
	}
	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	jobs, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.purgeLoop(jobs)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.hooks.Run(jobs, webhookPoll)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.hooks.WatchHooks(jobs)
	}()
	for _, l := range ls {
		a.log.Info(l.name+" API listening", "addr", l.ln.Addr().String(), "tls", l.tls)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s API: %w", l.name, err)
			}
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case serveErr = <-errc:
		a.log.Error("server failed; shutting down", "error", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	for _, l := range ls {
		if err := l.srv.Shutdown(sctx); err != nil {
			a.log.Warn(l.name+" API: shutdown", "error", err)
			l.srv.Close()
		}
	}
	stopJobs()
	wg.Wait()
	a.log.Info("stopped")
	return serveErr
}

// The purge job runs every purgeInterval on every node (the deletes are
// idempotent). WebAuthn ceremonies go as soon as they expire (anyone can
// start one); passcodes and sessions purgeGrace after their expiry (the
// grace keeps "passcode request timed out" answerable for a while);
// unfinished sign-ups after account.unfinished_signup_retention.
const (
	purgeInterval = 10 * time.Minute
	purgeGrace    = time.Hour
)

// purgeLoop runs Purge at start and every purgeInterval until ctx ends,
// so that anonymous writes — unfinished ceremonies, unused passcodes,
// abandoned sign-ups — cannot grow the database without bound.
func (a *App) purgeLoop(ctx context.Context) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		if _, err := a.Purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purging expired rows failed", "error", err)
		}
		if _, err := a.store.PurgeWebhookDeliveries(ctx, time.Now().Add(-webhookRetention)); err != nil && ctx.Err() == nil {
			a.log.Warn("purging finished webhook deliveries failed", "error", err)
		}
		if n, err := a.audit.Purge(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purging old audit log entries failed", "error", err)
		} else if n > 0 {
			a.log.Info("purged audit log entries older than audit_log.retention", "entries", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Purge deletes, as of now, what the purge job deletes: expired ceremonies,
// passcodes and sessions past their grace, and unfinished sign-ups older
// than account.unfinished_signup_retention. It logs what it removed.
func (a *App) Purge(ctx context.Context, now time.Time) (store.Purged, error) {
	p, err := a.store.Purge(ctx, store.Cutoffs{
		Ceremonies: now,
		Passcodes:  now.Add(-purgeGrace),
		Sessions:   now.Add(-purgeGrace),
		Signups:    now.Add(-a.cfg.Account.UnfinishedSignupRetention),
	})
	if err == nil && p != (store.Purged{}) {
		a.log.Info("purged expired rows", "ceremonies", p.Ceremonies, "passcodes", p.Passcodes, "sessions", p.Sessions, "revocations", p.Revocations,
			"unfinished_signups", p.Signups, "unverified_emails", p.Emails)
	}
	return p, err
}

// refreshEnabled: refresh tokens are issued only in header mode, where
// X-Refresh-Token reaches the app (docs/compatibility.md "Refresh tokens
// and signed-in devices").
func refreshEnabled(cfg config.Config) bool {
	return cfg.Session.RefreshToken.Enabled && cfg.Session.EnableAuthTokenHeader
}

// refreshOptions are session.refresh_token.*, with the keys of the
// refresh-token hash derived from the secrets as the passcode keys are.
func refreshOptions(cfg config.Config, secrets []string, log *slog.Logger) session.RefreshOptions {
	rt := cfg.Session.RefreshToken
	if rt.Enabled && !cfg.Session.EnableAuthTokenHeader {
		log.Warn("session.refresh_token.enabled needs session.enable_auth_token_header: no refresh tokens are issued")
	}
	return session.RefreshOptions{
		Enabled:     refreshEnabled(cfg),
		Lifespan:    rt.Lifespan,
		IdleTimeout: rt.IdleTimeout,
		ReuseGrace:  rt.ReuseGrace,
		Secret:      derive(secrets[0], "inkan/refresh-hmac/v1"),
		OldSecrets:  deriveAll(secrets[1:], "inkan/refresh-hmac/v1"),
	}
}

// derive returns a purpose-bound 32-byte key from a configured secret:
// SHA-256(purpose ‖ 0x00 ‖ secret). Distinct purposes give independent keys.
func derive(secret, purpose string) []byte {
	h := sha256.New()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// deriveAll is derive for each secret.
func deriveAll(secrets []string, purpose string) [][]byte {
	out := make([][]byte, len(secrets))
	for i, s := range secrets {
		out[i] = derive(s, purpose)
	}
	return out
}

func sameSite(s string) http.SameSite {
	switch strings.ToLower(s) {
	case "lax":
		return http.SameSiteLaxMode
	case "none":
		return http.SameSiteNoneMode
	case "strict":
		return http.SameSiteStrictMode
	}
	return http.SameSiteDefaultMode
}

// newMailer returns the SMTP mailer, or the development mailer writing to
// outbox (config.Config.DevelopmentMailer: asked for by name, or no SMTP
// host on SQLite — databaseProblems refuses it on a server database), with
// a warning at start.
func newMailer(cfg config.Config, tmpl *mail.Templates, log *slog.Logger, outbox io.Writer) (passcode.Mailer, error) {
	smtp := cfg.EmailDelivery.SMTP
	if cfg.DevelopmentMailer() {
		// With a server database CheckConfig (New's first step) has
		// refused this unless it was asked for by name.
		log.Warn("mailer: development mailer — passcode mails are printed to standard output, not sent; set email_delivery.smtp.host for real delivery")
		return mail.NewDev(outbox, tmpl, log), nil
	}
	port, err := strconv.Atoi(smtp.Port)
	if err != nil {
		return nil, fmt.Errorf("email_delivery.smtp.port: %w", err)
	}
	log.Info("mailer: SMTP", "host", smtp.Host, "port", port, "implicit_tls", cfg.SMTPImplicitTLS(), "require_tls", cfg.SMTPRequireTLS())
	return mail.NewSMTP(mail.SMTPOptions{
		Host:          smtp.Host,
		Port:          port,
		User:          smtp.User,
		Password:      smtp.Password,
		FromAddress:   cfg.EmailDelivery.FromAddress,
		FromName:      cfg.EmailDelivery.FromName,
		ImplicitTLS:   cfg.SMTPImplicitTLS(),
		RequireTLS:    cfg.SMTPRequireTLS(),
		Timeout:       smtp.Timeout,
		CodeInSubject: cfg.Email.PasscodeInSubject,
	}, tmpl, log)
}

// passcodeFailureLimit is rate_limiter.passcode_failure_limits, none when
// the rate limiter is off.
func passcodeFailureLimit(cfg config.Config) passcode.FailureLimit {
	if !cfg.RateLimiter.Enabled {
		return passcode.FailureLimit{}
	}
	l := cfg.RateLimiter.PasscodeFailureLimits
	return passcode.FailureLimit{Tokens: l.Tokens, Interval: l.Interval}
}

// limit converts a configured {tokens, interval}.
func limit(l config.Limit) ratelimit.Limit {
	return ratelimit.Limit{Tokens: l.Tokens, Interval: l.Interval}
}

// newLimiter builds the rate limiter: nil when disabled; in-memory; or Redis with an in-memory fallback
// (ratelimit.Fallback, whose Degraded state /health/ready reports). Redis keys are keyed hashes under
// keyHash, so that no user id, e-mail or client address is readable in Redis. The Redis client options
// (and their fail-fast timeouts) come from ratelimit.RedisOptions.
func newLimiter(cfg config.Config, log *slog.Logger, keyHash []byte) (ratelimit.Limiter, error) {
	rl := cfg.RateLimiter
	if !rl.Enabled {
		return nil, nil
	}
	mem := ratelimit.NewMemory(time.Now)
	if rl.Store != "redis" {
		return mem, nil
	}
	opt, err := redisOptions(cfg)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opt)
	fb := ratelimit.NewFallback(ratelimit.NewRedis(client, "inkan:rl:", keyHash), mem, log)
	log.Info("rate limiter: redis", "address", opt.Addr, "db", opt.DB, "tls", opt.TLSConfig != nil)
	return closingLimiter{fb, client}, nil
}

// closingLimiter is the Redis-backed limiter together with its client, so
// that App.Close releases the connections. Degraded is promoted from the
// Fallback for /health/ready.
type closingLimiter struct {
	*ratelimit.Fallback
	client *redis.Client
}

func (c closingLimiter) Close() error { return c.client.Close() }

// Store is the storage type, for commands that manage the schema.
type Store = store.Store

// KeyManager is the signing-key manager, for the `jwk` commands.
type KeyManager = keys.Manager

// keysOptions maps the configuration to the key manager's options: retired
// keys stay published for one session lifespan, so every token they signed
// can be verified until it expires.
func keysOptions(cfg config.Config, secrets []string) keys.Options {
	return keys.Options{
		Secrets:            secrets,
		Algorithm:          cfg.Secrets.SigningAlgorithm,
		RSABits:            cfg.Secrets.RSAKeySize,
		VerificationWindow: cfg.Session.Lifespan,
	}
}

// OpenKeys opens the store and the signing-key manager for the `jwk` commands. Like OpenStore it
// creates nothing: a missing SQLite file or secret file is an error naming the path, and so is a schema
// that is behind. The returned close function releases the store.
func OpenKeys(ctx context.Context, cfg config.Config, log *slog.Logger) (*keys.Manager, func() error, error) {
	target, err := CheckConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	st, err := openStore(ctx, cfg, target, log, false)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := loadSecrets(cfg, target, log, false)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if err := requireCurrentSchema(ctx, st); err != nil {
		st.Close()
		return nil, nil, err
	}
	km, err := keys.New(ctx, st, keysOptions(cfg, secrets), time.Now)
	if err != nil {
		st.Close()
		if errors.Is(err, keys.ErrUndecryptable) {
			return nil, nil, wrongSecret(err, cfg, target)
		}
		return nil, nil, err
	}
	return km, st.Close, nil
}

// PublicHandler is the public API's handler (for tests and embedding).
func (a *App) PublicHandler() http.Handler { return a.api.Public() }

// Keys is the node's signing-key manager (for `jwk` style operations and
// tests: Rotate, List, JWKS).
func (a *App) Keys() *keys.Manager { return a.api.Keys }

// AdminHandler is the admin API's handler.
func (a *App) AdminHandler() http.Handler { return a.api.Admin() }

// newMetrics builds the node's Prometheus registry (nothing is registered
// globally): the HTTP and rate-limit metrics, the database pool, the rate
// limiter's store, the build, and the Go runtime and process collectors.
func newMetrics(st *store.Store, limiter ratelimit.Limiter, cfg config.Config) (*prometheus.Registry, *metrics.Metrics, error) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		return nil, nil, err
	}
	state := func() string {
		switch {
		case limiter == nil:
			return metrics.LimiterDisabled
		case cfg.RateLimiter.Store != "redis":
			return metrics.LimiterMemory
		}
		if d, ok := limiter.(interface{ Degraded() bool }); ok && d.Degraded() {
			return metrics.LimiterDegraded
		}
		return metrics.LimiterRedis
	}
	for _, register := range []func() error{
		func() error { return metrics.RegisterDBStats(reg, st.Stats) },
		func() error { return metrics.RegisterLimiterState(reg, state) },
		func() error { return metrics.RegisterBuildInfo(reg) },
		func() error { return reg.Register(collectors.NewGoCollector()) },
		func() error { return reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})) },
	} {
		if err := register(); err != nil {
			return nil, nil, err
		}
	}
	return reg, m, nil
}

// newAuditLog builds the audit log of audit_log.*: entries stored with
// storage.enabled, console lines on stdout (the writer serve passes as
// standard output) or stderr with console_output.enabled.
func newAuditLog(st *store.Store, cfg config.Config, stdout io.Writer) *audit.Log {
	o := audit.Options{Store: cfg.AuditLog.Storage.Enabled, Mask: cfg.AuditLog.Mask, Retention: cfg.AuditLog.Retention}
	if cfg.AuditLog.ConsoleOutput.Enabled {
		o.Console = stdout
		if cfg.AuditLog.ConsoleOutput.Output == "stderr" {
			o.Console = os.Stderr
		}
	}
	return audit.New(st, o)
}

// eventSink gives the store the audit log's form of each recorded event's
// address (kept with the event) and hands every committed event to the
// audit log's console and to the metrics.
type eventSink struct {
	audit   *audit.Log
	metrics *metrics.Metrics
	hooks   *webhook.Service
}

func (s eventSink) AuditEmail(e inkan.Event) string { return s.audit.Email(e) }

func (s eventSink) Committed(e inkan.Event) {
	s.audit.Print(e)
	s.metrics.Event(e)
	if webhook.Hooked(e.Type) {
		s.hooks.Notify()
	}
}

// PurgeAuditLog runs the audit log's retention purge at now once (the
// purge job runs it every purge interval); for tests and operators.
func (a *App) PurgeAuditLog(ctx context.Context, now time.Time) (int64, error) {
	return a.audit.Purge(ctx, now)
}

// webhookPoll is how often a node looks for due webhook deliveries besides
// being woken by its own events; webhookRetention how long finished
// deliveries and their attempts are kept (the admin API lists them).
const (
	webhookPoll      = time.Second
	webhookRetention = 7 * 24 * time.Hour
)

// newWebhooks builds the webhook deliveries of webhooks.*: the file's hooks
// (with webhooks.enabled) and the stored ones, JWTs signed by the session
// manager, user objects from the admin API, hook secrets sealed under a
// key derived from the configured secrets.
func newWebhooks(ctx context.Context, a *App, cfg config.Config, secrets []string, sessions *session.Manager, observer *metrics.Metrics, log *slog.Logger) (*webhook.Service, error) {
	hooks := make([]webhook.Hook, len(cfg.Webhooks.Hooks))
	for i, h := range cfg.Webhooks.Hooks {
		hooks[i] = webhook.Hook{Callback: h.Callback, Events: h.Events, Secret: h.Secret}
	}
	if cfg.Webhooks.Enabled && len(hooks) > 0 {
		log.Info("webhooks: hooks of the configuration file", "hooks", len(hooks))
	}
	user := func(ctx context.Context, id uuid.UUID) (json.RawMessage, error) {
		return a.api.AdminUserObject(ctx, id)
	}
	return webhook.New(a.store, sessions, user, webhook.Options{
		Hooks:               hooks,
		ConfigEnabled:       cfg.Webhooks.Enabled,
		MaxFailures:         cfg.Webhooks.MaxFailures,
		RequireVerification: cfg.Email.RequireVerification,
		SecretKeys:          deriveAll(secrets, "inkan/webhook-secret/v1"),
		Log:                 log,
		Observer:            observer,
		ViewRefresh:         hookViewRefresh(ctx),
	}, time.Now)
}

// hookViewRefresh is the webhook service's R (webhook.DefaultViewRefresh;
// tests shorten it through New's context so that creating a hook waits
// less).
func hookViewRefresh(ctx context.Context) time.Duration {
	if d, ok := ctx.Value(hookViewRefreshKey{}).(time.Duration); ok {
		return d
	}
	return webhook.DefaultViewRefresh
}

type hookViewRefreshKey struct{}

// Webhooks is the node's webhook service (tests run its rounds with
// RunOnce).
func (a *App) Webhooks() *webhook.Service { return a.hooks }

// hookMail is the sealed email.send data of the passcode mail m: the mail
// rendered as it is (or would be) sent, the code and its validity.
func hookMail(hooks *webhook.Service, tmpl *mail.Templates, cfg config.Config, m inkan.PasscodeMail, validUntil time.Time, delivered bool) ([]byte, error) {
	r, err := tmpl.RenderPasscode(m, cfg.Email.PasscodeInSubject)
	if err != nil {
		return nil, err
	}
	return hooks.SealMail(webhook.Mail{
		To: m.To, Subject: r.Subject, BodyPlain: r.Text, BodyHTML: r.HTML, Language: r.Language, AcceptLanguage: m.AcceptLanguage,
		ServiceName: m.ServiceName, Code: m.Code, TTL: m.TTL, ValidUntil: validUntil, DeliveredByInkan: delivered,
	})
}
