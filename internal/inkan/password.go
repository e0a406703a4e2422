package inkan

import (
	"time"

	"github.com/google/uuid"
)

// PasswordCredential is a user's password (docs/compatibility.md "Passwords", table
// password_credentials). A user has at most one. Hash is a self-describing
// encoded hash: a PHC string "$argon2id$v=19$m=…,t=…,p=…$salt$hash" or a
// bcrypt string "$2a$…"/"$2b$…" (as imported from Hanko). The clear-text
// password is never stored or logged.
type PasswordCredential struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	Hash      string
	CreatedAt time.Time // UTC
	UpdatedAt time.Time // UTC
}
