package account

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// DefaultEmailLimit is email.limit's default (docs/compatibility.md "Configuration").
const DefaultEmailLimit = 5

// AddEmail adds the address rawAddress to userID's account (POST /emails,
// docs/compatibility.md "E-mail addresses"). The address is normalised with inkan.NormalizeEmail
// (trimmed, lower-cased, IDNA domain to punycode), so one mailbox is one
// row whatever its spelling. With RequireVerification the row is left
// unassigned (or an existing unassigned row is returned) until a passcode
// sent to it is finalized by this user; otherwise it is assigned at once,
// unverified. Never made primary. Errors: KindInvalid
// "address must be a valid email address" (inkan fixes Hanko's 500);
// KindConflict "max number of email addresses reached" at EmailLimit;
// KindInvalid "email address already exists" when any user owns it (Hanko's
// 400); KindNotFound "user not found".
func (s *Service) AddEmail(ctx context.Context, userID uuid.UUID, rawAddress string) (inkan.Email, error) {
	addr, err := normalizeAddress(rawAddress)
	if err != nil {
		return inkan.Email{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	e := inkan.Email{ID: uuid.New(), Address: addr, CreatedAt: now, UpdatedAt: now}
	if !s.opts.RequireVerification {
		e.UserID = userID
	}
	return s.addEmail(ctx, userID, e)
}

// normalizeAddress is inkan.NormalizeEmail with the messages naming the
// request field "address".
func normalizeAddress(raw string) (string, error) {
	addr, err := inkan.NormalizeEmail(raw)
	if err == nil {
		return addr, nil
	}
	if strings.TrimSpace(raw) == "" {
		return "", inkan.E(inkan.KindInvalid, "address is a required field")
	}
	return "", inkan.E(inkan.KindInvalid, "address must be a valid email address")
}

// addEmail stores e for userID under email.limit and classifies the
// store's errors (see AddEmail).
func (s *Service) addEmail(ctx context.Context, userID uuid.UUID, e inkan.Email) (inkan.Email, error) {
	var out inkan.Email
	err := inkan.Change(ctx, s.store, func(ctx context.Context) (err error) {
		out, err = s.store.AddEmail(ctx, userID, e, s.emailLimit())
		return err
	}, func(ctx context.Context) inkan.Event {
		return s.event(ctx, inkan.EventEmailCreated, userID, out.ID)
	})
	switch {
	case errors.Is(err, inkan.ErrStale):
		return inkan.Email{}, inkan.Wrap(inkan.KindConflict, "max number of email addresses reached", err)
	case errors.Is(err, inkan.ErrConflict):
		return inkan.Email{}, inkan.Wrap(inkan.KindInvalid, "email address already exists", err)
	case errors.Is(err, inkan.ErrNotFound):
		return inkan.Email{}, inkan.Wrap(inkan.KindNotFound, "user not found", err)
	}
	return out, err
}

// SetPrimaryEmail makes emailID the primary address of userID (POST
// /emails/{id}/set_primary, docs/compatibility.md "E-mail addresses"; no "must be verified" rule).
// KindNotFound "email not found" when the address is unknown or not the
// user's — another user's id is indistinguishable from an unknown one.
func (s *Service) SetPrimaryEmail(ctx context.Context, userID, emailID uuid.UUID) error {
	err := inkan.Change(ctx, s.store, func(ctx context.Context) error {
		return s.store.SetPrimaryEmail(ctx, userID, emailID, s.now().UTC())
	}, func(ctx context.Context) inkan.Event {
		return s.event(ctx, inkan.EventPrimaryChanged, userID, emailID)
	})
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, "email not found", err)
	}
	return err
}

// DeleteEmail removes the address emailID of userID (DELETE /emails/{id},
// docs/compatibility.md "E-mail addresses"). Errors: KindNotFound "email not found" for an unknown or
// foreign id (inkan fixes Hanko's 500); KindConflict "primary email can't be
// deleted" for the primary address.
func (s *Service) DeleteEmail(ctx context.Context, userID, emailID uuid.UUID) error {
	err := inkan.Change(ctx, s.store, func(ctx context.Context) error {
		return s.store.DeleteEmail(ctx, userID, emailID)
	}, func(ctx context.Context) inkan.Event {
		return s.event(ctx, inkan.EventEmailDeleted, userID, emailID)
	})
	switch {
	case errors.Is(err, inkan.ErrNotFound):
		return inkan.Wrap(inkan.KindNotFound, "email not found", err)
	case errors.Is(err, inkan.ErrConflict):
		return inkan.Wrap(inkan.KindConflict, "primary email can't be deleted", err)
	}
	return err
}

// DeleteUser deletes the account userID and everything that belongs to it
// (DELETE /user, docs/compatibility.md "Users"): addresses, passcodes, credentials,
// password and sessions. KindNotFound "user not found" when it is gone
// (inkan answers 404 where Hanko answered 500).
func (s *Service) DeleteUser(ctx context.Context, userID uuid.UUID) error {
	var ev inkan.Event
	err := inkan.Change(ctx, s.store, func(ctx context.Context) error {
		ev = s.event(ctx, inkan.EventUserDeleted, userID, uuid.Nil) // read before the address goes
		return s.store.DeleteUser(ctx, userID)
	}, func(context.Context) inkan.Event { return ev })
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(inkan.KindNotFound, "user not found", err)
	}
	return err
}

// event is the event t about userID, in ctx's transaction: the actor's
// e-mail is the user's primary address as ctx's transaction sees it ("" when
// none or unreadable: the event is still written), and emailID, when not
// uuid.Nil, is the detail "email_id".
func (s *Service) event(ctx context.Context, t inkan.EventType, userID, emailID uuid.UUID) inkan.Event {
	actor := inkan.Actor{UserID: userID}
	if e, err := s.store.PrimaryEmail(ctx, userID); err == nil {
		actor.Email = e.Address
	}
	ev := inkan.NewEvent(ctx, t, actor, s.now())
	if emailID != uuid.Nil {
		ev = ev.With("email_id", emailID.String())
	}
	return ev
}

// emailLimit is Options.EmailLimit, or DefaultEmailLimit when unset.
func (s *Service) emailLimit() int {
	if s.opts.EmailLimit < 1 {
		return DefaultEmailLimit
	}
	return s.opts.EmailLimit
}
