package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
)

// certReloader serves the certificate in certFile/keyFile and re-reads the pair when either file's
// modification time or size changes. The check is a stat of both files at each TLS handshake (no
// timer): a renewed certificate is served from the next handshake on. A pair that fails to load after
// a change (a half-written renewal) is reported and the previous certificate stays in use until the
// files change again.
type certReloader struct {
	certFile, keyFile string
	onError           func(error)

	mu   sync.Mutex
	cert *tls.Certificate
	seen [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// newCertReloader loads the pair once; an error names the files.
func newCertReloader(certFile, keyFile string, onError func(error)) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, onError: onError}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) load() error {
	c, err := stamp(r.certFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	k, err := stamp(r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: loading %s and %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.seen = &pair, [2]fileStamp{c, k}
	return nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, errC := stamp(r.certFile)
	k, errK := stamp(r.keyFile)
	if errC == nil && errK == nil && (c != r.seen[0] || k != r.seen[1]) {
		old := r.cert
		if err := r.load(); err != nil {
			r.cert = old
			r.seen = [2]fileStamp{c, k} // do not retry until the files change again
			if r.onError != nil {
				r.onError(err)
			}
		}
	}
	return r.cert, nil
}

// tlsConfig returns the listener's TLS configuration (TLS 1.2 or later, the certificate reloaded on
// change), or nil for plain HTTP.
func tlsConfig(t config.TLS, onError func(error)) (*tls.Config, error) {
	if t.CertFile == "" && t.KeyFile == "" {
		return nil, nil
	}
	r, err := newCertReloader(t.CertFile, t.KeyFile, onError)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate}, nil
}

// tlsProblems checks server.public.tls and server.admin.tls: both files or neither, and a pair that
// loads.
func tlsProblems(cfg config.Config) []config.Problem {
	var ps []config.Problem
	for key, t := range map[string]config.TLS{"server.public.tls": cfg.Server.Public.TLS, "server.admin.tls": cfg.Server.Admin.TLS} {
		switch {
		case t.CertFile == "" && t.KeyFile == "":
		case t.CertFile == "" || t.KeyFile == "":
			ps = append(ps, config.Problem{Key: key, Message: "cert_file and key_file must be set together"})
		default:
			if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
				var pe *os.PathError
				msg := err.Error()
				if errors.As(err, &pe) {
					msg = pe.Error()
				}
				ps = append(ps, config.Problem{Key: key, Message: "cannot load the certificate: " + msg})
			}
		}
	}
	return ps
}
