package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestPreflightOnlyForRoutes: a preflight for a route is answered 204 with
// the CORS headers; for an unknown path or a method the path does not
// serve it gets the JSON 404/405 every other request gets.
func TestPreflightOnlyForRoutes(t *testing.T) {
	h := newTestAPI(Options{CORS: CORSOptions{AllowOrigins: []string{"https://app.example.test"}}}).Public()
	for _, tc := range []struct {
		path, method string
		status       int
	}{
		{"/passcode/login/initialize", "POST", http.StatusNoContent},
		{"/me", "GET", http.StatusNoContent},
		{"/nope", "POST", http.StatusNotFound},
		{"/me", "DELETE", http.StatusMethodNotAllowed},
	} {
		rec := serve(h, http.MethodOptions, tc.path, nil,
			"Origin: https://app.example.test", "Access-Control-Request-Method: "+tc.method)
		if rec.Code != tc.status {
			t.Errorf("preflight %s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.status)
			continue
		}
		if tc.status == http.StatusNoContent {
			if rec.Header().Get("Access-Control-Allow-Methods") == "" || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.test" {
				t.Errorf("preflight %s %s: headers %v", tc.method, tc.path, rec.Header())
			}
			continue
		}
		var body ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != tc.status {
			t.Errorf("preflight %s %s: body %q", tc.method, tc.path, rec.Body.String())
		}
		if rec.Header().Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight %s %s allowed methods for a route that does not exist", tc.method, tc.path)
		}
	}
}
