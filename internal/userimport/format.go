// Package userimport reads and writes users in Hanko's user import format
// (README, "Moving users in and out"): a JSON array of entries, each a user with its
// e-mail addresses, WebAuthn credentials and password hash. It validates a
// whole file before anything is written, naming every bad entry by its
// index, and imports each user whole or not at all; a user whose id exists
// already is skipped, so running an import twice adds nothing.
package userimport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Entry is one user of the format.
type Entry struct {
	// UserID is a UUID; empty = a new random id.
	UserID string  `json:"user_id,omitempty"`
	Emails []Email `json:"emails"`
	// Username is refused when set: inkan has no usernames.
	Username            *string      `json:"username,omitempty"`
	WebauthnCredentials []Credential `json:"webauthn_credentials,omitempty"`
	// Password is null or the user's password hash.
	Password *Password `json:"password"`
	// OTPSecret must be null: inkan has no TOTP.
	OTPSecret json.RawMessage `json:"otp_secret"`
	CreatedAt *time.Time      `json:"created_at,omitempty"`
	UpdatedAt *time.Time      `json:"updated_at,omitempty"`
}

// Email is one address of an entry; exactly one per entry is primary.
type Email struct {
	Address    string `json:"address"`
	IsPrimary  bool   `json:"is_primary"`
	IsVerified bool   `json:"is_verified"`
}

// Password is a password hash: bcrypt ("$2a$", "$2b$", "$2y$", as Hanko
// writes) or an Argon2id PHC string ("$argon2id$v=19$m=…,t=…,p=…$salt$key").
type Password struct {
	Password  string     `json:"password"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// Credential is a WebAuthn credential of an entry. ID and PublicKey are
// base64url (padding optional) of the raw credential id and of the COSE
// public key.
type Credential struct {
	ID              string     `json:"id"`
	Name            *string    `json:"name"`
	PublicKey       string     `json:"public_key"`
	AttestationType string     `json:"attestation_type"`
	AAGUID          AAGUID     `json:"aaguid"`
	SignCount       int64      `json:"sign_count"`
	LastUsedAt      *time.Time `json:"last_used_at"`
	CreatedAt       *time.Time `json:"created_at"`
	UpdatedAt       *time.Time `json:"updated_at"`
	Transports      []string   `json:"transports"`
	BackupEligible  bool       `json:"backup_eligible"`
	BackupState     bool       `json:"backup_state"`
	MFAOnly         bool       `json:"mfa_only"`
	// UserHandle is the user handle the credential was created with, when
	// it was not the user id; inkan's user handle is always the user id,
	// so another value is refused.
	UserHandle *string `json:"user_handle"`
}

// AAGUID is an authenticator's AAGUID: written as a UUID string; read from
// a UUID string, an array of 16 byte values (as the format's schema
// describes it) or null (the zero AAGUID).
type AAGUID uuid.UUID

// MarshalJSON writes the UUID string.
func (a AAGUID) MarshalJSON() ([]byte, error) { return json.Marshal(uuid.UUID(a).String()) }

// UnmarshalJSON reads a UUID string, 16 byte values or null.
func (a *AAGUID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*a = AAGUID(uuid.Nil)
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		u, err := uuid.Parse(s)
		if err != nil {
			return fmt.Errorf("aaguid: %w", err)
		}
		*a = AAGUID(u)
		return nil
	}
	var raw []int
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 16 {
		return fmt.Errorf("aaguid must be a UUID string or 16 byte values")
	}
	for i, v := range raw {
		if v < 0 || v > 255 {
			return fmt.Errorf("aaguid must be a UUID string or 16 byte values")
		}
		a[i] = byte(v)
	}
	return nil
}

// Bundle is a user with everything the format carries, as stored.
type Bundle struct {
	User        inkan.User
	Emails      []inkan.Email // Primary marks the primary address
	Credentials []inkan.Credential
	Password    *inkan.PasswordCredential // nil = none
}

// Problem is one bad entry of a file.
type Problem struct {
	Index   int    // the entry's position in the array, from 0
	Message string // what is wrong, naming the field
}

func (p Problem) String() string { return fmt.Sprintf("entry %d: %s", p.Index, p.Message) }

// decodeB64URL decodes base64url with or without padding.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
