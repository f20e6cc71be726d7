package contracttest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const tick = `{"seq":7,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`

// TestCheckSSEHoldsEventsToTheirSchemas: a field the contract does not
// name, a missing one, a wrong type or a missing id fails.
func TestCheckSSEHoldsEventsToTheirSchemas(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSSE("tick", "7", tick); err != nil {
		t.Fatalf("a valid tick: %v", err)
	}
	for name, ev := range map[string][3]string{
		"a new field":       {"tick", "7", strings.Replace(tick, `}`, `,"venue":"XNAS"}`, 1)},
		"a missing field":   {"tick", "7", strings.Replace(tick, `"size":300,`, ``, 1)},
		"a wrong type":      {"tick", "7", strings.Replace(tick, `"size":300`, `"size":"300"`, 1)},
		"a tick without id": {"tick", "", tick},
		"an unknown event":  {"quote", "7", tick},
		"a conflated id":    {"conflated", "7", `{"dropped":3}`},
	} {
		if err := c.CheckSSE(ev[0], ev[1], ev[2]); err == nil {
			t.Errorf("%s passed", name)
		}
	}
	if err := c.CheckServerMessage([]byte(`{"type":"tick",` + tick[1:])); err != nil {
		t.Errorf("a valid WebSocket tick: %v", err)
	}
	if err := c.CheckServerMessage([]byte(`{"type":"subscribe","symbols":["AAPL"]}`)); err == nil {
		t.Error("a client's message passed as the server's")
	}
	if err := c.CheckClientMessage([]byte(`{"op":"subscribe","symbols":["*","AAPL"]}`)); err == nil {
		t.Error(`"*" with another symbol passed`)
	}
}

// TestCheckResponseHoldsAnswersToTheOpenAPIDocument, and falls back on the
// responses any path may give.
func TestCheckResponseHoldsAnswersToTheOpenAPIDocument(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Cache-Control": {"no-store"}}
	for _, tc := range []struct {
		method, target string
		status         int
		header         http.Header
		body           string
		ok             bool
	}{
		{"GET", "/api/quotes/AAPL", 200, json, `{"seq":0,"sym":"AAPL","chg":0,"chg_pct":0,"vol":0,"prevClose":229.87}`, true},
		{"GET", "/api/quotes/AAPL", 200, json, `{"seq":0,"sym":"AAPL","px":0,"chg":0,"chg_pct":0,"vol":0}`, false},
		{"GET", "/api/quotes/AAPL", 200, json, `{"seq":1,"sym":"AAPL"}`, false},
		{"GET", "/api/quotes/FOO", 404, json, `{"error":"unknown symbols","symbols":["FOO"]}`, true},
		{"GET", "/api/quotes/FOO", 404, json, `{"error":"unknown symbols","symbol":"FOO"}`, false},
		{"GET", "/api/quotes/FOO", 418, json, `{"error":"teapot"}`, false},
		{"GET", "/api/symbols", 401, json, `{"error":"authentication required"}`, false}, // no WWW-Authenticate
		{"DELETE", "/api/symbols", 405, with(json, "Allow", "GET, HEAD"), `{"error":"method not allowed"}`, true},
		{"DELETE", "/api/symbols", 405, json, `{"error":"method not allowed"}`, false},
		{"GET", "/api/nope", 404, json, `{"error":"no such endpoint: /api/nope"}`, true},
		{"GET", "/metrics", 200, http.Header{"Content-Type": {"text/plain"}}, `# not in the contract`, true},
		{"HEAD", "/api/symbols", 200, json, ``, true},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		err := c.CheckResponse(r, tc.status, tc.header, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s %d %s: %v, want ok %v", tc.method, tc.target, tc.status, tc.body, err, tc.ok)
		}
	}
}

func with(h http.Header, kv ...string) http.Header {
	h = h.Clone()
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// TestUnseenNamesWhatNoAnswerShowed.
func TestUnseenNamesWhatNoAnswerShowed(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSSE("tick", "7", tick); err != nil {
		t.Fatal(err)
	}
	unseen := c.Unseen(nil)
	for _, want := range []string{"asyncapi message events/conflated: never seen", "asyncapi #/components/schemas/Quote: vol", "openapi #/components/schemas/Error: symbols"} {
		if !slices.Contains(unseen, want) {
			t.Errorf("Unseen lacks %q", want)
		}
	}
	for _, seen := range []string{"asyncapi message events/tick: never seen", "asyncapi #/components/schemas/Tick: px", "asyncapi #/components/messages/tick/headers: id"} {
		if slices.Contains(unseen, seen) {
			t.Errorf("Unseen has %q", seen)
		}
	}
	if slices.Contains(c.Unseen(map[string]string{"asyncapi #/components/schemas/Quote: vol": "a reason"}), "asyncapi #/components/schemas/Quote: vol") {
		t.Error("an allowed entry is still listed")
	}
}

func TestSplitEvents(t *testing.T) {
	got := SplitEvents("retry: 2000\n\nid: 3\nevent: tick\ndata: {}\n\n: heartbeat\n\nevent: conflated\ndata: {\"dropped\":1}\n\nid: 4\nevent: ti")
	want := []Event{{"tick", "3", "{}"}, {"conflated", "", `{"dropped":1}`}}
	if !slices.Equal(got, want) {
		t.Fatalf("%+v", got)
	}
}
