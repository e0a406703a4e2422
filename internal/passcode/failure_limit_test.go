package passcode_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/passcode"
	"github.com/inkan-auth/inkan/internal/store"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// wrongCode returns a code that is not code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// TestFailureLimitPerUser: wrong codes are counted per user across all of
// the user's passcodes; once the budget is spent, even the right code is
// refused with KindTooManyRequests and a retry time, until a token is back.
// Right codes cost nothing.
func TestFailureLimitPerUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	svc, err := passcode.New(e.st, e.mail, passcode.Options{TTL: 300 * time.Second, Secret: testSecret, ServiceName: "Test",
		FailureLimit: passcode.FailureLimit{Tokens: 4, Interval: time.Hour}}, func() time.Time { return e.now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	issue := func() (inkan.Passcode, string) {
		t.Helper()
		p, err := svc.Initialize(ctx, e.r)
		if err != nil {
			t.Fatal(err)
		}
		return p, e.mail.last().Code
	}
	// Right codes do not spend the budget.
	for range 6 {
		p, code := issue()
		if _, err := svc.Finalize(ctx, p.ID, code, nil); err != nil {
			t.Fatalf("right code: %v", err)
		}
	}
	// Four wrong codes over two passcodes (the per-passcode limit is 3).
	p1, c1 := issue()
	for _, want := range []inkan.Kind{inkan.KindUnauthorized, inkan.KindUnauthorized, inkan.KindGone} {
		if _, err := svc.Finalize(ctx, p1.ID, wrongCode(c1), nil); inkan.KindOf(err) != want {
			t.Fatalf("wrong code on passcode 1: %v, want %v", err, want)
		}
	}
	p2, c2 := issue()
	if _, err := svc.Finalize(ctx, p2.ID, wrongCode(c2), nil); inkan.KindOf(err) != inkan.KindUnauthorized {
		t.Fatalf("fourth wrong code: %v", err)
	}
	// Spent: the right code is refused too, with the time of the next token.
	got, err := svc.Finalize(ctx, p2.ID, c2, nil)
	var ra *inkan.RetryAfter
	if inkan.KindOf(err) != inkan.KindTooManyRequests || !errors.As(err, &ra) || ra.After <= 0 || ra.After > 15*time.Minute || got.UserID != e.r.UserID {
		t.Fatalf("right code with the budget spent: %+v, %v", got, err)
	}
	// Another user is not affected.
	other := inkan.User{ID: uuid.New(), CreatedAt: e.now, UpdatedAt: e.now}
	oe, err := e.st.CreateUser(ctx, other, inkan.Email{ID: uuid.New(), UserID: other.ID, Address: "q@example.test", CreatedAt: e.now, UpdatedAt: e.now})
	if err != nil {
		t.Fatal(err)
	}
	po, err := svc.Initialize(ctx, passcode.Recipient{UserID: other.ID, EmailID: oe.ID, Address: oe.Address})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Finalize(ctx, po.ID, e.mail.last().Code, nil); err != nil {
		t.Fatalf("another user: %v", err)
	}
	// One token back after Interval/Tokens.
	e.now = e.now.Add(ra.After)
	p3, c3 := issue()
	if _, err := svc.Finalize(ctx, p3.ID, c3, nil); err != nil {
		t.Fatalf("right code after the retry time: %v", err)
	}
}

// TestFailureLimitAcrossNodes: two nodes (two store handles, two services)
// on one database answer 40 concurrent wrong codes for one user; exactly
// the budget of them are checked, the rest refused, on every database.
func TestFailureLimitAcrossNodes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := context.Background()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		var nodes []*passcode.Service
		mail := &outbox{}
		var st *store.Store
		for i := range 2 {
			s, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if i == 0 {
				if _, err := s.MigrateUp(ctx); err != nil {
					t.Fatal(err)
				}
				st = s
			}
			svc, err := passcode.New(s, mail, passcode.Options{TTL: 300 * time.Second, Secret: testSecret, ServiceName: "Test",
				FailureLimit: passcode.FailureLimit{Tokens: 10, Interval: time.Hour}}, func() time.Time { return now }, nil)
			if err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, svc)
		}
		u := inkan.User{ID: uuid.New(), CreatedAt: now, UpdatedAt: now}
		em, err := st.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), UserID: u.ID, Address: "n@example.test", Verified: true, CreatedAt: now, UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		// 20 passcodes (3 attempts each would allow 60 guesses), 2 guesses each.
		type guess struct {
			id   uuid.UUID
			code string
		}
		var guesses []guess
		for range 20 {
			p, err := nodes[0].Initialize(ctx, passcode.Recipient{UserID: u.ID, EmailID: em.ID, Address: em.Address})
			if err != nil {
				t.Fatal(err)
			}
			w := wrongCode(mail.last().Code)
			guesses = append(guesses, guess{p.ID, w}, guess{p.ID, w})
		}
		var mu sync.Mutex
		counts := map[inkan.Kind]int{}
		var wg sync.WaitGroup
		for i, g := range guesses {
			wg.Go(func() {
				_, err := nodes[i%2].Finalize(ctx, g.id, g.code, nil)
				mu.Lock()
				counts[inkan.KindOf(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		checked := counts[inkan.KindUnauthorized] + counts[inkan.KindGone]
		if checked != 10 || counts[inkan.KindTooManyRequests] != 30 {
			t.Fatalf("outcomes %v: %d codes checked, want exactly 10 and 30 refused", counts, checked)
		}
	})
}
