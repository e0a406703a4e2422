package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// DevMailer is the development mailer used when no SMTP host is configured:
// it writes each passcode mail as a framed block to an outbox stream (the
// process's stdout, say) instead of sending it, so that a developer can
// read the code. The code goes to the outbox only, never to the logger. It
// satisfies passcode.Mailer and is safe for concurrent use.
type DevMailer struct {
	mu  sync.Mutex
	out io.Writer
	t   *Templates
	log *slog.Logger
}

// NewDev returns a development mailer writing to out with templates t and
// logger log (nil → slog.Default()).
func NewDev(out io.Writer, t *Templates, log *slog.Logger) *DevMailer {
	if log == nil {
		log = slog.Default()
	}
	return &DevMailer{out: out, t: t, log: log}
}

const devRule = "=================== inkan development outbox ==================="

// SendPasscode renders p like the SMTP mailer does (code not in the
// subject) and writes one block to the outbox:
//
//	=================== inkan development outbox ===================
//	To:       user@example.com
//	Subject:  Your sign-in code for Example
//	Language: en
//	Passcode: 123456 (valid for 5 minutes)
//	----------------------------------------------------------------
//	<text/plain body>
//	================================================================
//
// It then logs "passcode mail written to development outbox" at info level
// with the user id (never the address: logs hold no e-mail addresses).
// Errors (rendering, writing to the outbox) are of kind
// inkan.KindInternal and never contain the code. ctx is not used: writing
// does not block on the network.
func (d *DevMailer) SendPasscode(ctx context.Context, p inkan.PasscodeMail) error {
	if d.t == nil {
		return inkan.Wrap(inkan.KindInternal, "", errors.New("mail: development mailer has no templates"))
	}
	r, err := d.t.RenderPasscode(p, false)
	if err != nil {
		return inkan.Wrap(inkan.KindInternal, "", err)
	}
	var b strings.Builder
	rule := strings.Repeat("-", len(devRule))
	fmt.Fprintf(&b, "\n%s\nTo:       %s\nSubject:  %s\nLanguage: %s\nPasscode: %s (valid for %d minutes)\n%s\n",
		devRule, p.To, r.Subject, r.Language, p.Code, r.Minutes, rule)
	b.WriteString(strings.TrimRight(r.Text, "\n"))
	fmt.Fprintf(&b, "\n%s\n\n", strings.Repeat("=", len(devRule)))

	d.mu.Lock()
	_, err = io.WriteString(d.out, b.String())
	d.mu.Unlock()
	if err != nil {
		d.log.ErrorContext(ctx, "writing to the development outbox failed", "user_id", p.UserID, "error", err.Error())
		return inkan.Wrap(inkan.KindInternal, "", fmt.Errorf("mail: development outbox: %w", err))
	}
	d.log.InfoContext(ctx, "passcode mail written to development outbox", "user_id", p.UserID, "language", r.Language)
	return nil
}
