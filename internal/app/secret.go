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
	"github.com/inkan-auth/inkan/internal/store"
)

// secretFileName is the generated secret's file, beside the SQLite database.
const secretFileName = "inkan.secret"

// secretPath returns the secret file beside the SQLite database file.
func secretPath(target store.Target) string {
	return filepath.Join(filepath.Dir(target.SQLiteFile()), secretFileName)
}

// loadSecrets returns secrets.keys, or — when none are configured and the database is the embedded
// SQLite file — the secret in "inkan.secret" beside it. With create (serve), a secret file that is
// missing while the database file is missing too (a first start) is created from 32 crypto/rand bytes
// (64 hex characters) with 0600 permissions; a missing secret beside an existing database is refused,
// since the database's signing keys are encrypted with the lost secret. Without create (the
// maintenance commands) a missing secret is always refused. A secret file readable by group or others,
// or holding fewer than 16 characters, is refused.
func loadSecrets(cfg config.Config, target store.Target, log *slog.Logger, create bool) ([]string, error) {
	if len(cfg.Secrets.Keys) > 0 {
		return cfg.Secrets.Keys, nil
	}
	if target.Dialect != "sqlite" {
		return nil, errors.New("secrets.keys: required when the database is not SQLite (every node must share it)")
	}
	path := secretPath(target)
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
		_, dbErr := os.Stat(target.SQLiteFile())
		if !create || dbErr == nil {
			return nil, fmt.Errorf("the secret file %s (%s) does not exist. The signing keys in the database are encrypted with it: restore %s from the backup you took together with the database (or set secrets.keys); nothing was created", path, secretFileName, secretFileName)
		}
		return createSecret(path, log)
	default:
		return nil, fmt.Errorf("secret: %w", err)
	}
}

// createSecret writes a new secret file (and its directory, 0700) at path.
func createSecret(path string, log *slog.Logger) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
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
}

// wrongSecret explains a database whose signing keys the configured secret cannot decrypt.
func wrongSecret(err error, cfg config.Config, target store.Target) error {
	where := "secrets.keys"
	if len(cfg.Secrets.Keys) == 0 {
		where = secretPath(target) + " (" + secretFileName + ")"
	}
	return fmt.Errorf("%w: the signing keys in the database were encrypted with another secret than %s. Restore the %s that belongs to this database from the backup you took together with it (or list the old secret in secrets.keys)", err, where, secretFileName)
}
