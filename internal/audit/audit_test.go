package audit_test

import (
	"testing"

	"github.com/inkan-auth/inkan/internal/audit"
)

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"no-at-sign":              "no-at-sign",
		"a@example.test":          "a*****@example.test",
		"bob@example.test":        "b*****@example.test",
		"sixsix@example.test":     "s*****@example.test",
		"seven77@example.test":    "sev****@example.test",
		"alexander@example.test":  "ale******@example.test",
		"zoë.müller@example.test": "zoë*******@example.test",
		"@example.test":           "******@example.test",
		"a@b@example.test":        "a*****@example.test",
	} {
		if got := audit.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
