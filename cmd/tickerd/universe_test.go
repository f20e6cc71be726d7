package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/feed"
)

// TestALargeUniverse runs tickerd over 2,000 generated symbols, more than
// -firehose and -symbol-series: a stream of every symbol is refused on
// every transport with a message saying what to do, a stream of named
// symbols gets exactly those, /api/symbols reads in pages, and the tick
// counter is one series. With -firehose raised, every symbol streams.
func TestALargeUniverse(t *testing.T) {
	const n = 2000
	u, err := feed.SyntheticUniverse(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	td := startTickerd(t, "-symbols", "synthetic:2000", "-rate", "4000")
	waitReady(t, td.URL)

	const refusal = `"error":"bad request: every symbol is 2000 symbols, more than the 1000 a stream of every symbol may have; name the symbols wanted"`
	for _, path := range []string{"/events", "/events?symbols=*", "/api/ticks", "/ws?symbols=*"} {
		req, _ := http.NewRequest("GET", td.URL+path, nil)
		if strings.HasPrefix(path, "/ws") {
			for i := 0; i+1 < len(wsHeaders); i += 2 {
				req.Header.Set(wsHeaders[i], wsHeaders[i+1])
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), refusal) {
			t.Errorf("GET %s: %d %s, want 400 with %s", path, resp.StatusCode, body, refusal)
		}
	}

	// Ten symbols from all over the universe: their snapshot, then only their ticks.
	var mine []string
	for i := 0; i < n; i += n / 10 {
		mine = append(mine, u[i+7].Name)
	}
	s := openRaw(t, td.URL+"/events?symbols="+strings.Join(mine, ","), "")
	ev, err := s.next()
	if err != nil || ev.name != "snapshot" {
		t.Fatalf("first event %+v, %v; want a snapshot", ev, err)
	}
	var snap struct{ Quotes []feed.Quote }
	if err := json.Unmarshal([]byte(ev.data), &snap); err != nil {
		t.Fatal(err)
	}
	var inSnapshot []string
	for _, q := range snap.Quotes {
		inSnapshot = append(inSnapshot, q.Last.Symbol)
	}
	if !slices.Equal(inSnapshot, mine) {
		t.Errorf("snapshot of %v, want %v", inSnapshot, mine)
	}
	for range 20 {
		if tk := s.nextTick(t); !slices.Contains(mine, tk.Symbol) {
			t.Fatalf("a tick of %s, not subscribed", tk.Symbol)
		}
	}

	// A WebSocket that asks for every symbol is told no, and stays open.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(td.URL, "http")+"/ws?symbols="+mine[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"op":"subscribe","symbols":["*"]}`)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading the answer to subscribe *: %v", err)
		}
		var m struct{ Type, Error string }
		_ = json.Unmarshal(data, &m)
		if m.Type == "error" {
			if !strings.Contains(m.Error, "every symbol is 2000 symbols, more than the 1000") {
				t.Errorf("error %q", m.Error)
			}
			break
		}
	}

	var page struct {
		Total int
		Next  int
		Sym   []string
	}
	getJSONInto(t, td.URL+"/api/symbols?form=compact&offset=1990&limit=5", &page)
	if page.Total != n || page.Next != 1995 || !slices.Equal(page.Sym, []string{u[1990].Name, u[1991].Name, u[1992].Name, u[1993].Name, u[1994].Name}) {
		t.Errorf("page at 1990: %+v", page)
	}

	m := scrape(t, td)
	if got := strings.Count(m, "\ntickerd_feed_ticks_total"); got != 1 {
		t.Errorf("%d series of tickerd_feed_ticks_total, want 1", got)
	}
	if v, ok := sampleSum(m, "tickerd_universe_symbols"); !ok || v != n {
		t.Errorf("tickerd_universe_symbols = %v, want %d", v, n)
	}

	// Raised, the limit lets every symbol through.
	open := startTickerd(t, "-symbols", "synthetic:2000", "-rate", "4000", "-firehose", "2000")
	all := openRaw(t, open.URL+"/events", "")
	if ev, err := all.next(); err != nil || ev.name != "snapshot" || strings.Count(ev.data, `"sym":`) != n {
		t.Errorf("a stream of every symbol under -firehose 2000: %s event with %d quotes, %v", ev.name, strings.Count(ev.data, `"sym":`), err)
	}
}
