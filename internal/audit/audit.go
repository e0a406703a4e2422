// Package audit keeps the audit log: every recorded event (see inkan.Event,
// one row of the events table) is an entry, listed by the admin API's GET
// /audit_logs when audit_log.storage.enabled, and printed as one JSON line
// on standard output or error once its transaction committed when
// audit_log.console_output.enabled; with audit_log.mask the e-mail
// addresses in both are masked (the masked address is kept with the event,
// so the filters match what the list shows). Entries older than
// audit_log.retention are deleted.
package audit

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence of the audit log, which reads the recorded
// events; internal/store satisfies it.
type Store interface {
	// ListAuditLogs returns one page of entries matching f, newest first,
	// and the number of matching entries on all pages.
	ListAuditLogs(ctx context.Context, f inkan.AuditFilter) ([]inkan.Event, int, error)
	// DeleteAuditLogsBefore deletes the entries (events) created before t
	// and returns how many.
	DeleteAuditLogsBefore(ctx context.Context, t time.Time) (int64, error)
}

// Options are audit_log.*.
type Options struct {
	Store     bool          // audit_log.storage.enabled: GET /audit_logs lists the entries
	Console   io.Writer     // audit_log.console_output: stdout or stderr; nil = off
	Mask      bool          // audit_log.mask
	Retention time.Duration // audit_log.retention; 0 = keep forever
}

// Log is the audit log. It is safe for concurrent use.
type Log struct {
	store Store
	opts  Options
	mu    sync.Mutex // one console line at a time
}

// New returns the audit log over store.
func New(store Store, o Options) *Log { return &Log{store: store, opts: o} }

// entry is e as the audit log keeps it: the actor's address masked when
// Options.Mask.
func (l *Log) entry(e inkan.Event) inkan.Event {
	if l.opts.Mask {
		e.Actor.Email = MaskEmail(e.Actor.Email)
	}
	return e
}

// Email is e's actor address as the audit log shows it (masked with
// audit_log.mask); the store keeps it with the event when it differs, so an
// entry exists exactly when its event was committed and is written once.
func (l *Log) Email(e inkan.Event) string { return l.entry(e).Actor.Email }

// consoleLine is one audit entry on the console.
type consoleLine struct {
	Audience      string         `json:"audience"`
	Type          string         `json:"type"`
	Error         *string        `json:"error"`
	HTTPRequestID string         `json:"http_request_id"`
	SourceIP      string         `json:"source_ip"`
	UserAgent     string         `json:"user_agent"`
	Details       map[string]any `json:"details"`
	Time          string         `json:"time"`
	TimeUnix      int64          `json:"time_unix"`
	UserID        *string        `json:"user_id"`
	UserEmail     *string        `json:"user_email"`
}

// Print writes e's entry as one JSON line to the console (when
// audit_log.console_output.enabled); called once e's transaction committed.
func (l *Log) Print(e inkan.Event) {
	if l.opts.Console == nil {
		return
	}
	e = l.entry(e)
	line := consoleLine{
		Audience: "audit", Type: string(e.Type), HTTPRequestID: e.Request.ID, SourceIP: e.Request.ClientIP,
		UserAgent: e.Request.UserAgent, Details: e.Details,
		Time: e.CreatedAt.UTC().Format(time.RFC3339Nano), TimeUnix: e.CreatedAt.Unix(),
	}
	if e.Error != "" {
		line.Error = &e.Error
	}
	if e.Actor.UserID != [16]byte{} {
		id := e.Actor.UserID.String()
		line.UserID = &id
	}
	if e.Actor.Email != "" {
		line.UserEmail = &e.Actor.Email
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.opts.Console.Write(append(b, '\n'))
}

// List returns one page of entries matching f, newest first, and the count
// on all pages (admin GET /audit_logs); none when audit_log.storage is
// disabled.
func (l *Log) List(ctx context.Context, f inkan.AuditFilter) ([]inkan.Event, int, error) {
	if !l.opts.Store {
		return []inkan.Event{}, 0, nil
	}
	return l.store.ListAuditLogs(ctx, f)
}

// Purge deletes the entries older than audit_log.retention at now (none
// when the retention is 0) and returns how many.
func (l *Log) Purge(ctx context.Context, now time.Time) (int64, error) {
	if l.opts.Retention <= 0 {
		return 0, nil
	}
	return l.store.DeleteAuditLogsBefore(ctx, now.Add(-l.opts.Retention))
}

// MaskEmail masks the local part of an e-mail address, keeping the domain:
// a local part of up to 6 characters becomes its first character and '*'
// up to 6 characters ("bob" → "b*****"); a longer one keeps its first 3
// characters and masks each of the others ("alexander" → "ale******").
// A value without '@' is returned unchanged; "" stays "".
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], addr[at:]
	n := utf8.RuneCountInString(local)
	keep := 3
	if n <= 6 {
		keep, n = 1, 6
	}
	r := []rune(local)
	if keep > len(r) {
		keep = len(r)
	}
	return string(r[:keep]) + strings.Repeat("*", n-keep) + domain
}
