// Package webauthntest is a software WebAuthn authenticator and client for
// tests. It turns a relying party's options JSON into the PublicKeyCredential
// JSON a browser or Android would POST, with real ES256 keys, real
// authenticator data (WebAuthn L3 §6.1), real "none" or "packed"
// self-attestation (§8.7, §8.2) and real assertion signatures (§6.3.3), so
// that a relying party's verification code runs unchanged against it.
//
// Every knob a test needs to provoke a failure is an Options field: the
// origin, the RP ID, the UP/UV/BE/BS flags, the signature counter, a
// tampered RP ID hash or signature, a replaced challenge or user handle.
// Flags are per call, so one credential can report a backup state that
// changes between sign-ins as synced passkeys do (§6.1.3).
//
// The zero Options is not usable: Origin is required.
package webauthntest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
)

// COSE identifiers (RFC 9053, IANA COSE registry) used for ES256 keys.
const (
	coseAlgES256 = -7
	coseKtyEC2   = 2
	coseCrvP256  = 1
)

const (
	credIDLength    = 32 // bytes of a generated credential id
	attestationNone = "none"
)

// Authenticator flag bits (WebAuthn L3 §6.1 "flags").
const (
	flagUP = 1 << 0
	flagUV = 1 << 2
	flagBE = 1 << 3
	flagBS = 1 << 4
	flagAT = 1 << 6
)

// Options are the per-call knobs of Register and Login. Origin is required;
// every other zero value means "behave like a well-formed platform
// authenticator": UP set, UV/BE/BS clear, "none" attestation, counter
// incremented, credential scoped to the RP ID of the options.
type Options struct {
	// Origin is the clientDataJSON "origin" (WebAuthn L3 §5.8.1), e.g.
	// "https://app.example" or "android:apk-key-hash:<base64url>".
	Origin string
	// RPID replaces the RP ID whose SHA-256 goes into authenticator data
	// (rpIdHash, §6.1). Empty: rp.id of the creation options, rpId of the
	// request options, else the host of Origin. Credentials are always
	// scoped to the options' RP ID, not to this override.
	RPID string
	// Attestation is the attestation statement format: "none" (default,
	// §8.7) or "packed" self-attestation (§8.2, no x5c).
	Attestation string
	// NoUP clears the User Present flag (UP is set by default).
	NoUP bool
	// UV, BE, BS set the User Verified, Backup Eligible and Backup State
	// flags (§6.1).
	UV, BE, BS bool
	// SignCount, when non-nil, is put into authenticator data verbatim and
	// the credential's own counter is left untouched; nil means "increment
	// the counter" on Login and 0 on Register (§6.1.1).
	SignCount *uint32
	// TamperRPIDHash flips a bit of rpIdHash after computing it.
	TamperRPIDHash bool
	// TamperSignature flips a bit of the assertion signature's last byte
	// on Login, so that a relying party's signature check fails while
	// everything else is well formed.
	TamperSignature bool
	// Challenge, when non-nil, replaces the options' challenge (raw bytes)
	// in clientDataJSON.
	Challenge []byte
	// CrossOrigin and TopOrigin set the clientDataJSON members of the same
	// names (§5.8.1).
	CrossOrigin bool
	TopOrigin   string
	// Transports reported by Register; nil means ["hybrid", "internal"].
	Transports []string
	// CredentialID on Register: use this id for the new credential instead
	// of 32 random bytes (replacing a credential of the same id, for
	// re-registration tests; excludeCredentials is then not checked). On
	// Login: assert with this credential,
	// ignoring allowCredentials.
	CredentialID []byte
	// UserHandle, when non-nil, replaces the user handle returned by Login
	// (the user.id stored at registration); an empty non-nil slice omits it.
	UserHandle []byte
}

type credential struct {
	id         []byte
	key        *ecdsa.PrivateKey
	rpID       string
	userHandle []byte
	signCount  uint32
}

// Authenticator is a software authenticator holding ES256 discoverable
// credentials, each with its own signature counter. It is safe for
// concurrent use.
type Authenticator struct {
	// AAGUID is reported in attested credential data (§6.5.2); New picks a
	// random one.
	AAGUID uuid.UUID

	mu    sync.Mutex
	creds []*credential
}

// New returns an authenticator with a random AAGUID and no credentials.
func New() *Authenticator {
	return &Authenticator{AAGUID: uuid.New()}
}

// b64 is base64url without padding, the encoding of every binary member
// of the WebAuthn JSON serialisation (§5.1 toJSON()).
var b64 = base64.RawURLEncoding

type creationOptions struct {
	PublicKey *struct {
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Challenge        string `json:"challenge"`
		PubKeyCredParams []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey *struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

type clientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
	TopOrigin   string `json:"topOrigin,omitempty"`
}

type attestationObject struct {
	Fmt      string         `cbor:"fmt"`
	AttStmt  map[string]any `cbor:"attStmt"`
	AuthData []byte         `cbor:"authData"`
}

var ctap2, _ = cbor.CTAP2EncOptions().EncMode()

// Register performs authenticatorMakeCredential (§6.3.2) and the client's
// part of create() (§5.1.3) for creationOptionsJSON, the relying party's
// {"publicKey": PublicKeyCredentialCreationOptions} body with base64url
// challenge and user.id. It returns the RegistrationResponseJSON (§5.1
// toJSON(): id, rawId, type, response{clientDataJSON, attestationObject,
// transports}, authenticatorAttachment "platform", clientExtensionResults
// {}) and the raw credential id. It fails when the options cannot be read,
// do not allow ES256 (-7), or exclude one of this authenticator's
// credentials (§6.3.2 step 3).
func (a *Authenticator) Register(creationOptionsJSON []byte, o Options) (credentialJSON []byte, credentialID []byte, err error) {
	var in creationOptions
	if err := json.Unmarshal(creationOptionsJSON, &in); err != nil || in.PublicKey == nil {
		return nil, nil, fmt.Errorf("webauthntest: creation options: %v", errOr(err, "no publicKey member"))
	}
	opts := in.PublicKey
	challenge, err := b64.DecodeString(opts.Challenge)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthntest: challenge: %w", err)
	}
	userHandle, err := b64.DecodeString(opts.User.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthntest: user.id: %w", err)
	}
	es256 := len(opts.PubKeyCredParams) == 0
	for _, p := range opts.PubKeyCredParams {
		es256 = es256 || (p.Type == "public-key" && p.Alg == coseAlgES256)
	}
	if !es256 {
		return nil, nil, errors.New("webauthntest: ES256 not in pubKeyCredParams")
	}
	rpID, err := scopeRPID(opts.RP.ID, o.Origin)
	if err != nil {
		return nil, nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range opts.ExcludeCredentials {
		id, _ := b64.DecodeString(ex.ID)
		if c := a.find(id); c != nil && c.rpID == rpID && o.CredentialID == nil {
			return nil, nil, errors.New("webauthntest: InvalidStateError: credential excluded")
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	cred := &credential{key: key, rpID: rpID, userHandle: userHandle, id: o.CredentialID}
	if cred.id == nil {
		cred.id = make([]byte, credIDLength)
		if _, err := rand.Read(cred.id); err != nil {
			return nil, nil, err
		}
	}
	if o.SignCount != nil {
		cred.signCount = *o.SignCount
	}

	cdj, err := json.Marshal(o.clientData("webauthn.create", challenge))
	if err != nil {
		return nil, nil, err
	}
	point, err := key.PublicKey.Bytes() // 0x04 ‖ x (32) ‖ y (32)
	if err != nil {
		return nil, nil, err
	}
	coseKey, err := ctap2.Marshal(map[int]any{
		1:  coseKtyEC2,
		3:  coseAlgES256,
		-1: coseCrvP256,
		-2: point[1:33],
		-3: point[33:65],
	})
	if err != nil {
		return nil, nil, err
	}
	// Attested credential data (§6.5.2): aaguid ‖ credentialIdLength (2
	// bytes, big-endian) ‖ credentialId ‖ credentialPublicKey.
	attested := append(bytes.Clone(a.AAGUID[:]), byte(len(cred.id)>>8), byte(len(cred.id)))
	attested = append(attested, cred.id...)
	attested = append(attested, coseKey...)
	authData := o.authData(rpIDFor(o, rpID), flagAT, cred.signCount, attested)

	stmt := map[string]any{}
	switch o.Attestation {
	case "", attestationNone:
	case "packed":
		// §8.2 self attestation: sig over authenticatorData ‖ clientDataHash
		// with the credential private key; no x5c.
		sig, err := sign(key, authData, cdj)
		if err != nil {
			return nil, nil, err
		}
		stmt = map[string]any{"alg": coseAlgES256, "sig": sig}
	default:
		return nil, nil, fmt.Errorf("webauthntest: attestation format %q not supported", o.Attestation)
	}
	fmtID := o.Attestation
	if fmtID == "" {
		fmtID = attestationNone
	}
	attObj, err := ctap2.Marshal(attestationObject{Fmt: fmtID, AttStmt: stmt, AuthData: authData})
	if err != nil {
		return nil, nil, err
	}
	transports := o.Transports
	if transports == nil {
		transports = []string{"hybrid", "internal"}
	}
	out, err := json.Marshal(map[string]any{
		"id":    b64.EncodeToString(cred.id),
		"rawId": b64.EncodeToString(cred.id),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cdj),
			"attestationObject": b64.EncodeToString(attObj),
			"transports":        transports,
		},
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
	})
	if err != nil {
		return nil, nil, err
	}
	a.remove(cred.id)
	a.creds = append(a.creds, cred)
	return out, bytes.Clone(cred.id), nil
}

// Login performs authenticatorGetAssertion (§6.3.3) and the client's part
// of get() (§5.1.4) for requestOptionsJSON, the relying party's
// {"publicKey": PublicKeyCredentialRequestOptions} body. It asserts with
// o.CredentialID if set, else the first of this authenticator's credentials
// listed in allowCredentials, else (discoverable, §6.2.2) the most recently
// registered credential for the RP ID. It returns the
// AuthenticationResponseJSON (id, rawId, type, response{clientDataJSON,
// authenticatorData, signature, userHandle}, authenticatorAttachment,
// clientExtensionResults) with the user handle stored at registration.
// Unless o.SignCount is set the credential's counter is incremented first.
func (a *Authenticator) Login(requestOptionsJSON []byte, o Options) (assertionJSON []byte, err error) {
	var in requestOptions
	if err := json.Unmarshal(requestOptionsJSON, &in); err != nil || in.PublicKey == nil {
		return nil, fmt.Errorf("webauthntest: request options: %v", errOr(err, "no publicKey member"))
	}
	opts := in.PublicKey
	challenge, err := b64.DecodeString(opts.Challenge)
	if err != nil {
		return nil, fmt.Errorf("webauthntest: challenge: %w", err)
	}
	rpID, err := scopeRPID(opts.RPID, o.Origin)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	var cred *credential
	switch {
	case o.CredentialID != nil:
		cred = a.find(o.CredentialID)
	case len(opts.AllowCredentials) > 0:
		for _, ac := range opts.AllowCredentials {
			id, _ := b64.DecodeString(ac.ID)
			if c := a.find(id); c != nil && c.rpID == rpID {
				cred = c
				break
			}
		}
	default:
		for i := len(a.creds) - 1; i >= 0; i-- {
			if a.creds[i].rpID == rpID {
				cred = a.creds[i]
				break
			}
		}
	}
	if cred == nil {
		return nil, errors.New("webauthntest: NotAllowedError: no matching credential")
	}
	count := cred.signCount + 1
	if o.SignCount != nil {
		count = *o.SignCount
	} else {
		cred.signCount = count
	}

	cdj, err := json.Marshal(o.clientData("webauthn.get", challenge))
	if err != nil {
		return nil, err
	}
	authData := o.authData(rpIDFor(o, rpID), 0, count, nil)
	sig, err := sign(cred.key, authData, cdj)
	if err != nil {
		return nil, err
	}
	if o.TamperSignature {
		sig[len(sig)-1] ^= 0x01
	}
	resp := map[string]any{
		"clientDataJSON":    b64.EncodeToString(cdj),
		"authenticatorData": b64.EncodeToString(authData),
		"signature":         b64.EncodeToString(sig),
	}
	userHandle := cred.userHandle
	if o.UserHandle != nil {
		userHandle = o.UserHandle
	}
	if len(userHandle) > 0 {
		resp["userHandle"] = b64.EncodeToString(userHandle)
	}
	return json.Marshal(map[string]any{
		"id":                      b64.EncodeToString(cred.id),
		"rawId":                   b64.EncodeToString(cred.id),
		"type":                    "public-key",
		"response":                resp,
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
	})
}

// SignCount returns the current signature counter of the credential with
// raw id id, and false when the authenticator does not hold it.
func (a *Authenticator) SignCount(id []byte) (uint32, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.find(id); c != nil {
		return c.signCount, true
	}
	return 0, false
}

func (a *Authenticator) find(id []byte) *credential {
	for _, c := range a.creds {
		if bytes.Equal(c.id, id) {
			return c
		}
	}
	return nil
}

func (a *Authenticator) remove(id []byte) {
	for i, c := range a.creds {
		if bytes.Equal(c.id, id) {
			a.creds = append(a.creds[:i], a.creds[i+1:]...)
			return
		}
	}
}

func (o Options) clientData(typ string, challenge []byte) clientData {
	if o.Challenge != nil {
		challenge = o.Challenge
	}
	return clientData{
		Type:        typ,
		Challenge:   b64.EncodeToString(challenge),
		Origin:      o.Origin,
		CrossOrigin: o.CrossOrigin,
		TopOrigin:   o.TopOrigin,
	}
}

// authData builds authenticator data (§6.1): rpIdHash (32) ‖ flags (1) ‖
// signCount (4, big-endian) ‖ attestedCredentialData.
func (o Options) authData(rpID string, flags byte, signCount uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	if o.TamperRPIDHash {
		h[0] ^= 0x01
	}
	if !o.NoUP {
		flags |= flagUP
	}
	if o.UV {
		flags |= flagUV
	}
	if o.BE {
		flags |= flagBE
	}
	if o.BS {
		flags |= flagBS
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, signCount)
	return append(out, attested...)
}

// rpIDFor is the RP ID hashed into authenticator data.
func rpIDFor(o Options, scoped string) string {
	if o.RPID != "" {
		return o.RPID
	}
	return scoped
}

// scopeRPID is the RP ID a credential is scoped to: the options' value, else
// the origin's host (§5.1.3 step 8, §5.1.4 step 8).
func scopeRPID(fromOptions, origin string) (string, error) {
	if origin == "" {
		return "", errors.New("webauthntest: Options.Origin is required")
	}
	if fromOptions != "" {
		return fromOptions, nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("webauthntest: no RP ID in options and none derivable from origin %q", origin)
	}
	return u.Hostname(), nil
}

// sign returns the ASN.1 DER ECDSA signature (§6.5.6) over
// authenticatorData ‖ SHA-256(clientDataJSON).
func sign(key *ecdsa.PrivateKey, authData, clientDataJSON []byte) ([]byte, error) {
	cdh := sha256.Sum256(clientDataJSON)
	digest := sha256.Sum256(append(bytes.Clone(authData), cdh[:]...))
	return ecdsa.SignASN1(rand.Reader, key, digest[:])
}

func errOr(err error, msg string) any {
	if err != nil {
		return err
	}
	return msg
}
