package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	env "github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Load builds the configuration: Default(), then the YAML file at path ("" = no file; a missing file
// that was named is an error), then the environment variables in environ (os.Environ() form,
// "NAME=value"; only names listed by EnvVars are read), then Validate.
//
// Every key of the file is judged here, once, for every command (`inkan serve`, `inkan config check`,
// the maintenance commands): a key of Config is decoded; a Hanko key that inkan accepts and ignores is
// listed in Config.IgnoredKeys (callers warn about it); a Hanko key that turns on a feature inkan lacks
// (see hankoUnsupported) is a problem; any other key is a problem ("unknown key") that names the nearest
// known key.
//
// Errors: a file that cannot be read or parsed as YAML is returned as is (wrapped); values that cannot be
// decoded, unknown and unsupported keys and failed validation are returned together as a
// *ValidationError. The database address is judged by internal/store (store.Resolve), not here.
func Load(path string, environ []string) (Config, error) {
	return load(path, environ)
}

// EnvVars returns every environment variable Load reads, mapped to its key (env name → key): the
// regular name of each key plus Hanko's irregular names (docs/compatibility.md "Configuration"). The map is a fresh copy.
func EnvVars() map[string]string {
	out := make(map[string]string, len(envTable))
	for n, k := range envTable {
		out[n] = k
	}
	return out
}

// hankoEnvNames are Hanko v2.7.0's names that differ from the regular upper-cased key (docs/compatibility.md "Configuration").
var hankoEnvNames = map[string]string{
	"SECRETS_KEYMANAGEMENT_TYPE":             "secrets.key_management.type",
	"SESSION_ACQUIREIPADDRESS":               "session.acquire_ip_address",
	"SESSION_ACQUIREUSERAGENT":               "session.acquire_user_agent",
	"EMAIL_PASSCODETTL":                      "email.passcode_ttl",
	"EMAIL_USEFORAUTHENTICATION":             "email.use_for_authentication",
	"ACCOUNT_ALLOWSIGNUP":                    "account.allow_signup",
	"ACCOUNT_ALLOWDELETION":                  "account.allow_deletion",
	"AUDIT_LOG_CONSOLE_OUTPUT_OUTPUT_STREAM": "audit_log.console_output.output",
	"LOG_LOGHEALTHANDMETRICS":                "log.log_health_and_metrics",
}

// keyAliases maps Hanko key spellings to inkan's key.
var keyAliases = map[string]string{
	"rate_limiter.redis_config.address":  "rate_limiter.redis.address",
	"rate_limiter.redis_config.password": "rate_limiter.redis.password",
}

// hankoUnsupported are Hanko keys that turn on a feature inkan lacks: true fails loading, false is
// accepted and ignored. A "*" segment matches any one segment. Once a field of Config carries the key,
// the field wins and the entry no longer applies.
var hankoUnsupported = map[string]string{
	"saml.enabled":                    "SAML is not supported",
	"username.enabled":                "usernames are not supported; inkan signs users in by e-mail address",
	"third_party.providers.*.enabled": "this provider is not built in (apple, github and google are): configure it as an OpenID Connect provider under third_party.custom_providers.<key>",
	"password.recovery":               "password recovery (a flow-API feature) is not supported",
}

// unsupportedReason returns why key (with value v) turns on something inkan lacks, or "".
func unsupportedReason(key string, v any) string {
	segs := strings.Split(key, ".")
	for pattern, reason := range hankoUnsupported {
		ps := strings.Split(pattern, ".")
		if len(ps) != len(segs) {
			continue
		}
		match := true
		for i := range ps {
			if ps[i] != "*" && ps[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			if b, err := toBool(v); err == nil && !b {
				return "" // turned off: accepted and ignored
			}
			return reason
		}
	}
	return ""
}

// hankoIgnored are Hanko keys (and key prefixes) that inkan accepts in a file and ignores (docs/compatibility.md "Configuration").
var hankoIgnored = []string{
	"convert_legacy_config", "convert_legacy_server_side_session_config", "debug",
	"secrets.key_management.key_id", "secrets.key_management.region",
	"session.allow_revocation", "session.show_on_profile", "session.jwt_template", "session.server_side",
	"email.passcode_charset", "email.max_length", "email.optional", "email.acquire_on_registration",
	"email.acquire_on_login", "email.use_as_login_identifier",
	"smtp", "passcode", "emails",
	"password.optional", "password.acquire_on_registration", "password.acquire_on_login",
	"password.recovery", "password.min_password_length",
	"passkey.limit", "passkey.optional", "passkey.acquire_on_registration", "passkey.acquire_on_login",
	"webauthn.relying_party.icon", "webauthn.timeout", "webauthn.user_verification",
	"rate_limiter.otp_limits",
	"third_party.providers.discord", "third_party.providers.linkedin", "third_party.providers.microsoft", "third_party.providers.facebook",
	"webhooks.allow_time_expiration", "saml", "username", "privacy", "security_notifications", "mfa",
}

// field is one leaf key of Config.
type field struct {
	key   string
	index []int
	unit  time.Duration // for time.Duration fields: 0 = Go duration string, else integer in this unit
	// isMap marks a map of structs keyed by a name of the user's choosing
	// (third_party.custom_providers.<key>.*): decoded as a whole.
	isMap bool
	// secret marks a value Show redacts (tag `secret:"true"`; see secretKey for the names always
	// treated as secrets).
	secret bool
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	fields       = collectFields(reflect.TypeOf(Config{}), "", nil)
	fieldByKey   = func() map[string]field {
		m := make(map[string]field, len(fields))
		for _, f := range fields {
			m[f.key] = f
		}
		return m
	}()
	envTable = func() map[string]string {
		m := make(map[string]string, len(fields)+len(hankoEnvNames))
		for _, f := range fields {
			if f.key == "mfa.enabled" {
				continue // ignored key: its variable is not read
			}
			m[regularEnvName(f.key)] = f.key
		}
		for n, k := range hankoEnvNames {
			m[n] = k
		}
		return m
	}()
)

func regularEnvName(key string) string {
	return strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func collectFields(t reflect.Type, prefix string, index []int) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		idx := append(append([]int(nil), index...), i)
		if sf.Type.Kind() == reflect.Struct {
			out = append(out, collectFields(sf.Type, key+".", idx)...)
			continue
		}
		f := field{key: key, index: idx, secret: sf.Tag.Get("secret") == "true", isMap: sf.Type.Kind() == reflect.Map}
		switch sf.Tag.Get("unit") {
		case "s":
			f.unit = time.Second
		case "ms":
			f.unit = time.Millisecond
		}
		out = append(out, f)
	}
	return out
}

// isPrefixOfKnown reports whether key is a section (e.g. "session.cookie") of a known leaf key.
func isPrefixOfKnown(key string) bool {
	for _, f := range fields {
		if strings.HasPrefix(f.key, key+".") {
			return true
		}
	}
	return false
}

// mapFieldOf returns the key of the map field (see field.isMap) that key lies under, or "".
func mapFieldOf(key string) string {
	for _, f := range fields {
		if f.isMap && strings.HasPrefix(key, f.key+".") {
			return f.key
		}
	}
	return ""
}

func isHankoIgnored(key string) bool {
	for _, p := range hankoIgnored {
		if key == p || strings.HasPrefix(key, p+".") {
			return true
		}
	}
	return false
}

// defaultsMap encodes Default() as a flat key → value map for koanf's confmap provider.
func defaultsMap() map[string]any {
	m := encode(Default())
	for k, v := range m {
		if v == nil {
			delete(m, k) // tri-state keys: unset
		}
	}
	return m
}

// load implements Load.
func load(path string, environ []string) (Config, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaultsMap(), "."), nil); err != nil {
		return Config{}, fmt.Errorf("config: defaults: %w", err)
	}
	source := map[string]string{} // key → where its value came from, for messages

	var ignored []string
	var problems []Problem
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return Config{}, fmt.Errorf("config: file %s does not exist", path)
			}
			return Config{}, fmt.Errorf("config: %w", err)
		}
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config: reading %s: %w", path, err)
		}
		flat := map[string]any{}
		fileAll := fk.All()
		for key, v := range fileAll {
			if alias, ok := keyAliases[key]; ok {
				if _, dup := fileAll[alias]; dup {
					continue // the inkan spelling wins
				}
				key = alias
			}
			switch {
			case mapFieldOf(key) != "":
				flat[key] = v // decoded as a whole (decodeStructMap)
				source[mapFieldOf(key)] = path
			case fieldByKey[key].key != "":
				if v == nil {
					continue // "key:" with no value leaves the default
				}
				flat[key] = v
				source[key] = path
			case unsupportedReason(key, v) != "":
				problems = append(problems, Problem{Key: key, Message: unsupportedReason(key, v) + " (remove the key or set it to false)"})
			case isHankoIgnored(key):
				ignored = append(ignored, key)
			case isPrefixOfKnown(key) && isEmpty(v):
				// "section:" with nothing under it
			default:
				problems = append(problems, Problem{Key: key, Message: unknownKeyMessage(key)})
			}
		}
		if err := k.Load(confmap.Provider(flat, "."), nil); err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
	}

	// Environment: regular names first, Hanko's irregular names last so that they win.
	var envs []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := envTable[name]; ok {
			envs = append(envs, kv)
		}
	}
	sort.SliceStable(envs, func(i, j int) bool {
		ni, _, _ := strings.Cut(envs[i], "=")
		nj, _, _ := strings.Cut(envs[j], "=")
		_, hi := hankoEnvNames[ni]
		_, hj := hankoEnvNames[nj]
		return !hi && hj
	})
	err := k.Load(env.Provider(".", env.Opt{
		EnvironFunc: func() []string { return envs },
		TransformFunc: func(name, value string) (string, any) {
			key := envTable[name]
			source[key] = "environment variable " + name
			f := fieldByKey[key]
			if t := reflect.TypeOf(Config{}).FieldByIndex(f.index).Type; t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String {
				return key, splitList(value)
			}
			return key, value
		},
	}), nil)
	if err != nil {
		return Config{}, fmt.Errorf("config: environment: %w", err)
	}

	var c Config
	cv := reflect.ValueOf(&c).Elem()
	all := k.All()
	for _, f := range fields {
		v, ok := all[f.key]
		if f.isMap {
			v = k.Get(f.key)
			ok = v != nil
			if !ok {
				cv.FieldByIndex(f.index).Set(reflect.MakeMap(cv.FieldByIndex(f.index).Type()))
			}
		}
		if !ok || v == nil {
			continue
		}
		if err := decode(cv.FieldByIndex(f.index), v, f.unit, f.key, &problems); err != nil {
			msg := err.Error()
			if s := source[f.key]; s != "" {
				msg += " (from " + s + ")"
			}
			problems = append(problems, Problem{Key: f.key, Message: msg})
			// keep the default for this key so that validation does not pile up on it
			cv.FieldByIndex(f.index).Set(reflect.ValueOf(Default()).FieldByIndex(f.index))
		}
	}
	c.IgnoredKeys = ignored
	sort.Strings(c.IgnoredKeys)

	if err := c.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			problems = append(problems, ve.Problems...)
		}
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return c, &ValidationError{Problems: problems}
	}
	return c, nil
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// decode stores raw (a YAML or environment value) into dst. Element problems of struct lists are
// appended to problems directly; a returned error is a problem of key itself.
func decode(dst reflect.Value, raw any, unit time.Duration, key string, problems *[]Problem) error {
	t := dst.Type()
	switch {
	case t == durationType:
		d, err := toDuration(raw, unit)
		if err != nil {
			return err
		}
		dst.SetInt(int64(d))
	case t.Kind() == reflect.String:
		s, err := toString(raw)
		if err != nil {
			return err
		}
		dst.SetString(s)
	case t.Kind() == reflect.Bool:
		b, err := toBool(raw)
		if err != nil {
			return err
		}
		dst.SetBool(b)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Bool:
		b, err := toBool(raw)
		if err != nil {
			return err
		}
		dst.Set(reflect.ValueOf(&b))
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		n, err := toInt(raw)
		if err != nil {
			return err
		}
		dst.SetInt(n)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		list, err := toStrings(raw)
		if err != nil {
			return err
		}
		dst.Set(reflect.ValueOf(list))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return decodeStructList(dst, raw, key, problems)
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct:
		return decodeStructMap(dst, raw, key, problems)
	default:
		return fmt.Errorf("unsupported type %s", t) // programming error, reported rather than panicking
	}
	return nil
}

func decodeStructList(dst reflect.Value, raw any, key string, problems *[]Problem) error {
	if s, ok := raw.(string); ok { // environment: a JSON array
		if strings.TrimSpace(s) == "" {
			raw = []any{}
		} else {
			var v []any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return fmt.Errorf("must be a JSON array of objects: %v", err)
			}
			raw = v
		}
	}
	items, ok := raw.([]any)
	if !ok {
		return fmt.Errorf("must be a list, got %s", describe(raw))
	}
	et := dst.Type().Elem()
	out := reflect.MakeSlice(dst.Type(), 0, len(items))
	for i, item := range items {
		ev, ok := decodeStruct(et, item, fmt.Sprintf("%s[%d]", key, i), problems)
		if ok {
			out = reflect.Append(out, ev)
		}
	}
	dst.Set(out)
	return nil
}

// decodeStruct decodes one mapping into a new value of the struct type et, appending element problems
// (unknown keys, undecodable values) under ikey; ok=false when item is not a mapping.
func decodeStruct(et reflect.Type, item any, ikey string, problems *[]Problem) (reflect.Value, bool) {
	m, ok := item.(map[string]any)
	if !ok {
		*problems = append(*problems, Problem{Key: ikey, Message: "must be a mapping, got " + describe(item)})
		return reflect.Value{}, false
	}
	ev := reflect.New(et).Elem()
	known := map[string]bool{}
	for j := 0; j < et.NumField(); j++ {
		tag := et.Field(j).Tag.Get("koanf")
		known[tag] = true
		v, ok := m[tag]
		if !ok || v == nil {
			continue
		}
		if err := decode(ev.Field(j), v, 0, ikey+"."+tag, problems); err != nil {
			*problems = append(*problems, Problem{Key: ikey + "." + tag, Message: err.Error()})
		}
	}
	for name := range m {
		if !known[name] {
			*problems = append(*problems, Problem{Key: ikey + "." + name, Message: "unknown key"})
		}
	}
	return ev, true
}

// decodeStructMap decodes a mapping of names to mappings (third_party.custom_providers); from the
// environment the value is a JSON object.
func decodeStructMap(dst reflect.Value, raw any, key string, problems *[]Problem) error {
	if s, ok := raw.(string); ok {
		if strings.TrimSpace(s) == "" {
			raw = map[string]any{}
		} else {
			var v map[string]any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				return fmt.Errorf("must be a JSON object of objects: %v", err)
			}
			raw = v
		}
	}
	items, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("must be a mapping, got %s", describe(raw))
	}
	out := reflect.MakeMapWithSize(dst.Type(), len(items))
	for name, item := range items {
		if ev, ok := decodeStruct(dst.Type().Elem(), item, key+"."+name, problems); ok {
			out.SetMapIndex(reflect.ValueOf(name), ev)
		}
	}
	dst.Set(out)
	return nil
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any, []string:
		return "a list"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T %q", v, fmt.Sprint(v))
}

func toString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("must be a string, got %s", describe(v))
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, fmt.Errorf("must be true or false, got %q", x)
		}
		return b, nil
	}
	return false, fmt.Errorf("must be true or false, got %s", describe(v))
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err == nil {
			return n, nil
		}
		return 0, fmt.Errorf("must be an integer, got %q", x)
	}
	return 0, fmt.Errorf("must be an integer, got %s", describe(v))
}

func toStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return splitList(x), nil
	case []string:
		return append([]string{}, x...), nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, err := toString(e)
			if err != nil {
				return nil, fmt.Errorf("item %d %v", i, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a list of strings, got %s", describe(v))
}

// toDuration decodes a duration. With unit 0 it takes a Go duration string (or 0); with a unit it takes
// an integer count of that unit, or a Go duration string.
func toDuration(v any, unit time.Duration) (time.Duration, error) {
	want := `a Go duration such as "12h" or "90s"`
	if unit != 0 {
		want = fmt.Sprintf("an integer number of %s or a Go duration such as \"5m\"", unitName(unit))
	}
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			v = n
		} else {
			d, err := time.ParseDuration(s)
			if err != nil {
				return 0, fmt.Errorf("must be %s, got %q", want, s)
			}
			return d, nil
		}
	}
	n, err := toInt(v)
	if err != nil {
		return 0, fmt.Errorf("must be %s, got %s", want, describe(v))
	}
	if unit == 0 {
		if n != 0 {
			return 0, fmt.Errorf("must be %s, got the bare number %d", want, n)
		}
		return 0, nil
	}
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		return 0, fmt.Errorf("is out of range: %d %s", n, unitName(unit))
	}
	return time.Duration(n) * unit, nil
}

func unitName(unit time.Duration) string {
	if unit == time.Millisecond {
		return "milliseconds"
	}
	return "seconds"
}
