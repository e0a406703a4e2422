package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// secretPrefix starts a Standard Webhooks secret: "whsec_" followed by the
// base64 of the key bytes.
const secretPrefix = "whsec_"

// NewSecret returns a new random secret: "whsec_" and the standard base64
// of 32 bytes from crypto/rand.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// secretKey returns the HMAC key of a secret: the base64-decoded part
// after "whsec_" (Standard Webhooks, "Signature scheme"); a secret that is
// not of that form is used as bytes as it is.
func secretKey(secret string) []byte {
	if s, ok := strings.CutPrefix(secret, secretPrefix); ok {
		if k, err := base64.StdEncoding.DecodeString(s); err == nil {
			return k
		}
	}
	return []byte(secret)
}

// Sign returns the webhook-signature header value of a message: "v1,"
// and the standard base64 of HMAC-SHA256(key, id + "." + timestamp + "." +
// body), timestamp in Unix seconds (Standard Webhooks specification,
// "Signature scheme").
func Sign(secret, id string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, secretKey(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether header (a webhook-signature value: space-separated
// "v1,<base64>" entries) holds a valid signature of the message, compared
// in constant time; what a receiver does.
func Verify(secret, id string, timestamp int64, body []byte, header string) bool {
	want := []byte(Sign(secret, id, timestamp, body))
	for _, s := range strings.Fields(header) {
		if hmac.Equal([]byte(s), want) {
			return true
		}
	}
	return false
}

// seal encrypts a hook's secret for the database with AES-256-GCM under
// key (12-byte nonce prepended, base64 as text).
func seal(key []byte, secret string) ([]byte, error) { return sealAD(key, []byte(secret), secretAD) }

// The additional data that binds a sealed value to its use.
var (
	secretAD = []byte("inkan webhook secret")
	mailAD   = []byte("inkan email.send")
)

// sealAD encrypts plain with AES-256-GCM under key, bound to ad (12-byte
// nonce prepended, base64 as text).
func sealAD(key, plain, ad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := gcm.Seal(nonce, nonce, plain, ad)
	return []byte(base64.StdEncoding.EncodeToString(out)), nil
}

// open decrypts a sealed secret with the first of keys that opens it.
func open(keys [][]byte, sealed []byte) (string, error) {
	b, err := openAD(keys, sealed, secretAD)
	return string(b), err
}

// openAD decrypts what sealAD sealed with one of keys.
func openAD(keys [][]byte, sealed, ad []byte) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(string(sealed))
	if err != nil {
		return nil, fmt.Errorf("webhook: sealed value: %w", err)
	}
	for _, k := range keys {
		gcm, err := newGCM(k)
		if err != nil {
			return nil, err
		}
		if len(raw) < gcm.NonceSize() {
			break
		}
		plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], ad)
		if err == nil {
			return plain, nil
		}
	}
	return nil, errors.New("webhook: a sealed value does not open with the configured secrets")
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("webhook: cipher: %w", err)
	}
	return cipher.NewGCM(b)
}
