package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/inkan-auth/inkan/internal/config"
	"github.com/inkan-auth/inkan/internal/userimport"
)

// UserTransfer exports and imports users in Hanko's user import format,
// for `inkan user export|import`.
type UserTransfer = userimport.Service

// ImportOutcome is what happened to one entry of an import.
type ImportOutcome = userimport.Outcome

// ErrInvalidImportFile is wrapped by UserTransfer.Import when a file does
// not validate (its message lists every bad entry); nothing was written.
var ErrInvalidImportFile = userimport.ErrInvalidFile

// OpenUserTransfer opens the configured database for user export and
// import: it must exist with a current schema (nothing is created or
// migrated). The returned function closes it.
func OpenUserTransfer(ctx context.Context, cfg config.Config, log *slog.Logger) (*UserTransfer, func() error, error) {
	st, err := OpenStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if err := requireCurrentSchema(ctx, st); err != nil {
		st.Close()
		return nil, nil, err
	}
	return userimport.New(st, time.Now), st.Close, nil
}
