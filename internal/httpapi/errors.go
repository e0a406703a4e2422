package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// statusOf is the one table from error kind to HTTP status.
var statusOf = map[inkan.Kind]int{
	inkan.KindInternal:             http.StatusInternalServerError,
	inkan.KindInvalid:              http.StatusBadRequest,
	inkan.KindUnauthorized:         http.StatusUnauthorized,
	inkan.KindForbidden:            http.StatusForbidden,
	inkan.KindNotFound:             http.StatusNotFound,
	inkan.KindTimeout:              http.StatusRequestTimeout,
	inkan.KindConflict:             http.StatusConflict,
	inkan.KindGone:                 http.StatusGone,
	inkan.KindTooLarge:             http.StatusRequestEntityTooLarge,
	inkan.KindUnsupportedMediaType: http.StatusUnsupportedMediaType,
	inkan.KindUnprocessable:        http.StatusUnprocessableEntity,
	inkan.KindTooManyRequests:      http.StatusTooManyRequests,
	inkan.KindBadGateway:           http.StatusBadGateway,
	inkan.KindUnavailable:          http.StatusServiceUnavailable,
}

// RetryAfterUnavailable is the Retry-After (seconds) of every 503: long
// enough for a pool to reconnect or a database to fail over, short enough
// that a mobile app retrying once does not give up.
const RetryAfterUnavailable = 5

// ErrorBody is Hanko's error body (docs/compatibility.md "Errors"): code equals the HTTP
// status; message is the client message or the status text. A passkey
// login refused because no user holds the credential also carries
// credential_id (base64url) and rp_id, what the client passes to
// PublicKeyCredential.signalUnknownCredential (WebAuthn L3 §5.1.10); no
// other error has them.
type ErrorBody struct {
	Code         int    `json:"code"`
	Message      string `json:"message"`
	CredentialID string `json:"credential_id,omitempty"`
	RPID         string `json:"rp_id,omitempty"`
}

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to http.Handler: every error goes through
// writeError, the only place an error becomes a response.
func (a *API) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// writeError writes err as {"code","message"}. A classified error shows its
// client message; anything else is an opaque 500 whose cause is logged with
// the request id, never sent. Context cancellation by a client that went
// away is logged at debug level only.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	kind := inkan.KindOf(err)
	if kind == inkan.KindInternal && (errors.Is(err, inkan.ErrUnavailable) ||
		errors.Is(r.Context().Err(), context.DeadlineExceeded)) {
		// The database refused or dropped the connection (a domain service
		// may have wrapped that as internal), or the request deadline
		// (withRequestTimeout) ran out while a backend — a pooled database
		// connection, most often — did not answer. The deadline is read from
		// the request, not from err: drivers do not all wrap the context's
		// error (SQLite reports "interrupted", MySQL "invalid connection").
		err = inkan.Wrap(inkan.KindUnavailable, "", err)
		kind = inkan.KindUnavailable
	}
	if kind == inkan.KindUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
	}
	var ra *inkan.RetryAfter
	if kind == inkan.KindTooManyRequests && errors.As(err, &ra) {
		// A domain limit (the per-user budget of wrong passcodes).
		w.Header().Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(ra.After))))
		if a.Observer != nil {
			a.Observer.RateLimited(strings.TrimPrefix(ra.Limit, "rate_limiter."))
		}
	}
	status := statusOf[kind]
	msg := inkan.MessageOf(err)
	if kind == inkan.KindInternal {
		msg = ""
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			a.log.Debug("request cancelled", "request_id", requestID(r.Context()), "error", err)
		} else {
			a.log.Error("internal error", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
		}
	} else if status >= 500 {
		a.log.Warn("request failed", "request_id", requestID(r.Context()), "status", status, "error", err)
	}
	body := ErrorBody{Code: status, Message: msg}
	var unknown *inkan.UnknownCredentialError
	if errors.As(err, &unknown) {
		body.CredentialID = base64.RawURLEncoding.EncodeToString(unknown.CredentialID)
		body.RPID = unknown.RPID
	}
	writeErrorBody(w, r, body)
}

// writeErrorStatus writes the error body for status; an empty msg becomes
// the status text. HEAD requests get the status only.
func writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeErrorBody(w, r, ErrorBody{Code: status, Message: msg})
}

// writeErrorBody writes body with status body.Code; an empty message
// becomes the status text. HEAD requests get the status only.
func writeErrorBody(w http.ResponseWriter, r *http.Request, body ErrorBody) {
	if body.Message == "" {
		body.Message = http.StatusText(body.Code)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("Content-Length")
	w.WriteHeader(body.Code)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// writeJSON writes v with status as JSON. v is encoded before anything is
// sent, so an encoding error can still become a clean 500; a failure to
// write (the client went away) cannot be answered and is not an error.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// logWriteError is for encode failures after the header went out: the
// client is gone or the connection broke; nothing more can be sent.
func logWriteError(log *slog.Logger, err error) {
	if err != nil {
		log.Debug("response write failed", "error", err)
	}
}
