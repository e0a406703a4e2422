package mobile

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

type signer struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

// newSigner makes a self-signed certificate like an Android upload key's (subject CN, long validity);
// parent, when set, signs it instead.
func newSigner(t *testing.T, cn string, parent *signer) signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().UTC().Add(-time.Hour),
		NotAfter:              time.Now().UTC().AddDate(25, 0, 0),
		BasicConstraintsValid: true,
		IsCA:                  parent == nil,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	issuer, issuerKey := tmpl, key
	if parent != nil {
		issuer, issuerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key, cert}
}

func (s signer) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw})
}

func (s signer) jksEntry(t *testing.T, chain ...*x509.Certificate) keystore.PrivateKeyEntry {
	t.Helper()
	pk, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		t.Fatal(err)
	}
	e := keystore.PrivateKeyEntry{CreationTime: time.Now().UTC(), PrivateKey: pk}
	for _, c := range append([]*x509.Certificate{s.cert}, chain...) {
		e.CertificateChain = append(e.CertificateChain, keystore.Certificate{Type: "X.509", Content: c.Raw})
	}
	return e
}

func writeJKS(t *testing.T, ks keystore.KeyStore, password string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ks.Store(&buf, []byte(password)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCertFingerprint(t *testing.T) {
	s := newSigner(t, "upload", nil)
	want := sha256.Sum256(s.cert.Raw)
	keyPEM, _ := x509.MarshalPKCS8PrivateKey(s.key)
	withKey := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyPEM}), s.pem()...)
	for name, in := range map[string][]byte{
		"DER":               s.cert.Raw,
		"PEM":               s.pem(),
		"PEM with text":     append([]byte("Owner: CN=upload\n"), s.pem()...),
		"PEM after key":     withKey,
		"PEM, CRLF":         bytes.ReplaceAll(s.pem(), []byte("\n"), []byte("\r\n")),
		"PEM, leading junk": append([]byte("\n\n  "), s.pem()...),
	} {
		got, err := CertFingerprint(in)
		if err != nil || got != want {
			t.Errorf("%s: CertFingerprint = %x, %v; want %x", name, got, err, want)
		}
	}

	random := make([]byte, 512)
	_, _ = rand.Read(random)
	p := s.pem()
	for name, in := range map[string][]byte{
		"empty":          nil,
		"random bytes":   random,
		"truncated PEM":  p[:len(p)/2],
		"truncated DER":  s.cert.Raw[:len(s.cert.Raw)-10],
		"DER + trailing": append(bytes.Clone(s.cert.Raw), 0),
		"key PEM only":   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyPEM}),
		"garbage PEM":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")}),
		"text":           []byte("hello, world"),
	} {
		if _, err := CertFingerprint(in); !errors.Is(err, ErrNotCertificate) {
			t.Errorf("%s: error = %v, want ErrNotCertificate", name, err)
		}
	}
}

func TestKeystoreFingerprintJKS(t *testing.T) {
	ca := newSigner(t, "ca", nil)
	upload := newSigner(t, "upload", &ca)
	other := newSigner(t, "other", nil)
	const storePass, keyPass = "store-secret", "key-secret"

	one := keystore.New()
	if err := one.SetPrivateKeyEntry("Upload", upload.jksEntry(t, ca.cert), []byte(keyPass)); err != nil {
		t.Fatal(err)
	}
	if err := one.SetTrustedCertificateEntry("root", keystore.TrustedCertificateEntry{CreationTime: time.Now().UTC(), Certificate: keystore.Certificate{Type: "X.509", Content: ca.cert.Raw}}); err != nil {
		t.Fatal(err)
	}
	jks := writeJKS(t, one, storePass)
	want := sha256.Sum256(upload.cert.Raw)

	for _, alias := range []string{"", "upload", "UPLOAD"} {
		got, err := KeystoreFingerprint(bytes.NewReader(jks), []byte(storePass), alias)
		if err != nil || got != want {
			t.Errorf("alias %q: %x, %v; want %x", alias, got, err, want)
		}
	}
	if got, err := KeystoreFingerprint(bytes.NewReader(jks), []byte(storePass), "root"); err != nil || got != sha256.Sum256(ca.cert.Raw) {
		t.Errorf("trusted entry: %x, %v", got, err)
	}

	two := keystore.New()
	_ = two.SetPrivateKeyEntry("upload", upload.jksEntry(t), []byte(keyPass))
	_ = two.SetPrivateKeyEntry("other", other.jksEntry(t), []byte(keyPass))
	jks2 := writeJKS(t, two, storePass)
	if got, err := KeystoreFingerprint(bytes.NewReader(jks2), []byte(storePass), "other"); err != nil || got != sha256.Sum256(other.cert.Raw) {
		t.Errorf("second entry: %x, %v", got, err)
	}

	latin := keystore.New()
	_ = latin.SetPrivateKeyEntry("k", upload.jksEntry(t), []byte(keyPass))
	jksLatin := writeJKS(t, latin, "p\xe4ss") // "päss" as Java chars
	if got, err := KeystoreFingerprint(bytes.NewReader(jksLatin), []byte("päss"), ""); err != nil || got != want {
		t.Errorf("Latin-1 password given as UTF-8: %x, %v", got, err)
	}

	for _, c := range []struct {
		name, pass, alias string
		data              []byte
		want              error
		msg               string
	}{
		{"wrong password", "nope", "", jks, ErrWrongPassword, ""},
		{"empty password", "", "", jks, ErrWrongPassword, ""},
		{"unknown alias", storePass, "release", jks, ErrAliasNotFound, "aliases present: root, upload"},
		{"several keys", storePass, "", jks2, ErrAliasAmbiguous, "2 private key entries"},
		{"no keys", storePass, "", writeJKS(t, keystore.New(), storePass), ErrAliasAmbiguous, "0 private key entries"},
		{"truncated", storePass, "", jks[:len(jks)/2], ErrNotKeystore, "truncated"},
		{"digest cut", storePass, "", jks[:len(jks)-5], ErrNotKeystore, ""},
		{"JCEKS", storePass, "", append([]byte{0xCE, 0xCE, 0xCE, 0xCE}, jks[4:]...), ErrNotKeystore, "JCEKS"},
		{"certificate instead", storePass, "", upload.pem(), ErrNotKeystore, "unknown format"},
		{"empty", storePass, "", nil, ErrNotKeystore, ""},
	} {
		_, err := KeystoreFingerprint(bytes.NewReader(c.data), []byte(c.pass), c.alias)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error = %v, want %v containing %q", c.name, err, c.want, c.msg)
		}
	}

	// A flipped byte inside an entry is damage, which the password cannot explain: with the right
	// password the digest check still fails, so it is reported as a wrong password or an altered store.
	damaged := bytes.Clone(jks)
	damaged[len(damaged)/2] ^= 0xFF
	if _, err := KeystoreFingerprint(bytes.NewReader(damaged), []byte(storePass), ""); err == nil {
		t.Error("damaged keystore accepted")
	}
}

func TestKeystoreFingerprintPKCS12(t *testing.T) {
	ca := newSigner(t, "ca", nil)
	upload := newSigner(t, "upload", &ca)
	const pass = "store-secret"
	want := sha256.Sum256(upload.cert.Raw)

	for name, enc := range map[string]*pkcs12.Encoder{"Modern": pkcs12.Modern, "LegacyDES": pkcs12.LegacyDES} {
		p12, err := enc.Encode(upload.key, upload.cert, []*x509.Certificate{ca.cert}, pass)
		if err != nil {
			t.Fatal(err)
		}
		got, err := KeystoreFingerprint(bytes.NewReader(p12), []byte(pass), "")
		if err != nil || got != want {
			t.Errorf("%s: %x, %v; want %x", name, got, err, want)
		}
		if _, err := KeystoreFingerprint(bytes.NewReader(p12), []byte("nope"), ""); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("%s wrong password: %v", name, err)
		}
		if _, err := KeystoreFingerprint(bytes.NewReader(p12), []byte("nope"), "upload"); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("%s wrong password with alias: %v", name, err)
		}
		// go-pkcs12 writes no friendlyName, so no alias can match.
		if _, err := KeystoreFingerprint(bytes.NewReader(p12), []byte(pass), "upload"); !errors.Is(err, ErrAliasNotFound) {
			t.Errorf("%s unknown alias: %v", name, err)
		}
		if _, err := KeystoreFingerprint(bytes.NewReader(p12[:len(p12)-40]), []byte(pass), ""); !errors.Is(err, ErrNotKeystore) {
			t.Errorf("%s truncated: %v", name, err)
		}
	}

	// The CA certificate first: the signing certificate is still the one matching the key.
	p12, err := pkcs12.Modern.Encode(upload.key, ca.cert, []*x509.Certificate{upload.cert}, pass)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := KeystoreFingerprint(bytes.NewReader(p12), []byte(pass), ""); err != nil || got != want {
		t.Errorf("CA first: %x, %v; want %x", got, err, want)
	}

	random := make([]byte, 300)
	_, _ = rand.Read(random)
	random[0] = 0x30
	if _, err := KeystoreFingerprint(bytes.NewReader(random), []byte(pass), ""); !errors.Is(err, ErrNotKeystore) {
		t.Errorf("random DER-looking bytes: %v", err)
	}
}

// TestKeytool checks against the JDK's keytool, the tool Android developers make signing keys with,
// when it is installed: keystores it writes (PKCS#12 with the alias as friendlyName, and JKS) give the
// fingerprint keytool itself prints and that of the certificate it exports.
func TestKeytool(t *testing.T) {
	keytool, err := exec.LookPath("keytool")
	if err != nil {
		t.Skip("keytool (a JDK) is not on PATH")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(keytool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("keytool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	const pass = "android-secret"
	for _, storetype := range []string{"PKCS12", "JKS"} {
		ks := filepath.Join(dir, "upload."+storetype)
		run("-genkeypair", "-keystore", ks, "-storetype", storetype, "-storepass", pass, "-keypass", pass,
			"-alias", "Upload", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "10000", "-dname", "CN=Upload, O=inkan test")
		listing := run("-list", "-v", "-keystore", ks, "-storepass", pass, "-alias", "upload")
		m := regexp.MustCompile(`SHA256: ([0-9A-F:]{95})`).FindStringSubmatch(listing)
		if m == nil {
			t.Fatalf("no SHA256 line in keytool -list:\n%s", listing)
		}
		want, err := ParseFingerprint(m[1])
		if err != nil {
			t.Fatal(err)
		}
		certFile := filepath.Join(dir, storetype+".pem")
		run("-exportcert", "-rfc", "-keystore", ks, "-storepass", pass, "-alias", "upload", "-file", certFile)
		pemBytes, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := CertFingerprint(pemBytes); err != nil || got != want {
			t.Errorf("%s exported cert: %x, %v; keytool says %x", storetype, got, err, want)
		}
		data, err := os.ReadFile(ks)
		if err != nil {
			t.Fatal(err)
		}
		for _, alias := range []string{"", "upload", "Upload"} {
			got, err := KeystoreFingerprint(bytes.NewReader(data), []byte(pass), alias)
			if err != nil || got != want {
				t.Errorf("%s alias %q: %x, %v; keytool says %x", storetype, alias, got, err, want)
			}
		}
		if _, err := KeystoreFingerprint(bytes.NewReader(data), []byte("wrong"), "upload"); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("%s wrong password: %v", storetype, err)
		}
		if _, err := KeystoreFingerprint(bytes.NewReader(data), []byte(pass), "release"); !errors.Is(err, ErrAliasNotFound) || !strings.Contains(err.Error(), "upload") {
			t.Errorf("%s unknown alias: %v", storetype, err)
		}
	}
}
