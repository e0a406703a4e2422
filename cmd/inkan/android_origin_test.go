package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// androidOriginFixture writes, for one freshly generated self-signed signing certificate, a PEM file, a DER
// file, a JKS keystore (alias "upload", store password "store-pass") and a PKCS#12 keystore (same password),
// and returns their paths and the origin computed independently with Go's crypto.
type androidOriginFixture struct {
	pem, der, jks, p12, origin, sha string
}

func newAndroidOriginFixture(t *testing.T) androidOriginFixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "upload"},
		NotBefore:    time.Now().UTC().Add(-time.Hour),
		NotAfter:     time.Now().UTC().AddDate(25, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := androidOriginFixture{
		pem: filepath.Join(dir, "upload.pem"), der: filepath.Join(dir, "upload.der"),
		jks: filepath.Join(dir, "upload.jks"), p12: filepath.Join(dir, "upload.p12"),
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(f.pem, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(f.der, der)

	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ks := keystore.New()
	entry := keystore.PrivateKeyEntry{CreationTime: time.Now().UTC(), PrivateKey: pk, CertificateChain: []keystore.Certificate{{Type: "X.509", Content: der}}}
	if err := ks.SetPrivateKeyEntry("upload", entry, []byte("key-pass")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ks.Store(&buf, []byte("store-pass")); err != nil {
		t.Fatal(err)
	}
	write(f.jks, buf.Bytes())
	p12, err := pkcs12.Modern.Encode(key, cert, nil, "store-pass")
	if err != nil {
		t.Fatal(err)
	}
	write(f.p12, p12)

	sum := sha256.Sum256(cert.Raw)
	f.origin = "android:apk-key-hash:" + base64.RawURLEncoding.EncodeToString(sum[:])
	hexes := make([]string, len(sum))
	for i, c := range sum {
		hexes[i] = strings.ToUpper(string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&0xf]))
	}
	f.sha = strings.Join(hexes, ":")
	return f
}

func runAndroidOrigin(environ []string, stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := newAndroidOriginCommand(environ, strings.NewReader(stdin), &out)
	cmd.SetArgs(args)
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	return out.String(), err
}

func TestAndroidOriginCommand(t *testing.T) {
	f := newAndroidOriginFixture(t)
	env := []string{"PATH=/usr/bin", "STOREPASS=store-pass", "WRONG=nope"}
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"sha256", "", []string{"--sha256", f.sha}},
		{"sha256 lower plain hex", "", []string{"--sha256", strings.ToLower(strings.ReplaceAll(f.sha, ":", ""))}},
		{"cert PEM", "", []string{"--cert", f.pem}},
		{"cert DER", "", []string{"--cert", f.der}},
		{"JKS, env password", "", []string{"--keystore", f.jks, "--alias", "upload", "--storepass-env", "STOREPASS"}},
		{"JKS, stdin password, no alias", "store-pass\n", []string{"--keystore", f.jks}},
		{"JKS, stdin password without newline", "store-pass", []string{"--keystore", f.jks, "--alias", "UPLOAD"}},
		{"PKCS#12, CRLF stdin", "store-pass\r\nmore", []string{"--keystore", f.p12}},
	} {
		out, err := runAndroidOrigin(env, c.stdin, c.args...)
		if err != nil || out != f.origin+"\n" {
			t.Errorf("%s: output %q, error %v; want %q", c.name, out, err, f.origin+"\n")
		}
	}

	out, err := runAndroidOrigin(env, "", "--cert", f.pem, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 2 || got["origin"] != f.origin || got["sha256"] != f.sha || !strings.HasSuffix(out, "}\n") {
		t.Errorf("--json printed %q (%v); want origin %q and sha256 %q", out, err, f.origin, f.sha)
	}

	dir := t.TempDir()
	random := filepath.Join(dir, "random.bin")
	b := make([]byte, 256)
	_, _ = rand.Read(b)
	_ = os.WriteFile(random, b, 0o600)
	pemBytes, _ := os.ReadFile(f.pem)
	truncated := filepath.Join(dir, "truncated.pem")
	_ = os.WriteFile(truncated, pemBytes[:len(pemBytes)/2], 0o600)

	for _, c := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"no flag", "", nil, "exactly one of --sha256, --cert or --keystore (got 0)"},
		{"two flags", "", []string{"--sha256", f.sha, "--cert", f.pem}, "got 2: --sha256, --cert"},
		{"empty sha256", "", []string{"--sha256", ""}, "--sha256: fingerprint is empty"},
		{"bad hex", "", []string{"--sha256", "ZZ" + f.sha[2:]}, "not two hex digits"},
		{"wrong length", "", []string{"--sha256", f.sha[:59]}, "has 20 bytes, want 32"},
		{"positional argument", "", []string{f.sha}, "unknown command"},
		{"missing cert", "", []string{"--cert", filepath.Join(dir, "nope.pem")}, "no such file"},
		{"cert is a directory", "", []string{"--cert", dir}, "--cert"},
		{"random cert", "", []string{"--cert", random}, "not an X.509 certificate"},
		{"truncated PEM", "", []string{"--cert", truncated}, "not an X.509 certificate"},
		{"keystore is a certificate", "store-pass\n", []string{"--keystore", f.pem}, "not a readable JKS or PKCS#12 keystore"},
		{"missing keystore", "store-pass\n", []string{"--keystore", filepath.Join(dir, "nope.jks")}, "no such file"},
		{"wrong password env", "", []string{"--keystore", f.jks, "--storepass-env", "WRONG"}, "password incorrect"},
		{"wrong password stdin PKCS#12", "nope\n", []string{"--keystore", f.p12}, "password incorrect"},
		{"unset env", "", []string{"--keystore", f.jks, "--storepass-env", "UNSET"}, "UNSET is not set"},
		{"no password", "", []string{"--keystore", f.jks}, "no keystore password"},
		{"unknown alias", "", []string{"--keystore", f.jks, "--alias", "release", "--storepass-env", "STOREPASS"}, `alias not found in keystore: "release" (aliases present: upload)`},
		{"alias without keystore", "", []string{"--sha256", f.sha, "--alias", "upload"}, "--keystore only"},
	} {
		out, err := runAndroidOrigin(env, c.stdin, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || out != "" {
			t.Errorf("%s: error %v, output %q; want an error containing %q and no output", c.name, err, out, c.want)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}
