package api_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/internal/contracttest"
)

// TestOpenAPIDocumentIsValid loads the OpenAPI document with kin-openapi
// and validates it (its examples included) as OpenAPI 3.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId: a generated client would name its method after the path", method, path)
			}
			if other, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %s of %s %s is also %s's", op.OperationID, method, path, other)
			}
			ids[op.OperationID] = method + " " + path
		}
	}
	// Every operation that can need a token says what happens without one.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil && len(*op.Security) == 0 {
				continue // needs no token
			}
			if op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s %s takes a token but documents no 401", method, path)
			}
		}
	}
}

// TestAsyncAPIDocumentIsValid has the AsyncAPI project's own parser,
// @asyncapi/parser, pinned in testdata/asyncapi-parser/package-lock.json,
// parse the document and report every diagnostic. Under CI a missing Node
// or parser fails the test; elsewhere it is skipped with what to install.
func TestAsyncAPIDocumentIsValid(t *testing.T) {
	dir := filepath.Join("testdata", "asyncapi-parser")
	install := "npm ci --prefix api/testdata/asyncapi-parser --ignore-scripts --no-audit --no-fund"
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not installed (Debian's nodejs): %v", err)
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	readJSON(t, filepath.Join(dir, "package-lock.json"), &lock)
	want := lock.Packages["node_modules/@asyncapi/parser"].Version
	if want == "" {
		t.Fatal("package-lock.json pins no @asyncapi/parser")
	}
	installed, err := os.ReadFile(filepath.Join(dir, "node_modules", "@asyncapi", "parser", "package.json"))
	if err != nil {
		unavailable("@asyncapi/parser is not installed; run %s: %v", install, err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(installed, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Version != want {
		t.Fatalf("@asyncapi/parser %s is installed, the lock pins %s; run %s", pkg.Version, want, install)
	}

	doc := filepath.Join(t.TempDir(), "asyncapi.yaml")
	if err := os.WriteFile(doc, api.AsyncAPIDocument(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "validate.mjs"), doc)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("node: %v", err)
	}
	var messages []string
	parsed := false
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var line struct {
			Severity, Code, Path, Message string
			Parsed                        bool
			Messages                      []string
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("parser output %q: %v", sc.Text(), err)
		}
		if line.Parsed {
			parsed, messages = true, line.Messages
			continue
		}
		t.Errorf("@asyncapi/parser %s %s at %s: %s", line.Severity, line.Code, line.Path, line.Message)
	}
	if err != nil {
		t.Fatalf("@asyncapi/parser refused the document (%v): %s%s", err, out, exit.Stderr)
	}
	if !parsed {
		t.Fatalf("@asyncapi/parser printed no document: %s", out)
	}
	if len(messages) != 17 {
		t.Errorf("the parser sees %d messages (%v), want the 6 SSE events and the 11 WebSocket messages", len(messages), messages)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestAsyncAPIExamplesMatchTheirSchemas validates every example of every
// message against the message's payload and headers schemas:
// @asyncapi/parser does not.
func TestAsyncAPIExamplesMatchTheirSchemas(t *testing.T) {
	comp, url, err := contracttest.AsyncAPICompiler()
	if err != nil {
		t.Fatal(err)
	}
	doc := plain(t, api.AsyncAPIDocument())
	messages := doc["components"].(map[string]any)["messages"].(map[string]any)
	n := 0
	for name, m := range messages {
		m := m.(map[string]any)
		examples, _ := m["examples"].([]any)
		if len(examples) == 0 {
			t.Errorf("message %s has no example", name)
		}
		for i, ex := range examples {
			ex := ex.(map[string]any)
			for _, part := range []string{"payload", "headers"} {
				v, ok := ex[part]
				if !ok {
					if _, has := m[part]; has && part == "headers" {
						t.Errorf("message %s example %d has no headers", name, i)
					}
					continue
				}
				sch, err := comp.Compile(url + "#/components/messages/" + name + "/" + part)
				if err != nil {
					t.Fatal(err)
				}
				if err := sch.Validate(v); err != nil {
					t.Errorf("message %s example %d %s: %v", name, i, part, err)
				}
				n++
			}
		}
	}
	if n < 11 {
		t.Fatalf("validated %d example parts", n)
	}
}

// plain decodes a YAML document into the values encoding/json gives, with
// numbers as json.Number so that a nanosecond timestamp stays exact.
func plain(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(j)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestContractSchemasAgree keeps one truth across and within the two
// documents: a schema both name is the same schema in each (a quote, a
// tick as WebSocket clients and polls get it), and a WebSocket message is
// its SSE event with its type first.
func TestContractSchemasAgree(t *testing.T) {
	open := plain(t, api.OpenAPIDocument())["components"].(map[string]any)["schemas"].(map[string]any)
	async := plain(t, api.AsyncAPIDocument())["components"].(map[string]any)["schemas"].(map[string]any)
	shared := 0
	for name, s := range open {
		if a, ok := async[name]; ok {
			shared++
			if !reflect.DeepEqual(s, a) {
				t.Errorf("schema %s differs between openapi.yaml and asyncapi.yaml:\n%v\n%v", name, s, a)
			}
		}
	}
	if shared < 4 {
		t.Errorf("the documents share %d schemas, want Symbol, SymbolParameter, Quote, TickMessage and SnapshotMessage at least", shared)
	}
	for event, msg := range map[string]string{"Tick": "TickMessage", "Snapshot": "SnapshotMessage", "Conflated": "ConflatedMessage", "Status": "StatusMessage", "Bands": "BandsMessage", "BarEvent": "BarMessage"} {
		e, m := async[event].(map[string]any), async[msg].(map[string]any)
		eProps, mProps := e["properties"].(map[string]any), m["properties"].(map[string]any)
		kind := strings.ToLower(strings.TrimSuffix(event, "Event"))
		if want := []any{kind}; !reflect.DeepEqual(mProps["type"].(map[string]any)["enum"], want) {
			t.Errorf("%s.type is %v, want the enum %v", msg, mProps["type"], want)
		}
		rest := map[string]any{}
		for k, v := range mProps {
			if k != "type" {
				rest[k] = v
			}
		}
		if !reflect.DeepEqual(rest, eProps) {
			t.Errorf("%s's properties, but type, are not %s's", msg, event)
		}
		req := append([]any{"type"}, e["required"].([]any)...)
		if !reflect.DeepEqual(m["required"], req) {
			t.Errorf("%s requires %v, want %v", msg, m["required"], req)
		}
		if m["additionalProperties"] != false || e["additionalProperties"] != false {
			t.Errorf("%s and %s must be closed", event, msg)
		}
	}
	// A quote is a tick's fields, then the session's.
	quote := async["Quote"].(map[string]any)["properties"].(map[string]any)
	for name := range async["Tick"].(map[string]any)["properties"].(map[string]any) {
		if _, ok := quote[name]; !ok {
			t.Errorf("Quote lacks the tick field %s", name)
		}
	}
}

// TestContractIsServed serves both documents as the binary does: YAML,
// with an ETag a client revalidates with, without a token, GET and HEAD
// only.
func TestContractIsServed(t *testing.T) {
	for name, tc := range map[string]struct {
		h   http.Handler
		doc []byte
	}{
		"openapi":  {api.NewOpenAPIHandler(), api.OpenAPIDocument()},
		"asyncapi": {api.NewAsyncAPIHandler(), api.AsyncAPIDocument()},
	} {
		t.Run(name, func(t *testing.T) {
			get := func(method string, header ...string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(method, "/api/"+name+".yaml", nil)
				for i := 0; i < len(header); i += 2 {
					r.Header.Set(header[i], header[i+1])
				}
				w := httptest.NewRecorder()
				tc.h.ServeHTTP(w, r)
				return w
			}
			w := get("GET")
			if w.Code != 200 || w.Header().Get("Content-Type") != "application/yaml; charset=utf-8" || w.Header().Get("Cache-Control") != "no-cache" {
				t.Fatalf("GET: %d %v", w.Code, w.Header())
			}
			if !slices.Equal(w.Body.Bytes(), tc.doc) {
				t.Fatal("GET does not serve the document")
			}
			etag := w.Header().Get("ETag")
			if len(etag) != 18 {
				t.Fatalf("ETag %q", etag)
			}
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				if w := get("GET", "If-None-Match", inm); w.Code != 304 || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
					t.Errorf("If-None-Match %s: %d, %d bytes", inm, w.Code, w.Body.Len())
				}
			}
			if w := get("GET", "If-None-Match", `"other"`); w.Code != 200 {
				t.Errorf("another ETag: %d", w.Code)
			}
			if w := get("HEAD"); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(tc.doc)) {
				t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
			}
			if w := get("POST"); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("POST: %d %v", w.Code, w.Header())
			}
		})
	}
}
