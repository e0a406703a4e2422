// Package aaguid names the passkey provider behind a credential's AAGUID
// (the authenticator attestation GUID of the attested credential data,
// WebAuthn L3 §6.5.2): "iCloud Keychain", "Google Password Manager", … so
// that a user can tell their passkeys apart.
//
// The built-in table (builtin.go) is a list of facts this project
// maintains, each entry tested. An operator may add to it or override it
// with a file in the JSON format of the community "passkey authenticator
// AAGUIDs" list, which also brings icons:
//
//	{"<aaguid>": {"name": "…", "icon_dark": "data:image/svg+xml;base64,…", "icon_light": "data:…"}}
//
// It imports only the standard library and the UUID library.
package aaguid

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// MaxFileBytes is the largest metadata file Load reads (the community list
// with its icons is well under 1 MiB).
const MaxFileBytes = 16 << 20

// Provider is what is known about the passkey provider behind an AAGUID.
type Provider struct {
	// Name is the provider's name, e.g. "iCloud Keychain".
	Name string
	// IconLight and IconDark are the icons for light and dark
	// backgrounds, as the metadata file gives them (data: URIs in the
	// community list); empty without a file or when it has none.
	IconLight, IconDark string
}

// Table maps AAGUIDs to providers. It is read-only after construction and
// safe for concurrent use. The zero AAGUID (authenticators that do not
// disclose their model, and "none" attestation on some platforms) never
// has an entry.
type Table struct {
	byID map[uuid.UUID]Provider
}

// Builtin returns the table of the providers this project maintains
// (builtin.go), without icons.
func Builtin() *Table {
	t := &Table{byID: make(map[uuid.UUID]Provider, len(builtin))}
	for id, name := range builtin {
		t.byID[uuid.MustParse(id)] = Provider{Name: name}
	}
	return t
}

// Lookup returns the provider of aaguid, and false when it is unknown. A
// nil Table knows nothing.
func (t *Table) Lookup(aaguid uuid.UUID) (Provider, bool) {
	if t == nil || aaguid == uuid.Nil {
		return Provider{}, false
	}
	p, ok := t.byID[aaguid]
	return p, ok
}

// Len is the number of AAGUIDs the table knows.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byID)
}

// Load returns the built-in table overlaid with the metadata file at path
// (passkey.aaguid_metadata_file): an entry of the file replaces the
// built-in entry of the same AAGUID. An empty path gives Builtin().
//
// The file is one JSON object whose keys are AAGUIDs (any case, with
// dashes) and whose values are {"name": non-empty string, "icon_light",
// "icon_dark": optional strings, each a data:image/… URI or an https URL};
// other members are ignored. Errors name the file and every bad entry at
// once: unreadable, larger than MaxFileBytes, not a JSON object, a key
// that is not a UUID or is the zero UUID, an entry without a name, an
// icon of another scheme.
func Load(path string) (*Table, error) {
	t := Builtin()
	if path == "" {
		return t, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("aaguid metadata file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("aaguid metadata file %s: %w", path, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("aaguid metadata file %s: larger than %d bytes", path, MaxFileBytes)
	}
	entries, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("aaguid metadata file %s: %w", path, err)
	}
	for id, p := range entries {
		t.byID[id] = p
	}
	return t, nil
}

type fileEntry struct {
	Name      *string `json:"name"`
	IconLight *string `json:"icon_light"`
	IconDark  *string `json:"icon_dark"`
}

// Parse reads metadata in the community list's format (see Load) and
// returns its entries, or an error listing every bad entry in key order.
func Parse(b []byte) (map[uuid.UUID]Provider, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, fmt.Errorf("not a JSON object of AAGUID entries: %w", err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[uuid.UUID]Provider, len(raw))
	var problems []string
	for _, k := range keys {
		id, err := uuid.Parse(k)
		if err != nil || len(k) != 36 || id == uuid.Nil {
			problems = append(problems, fmt.Sprintf("%q: not an AAGUID (a non-zero UUID with dashes)", k))
			continue
		}
		var e fileEntry
		if err := json.Unmarshal(raw[k], &e); err != nil {
			problems = append(problems, fmt.Sprintf("%s: not an object with string members: %v", k, err))
			continue
		}
		if e.Name == nil || strings.TrimSpace(*e.Name) == "" {
			problems = append(problems, fmt.Sprintf("%s: no name", k))
			continue
		}
		p := Provider{Name: strings.TrimSpace(*e.Name)}
		for _, icon := range []struct {
			member string
			value  *string
			dst    *string
		}{{"icon_light", e.IconLight, &p.IconLight}, {"icon_dark", e.IconDark, &p.IconDark}} {
			if icon.value == nil || *icon.value == "" {
				continue
			}
			if !strings.HasPrefix(*icon.value, "data:image/") && !strings.HasPrefix(*icon.value, "https://") {
				problems = append(problems, fmt.Sprintf("%s: %s is neither a data:image/ URI nor an https URL", k, icon.member))
				continue
			}
			*icon.dst = *icon.value
		}
		out[id] = p
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return out, nil
}
