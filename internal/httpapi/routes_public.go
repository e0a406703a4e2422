package httpapi

import "net/http"

// Public returns the public listener's handler: every route of the public
// API at a glance (Hanko API §2), wrapped in the shared middleware.
func (a *API) Public() http.Handler {
	mux := http.NewServeMux()
	h := a.handle

	mux.Handle("POST /user", h(a.lookupUser))
	mux.Handle("POST /users", h(a.createUser))
	mux.Handle("GET /users/{id}", h(a.requireSession(a.getUser)))
	mux.Handle("GET /me", h(a.requireSession(a.me)))
	mux.Handle("POST /logout", h(a.requireSession(a.logout)))

	mux.Handle("POST /passcode/login/initialize", h(a.passcodeInitialize))
	mux.Handle("POST /passcode/login/finalize", h(a.passcodeFinalize))

	mux.Handle("POST /webauthn/registration/initialize", h(a.requireSession(a.webauthnRegistrationInitialize)))
	mux.Handle("POST /webauthn/registration/finalize", h(a.requireSession(a.webauthnRegistrationFinalize)))
	mux.Handle("POST /webauthn/login/initialize", h(a.webauthnLoginInitialize))
	mux.Handle("POST /webauthn/login/finalize", h(a.webauthnLoginFinalize))

	mux.Handle("GET /.well-known/jwks.json", h(a.jwks))
	mux.Handle("GET /.well-known/config", h(a.wellKnownConfig))
	mux.Handle("GET /health/alive", h(a.alive))
	mux.Handle("GET /health/ready", h(a.ready))

	return a.chain(a.cors(jsonMux(mux)))
}
