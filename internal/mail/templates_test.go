package mail_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inkan-auth/inkan/internal/inkan"
	imail "github.com/inkan-auth/inkan/internal/mail"
)

func TestChooseLanguage(t *testing.T) {
	cases := []struct {
		x, accept, want string
	}{
		{"", "", "en"},
		{"de", "", "de"},
		{"", "de-AT", "de"},
		{"", "de-AT,de;q=0.9,en;q=0.8", "de"},
		{"", "pt-br", "pt-BR"},
		{"", "pt", "pt-BR"},
		{"", "zh", "zh-CN"},
		{"", "zh-Hans-CN", "zh-CN"},
		{"", "ja-JP", "ja"},
		{"", "es-MX", "es"},
		{"", "fr-CA", "fr"},
		{"", "it-CH", "it"},
		{"", "nl-BE", "nl"},
		{"", "ko", "en"},
		{"", "*", "en"},
		{"", "fr;q=0.5, nl;q=0.9", "nl"},     // quality values order, not position
		{"", "ko, sv;q=0.9, it;q=0.2", "it"}, // unsupported preferences skipped
		{"", "de;q=0, fr", "fr"},             // q=0 means "not acceptable"
		{"", "not a tag!!, es;q=0.3", "es"},  // a broken entry does not void the rest
		{"ja", "de", "ja"},                   // X-Language first
		{"ko", "de", "de"},                   // unsupported X-Language → Accept-Language
		{"garbage!!", "", "en"},              // unparsable X-Language → default
		{"", "en-GB,de;q=0.9", "en"},         // English is a language like the others
	}
	for _, c := range cases {
		if got := imail.ChooseLanguage(c.x, c.accept); got != c.want {
			t.Errorf("ChooseLanguage(%q, %q) = %q, want %q", c.x, c.accept, got, c.want)
		}
	}
}

func TestLanguages(t *testing.T) {
	got := loadTemplates(t).Languages()
	for _, want := range []string{"en", "de", "fr", "es", "it", "nl", "pt-BR", "zh-CN", "ja"} {
		if !slices.Contains(got, want) {
			t.Errorf("Languages() = %v, missing %s", got, want)
		}
	}
}

func TestRenderValidityMinutesRoundUp(t *testing.T) {
	tpl := loadTemplates(t)
	cases := []struct {
		ttl     time.Duration
		minutes int
		phrase  string
	}{
		{300 * time.Second, 5, "It expires in 5 minutes."},
		{301 * time.Second, 6, "It expires in 6 minutes."},
		{90 * time.Second, 2, "It expires in 2 minutes."},
		{59 * time.Second, 1, "It expires in 1 minute."},
		{60 * time.Second, 1, "It expires in 1 minute."},
	}
	for _, c := range cases {
		r, err := tpl.RenderPasscode(inkan.PasscodeMail{To: "a@example.com", Code: "123456", TTL: c.ttl, ServiceName: "Acme"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if r.Minutes != c.minutes || !strings.Contains(r.Text, c.phrase) || !strings.Contains(r.HTML, c.phrase) {
			t.Errorf("TTL %v: minutes %d, want %d with %q in both bodies\n%s", c.ttl, r.Minutes, c.minutes, c.phrase, r.Text)
		}
	}
}

func TestRenderCodeInSubject(t *testing.T) {
	tpl := loadTemplates(t)
	m := inkan.PasscodeMail{To: "a@example.com", Code: "482913", TTL: 5 * time.Minute, ServiceName: "Acme"}
	off, err := tpl.RenderPasscode(m, false)
	if err != nil {
		t.Fatal(err)
	}
	if off.Subject != "Your sign-in code for Acme" {
		t.Errorf("subject = %q", off.Subject)
	}
	on, err := tpl.RenderPasscode(m, true)
	if err != nil {
		t.Fatal(err)
	}
	if on.Subject != "482913 is your sign-in code for Acme" {
		t.Errorf("subject with code = %q", on.Subject)
	}
	m.Language = "de"
	de, _ := tpl.RenderPasscode(m, true)
	if de.Subject != "482913 ist Ihr Anmeldecode für Acme" {
		t.Errorf("de subject with code = %q", de.Subject)
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	tpl := loadTemplates(t)
	r, err := tpl.RenderPasscode(inkan.PasscodeMail{To: "a@example.com", Code: "123456", TTL: time.Minute, ServiceName: `<b>Acme & "Co"</b>`}, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<b>Acme") || !strings.Contains(r.HTML, "&lt;b&gt;Acme &amp; ") {
		t.Errorf("service name not escaped in HTML:\n%s", r.HTML)
	}
	if !strings.Contains(r.Text, `<b>Acme & "Co"</b>`) {
		t.Errorf("text body must carry the name verbatim:\n%s", r.Text)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOverrideDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "passcode.txt.tmpl", "CUSTOM {{.ServiceName}}: {{.Code}} ({{.Minutes}} min) {{.T.intro}}\n")
	writeFile(t, dir, "locales/de.json", `{"subject": "Dein Code für {service}"}`)
	writeFile(t, dir, "locales/sv.json", `{"subject": "Din inloggningskod för {service}", "intro": "Ange koden:"}`)
	writeFile(t, dir, "README.txt", "ignored")
	tpl, err := imail.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := inkan.PasscodeMail{To: "a@example.com", Code: "654321", TTL: 5 * time.Minute, ServiceName: "Acme"}
	r, err := tpl.RenderPasscode(m, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "CUSTOM Acme: 654321 (5 min) Enter this code to sign in to Acme:\n" {
		t.Errorf("overridden text = %q", r.Text)
	}
	if !strings.Contains(r.HTML, "<!DOCTYPE html>") || !strings.Contains(r.HTML, "654321") {
		t.Errorf("HTML template must stay the embedded one:\n%s", r.HTML)
	}

	m.AcceptLanguage = "de-DE"
	r, _ = tpl.RenderPasscode(m, false)
	if r.Subject != "Dein Code für Acme" || !strings.Contains(r.Text, "Enter this code") {
		t.Errorf("partial de override: subject %q, text %q (missing keys come from en)", r.Subject, r.Text)
	}

	m.AcceptLanguage = "sv-SE, de;q=0.5"
	r, _ = tpl.RenderPasscode(m, false)
	if r.Language != "sv" || r.Subject != "Din inloggningskod för Acme" || !strings.Contains(r.Text, "Ange koden:") {
		t.Errorf("added language: %q %q %q", r.Language, r.Subject, r.Text)
	}
}

func TestOverrideDirErrorsNameTheFile(t *testing.T) {
	cases := []struct {
		name, file, content string
	}{
		{"text parse", "passcode.txt.tmpl", "{{.Code"},
		{"html parse", "passcode.html.tmpl", "<p>{{if .Code}}</p>"},
		{"unknown message", "passcode.txt.tmpl", "{{.T.no_such_message}}"},
		{"unknown field", "passcode.html.tmpl", "{{.NoSuchField}}"},
		{"locale json", "locales/fr.json", `{"subject": `},
		{"locale tag", "locales/not a tag.json", `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, c.file, c.content)
			_, err := imail.LoadTemplates(dir)
			if err == nil {
				t.Fatal("LoadTemplates accepted a broken file")
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %s", err, p)
			}
		})
	}
	if _, err := imail.LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing override directory accepted")
	}
}
