package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit: deploy/inkan.service passes `systemd-analyze verify` without a single warning (with
// ExecStart pointing at a freshly built inkan), runs as a dedicated user with a state directory,
// restarts on failure, and carries the hardening options the README promises.
func TestSystemdUnit(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(moduleRoot(t), "deploy", "inkan.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(src)
	for _, want := range []string{
		"DynamicUser=yes", "User=inkan", "StateDirectory=inkan", "WorkingDirectory=/var/lib/inkan",
		"Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateTmp=yes", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes",
		"ExecStart=/usr/local/bin/inkan serve --config /etc/inkan/inkan.yaml",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd); skipping `systemd-analyze verify`")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "inkan.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/inkan", inkanBinary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
