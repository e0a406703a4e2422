package keys

import (
	"context"
	"time"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence of signing keys; internal/store satisfies it.
type Store interface {
	// ListSigningKeys returns every stored key, oldest (lowest ID) first.
	ListSigningKeys(ctx context.Context) ([]inkan.SigningKey, error)
	// InsertSigningKey stores k (its ID is assigned by the database) and
	// returns it with ID set. ErrConflict when k.KID exists.
	InsertSigningKey(ctx context.Context, k inkan.SigningKey) (inkan.SigningKey, error)
	// ResealSigningKey replaces key id's sealed material old with sealed;
	// ErrStale when it no longer is old (re-sealed by another node).
	ResealSigningKey(ctx context.Context, id int64, old, sealed []byte) error
	// RevokeSigningKey marks key kid revoked at at (idempotent);
	// ErrNotFound for an unknown kid.
	RevokeSigningKey(ctx context.Context, kid string, at time.Time) error
}
