package session_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// memStore is an in-memory session.Store and keys.Store. internal/store
// and internal/dbtest did not exist yet when this package was written; once
// they do, these tests should run on dbtest.Open(t, "sqlite") instead.
type memStore struct {
	mu       sync.Mutex
	sessions map[uuid.UUID]inkan.Session
	seq      int // insertion order, to break created_at ties
	order    map[uuid.UUID]int
	keys     []inkan.SigningKey
}

func newMemStore() *memStore {
	return &memStore{sessions: map[uuid.UUID]inkan.Session{}, order: map[uuid.UUID]int{}}
}

func (s *memStore) CreateSession(_ context.Context, row inkan.Session, limit int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[row.ID]; ok {
		return inkan.ErrConflict
	}
	s.seq++
	s.sessions[row.ID] = row
	s.order[row.ID] = s.seq
	var live []inkan.Session
	for _, o := range s.sessions {
		if o.UserID == row.UserID && o.ExpiresAt.After(row.CreatedAt) {
			live = append(live, o)
		}
	}
	slices.SortFunc(live, func(a, b inkan.Session) int { // newest first
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return s.order[b.ID] - s.order[a.ID]
	})
	for _, o := range live[min(limit, len(live)):] {
		delete(s.sessions, o.ID)
	}
	return nil
}

func (s *memStore) GetSession(_ context.Context, id uuid.UUID) (inkan.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := s.sessions[id]
	if !ok {
		return inkan.Session{}, inkan.ErrNotFound
	}
	return row, nil
}

func (s *memStore) TouchSession(_ context.Context, id uuid.UUID, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := s.sessions[id]
	if !ok {
		return inkan.ErrNotFound
	}
	row.LastUsed = now
	s.sessions[id] = row
	return nil
}

func (s *memStore) DeleteSession(_ context.Context, id uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[id]; !ok {
		return inkan.ErrNotFound
	}
	delete(s.sessions, id)
	return nil
}

func (s *memStore) ListSigningKeys(context.Context) ([]inkan.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys), nil
}

func (s *memStore) InsertSigningKey(_ context.Context, k inkan.SigningKey) (inkan.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.ID = int64(len(s.keys) + 1)
	s.keys = append(s.keys, k)
	return k, nil
}
