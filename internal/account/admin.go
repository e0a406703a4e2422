package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// AdminStore is the persistence of the admin API's user management, part
// of Store. Errors as Store.
type AdminStore interface {
	// ListUsers returns one page of the users with at least one address,
	// filtered and ordered by f, and the count of all matching users.
	ListUsers(ctx context.Context, f inkan.UserFilter) ([]inkan.User, int, error)
	// CreateUserWithEmails inserts u and its addresses (all assigned, the
	// one with Primary set primary) in one transaction; an unassigned row
	// with one of the addresses is taken over. ErrConflict for a taken
	// user id or an assigned address.
	CreateUserWithEmails(ctx context.Context, u inkan.User, emails []inkan.Email) ([]inkan.Email, error)
	// UpdateUser writes u's profile fields and updated_at (ErrNotFound).
	UpdateUser(ctx context.Context, u inkan.User) error
	// GetUserMetadata returns the user's metadata (ErrNotFound for an
	// unknown user).
	GetUserMetadata(ctx context.Context, userID uuid.UUID) (inkan.UserMetadata, error)
	// UpdateUserMetadata stores update(current) in one transaction that
	// excludes concurrent updates of the same user; update's error is
	// returned unchanged with nothing written.
	UpdateUserMetadata(ctx context.Context, userID uuid.UUID, at time.Time, update func(inkan.UserMetadata) (inkan.UserMetadata, error)) (inkan.UserMetadata, error)
}

// NewEmail is one address of an admin-created user.
type NewEmail struct {
	Address    string // normalised with inkan.NormalizeEmail
	IsPrimary  bool
	IsVerified bool
}

// NewUser is the admin's description of a user to create (admin POST
// /users).
type NewUser struct {
	ID        uuid.UUID // uuid.Nil = a new random id
	Emails    []NewEmail
	CreatedAt time.Time // zero = now
}

// CreateUser creates a user with its addresses at once, assigned with the
// given verified flags and without a passcode (admin POST /users). Rules:
// at least one address; addresses unique after normalisation; exactly one
// primary; no more than email.limit. Errors: KindInvalid naming the rule
// (nothing written), KindConflict "user already exists" for a taken id,
// "email address already exists" for an address another user owns.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (inkan.User, []inkan.Email, error) {
	if len(n.Emails) == 0 {
		return inkan.User{}, nil, inkan.E(inkan.KindInvalid, "emails must contain at least one address")
	}
	if len(n.Emails) > s.emailLimit() {
		return inkan.User{}, nil, inkan.E(inkan.KindInvalid, fmt.Sprintf("emails must not contain more than %d addresses (email.limit)", s.emailLimit()))
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u := inkan.User{ID: n.ID, CreatedAt: now, UpdatedAt: now}
	if u.ID == uuid.Nil {
		u.ID = uuid.New()
	}
	if !n.CreatedAt.IsZero() {
		u.CreatedAt = n.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	seen := map[string]bool{}
	primaries := 0
	emails := make([]inkan.Email, 0, len(n.Emails))
	for i, ne := range n.Emails {
		addr, err := inkan.NormalizeEmail(ne.Address)
		if err != nil {
			return inkan.User{}, nil, inkan.Wrap(inkan.KindInvalid, fmt.Sprintf("emails[%d].address: %s", i, inkan.MessageOf(err)), err)
		}
		if seen[addr] {
			return inkan.User{}, nil, inkan.E(inkan.KindInvalid, fmt.Sprintf("emails[%d].address: duplicate address", i))
		}
		seen[addr] = true
		if ne.IsPrimary {
			primaries++
		}
		emails = append(emails, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr, Verified: ne.IsVerified, Primary: ne.IsPrimary, CreatedAt: u.CreatedAt, UpdatedAt: u.CreatedAt})
	}
	if primaries != 1 {
		return inkan.User{}, nil, inkan.E(inkan.KindInvalid, "exactly one email must be primary")
	}
	var stored []inkan.Email
	err := inkan.Change(ctx, s.store, func(ctx context.Context) (err error) {
		stored, err = s.store.CreateUserWithEmails(ctx, u, emails)
		return err
	}, func(ctx context.Context) inkan.Event {
		return s.event(ctx, inkan.EventUserCreated, u.ID, uuid.Nil)
	})
	if errors.Is(err, inkan.ErrConflict) {
		if _, gerr := s.store.GetUser(ctx, u.ID); gerr == nil {
			return inkan.User{}, nil, inkan.Wrap(inkan.KindConflict, "user already exists", err)
		}
		return inkan.User{}, nil, inkan.Wrap(inkan.KindConflict, "email address already exists", err)
	}
	if err != nil {
		return inkan.User{}, nil, err
	}
	return u, stored, nil
}

// ListUsers returns one page of users (admin GET /users) and the total.
// f.Email is lower-cased; f.Limit must be ≥ 1 and f.Offset ≥ 0.
func (s *Service) ListUsers(ctx context.Context, f inkan.UserFilter) ([]inkan.User, int, error) {
	f.Email = strings.ToLower(strings.TrimSpace(f.Email))
	return s.store.ListUsers(ctx, f)
}

// ProfilePatch is the body of admin PATCH /users/{id}: for each field nil
// keeps the value, a pointer to "" clears it, anything else sets it.
type ProfilePatch struct {
	Name, GivenName, FamilyName, Picture *string
}

// Longest profile values, in bytes.
const (
	MaxProfileNameBytes = 255  // name, given_name, family_name
	MaxPictureBytes     = 2048 // picture
)

// UpdateProfile applies p to the user's profile (admin PATCH /users/{id}).
// Values are trimmed; a name is at most MaxProfileNameBytes, a picture an
// absolute http(s) URL of at most MaxPictureBytes without user
// information. Errors: KindInvalid naming the field, KindNotFound "user not
// found".
func (s *Service) UpdateProfile(ctx context.Context, id uuid.UUID, p ProfilePatch) (inkan.User, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return u, err
	}
	for _, f := range []struct {
		name string
		in   *string
		out  *string
	}{{"name", p.Name, &u.Name}, {"given_name", p.GivenName, &u.GivenName}, {"family_name", p.FamilyName, &u.FamilyName}, {"picture", p.Picture, &u.Picture}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		if err := checkProfileValue(f.name, v); err != nil {
			return inkan.User{}, err
		}
		*f.out = v
	}
	u.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.UpdateUser(ctx, u); err != nil {
		if errors.Is(err, inkan.ErrNotFound) {
			return inkan.User{}, inkan.Wrap(inkan.KindNotFound, "user not found", err)
		}
		return inkan.User{}, err
	}
	return u, nil
}

func checkProfileValue(field, v string) error {
	if !utf8.ValidString(v) {
		return inkan.E(inkan.KindInvalid, field+" must be valid UTF-8")
	}
	if field != "picture" {
		if len(v) > MaxProfileNameBytes {
			return inkan.E(inkan.KindInvalid, fmt.Sprintf("%s must not be longer than %d bytes", field, MaxProfileNameBytes))
		}
		return nil
	}
	if v == "" {
		return nil
	}
	if len(v) > MaxPictureBytes {
		return inkan.E(inkan.KindInvalid, fmt.Sprintf("picture must not be longer than %d bytes", MaxPictureBytes))
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return inkan.E(inkan.KindInvalid, "picture must be an http or https URL without user information")
	}
	return nil
}

// Metadata returns the user's metadata (admin GET /users/{id}/metadata).
// KindNotFound "user not found".
func (s *Service) Metadata(ctx context.Context, id uuid.UUID) (inkan.UserMetadata, error) {
	m, err := s.store.GetUserMetadata(ctx, id)
	if errors.Is(err, inkan.ErrNotFound) {
		return m, inkan.Wrap(inkan.KindNotFound, "user not found", err)
	}
	return m, err
}

// PatchMetadata applies the JSON merge patch (RFC 7386) patch to the
// document {"public_metadata", "private_metadata", "unsafe_metadata"} of
// the user's metadata and stores the result (admin PATCH
// /users/{id}/metadata). The patch must be an object whose members are
// objects or null, or null (clears everything). A section that ends up
// empty ({}) is removed. Errors: KindInvalid for another shape or a
// section longer than inkan.MaxMetadataSectionChars characters (nothing
// written); KindNotFound "user not found".
func (s *Service) PatchMetadata(ctx context.Context, id uuid.UUID, patch json.RawMessage) (inkan.UserMetadata, error) {
	var doc map[string]json.RawMessage
	clearAll := bytes.Equal(bytes.TrimSpace(patch), []byte("null"))
	if !clearAll {
		if err := json.Unmarshal(patch, &doc); err != nil || doc == nil {
			return inkan.UserMetadata{}, inkan.E(inkan.KindInvalid, "metadata patch must be a JSON object or null")
		}
		for k, v := range doc {
			switch k {
			case "public_metadata", "private_metadata", "unsafe_metadata":
			default:
				return inkan.UserMetadata{}, inkan.E(inkan.KindInvalid, fmt.Sprintf("unknown metadata section %q", k))
			}
			if t := bytes.TrimSpace(v); !bytes.Equal(t, []byte("null")) && (len(t) == 0 || t[0] != '{') {
				return inkan.UserMetadata{}, inkan.E(inkan.KindInvalid, k+" must be a JSON object or null")
			}
		}
	}
	out, err := s.store.UpdateUserMetadata(ctx, id, s.now(), func(cur inkan.UserMetadata) (inkan.UserMetadata, error) {
		if clearAll {
			return inkan.UserMetadata{}, nil
		}
		var next inkan.UserMetadata
		for _, sec := range []struct {
			name string
			cur  json.RawMessage
			out  *json.RawMessage
		}{{"public_metadata", cur.Public, &next.Public}, {"private_metadata", cur.Private, &next.Private}, {"unsafe_metadata", cur.Unsafe, &next.Unsafe}} {
			p, ok := doc[sec.name]
			if !ok {
				*sec.out = sec.cur
				continue
			}
			if bytes.Equal(bytes.TrimSpace(p), []byte("null")) {
				continue // the section is removed
			}
			base := sec.cur
			if base == nil {
				base = json.RawMessage("{}")
			}
			merged, err := jsonpatch.MergePatch(base, p)
			if err != nil {
				return inkan.UserMetadata{}, inkan.Wrap(inkan.KindInvalid, sec.name+" must be a JSON object or null", err)
			}
			if bytes.Equal(merged, []byte("{}")) {
				continue
			}
			if n := utf8.RuneCount(merged); n > inkan.MaxMetadataSectionChars {
				return inkan.UserMetadata{}, inkan.E(inkan.KindInvalid, fmt.Sprintf("%s must not be longer than %d characters, got %d", sec.name, inkan.MaxMetadataSectionChars, n))
			}
			*sec.out = merged
		}
		return next, nil
	})
	if errors.Is(err, inkan.ErrNotFound) {
		return out, inkan.Wrap(inkan.KindNotFound, "user not found", err)
	}
	return out, err
}

// AddEmailAsAdmin adds the address rawAddress to userID's account at once,
// assigned and with the given verified flag, whatever
// email.require_verification says (admin POST /users/{id}/emails); it
// becomes primary when the user has no primary address. Errors as AddEmail.
func (s *Service) AddEmailAsAdmin(ctx context.Context, userID uuid.UUID, rawAddress string, verified bool) (inkan.Email, error) {
	addr, err := normalizeAddress(rawAddress)
	if err != nil {
		return inkan.Email{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	e := inkan.Email{ID: uuid.New(), UserID: userID, Address: addr, Verified: verified, CreatedAt: now, UpdatedAt: now}
	return s.addEmail(ctx, userID, e)
}

// Email returns the address emailID of userID. KindNotFound "email not
// found" when it is unknown or not the user's.
func (s *Service) Email(ctx context.Context, userID, emailID uuid.UUID) (inkan.Email, error) {
	e, err := s.store.GetEmail(ctx, emailID)
	if errors.Is(err, inkan.ErrNotFound) || (err == nil && e.UserID != userID) {
		return inkan.Email{}, inkan.E(inkan.KindNotFound, "email not found")
	}
	return e, err
}
