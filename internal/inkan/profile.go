package inkan

// Profile is a user with everything GET /me and GET /users/{id} show of
// them (docs/compatibility.md "Users"), read together in one statement
// (docs/performance.md "Budgets"): the user row, the assigned e-mail
// addresses oldest first (Primary filled in), the WebAuthn credentials
// oldest first, and, when read with them, the third-party identities oldest
// first (nil when not read).
type Profile struct {
	User        User
	Emails      []Email
	Credentials []Credential
	Identities  []Identity
}

// Primary returns the profile's primary address, ok=false when it has none
// (an unfinished sign-up).
func (p Profile) Primary() (e Email, ok bool) {
	for _, e := range p.Emails {
		if e.Primary {
			return e, true
		}
	}
	return Email{}, false
}
