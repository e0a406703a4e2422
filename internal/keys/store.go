package keys

import (
	"context"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Store is the persistence of signing keys; internal/store satisfies it.
type Store interface {
	// ListSigningKeys returns every stored key, oldest (lowest ID) first.
	ListSigningKeys(ctx context.Context) ([]inkan.SigningKey, error)
	// InsertSigningKey stores k (its ID is assigned by the database) and
	// returns it with ID set. ErrConflict when k.KID exists.
	InsertSigningKey(ctx context.Context, k inkan.SigningKey) (inkan.SigningKey, error)
}
