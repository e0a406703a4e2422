package password

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// cheap keeps the tests fast under -race; the format is the same.
var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestArgon2idRoundTrip(t *testing.T) {
	h, err := NewHasher(Argon2id, cheap, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(enc, "$") != 5 {
		t.Fatalf("not a PHC argon2id string: %s", enc)
	}
	again, _ := h.Hash("correct horse")
	if again == enc {
		t.Fatal("two hashes share a salt")
	}
	if ok, rehash, err := h.Verify(enc, "correct horse"); !ok || rehash || err != nil {
		t.Fatalf("Verify = %v, %v, %v", ok, rehash, err)
	}
	if ok, _, err := h.Verify(enc, "correct horsE"); ok || err != nil {
		t.Fatalf("wrong password: %v, %v", ok, err)
	}
	// Other parameters: still verifies, asks for a rehash.
	h2, _ := NewHasher(Argon2id, Argon2Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if ok, rehash, err := h2.Verify(enc, "correct horse"); !ok || !rehash || err != nil {
		t.Fatalf("Verify with other params = %v, %v, %v", ok, rehash, err)
	}
}

// A PHC string written by another implementation (salt and key in unpadded
// standard base64, parameters in the string) verifies and, having other
// parameters than configured, asks for a rehash.
func TestArgon2idForeignPHC(t *testing.T) {
	h, _ := NewHasher(Argon2id, cheap, 0)
	salt := []byte("somesalt")
	key := argon2.IDKey([]byte("password"), salt, 2, 256, 2, 24)
	enc := "$argon2id$v=19$m=256,t=2,p=2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
	ok, rehash, err := h.Verify(enc, "password")
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(foreign) = %v, %v, %v", ok, rehash, err)
	}
}

func TestBcryptImportedFromHanko(t *testing.T) {
	h, _ := NewHasher(Argon2id, cheap, 0)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		b, err := bcrypt.GenerateFromPassword([]byte("hanko-password"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		enc := prefix + string(b[4:])
		ok, rehash, err := h.Verify(enc, "hanko-password")
		if prefix == "$2y$" && err != nil {
			t.Logf("%s not supported by x/crypto/bcrypt: %v", prefix, err)
			continue
		}
		if !ok || !rehash || err != nil {
			t.Fatalf("%s: Verify = %v, %v, %v", prefix, ok, rehash, err)
		}
		if ok, _, err := h.Verify(enc, "other"); ok || err != nil {
			t.Fatalf("%s: wrong password = %v, %v", prefix, ok, err)
		}
	}
	// bcrypt configured: a bcrypt hash at the configured cost needs no rehash, a cheaper one does.
	hb, _ := NewHasher(Bcrypt, Argon2Params{}, bcrypt.MinCost+1)
	enc, err := hb.Hash("pw-pw-pw-pw")
	if err != nil || !strings.HasPrefix(enc, "$2a$05$") {
		t.Fatalf("bcrypt Hash = %q, %v", enc, err)
	}
	if ok, rehash, _ := hb.Verify(enc, "pw-pw-pw-pw"); !ok || rehash {
		t.Fatalf("same cost: ok=%v rehash=%v", ok, rehash)
	}
	low, _ := bcrypt.GenerateFromPassword([]byte("pw-pw-pw-pw"), bcrypt.MinCost)
	if ok, rehash, _ := hb.Verify(string(low), "pw-pw-pw-pw"); !ok || !rehash {
		t.Fatalf("lower cost: ok=%v rehash=%v", ok, rehash)
	}
}

func TestVerifyRejectsGarbage(t *testing.T) {
	h, _ := NewHasher(Argon2id, cheap, 0)
	for _, enc := range []string{"", "plain", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA", "$argon2id$v=18$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "$2a$xx$garbage", "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"} {
		if ok, _, err := h.Verify(enc, "password"); ok || !errors.Is(err, ErrUnknownHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrUnknownHash", enc, ok, err)
		}
	}
	if _, err := NewHasher("md5", Argon2Params{}, 0); err == nil {
		t.Error("NewHasher(md5) succeeded")
	}
}

// memStore is an in-memory Store for the service rules; the real store is
// covered by internal/store's conformance suite.
type memStore struct {
	AdminStore // not used by these tests; the admin routes run on the real store
	mu         sync.Mutex
	users      map[uuid.UUID]bool
	creds      map[uuid.UUID]string
	events     []inkan.EventType
}

// Atomically runs fn; the map writes of these tests cannot fail halfway.
func (m *memStore) Atomically(ctx context.Context, fn func(context.Context) error) error {
	return fn(ctx)
}

func (m *memStore) RecordEvent(_ context.Context, e inkan.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e.Type)
	return nil
}

func (m *memStore) GetUser(_ context.Context, id uuid.UUID) (inkan.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.users[id] {
		return inkan.User{}, inkan.ErrNotFound
	}
	return inkan.User{ID: id}, nil
}

func (m *memStore) GetPasswordCredential(_ context.Context, id uuid.UUID) (inkan.PasswordCredential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.creds[id]
	if !ok {
		return inkan.PasswordCredential{}, inkan.ErrNotFound
	}
	return inkan.PasswordCredential{UserID: id, Hash: h}, nil
}

func (m *memStore) SetPasswordCredential(_ context.Context, id uuid.UUID, hash string, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.users[id] {
		return false, inkan.ErrNotFound
	}
	_, had := m.creds[id]
	m.creds[id] = hash
	return !had, nil
}

func (m *memStore) ReplacePasswordHash(_ context.Context, id uuid.UUID, old, hash string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.creds[id] != old {
		return inkan.ErrStale
	}
	m.creds[id] = hash
	return nil
}

func TestServiceRules(t *testing.T) {
	ctx := context.Background()
	u, other := uuid.New(), uuid.New()
	st := &memStore{users: map[uuid.UUID]bool{u: true, other: true}, creds: map[uuid.UUID]string{}}
	s, err := New(st, Options{MinLength: 8, Argon2: cheap}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kind := func(err error) inkan.Kind { return inkan.KindOf(err) }
	for _, c := range []struct {
		name     string
		subject  uuid.UUID
		userID   uuid.UUID
		pw       string
		kind     inkan.Kind
		contains string
	}{
		{"7 code points", u, u, "äöüßéèà", inkan.KindInvalid, "at least 8 characters"},
		{"73 bytes", u, u, strings.Repeat("a", 73), inkan.KindInvalid, "72 bytes"},
		{"8 code points but 24 bytes is long enough", u, uuid.New(), "€€€€€€€€", inkan.KindUnauthorized, ""},
		{"unknown user", u, uuid.New(), "longenough", inkan.KindUnauthorized, ""},
		{"other user", u, other, "longenough", inkan.KindForbidden, ""},
	} {
		_, err := s.Set(ctx, c.subject, c.userID, c.pw)
		if kind(err) != c.kind || !strings.Contains(inkan.MessageOf(err), c.contains) {
			t.Errorf("%s: Set err = %v (kind %v), want kind %v %q", c.name, err, kind(err), c.kind, c.contains)
		}
	}
	if len(st.creds) != 0 {
		t.Fatal("a rejected Set wrote a credential")
	}
	// 72 bytes exactly is fine; first set creates, second replaces.
	if created, err := s.Set(ctx, u, u, strings.Repeat("€", 24)); err != nil || !created {
		t.Fatalf("Set 72 bytes = %v, %v", created, err)
	}
	if created, err := s.Set(ctx, u, u, "new password"); err != nil || created {
		t.Fatalf("Set again = %v, %v", created, err)
	}
	if err := s.Login(ctx, u, "new password"); err != nil {
		t.Fatalf("Login: %v", err)
	}
	for _, c := range []struct {
		name   string
		userID uuid.UUID
		pw     string
		kind   inkan.Kind
	}{
		{"wrong", u, "old password", inkan.KindUnauthorized},
		{"unknown user", uuid.New(), "new password", inkan.KindUnauthorized},
		{"no password", other, "new password", inkan.KindUnauthorized},
		{"too long", u, strings.Repeat("a", 73), inkan.KindInvalid},
	} {
		if err := s.Login(ctx, c.userID, c.pw); kind(err) != c.kind {
			t.Errorf("Login %s: %v, want kind %v", c.name, err, c.kind)
		}
	}
}

func TestLoginUpgradesBcrypt(t *testing.T) {
	ctx := context.Background()
	u := uuid.New()
	b, _ := bcrypt.GenerateFromPassword([]byte("from hanko!"), bcrypt.MinCost)
	st := &memStore{users: map[uuid.UUID]bool{u: true}, creds: map[uuid.UUID]string{u: string(b)}}
	s, _ := New(st, Options{Argon2: cheap}, nil)
	if err := s.Login(ctx, u, "wrong one"); inkan.KindOf(err) != inkan.KindUnauthorized {
		t.Fatalf("wrong password: %v", err)
	}
	if st.creds[u] != string(b) {
		t.Fatal("a failed login changed the hash")
	}
	if err := s.Login(ctx, u, "from hanko!"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.creds[u], "$argon2id$") {
		t.Fatalf("hash not upgraded: %s", st.creds[u])
	}
	if err := s.Login(ctx, u, "from hanko!"); err != nil {
		t.Fatalf("login after upgrade: %v", err)
	}
}
