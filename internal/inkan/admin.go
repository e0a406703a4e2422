package inkan

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// UserMetadata is the metadata of a user kept for the app (admin GET/PATCH
// /users/{id}/metadata). Each section is a JSON object as text, nil when
// absent; the public and unsafe sections are what an app may show to the
// user, the private one only its backend.
type UserMetadata struct {
	Public  json.RawMessage // public_metadata
	Private json.RawMessage // private_metadata
	Unsafe  json.RawMessage // unsafe_metadata
}

// Empty reports whether no section is set.
func (m UserMetadata) Empty() bool { return m.Public == nil && m.Private == nil && m.Unsafe == nil }

// MaxMetadataSectionChars is the longest metadata section, in characters of
// its JSON text (the column width of Hanko's schema).
const MaxMetadataSectionChars = 3000

// UserFilter selects users for the admin list (GET /users). Only users with
// at least one assigned e-mail address are listed.
type UserFilter struct {
	IDs       []uuid.UUID // only these users; empty = all
	Email     string      // only users with an address containing this (lower-case) text; "" = all
	Offset    int         // users skipped, ≥ 0
	Limit     int         // users returned, ≥ 1
	Ascending bool        // oldest first (created_at, then id); default newest first
}

// AuditFilter selects audit log entries (admin GET /audit_logs). Text
// filters match substrings; zero values match everything.
type AuditFilter struct {
	Offset, Limit int       // page: entries skipped (≥ 0), returned (≥ 1)
	Start, End    time.Time // created strictly after Start / before End
	Types         []string  // one of these types
	ActorUserID   string    // substring of the actor's user id
	ActorEmail    string    // substring of the (stored, possibly masked) actor address
	SourceIP      string    // substring of the client address
	Q             string    // substring of the address, the client address or the user id
}
