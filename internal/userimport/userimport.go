package userimport

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence import and export need; internal/store
// satisfies it.
type Store interface {
	// ImportUser inserts u with its addresses (assigned; the one with
	// Primary set primary; an unassigned row with the address is taken
	// over), credentials and password in one transaction. It returns
	// false and writes nothing when a user with u.ID exists; ErrConflict
	// when an address belongs to another user or a credential id is
	// taken.
	ImportUser(ctx context.Context, u inkan.User, emails []inkan.Email, creds []inkan.Credential, pw *inkan.PasswordCredential) (bool, error)
	// AllUsers returns every user, oldest first.
	AllUsers(ctx context.Context) ([]inkan.User, error)
	// ListEmails returns the user's addresses, oldest first.
	ListEmails(ctx context.Context, userID uuid.UUID) ([]inkan.Email, error)
	// ListCredentials returns the user's credentials, oldest first.
	ListCredentials(ctx context.Context, userID uuid.UUID) ([]inkan.Credential, error)
	// GetPasswordCredential returns the user's password (ErrNotFound).
	GetPasswordCredential(ctx context.Context, userID uuid.UUID) (inkan.PasswordCredential, error)
}

// Service imports and exports users.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns a Service; now may be nil (time.Now).
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Export writes every user that owns at least one e-mail address (users
// still signing up are left out) as a JSON array of entries, oldest first.
// It returns the number of users written.
func (s *Service) Export(ctx context.Context, w io.Writer) (int, error) {
	users, err := s.store.AllUsers(ctx)
	if err != nil {
		return 0, err
	}
	out := []Entry{}
	for _, u := range users {
		e, ok, err := s.entry(ctx, u)
		if err != nil {
			return 0, err
		}
		if ok {
			out = append(out, e)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return 0, fmt.Errorf("write export: %w", err)
	}
	return len(out), nil
}

func ptr[T any](v T) *T { return &v }

// entry is the export entry of u; ok is false for a user without address.
func (s *Service) entry(ctx context.Context, u inkan.User) (Entry, bool, error) {
	emails, err := s.store.ListEmails(ctx, u.ID)
	if err != nil || len(emails) == 0 {
		return Entry{}, false, err
	}
	creds, err := s.store.ListCredentials(ctx, u.ID)
	if err != nil {
		return Entry{}, false, err
	}
	e := Entry{UserID: u.ID.String(), CreatedAt: ptr(u.CreatedAt), UpdatedAt: ptr(u.UpdatedAt), OTPSecret: json.RawMessage("null")}
	for _, m := range emails {
		e.Emails = append(e.Emails, Email{Address: m.Address, IsPrimary: m.Primary, IsVerified: m.Verified})
	}
	for _, c := range creds {
		ec := Credential{
			ID:              base64.RawURLEncoding.EncodeToString(c.ID),
			PublicKey:       base64.RawURLEncoding.EncodeToString(c.PublicKey),
			AttestationType: c.AttestationType,
			AAGUID:          AAGUID(c.AAGUID),
			SignCount:       int64(c.SignCount),
			CreatedAt:       ptr(c.CreatedAt),
			UpdatedAt:       ptr(c.UpdatedAt),
			Transports:      c.Transports,
			BackupEligible:  c.BackupEligible,
			BackupState:     c.BackupState,
		}
		if ec.Transports == nil {
			ec.Transports = []string{}
		}
		if c.Name != "" {
			ec.Name = ptr(c.Name)
		}
		if !c.LastUsedAt.IsZero() {
			ec.LastUsedAt = ptr(c.LastUsedAt)
		}
		e.WebauthnCredentials = append(e.WebauthnCredentials, ec)
	}
	pw, err := s.store.GetPasswordCredential(ctx, u.ID)
	switch {
	case err == nil:
		e.Password = &Password{Password: pw.Hash, CreatedAt: ptr(pw.CreatedAt), UpdatedAt: ptr(pw.UpdatedAt)}
	case !errors.Is(err, inkan.ErrNotFound):
		return Entry{}, false, err
	}
	return e, true, nil
}

// Outcome is what happened to one entry of an import.
type Outcome struct {
	Index  int
	UserID uuid.UUID
	// Imported: the user was written; otherwise a user with the id
	// existed and the entry was skipped (Err nil), or Err says why the
	// entry was not imported.
	Imported bool
	Err      error
}

// ErrInvalidFile is returned (wrapped, with the problems) by Import when
// the file does not validate; nothing was written then.
var ErrInvalidFile = errors.New("the file has invalid entries; nothing was imported")

// InvalidFileError lists every problem of a file that does not validate.
type InvalidFileError struct{ Problems []Problem }

func (e *InvalidFileError) Error() string {
	var b bytes.Buffer
	b.WriteString(ErrInvalidFile.Error())
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidFile) true.
func (e *InvalidFileError) Unwrap() error { return ErrInvalidFile }

// Import reads a file of entries, validates all of it (an
// *InvalidFileError listing every bad entry, and nothing written, when any
// is bad), then imports each user in its own transaction: whole or not at
// all. A user whose id exists is skipped, so running the same import again
// changes nothing. It returns one Outcome per entry.
func (s *Service) Import(ctx context.Context, r io.Reader) ([]Outcome, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read import file: %w", err)
	}
	bundles, problems := Parse(raw, s.now().UTC())
	if len(problems) > 0 {
		return nil, &InvalidFileError{Problems: problems}
	}
	out := make([]Outcome, 0, len(bundles))
	for i, b := range bundles {
		ok, err := s.store.ImportUser(ctx, b.User, b.Emails, b.Credentials, b.Password)
		o := Outcome{Index: i, UserID: b.User.ID, Imported: ok && err == nil}
		if errors.Is(err, inkan.ErrConflict) {
			err = fmt.Errorf("an e-mail address or credential id of the entry belongs to another user: %w", err)
		}
		o.Err = err
		if err != nil && ctx.Err() != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}
