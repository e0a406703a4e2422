package mail_test

import (
	"bytes"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	imail "github.com/inkan-auth/inkan/internal/mail"
	"github.com/inkan-auth/inkan/internal/outboxtest"
)

// captureLog returns a debug-level logger writing text lines to a buffer.
func captureLog() (*slog.Logger, *outboxtest.Buffer) {
	b := &outboxtest.Buffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func loadTemplates(t testing.TB) *imail.Templates {
	t.Helper()
	tpl, err := imail.LoadTemplates("")
	if err != nil {
		t.Fatalf("LoadTemplates: %v", err)
	}
	return tpl
}

// parsedMail is a received message taken apart with net/mail and
// mime/multipart.
type parsedMail struct {
	Header      mail.Header
	From        *mail.Address
	To          []*mail.Address
	Subject     string // RFC 2047-decoded
	ContentType string // top-level media type
	Text, HTML  string // decoded part bodies
	TextType    string // full Content-Type of the text part
	HTMLType    string
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, data)
	}
	var p parsedMail
	p.Header = msg.Header
	if p.From, err = mail.ParseAddress(msg.Header.Get("From")); err != nil {
		t.Fatalf("From %q: %v", msg.Header.Get("From"), err)
	}
	if p.To, err = msg.Header.AddressList("To"); err != nil {
		t.Fatalf("To: %v", err)
	}
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	p.ContentType = mediaType
	if !strings.HasPrefix(mediaType, "multipart/") {
		t.Fatalf("Content-Type = %q, want multipart/alternative\n%s", mediaType, data)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		ct := part.Header.Get("Content-Type")
		pt, _, _ := mime.ParseMediaType(ct)
		switch pt {
		case "text/plain":
			p.Text, p.TextType = string(body), ct
		case "text/html":
			p.HTML, p.HTMLType = string(body), ct
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	return p
}
