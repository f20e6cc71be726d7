// Package contracttest holds a running tickerd to its contract, the
// documents of package api: it validates answers (status, headers, body)
// against the OpenAPI document with kin-openapi's openapi3filter, and
// stream events and WebSocket messages against their schemas in the
// AsyncAPI document with santhosh-tekuri/jsonschema. It also keeps count
// of what it has seen, so that a test fails on a message or a property
// that the contract promises and the server never sends.
//
// It is for tests only; the binary must never import it.
package contracttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/tickerd/tickerd/api"
)

// asyncAPIURL names the AsyncAPI document among the compiler's resources.
const asyncAPIURL = "https://tickerd.invalid/api/asyncapi.yaml"

// Contract is both documents, loaded and compiled, and what has been seen
// of them. Its methods are safe for concurrent use.
type Contract struct {
	OpenAPI *openapi3.T

	openRaw  map[string]any // the OpenAPI document as plain JSON values
	asyncRaw map[string]any // the AsyncAPI document as plain JSON values

	// channels maps a channel and a message key (an SSE event name, a
	// WebSocket message's type or op) to the message.
	channels map[string]map[string]*message

	mu       sync.Mutex
	seen     map[string]map[string]bool // schema pointer (doc + "#/...") -> properties seen
	visited  map[string]bool            // schema pointers validated against at least once
	messages map[string]bool            // channel/key of every message seen
}

// message is one AsyncAPI message with its compiled schemas.
type message struct {
	ptr     string // #/components/messages/NAME
	payload *jsonschema.Schema
	headers *jsonschema.Schema // nil: the message has no headers
	client  bool               // sent by the client (an operation tickerd receives)
}

var registerStreamDecoder sync.Once

// Load loads, validates and compiles both documents of package api.
func Load() (*Contract, error) {
	registerStreamDecoder.Do(func() {
		// An event stream's head is validated with the prefix of its body
		// that a test read: its Content-Type, and the body as a string.
		openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	})
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIDocument())
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not valid OpenAPI: %w", err)
	}
	c := &Contract{OpenAPI: doc, seen: map[string]map[string]bool{}, visited: map[string]bool{}, messages: map[string]bool{}}
	if c.openRaw, err = plainJSON(api.OpenAPIDocument()); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if c.asyncRaw, err = plainJSON(api.AsyncAPIDocument()); err != nil {
		return nil, fmt.Errorf("asyncapi.yaml: %w", err)
	}
	if err := c.compileMessages(); err != nil {
		return nil, fmt.Errorf("asyncapi.yaml: %w", err)
	}
	return c, nil
}

// plainJSON turns a YAML document into the values encoding/json gives.
func plainJSON(doc []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// AsyncAPICompiler returns a JSON Schema compiler (draft 7, the base of
// AsyncAPI schemas) that holds the AsyncAPI document, and the URL of the
// document in it: compile URL+"#/components/schemas/Tick" to get a schema.
func AsyncAPICompiler() (*jsonschema.Compiler, string, error) {
	j, err := yaml.YAMLToJSON(api.AsyncAPIDocument())
	if err != nil {
		return nil, "", err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, "", err
	}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft7)
	if err := comp.AddResource(asyncAPIURL, doc); err != nil {
		return nil, "", err
	}
	return comp, asyncAPIURL, nil
}

// compileMessages compiles the payload and headers of every message of
// every channel, and notes which ones the client sends.
func (c *Contract) compileMessages() error {
	comp, url, err := AsyncAPICompiler()
	if err != nil {
		return err
	}
	clientRefs := map[string]bool{}
	for _, op := range mapAt(c.asyncRaw, "operations") {
		op, _ := op.(map[string]any)
		if op["action"] != "receive" {
			continue
		}
		for _, m := range listAt(op, "messages") {
			clientRefs[refOf(m)] = true
		}
	}
	c.channels = map[string]map[string]*message{}
	for name, ch := range mapAt(c.asyncRaw, "channels") {
		ch, _ := ch.(map[string]any)
		c.channels[name] = map[string]*message{}
		for key, m := range mapAt(ch, "messages") {
			ptr := refOf(m)
			if !strings.HasPrefix(ptr, "#/components/messages/") {
				return fmt.Errorf("channel %s message %s: want a $ref to components.messages, got %q", name, key, ptr)
			}
			msg := &message{ptr: ptr, client: clientRefs["#/channels/"+name+"/messages/"+key]}
			if msg.payload, err = comp.Compile(url + ptr + "/payload"); err != nil {
				return fmt.Errorf("message %s: payload: %w", ptr, err)
			}
			if _, ok := mapAt(c.asyncRaw, pointerParts(ptr)...)["headers"]; ok {
				if msg.headers, err = comp.Compile(url + ptr + "/headers"); err != nil {
					return fmt.Errorf("message %s: headers: %w", ptr, err)
				}
			}
			c.channels[name][key] = msg
		}
	}
	return nil
}

// CheckSSE validates one event of GET /events, its SSE fields (event, id)
// and its data, against the events channel.
func (c *Contract) CheckSSE(event, id, data string) error {
	msg := c.channels["events"][event]
	if msg == nil {
		return fmt.Errorf("SSE event %q is not a message of the events channel", event)
	}
	headers := map[string]any{"event": event}
	if id != "" {
		headers["id"] = id
	}
	if err := msg.headers.Validate(headers); err != nil {
		return fmt.Errorf("SSE event %s (id %q): fields: %w", event, id, err)
	}
	if err := c.checkPayload("events", event, msg, []byte(data)); err != nil {
		return err
	}
	c.observe(c.asyncRaw, "asyncapi", msg.ptr+"/headers", headers)
	return nil
}

// CheckServerMessage validates one text message tickerd sent on GET /ws.
func (c *Contract) CheckServerMessage(data []byte) error {
	return c.checkWS(data, "type", false)
}

// CheckClientMessage validates one text message a client sends on GET /ws.
func (c *Contract) CheckClientMessage(data []byte) error {
	return c.checkWS(data, "op", true)
}

func (c *Contract) checkWS(data []byte, keyField string, client bool) error {
	var head map[string]any
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("WebSocket message %.200s: %w", data, err)
	}
	key, _ := head[keyField].(string)
	msg := c.channels["ws"][key]
	if msg == nil || msg.client != client {
		return fmt.Errorf("WebSocket message with %s %q is not a message of the ws channel: %.200s", keyField, key, data)
	}
	return c.checkPayload("ws", key, msg, data)
}

func (c *Contract) checkPayload(channel, key string, msg *message, data []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s message %s: %.200s: %w", channel, key, data, err)
	}
	if err := msg.payload.Validate(v); err != nil {
		return fmt.Errorf("%s message %s does not match %s: %.300s: %w", channel, key, msg.ptr, data, err)
	}
	var plain any
	_ = json.Unmarshal(data, &plain)
	c.observe(c.asyncRaw, "asyncapi", msg.ptr+"/payload", plain)
	c.mu.Lock()
	c.messages[channel+"/"+key] = true
	c.mu.Unlock()
	return nil
}

// CheckResponse validates an answer to req, its status, headers and body
// (for an event stream, the part of it that was read), against the
// OpenAPI document. An answer to a method the path does not take is held
// to the MethodNotAllowed response, a CORS preflight to Preflight, and an
// answer under /api/ that names no endpoint to NoSuchEndpoint. Paths
// outside the contract (the page, /metrics) are not checked.
func (c *Contract) CheckResponse(req *http.Request, status int, header http.Header, body []byte) error {
	path := req.URL.Path
	tmpl, item, params := c.findPath(path)
	if item == nil {
		if !strings.HasPrefix(path, "/api/") {
			return nil
		}
		return c.checkComponent(req, "NoSuchEndpoint", status, http.StatusNotFound, header, body)
	}
	method, head := req.Method, req.Method == http.MethodHead
	if head {
		method = http.MethodGet
	}
	op := item.GetOperation(method)
	switch {
	case status == http.StatusMethodNotAllowed:
		return c.checkComponent(req, "MethodNotAllowed", status, status, header, body)
	case req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" && status == http.StatusNoContent:
		return c.checkComponent(req, "Preflight", status, status, header, body)
	case op == nil:
		return fmt.Errorf("%s %s answered %d: the contract has no such operation", req.Method, path, status)
	}
	get := req.Clone(context.Background())
	get.Method = method
	route := &routers.Route{Spec: c.OpenAPI, Path: tmpl, PathItem: item, Method: method, Operation: op}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: get, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: head, MultiError: true},
	})
	if err != nil {
		return fmt.Errorf("%s %s answered %d %.300s: %w", req.Method, req.URL, status, body, err)
	}
	if !head {
		c.observeResponse("#/paths/"+escapePointer(tmpl)+"/"+strings.ToLower(method)+"/responses/"+strconv.Itoa(status), header, body)
	}
	return nil
}

// checkComponent validates an answer against components.responses.name,
// which must have status want.
func (c *Contract) checkComponent(req *http.Request, name string, status, want int, header http.Header, body []byte) error {
	ref := c.OpenAPI.Components.Responses[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the contract has no %s response", name)
	}
	if status != want {
		return fmt.Errorf("%s %s answered %d, want %d (%s): %.300s", req.Method, req.URL.Path, status, want, name, body)
	}
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(status, ref))}
	get := req.Clone(context.Background())
	if get.Method == http.MethodHead {
		get.Method = http.MethodGet
	}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: get, Route: &routers.Route{Spec: c.OpenAPI, Method: get.Method, Operation: op}},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: req.Method == http.MethodHead, MultiError: true},
	})
	if err != nil {
		return fmt.Errorf("%s %s answered %d %.300s, not a %s response: %w", req.Method, req.URL, status, body, name, err)
	}
	if req.Method != http.MethodHead {
		c.observeResponse("#/components/responses/"+name, header, body)
	}
	return nil
}

// findPath returns the path template of the document that path matches,
// its item and the values of its parameters.
func (c *Contract) findPath(path string) (string, *openapi3.PathItem, map[string]string) {
	segments := strings.Split(path, "/")
	for tmpl, item := range c.OpenAPI.Paths.Map() {
		parts := strings.Split(tmpl, "/")
		if len(parts) != len(segments) {
			continue
		}
		params := map[string]string{}
		match := true
		for i, p := range parts {
			if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && segments[i] != "" {
				params[p[1:len(p)-1]] = segments[i]
			} else if p != segments[i] {
				match = false
				break
			}
		}
		if match {
			return tmpl, item, params
		}
	}
	return "", nil, nil
}

// observeResponse notes the properties of a JSON answer against the
// schema of the response at ptr (in the raw OpenAPI document).
func (c *Contract) observeResponse(ptr string, header http.Header, body []byte) {
	resp, respPtr := deref(c.openRaw, ptr)
	content, _ := resp["content"].(map[string]any)
	if content == nil || !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	c.observe(c.openRaw, "openapi", respPtr+"/content/application~1json/schema", v)
}

// observe notes, for every object schema that v is validated against
// below ptr, which of its properties v has. It follows $ref, items and the
// branches of oneOf, anyOf and allOf that v fits.
func (c *Contract) observe(doc map[string]any, docName, ptr string, v any) {
	schema, ptr := deref(doc, ptr)
	if schema == nil {
		return
	}
	key := docName + ptr
	c.mu.Lock()
	c.visited[key] = true
	c.mu.Unlock()
	if props, ok := schema["properties"].(map[string]any); ok {
		if obj, ok := v.(map[string]any); ok {
			c.mu.Lock()
			if c.seen[key] == nil {
				c.seen[key] = map[string]bool{}
			}
			for name := range obj {
				c.seen[key][name] = true
			}
			c.mu.Unlock()
			for name, val := range obj {
				if _, ok := props[name]; ok {
					c.observe(doc, docName, ptr+"/properties/"+escapePointer(name), val)
				}
			}
		}
	}
	if _, ok := schema["items"].(map[string]any); ok {
		if arr, ok := v.([]any); ok {
			for _, e := range arr {
				c.observe(doc, docName, ptr+"/items", e)
			}
		}
	}
	for _, kw := range []string{"oneOf", "anyOf", "allOf"} {
		for i, branch := range listAt(schema, kw) {
			if kw == "allOf" || fits(doc, branch, v) {
				c.observe(doc, docName, ptr+"/"+kw+"/"+strconv.Itoa(i), v)
			}
		}
	}
}

// fits reports whether v may be an instance of schema as far as its type
// and the enums of its properties go: enough to tell the branches of the
// contract's oneOf apart (a tick from a snapshot, by "type").
func fits(doc map[string]any, schema any, v any) bool {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		s, _ = deref(doc, ref)
	}
	obj, isObj := v.(map[string]any)
	if t, _ := s["type"].(string); t == "object" && !isObj || t == "array" && !isSlice(v) {
		return false
	}
	props, _ := s["properties"].(map[string]any)
	for name, ps := range props {
		ps, _ := ps.(map[string]any)
		enum := listAt(ps, "enum")
		if val, ok := obj[name]; ok && enum != nil && !slices.Contains(enum, val) {
			return false
		}
	}
	return true
}

func isSlice(v any) bool { _, ok := v.([]any); return ok }

// MessagesSeen reports, for every message of every channel (as
// "channel/key"), whether a valid one has been seen.
func (c *Contract) MessagesSeen() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for ch, msgs := range c.channels {
		for key := range msgs {
			out[ch+"/"+key] = c.messages[ch+"/"+key]
		}
	}
	return out
}

// Unseen lists what the contract promises and no valid answer, event or
// message has shown: messages never seen, and properties of the object
// schemas under components never seen in an instance, as
// "openapi #/components/schemas/Quote: vol". allowed names entries that
// may stay unseen (with the reason, in the caller).
func (c *Contract) Unseen(allowed map[string]string) []string {
	var out []string
	for key, seen := range c.MessagesSeen() {
		if !seen {
			out = append(out, "asyncapi message "+key+": never seen")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range []struct {
		name string
		doc  map[string]any
		ptrs []string
	}{
		{"openapi", c.openRaw, []string{"#/components/schemas"}},
		{"asyncapi", c.asyncRaw, []string{"#/components/schemas", "#/components/messages"}},
	} {
		for _, root := range d.ptrs {
			for ptr, props := range objectSchemas(d.doc, root) {
				key := d.name + ptr
				for _, p := range props {
					entry := d.name + " " + ptr + ": " + p
					if !c.seen[key][p] && allowed[entry] == "" {
						out = append(out, entry)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// objectSchemas finds every schema with properties under root, by
// pointer, with its property names; it does not follow $ref.
func objectSchemas(doc map[string]any, root string) map[string][]string {
	out := map[string][]string{}
	var walk func(ptr string, node any)
	walk = func(ptr string, node any) {
		switch n := node.(type) {
		case map[string]any:
			if props, ok := n["properties"].(map[string]any); ok && !strings.Contains(ptr, "/examples/") {
				names := make([]string, 0, len(props))
				for name := range props {
					names = append(names, name)
				}
				sort.Strings(names)
				out[ptr] = names
			}
			for k, v := range n {
				if k == "examples" || k == "example" {
					continue
				}
				walk(ptr+"/"+escapePointer(k), v)
			}
		case []any:
			for i, v := range n {
				walk(ptr+"/"+strconv.Itoa(i), v)
			}
		}
	}
	node, _ := deref(doc, root)
	walk(root, node)
	// A message's payload is a $ref; its headers, inline, are its own.
	for ptr := range out {
		if strings.HasPrefix(root, "#/components/messages") && !strings.Contains(ptr, "/headers") {
			delete(out, ptr)
		}
	}
	return out
}

// deref returns the node at ptr ("#/a/b") in doc, following $ref, and the
// pointer it ends at.
func deref(doc map[string]any, ptr string) (map[string]any, string) {
	for range 16 {
		node, _ := at(doc, pointerParts(ptr)).(map[string]any)
		ref, ok := node["$ref"].(string)
		if !ok {
			return node, ptr
		}
		ptr = ref
	}
	return nil, ptr
}

func at(doc any, parts []string) any {
	node := doc
	for _, p := range parts {
		switch n := node.(type) {
		case map[string]any:
			node = n[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			node = n[i]
		default:
			return nil
		}
	}
	return node
}

func pointerParts(ptr string) []string {
	ptr = strings.TrimPrefix(strings.TrimPrefix(ptr, "#"), "/")
	if ptr == "" {
		return nil
	}
	parts := strings.Split(ptr, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func mapAt(doc map[string]any, parts ...string) map[string]any {
	m, _ := at(doc, parts).(map[string]any)
	return m
}

func listAt(node any, key string) []any {
	m, _ := node.(map[string]any)
	l, _ := m[key].([]any)
	return l
}

func refOf(node any) string {
	m, _ := node.(map[string]any)
	s, _ := m["$ref"].(string)
	return s
}

// Event is one event of an event stream.
type Event struct{ Name, ID, Data string }

// SplitEvents returns the complete events at the start of an event
// stream's body (a retry field and comments are not events; an event
// whose blank line has not arrived is left out).
func SplitEvents(body string) []Event {
	var out []Event
	for {
		block, rest, ok := strings.Cut(body, "\n\n")
		if !ok {
			return out
		}
		body = rest
		var ev Event
		for line := range strings.SplitSeq(block, "\n") {
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				ev.ID = value
			case "event":
				ev.Name = value
			case "data":
				ev.Data = value
			}
		}
		if ev.Name != "" || ev.Data != "" {
			out = append(out, ev)
		}
	}
}
