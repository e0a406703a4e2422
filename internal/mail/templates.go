// Package mail renders and delivers the passcode mail (docs/compatibility.md "Passcodes" "Mail"):
// embedded templates with per-locale messages, an SMTP mailer built on
// github.com/wneessen/go-mail and a development mailer that writes each
// message to an outbox stream. Both mailers satisfy passcode.Mailer.
//
// No mailer ever writes a passcode to a log line; errors they return never
// contain it either.
package mail

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"

	"github.com/inkan-auth/inkan/internal/inkan"
)

//go:embed templates
var embedded embed.FS

// Names of the files a template set is made of, relative to the template
// root (the embedded "templates" directory or an operator's override
// directory, which mirrors its layout).
const (
	TextTemplateFile = "passcode.txt.tmpl"  // text/template for the text/plain part
	HTMLTemplateFile = "passcode.html.tmpl" // html/template for the text/html part
	LocalesDir       = "locales"            // one <BCP 47 tag>.json per language, e.g. locales/pt-BR.json
)

// defaultLanguage is used when neither header names a supported language.
const defaultLanguage = "en"

// Message keys every locale must provide (directly or through the English
// fallback). Placeholders {service}, {code} and {minutes} are replaced in
// every message before the templates see them.
var requiredKeys = []string{"subject", "subject_with_code", "intro", "validity_other", "never_share", "ignore"}

// Templates is a parsed, validated set of passcode mail templates and
// locale messages. It is safe for concurrent use.
type Templates struct {
	text    *texttemplate.Template
	html    *htmltemplate.Template
	locales map[string]map[string]string // canonical tag → key → message
	chooser *chooser
}

// Rendered is one passcode mail ready to send.
type Rendered struct {
	Subject  string // already localised; contains the code only when codeInSubject was set
	Text     string // text/plain body
	HTML     string // text/html body
	Language string // BCP 47 tag of the locale used, e.g. "pt-BR"
	Minutes  int    // validity shown to the user: TTL in whole minutes, rounded up
}

// templateData is what passcode.txt.tmpl and passcode.html.tmpl receive.
// T holds every message of the chosen locale with placeholders replaced,
// plus "validity" (validity_one or validity_other, by Minutes).
type templateData struct {
	Language    string
	Subject     string
	ServiceName string
	Code        string
	Minutes     int
	T           map[string]string
}

type source struct {
	data   []byte
	origin string // file name shown in errors: a path on disk or "embedded:<name>"
}

// LoadTemplates parses the embedded templates and locales, with every file
// found in overrideDir (when not empty) replacing the embedded file of the
// same relative name: passcode.txt.tmpl, passcode.html.tmpl and
// locales/<tag>.json (a new tag adds a language). Other files are ignored.
// A locale may omit keys; English supplies them.
//
// Errors: overrideDir unreadable, a template or locale file that fails to
// parse (the error names the file), a locale file whose name is not a BCP 47
// tag, or a template that fails a trial render with each locale.
func LoadTemplates(overrideDir string) (*Templates, error) {
	files := map[string]source{}
	root, _ := fs.Sub(embedded, "templates")
	if err := collect(root, "embedded:", files); err != nil {
		return nil, err
	}
	if overrideDir != "" {
		if st, err := os.Stat(overrideDir); err != nil {
			return nil, fmt.Errorf("mail: template directory: %w", err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("mail: template directory %s is not a directory", overrideDir)
		}
		if err := collect(os.DirFS(overrideDir), overrideDir+string(filepath.Separator), files); err != nil {
			return nil, err
		}
	}

	t := &Templates{locales: map[string]map[string]string{}}
	src := files[TextTemplateFile]
	text, err := texttemplate.New(TextTemplateFile).Option("missingkey=error").Parse(string(src.data))
	if err != nil {
		return nil, fmt.Errorf("mail: template %s: %w", src.origin, err)
	}
	t.text = text
	src = files[HTMLTemplateFile]
	html, err := htmltemplate.New(HTMLTemplateFile).Option("missingkey=error").Parse(string(src.data))
	if err != nil {
		return nil, fmt.Errorf("mail: template %s: %w", src.origin, err)
	}
	t.html = html

	origins := map[string]string{}
	for name, src := range files {
		if path.Dir(name) != LocalesDir {
			continue
		}
		tag, err := language.Parse(strings.TrimSuffix(path.Base(name), ".json"))
		if err != nil {
			return nil, fmt.Errorf("mail: locale %s: file name is not a language tag: %w", src.origin, err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(src.data, &msgs); err != nil {
			return nil, fmt.Errorf("mail: locale %s: %w", src.origin, err)
		}
		t.locales[tag.String()] = msgs
		origins[tag.String()] = src.origin
	}
	en := t.locales[defaultLanguage]
	for _, k := range requiredKeys {
		if en[k] == "" {
			return nil, fmt.Errorf("mail: locale %s: missing message %q", origins[defaultLanguage], k)
		}
	}
	for tag, msgs := range t.locales {
		for k, v := range en {
			if _, ok := msgs[k]; !ok {
				msgs[k] = v
			}
		}
		t.locales[tag] = msgs
	}
	tags := make([]string, 0, len(t.locales))
	for tag := range t.locales {
		tags = append(tags, tag)
	}
	t.chooser = newChooser(tags)

	// Trial render so that a template referring to an unknown message or
	// field stops start-up instead of failing the first delivery.
	for _, tag := range tags {
		sample := inkan.PasscodeMail{To: "user@example.com", Code: "000000", TTL: 5 * time.Minute, ServiceName: "Example", Language: tag}
		if _, err := t.RenderPasscode(sample, false); err != nil {
			return nil, fmt.Errorf("mail: templates %s / %s with locale %s: %w",
				files[TextTemplateFile].origin, files[HTMLTemplateFile].origin, origins[tag], err)
		}
	}
	return t, nil
}

// collect adds the template files of fsys to files, prefixing origins.
func collect(fsys fs.FS, prefix string, files map[string]source) error {
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("mail: template directory: %w", err)
		}
		if d.IsDir() {
			return nil
		}
		known := (path.Dir(name) == "." && strings.HasSuffix(name, ".tmpl")) ||
			(path.Dir(name) == LocalesDir && strings.HasSuffix(name, ".json"))
		if !known {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("mail: template %s%s: %w", prefix, filepath.FromSlash(name), err)
		}
		files[name] = source{data: data, origin: prefix + filepath.FromSlash(name)}
		return nil
	})
}

// Languages returns the BCP 47 tags of the loaded locales, sorted.
func (t *Templates) Languages() []string {
	return slices.Clone(t.chooser.names)
}

// RenderPasscode renders the passcode mail m in the language chosen from
// m.Language (X-Language) and m.AcceptLanguage (see ChooseLanguage, limited
// to the loaded locales). The subject carries the code only when
// codeInSubject is true. The validity is m.TTL in whole minutes, rounded up.
// The returned error never contains the code.
func (t *Templates) RenderPasscode(m inkan.PasscodeMail, codeInSubject bool) (Rendered, error) {
	lang := t.chooser.choose(m.Language, m.AcceptLanguage)
	minutes := int((m.TTL + time.Minute - 1) / time.Minute)
	repl := strings.NewReplacer("{service}", m.ServiceName, "{code}", m.Code, "{minutes}", strconv.Itoa(minutes))
	msgs := t.locales[lang]
	tr := make(map[string]string, len(msgs)+1)
	for k, v := range msgs {
		tr[k] = repl.Replace(v)
	}
	tr["validity"] = tr["validity_other"]
	if one, ok := tr["validity_one"]; ok && minutes == 1 {
		tr["validity"] = one
	}
	subject := tr["subject"]
	if codeInSubject {
		subject = tr["subject_with_code"]
	}
	data := templateData{Language: lang, Subject: subject, ServiceName: m.ServiceName, Code: m.Code, Minutes: minutes, T: tr}
	var text, html bytes.Buffer
	if err := t.text.Execute(&text, data); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s: %w", TextTemplateFile, err)
	}
	if err := t.html.Execute(&html, data); err != nil {
		return Rendered{}, fmt.Errorf("mail: render %s: %w", HTMLTemplateFile, err)
	}
	return Rendered{Subject: subject, Text: text.String(), HTML: html.String(), Language: lang, Minutes: minutes}, nil
}

// ChooseLanguage returns the BCP 47 tag of the embedded locale (en, de, fr,
// es, it, nl, pt-BR, zh-CN, ja) that best matches xLanguage (the X-Language
// header) or, when that names no supported language, acceptLanguage (the
// Accept-Language header, RFC 9110 §12.5.4, quality values honoured), else
// "en". Matching uses golang.org/x/text/language, so regional and script
// variants fall back to their language: de-AT → de, pt-br → pt-BR,
// zh / zh-Hans → zh-CN.
func ChooseLanguage(xLanguage, acceptLanguage string) string {
	return defaultChooser().choose(xLanguage, acceptLanguage)
}

var defaultChooser = sync.OnceValue(func() *chooser {
	entries, _ := fs.ReadDir(embedded, "templates/"+LocalesDir)
	var names []string
	for _, e := range entries {
		if tag, err := language.Parse(strings.TrimSuffix(e.Name(), ".json")); err == nil {
			names = append(names, tag.String())
		}
	}
	return newChooser(names)
})

// chooser matches request headers against a fixed set of locales.
type chooser struct {
	names   []string       // canonical tags, sorted
	tags    []language.Tag // the matcher's tags, English first
	matcher language.Matcher
}

func newChooser(names []string) *chooser {
	slices.Sort(names)
	// The matcher's first tag is its default: put English first.
	tags := []language.Tag{language.MustParse(defaultLanguage)}
	for _, n := range names {
		if n != defaultLanguage {
			tags = append(tags, language.MustParse(n))
		}
	}
	return &chooser{names: names, tags: tags, matcher: language.NewMatcher(tags)}
}

func (c *chooser) choose(xLanguage, acceptLanguage string) string {
	for _, h := range []string{xLanguage, acceptLanguage} {
		if lang, ok := c.match(h); ok {
			return lang
		}
	}
	return defaultLanguage
}

func (c *chooser) match(header string) (string, bool) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", false
	}
	want, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		// Keep the entries that parse, in quality order; one bad entry
		// must not discard the user's other preferences.
		type pref struct {
			tag language.Tag
			q   float32
		}
		var prefs []pref
		for _, part := range strings.Split(header, ",") {
			if tags, qs, err := language.ParseAcceptLanguage(part); err == nil {
				for i := range tags {
					prefs = append(prefs, pref{tags[i], qs[i]})
				}
			}
		}
		slices.SortStableFunc(prefs, func(a, b pref) int { return cmp.Compare(b.q, a.q) })
		want = want[:0]
		for _, p := range prefs {
			want = append(want, p.tag)
		}
	}
	if len(want) == 0 {
		return "", false
	}
	_, i, conf := c.matcher.Match(want...)
	if conf == language.No {
		return "", false
	}
	return c.tags[i].String(), true
}
