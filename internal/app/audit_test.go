package app_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
)

type auditEntry struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	Error       *string        `json:"error"`
	RequestID   string         `json:"meta_http_request_id"`
	SourceIP    string         `json:"meta_source_ip"`
	UserAgent   string         `json:"meta_user_agent"`
	ActorUserID *string        `json:"actor_user_id"`
	ActorEmail  *string        `json:"actor_email"`
	Details     map[string]any `json:"details"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// auditLogs lists GET /audit_logs?query.
func (h *harness) auditLogs(t *testing.T, query string) ([]auditEntry, response) {
	t.Helper()
	r := h.admin(t, "GET", "/audit_logs"+query, "")
	h.want(t, r, 200, "GET /audit_logs"+query)
	var out []auditEntry
	r.json(t, &out)
	return out, r
}

func types(es []auditEntry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Type)
	}
	return strings.Join(s, ",")
}

// TestAuditLog: sign-ins, failed attempts and admin changes appear in GET
// /audit_logs (newest first, Hanko's filters, masked addresses) and on the
// console; a rolled-back change leaves no entry; the retention purge
// deletes old entries.
func TestAuditLog(t *testing.T) {
	forEachDialect(t, func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.AuditLog.ConsoleOutput.Enabled = true
	}, func(t *testing.T, h *harness) {
		start := time.Now().Add(-time.Second).UTC()
		userID, _, _ := h.signUp(t, "audrey.hepburn@example.test")
		r := h.do(t, "POST", "/passcode/login/initialize", `{"user_id":"`+userID+`"}`)
		var pc struct{ ID string }
		r.json(t, &pc)
		h.want(t, h.do(t, "POST", "/passcode/login/finalize", `{"id":"`+pc.ID+`","code":"000000"}`, "User-Agent: audit-test/1"), 401, "wrong passcode")
		h.want(t, h.admin(t, "POST", "/sessions", `{"user_id":"`+userID+`"}`), 200, "admin mints a session")
		bob := h.adminCreate(t, "bob@example.test", "")
		// A rolled-back change records nothing: bob's sixth address.
		for i := 2; i <= 5; i++ {
			h.want(t, h.admin(t, "POST", "/users/"+bob.ID+"/emails", `{"address":"bob`+string(rune('0'+i))+`@example.test"}`), 201, "add")
		}
		h.want(t, h.admin(t, "POST", "/users/"+bob.ID+"/emails", `{"address":"bob6@example.test"}`), 409, "over the limit")
		h.want(t, h.admin(t, "DELETE", "/users/"+bob.ID, ""), 204, "delete bob")

		all, r := h.auditLogs(t, "?per_page=100")
		counts := map[string]int{}
		for i, e := range all {
			counts[e.Type]++
			if i > 0 && e.CreatedAt.After(all[i-1].CreatedAt) {
				t.Errorf("not newest first: %s after %s", e.CreatedAt, all[i-1].CreatedAt)
			}
		}
		wantCounts := map[string]int{
			"user_created": 2, "passcode_login_init_succeeded": 2, "passcode_login_final_succeeded": 1, "email_verified": 1,
			"primary_email_changed": 1, "passcode_login_final_failed": 1, "login_success": 1, "email_created": 4, "user_deleted": 1,
		}
		total := 0
		for k, n := range wantCounts {
			total += n
			if counts[k] != n {
				t.Errorf("%d entries of type %s, want %d (all: %s)", counts[k], k, n, types(all))
			}
		}
		if len(all) != total || all[0].Type != "user_deleted" || r.Header.Get("X-Total-Count") != strconv.Itoa(total) {
			t.Fatalf("audit log (X-Total-Count %s): %s", r.Header.Get("X-Total-Count"), types(all))
		}
		for _, e := range all {
			admin := e.Details["api"] == "admin"
			if wantAdmin := e.Type == "user_deleted" || e.Type == "email_created" || e.Type == "login_success" || (e.Type == "user_created" && e.ActorUserID != nil && *e.ActorUserID == bob.ID); admin != wantAdmin {
				t.Errorf("%s: details %v, admin change %v", e.Type, e.Details, wantAdmin)
			}
			if e.ActorEmail != nil && strings.Contains(*e.ActorEmail, "audrey") {
				t.Errorf("%s: actor_email %q is not masked", e.Type, *e.ActorEmail)
			}
			if e.CreatedAt.Before(start) || !e.UpdatedAt.Equal(e.CreatedAt) || e.RequestID == "" || e.SourceIP != "127.0.0.1" {
				t.Errorf("entry %+v", e)
			}
		}
		var failed auditEntry
		for _, e := range all {
			if e.Type == "passcode_login_final_failed" {
				failed = e
			}
		}
		if failed.Error == nil || *failed.Error == "" || failed.UserAgent != "audit-test/1" || failed.ActorUserID == nil || *failed.ActorUserID != userID {
			t.Errorf("failed attempt entry: %+v", failed)
		}
		if a := all[len(all)-1]; a.ActorEmail == nil || *a.ActorEmail != "aud***********@example.test" {
			t.Errorf("masked address = %v, want aud***********@example.test", a.ActorEmail)
		}

		for query, want := range map[string]string{
			"?type=login_success&type=user_deleted":                        "user_deleted,login_success",
			"?type=email_created&per_page=1":                               "email_created",
			"?actor_user_id=" + bob.ID[:8]:                                 "user_deleted,email_created,email_created,email_created,email_created,user_created",
			"?actor_email=b*****@":                                         "user_deleted,email_created,email_created,email_created,email_created,user_created",
			"?q=" + userID[:13] + "&type=user_created":                     "user_created",
			"?meta_source_ip=10.9.":                                        "",
			"?end_time=" + url.QueryEscape(start.Format(time.RFC3339Nano)): "",
			"?start_time=" + url.QueryEscape(start.Format(time.RFC3339Nano)) + "&type=login_success": "login_success",
		} {
			if es, _ := h.auditLogs(t, query); types(es) != want {
				t.Errorf("GET /audit_logs%s = %s, want %s", query, types(es), want)
			}
		}
		page, r := h.auditLogs(t, "?per_page=5&page=2")
		if types(page) != types(all[5:10]) || !strings.Contains(r.Header.Get("Link"), `rel="next"`) || !strings.Contains(r.Header.Get("Link"), `rel="prev"`) {
			t.Fatalf("page 2 = %s, Link %q", types(page), r.Header.Get("Link"))
		}
		h.wantBadInputs(t, []badInput{
			{name: "bad start_time", method: "GET", path: "/audit_logs?start_time=yesterday", status: 400},
			{name: "bad per_page", method: "GET", path: "/audit_logs?per_page=0", status: 400},
		})

		// Console: one JSON line per entry, masked.
		out := h.Outbox.String()
		if !strings.Contains(out, `"audience":"audit","type":"login_success"`) || !strings.Contains(out, `"user_email":"aud***********@example.test"`) || strings.Contains(out, `"user_email":"audrey`) {
			t.Errorf("console output lacks masked audit lines:\n%s", out)
		}

		// Retention: nothing is old now; everything is 721 hours from now,
		// but an event still waiting for the webhook fan-out is kept until
		// it has been fanned out (the audit log is the events table).
		if n, err := h.App.PurgeAuditLog(context.Background(), time.Now()); err != nil || n != 0 {
			t.Fatalf("purge now = %d, %v", n, err)
		}
		kept, err := h.App.PurgeAuditLog(context.Background(), time.Now().Add(721*time.Hour))
		if err != nil || kept >= int64(total) {
			t.Fatalf("purge before the fan-out = %d, %v; want fewer than %d (pending events kept)", kept, err, total)
		}
		h.deliver(t)
		if n, err := h.App.PurgeAuditLog(context.Background(), time.Now().Add(721*time.Hour)); err != nil || kept+n != int64(total) {
			t.Fatalf("purge after the retention and the fan-out = %d+%d, %v; want %d", kept, n, err, total)
		}
		if es, _ := h.auditLogs(t, ""); len(es) != 0 {
			t.Fatalf("after the purge: %s", types(es))
		}
	})
}

// TestAuditLogSwitches: without masking the address is stored as is;
// without storage nothing is listed; without console output nothing is
// printed.
func TestAuditLogSwitches(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *config.Config) { c.AuditLog.Mask = false; c.AuditLog.ConsoleOutput.Enabled = false })
	h.adminCreate(t, "unmasked@example.test", "")
	if es, _ := h.auditLogs(t, ""); len(es) != 1 || es[0].ActorEmail == nil || *es[0].ActorEmail != "unmasked@example.test" {
		t.Fatalf("unmasked entries: %+v", es)
	}
	if strings.Contains(h.Outbox.String(), `"audience":"audit"`) {
		t.Fatalf("console output although disabled:\n%s", h.Outbox.String())
	}
	off := newHarness(t, func(c *config.Config) { c.AuditLog.Storage.Enabled = false; c.AuditLog.ConsoleOutput.Enabled = true })
	off.adminCreate(t, "nostore@example.test", "")
	if es, _ := off.auditLogs(t, ""); len(es) != 0 {
		t.Fatalf("entries stored although storage is off: %+v", es)
	}
	if !strings.Contains(off.Outbox.String(), `"audience":"audit","type":"user_created"`) {
		t.Fatalf("console line missing:\n%s", off.Outbox.String())
	}
}
