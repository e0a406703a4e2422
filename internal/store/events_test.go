package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/dbtest"
	"github.com/inkan-auth/inkan/internal/inkan"
	"github.com/inkan-auth/inkan/internal/store"
)

// TestEventJournal: on every database an event written in a transaction
// that rolls back is gone together with the change, a committed one is
// read back whole in seq order, and a nested Atomically joins the outer
// transaction (its writes roll back with it).
func TestEventJournal(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, o store.Options) {
		ctx := inkan.WithRequestMeta(context.Background(), inkan.RequestMeta{ID: "rid-1", ClientIP: "2001:db8::1", UserAgent: "JournalTest/1"})
		st, err := store.Open(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
		u := inkan.User{ID: uuid.New(), CreatedAt: at, UpdatedAt: at}
		refused := errors.New("refused")

		// Rolled back: neither the user nor its event, even from a nested unit.
		err = st.Atomically(ctx, func(ctx context.Context) error {
			if _, err := st.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), Address: "j@example.test"}); err != nil {
				return err
			}
			return st.Atomically(ctx, func(ctx context.Context) error {
				if err := st.RecordEvent(ctx, inkan.NewEvent(ctx, inkan.EventUserCreated, inkan.Actor{UserID: u.ID}, at)); err != nil {
					return err
				}
				return refused
			})
		})
		if !errors.Is(err, refused) {
			t.Fatalf("Atomically returned %v, want fn's error", err)
		}
		if evs, err := st.Events(ctx, 0, 10); err != nil || len(evs) != 0 {
			t.Fatalf("events after a rollback: %v %v", evs, err)
		}
		if _, err := st.GetUser(ctx, u.ID); !errors.Is(err, inkan.ErrNotFound) {
			t.Fatalf("user after a rollback: %v", err)
		}

		// Committed: read back whole, in order.
		first := inkan.NewEvent(ctx, inkan.EventUserCreated, inkan.Actor{UserID: u.ID, Email: "j@example.test"}, at).With("email_id", "e-1")
		second := inkan.FailedEvent(ctx, inkan.EventPasscodeLoginFinalFailed, inkan.Actor{}, inkan.E(inkan.KindNotFound, "passcode not found"), at)
		err = st.Atomically(ctx, func(ctx context.Context) error {
			if _, err := st.CreateUser(ctx, u, inkan.Email{ID: uuid.New(), Address: "j@example.test"}); err != nil {
				return err
			}
			return st.RecordEvent(ctx, first)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.RecordEvent(ctx, second); err != nil {
			t.Fatal(err)
		}
		evs, err := st.Events(ctx, 0, 10)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %v %v", evs, err)
		}
		if evs[0].Seq <= 0 || evs[1].Seq <= evs[0].Seq {
			t.Fatalf("seq %d, %d: want positive and increasing", evs[0].Seq, evs[1].Seq)
		}
		first.Seq, second.Seq = evs[0].Seq, evs[1].Seq
		if !reflect.DeepEqual(evs[0], first) || !reflect.DeepEqual(evs[1], second) {
			t.Fatalf("read back\n %+v\n %+v\nwant\n %+v\n %+v", evs[0], evs[1], first, second)
		}
		if second.Error != "passcode not found" || second.Request.ID != "rid-1" {
			t.Fatalf("failed event %+v", second)
		}
		// Reading after a position.
		if rest, err := st.Events(ctx, evs[0].Seq, 10); err != nil || len(rest) != 1 || rest[0].ID != second.ID {
			t.Fatalf("events after seq %d: %v %v", evs[0].Seq, rest, err)
		}
	})
}
