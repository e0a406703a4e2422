// Package metrics defines inkan's Prometheus metrics (namespace "inkan") on
// a registry the caller builds (internal/app; nothing is registered
// globally): HTTP requests per listener, route pattern, method and status
// with their latency, rate-limit refusals per limit, and the helpers that
// expose the database pool, the rate limiter's store and the build. It
// implements the HTTP layer's observer interface.
package metrics

import (
	"database/sql"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Namespace prefixes every metric name.
const Namespace = "inkan"

// Metrics holds the metrics the HTTP layer and the event readers move. It
// is safe for concurrent use.
type Metrics struct {
	signIns     *prometheus.CounterVec
	mails       *prometheus.CounterVec
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	hooks       *prometheus.CounterVec
	hookTries   *prometheus.HistogramVec
	hookAge     *prometheus.HistogramVec
}

// New registers the event, request and rate-limit metrics on reg:
//
//	inkan_sign_ins_total{method, result}
//	inkan_passcode_mails_total{result}
//	inkan_http_requests_total{listener, route, method, status}
//	inkan_http_request_duration_seconds{listener, route, method} (histogram, seconds)
//	inkan_rate_limit_refusals_total{limit}
//	inkan_webhook_attempts_total{event, result}
//	inkan_webhook_delivery_attempts{result} (histogram: attempts a finished delivery took)
//	inkan_webhook_queue_age_seconds{result} (histogram: event to attempt, seconds)
//
// route is the matched route pattern ("/users/{id}"), never the raw path;
// requests matching no route are counted under "unmatched".
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "sign_ins_total",
			Help: "Sign-in attempts by method (passcode, passkey, password, admin, thirdparty) and result (success, failure), from the recorded events.",
		}, []string{"method", "result"}),
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "passcode_mails_total",
			Help: "Passcode requests by result: success (mail handed to the mailer) or failure, from the recorded events.",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by listener, route pattern, method and status code.",
		}, []string{"listener", "route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, in seconds, by listener, route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"listener", "route", "method"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rate_limit_refusals_total",
			Help: "Requests refused with 429, by rate_limiter limit name.",
		}, []string{"limit"}),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "webhook", Name: "attempts_total",
			Help: "Webhook delivery attempts by event name and result: delivered, retry (failed, retried later) or failed (given up).",
		}, []string{"event", "result"}),
		hookTries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "webhook", Name: "delivery_attempts",
			Help:    "Attempts a finished webhook delivery took, by result (delivered, failed).",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 10, 12},
		}, []string{"result"}),
		hookAge: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "webhook", Name: "queue_age_seconds",
			Help:    "Time from an event to each attempt of its webhook delivery, in seconds, by result.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600},
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.signIns, m.mails, m.requests, m.duration, m.rateLimited, m.hooks, m.hookTries, m.hookAge} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// knownMethods are the method label values; any other method is "other",
// so a client cannot create label values at will.
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// Request records one answered request; elapsed is its duration.
func (m *Metrics) Request(listener, route, method string, status int, elapsed time.Duration) {
	if !knownMethods[method] {
		method = "other"
	}
	m.requests.WithLabelValues(listener, route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(listener, route, method).Observe(elapsed.Seconds())
}

// RateLimited records a request refused by the limit named limit (a
// rate_limiter key such as "passcode_limits").
func (m *Metrics) RateLimited(limit string) {
	m.rateLimited.WithLabelValues(limit).Inc()
}

// RegisterDBStats registers the connection pool's statistics, read from
// stats at every scrape:
//
//	inkan_db_max_open_connections, inkan_db_open_connections,
//	inkan_db_in_use_connections, inkan_db_idle_connections (gauges)
//	inkan_db_wait_count_total, inkan_db_wait_duration_seconds_total,
//	inkan_db_max_idle_closed_total, inkan_db_max_idle_time_closed_total,
//	inkan_db_max_lifetime_closed_total (counters)
func RegisterDBStats(reg prometheus.Registerer, stats func() sql.DBStats) error {
	gauge := func(name, help string, v func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Subsystem: "db", Name: name, Help: help},
			func() float64 { return v(stats()) })
	}
	counter := func(name, help string, v func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "db", Name: name, Help: help},
			func() float64 { return v(stats()) })
	}
	for _, c := range []prometheus.Collector{
		gauge("max_open_connections", "Most open connections allowed (database.max_open_conns; 0 = unlimited).", func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }),
		gauge("open_connections", "Open connections, in use and idle.", func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		gauge("in_use_connections", "Connections in use.", func(s sql.DBStats) float64 { return float64(s.InUse) }),
		gauge("idle_connections", "Idle connections.", func(s sql.DBStats) float64 { return float64(s.Idle) }),
		counter("wait_count_total", "Times a query waited for a free connection.", func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		counter("wait_duration_seconds_total", "Time spent waiting for a free connection, in seconds.", func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
		counter("max_idle_closed_total", "Connections closed because of database.max_idle_conns.", func(s sql.DBStats) float64 { return float64(s.MaxIdleClosed) }),
		counter("max_idle_time_closed_total", "Connections closed because of database.conn_max_idle_time.", func(s sql.DBStats) float64 { return float64(s.MaxIdleTimeClosed) }),
		counter("max_lifetime_closed_total", "Connections closed because of database.conn_max_lifetime.", func(s sql.DBStats) float64 { return float64(s.MaxLifetimeClosed) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Rate limiter store states, the values of inkan_rate_limiter_store's
// "store" label.
const (
	LimiterDisabled = "disabled" // rate_limiter.enabled false
	LimiterMemory   = "memory"   // in-memory, per node
	LimiterRedis    = "redis"    // shared through Redis
	LimiterDegraded = "degraded" // Redis unreachable: in memory per node until it answers again
)

// RegisterLimiterState registers inkan_rate_limiter_store{store}: 1 for the
// state state() reports at scrape time, 0 for the others.
func RegisterLimiterState(reg prometheus.Registerer, state func() string) error {
	for _, s := range []string{LimiterDisabled, LimiterMemory, LimiterRedis, LimiterDegraded} {
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "rate_limiter_store",
			Help:        "Where rate-limit counters are kept now: 1 for the current store (disabled, memory, redis, degraded).",
			ConstLabels: prometheus.Labels{"store": s},
		}, func() float64 {
			if state() == s {
				return 1
			}
			return 0
		})
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}

// RegisterBuildInfo registers inkan_build_info{version, revision,
// go_version} = 1, from the binary's build information.
func RegisterBuildInfo(reg prometheus.Registerer) error {
	version, revision, goVersion := "(devel)", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "go_version": goVersion},
	}, func() float64 { return 1 }))
}

// signInEvents maps the sign-in outcome events to their method and result.
var signInEvents = map[inkan.EventType][2]string{
	inkan.EventPasscodeLoginFinalSucceeded:          {"passcode", "success"},
	inkan.EventPasscodeLoginFinalFailed:             {"passcode", "failure"},
	inkan.EventWebAuthnAuthenticationFinalSucceeded: {"passkey", "success"},
	inkan.EventWebAuthnAuthenticationFinalFailed:    {"passkey", "failure"},
	inkan.EventPasswordLoginSucceeded:               {"password", "success"},
	inkan.EventPasswordLoginFailed:                  {"password", "failure"},
	inkan.EventLoginSuccess:                         {"admin", "success"},
	inkan.EventThirdPartySignUpSucceeded:            {"thirdparty", "success"},
	inkan.EventThirdPartySignInSucceeded:            {"thirdparty", "success"},
	inkan.EventThirdPartyLinkingSucceeded:           {"thirdparty", "success"},
	inkan.EventThirdPartySignInSignUpFailed:         {"thirdparty", "failure"},
}

// Event counts a committed event: sign-ins by method and result, passcode
// mails by result. Other types are not counted.
func (m *Metrics) Event(e inkan.Event) {
	if mr, ok := signInEvents[e.Type]; ok {
		m.signIns.WithLabelValues(mr[0], mr[1]).Inc()
	}
	switch e.Type {
	case inkan.EventPasscodeLoginInitSucceeded:
		m.mails.WithLabelValues("success").Inc()
	case inkan.EventPasscodeLoginInitFailed:
		m.mails.WithLabelValues("failure").Inc()
	}
}

// WebhookAttempt records one webhook delivery attempt (internal/webhook):
// its event name, result (delivered, retry, failed), the attempt's number
// and the time since the event happened.
func (m *Metrics) WebhookAttempt(event, result string, attempt int, age time.Duration) {
	if m == nil {
		return
	}
	m.hooks.WithLabelValues(event, result).Inc()
	m.hookAge.WithLabelValues(result).Observe(age.Seconds())
	if result != "retry" {
		m.hookTries.WithLabelValues(result).Observe(float64(attempt))
	}
}
