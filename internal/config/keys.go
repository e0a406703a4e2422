package config

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
)

// unknownKeyMessage is the problem text for a key no field, alias or Hanko rule knows: "unknown key",
// with the nearest known key when one is close (at most a third of the key's length in edits).
func unknownKeyMessage(key string) string {
	best, bestD := "", len(key)/3+1
	for _, k := range knownKeys() {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return "unknown key"
	}
	return fmt.Sprintf("unknown key; did you mean %s?", best)
}

// knownKeys lists every key a file may hold: the leaf keys of Config (collected from its koanf tags,
// so a new field is known without listing it anywhere), Hanko's aliases and the ignored Hanko keys.
func knownKeys() []string {
	out := make([]string, 0, len(fields)+len(keyAliases)+len(hankoIgnored))
	for _, f := range fields {
		out = append(out, f.key)
	}
	for k := range keyAliases {
		out = append(out, k)
	}
	return append(out, hankoIgnored...)
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// IgnoredEnvVars returns the environment variables of Hanko keys that inkan accepts and ignores, mapped
// to their key; inkan does not read them. Section prefixes end in "_*" (WEBHOOKS_* for every key under
// webhooks). The map is a fresh copy.
func IgnoredEnvVars() map[string]string {
	out := map[string]string{"MFA_ENABLED": "mfa.enabled"}
	for _, k := range hankoIgnored {
		if _, known := fieldByKey[k]; known {
			continue
		}
		name := regularEnvName(k)
		if isSection(k) {
			name += "_*"
		}
		if _, read := envTable[name]; !read {
			out[name] = k
		}
	}
	return out
}

// isSection reports whether an ignored Hanko entry names a whole section (webhooks, saml, …) rather
// than one key.
func isSection(k string) bool {
	switch k {
	case "convert_legacy_config", "convert_legacy_server_side_session_config", "debug":
		return false
	}
	return !strings.Contains(k, ".")
}

// secretKey reports whether the value of a key is a secret that Show must not print: the field carries
// `secret:"true"`, or the key's last segment is or ends in password, secret(s), token, private_key or
// api_key(s) ("client_secret", "smtp.password"), or it is secrets.keys.
func secretKey(f field) bool {
	if f.secret {
		return true
	}
	last := f.key[strings.LastIndex(f.key, ".")+1:]
	for _, w := range []string{"password", "secret", "secrets", "token", "private_key", "api_key", "api_keys"} {
		if last == w || strings.HasSuffix(last, "_"+w) {
			return true
		}
	}
	return f.key == "secrets.keys"
}

// structMap is the mapping of the struct e (tag → value); with redact, its secret fields (see
// secretKey) are Redacted.
func structMap(e reflect.Value, redact bool) map[string]any {
	item := map[string]any{}
	for j := 0; j < e.NumField(); j++ {
		sf := e.Type().Field(j)
		tag := sf.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		v := e.Field(j)
		switch {
		case v.Kind() == reflect.Pointer && v.IsNil():
			continue
		case v.Kind() == reflect.Pointer:
			item[tag] = v.Elem().Interface()
		default:
			item[tag] = v.Interface()
		}
		if redact && secretKey(field{key: tag, secret: sf.Tag.Get("secret") == "true"}) {
			item[tag] = redactValue(item[tag])
		}
	}
	return item
}

// Redacted is printed in place of a secret value.
const Redacted = "<redacted>"

// Show returns the effective configuration as YAML (every key, sorted, in the file's units: integer
// seconds for email.passcode_ttl, milliseconds for webauthn.timeouts.*, Go duration strings elsewhere)
// with every secret replaced by "<redacted>" (an empty secret stays empty, so that "not set" shows) and
// the password of a URL (database.url, rate_limiter.redis.url) replaced as well.
func (c Config) Show() (string, error) {
	flat := encodeRedacted(c, true)
	for _, f := range fields {
		if f.isMap {
			continue // redacted inside by encodeRedacted
		}
		v := flat[f.key]
		switch {
		case secretKey(f):
			flat[f.key] = redactValue(v)
		case strings.HasSuffix(f.key, ".url") || strings.HasSuffix(f.key, "_url"):
			if s, ok := v.(string); ok {
				flat[f.key] = redactURL(s)
			}
		}
	}
	nested := map[string]any{}
	for k, v := range flat {
		m := nested
		segs := strings.Split(k, ".")
		for _, s := range segs[:len(segs)-1] {
			sub, ok := m[s].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[s] = sub
			}
			m = sub
		}
		m[segs[len(segs)-1]] = v
	}
	b, err := yaml.Parser().Marshal(nested)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return string(b), nil
}

func redactValue(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return ""
		}
		return Redacted
	case []string:
		out := make([]string, len(x))
		for i := range x {
			out[i] = Redacted
		}
		return out
	case nil:
		return nil
	}
	return Redacted
}

// redactURL replaces the password of a URL-shaped value; libpq keyword strings and go-sql-driver DSNs
// ("user:password@tcp(…)") get their password replaced too.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return strings.Replace(u.String(), "xxxxx", Redacted, 1)
		}
		return s
	}
	if at := strings.LastIndex(s, "@"); at > 0 && !strings.Contains(s[:at], "://") {
		if colon := strings.Index(s[:at], ":"); colon >= 0 {
			return s[:colon+1] + Redacted + s[at:]
		}
	}
	fieldsKV := strings.Fields(s)
	for i, kv := range fieldsKV {
		if strings.HasPrefix(kv, "password=") {
			fieldsKV[i] = "password=" + Redacted
		}
	}
	return strings.Join(fieldsKV, " ")
}

// encode flattens c into key → value in the file's units (the inverse of decoding).
func encode(c Config) map[string]any { return encodeRedacted(c, false) }

// encodeRedacted is encode; with redact, the secrets inside map fields (custom providers) are
// Redacted as well (Show redacts the other keys itself).
func encodeRedacted(c Config, redact bool) map[string]any {
	d := reflect.ValueOf(c)
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		v := d.FieldByIndex(f.index)
		switch {
		case v.Type() == durationType:
			dur := time.Duration(v.Int())
			if f.unit != 0 {
				m[f.key] = int64(dur / f.unit)
			} else {
				m[f.key] = dur.String()
			}
		case v.Kind() == reflect.Pointer:
			if !v.IsNil() {
				m[f.key] = v.Elem().Interface()
			} else {
				m[f.key] = nil
			}
		case v.Kind() == reflect.Map:
			if v.Len() == 0 {
				m[f.key] = nil // no entries: nothing to layer under the file's
				continue
			}
			items := map[string]any{}
			iter := v.MapRange()
			for iter.Next() {
				items[iter.Key().String()] = structMap(iter.Value(), redact)
			}
			m[f.key] = items
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
			items := make([]any, 0, v.Len())
			for i := 0; i < v.Len(); i++ {
				e := v.Index(i)
				item := map[string]any{}
				for j := 0; j < e.NumField(); j++ {
					if tag := e.Type().Field(j).Tag.Get("koanf"); tag != "" && tag != "-" {
						item[tag] = e.Field(j).Interface()
					}
				}
				items = append(items, item)
			}
			m[f.key] = items
		default:
			m[f.key] = v.Interface()
		}
	}
	return m
}
