// Package mobile turns the native apps of the mobile: config section into what a relying party must publish
// and accept for them:
//
//   - the WebAuthn origin Android's Credential Manager reports for an app,
//     "android:apk-key-hash:" + base64url (RFC 4648 §5, unpadded) of the SHA-256 of its signing certificate;
//   - /.well-known/assetlinks.json (Digital Asset Links statements, Android) and
//     /.well-known/apple-app-site-association (associated domains, Apple), see [Handler];
//   - the SHA-256 fingerprint of a signing certificate, from a PEM/DER file ([CertFingerprint]) or a Java
//     keystore ([KeystoreFingerprint]), which replaces the keytool | openssl | base64 pipeline.
package mobile

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// AndroidOriginPrefix starts every Android app origin (Android Credential Manager, "Integrate with your
// Android app" / WebAuthn origin verification for native apps).
const AndroidOriginPrefix = "android:apk-key-hash:"

// AndroidApp is one Android app allowed to use the relying party's passkeys (config mobile.android[]).
type AndroidApp struct {
	// PackageName is the application ID, e.g. "com.example.app".
	PackageName string
	// SHA256CertFingerprints are the SHA-256 fingerprints of the app's signing certificates as Play Console
	// and `keytool -list` show them: 32 bytes in colon-separated hex ("AB:CD:…"); plain hex is accepted too.
	SHA256CertFingerprints []string
}

// AppleApp is one Apple app allowed to use the relying party's passkeys (config mobile.apple[]).
type AppleApp struct {
	// TeamID is the 10-character Apple team ID / application identifier prefix (A-Z, 0-9).
	TeamID string
	// BundleID is the app's bundle identifier, e.g. "com.example.app".
	BundleID string
}

// ParseFingerprint parses a SHA-256 certificate fingerprint given as 32 colon-separated hex bytes
// ("AB:CD:…", as Play Console and keytool print it) or as 64 plain hex digits, in any case. Surrounding
// space and a leading "SHA256:" or "SHA-256:" label (keytool -list -v) are ignored.
// Errors name the problem: empty input, a part that is not two hex digits, non-hex characters, or a
// length other than 32 bytes (with a hint when it is a 20-byte SHA-1 fingerprint).
func ParseFingerprint(s string) ([32]byte, error) {
	var out [32]byte
	t := strings.TrimSpace(s)
	for _, label := range []string{"SHA256:", "SHA-256:"} {
		if len(t) >= len(label) && strings.EqualFold(t[:len(label)], label) {
			t = strings.TrimSpace(t[len(label):])
			break
		}
	}
	if t == "" {
		return out, errors.New("fingerprint is empty: want 32 colon-separated hex bytes (AB:CD:…)")
	}
	var b []byte
	if strings.Contains(t, ":") {
		parts := strings.Split(t, ":")
		b = make([]byte, 0, len(parts))
		for i, p := range parts {
			v, err := hex.DecodeString(p)
			if err != nil || len(p) != 2 {
				return out, fmt.Errorf("fingerprint %q: part %d (%q) is not two hex digits", s, i+1, p)
			}
			b = append(b, v[0])
		}
	} else {
		if len(t)%2 != 0 {
			return out, fmt.Errorf("fingerprint %q: odd number of hex digits (%d)", s, len(t))
		}
		var err error
		if b, err = hex.DecodeString(t); err != nil {
			return out, fmt.Errorf("fingerprint %q is not hexadecimal: want 32 colon-separated hex bytes (AB:CD:…)", s)
		}
	}
	if len(b) != len(out) {
		hint := ""
		if len(b) == 20 {
			hint = "; 20 bytes is a SHA-1 fingerprint, give the SHA-256 one"
		}
		return out, fmt.Errorf("fingerprint %q has %d bytes, want 32 (SHA-256)%s", s, len(b), hint)
	}
	copy(out[:], b)
	return out, nil
}

// FormatFingerprint formats a SHA-256 fingerprint the way Play Console, keytool and assetlinks.json write it:
// 32 upper-case hex bytes separated by colons ("AB:CD:…", 95 characters).
func FormatFingerprint(sha256 [32]byte) string {
	const digits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(3*len(sha256) - 1)
	for i, c := range sha256 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&0x0f])
	}
	return sb.String()
}

// AndroidOrigin returns the WebAuthn origin of an Android app signed by the certificate whose SHA-256 is
// sha256: "android:apk-key-hash:" + unpadded base64url (RFC 4648 §5) of the 32 bytes (43 characters).
func AndroidOrigin(sha256 [32]byte) string {
	return AndroidOriginPrefix + base64.RawURLEncoding.EncodeToString(sha256[:])
}

// OriginsFor returns the Android origin of every fingerprint of every app, in config order, without
// duplicates (two apps signed with one key share an origin). It fails on the first app with an empty
// package name or no fingerprint, or the first fingerprint ParseFingerprint rejects, naming the app.
func OriginsFor(apps []AndroidApp) ([]string, error) {
	var origins []string
	seen := make(map[string]bool)
	for i, app := range apps {
		fps, err := app.fingerprints(i)
		if err != nil {
			return nil, err
		}
		for _, fp := range fps {
			if o := AndroidOrigin(fp); !seen[o] {
				seen[o] = true
				origins = append(origins, o)
			}
		}
	}
	return origins, nil
}

// fingerprints validates app (the i-th configured Android app) and returns its parsed fingerprints,
// deduplicated, in order.
func (app AndroidApp) fingerprints(i int) ([][32]byte, error) {
	name := strings.TrimSpace(app.PackageName)
	if name == "" || strings.ContainsAny(name, " \t/") {
		return nil, fmt.Errorf("android app %d: package name %q must be an application ID such as com.example.app", i, app.PackageName)
	}
	if len(app.SHA256CertFingerprints) == 0 {
		return nil, fmt.Errorf("android app %d (%s): no sha256_cert_fingerprints", i, name)
	}
	out := make([][32]byte, 0, len(app.SHA256CertFingerprints))
	seen := make(map[[32]byte]bool)
	for _, s := range app.SHA256CertFingerprints {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return nil, fmt.Errorf("android app %d (%s): %w", i, name, err)
		}
		if !seen[fp] {
			seen[fp] = true
			out = append(out, fp)
		}
	}
	return out, nil
}
