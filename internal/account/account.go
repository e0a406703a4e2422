// Package account manages users and their e-mail addresses: look-up and
// sign-up (docs/compatibility.md "Users"), choosing the address a passcode goes to, and
// claiming an address once its passcode is verified (docs/compatibility.md "Passcodes").
package account

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Options configure a Service.
type Options struct {
	// RequireVerification (email.require_verification, default true): a new
	// address stays unassigned until a passcode sent to it is verified.
	RequireVerification bool
	// AllowSignup (account.allow_signup, default true) gates POST /users.
	AllowSignup bool
	// EmailLimit (email.limit, default 5) is the most addresses a user may
	// own; POST /emails answers 409 at the limit. Zero means 5.
	EmailLimit int
}

// Service is the account use cases.
type Service struct {
	store Store
	opts  Options
	now   func() time.Time
}

// New returns a Service; now may be nil (time.Now).
func New(store Store, o Options, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, opts: o, now: now}
}

// Lookup is the answer to POST /user (docs/compatibility.md "Users").
type Lookup struct {
	UserID                uuid.UUID // "id": the owner of the address
	EmailID               uuid.UUID // "email_id": the address row
	Verified              bool      // "verified": the address was verified by a passcode
	HasWebauthnCredential bool      // "has_webauthn_credential": the user has a passkey
}

// Lookup finds the user owning rawEmail (normalised with
// inkan.NormalizeEmail). Errors: KindInvalid for a malformed address,
// KindNotFound "user not found" when no user owns it (also for an
// unassigned address of an unfinished sign-up).
func (s *Service) Lookup(ctx context.Context, rawEmail string) (Lookup, error) {
	addr, err := inkan.NormalizeEmail(rawEmail)
	if err != nil {
		return Lookup{}, err
	}
	e, has, err := s.store.FindOwner(ctx, addr)
	if errors.Is(err, inkan.ErrNotFound) || (err == nil && e.UserID == uuid.Nil) {
		return Lookup{}, inkan.E(inkan.KindNotFound, "user not found")
	}
	if err != nil {
		return Lookup{}, err
	}
	return Lookup{UserID: e.UserID, EmailID: e.ID, Verified: e.Verified, HasWebauthnCredential: has}, nil
}

// SignUp creates a user with the address rawEmail (docs/compatibility.md "Users" POST
// /users). With RequireVerification the address is left unassigned until its
// passcode is finalized; otherwise it is assigned, primary and unverified.
// Errors: KindForbidden when sign-up is disabled, KindInvalid for a bad
// address, KindConflict "email address already exists" when a user owns it
// (nothing is written then). The user and its user_created event are written
// in one transaction (the caller's, when ctx carries one).
func (s *Service) SignUp(ctx context.Context, rawEmail string) (inkan.User, inkan.Email, error) {
	return s.SignUpAs(ctx, uuid.New(), rawEmail)
}

// SignUpAs is SignUp for a user whose id is already chosen: a
// passkey-first sign-up, whose authenticator stored the id as user handle
// (api/openapi.yaml POST /webauthn/registration/finalize). A taken id is
// KindConflict too.
func (s *Service) SignUpAs(ctx context.Context, userID uuid.UUID, rawEmail string) (inkan.User, inkan.Email, error) {
	if err := s.SignUpAllowed(); err != nil {
		return inkan.User{}, inkan.Email{}, err
	}
	addr, err := inkan.NormalizeEmail(rawEmail)
	if err != nil {
		return inkan.User{}, inkan.Email{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	u := inkan.User{ID: userID, CreatedAt: now, UpdatedAt: now}
	e := inkan.Email{ID: uuid.New(), Address: addr, CreatedAt: now, UpdatedAt: now}
	if !s.opts.RequireVerification {
		e.UserID = u.ID
	}
	var stored inkan.Email
	err = s.store.Atomically(ctx, func(ctx context.Context) error {
		var err error
		stored, err = s.store.CreateUser(ctx, u, e)
		if errors.Is(err, inkan.ErrConflict) {
			return inkan.Wrap(inkan.KindConflict, "email address already exists", err)
		}
		if err != nil {
			return err
		}
		return s.store.RecordEvent(ctx, inkan.NewEvent(ctx, inkan.EventUserCreated, inkan.Actor{UserID: u.ID, Email: stored.Address}, now).
			With("email_id", stored.ID.String()))
	})
	if err != nil {
		return inkan.User{}, inkan.Email{}, err
	}
	return u, stored, nil
}

// errSignupDisabled answers a sign-up without account.allow_signup: 403, as
// Hanko's POST /users.
var errSignupDisabled = inkan.E(inkan.KindForbidden, "sign-up is disabled")

// SignUpAllowed is nil with account.allow_signup, else KindForbidden "sign-up
// is disabled" (Hanko's 403 of POST /users).
func (s *Service) SignUpAllowed() error {
	if !s.opts.AllowSignup {
		return errSignupDisabled
	}
	return nil
}

// CheckSignUp decides, before a passkey-first sign-up stores anything,
// whether rawEmail may sign up (the rules of SignUp, read without writing)
// and returns the normalised address. Errors: KindForbidden when sign-up
// is disabled, KindInvalid for a bad address, KindConflict "email address
// already exists" when a user owns it. SignUpAs decides again when the
// sign-up is finished.
func (s *Service) CheckSignUp(ctx context.Context, rawEmail string) (string, error) {
	if err := s.SignUpAllowed(); err != nil {
		return "", err
	}
	addr, err := inkan.NormalizeEmail(rawEmail)
	if err != nil {
		return "", err
	}
	e, _, err := s.store.FindOwner(ctx, addr)
	switch {
	case errors.Is(err, inkan.ErrNotFound):
		return addr, nil
	case err != nil:
		return "", err
	case e.UserID != uuid.Nil:
		return "", inkan.E(inkan.KindConflict, "email address already exists")
	}
	return addr, nil
}

// User returns the user (KindNotFound "user not found").
func (s *Service) User(ctx context.Context, id uuid.UUID) (inkan.User, error) {
	u, err := s.store.GetUser(ctx, id)
	if errors.Is(err, inkan.ErrNotFound) {
		return u, inkan.Wrap(inkan.KindNotFound, "user not found", err)
	}
	return u, err
}

// Profile returns the user with their assigned addresses and passkeys,
// read in one round trip (GET /me, GET /users/{id}; docs/performance.md
// "Budgets"). KindNotFound "user not found" when the user is missing.
func (s *Service) Profile(ctx context.Context, id uuid.UUID) (inkan.Profile, error) {
	return notFoundUser(s.store.Profile(ctx, id))
}

// ProfileWithIdentities is Profile with the user's third-party identities,
// oldest first, in the same one round trip (GET /me and GET /emails with
// third_party enabled, the admin user object).
func (s *Service) ProfileWithIdentities(ctx context.Context, id uuid.UUID) (inkan.Profile, error) {
	return notFoundUser(s.store.ProfileWithIdentities(ctx, id))
}

// notFoundUser maps the store's inkan.ErrNotFound to KindNotFound "user
// not found".
func notFoundUser(p inkan.Profile, err error) (inkan.Profile, error) {
	if errors.Is(err, inkan.ErrNotFound) {
		return p, inkan.Wrap(inkan.KindNotFound, "user not found", err)
	}
	return p, err
}

// Emails returns the addresses assigned to the user, oldest first.
func (s *Service) Emails(ctx context.Context, userID uuid.UUID) ([]inkan.Email, error) {
	return s.store.ListEmails(ctx, userID)
}

// PrimaryEmail returns the user's primary address, or ok=false when the user
// has none (an unfinished sign-up).
func (s *Service) PrimaryEmail(ctx context.Context, userID uuid.UUID) (e inkan.Email, ok bool, err error) {
	e, err = s.store.PrimaryEmail(ctx, userID)
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Email{}, false, nil
	}
	return e, err == nil, err
}

// PasscodeTarget picks the address a login passcode for userID is sent to
// (docs/compatibility.md "Passcodes" "Target address"): the row emailID when given, else the
// user's primary address, else the row fallbackID (the hanko_email_id
// cookie POST /users set in a browser; uuid.Nil when absent). A chosen row
// must be the user's or unassigned. Errors (all KindInvalid, Hanko's
// messages): "user not found", "the specified emailId is not available",
// "an emailId needs to be specified"; each refusal records
// passcode_login_init_failed.
func (s *Service) PasscodeTarget(ctx context.Context, userID, emailID, fallbackID uuid.UUID) (inkan.Email, error) {
	e, err := s.passcodeTarget(ctx, userID, emailID, fallbackID)
	if inkan.KindOf(err) == inkan.KindInvalid {
		ev := inkan.FailedEvent(ctx, inkan.EventPasscodeLoginInitFailed, inkan.Actor{UserID: userID}, err, s.now())
		return e, inkan.Refused(ctx, s.store, ev, err)
	}
	return e, err
}

func (s *Service) passcodeTarget(ctx context.Context, userID, emailID, fallbackID uuid.UUID) (inkan.Email, error) {
	// The user and their assigned addresses in one read: a returning
	// user's target is among them, so only an unassigned row (a sign-up
	// awaiting verification) costs a second read.
	profile, err := s.store.Profile(ctx, userID)
	if err != nil {
		if errors.Is(err, inkan.ErrNotFound) {
			return inkan.Email{}, inkan.Wrap(inkan.KindInvalid, "user not found", err)
		}
		return inkan.Email{}, err
	}
	if emailID == uuid.Nil {
		if e, ok := profile.Primary(); ok {
			return e, nil
		}
		if fallbackID == uuid.Nil {
			return inkan.Email{}, inkan.E(inkan.KindInvalid, "an emailId needs to be specified")
		}
		emailID = fallbackID
	}
	for _, e := range profile.Emails {
		if e.ID == emailID {
			return e, nil
		}
	}
	e, err := s.store.GetEmail(ctx, emailID)
	if errors.Is(err, inkan.ErrNotFound) || (err == nil && e.UserID != uuid.Nil && e.UserID != userID) {
		return inkan.Email{}, inkan.E(inkan.KindInvalid, "the specified emailId is not available")
	}
	return e, err
}

// CheckClaim decides, before a passcode is consumed, whether userID may log
// in with (and so take) the address emailID (docs/compatibility.md "Passcodes" finalize rules 5
// and 6), and returns the address as read (Primary filled in). sessionUser
// is the subject of a valid session sent with the request, or uuid.Nil.
// Allowed: the address is the user's own; or it is unassigned and the user
// has no address yet (sign-up); or it is unassigned and the caller is
// logged in as that user (adding an address), unless the user already has
// email.limit addresses. Errors: KindForbidden "email address has been
// claimed by another user"; KindConflict "max number of email addresses
// reached"; KindForbidden when none of the cases holds; ErrNotFound when
// the row is gone.
//
// known is the row emailID as the caller already read it in this
// transaction (the passcode read joins it), or nil to read it here.
func (s *Service) CheckClaim(ctx context.Context, userID, emailID, sessionUser uuid.UUID, known *inkan.Email) (inkan.Email, error) {
	var e inkan.Email
	if known != nil && known.ID == emailID {
		e = *known
	} else {
		var err error
		if e, err = s.store.GetEmail(ctx, emailID); err != nil {
			return e, err
		}
	}
	switch {
	case e.UserID == userID:
		return e, nil
	case e.UserID != uuid.Nil:
		return e, inkan.E(inkan.KindForbidden, "email address has been claimed by another user")
	}
	emails, err := s.store.ListEmails(ctx, userID)
	if err != nil {
		return e, err
	}
	for _, owned := range emails {
		if owned.ID == emailID {
			// A concurrent finalize of this user claimed the address
			// between the two reads: it is the user's own now.
			return owned, nil
		}
	}
	switch {
	case len(emails) >= s.emailLimit():
		// Claiming would pass email.limit (POST /emails leaves addresses
		// unassigned under required verification, so the limit is
		// enforced here too).
		return e, inkan.E(inkan.KindConflict, "max number of email addresses reached")
	case len(emails) == 0 || sessionUser == userID:
		return e, nil
	}
	return e, inkan.E(inkan.KindForbidden, "")
}

// NeedsClaim reports whether e, as returned by CheckClaim for userID, still
// has to be claimed (assigned, verified, made primary if the user has no
// primary) after its passcode was consumed. An address the user already
// owns verified needs nothing: a returning user's login skips the write.
func NeedsClaim(e inkan.Email, userID uuid.UUID) bool {
	return e.UserID != userID || !e.Verified
}

// Claim assigns the address e (as CheckClaim returned it) to userID as
// verified, primary when the user had no primary address, and records
// email_verified — and primary_email_changed when it became primary — in
// the same transaction (the caller's, when ctx carries one). When e was
// already the user's but unverified (sign-up or POST /emails without
// email.require_verification), this first proof of ownership also removes
// every session, passkey and password the account had and records
// user_access_revoked, so that whoever signed up with someone else's
// address loses the account to its owner. Returns the address as stored.
// KindForbidden "email address has been claimed by another user" when
// another user took it meanwhile; KindConflict "max number of email
// addresses reached" at email.limit.
func (s *Service) Claim(ctx context.Context, e inkan.Email, userID uuid.UUID) (inkan.Email, error) {
	var out inkan.Email
	err := s.store.Atomically(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.store.ClaimEmail(ctx, e.ID, userID, s.emailLimit())
		switch {
		case errors.Is(err, inkan.ErrConflict):
			return inkan.Wrap(inkan.KindForbidden, "email address has been claimed by another user", err)
		case errors.Is(err, inkan.ErrStale):
			return inkan.Wrap(inkan.KindConflict, "max number of email addresses reached", err)
		case err != nil:
			return err
		}
		now := s.now()
		actor := inkan.Actor{UserID: userID, Email: out.Address}
		if err := s.store.RecordEvent(ctx, inkan.NewEvent(ctx, inkan.EventEmailVerified, actor, now).With("email_id", out.ID.String())); err != nil {
			return err
		}
		if e.UserID == userID && !e.Verified {
			// The account held this address before anyone proved to own
			// it (sign-up or POST /emails without required verification):
			// whoever used the account until now may be someone else.
			// The proof ends every earlier way in; the caller's new
			// session is created after this, in the same transaction.
			removed, err := s.store.RevokeUserAccess(ctx, userID)
			if err != nil {
				return err
			}
			if removed.Any() {
				ev := inkan.NewEvent(ctx, inkan.EventUserAccessRevoked, actor, now).
					With("reason", "first_verification").With("email_id", out.ID.String()).
					With("sessions", removed.Sessions).With("passkeys", removed.Passkeys).With("passwords", removed.Passwords)
				if err := s.store.RecordEvent(ctx, ev); err != nil {
					return err
				}
			}
		}
		if out.Primary && !e.Primary {
			return s.store.RecordEvent(ctx, inkan.NewEvent(ctx, inkan.EventPrimaryChanged, actor, now).With("email_id", out.ID.String()))
		}
		return nil
	})
	return out, err
}
