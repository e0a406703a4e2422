package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/login"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/ratelimit"
)

type passcodeInitRequest struct {
	UserID  string `json:"user_id"`
	EmailID string `json:"email_id"`
}

type passcodeResponse struct {
	ID        uuid.UUID `json:"id"`
	TTL       int       `json:"ttl"` // seconds
	CreatedAt time.Time `json:"created_at"`
}

// passcodeInitialize is POST /passcode/login/initialize (docs/compatibility.md "Passcodes"):
// rate limit per client address → validate → pick the target address →
// rate limit (per user and client address, and per target address) → reject a session of another user
// (403) → create and mail the code. 200 {id, ttl, created_at}.
func (a *API) passcodeInitialize(w http.ResponseWriter, r *http.Request) error {
	var req passcodeInitRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.limitClient(w, r, a.Opts.PasscodeIPLimit, "passcode_ip_limits"); err != nil {
		return err
	}
	var p problems
	userID := p.uuidField("user_id", req.UserID, true)
	emailID := p.uuidField("email_id", req.EmailID, false)
	if err := p.err(); err != nil {
		return err
	}
	// The hanko_email_id cookie (set by POST /users for Hanko's web
	// components) is only a fallback for a user without a primary address;
	// a malformed one is ignored like an absent one.
	var fallback uuid.UUID
	if c, err := r.Cookie("hanko_email_id"); err == nil {
		fallback, _ = parseUUID(c.Value)
	}
	target, err := a.Accounts.PasscodeTarget(r.Context(), userID, emailID, fallback)
	if err != nil {
		return err
	}
	if err := a.rateLimit(w, r, a.Opts.PasscodeLimit, "passcode_limits",
		ratelimit.Key("/passcode/login/initialize", userID.String(), clientIP(r.Context())),
		ratelimit.Key("/passcode/login/initialize", "email", target.Address)); err != nil {
		return err
	}
	if claims, ok, err := a.optionalSession(r); err != nil {
		return err
	} else if ok && claims.Subject != userID {
		return inkan.E(inkan.KindForbidden, "")
	}
	pc, err := a.Passcodes.Initialize(r.Context(), passcode.Recipient{
		UserID:         userID,
		EmailID:        target.ID,
		Address:        target.Address,
		Language:       r.Header.Get("X-Language"),
		AcceptLanguage: r.Header.Get("Accept-Language"),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, passcodeResponse{ID: pc.ID, TTL: int(pc.TTL.Seconds()), CreatedAt: pc.CreatedAt})
}

type passcodeFinalizeRequest struct {
	ID   string `json:"id"`
	Code string `json:"code"`
}

// passcodeFinalize is POST /passcode/login/finalize (docs/compatibility.md "Passcodes", with
// inkan's 404 for an unknown id): checks and consumes the code, verifies
// and claims the address, and issues a session.
func (a *API) passcodeFinalize(w http.ResponseWriter, r *http.Request) error {
	var req passcodeFinalizeRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.limitClient(w, r, a.Opts.PasscodeIPLimit, "passcode_ip_limits"); err != nil {
		return err
	}
	var p problems
	id := p.uuidField("id", req.ID, true)
	p.required("code", req.Code)
	if err := p.err(); err != nil {
		return err
	}
	var sessionUser uuid.UUID
	if claims, ok, err := a.optionalSession(r); err != nil {
		return err
	} else if ok {
		sessionUser = claims.Subject
	}
	res, err := a.Login.Passcode(r.Context(), login.PasscodeRequest{ID: id, Code: req.Code, SessionUser: sessionUser})
	if err != nil {
		return err
	}
	a.deliverSession(w, res.Token, res.RefreshToken)
	pc := res.Passcode
	return writeJSON(w, http.StatusOK, passcodeResponse{ID: pc.ID, TTL: int(pc.TTL.Seconds()), CreatedAt: pc.CreatedAt})
}

// rateLimit takes one token from each key's bucket under limit l (named
// name, the rate_limiter key, for the metrics) and sets
// the X-RateLimit-* headers of the tightest bucket (docs/compatibility.md "Rate limits"); when a
// request passes several rateLimit calls, the headers keep the tightest
// bucket of all of them. When a bucket is empty it sets Retry-After (whole
// seconds, rounded up) and returns KindTooManyRequests. A nil Limiter or
// zero l.Tokens disables it.
func (a *API) rateLimit(w http.ResponseWriter, r *http.Request, l ratelimit.Limit, name string, keys ...string) error {
	if a.Limiter == nil || l.Tokens <= 0 {
		return nil
	}
	var tightest *ratelimit.Result
	for _, k := range keys {
		res, err := a.Limiter.Take(r.Context(), k, l)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		if tightest == nil || !res.Allowed || res.Remaining < tightest.Remaining {
			res := res
			tightest = &res
		}
		if !res.Allowed {
			break
		}
	}
	h := w.Header()
	if prev, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err != nil || !tightest.Allowed || tightest.Remaining < prev {
		h.Set("X-RateLimit-Limit", strconv.Itoa(tightest.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(tightest.Remaining))
		h.Set("X-RateLimit-Reset", strconv.Itoa(ceilSeconds(tightest.Reset)))
	}
	if !tightest.Allowed {
		h.Set("Retry-After", strconv.Itoa(max(1, ceilSeconds(tightest.RetryAfter))))
		if a.Observer != nil {
			a.Observer.RateLimited(name)
		}
		return inkan.E(inkan.KindTooManyRequests, "")
	}
	return nil
}

// limitClient takes one token from the bucket of the request's client
// address (clientNetwork) for the limit named name
// (rate_limiter.<name>), so that one client cannot sweep many users or
// addresses; see rateLimit for the headers and the 429.
func (a *API) limitClient(w http.ResponseWriter, r *http.Request, l ratelimit.Limit, name string) error {
	return a.rateLimit(w, r, l, name, ratelimit.Key("client", name, clientNetwork(clientIP(r.Context()))))
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
