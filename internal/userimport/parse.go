package userimport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/password"
)

// generatedIDSpace is the UUID namespace of the ids given to entries
// without user_id: SHA-1 of their primary address (RFC 9562 §5.5), so that
// importing the same file again finds the users it created.
var generatedIDSpace = uuid.MustParse("6b0f6f4e-3d1c-4f0e-9a51-7c1e2f3a4b5d")

// maxCredentialIDBytes is the longest credential id (WebAuthn §5.1).
const maxCredentialIDBytes = 1023

// Parse decodes and validates a whole file: a JSON array of entries. It
// returns the users to import, or every problem found (with the entry's
// index); times missing in the file become now.
func Parse(raw []byte, now time.Time) ([]Bundle, []Problem) {
	var entries []json.RawMessage
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, []Problem{{Index: -1, Message: "the file must be a JSON array of users: " + err.Error()}}
	}
	var (
		out      []Bundle
		problems []Problem
		ids      = map[uuid.UUID]int{}
		addrs    = map[string]int{}
		credIDs  = map[string]int{}
	)
	for i, rawEntry := range entries {
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(rawEntry))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			problems = append(problems, Problem{i, "not a valid entry: " + err.Error()})
			continue
		}
		b, msgs := convert(e, now)
		if b.User.ID != uuid.Nil {
			if j, dup := ids[b.User.ID]; dup {
				msgs = append(msgs, fmt.Sprintf("user_id %s repeats entry %d", b.User.ID, j))
			}
			ids[b.User.ID] = i
		}
		for _, m := range b.Emails {
			if j, dup := addrs[m.Address]; dup && j != i {
				msgs = append(msgs, fmt.Sprintf("address %s is also in entry %d", m.Address, j))
			}
			addrs[m.Address] = i
		}
		for _, c := range b.Credentials {
			k := string(c.ID)
			if j, dup := credIDs[k]; dup && j != i {
				msgs = append(msgs, fmt.Sprintf("webauthn credential id is also in entry %d", j))
			}
			credIDs[k] = i
		}
		for _, m := range msgs {
			problems = append(problems, Problem{i, m})
		}
		if len(msgs) == 0 {
			out = append(out, b)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// convert checks one entry and builds its bundle; the messages name the
// fields that are wrong.
func convert(e Entry, now time.Time) (Bundle, []string) {
	var msgs []string
	bad := func(format string, args ...any) { msgs = append(msgs, fmt.Sprintf(format, args...)) }
	at := func(t *time.Time, def time.Time) time.Time {
		if t == nil || t.IsZero() {
			return def
		}
		return t.UTC().Truncate(time.Microsecond)
	}
	now = now.UTC().Truncate(time.Microsecond)
	var b Bundle
	b.User.CreatedAt = at(e.CreatedAt, now)
	b.User.UpdatedAt = at(e.UpdatedAt, b.User.CreatedAt)

	if e.Username != nil {
		bad("username: inkan has no usernames")
	}
	if t := bytes.TrimSpace(e.OTPSecret); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		bad("otp_secret: inkan has no TOTP; it must be null")
	}

	primary := ""
	seen := map[string]bool{}
	if len(e.Emails) == 0 {
		bad("emails: at least one address is required")
	}
	for j, m := range e.Emails {
		addr, err := inkan.NormalizeEmail(m.Address)
		if err != nil {
			bad("emails[%d].address: %s", j, inkan.MessageOf(err))
			continue
		}
		if seen[addr] {
			bad("emails[%d].address: %s appears twice", j, addr)
			continue
		}
		seen[addr] = true
		if m.IsPrimary {
			if primary != "" {
				bad("emails[%d]: more than one address is primary", j)
			}
			primary = addr
		}
		b.Emails = append(b.Emails, inkan.Email{ID: uuid.New(), Address: addr, Verified: m.IsVerified, Primary: m.IsPrimary, CreatedAt: b.User.CreatedAt, UpdatedAt: b.User.CreatedAt})
	}
	if len(e.Emails) > 0 && primary == "" {
		bad("emails: exactly one address must be primary")
	}

	switch {
	case e.UserID != "":
		id, err := uuid.Parse(e.UserID)
		if err != nil || len(e.UserID) != 36 {
			bad("user_id: must be a UUID")
		}
		b.User.ID = id
	case primary != "":
		b.User.ID = uuid.NewSHA1(generatedIDSpace, []byte(primary))
	}
	for j := range b.Emails {
		b.Emails[j].UserID = b.User.ID
	}

	for j, c := range e.WebauthnCredentials {
		f := fmt.Sprintf("webauthn_credentials[%d]", j)
		id, err := decodeB64URL(c.ID)
		if err != nil || len(id) == 0 || len(id) > maxCredentialIDBytes {
			bad("%s.id: must be the base64url of 1 to %d bytes", f, maxCredentialIDBytes)
		}
		pk, err := decodeB64URL(c.PublicKey)
		if err != nil || len(pk) == 0 {
			bad("%s.public_key: must be the base64url of the COSE public key", f)
		}
		if c.SignCount < 0 || c.SignCount > 1<<32-1 {
			bad("%s.sign_count: must be from 0 to 4294967295", f)
		}
		if c.MFAOnly {
			bad("%s.mfa_only: inkan has no second-factor-only credentials", f)
		}
		if c.UserHandle != nil && *c.UserHandle != "" && *c.UserHandle != b.User.ID.String() {
			bad("%s.user_handle: inkan's user handle is the user id; a credential made for another handle cannot sign in", f)
		}
		name := ""
		if c.Name != nil {
			name = strings.TrimSpace(*c.Name)
			if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 255 {
				bad("%s.name: must be valid UTF-8 of at most 255 characters", f)
			}
		}
		att := c.AttestationType
		if att == "" {
			att = "none"
		}
		cred := inkan.Credential{
			ID: id, UserID: b.User.ID, PublicKey: pk, AttestationType: att, AAGUID: uuid.UUID(c.AAGUID),
			SignCount: uint32(max(0, min(c.SignCount, 1<<32-1))), Name: name, Transports: c.Transports,
			BackupEligible: c.BackupEligible, BackupState: c.BackupState,
			CreatedAt: at(c.CreatedAt, b.User.CreatedAt),
		}
		cred.UpdatedAt = at(c.UpdatedAt, cred.CreatedAt)
		if c.LastUsedAt != nil {
			cred.LastUsedAt = c.LastUsedAt.UTC().Truncate(time.Microsecond)
		}
		if cred.Transports == nil {
			cred.Transports = []string{}
		}
		b.Credentials = append(b.Credentials, cred)
	}

	if e.Password != nil {
		if err := password.CheckHash(e.Password.Password); err != nil {
			bad("password.password: must be a bcrypt hash or an Argon2id PHC string")
		}
		created := at(e.Password.CreatedAt, b.User.CreatedAt)
		b.Password = &inkan.PasswordCredential{ID: uuid.New(), UserID: b.User.ID, Hash: e.Password.Password, CreatedAt: created, UpdatedAt: at(e.Password.UpdatedAt, created)}
	}
	return b, msgs
}
