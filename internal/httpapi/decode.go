package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/google/uuid"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// decodeJSON reads the request body into dst (docs/compatibility.md "Conventions" "Body
// encoding"). An empty body leaves dst zero. Errors, all classified:
// KindUnsupportedMediaType for a body whose content type is missing or not
// application/json (or +json),
// KindTooLarge past the body limit (server.max_request_body_bytes),
// KindInvalid for malformed JSON, a wrong field type, or trailing data.
func decodeJSON(r *http.Request, dst any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return inkan.Wrap(inkan.KindTooLarge, fmt.Sprintf("request body must not be larger than %d bytes", mbe.Limit), err)
		}
		return inkan.Wrap(inkan.KindInvalid, "could not read request body", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	// A body must say it is JSON (as with Hanko's binder). A body without a
	// content type is refused too: browsers send those cross-site without
	// a CORS preflight.
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		return inkan.E(inkan.KindUnsupportedMediaType, "")
	}
	return unmarshalStrict(body, dst)
}

// isJSONContentType reports whether a Content-Type header value names JSON:
// application/json or any +json type (RFC 6839 §3.1), parameters allowed.
func isJSONContentType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// unmarshalStrict decodes exactly one JSON value into dst.
func unmarshalStrict(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return inkan.E(inkan.KindInvalid, "request body must be a single JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return inkan.E(inkan.KindInvalid, "request body must be a single JSON value")
	}
	return nil
}

// jsonError turns a decoding error into a client message that names the
// offset or field, never the value.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return inkan.Wrap(inkan.KindInvalid, fmt.Sprintf("Syntax error: offset=%d, error=%s", se.Offset, se.Error()), err)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "request body"
		}
		return inkan.Wrap(inkan.KindInvalid, fmt.Sprintf("Unmarshal type error: %s must be %s, got %s (offset %d)", field, jsonKind(te.Type), te.Value, te.Offset), err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return inkan.Wrap(inkan.KindInvalid, "Syntax error: unexpected end of JSON input", err)
	}
	return inkan.Wrap(inkan.KindInvalid, "malformed JSON body", err)
}

// jsonKind names the JSON type a Go type decodes from, so that a client
// message never shows a Go type name.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a JSON value"
}

// readRaw reads a body that is handed on as bytes (WebAuthn responses),
// applying the same content type and size rules as decodeJSON.
func readRaw(r *http.Request) ([]byte, error) {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// problems collects validation failures and joins them with " and "
// (docs/compatibility.md "Validation").
type problems []string

func (p *problems) required(field, value string) {
	if strings.TrimSpace(value) == "" {
		*p = append(*p, field+" is a required field")
	}
}

// uuidField parses value as a UUID in canonical hyphenated form; it records
// "<field> is a required field" or "<field> must be a valid uuid".
func (p *problems) uuidField(field, value string, required bool) uuid.UUID {
	if value == "" {
		if required {
			*p = append(*p, field+" is a required field")
		}
		return uuid.Nil
	}
	id, err := parseUUID(value)
	if err != nil {
		*p = append(*p, field+" must be a valid uuid")
	}
	return id
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return inkan.E(inkan.KindInvalid, strings.Join(p, " and "))
}

// parseUUID accepts only the 36-character hyphenated form.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.Nil, errors.New("not a uuid")
	}
	return uuid.Parse(s)
}
