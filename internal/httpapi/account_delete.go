package httpapi

import "net/http"

// deleteAccount is DELETE /user (docs/compatibility.md "Users"; registered only with
// account.allow_deletion): deletes the session's user with its addresses,
// passcodes, credentials, password and sessions, sets the deletion cookie,
// 204. A user already gone is 404 (Hanko: 500) — in practice the session
// row cascades away with the user, so a second call is 401.
func (a *API) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	if err := a.Accounts.DeleteUser(r.Context(), claimsFrom(r.Context()).Subject); err != nil {
		return err
	}
	a.clearSession(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
