// Package passcode issues and checks one-time e-mail passcodes (see
// docs/compatibility.md "Passcodes"): six decimal digits from crypto/rand, kept at rest only as a
// keyed hash, valid for a TTL, dead after three wrong attempts, used once.
//
// The package knows nothing of HTTP, SQL or SMTP: it talks to a Store and a
// Mailer. Attempt counting and consumption are decided by the Store's
// conditional updates, so two nodes can never both accept one code.
package passcode

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// CodeLength is the number of decimal digits in a passcode (docs/compatibility.md "Passcodes").
const CodeLength = 6

// codeSpace is 10^CodeLength: codes cover 000000–999999 uniformly.
var codeSpace = big.NewInt(1_000_000)

// Options configure a Service.
type Options struct {
	// TTL is how long a passcode is valid (email.passcode_ttl, default 300 s).
	TTL time.Duration
	// Secret keys the HMAC-SHA256 that stores new codes at rest; at least
	// 16 bytes.
	Secret []byte
	// OldSecrets are the keys of earlier secrets (secrets.keys after the
	// first), tried when a code does not match under Secret, so that
	// passcodes issued before a secret rotation stay checkable while they
	// live. Each at least 16 bytes.
	OldSecrets [][]byte
	// ServiceName is named in the mail (service.name).
	ServiceName string
	// FailureLimit caps the codes checked per user, across all of the
	// user's passcodes and all nodes (rate_limiter.passcode_failure_limits,
	// default 10 per hour; zero Tokens = no cap): every checked code takes
	// a token, the right one gives it back, so only wrong codes spend the
	// budget. With the budget spent, Finalize refuses every code for that
	// user — the right one too — until a token is back (NIST SP 800-63B
	// §5.2.2: limit failed attempts per account).
	FailureLimit FailureLimit
	// AppDelivers is email_delivery.enabled false: no mail is sent; the
	// passcode reaches the user through the email.send webhook, whose
	// event (with the mail, HookMail) is what Initialize waits for.
	AppDelivers bool
	// HookMail returns the email.send data for the mail m (the code,
	// subject, bodies, language; sealed for storage, so that the code is
	// never in the clear at rest) — delivered says whether inkan sent the
	// mail itself. It becomes the HookData of passcode_login_init_succeeded.
	// nil: no email.send (AppDelivers needs it).
	HookMail func(m inkan.PasscodeMail, validUntil time.Time, delivered bool) ([]byte, error)
}

// FailureLimit is a bucket of Tokens attempts refilled evenly over Interval.
type FailureLimit struct {
	Tokens   int
	Interval time.Duration
}

// Service issues and finalizes passcodes.
type Service struct {
	store  Store
	mailer Mailer
	opts   Options
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Service. now may be nil (time.Now). It returns an error when
// the secret is shorter than 16 bytes or the TTL is not positive.
func New(store Store, mailer Mailer, o Options, now func() time.Time, log *slog.Logger) (*Service, error) {
	for _, k := range append([][]byte{o.Secret}, o.OldSecrets...) {
		if len(k) < 16 {
			return nil, errors.New("passcode: secret must be at least 16 bytes")
		}
	}
	if o.TTL <= 0 {
		return nil, errors.New("passcode: TTL must be positive")
	}
	if o.AppDelivers && o.HookMail == nil {
		return nil, errors.New("passcode: the app delivers the mail but there is no email.send hook data")
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, mailer: mailer, opts: o, now: now, log: log}, nil
}

// Recipient is the address a passcode is sent to and the languages the
// requester prefers (X-Language, then Accept-Language).
type Recipient struct {
	UserID         uuid.UUID
	EmailID        uuid.UUID
	Address        string
	Language       string
	AcceptLanguage string
}

// Initialize creates a passcode for the recipient, stores its keyed hash and
// mails the code, then records passcode_login_init_succeeded: the passcode
// is usable from the moment the mail server accepted it, so that is when
// its event is written. When the mail cannot be delivered the passcode is
// deleted, so it can never be finalized, together with its
// passcode_login_init_failed event, and a KindBadGateway error is returned
// ("failed to send passcode"). The returned Passcode has no code in it.
//
// With HookMail the event carries the email.send data; with AppDelivers
// no mail is sent and the committed event — the email.send webhook
// durably queued — is the delivery (README "Webhooks").
func (s *Service) Initialize(ctx context.Context, r Recipient) (inkan.Passcode, error) {
	code, err := generateCode()
	if err != nil {
		return inkan.Passcode{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	p := inkan.Passcode{
		ID:        uuid.New(),
		UserID:    r.UserID,
		EmailID:   r.EmailID,
		TTL:       s.opts.TTL,
		CreatedAt: now,
		ExpiresAt: now.Add(s.opts.TTL),
	}
	p.CodeHash = s.hash(p.ID, code)
	if err := s.store.CreatePasscode(ctx, p); err != nil {
		return inkan.Passcode{}, fmt.Errorf("passcode: store: %w", err)
	}
	mail := inkan.PasscodeMail{
		To:             r.Address,
		UserID:         r.UserID,
		Code:           code,
		TTL:            s.opts.TTL,
		ServiceName:    s.opts.ServiceName,
		Language:       r.Language,
		AcceptLanguage: r.AcceptLanguage,
	}
	var hookData []byte
	if s.opts.HookMail != nil {
		if hookData, err = s.opts.HookMail(mail, p.ExpiresAt, !s.opts.AppDelivers); err != nil {
			err = fmt.Errorf("passcode: email.send data: %w", err)
			if s.opts.AppDelivers {
				s.undeliverable(ctx, p, err)
				return inkan.Passcode{}, inkan.Wrap(inkan.KindBadGateway, "failed to send passcode", err)
			}
			s.log.Error("passcode: no email.send webhook for this mail", "passcode_id", p.ID, "error", err)
		}
	}
	if s.opts.AppDelivers {
		ev := s.initEvent(ctx, inkan.EventPasscodeLoginInitSucceeded, p, nil)
		ev.HookData = hookData
		if err := s.store.RecordEvent(ctx, ev); err != nil {
			s.undeliverable(ctx, p, err)
			return inkan.Passcode{}, fmt.Errorf("passcode: record event: %w", err)
		}
		return p, nil
	}
	if err := s.mailer.SendPasscode(ctx, mail); err != nil {
		// The code never reached the user: make sure nobody can use it. A
		// fresh context, because ctx may be the one that timed out.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		failure := inkan.Wrap(inkan.KindBadGateway, "failed to send passcode", err)
		derr := inkan.Change(dctx, s.store, func(ctx context.Context) error {
			return s.store.DeletePasscode(ctx, p.ID)
		}, func(ctx context.Context) inkan.Event {
			return s.initEvent(ctx, inkan.EventPasscodeLoginInitFailed, p, failure)
		})
		if derr != nil {
			s.log.Error("passcode: could not delete undelivered passcode", "passcode_id", p.ID, "error", derr)
		}
		return inkan.Passcode{}, failure
	}
	ev := s.initEvent(ctx, inkan.EventPasscodeLoginInitSucceeded, p, nil)
	ev.HookData = hookData
	if err := s.store.RecordEvent(ctx, ev); err != nil {
		return inkan.Passcode{}, fmt.Errorf("passcode: record event: %w", err)
	}
	return p, nil
}

// undeliverable deletes the passcode p whose email.send could not be
// queued (cause), so that nobody can ever use it.
func (s *Service) undeliverable(ctx context.Context, p inkan.Passcode, cause error) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.DeletePasscode(dctx, p.ID); err != nil && !errors.Is(err, inkan.ErrNotFound) {
		s.log.Error("passcode: could not delete undeliverable passcode", "passcode_id", p.ID, "error", err, "cause", cause)
	}
}

// initEvent is the initialize event t for p (cause nil on success).
func (s *Service) initEvent(ctx context.Context, t inkan.EventType, p inkan.Passcode, cause error) inkan.Event {
	actor := inkan.Actor{UserID: p.UserID}
	var ev inkan.Event
	if cause != nil {
		ev = inkan.FailedEvent(ctx, t, actor, cause, s.now())
	} else {
		ev = inkan.NewEvent(ctx, t, actor, s.now())
	}
	return ev.With("passcode_id", p.ID.String()).With("email_id", p.EmailID.String())
}

// Finalize checks code against passcode id and consumes it (the
// finalize operation of api/openapi.yaml, docs/compatibility.md
// "Passcodes"): unknown or already used id → KindNotFound "passcode not
// found"; expired → KindTimeout "passcode request timed out"; wrong code →
// KindUnauthorized, and the attempt that reaches inkan.MaxPasscodeAttempts
// (or any attempt on a dead passcode) → KindGone "max attempts reached". On
// success the consumed passcode is returned; on an error, the passcode as
// read when there was one (its user and address name the failure's actor),
// else the zero Passcode.
//
// The code is compared in constant time against the stored HMAC; the
// attempt counter and the consumption are conditional updates in the store.
// check, when not nil, runs after the code matched and before the passcode
// is consumed; an error from it is returned and leaves the passcode usable.
//
// Called inside a transaction (inkan.Journal.Atomically) the consumption is
// part of it: internal/login consumes, claims the address and creates the
// session in one unit, so a failure after the check leaves the code usable.
// A wrong code's counted attempt must then be committed by the caller.
func (s *Service) Finalize(ctx context.Context, id uuid.UUID, code string, check func(inkan.Passcode) error) (inkan.Passcode, error) {
	p, err := s.store.GetPasscode(ctx, id)
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Passcode{}, inkan.Wrap(inkan.KindNotFound, "passcode not found", err)
	}
	if err != nil {
		return inkan.Passcode{}, err
	}
	now := s.now().UTC()
	if p.TryCount >= inkan.MaxPasscodeAttempts {
		return p, inkan.E(inkan.KindGone, "max attempts reached")
	}
	if !now.Before(p.ExpiresAt) {
		return p, inkan.E(inkan.KindTimeout, "passcode request timed out")
	}
	match := s.matches(p, code)
	if lim := s.opts.FailureLimit; lim.Tokens > 0 {
		// Every checked code needs a token under the user's row lock, so
		// concurrent guesses on several nodes can never be answered for
		// more codes than the budget holds; the right code keeps its
		// token (one statement either way).
		ok, wait, err := s.store.TakePasscodeAttempt(ctx, p.UserID, now, lim.Tokens, lim.Interval, match)
		if err != nil {
			return p, err
		}
		if !ok {
			return p, inkan.Wrap(inkan.KindTooManyRequests, "", &inkan.RetryAfter{After: wait, Limit: "rate_limiter.passcode_failure_limits"})
		}
	}
	if !match {
		tries, err := s.store.IncrementPasscodeTries(ctx, p.ID, inkan.MaxPasscodeAttempts)
		switch {
		case errors.Is(err, inkan.ErrStale):
			return p, inkan.E(inkan.KindGone, "max attempts reached")
		case err != nil:
			return p, err
		case tries >= inkan.MaxPasscodeAttempts:
			return p, inkan.E(inkan.KindGone, "max attempts reached")
		}
		return p, inkan.E(inkan.KindUnauthorized, "")
	}
	if check != nil {
		if err := check(p); err != nil {
			return p, err
		}
	}
	if err := s.store.ConsumePasscode(ctx, p.ID, inkan.MaxPasscodeAttempts, now); err != nil {
		if errors.Is(err, inkan.ErrStale) {
			return p, s.whyStale(ctx, p.ID, now)
		}
		return p, err
	}
	return p, nil
}

// whyStale explains a consumption that lost a race: the passcode was used
// by a concurrent request (gone: 404), killed by concurrent wrong attempts
// (410) or expired in between (408). A row that still looks usable was
// consumed by a transaction this one's snapshot does not see yet (MySQL's
// repeatable read inside internal/login's unit): 404 as well.
func (s *Service) whyStale(ctx context.Context, id uuid.UUID, now time.Time) error {
	p, err := s.store.GetPasscode(ctx, id)
	switch {
	case errors.Is(err, inkan.ErrNotFound):
		return inkan.E(inkan.KindNotFound, "passcode not found")
	case err != nil:
		return err
	case p.TryCount >= inkan.MaxPasscodeAttempts:
		return inkan.E(inkan.KindGone, "max attempts reached")
	case !now.Before(p.ExpiresAt):
		return inkan.E(inkan.KindTimeout, "passcode request timed out")
	}
	return inkan.E(inkan.KindNotFound, "passcode not found")
}

// hash returns HMAC-SHA256(secret, id ‖ code): binding the id means a hash
// copied onto another row does not verify there.
func (s *Service) hash(id uuid.UUID, code string) []byte {
	return keyedHash(s.opts.Secret, id, code)
}

// matches reports whether code is p's, under the current secret or any of
// the old ones (compared in constant time; every secret is tried, so the
// time does not tell which one matched).
func (s *Service) matches(p inkan.Passcode, code string) bool {
	ok := hmac.Equal(s.hash(p.ID, code), p.CodeHash)
	for _, old := range s.opts.OldSecrets {
		ok = hmac.Equal(keyedHash(old, p.ID, code), p.CodeHash) || ok
	}
	return ok
}

func keyedHash(secret []byte, id uuid.UUID, code string) []byte {
	return inkan.KeyedHash(secret, id, []byte(code))
}

// generateCode returns CodeLength decimal digits drawn uniformly from
// crypto/rand (rand.Int rejects biased samples).
func generateCode() (string, error) {
	n, err := rand.Int(rand.Reader, codeSpace)
	if err != nil {
		return "", fmt.Errorf("passcode: random: %w", err)
	}
	return fmt.Sprintf("%0*d", CodeLength, n.Int64()), nil
}
