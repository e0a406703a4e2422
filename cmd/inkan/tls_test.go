package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert makes a self-signed certificate for 127.0.0.1 named cn, writes it and its key to
// certFile/keyFile with the given modification time, and returns it.
func writeCert(t *testing.T, cn, certFile, keyFile string, mod time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// httpsGet fetches url trusting only cert and returns the body and the certificate the server showed.
func httpsGet(t *testing.T, url string, cert *x509.Certificate) (string, *x509.Certificate) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s trusting %s: %v", url, cert.Subject.CommonName, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.TLS.PeerCertificates[0]
}

// TestTLSListeners: server.public.tls and server.admin.tls serve HTTPS with the configured pair, and
// a replaced pair is served from the next connection on without a restart; a replacement that does not
// load keeps the previous certificate.
func TestTLSListeners(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := writeCert(t, "first", cert, key, t0)

	env := baseEnv(t, "sqlite")
	for _, l := range []string{"PUBLIC", "ADMIN"} {
		env["SERVER_"+l+"_TLS_CERT_FILE"] = cert
		env["SERVER_"+l+"_TLS_KEY_FILE"] = key
	}
	srv := startTLSServer(t, env, first)
	for _, u := range []string{srv.URL, srv.AdminURL} {
		body, got := httpsGet(t, u+"/health/alive", first)
		if got.Subject.CommonName != "first" || !strings.Contains(body, "alive") {
			t.Fatalf("%s: served %q, body %q", u, got.Subject.CommonName, body)
		}
	}
	if _, err := http.Get(srv.URL + "/health/alive"); err == nil {
		t.Error("plain HTTP answered on a TLS listener")
	}

	second := writeCert(t, "second", cert, key, t0.Add(time.Hour))
	for _, u := range []string{srv.URL, srv.AdminURL} {
		if _, got := httpsGet(t, u+"/health/alive", second); got.Subject.CommonName != "second" {
			t.Fatalf("%s: after the renewal it serves %q", u, got.Subject.CommonName)
		}
	}

	// A half-written renewal: the previous certificate stays, the failure is logged.
	os.WriteFile(key, []byte("not a key"), 0o600)
	os.Chtimes(key, t0.Add(2*time.Hour), t0.Add(2*time.Hour))
	if _, got := httpsGet(t, srv.URL+"/health/alive", second); got.Subject.CommonName != "second" {
		t.Fatalf("a broken renewal replaced the certificate with %q", got.Subject.CommonName)
	}
	if !strings.Contains(srv.Stderr.String(), "does not load") {
		t.Error("the broken renewal was not logged")
	}
}

// startTLSServer is startServer for TLS listeners: https URLs, /health/ready fetched trusting cert.
func startTLSServer(t *testing.T, env map[string]string, cert *x509.Certificate) *testServer {
	t.Helper()
	s := runServer(t, env, "serve")
	s.waitAddrs(t)
	s.URL = strings.Replace(s.URL, "http://", "https://", 1)
	s.AdminURL = strings.Replace(s.AdminURL, "http://", "https://", 1)
	httpsGet(t, s.URL+"/health/ready", cert)
	return s
}
