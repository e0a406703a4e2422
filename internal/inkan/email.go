package inkan

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// NormalizeEmail trims surrounding white space, lower-cases the address and
// converts an internationalised domain to its ASCII (punycode) form, so that
// "Bob@Bücher.test " and "bob@xn--bcher-kva.test" are one mailbox. It returns
// a KindInvalid error with message "email must be a valid email address"
// (docs/compatibility.md "Validation" wording) when the result is not a single bare address of at
// most 254 bytes (RFC 5321 §4.5.3.1.3).
func NormalizeEmail(raw string) (string, error) {
	invalid := E(KindInvalid, "email must be a valid email address")
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", E(KindInvalid, "email is a required field")
	}
	// Invalid UTF-8, control and invisible format characters (U+200B and
	// the like) would make look-alike addresses of one mailbox.
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r)
	}) >= 0 {
		return "", invalid
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", invalid
	}
	local, domain := s[:at], s[at+1:]
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(domain))
	if err != nil || !strings.Contains(ascii, ".") {
		return "", invalid
	}
	addr := strings.ToLower(local) + "@" + ascii
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || parsed.Name != "" || len(addr) > 254 {
		return "", invalid
	}
	return addr, nil
}
