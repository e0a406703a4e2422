// Command loadtest measures an inkan deployment with closed-loop clients:
// each worker sends one request, waits for the whole answer and sends the
// next, for a fixed time, at each concurrency of a list, repeated. It
// reports per step requests/s and p50/p90/p99 latency, iterations/s, and
// (given their process ids) the CPU and resident memory of the server and
// the database, as a table and as JSON. docs/performance.md describes the
// setup the published numbers use.
//
// It only targets loopback addresses unless -allow-host names the
// target's host: a load test is an attack on anything else.
//
// Scenarios: signup (POST /users), lookup (POST /user), me (GET /me), jwks
// (GET /.well-known/jwks.json), passcode (initialize, mail, finalize; the
// built-in SMTP sink receives the mails: point email_delivery.smtp at
// -smtp-listen), passkey (register, log in, delete with a software
// authenticator; -origin must be one of webauthn.relying_party.origins).
// Workers sign up and sign in during setup, outside the measured time;
// the server should run with session.enable_auth_token_header: true (the
// session cookie is used otherwise) and rate limiting off.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/inkan-auth/inkan/internal/webauthntest"
)

type runConfig struct {
	target      string
	scenarios   []scenario
	concurrency []int
	duration    time.Duration
	repetitions int
	origin      string
	emailDomain string
	cookieName  string
	serverPID   int
	dbPID       int
	timeout     time.Duration
	tag         string       // random, per process: addresses of earlier runs never collide
	serial      atomic.Int64 // numbers the generated addresses
	sink        *sink
}

// Run is one measured run of a scenario at one concurrency.
type Run struct {
	Scenario     string       `json:"scenario"`
	Concurrency  int          `json:"concurrency"`
	Repetition   int          `json:"repetition"`
	Seconds      float64      `json:"seconds"`
	Iterations   int          `json:"iterations"`
	IterationsPS float64      `json:"iterations_per_second"`
	FailedIters  int          `json:"failed_iterations"`
	Steps        []StepResult `json:"steps"`
	Server       *ProcResult  `json:"server,omitempty"`
	Database     *ProcResult  `json:"database,omitempty"`
}

// Summary is the median of the repetitions of a scenario at one
// concurrency, with the spread (lowest, highest).
type Summary struct {
	Scenario        string        `json:"scenario"`
	Concurrency     int           `json:"concurrency"`
	Runs            int           `json:"runs"`
	IterationsPS    [3]float64    `json:"iterations_per_second"` // median, min, max
	Errors          int           `json:"errors"`
	Steps           []StepSummary `json:"steps"`
	ServerCPU       [3]float64    `json:"server_cpu_percent,omitempty"`
	ServerMaxRSSMiB float64       `json:"server_max_rss_mib,omitempty"`
	DatabaseCPU     [3]float64    `json:"database_cpu_percent,omitempty"`
}

// StepSummary is one step's medians over the runs, with the spread of the rate.
type StepSummary struct {
	Step      string     `json:"step"`
	PerSecond [3]float64 `json:"requests_per_second"` // median, min, max
	P50ms     float64    `json:"p50_ms"`
	P90ms     float64    `json:"p90_ms"`
	P99ms     float64    `json:"p99_ms"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	target := fs.String("target", "http://127.0.0.1:8000", "base URL of inkan's public listener")
	allowHost := fs.String("allow-host", "", "allow this non-loopback target host (only the host named)")
	names := fs.String("scenarios", "signup,lookup,me,jwks,passcode,passkey", "comma-separated scenarios: "+scenarioNames())
	conc := fs.String("concurrency", "8,32", "comma-separated numbers of closed-loop workers")
	duration := fs.Duration("duration", 10*time.Second, "how long each run starts new iterations (those in progress then finish and count)")
	reps := fs.Int("repetitions", 3, "runs of each scenario at each concurrency (the table shows medians)")
	smtpListen := fs.String("smtp-listen", "127.0.0.1:2525", "address of the built-in SMTP sink for passcode mails (empty: none)")
	origin := fs.String("origin", "http://localhost:8888", "WebAuthn origin the software authenticator reports (one of webauthn.relying_party.origins)")
	domain := fs.String("email-domain", "example.test", "domain of the generated addresses")
	cookie := fs.String("cookie-name", "hanko", "session cookie name (session.cookie.name), used when the server sends no X-Auth-Token")
	serverPID := fs.Int("server-pid", 0, "process id of inkan: report its CPU and peak RSS")
	dbPID := fs.Int("db-pid", 0, "process id of the database server (PostgreSQL's postmaster, mariadbd): report its CPU, children included")
	jsonOut := fs.String("json", "", "write every run and the summaries as JSON to this file")
	timeout := fs.Duration("request-timeout", 30*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := &runConfig{target: strings.TrimRight(*target, "/"), duration: *duration, repetitions: *reps, origin: *origin,
		emailDomain: *domain, cookieName: *cookie, serverPID: *serverPID, dbPID: *dbPID, timeout: *timeout, tag: randomTag()}
	if err := checkTarget(cfg.target, *allowHost); err != nil {
		return err
	}
	for _, n := range strings.Split(*names, ",") {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == strings.TrimSpace(n) })
		if i < 0 {
			return fmt.Errorf("unknown scenario %q (have %s)", n, scenarioNames())
		}
		cfg.scenarios = append(cfg.scenarios, scenarios[i])
	}
	for _, c := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("bad concurrency %q", c)
		}
		cfg.concurrency = append(cfg.concurrency, n)
	}
	if cfg.repetitions < 1 || cfg.duration <= 0 {
		return errors.New("-repetitions and -duration must be positive")
	}
	if *smtpListen != "" {
		s, err := startSink(*smtpListen)
		if err != nil {
			return err
		}
		defer s.close()
		cfg.sink = s
	}
	runs, err := measureAll(context.Background(), cfg, stdout)
	sums := summarize(runs)
	printTable(stdout, sums)
	if *jsonOut != "" {
		b, jerr := json.MarshalIndent(map[string]any{"target": cfg.target, "duration_seconds": cfg.duration.Seconds(), "runs": runs, "summaries": sums}, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
		}
		if err == nil {
			err = jerr
		}
	}
	return err
}

func scenarioNames() string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

// checkTarget refuses a target whose host is not a loopback address (or a
// name resolving only to loopback addresses), unless allowHost names it.
func checkTarget(target, allowHost string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-target %q: want an http or https URL", target)
	}
	host := u.Hostname()
	if allowHost != "" && strings.EqualFold(host, allowHost) {
		return nil
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		addrs, err := net.LookupIP(host)
		if err != nil {
			return fmt.Errorf("-target host %q: %w", host, err)
		}
		ips = addrs
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("-target host %q is not a loopback address; pass -allow-host %s to load-test it", host, host)
		}
	}
	return nil
}

func measureAll(ctx context.Context, cfg *runConfig, progress io.Writer) ([]Run, error) {
	var runs []Run
	for _, sc := range cfg.scenarios {
		for _, n := range cfg.concurrency {
			for rep := 1; rep <= cfg.repetitions; rep++ {
				r, err := measure(ctx, cfg, sc, n, rep)
				if err != nil {
					return runs, fmt.Errorf("%s at %d clients: %w", sc.name, n, err)
				}
				fmt.Fprintf(progress, "%-8s c=%-4d run %d: %8.1f it/s, %d failed iterations\n", sc.name, n, rep, r.IterationsPS, r.FailedIters)
				runs = append(runs, r)
			}
		}
	}
	return runs, nil
}

// measure runs sc with n closed-loop workers for cfg.duration.
func measure(ctx context.Context, cfg *runConfig, sc scenario, n, rep int) (Run, error) {
	tr := &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: cfg.timeout}
	workers := make([]*worker, n)
	recs := make([]*recorder, n)
	setupCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range workers {
		recs[i] = newRecorder()
		workers[i] = &worker{id: i, cfg: cfg, auth: webauthntest.New(),
			c: &client{base: cfg.target, http: hc, rec: newRecorder()}}
		if sc.setup != nil {
			wg.Add(1)
			go func(w *worker) {
				defer wg.Done()
				errs[w.id] = sc.setup(setupCtx, w)
			}(workers[i])
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Run{}, fmt.Errorf("setup: %w", err)
	}
	srv, db := startWatch(cfg.serverPID), startWatch(cfg.dbPID)
	// Closed loop: each worker starts iterations until the run's time is
	// up and lets the one in progress finish, so every worker completes at
	// least one iteration however slow the target is, and no request is cut
	// off (which would count as an error). The rate divides by the time
	// until the last worker finished, not by the nominal duration.
	iters, failed := make([]int, n), make([]int, n)
	start := time.Now()
	end := start.Add(cfg.duration)
	for i, w := range workers {
		w.c.rec = recs[i]
		wg.Add(1)
		go func(i int, w *worker) {
			defer wg.Done()
			for first := true; ctx.Err() == nil && (first || time.Now().Before(end)); first = false {
				err := sc.run(ctx, w)
				switch {
				case ctx.Err() != nil:
				case err != nil:
					failed[i]++
				default:
					iters[i]++
				}
			}
		}(i, w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := newRecorder()
	for _, r := range recs {
		all.merge(r)
	}
	r := Run{Scenario: sc.name, Concurrency: n, Repetition: rep, Seconds: elapsed.Seconds(), Steps: all.results(elapsed),
		Server: srv.finish(elapsed), Database: db.finish(elapsed)}
	for i := range iters {
		r.Iterations += iters[i]
		r.FailedIters += failed[i]
	}
	r.IterationsPS = float64(r.Iterations) / elapsed.Seconds()
	return r, nil
}

func summarize(runs []Run) []Summary {
	var out []Summary
	for _, r := range runs {
		i := slices.IndexFunc(out, func(s Summary) bool { return s.Scenario == r.Scenario && s.Concurrency == r.Concurrency })
		if i < 0 {
			out = append(out, Summary{Scenario: r.Scenario, Concurrency: r.Concurrency})
		}
	}
	for k := range out {
		s := &out[k]
		var group []Run
		for _, r := range runs {
			if r.Scenario == s.Scenario && r.Concurrency == s.Concurrency {
				group = append(group, r)
			}
		}
		s.Runs = len(group)
		pick := func(f func(Run) float64) [3]float64 {
			var v []float64
			for _, r := range group {
				v = append(v, f(r))
			}
			m, lo, hi := median(v)
			return [3]float64{m, lo, hi}
		}
		s.IterationsPS = pick(func(r Run) float64 { return r.IterationsPS })
		for _, r := range group {
			s.Errors += r.FailedIters
			if r.Server != nil {
				s.ServerMaxRSSMiB = max(s.ServerMaxRSSMiB, r.Server.MaxRSSMiB)
			}
		}
		if group[0].Server != nil {
			s.ServerCPU = pick(func(r Run) float64 { return r.Server.CPUPercent })
		}
		if group[0].Database != nil {
			s.DatabaseCPU = pick(func(r Run) float64 { return r.Database.CPUPercent })
		}
		for _, st := range group[0].Steps {
			step := func(r Run) StepResult {
				for _, x := range r.Steps {
					if x.Step == st.Step {
						return x
					}
				}
				return StepResult{}
			}
			s.Steps = append(s.Steps, StepSummary{Step: st.Step,
				PerSecond: pick(func(r Run) float64 { return step(r).PerSecond }),
				P50ms:     pick(func(r Run) float64 { return step(r).P50ms })[0],
				P90ms:     pick(func(r Run) float64 { return step(r).P90ms })[0],
				P99ms:     pick(func(r Run) float64 { return step(r).P99ms })[0],
			})
		}
	}
	return out
}

func printTable(w io.Writer, sums []Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\titerations/s (min–max)\tstep\treq/s\tp50 ms\tp90 ms\tp99 ms\terrors\tserver CPU %\tserver RSS MiB\tdb CPU %\t")
	for _, s := range sums {
		for i, st := range s.Steps {
			head := "\t\t\t"
			tail := "\t\t\t\t"
			if i == 0 {
				head = fmt.Sprintf("%s\t%d\t%.0f (%.0f–%.0f)\t", s.Scenario, s.Concurrency, s.IterationsPS[0], s.IterationsPS[1], s.IterationsPS[2])
				tail = fmt.Sprintf("%d\t%s\t%s\t%s\t", s.Errors, pct(s.ServerCPU), mib(s.ServerMaxRSSMiB), pct(s.DatabaseCPU))
			}
			fmt.Fprintf(tw, "%s%s\t%.0f\t%.2f\t%.2f\t%.2f\t%s\n", head, st.Step, st.PerSecond[0], st.P50ms, st.P90ms, st.P99ms, tail)
		}
	}
	tw.Flush()
}

func pct(v [3]float64) string {
	if v == [3]float64{} {
		return "–"
	}
	return fmt.Sprintf("%.0f", v[0])
}

func mib(v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}
