package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hash algorithms for new hashes (config password.hash).
const (
	Argon2id = "argon2id"
	Bcrypt   = "bcrypt"
)

// Argon2Params are the argon2id cost parameters (RFC 9106 §3.1). Memory is
// in KiB.
type Argon2Params struct {
	Memory  uint32 // m, KiB
	Time    uint32 // t, passes
	Threads uint8  // p, lanes
	SaltLen int    // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2 is OWASP's first recommended argon2id configuration
// (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1), 16-byte salt, 32-byte
// key.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// DefaultBcryptCost is the bcrypt cost Hanko uses (docs/compatibility.md "Passwords").
const DefaultBcryptCost = 12

// Hasher makes and checks encoded password hashes. The zero value is not
// usable; build one with NewHasher.
type Hasher struct {
	alg        string
	argon      Argon2Params
	bcryptCost int
}

// NewHasher returns a Hasher whose new hashes use alg ("argon2id" or
// "bcrypt"; empty means argon2id). argon zero means DefaultArgon2;
// bcryptCost 0 means DefaultBcryptCost. It fails on an unknown alg or a
// bcrypt cost outside [bcrypt.MinCost, bcrypt.MaxCost].
func NewHasher(alg string, argon Argon2Params, bcryptCost int) (*Hasher, error) {
	if alg == "" {
		alg = Argon2id
	}
	if alg != Argon2id && alg != Bcrypt {
		return nil, fmt.Errorf("password: unknown hash algorithm %q (want argon2id or bcrypt)", alg)
	}
	if argon == (Argon2Params{}) {
		argon = DefaultArgon2
	}
	if argon.Memory == 0 || argon.Time == 0 || argon.Threads == 0 || argon.SaltLen < 8 || argon.KeyLen < 16 {
		return nil, errors.New("password: argon2id parameters out of range")
	}
	if bcryptCost == 0 {
		bcryptCost = DefaultBcryptCost
	}
	if bcryptCost < bcrypt.MinCost || bcryptCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("password: bcrypt cost %d out of range", bcryptCost)
	}
	return &Hasher{alg: alg, argon: argon, bcryptCost: bcryptCost}, nil
}

// Hash returns the encoded hash of pw with a fresh random salt: a PHC
// string "$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<key>" (unpadded
// standard base64, as the reference implementation writes it), or a bcrypt
// "$2a$<cost>$…" string. pw must already have passed CheckLength (bcrypt
// reads at most 72 bytes).
func (h *Hasher) Hash(pw string) (string, error) {
	if h.alg == Bcrypt {
		b, err := bcrypt.GenerateFromPassword([]byte(pw), h.bcryptCost)
		if err != nil {
			return "", fmt.Errorf("password: bcrypt: %w", err)
		}
		return string(b), nil
	}
	salt := make([]byte, h.argon.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := h.argon
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// ErrUnknownHash: an encoded hash is neither a PHC argon2id string nor a
// bcrypt string, or is malformed.
var ErrUnknownHash = errors.New("password: unrecognised hash format")

// Verify reports whether pw matches encoded, which may be an argon2id PHC
// string or a bcrypt hash ($2a$, $2b$, $2y$ — e.g. imported from Hanko).
// needsRehash is true when pw matched but encoded was not made with this
// Hasher's algorithm and parameters, so the caller should store a new Hash.
// The comparison is constant-time. err is ErrUnknownHash (wrapped) for an
// unreadable encoded value; a mismatch is ok=false, err=nil.
func (h *Hasher) Verify(encoded, pw string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, err := parseArgon2(encoded)
		if err != nil {
			return false, false, err
		}
		got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
		if subtle.ConstantTimeCompare(got, key) != 1 {
			return false, false, nil
		}
		return true, h.alg != Argon2id || p.Memory != h.argon.Memory || p.Time != h.argon.Time ||
			p.Threads != h.argon.Threads || len(salt) != h.argon.SaltLen || uint32(len(key)) != h.argon.KeyLen, nil
	case strings.HasPrefix(encoded, "$2"):
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return false, false, fmt.Errorf("%w: %v", ErrUnknownHash, err)
		}
		err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) || errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return false, false, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("%w: %v", ErrUnknownHash, err)
		}
		return true, h.alg != Bcrypt || cost < h.bcryptCost, nil
	}
	return false, false, ErrUnknownHash
}

// CheckHash reports whether encoded is a hash Verify can read: an Argon2id
// PHC string or a bcrypt hash. It returns ErrUnknownHash (wrapped)
// otherwise; nothing is hashed.
func CheckHash(encoded string) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, _, _, err := parseArgon2(encoded)
		return err
	case strings.HasPrefix(encoded, "$2"):
		if _, err := bcrypt.Cost([]byte(encoded)); err != nil {
			return fmt.Errorf("%w: %v", ErrUnknownHash, err)
		}
		return nil
	}
	return ErrUnknownHash
}

// parseArgon2 reads "$argon2id$v=19$m=…,t=…,p=…$salt$key".
func parseArgon2(s string) (Argon2Params, []byte, []byte, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 {
		return Argon2Params{}, nil, nil, ErrUnknownHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: argon2 version", ErrUnknownHash)
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 4<<20 || p.Time > 64 {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: argon2 parameters", ErrUnknownHash)
	}
	dec := base64.RawStdEncoding
	salt, err1 := dec.DecodeString(parts[4])
	key, err2 := dec.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) == 0 || len(key) < 16 {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: argon2 salt or key", ErrUnknownHash)
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return p, salt, key, nil
}
