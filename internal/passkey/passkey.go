// Package passkey runs the WebAuthn registration and authentication
// ceremonies (WebAuthn L3 §7.1, §7.2) on request bodies as bytes, with
// go-webauthn doing the verification. Ceremony state lives in the Store so
// that any node can finish a ceremony another began, and it is used once.
//
// The rules follow the Hanko legacy API (docs/compatibility.md "Passkeys"); where inkan decides
// differently the doc comment says so.
package passkey

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/aaguid"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// Client messages (docs/compatibility.md "Passkeys").
const (
	msgChallengeMismatch  = "Stored challenge and received challenge do not match"
	msgInvalidAttestation = "failed to validate attestation"
	msgUVRequired         = "user verification required, but the authenticator did not verify the user"
	msgInvalidAssertion   = "failed to validate assertion"
	msgUserNotFound       = "user not found"
	msgBadUserHandle      = "failed to parse userHandle as uuid"
	msgRegistrationParse  = "Parse error for Registration"
	msgAssertionParse     = "Parse error for Assertion"
	msgCredentialExists   = "webauthn credential already exists"
	// msgUnknownCredential answers an assertion whose credential id no
	// user holds (inkan; the body also carries credential_id and rp_id,
	// see inkan.UnknownCredentialError).
	msgUnknownCredential = "unknown credential"
)

// Options configure the relying party (docs/compatibility.md "Relying party").
type Options struct {
	// RPID is the relying party id (webauthn.relying_party.id), a
	// registrable domain such as "example.com" (WebAuthn L3 §5.1.2).
	RPID string
	// RPDisplayName is rp.name in creation options
	// (webauthn.relying_party.display_name).
	RPDisplayName string
	// Origins are the accepted clientDataJSON origins
	// (webauthn.relying_party.origins, WebAuthn L3 §7.1 step 9, §7.2 step
	// 13). http(s) origins match on scheme and host[:port], case
	// insensitively; anything else, such as
	// "android:apk-key-hash:<base64url sha-256 of the signing cert>", is
	// compared verbatim.
	Origins []string
	// RegistrationTimeout and LoginTimeout are each ceremony's lifetime and
	// the options' timeout member (sent in milliseconds). Zero means 10
	// minutes (Hanko default 600000 ms). inkan sends and enforces the
	// configured value even for userVerification "discouraged".
	RegistrationTimeout, LoginTimeout time.Duration
	// UserVerification is required | preferred | discouraged
	// (passkey.user_verification, WebAuthn L3 §5.8.6); empty means
	// preferred.
	UserVerification string
	// AttestationPreference is direct | indirect | none
	// (passkey.attestation_preference, WebAuthn L3 §5.4.7); empty means
	// direct. "none" attestation is accepted whatever the preference.
	AttestationPreference string
	// Providers names the passkey provider of a credential's AAGUID
	// (built-in names plus passkey.aaguid_metadata_file); a new credential
	// is named after its provider. Nil means aaguid.Builtin().
	Providers *aaguid.Table
	// Log receives one info line for every refused assertion, naming the
	// reason, the credential id (base64url) and the user id, never a
	// signature, key or token. Nil means slog.Default().
	Log *slog.Logger
}

const defaultTimeout = 10 * time.Minute

// Service runs WebAuthn ceremonies. It is safe for concurrent use.
type Service struct {
	store Store
	wa    *webauthn.WebAuthn
	opts  Options
	now   func() time.Time
}

// New returns a Service. now is the clock (nil means time.Now); it decides
// ceremony expiry and last_used_at. It fails on an empty RPID, RP display
// name or origin list, or an unknown UserVerification or
// AttestationPreference value.
func New(store Store, o Options, now func() time.Time) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	if o.RegistrationTimeout <= 0 {
		o.RegistrationTimeout = defaultTimeout
	}
	if o.LoginTimeout <= 0 {
		o.LoginTimeout = defaultTimeout
	}
	if o.UserVerification == "" {
		o.UserVerification = string(protocol.VerificationPreferred)
	}
	if o.AttestationPreference == "" {
		o.AttestationPreference = string(protocol.PreferDirectAttestation)
	}
	switch protocol.UserVerificationRequirement(o.UserVerification) {
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		return nil, fmt.Errorf("passkey: user verification %q is not required, preferred or discouraged", o.UserVerification)
	}
	switch protocol.ConveyancePreference(o.AttestationPreference) {
	case protocol.PreferDirectAttestation, protocol.PreferIndirectAttestation, protocol.PreferNoAttestation:
	default:
		return nil, fmt.Errorf("passkey: attestation preference %q is not direct, indirect or none", o.AttestationPreference)
	}
	if o.RPDisplayName == "" {
		return nil, errors.New("passkey: relying party display name is empty")
	}
	if o.RPID == "" {
		return nil, errors.New("passkey: relying party id is empty")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Providers == nil {
		o.Providers = aaguid.Builtin()
	}
	requireResidentKey := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          o.RPID,
		RPDisplayName: o.RPDisplayName,
		// Opaque origins (android:apk-key-hash:…) in RPOrigins are compared
		// by simple string comparison (protocol.IsOriginInHaystack).
		RPOrigins:             o.Origins,
		AttestationPreference: protocol.ConveyancePreference(o.AttestationPreference),
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &requireResidentKey,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.UserVerificationRequirement(o.UserVerification),
		},
		// Expiry is enforced here against the injected clock, not by the
		// library against time.Now.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: o.LoginTimeout, TimeoutUVD: o.LoginTimeout},
			Registration: webauthn.TimeoutConfig{Timeout: o.RegistrationTimeout, TimeoutUVD: o.RegistrationTimeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{store: store, wa: wa, opts: o, now: now}, nil
}

// user adapts a user and its credentials to go-webauthn's User.
type user struct {
	id    uuid.UUID
	name  string
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.id[:] }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// WebAuthnCredentialIDs lists the raw credential ids (for the Signals API).
func (u *user) WebAuthnCredentialIDs() [][]byte {
	ids := make([][]byte, len(u.creds))
	for i, c := range u.creds {
		ids[i] = c.ID
	}
	return ids
}

// beginRegistration starts a registration ceremony (WebAuthn L3 §5.4,
// docs/compatibility.md "Passkeys" POST /webauthn/registration/initialize) and returns
// {"publicKey": PublicKeyCredentialCreationOptions} as JSON (see
// docs/compatibility.md "WebAuthn options"): user.id is the 16 raw bytes of userID (base64url), user.name and
// displayName the primary e-mail address, a discoverable credential
// required, the configured user verification and attestation preference,
// timeout in milliseconds, and excludeCredentials listing each of the
// user's credentials with its id and transports (§5.4.3, so that an
// authenticator already holding one refuses to register the account
// again; absent when the user has none). The ceremony is stored with expiry now +
// RegistrationTimeout.
//
// Errors: KindInvalid "user not found"; KindInternal when the user has no
// primary e-mail (Hanko answers 500: no WebAuthn user name can be built).
func (s *Service) beginRegistration(ctx context.Context, userID uuid.UUID) ([]byte, error) {
	// The user, their primary address and their passkeys (the exclusion
	// list) in one read.
	profile, err := s.store.Profile(ctx, userID)
	if err != nil {
		return nil, userErr(err, inkan.KindInvalid, msgUserNotFound)
	}
	email, ok := profile.Primary()
	if !ok {
		return nil, inkan.Wrap(inkan.KindInternal, "", fmt.Errorf("passkey: user %s has no primary e-mail address", userID))
	}
	creation, session, err := s.wa.BeginRegistration(&user{id: userID, name: email.Address},
		webauthn.WithExclusions(excludeList(profile.Credentials)))
	if err != nil {
		return nil, inkan.Wrap(inkan.KindInternal, "", err)
	}
	if err := s.saveCeremony(ctx, inkan.OperationRegistration, userID, nil, session, s.opts.RegistrationTimeout); err != nil {
		return nil, err
	}
	return marshal(creation)
}

// finishRegistration verifies a registration response (WebAuthn L3 §7.1,
// docs/compatibility.md "Passkeys" POST /webauthn/registration/finalize) sent by userID: body
// is the PublicKeyCredential JSON of navigator.credentials.create(). The
// ceremony is found by the challenge in clientDataJSON and must be a
// registration begun for userID and not expired. On success the credential
// (aaguid, attestation format, transports, sign count, BE/BS/UV flags,
// last_used_at = now, and as its name the provider's name when
// Options.Providers knows the AAGUID, else none) is stored and the ceremony deleted in one
// transaction; on failure nothing is written and the ceremony stays.
//
// Errors (KindInvalid unless noted):
//   - body unparsable: go-webauthn's detail, e.g. "Parse error for Registration";
//   - challenge unknown, not a registration, begun by another user, or
//     already used: "Stored challenge and received challenge do not match";
//   - user deleted meanwhile: "user not found";
//   - expired, origin, RP ID hash, signature, attestation statement:
//     "failed to validate attestation";
//   - user verification required but UV flag clear: KindUnprocessable
//     "failed to validate attestation: user verification required, but
//     the authenticator did not verify the user" (Hanko's 422; the
//     library's detail is logged, never sent);
//   - credential id already registered: KindConflict (inkan decision;
//     Hanko answers 500).
func (s *Service) finishRegistration(ctx context.Context, userID uuid.UUID, body []byte) (inkan.Credential, error) {
	cer, cred, err := s.attest(ctx, body, inkan.OperationRegistration, func(cer inkan.Ceremony) error {
		if cer.UserID != userID {
			return inkan.E(inkan.KindInvalid, msgChallengeMismatch)
		}
		if _, err := s.store.GetUser(ctx, userID); err != nil {
			return userErr(err, inkan.KindInvalid, msgUserNotFound)
		}
		return nil
	})
	if err != nil {
		return inkan.Credential{}, err
	}
	return cred, s.storeCredential(ctx, cer.ID, cred)
}

// attest verifies a registration response (WebAuthn L3 §7.1) against the
// unexpired ceremony of operation op named by its challenge, after owner
// accepted the ceremony's user, and returns the ceremony and the
// credential to store for cer.UserID (see finishRegistration for its
// fields and the errors). It writes nothing.
func (s *Service) attest(ctx context.Context, body []byte, op string, owner func(inkan.Ceremony) error) (inkan.Ceremony, inkan.Credential, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return inkan.Ceremony{}, inkan.Credential{}, inkan.Wrap(inkan.KindInvalid, protocolDetails(err, msgRegistrationParse), err)
	}
	cer, session, err := s.ceremony(ctx, parsed.Response.CollectedClientData.Challenge, op)
	if err != nil {
		return inkan.Ceremony{}, inkan.Credential{}, inkan.Wrap(inkan.KindInvalid, msgChallengeMismatch, err)
	}
	if err := owner(cer); err != nil {
		return inkan.Ceremony{}, inkan.Credential{}, err
	}
	userID := cer.UserID
	now := s.now().UTC()
	if !now.Before(cer.ExpiresAt) {
		return inkan.Ceremony{}, inkan.Credential{}, inkan.Wrap(inkan.KindInvalid, msgInvalidAttestation, errors.New("ceremony expired"))
	}
	wc, err := s.wa.CreateCredential(&user{id: userID}, session, parsed)
	if err != nil {
		// go-webauthn's DevInfo (expected and received values) goes to the
		// log only; the client gets our own words.
		s.opts.Log.InfoContext(ctx, "passkey attestation refused", "user_id", userID.String(), "detail", protocolMessage(err))
		if session.UserVerification == protocol.VerificationRequired && !parsed.Response.AttestationObject.AuthData.Flags.HasUserVerified() {
			return inkan.Ceremony{}, inkan.Credential{}, inkan.Wrap(inkan.KindUnprocessable, msgInvalidAttestation+": "+msgUVRequired, err)
		}
		return inkan.Ceremony{}, inkan.Credential{}, inkan.Wrap(inkan.KindInvalid, msgInvalidAttestation, err)
	}
	cred := inkan.Credential{
		ID:              wc.ID,
		UserID:          userID,
		PublicKey:       wc.PublicKey,
		AttestationType: wc.AttestationFormat,
		SignCount:       wc.Authenticator.SignCount,
		BackupEligible:  wc.Flags.BackupEligible,
		BackupState:     wc.Flags.BackupState,
		UserVerified:    wc.Flags.UserVerified,
		LastUsedAt:      now,
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	if id, err := uuid.FromBytes(wc.Authenticator.AAGUID); err == nil {
		cred.AAGUID = id
	}
	if p, ok := s.opts.Providers.Lookup(cred.AAGUID); ok {
		cred.Name = p.Name
	}
	for _, t := range parsed.Raw.AttestationResponse.Transports {
		if t != "" {
			cred.Transports = append(cred.Transports, t)
		}
	}
	return cer, cred, nil
}

// storeCredential uses up the ceremony and inserts cred in one
// transaction (the caller's, when ctx carries one); errors as
// finishRegistration's.
func (s *Service) storeCredential(ctx context.Context, ceremonyID uuid.UUID, cred inkan.Credential) error {
	switch err := s.store.FinishRegistration(ctx, ceremonyID, cred); {
	case errors.Is(err, inkan.ErrStale):
		return inkan.Wrap(inkan.KindInvalid, msgChallengeMismatch, err)
	case errors.Is(err, inkan.ErrConflict):
		return inkan.Wrap(inkan.KindConflict, msgCredentialExists, err)
	case errors.Is(err, inkan.ErrNotFound): // user deleted meanwhile
		return inkan.Wrap(inkan.KindInvalid, msgUserNotFound, err)
	case err != nil:
		return inkan.Wrap(inkan.KindInternal, "", err)
	}
	return nil
}

// beginLogin starts an authentication ceremony (WebAuthn L3 §5.5, see
// docs/compatibility.md "Passkeys" POST /webauthn/login/initialize) and returns {"publicKey":
// PublicKeyCredentialRequestOptions} as JSON. With userID uuid.Nil, or a
// user without credentials, the options are for a discoverable credential
// (no allowCredentials, §6.2.2); otherwise allowCredentials lists all of
// the user's credentials, ids only (transports stripped, docs/compatibility.md "WebAuthn options"). The
// ceremony is stored with expiry now + LoginTimeout.
//
// Errors: KindInvalid "user not found". Unlike Hanko, a user without a
// primary e-mail can log in (the address plays no part in an assertion).
func (s *Service) beginLogin(ctx context.Context, userID uuid.UUID) ([]byte, error) {
	var (
		assertion *protocol.CredentialAssertion
		session   *webauthn.SessionData
		err       error
		allowed   [][]byte
	)
	owner := uuid.Nil
	if userID != uuid.Nil {
		// The user and their passkeys in one read.
		profile, err := s.store.Profile(ctx, userID)
		if err != nil {
			return nil, userErr(err, inkan.KindInvalid, msgUserNotFound)
		}
		if creds := profile.Credentials; len(creds) > 0 {
			owner = userID
			for _, c := range creds {
				allowed = append(allowed, c.ID)
			}
		}
	}
	if owner != uuid.Nil {
		assertion, session, err = s.wa.BeginLogin(&user{id: owner, creds: credentialsWithoutTransports(allowed)})
	} else {
		assertion, session, err = s.wa.BeginDiscoverableLogin()
	}
	if err != nil {
		return nil, inkan.Wrap(inkan.KindInternal, "", err)
	}
	if err := s.saveCeremony(ctx, inkan.OperationAuthentication, owner, allowed, session, s.opts.LoginTimeout); err != nil {
		return nil, err
	}
	return marshal(assertion)
}

// FinishLogin verifies an assertion (WebAuthn L3 §7.2, docs/compatibility.md "Passkeys" POST
// /webauthn/login/finalize): body is the PublicKeyCredential JSON of
// navigator.credentials.get(). The ceremony is found by the challenge in
// clientDataJSON. In a discoverable ceremony the user is the one named by
// userHandle (16 raw uuid bytes) and must own the credential. On success
// sign count and BE/BS flags are written back, last_used_at = now, and the
// ceremony deleted, in one transaction; the updated credential is
// returned. On failure nothing is written, the ceremony stays, and one
// info line names the reason (see Options.Log).
//
// Sign counter (§6.1.1, §7.2): the assertion is rejected when the stored
// count is non-zero and the received count is not greater; an
// authenticator that always reports 0 (synced passkeys) keeps working.
//
// Backup flags (§6.1.3): any change of BE and BS between sign-ins is
// accepted and stored; the invalid combination BE=0, BS=1 is refused.
//
// Errors:
//   - body unparsable: KindInvalid with go-webauthn's detail;
//   - challenge unknown, not an authentication, or already used:
//     KindUnauthorized "Stored challenge and received challenge do not match";
//   - discoverable userHandle not 16 bytes: KindInvalid "failed to parse userHandle as uuid";
//   - sign count regression: KindInvalid "failed to validate assertion";
//   - a credential id that no user holds: KindUnauthorized "unknown
//     credential" wrapping an *inkan.UnknownCredentialError (for the
//     Signals API, §5.1.10);
//   - expired ceremony, credential of another user, credential not
//     allowed, bad signature, origin, RP ID hash, UP/UV flags, BE=0 with
//     BS=1: KindUnauthorized "failed to validate assertion".
func (s *Service) FinishLogin(ctx context.Context, body []byte) (inkan.Credential, error) {
	c, _, err := s.FinishLoginPrimary(ctx, body)
	return c, err
}

// FinishLoginPrimary is FinishLogin that also returns the credential
// owner's primary address (nil when they have none), read together with
// their credentials in one statement (store Profile), so that the sign-in's
// completion need not read it again (internal/login).
func (s *Service) FinishLoginPrimary(ctx context.Context, body []byte) (inkan.Credential, *inkan.Email, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return inkan.Credential{}, nil, s.refuse(ctx, "malformed assertion", nil, uuid.Nil,
			inkan.Wrap(inkan.KindInvalid, protocolDetails(err, msgAssertionParse), err))
	}
	credID := []byte(parsed.RawID)
	cer, session, err := s.ceremony(ctx, parsed.Response.CollectedClientData.Challenge, inkan.OperationAuthentication)
	if err != nil {
		if !errors.Is(err, inkan.ErrNotFound) {
			return inkan.Credential{}, nil, inkan.Wrap(inkan.KindInternal, "", err)
		}
		return inkan.Credential{}, nil, s.refuse(ctx, "unknown or used challenge", credID, uuid.Nil,
			inkan.Wrap(inkan.KindUnauthorized, msgChallengeMismatch, err))
	}
	owner := cer.UserID
	discoverable := owner == uuid.Nil
	if discoverable {
		if owner, err = uuid.FromBytes(parsed.Response.UserHandle); err != nil {
			return inkan.Credential{}, nil, s.refuse(ctx, "malformed user handle", credID, uuid.Nil,
				inkan.Wrap(inkan.KindInvalid, msgBadUserHandle, err))
		}
	}
	now := s.now().UTC()
	if !now.Before(cer.ExpiresAt) {
		return inkan.Credential{}, nil, s.refuse(ctx, "ceremony expired", credID, owner,
			inkan.Wrap(inkan.KindUnauthorized, msgInvalidAssertion, errors.New("ceremony expired")))
	}
	// The owner's credentials and primary address in one read; a missing
	// owner holds no credential.
	profile, err := s.store.Profile(ctx, owner)
	if err != nil && !errors.Is(err, inkan.ErrNotFound) {
		return inkan.Credential{}, nil, inkan.Wrap(inkan.KindInternal, "", err)
	}
	creds := profile.Credentials
	var primary *inkan.Email
	if e, ok := profile.Primary(); ok {
		primary = &e
	}
	flags := parsed.Response.AuthenticatorData.Flags
	var stored *inkan.Credential
	u := &user{id: owner}
	for i, c := range creds {
		rec := toLibrary(c)
		if bytes.Equal(c.ID, credID) {
			stored = &creds[i]
			// go-webauthn refuses an assertion whose BE differs from the
			// credential record's: the comparison of currentBe with
			// credentialRecord.backupEligible that WebAuthn L3 §7.2
			// requires only "if the credential backup state is used as
			// part of Relying Party business logic or policy". inkan bases
			// no policy on backup state, so the record it hands the
			// library carries the asserted BE; the library still refuses
			// BE=0 with BS=1 (§6.1.3), and the flags it returns become
			// the stored record.
			rec.Flags.BackupEligible = flags.HasBackupEligible()
		}
		u.creds = append(u.creds, rec)
	}
	if stored == nil {
		return inkan.Credential{}, nil, s.unknownCredential(ctx, credID, owner)
	}
	var verified *webauthn.Credential
	if discoverable {
		_, verified, err = s.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return u, nil }, session, parsed)
	} else {
		verified, err = s.wa.ValidateLogin(u, session, parsed)
	}
	if err != nil {
		return inkan.Credential{}, nil, s.refuse(ctx, "assertion verification failed", credID, owner,
			inkan.Wrap(inkan.KindUnauthorized, msgInvalidAssertion, err))
	}
	// go-webauthn's counter rule (§6.1.1) flags a count that did not
	// increase, unless both are 0, as a possible clone.
	if verified.Authenticator.CloneWarning {
		return inkan.Credential{}, nil, s.refuse(ctx, "sign count did not increase", credID, owner,
			inkan.Wrap(inkan.KindInvalid, msgInvalidAssertion,
				fmt.Errorf("sign count %d not greater than stored %d", parsed.Response.AuthenticatorData.Counter, stored.SignCount)))
	}
	signCount := verified.Authenticator.SignCount
	be, bs := verified.Flags.BackupEligible, verified.Flags.BackupState
	err = s.store.FinishLogin(ctx, cer.ID, stored.ID, signCount, be, bs, now)
	switch {
	case errors.Is(err, inkan.ErrStale):
		// Either the ceremony was used meanwhile (replay) or another
		// assertion moved the counter first.
		if _, gerr := s.store.GetCeremonyByChallenge(ctx, cer.Challenge); errors.Is(gerr, inkan.ErrNotFound) {
			return inkan.Credential{}, nil, s.refuse(ctx, "ceremony used meanwhile", credID, owner,
				inkan.Wrap(inkan.KindUnauthorized, msgChallengeMismatch, err))
		}
		return inkan.Credential{}, nil, s.refuse(ctx, "sign count did not increase", credID, owner,
			inkan.Wrap(inkan.KindInvalid, msgInvalidAssertion, err))
	case errors.Is(err, inkan.ErrNotFound):
		return inkan.Credential{}, nil, s.refuse(ctx, "credential deleted meanwhile", credID, owner,
			inkan.Wrap(inkan.KindUnauthorized, msgInvalidAssertion, err))
	case err != nil:
		return inkan.Credential{}, nil, inkan.Wrap(inkan.KindInternal, "", err)
	}
	// The row now holds what FinishLogin wrote; no need to read it back.
	stored.SignCount = signCount
	stored.BackupEligible, stored.BackupState = be, bs
	stored.LastUsedAt = now
	stored.UpdatedAt = now
	return *stored, primary, nil
}

// unknownCredential refuses an assertion with credential id credID that
// the user owner does not hold. Only when no user holds it is the answer
// the distinct "unknown credential" error a client passes to
// signalUnknownCredential (WebAuthn L3 §5.1.10); a credential of another
// user gets the ordinary refusal, so that the signal never hides a
// working passkey.
func (s *Service) unknownCredential(ctx context.Context, credID []byte, owner uuid.UUID) error {
	_, err := s.store.GetCredential(ctx, credID)
	switch {
	case errors.Is(err, inkan.ErrNotFound):
		return s.refuse(ctx, "no user holds the credential", credID, owner,
			inkan.Wrap(inkan.KindUnauthorized, msgUnknownCredential,
				&inkan.UnknownCredentialError{CredentialID: bytes.Clone(credID), RPID: s.opts.RPID}))
	case err != nil:
		return inkan.Wrap(inkan.KindInternal, "", err)
	}
	return s.refuse(ctx, "credential belongs to another user", credID, owner,
		inkan.Wrap(inkan.KindUnauthorized, msgInvalidAssertion, errors.New("credential of another user")))
}

// refuse logs a refused assertion at info level and returns err: the
// reason, the credential id (base64url, empty when unknown), the user id
// (uuid.Nil when unknown) and the cause's detail. Assertions carry no
// secret the log could leak (signatures and ids are public values); the
// detail is go-webauthn's description, e.g. of an origin mismatch.
func (s *Service) refuse(ctx context.Context, reason string, credID []byte, userID uuid.UUID, err error) error {
	attrs := []any{"reason", reason}
	if len(credID) > 0 {
		attrs = append(attrs, "credential_id", base64.RawURLEncoding.EncodeToString(credID))
	}
	if userID != uuid.Nil {
		attrs = append(attrs, "user_id", userID.String())
	}
	if cause := errors.Unwrap(err); cause != nil {
		attrs = append(attrs, "detail", protocolMessage(cause))
	}
	s.opts.Log.InfoContext(ctx, "passkey assertion refused", attrs...)
	return err
}

// saveCeremony stores go-webauthn's session data as a Ceremony (see
// docs/compatibility.md "Ceremonies") expiring after timeout.
func (s *Service) saveCeremony(ctx context.Context, op string, userID uuid.UUID, allowed [][]byte, session *webauthn.SessionData, timeout time.Duration) error {
	return s.saveCeremonyData(ctx, op, userID, allowed, ceremonyData{SessionData: *session}, timeout)
}

// ceremonyData is a ceremony's stored session data: go-webauthn's, and for
// a passkey-first sign-up the address the user signs up with.
type ceremonyData struct {
	webauthn.SessionData
	SignUpEmail string `json:"inkan_sign_up_email,omitempty"`
}

// saveCeremonyData stores d as a Ceremony expiring after timeout.
func (s *Service) saveCeremonyData(ctx context.Context, op string, userID uuid.UUID, allowed [][]byte, d ceremonyData, timeout time.Duration) error {
	session := &d.SessionData
	data, err := json.Marshal(d)
	if err != nil {
		return inkan.Wrap(inkan.KindInternal, "", err)
	}
	now := s.now().UTC()
	id, err := uuid.NewRandom()
	if err != nil {
		return inkan.Wrap(inkan.KindInternal, "", err)
	}
	err = s.store.CreateCeremony(ctx, inkan.Ceremony{
		ID:                   id,
		Challenge:            session.Challenge,
		UserID:               userID,
		UserVerification:     string(session.UserVerification),
		Operation:            op,
		AllowedCredentialIDs: allowed,
		SessionData:          data,
		CreatedAt:            now,
		ExpiresAt:            now.Add(timeout),
	})
	if err != nil {
		return inkan.Wrap(inkan.KindInternal, "", err)
	}
	return nil
}

// ceremony looks up the ceremony of operation op by challenge and decodes
// its session data. A missing ceremony or one of another operation is
// returned as an error wrapping inkan.ErrNotFound.
func (s *Service) ceremony(ctx context.Context, challenge, op string) (inkan.Ceremony, webauthn.SessionData, error) {
	var session webauthn.SessionData
	if challenge == "" {
		return inkan.Ceremony{}, session, fmt.Errorf("empty challenge: %w", inkan.ErrNotFound)
	}
	cer, err := s.store.GetCeremonyByChallenge(ctx, challenge)
	if err != nil {
		return inkan.Ceremony{}, session, err
	}
	if cer.Operation != op {
		return inkan.Ceremony{}, session, fmt.Errorf("ceremony is a %s: %w", cer.Operation, inkan.ErrNotFound)
	}
	if err := json.Unmarshal(cer.SessionData, &session); err != nil {
		return inkan.Ceremony{}, session, fmt.Errorf("ceremony session data: %w", err)
	}
	return cer, session, nil
}

// toLibrary converts a stored credential to go-webauthn's credential record.
func toLibrary(c inkan.Credential) webauthn.Credential {
	return webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationFormat: c.AttestationType,
		Flags: webauthn.CredentialFlags{
			UserPresent:    true,
			UserVerified:   c.UserVerified,
			BackupEligible: c.BackupEligible,
			BackupState:    c.BackupState,
		},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID[:], SignCount: c.SignCount},
	}
}

// excludeList is excludeCredentials for creds (WebAuthn L3 §5.4.3,
// §5.8.3): type, id and the transports reported at registration; nil for
// none.
func excludeList(creds []inkan.Credential) []protocol.CredentialDescriptor {
	if len(creds) == 0 {
		return nil
	}
	out := make([]protocol.CredentialDescriptor, len(creds))
	for i, c := range creds {
		out[i] = protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: c.ID}
		for _, t := range c.Transports {
			out[i].Transport = append(out[i].Transport, protocol.AuthenticatorTransport(t))
		}
	}
	return out
}

func credentialsWithoutTransports(ids [][]byte) []webauthn.Credential {
	out := make([]webauthn.Credential, len(ids))
	for i, id := range ids {
		out[i] = webauthn.Credential{ID: id}
	}
	return out
}

// userErr maps a store error from a user lookup: ErrNotFound becomes kind
// k with message msg, anything else KindInternal.
func userErr(err error, k inkan.Kind, msg string) error {
	if errors.Is(err, inkan.ErrNotFound) {
		return inkan.Wrap(k, msg, err)
	}
	return inkan.Wrap(inkan.KindInternal, "", err)
}

// protocolDetails returns go-webauthn's client-facing detail of err, or
// fallback.
func protocolDetails(err error, fallback string) string {
	var perr *protocol.Error
	if errors.As(err, &perr) && perr.Details != "" {
		return perr.Details
	}
	return fallback
}

// protocolMessage is "<details>: <info>" of a go-webauthn error, as Hanko
// puts it in its 422 message.
func protocolMessage(err error) string {
	var perr *protocol.Error
	if errors.As(err, &perr) {
		if perr.DevInfo == "" {
			return perr.Details
		}
		return perr.Details + ": " + perr.DevInfo
	}
	return err.Error()
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, inkan.Wrap(inkan.KindInternal, "", err)
	}
	return b, nil
}

// BeginRegistration starts a registration ceremony for userID; see
// beginRegistration for the options and errors. The ceremony and its
// webauthn_registration_init_succeeded event are written in one
// transaction; a refusal records webauthn_registration_init_failed.
func (s *Service) BeginRegistration(ctx context.Context, userID uuid.UUID) (options []byte, err error) {
	err = s.withEvents(ctx, userID, inkan.EventWebAuthnRegistrationInitSucceeded, inkan.EventWebAuthnRegistrationInitFailed,
		func(ctx context.Context) (map[string]any, error) {
			options, err = s.beginRegistration(ctx, userID)
			return nil, err
		})
	return options, err
}

// FinishRegistration verifies userID's registration response and stores
// the credential; see finishRegistration for the rules and errors. The
// credential, the used-up ceremony and the
// webauthn_registration_final_succeeded event are one transaction; a
// refusal writes nothing but its webauthn_registration_final_failed event.
func (s *Service) FinishRegistration(ctx context.Context, userID uuid.UUID, body []byte) (c inkan.Credential, err error) {
	err = s.withEvents(ctx, userID, inkan.EventWebAuthnRegistrationFinalSucceeded, inkan.EventWebAuthnRegistrationFinalFailed,
		func(ctx context.Context) (map[string]any, error) {
			c, err = s.finishRegistration(ctx, userID, body)
			return map[string]any{"credential_id": base64.RawURLEncoding.EncodeToString(c.ID)}, err
		})
	return c, err
}

// BeginLogin starts an authentication ceremony (uuid.Nil: discoverable);
// see beginLogin for the options and errors. The ceremony and its
// webauthn_authentication_init_succeeded event are written in one
// transaction; a refusal records webauthn_authentication_init_failed.
func (s *Service) BeginLogin(ctx context.Context, userID uuid.UUID) (options []byte, err error) {
	err = s.withEvents(ctx, userID, inkan.EventWebAuthnAuthenticationInitSucceeded, inkan.EventWebAuthnAuthenticationInitFailed,
		func(ctx context.Context) (map[string]any, error) {
			options, err = s.beginLogin(ctx, userID)
			return nil, err
		})
	return options, err
}

// withEvents runs change in one transaction together with the event ok
// about userID (uuid.Nil when unknown), with the details change returns.
// When change fails nothing of it is written and, unless failed is "",
// the event failed is recorded on its own.
func (s *Service) withEvents(ctx context.Context, userID uuid.UUID, ok, failed inkan.EventType, change func(ctx context.Context) (map[string]any, error)) error {
	var details map[string]any
	err := inkan.Change(ctx, s.store, func(ctx context.Context) (err error) {
		details, err = change(ctx)
		return err
	}, func(ctx context.Context) inkan.Event {
		ev := inkan.NewEvent(ctx, ok, inkan.Actor{UserID: userID}, s.now())
		for k, v := range details {
			ev = ev.With(k, v)
		}
		return ev
	})
	if err != nil && failed != "" {
		return inkan.Refused(ctx, s.store, inkan.FailedEvent(ctx, failed, inkan.Actor{UserID: userID}, err, s.now()), err)
	}
	return err
}
