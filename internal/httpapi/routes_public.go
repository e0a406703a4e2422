package httpapi

import "net/http"

// Public returns the public listener's handler: every route of the public
// API at a glance (docs/compatibility.md "Routes"), wrapped in the shared middleware.
func (a *API) Public() http.Handler {
	mux := http.NewServeMux()
	h := a.handle

	mux.Handle("POST /user", h(a.lookupUser))
	mux.Handle("POST /users", h(a.createUser))
	mux.Handle("GET /users/{id}", h(a.requireSession(a.getUser)))
	mux.Handle("GET /me", h(a.requireSession(a.me)))
	mux.Handle("POST /logout", h(a.requireSession(a.logout)))
	if a.Opts.AllowDeletion {
		mux.Handle("DELETE /user", h(a.requireSession(a.deleteAccount)))
	}

	mux.Handle("GET /emails", h(a.requireSession(a.listEmails)))
	mux.Handle("POST /emails", h(a.requireSession(a.addEmail)))
	mux.Handle("DELETE /emails/{id}", h(a.requireSession(a.deleteEmail)))
	mux.Handle("POST /emails/{id}/set_primary", h(a.requireSession(a.setPrimaryEmail)))

	if !a.Opts.PasscodesDisabled {
		mux.Handle("POST /passcode/login/initialize", h(a.passcodeInitialize))
		mux.Handle("POST /passcode/login/finalize", h(a.passcodeFinalize))
	}

	if a.Opts.PasswordEnabled && a.Passwords != nil {
		mux.Handle("PUT /password", h(a.requireSession(a.setPassword)))
		mux.Handle("POST /password/login", h(a.passwordLogin))
	}

	if !a.Opts.PasskeysDisabled {
		// Session, or passkey-first sign-up without one.
		mux.Handle("POST /webauthn/registration/initialize", h(a.webauthnRegistrationInitialize))
		mux.Handle("POST /webauthn/registration/finalize", h(a.webauthnRegistrationFinalize))
		mux.Handle("POST /webauthn/login/initialize", h(a.webauthnLoginInitialize))
		mux.Handle("POST /webauthn/login/finalize", h(a.webauthnLoginFinalize))
		mux.Handle("GET /webauthn/credentials", h(a.requireSession(a.listCredentials)))
		mux.Handle("PATCH /webauthn/credentials/{id}", h(a.requireSession(a.renameCredential)))
		mux.Handle("DELETE /webauthn/credentials/{id}", h(a.requireSession(a.deleteCredential)))
	}

	if a.Opts.ThirdParty {
		mux.Handle("POST /thirdparty/id_token", h(a.idTokenSignIn))
	}
	if a.Flow != nil {
		mux.Handle("GET /thirdparty/auth", h(a.thirdPartyAuth))
		mux.Handle("GET /thirdparty/callback", h(a.thirdPartyCallback))
		mux.Handle("POST /thirdparty/callback", h(a.thirdPartyCallbackPost))
		mux.Handle("POST /token", h(a.exchangeToken))
	}

	mux.Handle("GET /sessions/validate", h(a.validateSession))
	mux.Handle("POST /sessions/validate", h(a.validateSessionToken))
	mux.Handle("GET /sessions", h(a.requireSession(a.listSessions)))
	mux.Handle("DELETE /sessions", h(a.requireSession(a.deleteOtherSessions)))
	mux.Handle("DELETE /sessions/{id}", h(a.requireSession(a.deleteSession)))
	mux.Handle("GET /sessions/revoked", h(a.revokedSessions))
	// Registered also when off, where it answers 404: otherwise the
	// pattern DELETE /sessions/{id} would make it a 405.
	mux.Handle("POST /sessions/refresh", h(a.refreshSession))

	mux.Handle("GET /.well-known/jwks.json", h(a.jwks))
	mux.Handle("GET /.well-known/config", h(a.wellKnownConfig))
	if len(a.Opts.RelatedOrigins) > 0 {
		mux.Handle("GET /.well-known/webauthn", h(a.relatedOrigins))
	}
	if a.Mobile != nil {
		mux.Handle("GET /.well-known/assetlinks.json", a.Mobile)
		mux.Handle("GET /.well-known/apple-app-site-association", a.Mobile)
	}
	mux.Handle("GET /health/alive", h(a.alive))
	mux.Handle("GET /health/ready", h(a.ready))

	return withObserver(a.Observer, "public", a.chain(a.cors(mux, jsonMux(mux))))
}
