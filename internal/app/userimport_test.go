package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/inkan-auth/inkan/internal/app"
	"github.com/inkan-auth/inkan/internal/config"
)

// transfer opens h's database for user import and export.
func (h *harness) transfer(t *testing.T) *app.UserTransfer {
	t.Helper()
	u, closeFn, err := app.OpenUserTransfer(context.Background(), h.Cfg, app.NewLogger(h.Cfg, h.Log))
	if err != nil {
		t.Fatalf("OpenUserTransfer: %v", err)
	}
	t.Cleanup(func() { closeFn() })
	return u
}

// TestUserExportImportRoundTrip: users exported from one node and imported
// into an empty database of every dialect keep their addresses, passkeys
// (which still sign in) and passwords (which still verify); importing
// again changes nothing.
func TestUserExportImportRoundTrip(t *testing.T) {
	withPasswords := func(c *config.Config) {
		c.Session.EnableAuthTokenHeader = true
		c.Password.Enabled = true
		c.RateLimiter.Enabled = false
	}
	src := newHarness(t, withPasswords)
	p := src.newPasskeyUser(t, "roundtrip@example.test", pkOptions{BE: true, BS: true})
	src.want(t, src.admin(t, "POST", "/users/"+p.userID+"/emails", `{"address":"second@example.test","is_verified":false}`), 201, "second address")
	src.want(t, src.admin(t, "POST", "/users/"+p.userID+"/password", `{"password":"correct horse battery"}`), 200, "password")
	src.want(t, p.login(t, p.opts), 200, "passkey login on the source")
	other := src.adminCreate(t, "other@example.test", "")
	src.createUser(t, "pending@example.test") // not a user yet: not exported

	var file bytes.Buffer
	n, err := src.transfer(t).Export(context.Background(), &file)
	if err != nil || n != 2 {
		t.Fatalf("Export = %d, %v; want 2 users", n, err)
	}
	var entries []map[string]any
	if err := json.Unmarshal(file.Bytes(), &entries); err != nil {
		t.Fatalf("export is not a JSON array: %v\n%s", err, file.Bytes())
	}
	if strings.Contains(file.String(), "correct horse") || !strings.Contains(file.String(), "$argon2id$") {
		t.Fatalf("export must carry the password hash, never the password:\n%s", file.String())
	}
	srcUser := src.admin(t, "GET", "/users/"+p.userID, "")

	for _, d := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(d, func(t *testing.T) {
			dst := newHarnessOn(t, d, withPasswords)
			tr := dst.transfer(t)
			outcomes, err := tr.Import(context.Background(), bytes.NewReader(file.Bytes()))
			if err != nil || len(outcomes) != 2 || !outcomes[0].Imported || !outcomes[1].Imported {
				t.Fatalf("Import = %+v, %v", outcomes, err)
			}
			got := dst.admin(t, "GET", "/users/"+p.userID, "")
			dst.want(t, got, 200, "imported user")
			var a, b adminUser
			srcUser.json(t, &a)
			got.json(t, &b)
			if len(b.Emails) != 2 || len(b.Credentials) != 1 || b.Credentials[0].ID != p.credentialID || b.Password == nil || b.CreatedAt != a.CreatedAt {
				t.Fatalf("imported user %s\nsource %s", got.Body, srcUser.Body)
			}
			for _, e := range b.Emails {
				if (e.Address == "roundtrip@example.test") != e.IsPrimary || (e.Address == "roundtrip@example.test") != e.IsVerified {
					t.Fatalf("imported addresses: %+v", b.Emails)
				}
			}
			dst.want(t, dst.admin(t, "GET", "/users/"+other.ID, ""), 200, "second user")

			// The passkey signs in on the new database, its sign count
			// carried over; the password verifies.
			p2 := *p
			p2.h = dst
			r := p2.login(t, p.opts)
			dst.want(t, r, 200, "passkey login after import")
			var res struct {
				UserID string `json:"user_id"`
			}
			if r.json(t, &res); res.UserID != p.userID {
				t.Fatalf("passkey login signed in %s, want %s", res.UserID, p.userID)
			}
			dst.want(t, dst.do(t, "POST", "/password/login", `{"user_id":"`+p.userID+`","password":"correct horse battery"}`), 200, "password login after import")

			// Again: everything is skipped, nothing changes.
			before := dst.snapshot(t)
			outcomes, err = tr.Import(context.Background(), bytes.NewReader(file.Bytes()))
			if err != nil || len(outcomes) != 2 || outcomes[0].Imported || outcomes[1].Imported || outcomes[0].Err != nil {
				t.Fatalf("second Import = %+v, %v", outcomes, err)
			}
			dst.wantRowsUnchanged(t, before)
		})
	}
}

// hankoFile is a file in Hanko's user import format with good and bad
// entries.
const hankoFile = `[
  {"user_id": "a9ae6bc8-d829-43de-b672-f50230833877",
   "emails": [{"address": "test@example.com", "is_primary": true, "is_verified": true},
              {"address": "test+1@example.com", "is_primary": false, "is_verified": false}],
   "webauthn_credentials": [{"id": "AQIDBA", "name": "Phone", "public_key": "pQECAyYgASFYIA", "attestation_type": "none",
      "aaguid": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], "sign_count": 3, "last_used_at": null,
      "created_at": "2024-08-17T12:05:15Z", "updated_at": "2024-08-17T12:05:15Z", "transports": ["internal"],
      "backup_eligible": true, "backup_state": true, "mfa_only": false, "user_handle": null}],
   "password": {"password": "$2a$12$mFbud0mLsD/q.WG7/9pNQemlAHs3H4o8zAv44gsUF1v1awsdqTh7."},
   "otp_secret": null, "created_at": "2024-08-17T12:05:15.651387237Z", "updated_at": "2024-08-17T12:05:15.651387237Z"},
  {"emails": null, "username": "example", "password": null, "otp_secret": null},
  {"user_id": "not-a-uuid", "emails": [{"address": "x@example.com", "is_primary": false, "is_verified": true}], "password": null, "otp_secret": null},
  {"emails": [{"address": "bad address", "is_primary": true, "is_verified": true}], "password": {"password": "plaintext"}, "otp_secret": {"secret": "JBSWY3DPEHPK3PXP"}},
  {"emails": [{"address": "TEST@example.com", "is_primary": true, "is_verified": true}], "password": null, "otp_secret": null, "nickname": "x"},
  {"user_id": "a9ae6bc8-d829-43de-b672-f50230833877", "emails": [{"address": "y@example.com", "is_primary": true, "is_verified": true}], "password": null, "otp_secret": null,
   "webauthn_credentials": [{"id": "AQIDBA", "name": null, "public_key": "", "attestation_type": "none", "aaguid": null, "sign_count": -1,
      "last_used_at": null, "created_at": null, "updated_at": null, "transports": [], "backup_eligible": false, "backup_state": false, "mfa_only": true, "user_handle": "someone-else"}]},
  {"user_id": "2f0649cf-c71e-48a5-92c3-210addb80281", "emails": [{"address": "test2@example.com", "is_primary": true, "is_verified": true}], "password": {"password": "$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"}, "otp_secret": null}
]`

// TestImportHankoFileWithBadEntries: every bad entry is reported with its
// index and what is wrong, and nothing is written; the good entries import
// once the bad ones are removed.
func TestImportHankoFileWithBadEntries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tr := h.transfer(t)
	before := h.snapshot(t)
	_, err := tr.Import(context.Background(), strings.NewReader(hankoFile))
	if !errors.Is(err, app.ErrInvalidImportFile) {
		t.Fatalf("Import = %v, want ErrInvalidImportFile", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"entry 1: username", "entry 1: emails: at least one address",
		"entry 2: emails: exactly one address must be primary", "entry 2: user_id: must be a UUID",
		"entry 3: emails[0].address", "entry 3: password.password", "entry 3: otp_secret",
		"entry 4: not a valid entry",
		"entry 5: user_id a9ae6bc8-d829-43de-b672-f50230833877 repeats entry 0",
		"entry 5: webauthn_credentials[0].public_key", "entry 5: webauthn_credentials[0].sign_count",
		"entry 5: webauthn_credentials[0].mfa_only", "entry 5: webauthn_credentials[0].user_handle",
		"entry 5: webauthn credential id is also in entry 0",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the report lacks %q:\n%s", want, msg)
		}
	}
	for _, good := range []string{"entry 0:", "entry 6:"} {
		if strings.Contains(msg, good) {
			t.Errorf("the report names the good %s\n%s", good, msg)
		}
	}
	h.wantRowsUnchanged(t, before)

	var all []json.RawMessage
	if err := json.Unmarshal([]byte(hankoFile), &all); err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal([]json.RawMessage{all[0], all[6]})
	outcomes, err := tr.Import(context.Background(), bytes.NewReader(good))
	if err != nil || len(outcomes) != 2 || !outcomes[0].Imported || !outcomes[1].Imported {
		t.Fatalf("Import of the good entries = %+v, %v", outcomes, err)
	}
	r := h.admin(t, "GET", "/users/a9ae6bc8-d829-43de-b672-f50230833877", "")
	var u adminUser
	if r.json(t, &u); len(u.Emails) != 2 || len(u.Credentials) != 1 || u.Credentials[0].ID != "AQIDBA" || u.Password == nil || !strings.HasPrefix(u.CreatedAt, "2024-08-17T12:05:15.651387") {
		t.Fatalf("imported Hanko user: %s", r.Body)
	}
}
