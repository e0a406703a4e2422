package passcode

import (
	"context"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// Mailer delivers a passcode mail; internal/mail satisfies it. Send must
// respect ctx's deadline and return an error when the message was not
// accepted by the mail server.
type Mailer interface {
	SendPasscode(ctx context.Context, m inkan.PasscodeMail) error
}
