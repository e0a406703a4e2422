package aaguid_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/aaguid"
)

// TestBuiltin checks every entry of the built-in table, one case each,
// written out independently of builtin.go so that a changed or dropped
// entry fails here.
func TestBuiltin(t *testing.T) {
	want := []struct{ aaguid, name string }{
		{"fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"},
		{"dd4ec289-e01d-41c9-bb89-70fa845d4bf2", "iCloud Keychain (Managed)"},
		{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Google Password Manager"},
		{"adce0002-35bc-c60a-648b-0b25f1f05503", "Chrome on Mac"},
		{"b5397666-4885-aa6b-cebf-e52262a439a2", "Chromium Browser"},
		{"08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"},
		{"9ddd1817-af5a-4672-a2b9-3e3dd95000a9", "Windows Hello"},
		{"6028b017-b1d4-4c02-b4b3-afcdafc96bb2", "Windows Hello"},
		{"771b48fd-d3d4-4f74-9232-fc157ab0507a", "Edge on Mac"},
		{"53414d53-554e-4700-0000-000000000000", "Samsung Pass"},
		{"bada5566-a7aa-401f-bd96-45619a55120d", "1Password"},
		{"d548826e-79b4-db40-a3d8-11116f7e8349", "Bitwarden"},
		{"531126d6-e717-415c-9320-3d9aa6981239", "Dashlane"},
		{"b84e4048-15dc-4dd0-8640-f4f60813c8af", "NordPass"},
		{"50726f74-6f6e-5061-7373-50726f746f6e", "Proton Pass"},
		{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6", "Keeper"},
		{"b78a0a55-6ef8-d246-a042-ba0f6d55050c", "LastPass"},
		{"f3809540-7f14-49c1-a8b3-8f813b225541", "Enpass"},
		{"fdb141b2-5d84-443e-8a35-4698c205a502", "KeePassXC"},
		{"de503f9c-21a4-4f76-b4b7-558eb55c6f89", "Devolutions"},
	}
	table := aaguid.Builtin()
	for _, w := range want {
		t.Run(w.name+"/"+w.aaguid, func(t *testing.T) {
			p, ok := table.Lookup(uuid.MustParse(w.aaguid))
			if !ok || p.Name != w.name || p.IconLight != "" || p.IconDark != "" {
				t.Fatalf("Lookup(%s) = %+v, %v; want %q", w.aaguid, p, ok, w.name)
			}
		})
	}
	if table.Len() != len(want) {
		t.Fatalf("the table has %d entries, this test %d: add a case for each new entry", table.Len(), len(want))
	}
	for _, id := range []uuid.UUID{uuid.Nil, uuid.MustParse("00000000-0000-0000-0000-000000000001")} {
		if p, ok := table.Lookup(id); ok {
			t.Errorf("Lookup(%s) = %+v", id, p)
		}
	}
	var none *aaguid.Table
	if _, ok := none.Lookup(uuid.MustParse(want[0].aaguid)); ok {
		t.Error("a nil table knows a provider")
	}
}

const svg = "data:image/svg+xml;base64,PHN2Zy8+"

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "aaguid.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoad: a file in the community list's format adds providers with
// icons and overrides built-in names; members it does not know are
// ignored.
func TestLoad(t *testing.T) {
	p := write(t, `{
		"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4": {"name": "Google Password Manager", "icon_dark": "`+svg+`", "icon_light": "`+svg+`x"},
		"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": {"name": " Apple Passwords "},
		"11111111-2222-3333-4444-555555555555": {"name": "Example Vault", "icon_light": "https://vault.example/icon.svg", "website": "https://vault.example"}
	}`)
	table, err := aaguid.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]aaguid.Provider{
		"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": {Name: "Google Password Manager", IconDark: svg, IconLight: svg + "x"},
		"fbfc3007-154e-4ecc-8c0b-6e020557d7bd": {Name: "Apple Passwords"},
		"11111111-2222-3333-4444-555555555555": {Name: "Example Vault", IconLight: "https://vault.example/icon.svg"},
		"bada5566-a7aa-401f-bd96-45619a55120d": {Name: "1Password"}, // built-in, untouched
	} {
		if got, ok := table.Lookup(uuid.MustParse(id)); !ok || got != want {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v", id, got, ok, want)
		}
	}
	if table.Len() != aaguid.Builtin().Len()+1 {
		t.Errorf("Len %d", table.Len())
	}
	if table, err := aaguid.Load(""); err != nil || table.Len() != aaguid.Builtin().Len() {
		t.Errorf("no file: %v, %d entries", err, table.Len())
	}
}

// TestLoadRejects: every bad entry is named at once, with the file.
func TestLoadRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		content string
		want    []string
	}{
		"not json": {`{`, []string{"not a JSON object"}},
		"array":    {`[]`, []string{"not a JSON object"}},
		"null":     {`null`, []string{"not a JSON object"}},
		"every problem": {`{"nope": {"name": "x"}, "00000000-0000-0000-0000-000000000000": {"name": "zero"}, "11111111222233334444555555555555": {"name": "no dashes"}, "11111111-2222-3333-4444-555555555555": {"icon_dark": "` + svg + `"}, "11111111-2222-3333-4444-555555555556": {"name": "x", "icon_dark": "javascript:alert(1)"}, "11111111-2222-3333-4444-555555555557": "name"}`,
			[]string{`"nope": not an AAGUID`, `"00000000-0000-0000-0000-000000000000": not an AAGUID`, `"11111111222233334444555555555555": not an AAGUID`,
				"11111111-2222-3333-4444-555555555555: no name", "11111111-2222-3333-4444-555555555556: icon_dark is neither", "11111111-2222-3333-4444-555555555557: not an object"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t, tc.content)
			_, err := aaguid.Load(p)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range append(tc.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := aaguid.Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	big := write(t, `{"a": "`+strings.Repeat("x", aaguid.MaxFileBytes)+`"}`)
	if _, err := aaguid.Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}
