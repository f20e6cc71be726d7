package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/sse"
)

// runningHub returns a running engine over symbols that has taken in one
// tick of each symbol i at price 10+i and size 100*(i+1).
func runningHub(t testing.TB, symbols ...string) *stream.Hub {
	t.Helper()
	cfg := stream.DefaultConfig(symbols, sse.Framing{})
	cfg.FlushInterval = time.Millisecond
	h, err := stream.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	<-h.Started()
	for i, s := range symbols {
		tk := historyTick(s, historyBase, 10+float64(i), 100*int64(i+1))
		tk.Seq = uint64(i + 1)
		if err := h.Publish(tk); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, seq := h.Quotes(); seq < uint64(len(symbols)); _, seq = h.Quotes() {
		if time.Now().After(deadline) {
			t.Fatalf("quotes at seq %d after 5s, want %d", seq, len(symbols))
		}
		select {
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
		}
	}
	return h
}

func TestSymbolsHandlerPages(t *testing.T) {
	t.Parallel()
	syms := []string{"AAPL", "BRK.B", "MSFT", "NVDA", "TSLA"}
	h := NewSymbolsHandler(runningHub(t, syms...), nil)
	get := func(target string) (int, []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec.Code, rec.Body.Bytes()
	}
	type page struct {
		total  int
		next   *int
		quotes []string
	}
	ptr := func(n int) *int { return &n }
	for _, tt := range []struct {
		target string
		want   page
	}{
		{"/api/symbols", page{5, nil, syms}},
		{"/api/symbols?limit=2", page{5, ptr(2), syms[:2]}},
		{"/api/symbols?offset=2&limit=2", page{5, ptr(4), syms[2:4]}},
		{"/api/symbols?offset=4&limit=2", page{5, nil, syms[4:]}},
		{"/api/symbols?offset=3", page{5, nil, syms[3:]}},
		{"/api/symbols?offset=5&limit=2", page{5, nil, []string{}}},
		{"/api/symbols?offset=99", page{5, nil, []string{}}},
		{"/api/symbols?limit=5", page{5, nil, syms}},
	} {
		code, body := get(tt.target)
		var got QuoteList
		if err := json.Unmarshal(body, &got); code != 200 || err != nil {
			t.Fatalf("%s: %d %s (%v)", tt.target, code, body, err)
		}
		names := []string{}
		for _, q := range got.Quotes {
			names = append(names, q.Last.Symbol)
		}
		if got.Total != tt.want.total || !reflect.DeepEqual(got.Next, tt.want.next) || !reflect.DeepEqual(names, tt.want.quotes) || got.Seq != 5 {
			t.Errorf("%s: seq %d total %d next %v quotes %v; want seq 5 and %+v", tt.target, got.Seq, got.Total, got.Next, names, tt.want)
		}
		if !strings.Contains(string(body), `"quotes":[`) {
			t.Errorf("%s: quotes is not a list: %s", tt.target, body)
		}
		if tt.want.next == nil && strings.Contains(string(body), `"next"`) {
			t.Errorf("%s: the last page names a next one: %s", tt.target, body)
		}
	}

	code, body := get("/api/symbols?form=compact&offset=1&limit=2")
	var c QuoteColumns
	if err := json.Unmarshal(body, &c); code != 200 || err != nil {
		t.Fatalf("compact: %d %s (%v)", code, body, err)
	}
	want := QuoteColumns{Seq: 5, Total: 5, Next: ptr(3), Symbols: []string{"BRK.B", "MSFT"}, Price: []float64{11, 12},
		Change: []float64{0, 0}, ChangePercent: []float64{0, 0}, Volume: []int64{200, 300}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("compact page:\n got %+v\nwant %+v", c, want)
	}
	if _, full := get("/api/symbols?form=full&limit=1"); !strings.Contains(string(full), `"quotes":[{"seq":1,"sym":"AAPL"`) {
		t.Errorf("form=full: %s", full)
	}

	for _, bad := range []struct{ query, want string }{
		{"limit=0", "invalid limit: want one whole number from 1 to 100000"},
		{"limit=100001", "invalid limit"},
		{"limit=x", "invalid limit"},
		{"limit=1&limit=2", "invalid limit"},
		{"offset=-1", "invalid offset: want one whole number from 0 to 2147483647"},
		{"offset=1e3", "invalid offset"},
		{"form=columns", "invalid form: want full or compact, once"},
		{"form=compact&form=full", "invalid form"},
	} {
		code, body := get("/api/symbols?" + bad.query)
		if code != 400 || !strings.Contains(string(body), `"error":"`+bad.want) {
			t.Errorf("?%s: %d %s, want 400 %q", bad.query, code, body, bad.want)
		}
	}
}

// TestSymbolsCompactFormIsSmall checks that the compact form of a large
// universe is a fraction of the full one: what the form is for.
func TestSymbolsCompactFormIsSmall(t *testing.T) {
	t.Parallel()
	h := NewSymbolsHandler(syntheticHub(t, 10_000), nil)
	size := func(target string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d", target, rec.Code)
		}
		return rec.Body.Len()
	}
	full, compact := size("/api/symbols"), size("/api/symbols?form=compact")
	t.Logf("10,000 symbols: full %d bytes, compact %d bytes", full, compact)
	if compact*3 > full {
		t.Errorf("compact form %d bytes, full %d: want under a third", compact, full)
	}
}

// BenchmarkSymbolsPage measures one page of 100 quotes of /api/symbols
// (compact) in a universe of 10,000 symbols: the handler copies the page,
// not the universe.
func BenchmarkSymbolsPage(b *testing.B) {
	h := NewSymbolsHandler(syntheticHub(b, 10_000), nil)
	req := httptest.NewRequest(http.MethodGet, "/api/symbols?form=compact&offset=5000&limit=100", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// syntheticHub is runningHub over a synthetic universe of n symbols.
func syntheticHub(tb testing.TB, n int) *stream.Hub {
	tb.Helper()
	u, err := feed.SyntheticUniverse(n, 1)
	if err != nil {
		tb.Fatal(err)
	}
	names := make([]string, len(u))
	for i, s := range u {
		names[i] = s.Name
	}
	return runningHub(tb, names...)
}
