package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/account"
	"github.com/inkan-auth/inkan/internal/inkan"
)

// adminEmailJSON is an e-mail address as the admin API shows it.
type adminEmailJSON struct {
	ID         uuid.UUID `json:"id"`
	Address    string    `json:"address"`
	IsVerified bool      `json:"is_verified"`
	IsPrimary  bool      `json:"is_primary"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toAdminEmail(e inkan.Email) adminEmailJSON {
	return adminEmailJSON{ID: e.ID, Address: e.Address, IsVerified: e.Verified, IsPrimary: e.Primary, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// passwordJSON is a password credential without its hash.
type passwordJSON struct {
	ID        uuid.UUID `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toPasswordJSON(c inkan.PasswordCredential) passwordJSON {
	return passwordJSON{ID: c.ID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// metadataJSON is a user's metadata; absent sections are left out.
type metadataJSON struct {
	Public  json.RawMessage `json:"public_metadata,omitempty"`
	Private json.RawMessage `json:"private_metadata,omitempty"`
	Unsafe  json.RawMessage `json:"unsafe_metadata,omitempty"`
}

// adminUserJSON is the admin API's user object. The list (GET /users)
// fills id, e-mails, credentials and times; the single user adds the
// password, metadata and profile.
type adminUserJSON struct {
	ID                  uuid.UUID           `json:"id"`
	WebauthnCredentials []credentialJSON    `json:"webauthn_credentials,omitempty"`
	Emails              []adminEmailJSON    `json:"emails,omitempty"`
	CreatedAt           time.Time           `json:"created_at"`
	UpdatedAt           time.Time           `json:"updated_at"`
	Password            *passwordJSON       `json:"password,omitempty"`
	Metadata            *metadataJSON       `json:"metadata,omitempty"`
	Identities          []adminIdentityJSON `json:"identities,omitempty"`
	Name                string              `json:"name,omitempty"`
	GivenName           string              `json:"given_name,omitempty"`
	FamilyName          string              `json:"family_name,omitempty"`
	Picture             string              `json:"picture,omitempty"`
}

// adminUserSummary is the list variant of u: e-mails and credentials.
func (a *API) adminUserSummary(r *http.Request, u inkan.User) (adminUserJSON, error) {
	return a.userSummary(r.Context(), u)
}

func (a *API) userSummary(ctx context.Context, u inkan.User) (adminUserJSON, error) {
	out := adminUserJSON{ID: u.ID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	emails, err := a.Accounts.Emails(ctx, u.ID)
	if err != nil {
		return out, err
	}
	creds, err := a.Passkeys.Credentials(ctx, u.ID)
	if err != nil {
		return out, err
	}
	out.Emails = mapSlice(emails, toAdminEmail)
	out.WebauthnCredentials = mapSlice(creds, a.toCredentialJSON)
	return out, nil
}

// adminUserFull is the full admin user object of u.
func (a *API) adminUserFull(r *http.Request, u inkan.User) (adminUserJSON, error) {
	return a.userFull(r.Context(), u)
}

// AdminUserObject returns the full admin user object of the user id as
// JSON (GET /users/{id} of api/admin.yaml), the data of the user.*
// webhook events; KindNotFound "user not found" when there is none.
func (a *API) AdminUserObject(ctx context.Context, id uuid.UUID) (json.RawMessage, error) {
	u, err := a.Accounts.User(ctx, id)
	if err != nil {
		return nil, err
	}
	out, err := a.userFull(ctx, u)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// userFull reads the addresses, credentials and identities in the one
// profile read (store.Profile), then the password and the metadata.
func (a *API) userFull(ctx context.Context, u inkan.User) (adminUserJSON, error) {
	out := adminUserJSON{ID: u.ID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	p, err := a.Accounts.ProfileWithIdentities(ctx, u.ID)
	if err != nil {
		return out, err
	}
	out.Emails = mapSlice(p.Emails, toAdminEmail)
	out.WebauthnCredentials = mapSlice(p.Credentials, a.toCredentialJSON)
	out.Name, out.GivenName, out.FamilyName, out.Picture = u.Name, u.GivenName, u.FamilyName, u.Picture
	switch c, err := a.Passwords.Credential(ctx, u.ID); {
	case err == nil:
		p := toPasswordJSON(c)
		out.Password = &p
	case inkan.KindOf(err) != inkan.KindNotFound:
		return out, err
	}
	md, err := a.Accounts.Metadata(ctx, u.ID)
	if err != nil {
		return out, err
	}
	if !md.Empty() {
		out.Metadata = &metadataJSON{Public: md.Public, Private: md.Private, Unsafe: md.Unsafe}
	}
	out.Identities = mapSlice(p.Identities, toAdminIdentity)
	return out, nil
}

// writeAdminUser answers 200 with the full admin user object of u.
func (a *API) writeAdminUser(w http.ResponseWriter, r *http.Request, u inkan.User) error {
	out, err := a.adminUserFull(r, u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// adminPathUser loads the user named by the path value name (400 "invalid
// user id", 404 "user not found").
func (a *API) adminPathUser(r *http.Request, name string) (inkan.User, error) {
	id, err := pathUUID(r, name, "user")
	if err != nil {
		return inkan.User{}, err
	}
	return a.Accounts.User(r.Context(), id)
}

// adminListUsers is admin GET /users: query page, per_page, user_id
// (comma-separated UUIDs), email (substring), sort_direction (asc|desc,
// default desc, by created_at). Users without an e-mail address are not
// listed. Headers X-Total-Count and Link.
func (a *API) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		return err
	}
	f := inkan.UserFilter{Offset: p.Offset(), Limit: p.PerPage, Email: q.Get("email")}
	switch q.Get("sort_direction") {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		return inkan.E(inkan.KindInvalid, "sort_direction must be asc or desc")
	}
	if v := q.Get("user_id"); v != "" {
		for _, s := range strings.Split(v, ",") {
			id, err := parseUUID(strings.TrimSpace(s))
			if err != nil {
				return inkan.E(inkan.KindInvalid, "user_id must be a comma-separated list of uuids")
			}
			f.IDs = append(f.IDs, id)
		}
	}
	users, total, err := a.Accounts.ListUsers(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]adminUserJSON, 0, len(users))
	for _, u := range users {
		j, err := a.adminUserSummary(r, u)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	writePagingHeaders(w, r, p, total)
	return writeJSON(w, http.StatusOK, out)
}

type adminCreateUserRequest struct {
	ID     string `json:"id"`
	Emails []struct {
		Address    string `json:"address"`
		IsPrimary  bool   `json:"is_primary"`
		IsVerified bool   `json:"is_verified"`
	} `json:"emails"`
	Username  *string    `json:"username"`
	CreatedAt *time.Time `json:"created_at"`
}

// adminCreateUser is admin POST /users: {"id"?, "emails": [{address,
// is_primary, is_verified}], "created_at"?} → 200 the user. 400 for no
// address, not exactly one primary, a bad address or id, a username
// (inkan has none); 409 for a taken id or address.
func (a *API) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	var req adminCreateUserRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Username != nil {
		return inkan.E(inkan.KindInvalid, "usernames are not supported")
	}
	var p problems
	n := account.NewUser{ID: p.uuidField("id", req.ID, false)}
	if err := p.err(); err != nil {
		return err
	}
	if req.CreatedAt != nil {
		n.CreatedAt = *req.CreatedAt
	}
	for _, e := range req.Emails {
		n.Emails = append(n.Emails, account.NewEmail{Address: e.Address, IsPrimary: e.IsPrimary, IsVerified: e.IsVerified})
	}
	u, _, err := a.Accounts.CreateUser(r.Context(), n)
	if err != nil {
		return err
	}
	return a.writeAdminUser(w, r, u)
}

// adminGetUser is admin GET /users/{id}: the full user (400, 404).
func (a *API) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.adminPathUser(r, "id")
	if err != nil {
		return err
	}
	return a.writeAdminUser(w, r, u)
}

// adminPatchUser is admin PATCH /users/{id}: any of name, given_name,
// family_name, picture — absent keeps, null clears, a string sets (trimmed,
// non-empty). username is refused (inkan has no usernames). 200 the user.
func (a *API) adminPatchUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "user")
	if err != nil {
		return err
	}
	var req map[string]json.RawMessage
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if _, ok := req["username"]; ok {
		return inkan.E(inkan.KindInvalid, "usernames are not supported")
	}
	var patch account.ProfilePatch
	for _, f := range []struct {
		name string
		dst  **string
	}{{"name", &patch.Name}, {"given_name", &patch.GivenName}, {"family_name", &patch.FamilyName}, {"picture", &patch.Picture}} {
		raw, ok := req[f.name]
		if !ok {
			continue
		}
		var v *string
		if err := json.Unmarshal(raw, &v); err != nil {
			return inkan.E(inkan.KindInvalid, f.name+" must be a string or null")
		}
		if v == nil {
			v = new(string)
		} else if strings.TrimSpace(*v) == "" {
			return inkan.E(inkan.KindInvalid, f.name+" must not be empty (send null to clear it)")
		}
		*f.dst = v
	}
	u, err := a.Accounts.UpdateProfile(r.Context(), id, patch)
	if err != nil {
		return err
	}
	return a.writeAdminUser(w, r, u)
}

// adminDeleteUser is admin DELETE /users/{id}: the user and everything of
// theirs, sessions included, so their tokens stop working on every node at
// once. 204; 400, 404.
func (a *API) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "user")
	if err != nil {
		return err
	}
	if err := a.Accounts.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeMetadata answers 200 with the sections set, or 204 when none is.
func writeMetadata(w http.ResponseWriter, md inkan.UserMetadata) error {
	if md.Empty() {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return writeJSON(w, http.StatusOK, metadataJSON{Public: md.Public, Private: md.Private, Unsafe: md.Unsafe})
}

// adminGetMetadata is admin GET /users/{id}/metadata: 200 the sections set,
// 204 when none is; 400 "invalid user id", 404 "user not found".
func (a *API) adminGetMetadata(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "user")
	if err != nil {
		return err
	}
	md, err := a.Accounts.Metadata(r.Context(), id)
	if err != nil {
		return err
	}
	return writeMetadata(w, md)
}

// adminPatchMetadata is admin PATCH /users/{id}/metadata: a JSON merge
// patch (RFC 7386) over {public_metadata, private_metadata,
// unsafe_metadata}; 200 the result or 204 when it is empty.
func (a *API) adminPatchMetadata(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id", "user")
	if err != nil {
		return err
	}
	raw, err := readRaw(r)
	if err != nil {
		return err
	}
	if raw == nil {
		return inkan.E(inkan.KindInvalid, "request body must be a JSON merge patch")
	}
	md, err := a.Accounts.PatchMetadata(r.Context(), id, raw)
	if err != nil {
		return err
	}
	return writeMetadata(w, md)
}
