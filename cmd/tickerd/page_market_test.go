package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The market tests run the page against a universe too large to draw
// whole, and several tabs of one browser against one server: the board
// draws only the rows on screen, the stream carries what the page shows,
// the watchlist survives a reload, and the tabs share one stream.

// marketUniverse is a comma list of n symbols for -symbols, and the names
// in its order: two letters and three digits, so that filters and sorts
// have something to do.
func marketUniverse(n int) (string, []string) {
	names := make([]string, n)
	params := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%c%c%03d", 'A'+(i*7)%26, 'A'+(i/26)%26, i)
		params[i] = fmt.Sprintf("%s=%d/0.4", names[i], 20+i%400)
	}
	return strings.Join(params, ","), names
}

// marketTab is one tab of a browser shared with other tabs, with what it
// requested, what it sent over WebSockets, and what a person would call
// broken.
type marketTab struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	requests []string // every request's URL, in order
	sockets  []string // every WebSocket's URL, in order
	sent     []string // every WebSocket message the tab sent, in order
	problems []string
	urls     map[network.RequestID]string
}

// newBrowser starts Chromium with a fresh profile, as newPage does, and
// returns its first tab.
func newBrowser(t *testing.T, width, height int64) *marketTab {
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
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	return watchTab(t, ctx, cancel, width, height)
}

// openTab opens another tab in b's browser.
func (b *marketTab) openTab(width, height int64) *marketTab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	return watchTab(b.t, ctx, cancel, width, height)
}

func watchTab(t *testing.T, ctx context.Context, cancel context.CancelFunc, width, height int64) *marketTab {
	t.Helper()
	tab := &marketTab{t: t, ctx: ctx, cancel: cancel, urls: map[network.RequestID]string{}}
	var watchers sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		watchers.Wait()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		tab.mu.Lock()
		defer tab.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			tab.requests = append(tab.requests, ev.Request.URL)
			tab.urls[ev.RequestID] = ev.Request.URL
		case *network.EventWebSocketCreated:
			tab.sockets = append(tab.sockets, ev.URL)
		case *network.EventWebSocketFrameSent:
			tab.sent = append(tab.sent, string(ev.Response.PayloadData))
		case *network.EventLoadingFailed:
			// The page closes a stream to open it for other symbols, and
			// gives up a history request when its row scrolls away.
			if !(ev.Canceled && (streamURL(tab.urls[ev.RequestID]) || strings.Contains(tab.urls[ev.RequestID], "/api/"))) {
				tab.problems = append(tab.problems, fmt.Sprintf("request %s failed: %s (canceled %v)", tab.urls[ev.RequestID], ev.ErrorText, ev.Canceled))
			}
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				tab.problems = append(tab.problems, fmt.Sprintf("%s answered %d", ev.Response.URL, ev.Response.Status))
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	console := chromedp.Console(ctx)
	watchers.Go(func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
				tab.mu.Lock()
				tab.problems = append(tab.problems, fmt.Sprintf("console %s: %s (%s:%d)", m.Type, m, m.URL, m.Line+1))
				tab.mu.Unlock()
			}
		}
	})
	tab.do(chromedp.EmulateViewport(width, height))
	return tab
}

func (tab *marketTab) do(steps ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	if err := chromedp.Do(tab.ctx, steps...); err != nil {
		tab.t.Fatal(err)
	}
}

func tabEval[T any](tab *marketTab, expr string) T {
	tab.t.Helper()
	v, err := chromedp.Run(tab.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tab.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (tab *marketTab) waitFor(what, cond string, timeout time.Duration) {
	tab.t.Helper()
	_, err := chromedp.Run(tab.ctx, chromedp.Poll[chromedp.Void](cond,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		state, _ := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`JSON.stringify({state: tickerd.state, role: tickerd.role,
			ticksSeen: tickerd.ticksSeen, gaps: tickerd.gaps, selected: tickerd.selected, onScreen: tickerd.onScreen,
			subscription: tickerd.subscription, order: tickerd.order.slice(0, 5)})`))
		tab.t.Fatalf("waiting %v for %s (%s): %v; page state %s", timeout, what, cond, err, state)
	}
}

// streams are the URLs of the tab's event streams (/events), in order.
func (tab *marketTab) streams() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	var s []string
	for _, u := range tab.requests {
		if strings.Contains(u, "/events") {
			s = append(s, u)
		}
	}
	return s
}

func (tab *marketTab) checkNoProblems() {
	tab.t.Helper()
	tab.mu.Lock()
	defer tab.mu.Unlock()
	for _, what := range tab.problems {
		tab.t.Error(what)
	}
}

// drawnRows are the symbols of the board's rows in the DOM, top to bottom.
func (tab *marketTab) drawnRows() []string {
	tab.t.Helper()
	return tabEval[[]string](tab, `[...document.querySelectorAll('#rows tr')].map(tr => tr.dataset.sym)`)
}

// checkWindow checks that the rows in the DOM are a run of want, no more
// than a screen and its margins, and that they include the row at index
// at.
func checkWindow(t *testing.T, what string, drawn, want []string, at int) {
	t.Helper()
	if len(drawn) == 0 || len(drawn) > 60 {
		t.Fatalf("%s: %d rows in the DOM, want a screen of them", what, len(drawn))
	}
	start := slices.Index(want, drawn[0])
	if start < 0 || start+len(drawn) > len(want) || !slices.Equal(want[start:start+len(drawn)], drawn) {
		t.Fatalf("%s: the rows drawn %v are not a run of the board's order", what, drawn)
	}
	if at < start || at >= start+len(drawn) {
		t.Errorf("%s: rows %d to %d drawn, want row %d (%s) among them", what, start, start+len(drawn)-1, at, want[at])
	}
}

// scrollBoardTo scrolls the board so that row i of its order is at the top.
func (tab *marketTab) scrollBoardTo(i int) {
	tab.t.Helper()
	tab.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const h = document.querySelector('#rows tr').getBoundingClientRect().height;
		document.querySelector('.board-scroll').scrollTop = %d * h;
	})()`, i)))
}

func TestPageVirtualBoardShowsTheRightRows(t *testing.T) {
	list, names := marketUniverse(1000)
	td := startPageServer(t, "-symbols", list, "-rate", "2000")
	tab := newBrowser(t, 1280, 800)
	tab.do(chromedp.Navigate(td.URL + "/"))
	tab.waitFor("the windowed board", `window.tickerd && tickerd.windowed && tickerd.state === 'live' &&
		tickerd.symbols.length === 1000 && tickerd.onScreen.length > 0 &&
		document.getElementById('board-count').textContent === '1000'`, 110*time.Second)
	checkWindow(t, "at the top", tab.drawnRows(), names, 0)
	if got := tabEval[string](tab, `tickerd.selected`); got != names[0] {
		t.Errorf("selected %q with no choice in the URL, want the first symbol %q", got, names[0])
	}

	// Scrolled halfway, the board draws the rows there, with their prices.
	tab.scrollBoardTo(500)
	tab.waitFor("the rows halfway down", fmt.Sprintf(`tickerd.onScreen.includes(%q) && !tickerd.onScreen.includes(%q)`, names[503], names[0]), 10*time.Second)
	checkWindow(t, "halfway", tab.drawnRows(), names, 503)
	tab.waitFor("prices in the rows halfway down", `[...document.querySelectorAll('#rows .c-last span:first-child')].every(s => /^[0-9,]+\.[0-9]{2}$/.test(s.textContent))`, 10*time.Second)

	// The keyboard walks past the rows drawn: End goes to the last row.
	tab.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#rows tr').focus()`))
	tab.do(chromedp.KeyEvent(kb.End))
	tab.waitFor("the last row focused", fmt.Sprintf(`document.activeElement.dataset.sym === %q`, names[999]), 10*time.Second)
	checkWindow(t, "at the end", tab.drawnRows(), names, 999)

	// A filter narrows the board to the names that contain it.
	var filtered []string
	for _, n := range names {
		if strings.Contains(n, "B0") {
			filtered = append(filtered, n)
		}
	}
	if len(filtered) < 20 {
		t.Fatalf("the filter matches %d names, too few to test", len(filtered))
	}
	tab.do(chromedp.SendKeys(chromedp.CSS("#filter"), "b0"))
	tab.waitFor("the filtered board", fmt.Sprintf(`tickerd.order.length === %d &&
		document.getElementById('board-count').textContent === '%d of 1000'`, len(filtered), len(filtered)), 10*time.Second)
	if got := tabEval[[]string](tab, `tickerd.order`); !slices.Equal(got, filtered) {
		t.Errorf("filtered order %v, want %v", got, filtered)
	}
	checkWindow(t, "filtered", tab.drawnRows(), filtered, 0)

	// Sorted by symbol: the filtered names in order, from the top.
	tab.scrollBoardTo(0)
	tab.do(chromedp.Click(chromedp.CSS(`[data-sort="sym"]`)))
	sorted := slices.Sorted(slices.Values(filtered))
	tab.waitFor("the board sorted by symbol", fmt.Sprintf(`JSON.stringify(tickerd.order) === %q &&
		document.querySelector('th.c-sym').getAttribute('aria-sort') === 'ascending'`, jsonList(sorted)), 10*time.Second)
	checkWindow(t, "sorted by symbol", tab.drawnRows(), sorted, 0)

	// Sorted by change %, whole market: the rows drawn fall from the top.
	tab.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.getElementById('filter');
		f.value = '';
		f.dispatchEvent(new Event('input'));
	})()`))
	tab.do(chromedp.Click(chromedp.CSS(`[data-sort="pct"]`)))
	tab.waitFor("the board sorted by change", `document.querySelector('th.c-pct').getAttribute('aria-sort') === 'descending' &&
		tickerd.order.length === 1000`, 10*time.Second)
	pcts := tabEval[[]float64](tab, `[...document.querySelectorAll('#rows .c-pct')].map(td => parseFloat(td.textContent.replace('%', '')) || 0)`)
	if len(pcts) == 0 {
		t.Fatal("sorted by change %, the board draws no row")
	}
	for i := 1; i < len(pcts); i++ {
		// Ticks move rows between re-sorts: the order is a second old at most.
		if pcts[i] > pcts[0]+0.5 {
			t.Errorf("sorted by change %%, row %d shows %v above row 0's %v: %v", i, pcts[i], pcts[0], pcts)
			break
		}
	}
	tab.checkNoProblems()
}

// subscribed returns the symbols of an /events URL, or nil for every symbol.
func subscribed(t *testing.T, stream string) []string {
	t.Helper()
	u, err := url.Parse(stream)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Query().Get("symbols")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// sameSet reports whether a and b hold the same names.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func TestPageSubscriptionFollowsTheVisibleRows(t *testing.T) {
	list, names := marketUniverse(1000)
	td := startPageServer(t, "-symbols", list, "-rate", "2000")

	t.Run("sse", func(t *testing.T) {
		tab := newBrowser(t, 1280, 800)
		tab.do(chromedp.Navigate(td.URL + "/?symbol=" + names[700]))
		tab.waitFor("live rows", `window.tickerd && tickerd.state === 'live' && tickerd.onScreen.length > 0 && tickerd.ticksSeen > 0`, 110*time.Second)
		onScreen := tabEval[[]string](tab, `tickerd.onScreen`)
		streams := tab.streams()
		if len(streams) != 1 {
			t.Fatalf("the page opened %d event streams, want one: %v", len(streams), streams)
		}
		// The server was asked for the rows on screen and the selected symbol.
		if got := subscribed(t, streams[0]); !sameSet(got, append([]string{names[700]}, onScreen...)) {
			t.Errorf("the stream asked for %v, want the selected %s and the rows on screen %v", got, names[700], onScreen)
		}

		// Scrolling row by row, a step every 20 ms, reopens the stream once
		// the scrolling stops (on a loaded machine, whose timers run late,
		// perhaps a few times), not at every step.
		tab.do(chromedp.Evaluate[chromedp.Void](`(async () => {
			const s = document.querySelector('.board-scroll');
			const h = document.querySelector('#rows tr').getBoundingClientRect().height;
			for (let i = 0; i < 30; i++) {
				s.scrollTop += h;
				await new Promise(r => setTimeout(r, 20));
			}
		})()`, chromedp.EvalAwaitPromise))
		tab.waitFor("the stream to follow the scroll", fmt.Sprintf(`tickerd.onScreen.includes(%q) && !tickerd.onScreen.includes(%q) &&
			tickerd.subscription.length === tickerd.onScreen.length + 1 &&
			tickerd.onScreen.every(s => tickerd.subscription.includes(s))`, names[35], names[0]), 110*time.Second)
		onScreen = tabEval[[]string](tab, `tickerd.onScreen`)
		streams = tab.streams()
		if n := len(streams) - 1; n < 1 || n > 5 {
			t.Errorf("30 scroll steps opened %d streams after the first, want 1 (a few on a loaded machine): %v", n, streams)
		} else {
			t.Logf("30 scroll steps opened %d stream(s) after the first", n)
		}
		if got := subscribed(t, streams[len(streams)-1]); !sameSet(got, append([]string{names[700]}, onScreen...)) {
			t.Errorf("after the scroll the stream asked for %v, want %s and %v", got, names[700], onScreen)
		}
		if strings.Contains(streams[len(streams)-1], "lastEventId") {
			t.Errorf("the stream for new rows %s resumes: its new rows would get no snapshot", streams[len(streams)-1])
		}
		// The rows now on screen move.
		before := tabEval[map[string]string](tab, `Object.fromEntries([...document.querySelectorAll('#rows tr')].map(tr => [tr.dataset.sym, tr.querySelector('.c-last span').textContent]))`)
		prices, _ := json.Marshal(before)
		tab.waitFor("prices on screen to change", fmt.Sprintf(`(() => {
			const before = %s;
			let moved = 0;
			for (const tr of document.querySelectorAll('#rows tr'))
				if (tr.querySelector('.c-last span').textContent !== before[tr.dataset.sym]) moved++;
			return moved >= document.querySelectorAll('#rows tr').length / 3;
		})()`, prices), 110*time.Second)

		// Selecting another symbol puts it in the stream, and charts it.
		tab.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows tr[data-sym=%q]`, onScreen[3]))))
		tab.waitFor("the stream to follow the selection", fmt.Sprintf(`tickerd.selected === %q && !tickerd.subscription.includes(%q) &&
			tickerd.chartLoaded`, onScreen[3], names[700]), 10*time.Second)
		tab.checkNoProblems()
	})

	t.Run("ws", func(t *testing.T) {
		tab := newBrowser(t, 1280, 800)
		tab.do(chromedp.Navigate(td.URL + "/?transport=ws"))
		tab.waitFor("live rows", `window.tickerd && tickerd.state === 'live' && tickerd.transport === 'ws' && tickerd.onScreen.length > 0 && tickerd.ticksSeen > 0`, 110*time.Second)
		tab.scrollBoardTo(400)
		tab.waitFor("the socket to follow the scroll", fmt.Sprintf(`tickerd.onScreen.includes(%q) &&
			tickerd.subscription.length === tickerd.onScreen.length + 1 &&
			tickerd.onScreen.every(s => tickerd.subscription.includes(s))`, names[403]), 10*time.Second)
		tab.scrollBoardTo(800)
		tab.waitFor("the socket to follow the scroll again", fmt.Sprintf(`tickerd.onScreen.includes(%q) &&
			tickerd.onScreen.every(s => tickerd.subscription.includes(s)) && tickerd.subscription.length === tickerd.onScreen.length + 1`, names[803]), 10*time.Second)
		onScreen := tabEval[[]string](tab, `tickerd.onScreen`)

		// One socket, changed by messages: what they add up to is what is on screen.
		tab.mu.Lock()
		sockets := slices.Clone(tab.sockets)
		sent := slices.Clone(tab.sent)
		tab.mu.Unlock()
		if len(sockets) != 1 {
			t.Fatalf("the page opened %d WebSockets, want one: %v", len(sockets), sockets)
		}
		u, _ := url.Parse(sockets[0])
		have := map[string]bool{}
		for _, s := range strings.Split(u.Query().Get("symbols"), ",") {
			have[s] = true
		}
		for _, m := range sent {
			var msg struct {
				Op      string   `json:"op"`
				Symbols []string `json:"symbols"`
			}
			if err := json.Unmarshal([]byte(m), &msg); err != nil {
				t.Fatalf("the page sent %q: %v", m, err)
			}
			for _, s := range msg.Symbols {
				switch msg.Op {
				case "subscribe":
					have[s] = true
				case "unsubscribe":
					delete(have, s)
				default:
					t.Errorf("the page sent op %q", msg.Op)
				}
			}
		}
		var got []string
		for s := range have {
			got = append(got, s)
		}
		want := append([]string{names[0]}, onScreen...) // names[0] stays selected
		if !sameSet(got, want) {
			t.Errorf("the page's messages subscribe it to %v, want the selected %s and the rows on screen %v (sent %v)", got, names[0], onScreen, sent)
		}
		if len(sent) < 2 || len(sent) > 8 {
			t.Errorf("two scrolls sent %d messages, want a subscribe and an unsubscribe for each: %v", len(sent), sent)
		}
		tab.waitFor("prices in the rows on screen", `[...document.querySelectorAll('#rows .c-last span:first-child')].every(s => /^[0-9,]+\.[0-9]{2}$/.test(s.textContent))`, 10*time.Second)
		tab.checkNoProblems()
	})
}

func TestPagePinnedSymbolSurvivesReload(t *testing.T) {
	td := startPageServer(t)
	want := universe(t, td.URL)
	tab := newBrowser(t, 1280, 800)
	tab.do(chromedp.Navigate(td.URL + "/"))

	// A newcomer sees the market, with an empty watchlist.
	tab.waitFor("the market", fmt.Sprintf(`window.tickerd && tickerd.state === 'live' && tickerd.boardView === 'market' &&
		document.querySelectorAll('#rows tr').length === %d && document.getElementById('watch-count').textContent === '0' &&
		document.querySelector('[data-board-view="market"]').getAttribute('aria-pressed') === 'true'`, len(want)), 10*time.Second)
	tab.do(chromedp.Click(chromedp.CSS(`[data-board-view="watchlist"]`)))
	tab.waitFor("the empty watchlist", `tickerd.boardView === 'watchlist' && document.querySelectorAll('#rows tr').length === 0 &&
		!document.getElementById('board-empty').hidden && document.getElementById('board-empty').textContent.includes('pin')`, 10*time.Second)
	tab.do(chromedp.Click(chromedp.CSS(`[data-board-view="market"]`)))

	// Pin two symbols: one with its star, one from the keyboard.
	tab.waitFor("the market again", fmt.Sprintf(`document.querySelectorAll('#rows tr').length === %d`, len(want)), 10*time.Second)
	tab.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows tr[data-sym=%q] .pin`, want[3]))))
	tab.waitFor("the star pinned", fmt.Sprintf(`document.querySelector('#rows tr[data-sym=%q] .pin').getAttribute('aria-pressed') === 'true' &&
		JSON.stringify(tickerd.pinned) === '[%q]'`, want[3], want[3]), 10*time.Second)
	if got := tabEval[string](tab, `tickerd.selected`); got != want[0] {
		t.Errorf("pinning %s selected %s, want the selection left at %s", want[3], got, want[0])
	}
	tab.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('#rows tr[data-sym=%q]').focus()`, want[1])))
	tab.do(chromedp.KeyEvent("p"))
	tab.waitFor("the key pinned", fmt.Sprintf(`JSON.stringify(tickerd.pinned) === '[%q,%q]' &&
		document.getElementById('watch-count').textContent === '2'`, want[3], want[1]), 10*time.Second)
	tab.do(chromedp.Click(chromedp.CSS(`[data-board-view="watchlist"]`)))
	wantRows := fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#rows tr')].map(tr => tr.dataset.sym)) === '[%q,%q]'`, want[1], want[3])
	tab.waitFor("the watchlist", wantRows, 10*time.Second)

	// A reload keeps the pins and the view.
	tab.do(chromedp.Reload())
	tab.waitFor("the watchlist after reload", `window.tickerd && tickerd.state === 'live' && tickerd.boardView === 'watchlist' && `+wantRows+` &&
		[...document.querySelectorAll('#rows .c-last span:first-child')].every(s => /^[0-9,]+\.[0-9]{2}$/.test(s.textContent))`, 10*time.Second)

	// Unpinned, a symbol leaves the watchlist.
	tab.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#rows tr[data-sym=%q] .pin`, want[1]))))
	tab.waitFor("the unpinned row gone", fmt.Sprintf(`JSON.stringify([...document.querySelectorAll('#rows tr')].map(tr => tr.dataset.sym)) === '[%q]'`, want[3]), 10*time.Second)
	tab.checkNoProblems()
}

func TestPageEightTabsShareOneStream(t *testing.T) {
	td := startPageServer(t, "-rate", "200")
	want := universe(t, td.URL)
	// The browser's first tab stays blank: closing it would close the browser.
	browser := newBrowser(t, 1280, 800)
	var tabs []*marketTab
	for range 8 {
		tabs = append(tabs, browser.openTab(1280, 800))
	}
	for i, tab := range tabs {
		tab.do(chromedp.Navigate(fmt.Sprintf("%s/?symbol=%s", td.URL, want[i])))
	}
	live := fmt.Sprintf(`window.tickerd && tickerd.state === 'live' && tickerd.ticksSeen > 20 && tickerd.gaps === 0 &&
		tickerd.chartLoaded && document.querySelectorAll('#rows tr').length === %d`, len(want))
	for i, tab := range tabs {
		tab.waitFor(fmt.Sprintf("tab %d live", i), live, 30*time.Second)
	}

	// One tab holds the stream; every other tab follows it.
	leader := -1
	streams := 0
	for i, tab := range tabs {
		role := tabEval[string](tab, `tickerd.role`)
		n := len(tab.streams())
		streams += n
		switch role {
		case "leader":
			if leader >= 0 {
				t.Fatalf("tabs %d and %d both lead", leader, i)
			}
			leader = i
			if n != 1 {
				t.Errorf("the leading tab %d opened %d streams", i, n)
			}
		case "follower":
			if n != 0 {
				t.Errorf("following tab %d opened %d streams", i, n)
			}
		default:
			t.Errorf("tab %d is %q, want leader or follower", i, role)
		}
	}
	if leader < 0 || streams != 1 {
		t.Fatalf("the browser opened %d streams for 8 tabs (leader %d), want one", streams, leader)
	}
	tabs[leader].waitFor("the leader to stream for the 7 other tabs", `tickerd.followers === 7`, 10*time.Second)

	// Each tab moves and charts its own symbol.
	for i, tab := range tabs {
		seen := tabEval[int](tab, `tickerd.ticksSeen`)
		tab.waitFor(fmt.Sprintf("tab %d moving", i), fmt.Sprintf(`tickerd.ticksSeen > %d + 50 && tickerd.selected === %q &&
			document.getElementById('chart-symbol').textContent === %[2]q`, seen, want[i]), 110*time.Second)
	}

	// The leader closes: another tab takes the stream over where it was, and
	// every tab goes on with no gap and no repeat.
	gone := tabs[leader]
	rest := slices.Delete(slices.Clone(tabs), leader, leader+1)
	seqs := make([]uint64, len(rest))
	for i, tab := range rest {
		seqs[i] = tabEval[uint64](tab, `tickerd.lastSeq`)
	}
	if err := chromedp.Cancel(gone.ctx); err != nil {
		t.Fatalf("close the leading tab: %v", err)
	}
	closed := time.Now()
	// One of the others takes the lock.
	if !pollUntil(20*time.Second, 50*time.Millisecond, func() bool {
		return slices.ContainsFunc(rest, func(tab *marketTab) bool { return tabEval[string](tab, `tickerd.role`) == "leader" })
	}) {
		t.Fatal("no tab took the stream over within 20s of the leader closing")
	}
	for i, tab := range rest {
		tab.waitFor(fmt.Sprintf("tab %d live after the leader closed", i), fmt.Sprintf(
			`tickerd.state === 'live' && tickerd.lastSeq > %d + 100 && tickerd.gaps === 0 && tickerd.duplicates === 0 && tickerd.resyncs === 0`, seqs[i]), 20*time.Second)
	}
	t.Logf("8 tabs, one stream; the leader closed, every other tab %d ticks further %v later", 100, time.Since(closed).Round(time.Millisecond))
	leaders := 0
	var resumed []string
	for _, tab := range rest {
		if tabEval[string](tab, `tickerd.role`) == "leader" {
			leaders++
			resumed = tab.streams()
		}
	}
	if leaders != 1 || len(resumed) != 1 || !strings.Contains(resumed[0], "lastEventId=") {
		t.Errorf("after the leader closed %d tabs lead, with streams %v; want one, resuming with lastEventId", leaders, resumed)
	}
	for _, tab := range rest {
		tab.checkNoProblems()
	}
}

func TestPageTabsShareTheRowsTheyShow(t *testing.T) {
	list, names := marketUniverse(1000)
	td := startPageServer(t, "-symbols", list, "-rate", "2000")
	browser := newBrowser(t, 1280, 800)
	a, b := browser.openTab(1280, 800), browser.openTab(1280, 800)
	a.do(chromedp.Navigate(td.URL + "/?symbol=" + names[0] + "&interval=1s"))
	a.waitFor("the first tab leading", `window.tickerd && tickerd.role === 'leader' && tickerd.state === 'live'`, 110*time.Second)
	b.do(chromedp.Navigate(td.URL + "/?symbol=" + names[900]))
	b.waitFor("the second tab following", `window.tickerd && tickerd.role === 'follower' && tickerd.state === 'live' && tickerd.onScreen.length > 0`, 110*time.Second)
	b.scrollBoardTo(600)
	b.waitFor("the second tab's rows", fmt.Sprintf(`tickerd.onScreen.includes(%q)`, names[603]), 10*time.Second)
	wantB := tabEval[[]string](b, `[tickerd.selected, ...tickerd.onScreen]`)
	wantA := tabEval[[]string](a, `[tickerd.selected, ...tickerd.onScreen]`)

	// The leader's stream carries both tabs' rows and selections.
	a.waitFor("the stream to carry both tabs' rows", fmt.Sprintf(`(() => {
		const want = new Set([...%s, ...%s]);
		const sub = tickerd.subscription;
		return sub.length === want.size && sub.every(s => want.has(s));
	})()`, jsonList(wantA), jsonList(wantB)), 10*time.Second)
	// And the bars of both tabs' charts: 1s (the leader's), 5s (the follower's).
	a.waitFor("the stream to ask for both tabs' bars", `tickerd.subscribedBars.join() === '1s,5s'`, 10*time.Second)
	// The browser reports the stream's request a moment after the page opened it.
	sub := tabEval[[]string](a, `tickerd.subscription`)
	asked := func() bool {
		streams := a.streams()
		return len(streams) > 0 && sameSet(subscribed(t, streams[len(streams)-1]), sub) &&
			strings.Contains(streams[len(streams)-1], "bars=1s,5s")
	}
	if !pollUntil(5*time.Second, 20*time.Millisecond, asked) {
		t.Errorf("the leader's streams %v never asked for its subscription %v", a.streams(), sub)
	}
	if n := len(b.streams()); n != 0 {
		t.Errorf("the following tab opened %d streams", n)
	}

	// The follower's rows move, and its chart follows its own symbol.
	before := tabEval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#rows tr')].map(tr => [tr.dataset.sym, tr.querySelector('.c-last span').textContent]))`)
	prices, _ := json.Marshal(before)
	b.waitFor("the follower's prices to change", fmt.Sprintf(`(() => {
		const before = %s;
		let moved = 0;
		for (const tr of document.querySelectorAll('#rows tr'))
			if (tr.querySelector('.c-last span').textContent !== before[tr.dataset.sym]) moved++;
		return moved >= document.querySelectorAll('#rows tr').length / 3;
	})()`, prices), 110*time.Second)
	b.waitFor("the follower's chart", fmt.Sprintf(`tickerd.selected === %q && tickerd.chartLoaded && tickerd.chartBars.length > 0`, names[900]), 10*time.Second)
	b.waitFor("the follower's chart to take 5s bars from the leader's stream", `tickerd.interval === '5s' && tickerd.chartServerBars > 0`, 15*time.Second)
	a.checkNoProblems()
	b.checkNoProblems()
}

// jsonList is names as a JavaScript array.
func jsonList(names []string) string {
	b, _ := json.Marshal(names)
	return string(b)
}

func TestPageVirtualBoardAtPhoneWidth(t *testing.T) {
	list, names := marketUniverse(1000)
	td := startPageServer(t, "-symbols", list, "-rate", "1000")
	tab := newBrowser(t, 375, 812)
	tab.do(chromedp.Navigate(td.URL + "/"))
	tab.waitFor("the windowed board", `window.tickerd && tickerd.windowed && tickerd.state === 'live' && tickerd.onScreen.length > 0`, 110*time.Second)
	if w := tabEval[int64](tab, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("the page is %d px wide in a 375 px window", w)
	}
	checkWindow(t, "at the top", tab.drawnRows(), names, 0)

	// On a phone the page scrolls, not the board: the rows follow the page.
	tab.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const h = document.querySelector('#rows tr').getBoundingClientRect().height;
		const top = document.getElementById('rows-above').getBoundingClientRect().top + scrollY;
		scrollTo(0, top + 300 * h);
	})()`))
	tab.waitFor("the rows 300 down", fmt.Sprintf(`tickerd.onScreen.includes(%q) && !tickerd.onScreen.includes(%q)`, names[305], names[0]), 10*time.Second)
	checkWindow(t, "scrolled", tab.drawnRows(), names, 305)
	tab.waitFor("the stream to follow", fmt.Sprintf(`tickerd.subscription.includes(%q)`, names[305]), 10*time.Second)
	tab.checkNoProblems()
}
