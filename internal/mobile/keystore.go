package mobile

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// Errors of CertFingerprint and KeystoreFingerprint, for errors.Is; the returned errors wrap them with detail.
var (
	// ErrNotCertificate: the input is not a PEM CERTIFICATE block nor a DER X.509 certificate.
	ErrNotCertificate = errors.New("not an X.509 certificate")
	// ErrNotKeystore: the input is neither a JKS nor a PKCS#12 keystore, or is truncated or damaged.
	ErrNotKeystore = errors.New("not a readable JKS or PKCS#12 keystore")
	// ErrWrongPassword: the keystore's integrity check failed with this password.
	ErrWrongPassword = errors.New("keystore password incorrect (or the keystore was altered)")
	// ErrAliasNotFound: no entry has the requested alias.
	ErrAliasNotFound = errors.New("alias not found in keystore")
	// ErrAliasAmbiguous: no alias was given and the keystore holds several private key entries (or none).
	ErrAliasAmbiguous = errors.New("keystore needs an alias")
)

// maxInput bounds what CertFingerprint and KeystoreFingerprint read (1 MiB): signing keystores are a few KiB.
const maxInput = 1 << 20

// CertFingerprint returns the SHA-256 of the DER encoding of an X.509 certificate given as PEM (the first
// "CERTIFICATE" block; other blocks such as private keys are skipped) or as DER. That hash is what
// `keytool -list`, Play Console and assetlinks.json call the SHA-256 certificate fingerprint.
// It returns an error wrapping ErrNotCertificate for a PEM text without a complete CERTIFICATE block
// (e.g. truncated), and for bytes that are not a DER certificate.
func CertFingerprint(certBytes []byte) ([32]byte, error) {
	der, err := certificateDER(certBytes)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(der), nil
}

func certificateDER(b []byte) ([]byte, error) {
	if trimmed := bytes.TrimSpace(b); bytes.HasPrefix(trimmed, []byte("-----BEGIN")) || bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")) {
		rest := bytes.TrimLeft(b, " \t\r\n")
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				return nil, fmt.Errorf("%w: no complete PEM CERTIFICATE block (truncated or damaged PEM?)", ErrNotCertificate)
			}
			if block.Type == "CERTIFICATE" {
				if err := checkCertificate(block.Bytes); err != nil {
					return nil, fmt.Errorf("PEM CERTIFICATE block: %w", err)
				}
				return block.Bytes, nil
			}
		}
	}
	if err := checkCertificate(b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkCertificate accepts der when crypto/x509 parses it, or else when it has the outer shape of a
// certificate (RFC 5280 §4.1: SEQUENCE of tbsCertificate SEQUENCE, AlgorithmIdentifier, BIT STRING) with
// nothing after it: the fingerprint is over the bytes, and Go's parser refuses some certificates old signing
// tools made (e.g. negative serial numbers) that Android still accepts.
func checkCertificate(der []byte) error {
	if len(der) == 0 {
		return fmt.Errorf("%w: empty input", ErrNotCertificate)
	}
	_, perr := x509.ParseCertificate(der)
	if perr == nil {
		return nil
	}
	var shape struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &shape)
	if err != nil || len(rest) != 0 || shape.TBS.Tag != asn1.TagSequence || !shape.TBS.IsCompound {
		return fmt.Errorf("%w: %v", ErrNotCertificate, perr)
	}
	return nil
}

// KeystoreFingerprint returns the SHA-256 fingerprint of a certificate in a Java keystore: JKS (the format
// of older Android Studio and `keytool -storetype jks`) or PKCS#12 (keytool's default since Java 9, .p12/.pfx),
// told apart by their first bytes. r is read up to 1 MiB.
//
// password is the store password (the key password is not needed). For JKS it is taken as text: ASCII and
// Latin-1 characters work, others do not match what keytool wrote.
//
// alias selects the entry, case-insensitively as keytool does; for an alias naming a private key entry the
// certificate is the first of its chain (the signing certificate), for a trusted certificate entry it is that
// certificate. alias "" selects the only private key entry. For PKCS#12 an alias is matched against the
// certificate's friendlyName (keytool stores the alias there).
//
// Errors wrap ErrNotKeystore (unknown format, truncated, damaged, JCEKS), ErrWrongPassword,
// ErrAliasNotFound (the message lists the aliases present), ErrAliasAmbiguous (alias "" with several or no
// private key entries) or ErrNotCertificate.
func KeystoreFingerprint(r io.Reader, password []byte, alias string) ([32]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return [32]byte{}, fmt.Errorf("read keystore: %w", err)
	}
	if len(data) > maxInput {
		return [32]byte{}, fmt.Errorf("%w: larger than %d bytes", ErrNotKeystore, maxInput)
	}
	var der []byte
	switch {
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == 0xFEEDFEED:
		der, err = jksCertificate(data, password, alias)
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == 0xCECECECE:
		err = fmt.Errorf("%w: JCEKS keystores are not supported; convert with keytool -importkeystore -deststoretype pkcs12", ErrNotKeystore)
	case len(data) > 0 && data[0] == 0x30: // DER SEQUENCE: PKCS#12 PFX (RFC 7292 §4)
		der, err = pkcs12Certificate(data, password, alias)
	default:
		err = fmt.Errorf("%w: unknown format (expected JKS or PKCS#12)", ErrNotKeystore)
	}
	if err != nil {
		return [32]byte{}, err
	}
	if err := checkCertificate(der); err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(der), nil
}

// jksPassword converts password to the bytes keystore-go turns into Java chars, one per byte: Latin-1 when
// the text allows it, else the bytes as given.
func jksPassword(password []byte) []byte {
	if !utf8.Valid(password) {
		return slices.Clone(password)
	}
	out := make([]byte, 0, len(password))
	for _, r := range string(password) {
		if r > 0xFF {
			return slices.Clone(password)
		}
		out = append(out, byte(r))
	}
	return out
}

func jksCertificate(data, password []byte, alias string) ([]byte, error) {
	pw := jksPassword(password)
	defer clear(pw)
	ks := keystore.New() // aliases lower-cased, as keytool stores them
	if err := ks.Load(bytes.NewReader(data), pw); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: JKS keystore is truncated", ErrNotKeystore)
		}
		if !jksDigestMatches(data, pw) {
			return nil, fmt.Errorf("%w: %v", ErrWrongPassword, err)
		}
		return nil, fmt.Errorf("%w: JKS keystore: %v", ErrNotKeystore, err)
	}
	aliases := ks.Aliases()
	slices.Sort(aliases)
	if alias == "" {
		var keys []string
		for _, a := range aliases {
			if ks.IsPrivateKeyEntry(a) {
				keys = append(keys, a)
			}
		}
		if len(keys) != 1 {
			return nil, fmt.Errorf("%w: it holds %d private key entries (%s); choose one", ErrAliasAmbiguous, len(keys), strings.Join(keys, ", "))
		}
		alias = keys[0]
	}
	switch {
	case ks.IsPrivateKeyEntry(alias):
		chain, err := ks.GetPrivateKeyEntryCertificateChain(alias)
		if err != nil {
			return nil, err
		}
		if len(chain) == 0 {
			return nil, fmt.Errorf("%w: entry %q has no certificate", ErrNotCertificate, alias)
		}
		return chain[0].Content, nil
	case ks.IsTrustedCertificateEntry(alias):
		e, err := ks.GetTrustedCertificateEntry(alias)
		if err != nil {
			return nil, err
		}
		return e.Certificate.Content, nil
	default:
		return nil, fmt.Errorf("%w: %q (aliases present: %s)", ErrAliasNotFound, alias, strings.Join(aliases, ", "))
	}
}

// jksDigestMatches reports whether the JKS integrity hash, SHA-1 over the password as UTF-16BE, the bytes
// "Mighty Aphrodite" and the store, matches the store's last 20 bytes with password pw (Latin-1 bytes).
// It tells a wrong password apart from a damaged store after the library refused it.
func jksDigestMatches(data, pw []byte) bool {
	if len(data) < sha1.Size {
		return false
	}
	h := sha1.New()
	for _, c := range pw {
		h.Write([]byte{0, c})
	}
	h.Write([]byte("Mighty Aphrodite"))
	h.Write(data[:len(data)-sha1.Size])
	return bytes.Equal(h.Sum(nil), data[len(data)-sha1.Size:])
}

func pkcs12Certificate(data, password []byte, alias string) ([]byte, error) {
	pw := string(password)
	if alias == "" {
		key, leaf, cas, err := pkcs12.DecodeChain(data, pw)
		if err != nil {
			return nil, pkcs12Error(err)
		}
		// The signing certificate is the one holding the private key's public half; DecodeChain takes
		// the first certificate bag, which is usually but not necessarily that one.
		if signer, ok := key.(crypto.Signer); ok {
			for _, c := range append([]*x509.Certificate{leaf}, cas...) {
				if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(signer.Public()) {
					return c.Raw, nil
				}
			}
		}
		return leaf.Raw, nil
	}
	// go-pkcs12 exposes bag attributes (friendlyName = keytool's alias) only through ToPEM, which is
	// deprecated for its private key blocks; only its CERTIFICATE blocks and headers are used here.
	blocks, err := pkcs12.ToPEM(data, pw) //nolint:staticcheck // see above
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, pkcs12Error(err)
		}
		return nil, fmt.Errorf("%w: cannot list the aliases of this PKCS#12 file (%v); try without an alias", ErrNotKeystore, err)
	}
	var names []string
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		name, ok := b.Headers["friendlyName"]
		if !ok {
			continue
		}
		if strings.EqualFold(name, alias) {
			return b.Bytes, nil
		}
		names = append(names, name)
	}
	return nil, fmt.Errorf("%w: %q (aliases present: %s)", ErrAliasNotFound, alias, strings.Join(names, ", "))
}

func pkcs12Error(err error) error {
	if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
		return fmt.Errorf("%w: %v", ErrWrongPassword, err)
	}
	return fmt.Errorf("%w: PKCS#12: %v", ErrNotKeystore, err)
}
