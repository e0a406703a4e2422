package inkan

import "testing"

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{
		"Ada@Example.COM":          "ada@example.com",
		"  ada@example.com \t":     "ada@example.com",
		"bob@bücher.test":          "bob@xn--bcher-kva.test",
		"BOB@XN--BCHER-KVA.TEST":   "bob@xn--bcher-kva.test",
		"first.last+tag@sub.ex.io": "first.last+tag@sub.ex.io",
	}
	for in, want := range good {
		got, err := NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "   ", "plain", "@example.com", "ada@", "ada@@example.com", "ada@localhost",
		"Ada <ada@example.com>", "ad\u200ba@example.com", "ada@exa\u200dmple.com", "\xff\xfe@example.com",
		"ad a@example.com", "ada@example.com\x00", "ada@-bad-.com",
	} {
		if got, err := NormalizeEmail(in); err == nil || KindOf(err) != KindInvalid {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want a KindInvalid error", in, got, err)
		}
	}
}
