package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// emailRowJSON is the raw e-mail row POST /emails answers with (see
// docs/compatibility.md "E-mail addresses"): user_id is omitted while the address is unassigned.
type emailRowJSON struct {
	ID        uuid.UUID  `json:"id"`
	UserID    *uuid.UUID `json:"user_id,omitempty"`
	Address   string     `json:"address"`
	Verified  bool       `json:"verified"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// emailPathID parses the {id} path value; a malformed one is 400 "id must
// be a valid uuid" (docs/compatibility.md "E-mail addresses" set_primary).
func emailPathID(r *http.Request) (uuid.UUID, error) {
	id, err := parseUUID(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, inkan.E(inkan.KindInvalid, "id must be a valid uuid")
	}
	return id, nil
}

// listEmails is GET /emails (docs/compatibility.md "E-mail addresses"): the caller's addresses,
// oldest first, as [{id, address, is_verified, is_primary, identities?}].
// With third-party sign-in configured the addresses and their identities
// come from the one profile read (docs/performance.md "Budgets"); without
// it, from the addresses alone.
func (a *API) listEmails(w http.ResponseWriter, r *http.Request) error {
	userID := claimsFrom(r.Context()).Subject
	if a.Opts.ThirdParty {
		p, err := a.Accounts.ProfileWithIdentities(r.Context(), userID)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, a.toEmailJSONs(p.Emails, a.shownIdentities(p)))
	}
	emails, err := a.Accounts.Emails(r.Context(), userID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.toEmailJSONs(emails, nil))
}

type addEmailRequest struct {
	Address string `json:"address"`
}

// addEmail is POST /emails (docs/compatibility.md "E-mail addresses"): 200 with the raw row; 400 for
// a missing or invalid address or one owned by any user; 409 at email.limit.
// With email.require_verification the row stays unassigned until a passcode
// (initialize with email_id, finalize while logged in) proves the mailbox.
func (a *API) addEmail(w http.ResponseWriter, r *http.Request) error {
	var req addEmailRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var p problems
	p.required("address", req.Address)
	if err := p.err(); err != nil {
		return err
	}
	e, err := a.Accounts.AddEmail(r.Context(), claimsFrom(r.Context()).Subject, req.Address)
	if err != nil {
		return err
	}
	out := emailRowJSON{ID: e.ID, Address: e.Address, Verified: e.Verified, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.UserID != uuid.Nil {
		out.UserID = &e.UserID
	}
	return writeJSON(w, http.StatusOK, out)
}

// setPrimaryEmail is POST /emails/{id}/set_primary (docs/compatibility.md "E-mail addresses"): 204;
// 404 for an unknown or another user's address. With "Prefer:
// return=representation" (RFC 7240) it answers 200
// {"signal_current_user_details": {rpId, userId, name, displayName}} with
// the new primary address as both names, for
// PublicKeyCredential.signalCurrentUserDetails (WebAuthn L3 §5.1.10).
func (a *API) setPrimaryEmail(w http.ResponseWriter, r *http.Request) error {
	userID := claimsFrom(r.Context()).Subject
	id, err := emailPathID(r)
	if err != nil {
		return err
	}
	if err := a.Accounts.SetPrimaryEmail(r.Context(), userID, id); err != nil {
		return err
	}
	if !preferRepresentation(w, r) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	e, _, err := a.Accounts.PrimaryEmail(r.Context(), userID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"signal_current_user_details": a.Passkeys.SignalCurrentUserDetails(userID, e.Address),
	})
}

// deleteEmail is DELETE /emails/{id} (docs/compatibility.md "E-mail addresses"): 204; 409 for the
// primary address; 404 for an unknown or another user's id (Hanko: 500).
func (a *API) deleteEmail(w http.ResponseWriter, r *http.Request) error {
	id, err := emailPathID(r)
	if err != nil {
		return err
	}
	if err := a.Accounts.DeleteEmail(r.Context(), claimsFrom(r.Context()).Subject, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
