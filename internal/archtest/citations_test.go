package archtest

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestCitationsResolve: code cites documents a reader can open. A citation
// of docs/compatibility.md names one of its sections ("docs/compatibility.md
// "Passcodes""), which must exist; citations of a document outside the
// repository (a section number of the upstream API reference, or the shared reference file) fail.
func TestCitationsResolve(t *testing.T) {
	doc, err := os.ReadFile("../../docs/compatibility.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			sections[h] = true
		}
	}
	out, err := exec.Command("git", "-C", "../..", "ls-files", "*.go", "*.sql", "*.yaml", "*.md").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout)", err)
	}
	cite := regexp.MustCompile(`compatibility\.md((?:\s*(?://|--)?\s*)"[^"\n]+"(?:,\s*(?://|--)?\s*"[^"\n]+")*)`)
	name := regexp.MustCompile(`"([^"\n]+)"`)
	gone := regexp.MustCompile(`Hanko( API)? §|shared/reference|hanko-api\.md`)
	checked := 0
	for _, f := range strings.Fields(string(out)) {
		if f == "docs/compatibility.md" || f == "internal/archtest/citations_test.go" {
			continue
		}
		b, err := os.ReadFile("../../" + f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := gone.FindIndex(b); loc != nil {
			t.Errorf("%s cites a document outside the repository: %q", f, b[loc[0]:loc[1]])
		}
		for _, m := range cite.FindAllSubmatch(b, -1) {
			for _, n := range name.FindAllSubmatch(m[1], -1) {
				checked++
				if !sections[string(n[1])] {
					t.Errorf("%s cites docs/compatibility.md %q, which has no such section", f, n[1])
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d citations of docs/compatibility.md found; the pattern no longer matches the code", checked)
	}
}
