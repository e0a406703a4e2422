package api_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// route is one registered (listener, method, path) triple.
type route struct {
	listener, method, path string
}

func (r route) String() string { return r.listener + " " + r.method + " " + r.path }

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// documents are the OpenAPI documents and the listener their operations
// are served on unless x-inkan-listener says otherwise: openapi.yaml for
// the public listener, admin.yaml for the admin listener (the two share
// paths such as POST /users with different operations, so they cannot be
// one document).
var documents = map[string]string{"openapi.yaml": "public", "admin.yaml": "admin"}

func loadDoc(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("%s: openapi = %q, want 3.1.x", file, v)
	}
	return doc
}

// operation is one operation of the document.
type operation struct {
	method, path string
	op           map[string]any
}

func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("document has no paths")
	}
	var out []operation
	for p, item := range paths {
		m, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("path %s is not an object", p)
		}
		for _, meth := range httpMethods {
			if op, ok := m[meth].(map[string]any); ok {
				out = append(out, operation{strings.ToUpper(meth), p, op})
			}
		}
	}
	return out
}

// listeners reads x-inkan-listener (a string or a list); absent = def.
func listeners(t *testing.T, o operation, def string) []string {
	switch v := o.op["x-inkan-listener"].(type) {
	case nil:
		return []string{def}
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				t.Errorf("%s %s: x-inkan-listener entry %v is not a string", o.method, o.path, x)
				continue
			}
			out = append(out, s)
		}
		return out
	}
	t.Errorf("%s %s: x-inkan-listener has type %T", o.method, o.path, o.op["x-inkan-listener"])
	return nil
}

var (
	handleRE  = regexp.MustCompile(`mux\.Handle\("([A-Z]+) (/[^"]*)"`)
	stringsRE = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`")
)

// codeRoutes returns the routes registered in a route table file, each
// with whether it sits inside a conditional block (brace depth deeper
// than the function body's).
func codeRoutes(t *testing.T, file, listener string) map[route]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[route]bool{}
	depth := 0
	for _, line := range strings.Split(string(b), "\n") {
		if m := handleRE.FindStringSubmatch(line); m != nil {
			out[route{listener, m[1], m[2]}] = depth > 1
		}
		bare := stringsRE.ReplaceAllString(line, `""`)
		if i := strings.Index(bare, "//"); i >= 0 {
			bare = bare[:i]
		}
		depth += strings.Count(bare, "{") - strings.Count(bare, "}")
	}
	if len(out) == 0 {
		t.Fatalf("%s: no mux.Handle lines found", file)
	}
	return out
}

// TestRoutesMatchCode fails when the document and the route tables of
// internal/httpapi disagree: a registered route the document lacks, an
// operation no listener registers, or a conditional route without
// x-inkan-requires (and an unconditional one with it).
func TestRoutesMatchCode(t *testing.T) {
	code := codeRoutes(t, "../internal/httpapi/routes_public.go", "public")
	for r, cond := range codeRoutes(t, "../internal/httpapi/routes_admin.go", "admin") {
		code[r] = cond
	}

	documented := map[route]operation{}
	for file, def := range documents {
		for _, o := range operations(t, loadDoc(t, file)) {
			for _, l := range listeners(t, o, def) {
				if _, dup := documented[route{l, o.method, o.path}]; dup {
					t.Errorf("%s %s %s is documented twice", l, o.method, o.path)
				}
				documented[route{l, o.method, o.path}] = o
			}
		}
	}

	var missing, extra []string
	for r, cond := range code {
		o, ok := documented[r]
		if !ok {
			missing = append(missing, r.String())
			continue
		}
		req, has := o.op["x-inkan-requires"].([]any)
		if r.listener == "public" && cond && (!has || len(req) == 0) {
			t.Errorf("%s is registered conditionally but has no x-inkan-requires", r)
		}
		if r.listener == "public" && !cond && has {
			t.Errorf("%s is always registered but has x-inkan-requires %v", r, req)
		}
	}
	for r := range documented {
		if _, ok := code[r]; !ok {
			extra = append(extra, r.String())
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, r := range missing {
		t.Errorf("route registered in code but missing from openapi.yaml / admin.yaml: %s", r)
	}
	for _, r := range extra {
		t.Errorf("operation in openapi.yaml / admin.yaml not registered in code: %s", r)
	}
}

// resolve follows a local "#/..." reference to the node it names.
func resolve(doc map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("non-local $ref %q", ref)
	}
	var node any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, part)
		}
		if node, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return node, nil
}

// deref returns node with a top-level $ref followed (repeatedly).
func deref(doc map[string]any, node any) (any, error) {
	for range 10 {
		m, ok := node.(map[string]any)
		if !ok {
			return node, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return node, nil
		}
		var err error
		if node, err = resolve(doc, ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// TestRefsResolve fails on any $ref that names nothing.
func TestRefsResolve(t *testing.T) {
	for file := range documents {
		t.Run(file, func(t *testing.T) { refsResolve(t, loadDoc(t, file)) })
	}
}

func refsResolve(t *testing.T, doc map[string]any) {
	var walk func(path string, n any)
	walk = func(path string, n any) {
		switch v := n.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := resolve(doc, ref); err != nil {
					t.Errorf("%s: %v", path, err)
				}
			}
			for k, c := range v {
				walk(path+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walk(fmt.Sprintf("%s/%d", path, i), c)
			}
		}
	}
	walk("#", doc)
}

// noClientErrors are the operations that answer no 4xx of their own: the
// health probes, the static well-known documents, and GET
// /sessions/validate, which answers 200 {"is_valid": false} for a missing
// or invalid session, and the public revocation list GET /sessions/revoked.
var noClientErrors = map[string]bool{
	"GET /health/alive":          true,
	"GET /health/ready":          true,
	"GET /.well-known/jwks.json": true,
	"GET /.well-known/config":    true,
	"GET /sessions/validate":     true,
	// The redirect flow's browser routes answer every outcome with a 307
	// carrying error and error_description (api/openapi.yaml).
	"GET /thirdparty/auth":     true,
	"GET /thirdparty/callback": true,
	"GET /sessions/revoked":    true,
}

// TestErrorResponses fails when an operation documents no 4xx response
// whose application/json schema is the Error schema (exemptions above),
// or any error response (4xx, 5xx) with another schema.
func TestErrorResponses(t *testing.T) {
	for file := range documents {
		t.Run(file, func(t *testing.T) { errorResponses(t, loadDoc(t, file)) })
	}
}

func errorResponses(t *testing.T, doc map[string]any) {
	const errorRef = "#/components/schemas/Error"
	isErrorBody := func(resp any) (bool, error) {
		r, err := deref(doc, resp)
		if err != nil {
			return false, err
		}
		m, _ := r.(map[string]any)
		content, _ := m["content"].(map[string]any)
		js, _ := content["application/json"].(map[string]any)
		schema, _ := js["schema"].(map[string]any)
		return schema["$ref"] == errorRef, nil
	}
	for _, o := range operations(t, doc) {
		name := o.method + " " + o.path
		responses, ok := o.op["responses"].(map[string]any)
		if !ok || len(responses) == 0 {
			t.Errorf("%s: no responses", name)
			continue
		}
		has4xx := false
		for status, resp := range responses {
			if len(status) != 3 || (status[0] != '4' && status[0] != '5') {
				continue
			}
			ok, err := isErrorBody(resp)
			if err != nil {
				t.Errorf("%s %s: %v", name, status, err)
				continue
			}
			if !ok {
				t.Errorf("%s %s: the body is not %s", name, status, errorRef)
				continue
			}
			has4xx = has4xx || status[0] == '4'
		}
		if !has4xx && !noClientErrors[name] {
			t.Errorf("%s: no 4xx response with the Error schema", name)
		}
	}
}
