package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
)

// TestLearnedSymbolsJoinTheUniverse runs a server fed by the publish API
// that may learn 3 symbols: of 5 new symbols published, the first 3 join
// the universe, in /api/symbols and on their streams, and the other 2 are
// rejected per line with the reason, and counted.
func TestLearnedSymbolsJoinTheUniverse(t *testing.T) {
	td := startTickerd(t, "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey), "-symbols", "AAPL", "-learn-symbols", "3")

	// Before its first tick a symbol is unknown, as one outside the universe.
	resp, err := http.Get(td.URL + "/events?symbols=NEWB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stream of NEWB before it is learned: %d, want 404", resp.StatusCode)
	}

	var body strings.Builder
	for i, sym := range []string{"NEWA", "NEWB", "NYSE:NEWC", "NEWD", "NEWE"} {
		body.WriteString(tickLine(sym, float64(10+i), 100) + "\n")
	}
	a := postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(body.String()))
	if a.status != 200 || strings.TrimSpace(a.raw) != `{"accepted":3,"rejected":[`+
		`{"line":4,"error":"unknown symbol NEWD: the universe is full (3 learned)"},`+
		`{"line":5,"error":"unknown symbol NEWE: the universe is full (3 learned)"}]}` {
		t.Fatalf("publish of 5 new symbols: %d %s", a.status, a.raw)
	}
	if got, want := symbolsOf(t, td.URL), []string{"AAPL", "NEWA", "NEWB", "NYSE:NEWC"}; !slices.Equal(got, want) {
		t.Fatalf("/api/symbols lists %v, want %v", got, want)
	}

	// A stream of a learned symbol gets its ticks, and only its ticks.
	stream := openRaw(t, td.URL+"/events?symbols=NEWB", "")
	a = postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(
		tickLine("NEWA", 10.01, 5)+"\n"+tickLine("NEWB", 11.01, 6)+"\n"+tickLine("NEWD", 13, 1)+"\n"+tickLine("NEWB", 11.02, 7)+"\n"))
	if a.status != 200 || a.result.Accepted != 3 || len(a.result.Rejected) != 1 || a.result.Rejected[0].Line != 3 {
		t.Fatalf("second publish: %d %s", a.status, a.raw)
	}
	// The stream may begin with what the first request made (seq 1 to 3).
	var got []feed.Tick
	for len(got) < 2 {
		if tk := stream.nextTick(t); tk.Seq > 3 {
			got = append(got, tk)
		}
	}
	if got[0].Symbol != "NEWB" || got[0].Price != 11.01 || got[1].Symbol != "NEWB" || got[1].Price != 11.02 || got[1].Seq <= got[0].Seq {
		t.Fatalf("stream of NEWB got %+v, want its ticks at 11.01 and 11.02 in order", got)
	}

	if q := get(t, td.URL+"/api/quotes/NEWB"); !strings.Contains(q, `"sym":"NEWB","px":11.02`) {
		t.Errorf("/api/quotes/NEWB = %s, want its last tick at 11.02", q)
	}
	if h := get(t, td.URL+"/api/history?symbol=NEWB&interval=1m"); !strings.Contains(h, `"c":11.02`) {
		t.Errorf("/api/history of NEWB = %s, want a bar closing at 11.02", h)
	}

	text := scrape(t, td)
	for _, line := range []string{
		`tickerd_feed_ticks_rejected_total{reason="universe_full"} 3`,
		`tickerd_universe_symbols 4`,
		`tickerd_feed_ticks_total{symbol="NEWB"} 3`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("/metrics has no %q", line)
		}
	}
}

// TestPageShowsALearnedSymbolOnReload loads the page of a server that
// learns symbols, publishes a symbol it did not know, and reloads: the
// board, which reads /api/symbols when it loads, has the learned symbol's
// row with its price.
func TestPageShowsALearnedSymbolOnReload(t *testing.T) {
	td := startPageServer(t, "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey), "-symbols", "AAPL", "-learn-symbols", "3")
	a := postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("AAPL", 230, 10)+"\n"))
	if a.status != 200 || a.result.Accepted != 1 {
		t.Fatalf("publish: %d %s", a.status, a.raw)
	}
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/"))
	p.waitFor("the board of the configured symbol", `document.querySelectorAll('#rows tr[data-sym]').length === 1`, 15*time.Second)

	a = postTicks(t, td.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("NYSE:LRN", 42.5, 10)+"\n"))
	if a.status != 200 || a.result.Accepted != 1 {
		t.Fatalf("publish of a new symbol: %d %s", a.status, a.raw)
	}
	p.do(chromedp.Reload())
	p.waitFor("the learned symbol's row", `document.querySelectorAll('#rows tr[data-sym]').length === 2 &&
		document.querySelector('#rows tr[data-sym="NYSE:LRN"] .c-last span')?.textContent === '42.50'`, 15*time.Second)
	if got := p.boardPrices(); len(got) != 2 || got[0][0] != "AAPL" || got[1] != [2]string{"NYSE:LRN", "42.50"} {
		t.Errorf("board %v, want AAPL then NYSE:LRN at 42.50", got)
	}
	p.checkNoProblems()
}
