package account

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// IdentityStore is the persistence of third-party identities, part of
// Store. Errors as Store.
type IdentityStore interface {
	// FindIdentity returns the identity (provider, subject).
	FindIdentity(ctx context.Context, provider, subject string) (inkan.Identity, error)
	// CreateIdentity inserts i (ErrConflict when (provider, subject) is
	// taken).
	CreateIdentity(ctx context.Context, i inkan.Identity) error
	// UpdateIdentity writes i's email_id, data and updated_at.
	UpdateIdentity(ctx context.Context, i inkan.Identity) error
}

// The refusals of a third-party sign-in (docs/thirdparty.md "Accounts and
// linking"). Each is wrapped in an *inkan.Error whose Kind gives the status;
// their text is Hanko's error code, which the redirect flow sends as
// ?error=.
var (
	// ErrUserConflict: the provider's address belongs to another user and
	// the identity may not be linked to it (allow_linking off, or the
	// provider or inkan has not verified the address).
	ErrUserConflict = errors.New("user_conflict")
	// ErrSignupDisabled: a new identity would create a user and
	// account.allow_signup is off.
	ErrSignupDisabled = errors.New("signup_disabled")
	// ErrUnverifiedEmail: a new identity would create a user with an
	// address the provider has not verified while
	// email.require_verification is on, or the provider sent none.
	ErrUnverifiedEmail = errors.New("unverified_email")
)

// IdentityOutcome says how ResolveIdentity found the user.
type IdentityOutcome int

const (
	// IdentitySignIn: a known identity; its user signs in.
	IdentitySignIn IdentityOutcome = iota + 1
	// IdentityLinked: a new identity linked to the user owning its address.
	IdentityLinked
	// IdentitySignUp: a new identity created a new user.
	IdentitySignUp
)

// ResolveIdentity finds or makes the user that the identity pu (verified by
// internal/thirdparty) signs in, in the caller's transaction
// (docs/thirdparty.md "Accounts and linking"):
//
//  1. a known (provider, subject) signs in its user, whatever the address
//     says now; the identity's profile data and address link are refreshed;
//  2. a new identity whose address belongs to a user is linked to that user
//     when allowLinking (the provider's allow_linking) is on, the provider
//     says the address is verified and the user's row of it is verified;
//     otherwise ErrUserConflict (KindConflict);
//  3. otherwise a new user is created with the address (account.allow_signup,
//     else ErrSignupDisabled, KindForbidden), verified when the provider says
//     so; an unverified or missing address is ErrUnverifiedEmail
//     (KindForbidden) under email.require_verification. An unassigned row of
//     the address (an unfinished sign-up) is taken over. The sign-up records
//     user_created.
//
// In every case the user's empty profile fields (name, given_name,
// family_name, picture) are filled from pu: Apple sends the name only with
// the first authorization, so it is kept then. KindInvalid for an address
// that is not one (inkan.NormalizeEmail).
func (s *Service) ResolveIdentity(ctx context.Context, pu inkan.ProviderUser, allowLinking bool) (inkan.Identity, IdentityOutcome, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	data := identityData(pu)
	var addr string
	if pu.Email != "" {
		a, err := inkan.NormalizeEmail(pu.Email)
		if err != nil {
			return inkan.Identity{}, 0, err
		}
		addr = a
	}
	id, err := s.store.FindIdentity(ctx, pu.Provider, pu.Subject)
	switch {
	case err == nil:
		if addr != "" {
			if e, err := s.store.FindEmailByAddress(ctx, addr); err == nil && e.UserID == id.UserID {
				id.EmailID = e.ID
			}
		}
		id.Data, id.UpdatedAt = mergeData(id.Data, data), now
		if err := s.store.UpdateIdentity(ctx, id); err != nil {
			return inkan.Identity{}, 0, err
		}
		return id, IdentitySignIn, s.fillProfile(ctx, id.UserID, pu, now)
	case !errors.Is(err, inkan.ErrNotFound):
		return inkan.Identity{}, 0, err
	}
	id = inkan.Identity{ID: uuid.New(), Provider: pu.Provider, Subject: pu.Subject, Data: data, CreatedAt: now, UpdatedAt: now}
	var existing inkan.Email
	if addr != "" {
		existing, err = s.store.FindEmailByAddress(ctx, addr)
		if err != nil && !errors.Is(err, inkan.ErrNotFound) {
			return inkan.Identity{}, 0, err
		}
	}
	outcome := IdentitySignUp
	if existing.UserID != uuid.Nil {
		if !allowLinking || !pu.EmailVerified || !existing.Verified {
			return inkan.Identity{}, 0, inkan.Wrap(inkan.KindConflict, ErrUserConflict.Error(), ErrUserConflict)
		}
		id.UserID, id.EmailID, outcome = existing.UserID, existing.ID, IdentityLinked
	} else {
		switch {
		case !s.opts.AllowSignup:
			return inkan.Identity{}, 0, inkan.Wrap(inkan.KindForbidden, ErrSignupDisabled.Error(), ErrSignupDisabled)
		case addr == "" || (!pu.EmailVerified && s.opts.RequireVerification):
			return inkan.Identity{}, 0, inkan.Wrap(inkan.KindForbidden, ErrUnverifiedEmail.Error(), ErrUnverifiedEmail)
		}
		u := inkan.User{ID: uuid.New(), CreatedAt: now, UpdatedAt: now}
		fill(&u, pu)
		e := inkan.Email{ID: uuid.New(), UserID: u.ID, Address: addr, Verified: pu.EmailVerified, CreatedAt: now, UpdatedAt: now}
		stored, err := s.store.CreateUser(ctx, u, e)
		if errors.Is(err, inkan.ErrConflict) {
			// The address was assigned since it was read.
			return inkan.Identity{}, 0, inkan.Wrap(inkan.KindConflict, ErrUserConflict.Error(), err)
		}
		if err != nil {
			return inkan.Identity{}, 0, err
		}
		if u.Name != "" || u.GivenName != "" || u.FamilyName != "" || u.Picture != "" {
			if err := s.store.UpdateUser(ctx, u); err != nil {
				return inkan.Identity{}, 0, err
			}
		}
		if err := s.store.RecordEvent(ctx, inkan.NewEvent(ctx, inkan.EventUserCreated, inkan.Actor{UserID: u.ID, Email: stored.Address}, now).
			With("email_id", stored.ID.String()).With("provider", pu.Provider)); err != nil {
			return inkan.Identity{}, 0, err
		}
		id.UserID, id.EmailID = u.ID, stored.ID
	}
	if err := s.store.CreateIdentity(ctx, id); err != nil {
		if errors.Is(err, inkan.ErrConflict) {
			// The same identity signed in concurrently: the caller may retry.
			return inkan.Identity{}, 0, inkan.Wrap(inkan.KindConflict, "the identity was created concurrently, try again", err)
		}
		return inkan.Identity{}, 0, err
	}
	if outcome == IdentityLinked {
		return id, outcome, s.fillProfile(ctx, id.UserID, pu, now)
	}
	return id, outcome, nil
}

// fillProfile sets the user's empty profile fields from pu (one write, only
// when one changes).
func (s *Service) fillProfile(ctx context.Context, userID uuid.UUID, pu inkan.ProviderUser, now time.Time) error {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if !fill(&u, pu) {
		return nil
	}
	u.UpdatedAt = now
	return s.store.UpdateUser(ctx, u)
}

// fill copies pu's profile claims into u's empty fields, each only when it
// is a valid profile value (checkProfileValue); it reports a change.
func fill(u *inkan.User, pu inkan.ProviderUser) bool {
	changed := false
	for _, f := range []struct {
		name string
		in   string
		out  *string
	}{{"name", pu.Name, &u.Name}, {"given_name", pu.GivenName, &u.GivenName}, {"family_name", pu.FamilyName, &u.FamilyName}, {"picture", pu.Picture, &u.Picture}} {
		if *f.out != "" || f.in == "" || checkProfileValue(f.name, f.in) != nil {
			continue
		}
		*f.out, changed = f.in, true
	}
	return changed
}

// identityData is the JSON object stored with an identity: the provider's
// profile claims, without the empty ones.
func identityData(pu inkan.ProviderUser) []byte {
	m := map[string]any{"email_verified": pu.EmailVerified}
	for k, v := range map[string]string{"email": pu.Email, "name": pu.Name, "given_name": pu.GivenName, "family_name": pu.FamilyName, "picture": pu.Picture} {
		if v != "" {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m) // a map of strings and a bool always encodes
	return b
}

// mergeData keeps the claims of old that next lacks (Apple's name, sent
// once) and takes every claim next has.
func mergeData(old, next []byte) []byte {
	var o, n map[string]any
	if json.Unmarshal(old, &o) != nil || o == nil {
		return next
	}
	if json.Unmarshal(next, &n) != nil {
		return next
	}
	for k, v := range n {
		o[k] = v
	}
	b, err := json.Marshal(o)
	if err != nil {
		return next
	}
	return b
}
