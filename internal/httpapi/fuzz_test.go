package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/inkan-auth/inkan/internal/inkan"
)

// decodeTargets are the request bodies the public handlers decode, plus
// shapes (pointer, slice, number, bool, nested object) that handlers added
// later use; each fuzz input is decoded into every one of them.
func decodeTargets() []any {
	return []any{
		&passcodeInitRequest{},
		&passcodeFinalizeRequest{},
		&loginInitRequest{},
		&json.RawMessage{},
		&map[string]any{},
		&struct {
			Email    string   `json:"email"`
			Password *string  `json:"password"`
			IDs      []string `json:"ids"`
			N        int      `json:"n"`
			B        bool     `json:"b"`
			Nested   struct {
				Name *string `json:"name"`
			} `json:"nested"`
		}{},
	}
}

// FuzzDecodeJSON feeds arbitrary bodies and content types to decodeJSON
// under a body limit: it must never panic, and every error must be
// classified as a client error (4xx), never an opaque 500.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"user_id":"0b7e4f6a-6f0c-4c61-9b5c-1b2a3c4d5e6f","email_id":"0b7e4f6a-6f0c-4c61-9b5c-1b2a3c4d5e6f"}`},
		{"application/json", `{"id":"0b7e4f6a-6f0c-4c61-9b5c-1b2a3c4d5e6f","code":"123456"}`},
		{"application/json; charset=utf-8", `{"user_id":null}`},
		{"application/problem+json", `{"email":"a@example.test"}`},
		{"text/plain", `{"email":"a@example.test"}`},
		{"", `{"email":"a@example.test"} {"email":"b"}`},
		{"application/json", `{"user_id":12}`},
		{"application/json", `[`},
		{"application/json", "\xff\xfe"},
		{"application/json", `{"a":` + string(bytes.Repeat([]byte("["), 200))},
		{"application/json;;", `{}`},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		for _, dst := range decodeTargets() {
			req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			req.Body = http.MaxBytesReader(rec, req.Body, 4096)
			err := decodeJSON(req, dst)
			if err == nil {
				continue
			}
			k := inkan.KindOf(err)
			if st := statusOf[k]; st < 400 || st >= 500 {
				t.Fatalf("decode %T of %q (%q): kind %v → %d: %v", dst, body, ct, k, st, err)
			}
			if inkan.MessageOf(err) == "" && k != inkan.KindUnsupportedMediaType {
				t.Fatalf("decode %T: classified error without a client message: %v", dst, err)
			}
		}
	})
}
