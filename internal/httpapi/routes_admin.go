package httpapi

import "net/http"

// Admin returns the admin listener's handler: every route of the admin API
// at a glance, wrapped in the measurement, the shared middleware and, when
// server.admin.api_keys is set, the API-key check (withAdminAuth), which
// covers every route registered here except the health probes. A new admin
// route needs nothing but its line below.
func (a *API) Admin() http.Handler {
	mux := http.NewServeMux()
	h := a.handle

	mux.Handle("GET /users", h(a.adminListUsers))
	mux.Handle("POST /users", h(a.adminCreateUser))
	mux.Handle("GET /users/{id}", h(a.adminGetUser))
	mux.Handle("PATCH /users/{id}", h(a.adminPatchUser))
	mux.Handle("DELETE /users/{id}", h(a.adminDeleteUser))
	mux.Handle("GET /users/{id}/metadata", h(a.adminGetMetadata))
	mux.Handle("PATCH /users/{id}/metadata", h(a.adminPatchMetadata))

	mux.Handle("GET /users/{user_id}/emails", h(a.adminListEmails))
	mux.Handle("POST /users/{user_id}/emails", h(a.adminAddEmail))
	mux.Handle("GET /users/{user_id}/emails/{email_id}", h(a.adminGetEmail))
	mux.Handle("DELETE /users/{user_id}/emails/{email_id}", h(a.adminDeleteEmail))
	mux.Handle("POST /users/{user_id}/emails/{email_id}/set_primary", h(a.adminSetPrimaryEmail))

	mux.Handle("GET /users/{user_id}/webauthn_credentials", h(a.adminListCredentials))
	mux.Handle("GET /users/{user_id}/webauthn_credentials/{credential_id}", h(a.adminGetCredential))
	mux.Handle("DELETE /users/{user_id}/webauthn_credentials/{credential_id}", h(a.adminDeleteCredential))

	mux.Handle("GET /users/{user_id}/password", h(a.adminGetPassword))
	mux.Handle("POST /users/{user_id}/password", h(a.adminSetPassword))
	mux.Handle("PUT /users/{user_id}/password", h(a.adminSetPassword))
	mux.Handle("DELETE /users/{user_id}/password", h(a.adminDeletePassword))

	mux.Handle("GET /users/{user_id}/sessions", h(a.adminListSessions))
	mux.Handle("DELETE /users/{user_id}/sessions/{session_id}", h(a.adminDeleteSession))
	mux.Handle("POST /sessions", h(a.adminCreateSession))

	mux.Handle("GET /audit_logs", h(a.adminListAuditLogs))

	mux.Handle("GET /webhooks", h(a.adminListWebhooks))
	mux.Handle("POST /webhooks", h(a.adminCreateWebhook))
	mux.Handle("GET /webhooks/{id}", h(a.adminGetWebhook))
	mux.Handle("PUT /webhooks/{id}", h(a.adminUpdateWebhook))
	mux.Handle("DELETE /webhooks/{id}", h(a.adminDeleteWebhook))
	mux.Handle("GET /webhooks/{id}/attempts", h(a.adminListWebhookAttempts))

	mux.Handle("GET /metrics", a.metricsHandler())
	if a.Opts.Pprof {
		mux.Handle("GET /debug/pprof/{name}", pprofHandler())
	}
	mux.Handle("GET /health/alive", h(a.alive))
	mux.Handle("GET /health/ready", h(a.ready))

	return withObserver(a.Observer, "admin", a.chain(withAdminAuth(a.Opts.AdminAPIKeys, withAdminMeta(jsonMux(mux)))))
}

// metricsHandler is API.Metrics, or a 404 when none is set.
func (a *API) metricsHandler() http.Handler {
	if a.Metrics != nil {
		return a.Metrics
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErrorStatus(w, r, http.StatusNotFound, "")
	})
}
