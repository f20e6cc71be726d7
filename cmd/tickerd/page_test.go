package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tickerd/tickerd/static"
)

// The page tests drive a real Chromium against tickerd run in-process. They
// need the chromium binary (Debian's package; scripts/test.sh installs it):
// without it they are skipped, except under CI, where they fail.

// chromiumPath finds the browser, or ends the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: scripts/test.sh installs it")
	}
	t.Skip("chromium is not installed; apt-get install chromium to run the page tests")
	return ""
}

// browserPage is one Chromium tab, with everything the page reports that a
// person would call broken: console errors, uncaught exceptions, requests
// that failed or were answered with an error status.
type browserPage struct {
	t   *testing.T
	ctx context.Context

	// outage is set while the test has stopped the server on purpose: the
	// stream's failed reconnects, over any transport, are expected then,
	// and only those.
	outage atomic.Bool

	mu        sync.Mutex
	problems  []string
	tolerated int
	requests  []string                     // URL of every request the page made, in order
	urls      map[network.RequestID]string // URL of each request by its id, kept after it ends
	inFlight  map[network.RequestID]string
	peak      map[string]int // most requests in flight at once, by kind (see requestKind)
}

// requestKind groups the page's requests for counting how many run at once:
// a sparkline's history (1s bars with a limit; the chart asks for no
// limit), the chart's history, or "" for anything else.
func requestKind(url string) string {
	switch {
	case strings.Contains(url, "/api/history?") && strings.Contains(url, "&interval=1s&limit="):
		return "history 1s"
	case strings.Contains(url, "/api/history?"):
		return "history"
	}
	return ""
}

// streamURL reports whether s, a URL or a message that names one, is of
// the page's stream over one of its transports: /events, /ws or /api/ticks.
func streamURL(s string) bool {
	return strings.Contains(s, "/events") || strings.Contains(s, "/api/ticks") ||
		strings.Contains(s, "/ws?") || strings.Contains(s, "/ws'")
}

// peakInFlight is the most requests of kind that were in flight at once.
func (p *browserPage) peakInFlight(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak[kind]
}

// newPage starts Chromium with a fresh profile and opens a tab of the given
// size. Everything it starts ends when the test does.
func newPage(t *testing.T, width, height int64) *browserPage {
	t.Helper()
	exe := chromiumPath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	p := &browserPage{t: t, ctx: ctx, inFlight: map[network.RequestID]string{}, urls: map[network.RequestID]string{}, peak: map[string]int{}}
	var watchers sync.WaitGroup
	t.Cleanup(func() {
		cancelTab()
		watchers.Wait()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	// Starts and ends of requests, in the order the browser reports them.
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.inFlight[ev.RequestID] = ev.Request.URL
			p.urls[ev.RequestID] = ev.Request.URL
			kind := requestKind(ev.Request.URL)
			n := 0
			for _, u := range p.inFlight {
				if requestKind(u) == kind {
					n++
				}
			}
			p.peak[kind] = max(p.peak[kind], n)
		case *network.EventLoadingFinished:
			delete(p.inFlight, ev.RequestID)
		case *network.EventLoadingFailed:
			delete(p.inFlight, ev.RequestID)
		}
	})
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	console := chromedp.Console(ctx)
	failed := chromedp.Events(ctx, network.LoadingFailed)
	responses := chromedp.Events(ctx, network.ResponseReceived)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	watchers.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				p.problem(streamURL(m.URL) || streamURL(m.Text), fmt.Sprintf("console %s: %s (%s:%d)", m.Type, m, m.URL, m.Line+1))
			}
		}
	})
	watchers.Go(func() {
		for ev, err := range failed {
			if err != nil {
				return
			}
			// Listen saw the request before this event was queued.
			p.mu.Lock()
			url := p.urls[ev.RequestID]
			p.mu.Unlock()
			if ev.Canceled && streamURL(url) && !strings.Contains(url, "/ws?") {
				continue // the page closes its stream, or gives up its poll, to follow another subscription
			}
			p.problem(ev.Type == network.ResourceTypeEventSource || streamURL(url),
				fmt.Sprintf("request %s (%s) failed: %s (%s)", ev.RequestID, ev.Type, ev.ErrorText, url))
		}
	})
	watchers.Go(func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.requests = append(p.requests, ev.Request.URL)
			p.mu.Unlock()
		}
	})
	watchers.Go(func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			if ev.Response.Status >= 400 {
				// A server that is stopping answers the stream's next
				// request 503 while it drains: part of an outage.
				refused := ev.Response.Status == http.StatusServiceUnavailable && streamURL(ev.Response.URL)
				p.problem(refused, fmt.Sprintf("%s answered %d", ev.Response.URL, ev.Response.Status))
			}
		}
	})

	p.do(chromedp.EmulateViewport(width, height))
	return p
}

// problem records something broken, unless it belongs to the event stream
// while the server is down on purpose.
func (p *browserPage) problem(eventStream bool, what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if eventStream && p.outage.Load() {
		p.tolerated++
		return
	}
	p.problems = append(p.problems, what)
}

// toleratedFailures counts the event stream's failures during the outage.
func (p *browserPage) toleratedFailures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tolerated
}

// checkRequests fails the test unless every request went to base and the
// page opened exactly wantStreams event streams.
func (p *browserPage) checkRequests(base string, wantStreams int) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	streams := 0
	for _, u := range p.requests {
		if u != base && !strings.HasPrefix(u, base+"/") {
			p.t.Errorf("the page requested %s, outside %s", u, base)
		}
		if strings.HasPrefix(u, base+"/events") {
			streams++
		}
	}
	if streams != wantStreams {
		p.t.Errorf("the page opened %d event streams, want %d; requests: %v", streams, wantStreams, p.requests)
	}
}

// checkNoProblems fails the test if the page logged an error or a request failed.
func (p *browserPage) checkNoProblems() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, what := range p.problems {
		p.t.Error(what)
	}
}

func (p *browserPage) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](p *browserPage, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds, or fails the test
// with what explain evaluates to at that moment.
func (p *browserPage) waitFor(what, cond string, timeout time.Duration) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		p.t.Fatalf("waiting %v for %s (%s): %v; page state %s", timeout, what, cond, err, p.debugState())
	}
}

func (p *browserPage) debugState() string {
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`JSON.stringify({
		state: tickerd.state, lastSeq: tickerd.lastSeq, ticksSeen: tickerd.ticksSeen, gaps: tickerd.gaps,
		resyncs: tickerd.resyncs, selected: tickerd.selected, interval: tickerd.interval, view: tickerd.view,
		chartLoaded: tickerd.chartLoaded, snapshots: tickerd.snapshots, symbols: tickerd.symbols.length,
		sparksBackfilled: tickerd.sparksBackfilled, url: location.href, indicator: document.getElementById('conn').textContent.trim()})`))
	if err != nil {
		return err.Error()
	}
	return s
}

// pageState is window.tickerd, the page's read-only view of its stream.
type pageState struct {
	State       string   `json:"state"`
	LastSeq     uint64   `json:"lastSeq"`
	TicksSeen   int      `json:"ticksSeen"`
	Gaps        int      `json:"gaps"`
	Resyncs     int      `json:"resyncs"`
	Snapshots   int      `json:"snapshots"`
	Duplicates  int      `json:"duplicates"`
	Symbols     []string `json:"symbols"`
	Selected    string   `json:"selected"`
	Interval    string   `json:"interval"`
	View        string   `json:"view"`
	ChartLoaded bool     `json:"chartLoaded"`
	ChartBars   []bar    `json:"chartBars"`
}

type bar struct {
	T int64   `json:"t"`
	O float64 `json:"o"`
	H float64 `json:"h"`
	L float64 `json:"l"`
	C float64 `json:"c"`
	V int64   `json:"v"`
}

func (p *browserPage) state() pageState {
	p.t.Helper()
	return eval[pageState](p, `({...Object.fromEntries(Object.keys(Object.getOwnPropertyDescriptors(tickerd)).map(k => [k, tickerd[k]]))})`)
}

// boardPrices reads the board as a person sees it: symbol and last price of each row, top to bottom.
func (p *browserPage) boardPrices() [][2]string {
	p.t.Helper()
	return eval[[][2]string](p, `[...document.querySelectorAll('#rows tr')].map(tr => [tr.dataset.sym, tr.querySelector('.c-last span').textContent])`)
}

// chartInk counts the chart's pixels in the colours of its series: green
// and red candles, or the blue line.
const chartInk = `(() => {
	const series = [[0x3f, 0xd6, 0x8b], [0xff, 0x70, 0x70], [0x5a, 0xa9, 0xff]];
	let ink = 0;
	for (const c of document.querySelectorAll('#chart canvas')) {
		if (!c.width || !c.height) continue;
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		for (let i = 0; i < d.length; i += 4) {
			if (d[i + 3] < 200) continue;
			if (series.some(([r, g, b]) => Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) < 40)) ink++;
		}
	}
	return ink;
})()`

// startPageServer starts tickerd with args and checks that it serves the
// page at / under the content security policy.
func startPageServer(t *testing.T, args ...string) *tickerd {
	t.Helper()
	td := startTickerd(t, args...)
	res, err := http.Get(td.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET / answered %d %q, want the page: routes must serve static.Handler() at /", res.StatusCode, ct)
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != static.ContentSecurityPolicy {
		t.Errorf("GET / has Content-Security-Policy %q, want %q", csp, static.ContentSecurityPolicy)
	}
	return td
}

// universe returns the symbols tickerd serves, in its order.
func universe(t *testing.T, base string) []string {
	t.Helper()
	res, err := http.Get(base + "/api/symbols")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Quotes []struct {
			Symbol string `json:"sym"`
		} `json:"quotes"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(body.Quotes))
	for i, q := range body.Quotes {
		names[i] = q.Symbol
	}
	if len(names) == 0 {
		t.Fatal("/api/symbols lists no symbol")
	}
	return names
}

// historyCloses returns the closes of symbol's one-second bars, oldest first.
func historyCloses(t *testing.T, base, symbol string) []float64 {
	t.Helper()
	bars := historyBars(t, base, symbol, "1s")
	closes := make([]float64, len(bars))
	for i, b := range bars {
		closes[i] = b.C
	}
	return closes
}

func TestPageBoardFillsAndMoves(t *testing.T) {
	td := startPageServer(t)
	want := universe(t, td.URL)

	// Let the market trade until every symbol has some one-second bars, so
	// the sparklines have a history to start from.
	const minBars = 6
	eventually(t, fmt.Sprintf("%d one-second bars of every symbol", minBars), 20*time.Second, func() (bool, string) {
		fewest := minBars
		for _, sym := range want {
			fewest = min(fewest, len(historyCloses(t, td.URL, sym)))
		}
		return fewest >= minBars, fmt.Sprintf("a symbol has %d", fewest)
	})

	p := newPage(t, 1280, 800)
	opened := time.Now()
	p.do(chromedp.Navigate(td.URL + "/"))

	// Every sparkline starts from the server's bars, not only from the ticks
	// that arrived since the page opened.
	p.waitFor("every sparkline backfilled", fmt.Sprintf(
		`window.tickerd && tickerd.sparksBackfilled === %d`, len(want)), 10*time.Second)
	sparks := eval[map[string][]float64](p, `tickerd.sparks`)
	live := int(time.Since(opened).Seconds()) + 2 // the most points live ticks alone could have made
	for _, sym := range want {
		spark := sparks[sym]
		if len(spark) < minBars || len(spark) <= live {
			t.Errorf("%s's sparkline has %d points %v soon after load, want at least %d and more than %d", sym, len(spark), spark, minBars, live)
			continue
		}
		// Its closed seconds are the server's one-second closes, in order
		// and without a hole; the newest point may still be moving.
		closes := historyCloses(t, td.URL, sym)
		settled := spark[:len(spark)-1]
		found := false
		for i := 0; i+len(settled) <= len(closes) && !found; i++ {
			found = slices.Equal(closes[i:i+len(settled)], settled)
		}
		if !found {
			t.Errorf("%s's sparkline %v is not a run of its one-second closes %v", sym, spark, closes)
		}
	}
	if n := p.peakInFlight("history 1s"); n < 1 || n > 3 {
		t.Errorf("the page had up to %d sparkline history requests in flight at once, want 1 to 3", n)
	}
	t.Logf("sparklines backfilled %v after the page opened", time.Since(opened).Round(time.Millisecond))

	p.waitFor("every symbol on the board with a price", fmt.Sprintf(
		`document.querySelectorAll('#rows tr').length === %d &&
		 [...document.querySelectorAll('#rows .c-last span:first-child')].every(s => /^[0-9,]+\.[0-9]{2}$/.test(s.textContent))`, len(want)),
		5*time.Second)
	first := p.boardPrices()
	var order []string
	for _, row := range first {
		order = append(order, row[0])
	}
	if !slices.Equal(order, want) {
		t.Errorf("board rows %v, want the universe in order %v", order, want)
	}

	// Prices move within a few seconds: most rows show a new last price.
	prices, _ := json.Marshal(first)
	p.waitFor("prices to change", fmt.Sprintf(`(() => {
		const before = new Map(%s);
		let moved = 0;
		for (const tr of document.querySelectorAll('#rows tr'))
			if (tr.querySelector('.c-last span').textContent !== before.get(tr.dataset.sym)) moved++;
		return moved >= %d;
	})()`, prices, len(want)/2), 5*time.Second)

	p.waitFor("a change to flash", `document.querySelector('#rows td[class*="flash-"]') !== null`, 3*time.Second)
	animation := `getComputedStyle(document.querySelector('#rows td[class*="flash-"]')).animationName`
	if name := eval[string](p, animation); !strings.HasPrefix(name, "flash-") {
		t.Errorf("a flashed cell's animation is %q, want a flash", name)
	}
	p.do(chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
		})
		return err
	}))
	if name := eval[string](p, animation); name != "none" {
		t.Errorf("with prefers-reduced-motion a flashed cell still animates: %q", name)
	}

	st := p.state()
	if st.State != "live" || st.Gaps != 0 || st.TicksSeen == 0 || !slices.Equal(st.Symbols, want) {
		t.Errorf("page state %+v, want live with ticks, no gaps and every symbol", st)
	}
	if got := eval[string](p, `document.getElementById('conn-label').textContent`); got != "live" {
		t.Errorf("connection indicator says %q, want live", got)
	}
	p.checkRequests(td.URL, 1)
	p.checkNoProblems()
}

func TestPageChartFollowsTheSelection(t *testing.T) {
	td := startPageServer(t)
	want := universe(t, td.URL)
	if len(want) < 3 {
		t.Fatalf("need three symbols, have %v", want)
	}
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/"))

	// With no choice in the URL the first symbol is charted and named there.
	p.waitFor("the first symbol's chart", fmt.Sprintf(
		`tickerd.selected === %q && location.search === '?symbol=' + %[1]q && tickerd.chartLoaded && %s > 50`, want[0], chartInk),
		10*time.Second)

	// A click charts another symbol and puts it in the URL.
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows tr[data-sym=%q]`, want[1]))))
	p.waitFor("the clicked symbol's chart", fmt.Sprintf(
		`tickerd.selected === %q && location.search === '?symbol=' + %[1]q && tickerd.chartLoaded &&
		 document.getElementById('chart-symbol').textContent === %[1]q && %s > 50`, want[1], chartInk),
		10*time.Second)

	// The keyboard moves along the rows and Enter charts the focused one.
	p.do(chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	p.waitFor("the next row charted from the keyboard", fmt.Sprintf(
		`tickerd.selected === %q && location.search === '?symbol=' + %[1]q &&
		 document.activeElement.dataset.sym === %[1]q && document.activeElement.matches(':focus-visible') &&
		 document.activeElement.getAttribute('aria-current') === 'true'`, want[2]),
		5*time.Second)

	// Interval and view are part of the URL too.
	p.do(chromedp.Click(chromedp.CSS(`[data-interval="1s"]`)), chromedp.Click(chromedp.CSS(`[data-view="line"]`)))
	wantSearch := fmt.Sprintf("?symbol=%s&interval=1s&view=line", want[2])
	p.waitFor("a line chart of 1s bars", fmt.Sprintf(
		`location.search === %q && tickerd.chartLoaded && %s > 50`, wantSearch, chartInk), 10*time.Second)

	// A reload keeps all of it.
	p.do(chromedp.Reload())
	p.waitFor("the same chart after reload", fmt.Sprintf(
		`window.tickerd && tickerd.selected === %q && tickerd.interval === '1s' && tickerd.view === 'line' &&
		 location.search === %q && tickerd.chartLoaded && %s > 50 &&
		 document.querySelector('[data-interval="1s"]').getAttribute('aria-pressed') === 'true' &&
		 document.querySelector('#rows tr[aria-current="true"]').dataset.sym === %[1]q`, want[2], wantSearch, chartInk),
		10*time.Second)

	// A symbol the server does not know falls back to the first one.
	p.do(chromedp.Navigate(td.URL + "/?symbol=NOPE"))
	p.waitFor("the fallback to the first symbol", fmt.Sprintf(
		`window.tickerd && tickerd.selected === %q && location.search === '?symbol=' + %[1]q`, want[0]), 10*time.Second)
	p.checkNoProblems()
}

func TestPageChartBarsAgreeWithHistory(t *testing.T) {
	// Few symbols at a high rate put many ticks in each one-second bar.
	td := startPageServer(t, "-symbols", "AAPL,MSFT,NVDA", "-rate", "300")
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/?symbol=MSFT&interval=1s"))
	p.waitFor("the 1s chart", `window.tickerd && tickerd.chartLoaded && tickerd.chartBars.length > 0`, 10*time.Second)
	loaded := p.state().ChartBars
	backfilled := loaded[len(loaded)-1].T // this bar and older came from /api/history

	// Wait until the page has built several bars from live ticks alone.
	p.waitFor("bars built from live ticks", fmt.Sprintf(
		`tickerd.chartBars.filter(b => b.t > %d).length >= 5`, backfilled), 15*time.Second)
	page := p.state().ChartBars

	res, err := http.Get(td.URL + "/api/history?symbol=MSFT&interval=1s")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var history struct {
		Bars []bar `json:"bars"`
	}
	if err := json.NewDecoder(res.Body).Decode(&history); err != nil {
		t.Fatal(err)
	}
	server := make(map[int64]bar, len(history.Bars))
	for _, b := range history.Bars {
		server[b.T] = b
	}

	compared := 0
	for _, b := range page[:len(page)-1] { // the newest bar may still be open
		if b.T <= backfilled {
			continue
		}
		if b.L > min(b.O, b.C) || b.H < max(b.O, b.C) {
			t.Errorf("page bar %+v is not well-formed", b)
		}
		s, ok := server[b.T]
		if !ok {
			t.Errorf("the page has a bar at %d that /api/history lacks", b.T)
			continue
		}
		if s != b {
			t.Errorf("bar at %d: the page built %+v from ticks, /api/history has %+v", b.T, b, s)
		}
		compared++
	}
	if compared < 3 {
		t.Errorf("compared %d closed bars, want at least 3", compared)
	}
	if st := p.state(); st.Gaps != 0 {
		t.Errorf("the page saw %d sequence gaps", st.Gaps)
	}
	p.checkNoProblems()
}

// openSettledPage starts a server and opens the page on it at desktop size,
// and waits until the page is live with its chart and every sparkline
// loaded, so that an outage that follows cuts no request short. addr is
// the server's host:port. A test that stops the server starts the next one
// on addr, since the page must come back on its own origin; the port is
// free in between, which cannot be helped: a socket kept listening for the
// next server would hold the page's reconnects instead of refusing them,
// and the outage would not be one.
func openSettledPage(t *testing.T) (td *tickerd, addr string, p *browserPage) {
	t.Helper()
	td = startPageServer(t)
	p = newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/"))
	p.waitFor("live ticks", `window.tickerd && tickerd.state === 'live' && tickerd.ticksSeen > 20 && tickerd.chartLoaded &&
		tickerd.sparksBackfilled === tickerd.symbols.length`, 10*time.Second)
	return td, strings.TrimPrefix(td.URL, "http://"), p
}

func TestPageRidesOutAServerRestart(t *testing.T) {
	td, addr, p := openSettledPage(t)

	p.outage.Store(true)
	if err := td.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	p.waitFor("the indicator to show reconnecting", `tickerd.state === 'reconnecting' &&
		document.getElementById('conn-label').textContent === 'reconnecting' &&
		document.getElementById('conn').dataset.state === 'reconnecting'`, 10*time.Second)
	before := p.state()

	// Stay down until the browser has failed to reconnect at least once.
	if !pollUntil(10*time.Second, 50*time.Millisecond, func() bool { return p.toleratedFailures() > 0 }) {
		t.Fatalf("no failed reconnect within 10s; page state %s", p.debugState())
	}
	if st := p.state(); st.State != "reconnecting" || st.LastSeq != before.LastSeq {
		t.Fatalf("while the server is down the page is %q at seq %d, want reconnecting at %d", st.State, st.LastSeq, before.LastSeq)
	}

	// The new process continues the sequence where the page stopped reading.
	next := startPageServer(t, "-addr", addr, "-first-seq", strconv.FormatUint(before.LastSeq+1, 10))
	p.waitFor("live again with new ticks", fmt.Sprintf(
		`tickerd.state === 'live' && document.getElementById('conn-label').textContent === 'live' && tickerd.lastSeq > %d`,
		before.LastSeq+50), 20*time.Second)
	p.outage.Store(false)

	after := p.state()
	if after.Gaps != 0 {
		t.Errorf("the page saw %d sequence gaps across the restart (resyncs %d)", after.Gaps, after.Resyncs)
	}
	if after.Resyncs == 0 && after.Snapshots != before.Snapshots {
		t.Errorf("a snapshot (%d, was %d) came without a resync", after.Snapshots, before.Snapshots)
	}
	t.Logf("restart: last seq %d before, %d after; resyncs %d; expected reconnect failures %d",
		before.LastSeq, after.LastSeq, after.Resyncs, p.tolerated)
	p.waitFor("the chart after the restart", `tickerd.chartLoaded && tickerd.chartBars.length > 0`, 10*time.Second)
	if err := next.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	p.checkNoProblems()
}

func TestPageShowsOfflineAndComesBack(t *testing.T) {
	td, addr, p := openSettledPage(t)

	// The page shows offline after 10 s of reconnecting; the test shortens that.
	const offlineAfter = 2 * time.Second
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.documentElement.dataset.offlineAfter = '%d'`, offlineAfter.Milliseconds())))

	p.outage.Store(true)
	stopped := time.Now()
	if err := td.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	p.waitFor("the indicator to show reconnecting", `tickerd.state === 'reconnecting' &&
		document.getElementById('conn').dataset.state === 'reconnecting'`, 10*time.Second)
	before := p.state()
	p.waitFor("the indicator to show offline", `tickerd.state === 'offline' &&
		document.getElementById('conn-label').textContent === 'offline' &&
		document.getElementById('conn').dataset.state === 'offline'`, offlineAfter+10*time.Second)
	if down := time.Since(stopped); down < offlineAfter {
		t.Errorf("offline %v after the server stopped, want no sooner than %v", down, offlineAfter)
	}

	// While offline the indicator keeps counting the age of the last tick.
	age := `(() => {
		const m = /^last tick ([0-9.]+) s ago$/.exec(document.getElementById('conn-age').textContent);
		return m ? Number(m[1]) : -1;
	})()`
	first := eval[float64](p, age)
	if first < offlineAfter.Seconds() {
		t.Fatalf("offline, the indicator shows the last tick %q, want at least %v ago",
			eval[string](p, `document.getElementById('conn-age').textContent`), offlineAfter)
	}
	p.waitFor("the last tick's age to grow", fmt.Sprintf(`tickerd.state === 'offline' && %s >= %v`, age, first+1), 5*time.Second)
	if st := p.state(); st.LastSeq != before.LastSeq || st.TicksSeen != before.TicksSeen {
		t.Errorf("offline, the page moved from seq %d to %d", before.LastSeq, st.LastSeq)
	}

	// A server back on the same address, continuing the sequence, brings the page back.
	next := startPageServer(t, "-addr", addr, "-first-seq", strconv.FormatUint(before.LastSeq+1, 10))
	p.waitFor("live again with new ticks", fmt.Sprintf(
		`tickerd.state === 'live' && document.getElementById('conn-label').textContent === 'live' &&
		 document.getElementById('conn').dataset.state === 'live' && tickerd.lastSeq > %d`, before.LastSeq+50), 20*time.Second)
	p.outage.Store(false)
	back := time.Since(stopped)

	after := p.state()
	if after.Gaps != 0 && after.Resyncs == 0 {
		t.Errorf("the page saw %d sequence gaps across the outage and applied no resync", after.Gaps)
	}
	if after.TicksSeen <= before.TicksSeen {
		t.Errorf("ticks seen %d after the outage, %d before", after.TicksSeen, before.TicksSeen)
	}
	if got := eval[string](p, `document.getElementById('conn-age').textContent`); !strings.HasPrefix(got, "last tick ") || eval[float64](p, age) > 5 {
		t.Errorf("live again, the indicator shows %q", got)
	}
	t.Logf("outage: live again %v after the stop; seq %d before, %d after; gaps %d, resyncs %d; expected reconnect failures %d",
		back.Round(time.Millisecond), before.LastSeq, after.LastSeq, after.Gaps, after.Resyncs, p.toleratedFailures())
	if err := next.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	p.checkNoProblems()
}

// artifactDir is where screenshots go: $TICKERD_ARTIFACTS if set, else the
// test's artifact directory (kept with go test -artifacts).
func artifactDir(t *testing.T) string {
	if dir := os.Getenv("TICKERD_ARTIFACTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

func TestPageScreenshots(t *testing.T) {
	td := startPageServer(t, "-rate", "400")
	dir := artifactDir(t)
	for _, size := range []struct {
		name          string
		width, height int64
	}{
		{"desktop", 1280, 800},
		{"phone", 375, 812},
	} {
		t.Run(size.name, func(t *testing.T) {
			p := newPage(t, size.width, size.height)
			p.do(chromedp.Navigate(td.URL + "/?symbol=NVDA&interval=1s"))
			p.waitFor("a chart with some history", fmt.Sprintf(
				`window.tickerd && tickerd.chartLoaded && tickerd.chartBars.length >= 12 && %s > 50`, chartInk), 30*time.Second)
			if w := eval[int64](p, `document.documentElement.scrollWidth`); w > size.width {
				t.Errorf("the page is %d px wide in a %d px window: it scrolls sideways", w, size.width)
			}
			shot, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(shot))
			if err != nil || int64(cfg.Width) != size.width || int64(cfg.Height) != size.height {
				t.Errorf("screenshot is %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, size.width, size.height)
			}
			name := filepath.Join(dir, fmt.Sprintf("page-%s-%dx%d.png", size.name, size.width, size.height))
			if err := os.WriteFile(name, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", name)
			p.checkRequests(td.URL, 1)
			p.checkNoProblems()
		})
	}
}

// TestPageChartsAnExchangePrefixedSymbol runs a universe of exchange-prefixed
// names end to end: the URL names one, the page charts it from the stream
// and /api/history, and the board lists them all.
func TestPageChartsAnExchangePrefixedSymbol(t *testing.T) {
	td := startPageServer(t, "-symbols", "NASDAQ:AAPL,NYSE:BRK.B,NYSE:IBM", "-rate", "200")
	if got := universe(t, td.URL); !slices.Equal(got, []string{"NASDAQ:AAPL", "NYSE:BRK.B", "NYSE:IBM"}) {
		t.Fatalf("universe %v", got)
	}
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/?symbol=NYSE:BRK.B"))
	p.waitFor("the prefixed symbol charted", fmt.Sprintf(
		`window.tickerd && tickerd.selected === 'NYSE:BRK.B' && new URLSearchParams(location.search).get('symbol') === 'NYSE:BRK.B' &&
		 tickerd.chartLoaded && document.getElementById('chart-symbol').textContent === 'NYSE:BRK.B' &&
		 document.querySelectorAll('#rows tr[data-sym]').length === 3 && %s > 50`, chartInk), 15*time.Second)
	p.checkNoProblems()
}
