package app_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/inkan-auth/inkan/internal/config"
)

// scrape reads GET /metrics of the admin listener into metric families.
func (h *harness) scrape(t *testing.T, headers ...string) map[string]*dto.MetricFamily {
	t.Helper()
	r := h.admin(t, "GET", "/metrics", "", headers...)
	h.want(t, r, 200, "GET /metrics")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, r.Body)
	}
	return fams
}

// sample returns the value of the sample of family name whose labels
// include want (counter, gauge, or a histogram's count), and whether there
// is one.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestMetricsScrape: after a passcode login, a failed passkey login, an
// unknown path and a rate-limit refusal, the scrape shows the counters and
// histograms moved under route patterns, and no label holds an id, an
// address or a raw path.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) { c.RateLimiter.PasscodeLimits.Tokens = 1 })
	before := h.scrape(t)
	if v, ok := sample(before, "inkan_http_requests_total", map[string]string{"route": "/passcode/login/finalize"}); ok && v != 0 {
		t.Fatalf("finalize counted before any request: %v", v)
	}

	userID, _, _ := h.signUp(t, "metrics@example.test")
	h.do(t, "GET", "/users/"+userID, "") // 401, a route with an id in its path
	h.do(t, "GET", "/no/such/"+userID, "")
	r := h.do(t, "POST", "/webauthn/login/initialize", "")
	h.want(t, r, 200, "passkey login initialize")
	r = h.do(t, "POST", "/webauthn/login/finalize", `{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`)
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("bad passkey assertion: %d %s", r.Status, r.Body)
	}
	h.want(t, h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userID+`"}`), 429, "second passcode within the limit")

	fams := h.scrape(t)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"inkan_http_requests_total", map[string]string{"listener": "public", "route": "/passcode/login/finalize", "method": "POST", "status": "200"}, 1},
		{"inkan_http_requests_total", map[string]string{"listener": "public", "route": "/users", "method": "POST", "status": "200"}, 1},
		{"inkan_http_requests_total", map[string]string{"listener": "public", "route": "/users/{id}", "method": "GET", "status": "401"}, 1},
		{"inkan_http_requests_total", map[string]string{"listener": "public", "route": "unmatched", "method": "GET", "status": "404"}, 1},
		{"inkan_http_requests_total", map[string]string{"listener": "public", "route": "/webauthn/login/finalize", "method": "POST", "status": "400"}, 1},
		{"inkan_http_requests_total", map[string]string{"listener": "public", "route": "/passcode/login/initialize", "method": "POST", "status": "429"}, 1},
		{"inkan_http_request_duration_seconds", map[string]string{"listener": "public", "route": "/passcode/login/finalize", "method": "POST"}, 1},
		{"inkan_http_request_duration_seconds", map[string]string{"listener": "public", "route": "/webauthn/login/finalize", "method": "POST"}, 1},
		{"inkan_rate_limit_refusals_total", map[string]string{"limit": "passcode_limits"}, 1},
		{"inkan_sign_ins_total", map[string]string{"method": "passcode", "result": "success"}, 1},
		{"inkan_sign_ins_total", map[string]string{"method": "passkey", "result": "failure"}, 1},
		{"inkan_passcode_mails_total", map[string]string{"result": "success"}, 1},
		{"inkan_rate_limiter_store", map[string]string{"store": "memory"}, 1},
		{"inkan_rate_limiter_store", map[string]string{"store": "redis"}, 0},
		{"inkan_build_info", nil, 1},
	} {
		got, ok := sample(fams, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	// The admin scrape before this one was counted on the admin listener.
	if got, _ := sample(fams, "inkan_http_requests_total", map[string]string{"listener": "admin", "route": "/metrics", "status": "200"}); got < 1 {
		t.Errorf("admin GET /metrics not counted: %v", got)
	}
	for _, name := range []string{"inkan_db_open_connections", "inkan_db_max_open_connections", "inkan_db_wait_count_total", "go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if v, _ := sample(fams, "inkan_db_max_open_connections", nil); v != 10 {
		t.Errorf("inkan_db_max_open_connections = %v, want database.max_open_conns 10", v)
	}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				if uuidRE.MatchString(v) || strings.Contains(v, "@") || strings.HasPrefix(v, "/no/") {
					t.Errorf("%s has the label %s=%q", name, l.GetName(), v)
				}
			}
		}
	}
}
