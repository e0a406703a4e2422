package archtest

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/inkan-auth/inkan"

type pkg struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive
	Standard   bool
}

func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	pkgs := map[string]pkg{}
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p
	}
	return pkgs
}

// matches reports whether dependency d is the forbidden path f: a standard
// library path matches exactly (database/sql, not database/sql/driver,
// which the UUID library needs); any other path also matches its
// subpackages.
func matches(d, f string) bool {
	if isStd(f) {
		return d == f
	}
	return d == f || strings.HasPrefix(d, f+"/")
}

func isStd(path string) bool { return !strings.Contains(strings.Split(path, "/")[0], ".") }

func internalOf(path string) string {
	if !strings.HasPrefix(path, module) {
		return ""
	}
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

// rule is one package's row of the architecture (../shared/docs/
// architecture.md): what it may import and why.
type rule struct {
	pkg       string
	why       string   // the reason the row exists; every rule has one
	internals []string // module packages it may import directly (nil: any)
	forbidden []string // prefixes it must not depend on, even transitively
	direct    []string // paths it must not import itself (its libraries may)
	stdOnly   bool     // nothing outside the standard library except thirdOK
	thirdOK   []string
	helpers   []string // test helpers it may import outside _test.go files
}

// testHelpers are the packages with real parts for tests (a database per
// test, an SMTP server, a software authenticator, the outbox reader, a
// fake clock): _test.go files only, never code that ships.
var testHelpers = []string{"internal/dbtest", "internal/smtptest", "internal/webauthntest", "internal/outboxtest", "internal/clocktest", "internal/oidctest"}

var sqlAndMail = []string{"database/sql", "github.com/uptrace/bun", "github.com/jackc/pgx", "github.com/go-sql-driver/mysql", "modernc.org/sqlite", "github.com/wneessen/go-mail", "github.com/knadh/koanf"}

// domain is the row shared by the domain services: the vocabulary, no
// storage, no mail, no configuration loader.
func domain(pkg, why string, internals ...string) rule {
	return rule{pkg: pkg, why: why, internals: append([]string{"internal/inkan"}, internals...),
		forbidden: append([]string{module + "/internal/store"}, sqlAndMail...), direct: []string{"net/http"}}
}

// noHTTPAtAll also forbids net/http through libraries: the packages whose
// libraries do not need it keep it that way.
func noHTTPAtAll(r rule) rule {
	r.forbidden = append(r.forbidden, "net/http")
	return r
}

// rules is every package of the module. A package missing here fails
// TestDependencies: a new package gets its row when it is created.
var rules = []rule{
	{pkg: "internal/inkan", why: "the vocabulary every package shares: it must pull in nothing else", stdOnly: true, thirdOK: []string{"github.com/google/uuid", "golang.org/x/net/idna", "golang.org/x/text"}},
	{pkg: "internal/config", why: "turns YAML and environment into values; validating must not open databases or listeners", forbidden: []string{module + "/internal/store", "database/sql", "net/http"}},
	noHTTPAtAll(domain("internal/account", "users and addresses: rules testable without HTTP or SQL")),
	noHTTPAtAll(domain("internal/passcode", "one-time codes: generation, keyed hash, attempts, never HTTP, SQL or SMTP")),
	domain("internal/passkey", "WebAuthn ceremonies on bytes: the HTTP layer hands it bodies", "internal/aaguid"),
	domain("internal/password", "password rules and hashes, below HTTP and SQL"),
	domain("internal/session", "JWTs and session rows: verification must not reach for HTTP or SQL"),
	domain("internal/keys", "signing keys: storage through an interface, no HTTP"),
	domain("internal/login", "the one place every sign-in ends: below HTTP, storage only through inkan.Journal and the domain services",
		"internal/account", "internal/passcode", "internal/passkey", "internal/password", "internal/session"),
	{pkg: "internal/thirdparty", why: "OAuth 2.0 / OpenID Connect providers behind a small interface: an HTTP client of the providers only (x/oauth2, go-oidc, jwx for their key sets), never storage, mail or the config loader",
		internals: []string{"internal/inkan"}, forbidden: append([]string{module + "/internal/store", module + "/internal/config", module + "/internal/httpapi"}, sqlAndMail...)},
	{pkg: "internal/aaguid", why: "a data table of authenticator providers: no dependencies", internals: []string{}, stdOnly: true, thirdOK: []string{"github.com/google/uuid"}},
	{pkg: "internal/mail", why: "the only package that speaks SMTP; it never touches the database", internals: []string{"internal/inkan"}, forbidden: []string{"database/sql", module + "/internal/store"}},
	{pkg: "internal/ratelimit", why: "the only package that speaks Redis; independent of the domain", internals: []string{}, forbidden: []string{"database/sql", module + "/internal/inkan"}},
	noHTTPAtAll(domain("internal/userimport", "Hanko's user import format: validation and conversion, storage through an interface", "internal/password")),
	noHTTPAtAll(domain("internal/audit", "the audit log over the recorded events: masking, console lines, retention; storage through an interface")),
	{pkg: "internal/webhook", why: "deliveries of recorded events to hooks over the stdlib HTTP client: storage, signing keys and user objects through interfaces", internals: []string{"internal/inkan"}, forbidden: append([]string{module + "/internal/store", module + "/internal/httpapi", "github.com/lestrrat-go/"}, sqlAndMail...)},
	{pkg: "internal/metrics", why: "Prometheus collectors on an injected registry; reads numbers and events, not the store", internals: []string{"internal/inkan"}, forbidden: []string{module + "/internal/store", "github.com/uptrace/bun"}},
	{pkg: "internal/mobile", why: "Android/iOS app association files and signing-certificate digests: no domain, no storage", internals: []string{}, forbidden: append([]string{module + "/internal/store"}, sqlAndMail...)},
	{pkg: "internal/store", why: "the only package that speaks SQL; it serves the domain, never HTTP", internals: []string{"internal/inkan"}, forbidden: []string{"net/http", module + "/internal/httpapi"}},
	{pkg: "internal/httpapi", why: "thin handlers: decode, call a service, encode; SQL, mail transport and the config loader stay out", forbidden: []string{module + "/internal/store", module + "/internal/config", "database/sql", "github.com/wneessen/go-mail", "github.com/knadh/koanf", "github.com/uptrace/bun"}},
	{pkg: "internal/app", why: "the composition root: it may wire everything, but never a test helper", internals: nil},
	{pkg: "cmd/inkan", why: "the command line only parses flags and starts internal/app", internals: []string{"internal/app", "internal/config", "internal/mobile"}},
	{pkg: "api", why: "the embedded OpenAPI documents: no code to depend on", internals: []string{}, stdOnly: true},
	{pkg: "client", why: "public Go client: importable by apps without inkan's internals or libraries", stdOnly: true},
	{pkg: "verify", why: "public JWT verification for apps' backends: the JWT library only", stdOnly: true, thirdOK: []string{"github.com/lestrrat-go/", "github.com/valyala/", "github.com/segmentio/", "github.com/goccy/", "github.com/decred/", "golang.org/x/"}},
	{pkg: "examples/mobileflow", why: "a runnable example of the mobile flow through the public client; it plays the phone, so it uses the software authenticator (never built into inkan)", internals: []string{"client", "internal/webauthntest"}, helpers: []string{"internal/webauthntest"}},
	{pkg: "loadtest", why: "a load generator a user runs against a deployment: it plays the clients over HTTP, so it uses the software authenticator (a client's part, like examples/mobileflow) and never inkan's internals or SQL", internals: []string{"internal/webauthntest"}, helpers: []string{"internal/webauthntest"}, forbidden: []string{module + "/internal/store", module + "/internal/app", "database/sql"}},
	{pkg: "internal/archtest", why: "this test: no non-test code", internals: []string{}, stdOnly: true},
	{pkg: "internal/dbtest", why: "test helper: a fresh database per test through the real store", internals: []string{"internal/store"}},
	{pkg: "internal/smtptest", why: "test helper: a real SMTP server on 127.0.0.1:0", internals: []string{}},
	{pkg: "internal/webauthntest", why: "test helper: a software authenticator, independent of inkan's WebAuthn code it tests", internals: []string{}, forbidden: []string{"github.com/go-webauthn/webauthn"}},
	{pkg: "internal/outboxtest", why: "test helper: reads the development outbox and logs", internals: []string{}, stdOnly: true},
	{pkg: "internal/clocktest", why: "test helper: a settable clock", internals: []string{}, stdOnly: true},
	{pkg: "internal/oidctest", why: "test helper: a real OpenID Connect provider (discovery, key set, signed ID tokens), independent of inkan's verification code it tests", internals: []string{}, forbidden: []string{"github.com/coreos/go-oidc", "golang.org/x/oauth2"}},
}

// check returns every violation of rules in pkgs: packages without a row,
// rows without a reason or a package, imports a row does not allow, and
// test helpers imported by code that ships.
func check(pkgs map[string]pkg, rules []rule) []string {
	var out []string
	byPkg := map[string]rule{}
	for _, r := range rules {
		if r.why == "" {
			out = append(out, fmt.Sprintf("the rule of %s does not say why it exists", r.pkg))
		}
		if _, ok := pkgs[r.pkg]; !ok {
			out = append(out, fmt.Sprintf("rule for %s, which does not exist", r.pkg))
		}
		byPkg[r.pkg] = r
	}
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := pkgs[name]
		r, ok := byPkg[name]
		if !ok {
			out = append(out, fmt.Sprintf("package %s has no rule: add its row (and the reason) to internal/archtest", name))
			continue
		}
		out = append(out, checkRule(p, r)...)
	}
	return out
}

func checkRule(p pkg, r rule) []string {
	var out []string
	for _, imp := range p.Imports {
		in := internalOf(imp)
		if in != "" && in != r.pkg {
			if slices.Contains(testHelpers, in) && !slices.Contains(r.helpers, in) {
				out = append(out, fmt.Sprintf("%s imports the test helper %s outside a _test.go file", r.pkg, in))
			}
			if r.internals != nil && !slices.ContainsFunc(r.internals, func(a string) bool { return in == a || strings.HasPrefix(in, a+"/") }) {
				out = append(out, fmt.Sprintf("%s imports %s; its row allows only %v (%s)", r.pkg, in, r.internals, r.why))
			}
		}
		for _, f := range r.direct {
			if matches(imp, f) {
				out = append(out, fmt.Sprintf("%s imports %s, which its row forbids (%s)", r.pkg, imp, r.why))
			}
		}
	}
	for _, d := range p.Deps {
		for _, f := range r.forbidden {
			if matches(d, f) {
				out = append(out, fmt.Sprintf("%s depends on %s, which its row forbids (%s)", r.pkg, d, r.why))
			}
		}
		if r.stdOnly && !isStd(d) && internalOf(d) == "" && !slices.ContainsFunc(r.thirdOK, func(prefix string) bool { return strings.HasPrefix(d, prefix) }) {
			out = append(out, fmt.Sprintf("%s depends on %s outside its allowed libraries (%s)", r.pkg, d, r.why))
		}
		if r.stdOnly && internalOf(d) != "" && r.pkg != "internal/inkan" && (r.pkg == "client" || r.pkg == "verify") {
			out = append(out, fmt.Sprintf("public package %s depends on %s", r.pkg, d))
		}
	}
	return out
}

// TestDependencies enforces the architecture's rooms on every package of
// the module: the internal imports each row allows (direct imports), the
// paths it must not import itself, what it must not depend on even
// through a library, and test helpers out of shipped code.
func TestDependencies(t *testing.T) {
	for _, v := range check(listPackages(t), rules) {
		t.Error(v)
	}
}

// TestFenceMissesNothing proves the checks bite, on made-up packages: a
// package without a rule, a rule without a reason, a direct import of
// net/http by a domain package, a forbidden library reached through
// another package, and a test helper in shipped code each fail.
func TestFenceMissesNothing(t *testing.T) {
	pkgs := map[string]pkg{
		"internal/newthing": {ImportPath: module + "/internal/newthing"},
		"internal/login":    {ImportPath: module + "/internal/login", Imports: []string{"net/http", module + "/internal/dbtest"}},
		"internal/account":  {ImportPath: module + "/internal/account", Deps: []string{"github.com/uptrace/bun/dialect"}},
	}
	rs := []rule{
		domain("internal/login", "a reason"),
		domain("internal/account", ""),
	}
	got := strings.Join(check(pkgs, rs), "\n")
	for _, want := range []string{
		"package internal/newthing has no rule",
		"the rule of internal/account does not say why",
		"internal/login imports net/http, which its row forbids",
		"internal/login imports the test helper internal/dbtest",
		"internal/account depends on github.com/uptrace/bun/dialect, which its row forbids",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the fence missed %q; it reported:\n%s", want, got)
		}
	}
}
