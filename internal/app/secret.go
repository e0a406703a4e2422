package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/inkan-auth/inkan/internal/config"
)

// secretFileName is the generated secret's file, beside the SQLite database.
const secretFileName = "inkan.secret"

// loadSecrets returns secrets.keys, or — when none are configured and the
// database is the embedded SQLite file — the secret in "inkan.secret"
// beside it, created on first start from 32 crypto/rand bytes (64 hex
// characters) with 0600 permissions. A secret file readable by group or
// others is refused.
func loadSecrets(cfg config.Config, log *slog.Logger) ([]string, error) {
	if len(cfg.Secrets.Keys) > 0 {
		return cfg.Secrets.Keys, nil
	}
	dialect, dsn := cfg.DatabaseDSN()
	if dialect != "sqlite" {
		return nil, errors.New("secrets.keys: required when the database is not SQLite (every node must share it)")
	}
	dir := filepath.Dir(dsn)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	path := filepath.Join(dir, secretFileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("secret: %s is accessible by other users (mode %v); chmod 600 it", path, fi.Mode().Perm())
		}
		s := strings.TrimSpace(string(b))
		if len(s) < 16 {
			return nil, fmt.Errorf("secret: %s holds fewer than 16 characters", path)
		}
		log.Info("secret: loaded", "path", path)
		return []string{s}, nil
	case errors.Is(err, fs.ErrNotExist):
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		s := hex.EncodeToString(raw[:])
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		if _, err := f.WriteString(s + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("secret: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		log.Info("secret: generated", "path", path)
		return []string{s}, nil
	default:
		return nil, fmt.Errorf("secret: %w", err)
	}
}
