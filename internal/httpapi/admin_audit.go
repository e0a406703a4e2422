package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// auditLogJSON is an audit log entry as the admin API shows it.
type auditLogJSON struct {
	ID                uuid.UUID       `json:"id"`
	Type              string          `json:"type"`
	Error             *string         `json:"error,omitempty"`
	MetaHTTPRequestID string          `json:"meta_http_request_id"`
	MetaSourceIP      string          `json:"meta_source_ip"`
	MetaUserAgent     string          `json:"meta_user_agent"`
	ActorUserID       *uuid.UUID      `json:"actor_user_id,omitempty"`
	ActorEmail        *string         `json:"actor_email,omitempty"`
	Details           json.RawMessage `json:"details"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
}

func toAuditLogJSON(e inkan.Event) auditLogJSON {
	out := auditLogJSON{
		ID: e.ID, Type: string(e.Type), MetaHTTPRequestID: e.Request.ID, MetaSourceIP: e.Request.ClientIP,
		MetaUserAgent: e.Request.UserAgent, Details: json.RawMessage("null"), CreatedAt: e.CreatedAt, UpdatedAt: e.CreatedAt,
	}
	if e.Error != "" {
		out.Error = &e.Error
	}
	if e.Actor.UserID != uuid.Nil {
		out.ActorUserID = &e.Actor.UserID
	}
	if e.Actor.Email != "" {
		out.ActorEmail = &e.Actor.Email
	}
	if len(e.Details) > 0 {
		if b, err := json.Marshal(e.Details); err == nil {
			out.Details = b
		}
	}
	return out
}

// adminListAuditLogs is admin GET /audit_logs: stored entries newest
// first; query page, per_page, start_time and end_time (RFC 3339,
// exclusive), type (repeatable), actor_user_id, actor_email,
// meta_source_ip (substrings) and q (substring of the address, client
// address or user id); headers X-Total-Count and Link. 400 for a bad
// time or page.
func (a *API) adminListAuditLogs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		return err
	}
	f := inkan.AuditFilter{
		Offset: p.Offset(), Limit: p.PerPage, Types: q["type"],
		ActorUserID: q.Get("actor_user_id"), ActorEmail: q.Get("actor_email"), SourceIP: q.Get("meta_source_ip"), Q: q.Get("q"),
	}
	var bad problems
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"start_time", &f.Start}, {"end_time", &f.End}} {
		if v := q.Get(t.name); v != "" {
			if *t.dst, err = time.Parse(time.RFC3339Nano, v); err != nil {
				bad = append(bad, t.name+" must be an RFC 3339 time")
			}
		}
	}
	if err := bad.err(); err != nil {
		return err
	}
	entries, total, err := a.Audit.List(r.Context(), f)
	if err != nil {
		return err
	}
	writePagingHeaders(w, r, p, total)
	return writeJSON(w, http.StatusOK, mapSlice(entries, toAuditLogJSON))
}
