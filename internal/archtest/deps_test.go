package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
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

// TestDependencies enforces the architecture's rooms. Allowed lists are
// checked against direct imports of the module's own packages; forbidden
// lists against every transitive dependency.
func TestDependencies(t *testing.T) {
	pkgs := listPackages(t)
	sqlAndMail := []string{"database/sql", "github.com/uptrace/bun", "github.com/jackc/pgx", "github.com/go-sql-driver/mysql", "modernc.org/sqlite", "github.com/wneessen/go-mail", "github.com/knadh/koanf"}
	rules := []struct {
		pkg       string
		internals []string // module packages it may import directly
		forbidden []string // prefixes it must not depend on, even transitively
		stdOnly   bool     // nothing outside the standard library except these third-party prefixes
		thirdOK   []string
		direct    []string // paths it must not import itself (its libraries may)
	}{
		{pkg: "internal/inkan", stdOnly: true, thirdOK: []string{"github.com/google/uuid", "golang.org/x/net/idna", "golang.org/x/text"}},
		{pkg: "internal/config", forbidden: []string{module + "/internal/store", "database/sql", "net/http"}},
		{pkg: "internal/account", internals: []string{"internal/inkan"}, forbidden: append([]string{"net/http", module + "/internal/store"}, sqlAndMail...)},
		{pkg: "internal/passcode", internals: []string{"internal/inkan"}, forbidden: append([]string{"net/http", module + "/internal/store"}, sqlAndMail...)},
		{pkg: "internal/passkey", internals: []string{"internal/inkan", "internal/aaguid"}, forbidden: append([]string{module + "/internal/store"}, sqlAndMail...)},
		{pkg: "internal/aaguid", internals: []string{}, stdOnly: true, thirdOK: []string{"github.com/google/uuid"}},
		{pkg: "internal/session", internals: []string{"internal/inkan"}, forbidden: append([]string{module + "/internal/store"}, sqlAndMail...)},
		{pkg: "internal/keys", internals: []string{"internal/inkan"}, forbidden: append([]string{module + "/internal/store"}, sqlAndMail...)},
		{pkg: "internal/mail", internals: []string{"internal/inkan"}, forbidden: []string{"database/sql", module + "/internal/store"}},
		{pkg: "internal/ratelimit", internals: []string{}, forbidden: []string{"database/sql", module + "/internal/inkan"}},
		{pkg: "internal/login", internals: []string{"internal/inkan", "internal/account", "internal/passcode", "internal/passkey", "internal/password", "internal/session"}, forbidden: append([]string{module + "/internal/store"}, sqlAndMail...), direct: []string{"net/http"}},
		{pkg: "internal/store", internals: []string{"internal/inkan"}, forbidden: []string{"net/http", module + "/internal/httpapi"}},
		{pkg: "internal/httpapi", forbidden: []string{module + "/internal/store", module + "/internal/config", "database/sql", "github.com/wneessen/go-mail", "github.com/knadh/koanf", "github.com/uptrace/bun"}},
		{pkg: "internal/metrics", internals: []string{}, forbidden: []string{module + "/internal/store", "github.com/uptrace/bun"}},
		{pkg: "cmd/inkan", internals: []string{"internal/app", "internal/config", "internal/mobile"}},
		{pkg: "client", stdOnly: true},
		{pkg: "verify", stdOnly: true, thirdOK: []string{"github.com/lestrrat-go/", "github.com/valyala/", "github.com/segmentio/", "github.com/goccy/", "github.com/decred/", "golang.org/x/"}},
	}
	for _, r := range rules {
		p, ok := pkgs[r.pkg]
		if !ok {
			t.Errorf("package %s not found", r.pkg)
			continue
		}
		if r.internals != nil {
			for _, imp := range p.Imports {
				in := internalOf(imp)
				if in == "" || in == r.pkg {
					continue
				}
				allowed := false
				for _, a := range r.internals {
					if in == a || strings.HasPrefix(in, a+"/") {
						allowed = true
					}
				}
				if !allowed {
					t.Errorf("%s imports %s; its row allows only %v", r.pkg, in, r.internals)
				}
			}
		}
		for _, imp := range p.Imports {
			for _, f := range r.direct {
				if matches(imp, f) {
					t.Errorf("%s imports %s, which its row forbids", r.pkg, imp)
				}
			}
		}
		for _, d := range p.Deps {
			for _, f := range r.forbidden {
				if matches(d, f) {
					t.Errorf("%s depends on %s, which its row forbids", r.pkg, d)
				}
			}
			if r.stdOnly && !isStd(d) && internalOf(d) == "" {
				ok := false
				for _, prefix := range r.thirdOK {
					if strings.HasPrefix(d, prefix) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s depends on %s outside its allowed libraries", r.pkg, d)
				}
			}
			if r.stdOnly && internalOf(d) != "" && r.pkg != "internal/inkan" {
				t.Errorf("public package %s depends on %s", r.pkg, d)
			}
		}
	}
}

// TestHelpersOnlyInTests: the test-helper packages that read what inkan
// writes (outboxtest) and fake its time (clocktest) are imported by
// _test.go files only, never by code that ships.
func TestHelpersOnlyInTests(t *testing.T) {
	helpers := []string{"internal/outboxtest", "internal/clocktest"}
	for name, p := range listPackages(t) {
		for _, imp := range p.Imports {
			for _, h := range helpers {
				if internalOf(imp) == h {
					t.Errorf("%s imports the test helper %s outside a _test.go file", name, h)
				}
			}
		}
	}
}
