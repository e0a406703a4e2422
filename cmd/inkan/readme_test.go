package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// moduleRoot is the repository root (two levels above cmd/inkan).
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// inkanBinary builds ./cmd/inkan once per test run, as `go build` does in a checkout (VCS stamping on,
// whatever GOFLAGS the machine sets), with -race when the tests run with it so that the compiled
// packages come from the build cache.
func inkanBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH; skipping the tests that build the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "inkan-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "inkan")
		args := []string{"build", "-buildvcs=auto", "-o", buildPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/inkan")...)
		cmd.Dir = moduleRoot(t)
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}

// readmeSection returns the fenced blocks of the given language in the README section whose heading
// is title.
func readmeSection(t *testing.T, title, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## "+title+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", title)
	}
	s = s[i+len(title)+5:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	var blocks []string
	for {
		k := strings.Index(s, "```"+lang+"\n")
		if k < 0 {
			return blocks
		}
		s = s[k+len(lang)+4:]
		end := strings.Index(s, "```")
		blocks = append(blocks, s[:end])
		s = s[end+3:]
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestREADMEWalkthrough starts the server with the README's start command and runs the README's curl
// walkthrough literally with sh, in a fresh folder. Two things are substituted, both outside what the
// reader types: `go run ./cmd/inkan` is the binary built from the same source (go run would build the
// same program), and the ports 8000/8001 are free ports, so that the test never meets another server.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"sh", "bash", "curl", "sed", "tee", "tr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; the README walkthrough needs it", tool)
		}
	}
	blocks := readmeSection(t, "The mobile flow with curl", "sh")
	if len(blocks) != 2 {
		t.Fatalf("want the start command and the walkthrough, found %d sh blocks", len(blocks))
	}
	start, walk := strings.TrimSpace(blocks[0]), blocks[1]
	if !strings.HasPrefix(start, "go run ./cmd/inkan serve") {
		t.Fatalf("the start command is %q, want `go run ./cmd/inkan serve …` (the README's first command)", start)
	}
	if !strings.Contains(walk, "API=http://127.0.0.1:8000\n") {
		t.Fatal("the walkthrough no longer sets API=http://127.0.0.1:8000")
	}
	bin := inkanBinary(t)
	pub, adm := freePort(t), freePort(t)
	dir := t.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	server := exec.Command("bash", "-c", strings.Replace(start, "go run ./cmd/inkan", bin, 1))
	server.Dir = dir
	server.Env = append(os.Environ(), "SERVER_PUBLIC_ADDRESS=127.0.0.1:"+pub, "SERVER_ADMIN_ADDRESS=127.0.0.1:"+adm)
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var serverOut bytes.Buffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		server.Wait()
	}()

	script := strings.Replace(walk, "API=http://127.0.0.1:8000\n", "API=http://127.0.0.1:"+pub+"\n", 1)
	cmd := exec.CommandContext(ctx, "sh", "-eu", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s\nserver:\n%s", err, out, serverOut.String())
	}
	got := string(out)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\{"code":404,"message":"user not found"\}`), // 1
		regexp.MustCompile(`"user_id":"[0-9a-f-]{36}"`),                      // 2
		regexp.MustCompile(`"address":"ada@example.com"`),                    // 5: /me with the JWT
		regexp.MustCompile(`\{"keys":\[\{`),                                  // 5: JWKS
		regexp.MustCompile(`"publicKey":\{.*"challenge":"`),                  // 6
	} {
		if !want.MatchString(got) {
			t.Errorf("walkthrough output lacks %s:\n%s", want, got)
		}
	}
	if n := len(lines); n < 2 || lines[n-2] != "204" || lines[n-1] != "401" {
		t.Errorf("logout must answer 204 and the token 401 afterwards; output ends %q", lines[max(0, len(lines)-2):])
	}
}

// TestREADMEGoSnippetsAreExamples: every Go block of the README is the body of an Example function (so
// `go vet` and the compiler check it); the comparison ignores indentation and spacing.
func TestREADMEGoSnippetsAreExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var examples strings.Builder
	filepath.WalkDir(moduleRoot(t), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, "example_test.go") {
			src, _ := os.ReadFile(p)
			examples.Write(src)
		}
		return nil
	})
	squash := regexp.MustCompile(`\s+`)
	all := squash.ReplaceAllString(examples.String(), " ")
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	if len(blocks) == 0 {
		t.Fatal("the README has no Go snippet")
	}
	for _, m := range blocks {
		if !strings.Contains(all, strings.TrimSpace(squash.ReplaceAllString(m[1], " "))) {
			t.Errorf("this README snippet is not the body of an Example function:\n%s", m[1])
		}
	}
}

// TestVersionFromCheckout: a binary built with `go build` in a git checkout names its commit, never
// just "dev".
func TestVersionFromCheckout(t *testing.T) {
	root := moduleRoot(t)
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		t.Skip("not a git checkout whose .git is a directory (the go command stamps VCS data only there, not in a linked worktree); CI runs in a clone")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("git rev-parse HEAD: %v", err)
	}
	out, err := exec.Command(inkanBinary(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if strings.HasPrefix(got, "inkan dev\n") {
		t.Errorf("version of a checkout build is just dev:\n%s", got)
	}
	if !strings.Contains(got, "commit:      "+strings.TrimSpace(string(head))) {
		t.Errorf("version does not name HEAD %s:\n%s", head, got)
	}
	if !regexp.MustCompile(`commit time: \d{4}-\d\d-\d\dT`).MatchString(got) {
		t.Errorf("version lacks the commit time:\n%s", got)
	}
}
