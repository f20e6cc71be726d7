package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// pageTransports are the transports the page's ?transport= forces, with
// what its indicator says of each.
var pageTransports = []struct{ name, label string }{
	{"sse", "SSE"},
	{"ws", "WebSocket"},
	{"poll", "polling"},
}

// watchPolicyViolations has the page record every violation of its content
// security policy in window.cspViolations, from before its first script.
func (p *browserPage) watchPolicyViolations() {
	p.t.Helper()
	p.do(chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.cspViolations = [];
				addEventListener('securitypolicyviolation', (e) => cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`,
		})
		return err
	}))
}

// checkPolicyKept fails the test if the page broke its content security policy.
func (p *browserPage) checkPolicyKept() {
	p.t.Helper()
	if v := eval[[]string](p, `window.cspViolations`); len(v) > 0 {
		p.t.Errorf("the page violated its content security policy: %v", v)
	}
}

// indicator is what the connection indicator shows.
type indicator struct {
	State     string `json:"state"`
	Transport string `json:"transport"`
	Label     string `json:"label"`
	Via       string `json:"via"`
}

func (p *browserPage) indicator() indicator {
	p.t.Helper()
	return eval[indicator](p, `({
		state: document.getElementById('conn').dataset.state,
		transport: document.getElementById('conn').dataset.transport,
		label: document.getElementById('conn-label').textContent,
		via: document.getElementById('conn-transport').textContent,
	})`)
}

// TestPageOverEachTransport forces each transport with ?transport=, beside
// the other parameters of the URL: the board fills and moves, the chart
// builds from the transport's ticks the bars the server has, the
// indicator names the transport, and a server restarted under the page
// continues the sequence with no gap, over the same transport. All of it
// under the page's Content-Security-Policy, whose connect-src 'self' must
// let the WebSocket reach ws: on the same origin (as CSP3 has it), with no
// violation reported.
func TestPageOverEachTransport(t *testing.T) {
	for _, tr := range pageTransports {
		t.Run(tr.name, func(t *testing.T) {
			td := startPageServer(t)
			want := universe(t, td.URL)
			sym := want[1]
			p := newPage(t, 1280, 800)
			p.watchPolicyViolations()
			p.do(chromedp.Navigate(fmt.Sprintf("%s/?transport=%s&symbol=%s&interval=1s", td.URL, tr.name, sym)))

			p.waitFor("live ticks over "+tr.name, fmt.Sprintf(
				`window.tickerd && tickerd.state === 'live' && tickerd.transport === %q && tickerd.ticksSeen > 20 &&
				 tickerd.selected === %q && tickerd.interval === '1s' && tickerd.chartLoaded &&
				 tickerd.sparksBackfilled === tickerd.symbols.length`, tr.name, sym), 30*time.Second)
			if got, want := p.indicator(), (indicator{"live", tr.name, "live", tr.label}); got != want {
				t.Errorf("the indicator shows %+v, want %+v", got, want)
			}
			if q := eval[string](p, `location.search`); !strings.Contains(q, "transport="+tr.name) || !strings.Contains(q, "symbol="+sym) {
				t.Errorf("the page's query is %q, want it to keep transport=%s and symbol=%s", q, tr.name, sym)
			}

			p.waitFor("every symbol on the board with a price", fmt.Sprintf(
				`document.querySelectorAll('#rows tr').length === %d &&
				 [...document.querySelectorAll('#rows .c-last span:first-child')].every(s => /^[0-9,]+\.[0-9]{2}$/.test(s.textContent))`, len(want)),
				5*time.Second)
			prices, _ := json.Marshal(p.boardPrices())
			p.waitFor("prices to change", fmt.Sprintf(`(() => {
				const before = new Map(%s);
				let moved = 0;
				for (const tr of document.querySelectorAll('#rows tr'))
					if (tr.querySelector('.c-last span').textContent !== before.get(tr.dataset.sym)) moved++;
				return moved >= %d;
			})()`, prices, len(want)/2), 10*time.Second)
			checkLiveBarsAgreeWithHistory(t, p, td.URL, sym)

			// The server goes away and comes back continuing the sequence.
			p.outage.Store(true)
			if err := td.Stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			p.waitFor("the indicator to show reconnecting", `tickerd.state === 'reconnecting' &&
				document.getElementById('conn').dataset.state === 'reconnecting'`, 10*time.Second)
			before := p.state()
			if !pollUntil(10*time.Second, 50*time.Millisecond, func() bool { return p.toleratedFailures() > 0 }) {
				t.Fatalf("no failed reconnect within 10s; page state %s", p.debugState())
			}
			if st := p.state(); st.State != "reconnecting" || st.LastSeq != before.LastSeq {
				t.Fatalf("while the server is down the page is %q at seq %d, want reconnecting at %d", st.State, st.LastSeq, before.LastSeq)
			}
			addr := strings.TrimPrefix(td.URL, "http://")
			next := startPageServer(t, "-addr", addr, "-first-seq", strconv.FormatUint(before.LastSeq+1, 10))
			p.waitFor("live again with new ticks", fmt.Sprintf(
				`tickerd.state === 'live' && tickerd.transport === %q && tickerd.lastSeq > %d`, tr.name, before.LastSeq+50), 30*time.Second)
			p.outage.Store(false)

			after := p.state()
			if after.Gaps != 0 || after.Duplicates != 0 {
				t.Errorf("the page saw %d sequence gaps and %d duplicates (resyncs %d)",
					after.Gaps, after.Duplicates, after.Resyncs)
			}
			if after.Resyncs == 0 && after.Snapshots != before.Snapshots {
				t.Errorf("a snapshot (%d, was %d) came without a resync", after.Snapshots, before.Snapshots)
			}
			if got, want := p.indicator(), (indicator{"live", tr.name, "live", tr.label}); got != want {
				t.Errorf("after the restart the indicator shows %+v, want %+v", got, want)
			}
			t.Logf("%s: last seq %d before the restart, %d after; resyncs %d; expected reconnect failures %d",
				tr.name, before.LastSeq, after.LastSeq, after.Resyncs, p.toleratedFailures())
			p.checkPolicyKept()
			p.checkNoProblems()
			p.outage.Store(true) // the page's stream fails once more, when the test is done with it
			if err := next.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
}

// checkLiveBarsAgreeWithHistory waits until the page's chart of sym (of
// one-second bars) has built bars from live ticks alone, and compares the
// closed ones with the server's.
func checkLiveBarsAgreeWithHistory(t *testing.T, p *browserPage, base, sym string) {
	t.Helper()
	loaded := p.state().ChartBars
	if len(loaded) == 0 {
		t.Fatalf("the chart of %s has no bars", sym)
	}
	backfilled := loaded[len(loaded)-1].T // this bar and older may have come from /api/history
	p.waitFor("bars built from live ticks", fmt.Sprintf(`tickerd.chartBars.filter(b => b.t > %d).length >= 4`, backfilled), 15*time.Second)
	bars := p.state().ChartBars
	server := map[int64]bar{}
	res, err := http.Get(base + "/api/history?symbol=" + url.QueryEscape(sym) + "&interval=1s")
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
	for _, b := range history.Bars {
		server[b.T] = b
	}
	compared := 0
	for _, b := range bars[:len(bars)-1] { // the newest bar may still be open
		if b.T <= backfilled {
			continue
		}
		if s, ok := server[b.T]; !ok || s != b {
			t.Errorf("bar at %d: the page built %+v from ticks, /api/history has %+v", b.T, b, s)
		}
		compared++
	}
	if compared < 3 {
		t.Errorf("compared %d closed bars of %s, want at least 3", compared, sym)
	}
}

// streamProxy stands between the page and tickerd like a proxy that does
// not pass event streams on: it passes every request through, but of
// /events it reads what tickerd streams and holds it (buffering), sending
// the page nothing or only the response's head, or it refuses the stream.
type streamProxy struct {
	*httptest.Server
	mode    proxyMode
	held    atomic.Int64 // bytes of event streams held back
	streams atomic.Int64 // event streams asked for
}

// proxyMode is what a streamProxy does with an event stream.
type proxyMode int

const (
	holdAll  proxyMode = iota // sends nothing of it
	holdBody                  // sends its head and holds its events
	refuse                    // answers 403 without asking tickerd
)

func startStreamProxy(t *testing.T, target string, mode proxyMode) *streamProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = transport
	h := &streamProxy{mode: mode}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			rp.ServeHTTP(w, r)
			return
		}
		h.streams.Add(1)
		if h.mode == refuse {
			http.Error(w, "event streams are not allowed through this proxy", http.StatusForbidden)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target+r.URL.RequestURI(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header = r.Header.Clone()
		res, err := transport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		if h.mode == holdBody {
			w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
			w.WriteHeader(res.StatusCode)
			_ = http.NewResponseController(w).Flush()
		}
		n, _ := io.Copy(io.Discard, res.Body) // until the page or tickerd goes away
		h.held.Add(n)
	}))
	t.Cleanup(func() {
		h.Close()
		transport.CloseIdleConnections()
	})
	return h
}

// TestPageFallsBackToPolling puts the page behind a proxy that does not
// pass its event stream on: hearing nothing over SSE, or an error before
// the first event, the page polls instead, by itself, and says so.
func TestPageFallsBackToPolling(t *testing.T) {
	td := startPageServer(t)
	want := universe(t, td.URL)
	for _, tt := range []struct {
		name string
		mode proxyMode
		why  string   // what tickerd.fallback says
		seen []string // what the browser reports of the stream, which the test expects
	}{
		{"holding the whole stream", holdAll, "silence", []string{"(EventSource) failed: net::ERR_ABORTED"}},
		{"holding its events", holdBody, "silence", []string{"(EventSource) failed: net::ERR_ABORTED"}},
		{"refusing it", refuse, "error", []string{"/events?bars=5s answered 403", "403 (Forbidden)", "(EventSource) failed: net::ERR_ABORTED"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			proxy := startStreamProxy(t, td.URL, tt.mode)
			p := newPage(t, 1280, 800)
			p.watchPolicyViolations()
			// The page gives SSE 5 s; the test shortens that.
			const fallbackAfter = time.Second
			p.do(chromedp.Navigate(proxy.URL + "/?symbol=" + url.QueryEscape(want[2])))
			p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.documentElement.dataset.fallbackAfter = '%d'`, fallbackAfter.Milliseconds())))

			p.waitFor("the page polling", fmt.Sprintf(`window.tickerd && tickerd.transport === 'poll' && tickerd.fallback === %q &&
				tickerd.state === 'live' && tickerd.ticksSeen > 20 && tickerd.gaps === 0 && tickerd.chartLoaded`, tt.why), 15*time.Second)
			if got, want := p.indicator(), (indicator{"live", "poll", "live", "polling"}); got != want {
				t.Errorf("the indicator shows %+v, want %+v", got, want)
			}
			if title := eval[string](p, `document.getElementById('conn').title`); !strings.Contains(title, "polling") {
				t.Errorf("the indicator's title is %q, want it to say the page polls", title)
			}
			p.waitFor("every symbol on the board", fmt.Sprintf(`document.querySelectorAll('#rows tr').length === %d &&
				tickerd.selected === %q`, len(want), want[2]), 5*time.Second)
			if n := proxy.streams.Load(); n != 1 {
				t.Errorf("the page asked for %d event streams, want 1 and then polls", n)
			}
			if tt.mode != refuse && !pollUntil(5*time.Second, 20*time.Millisecond, func() bool { return proxy.held.Load() > 0 }) {
				t.Error("the proxy held nothing: tickerd streamed nothing to it")
			}
			st := p.state()
			if st.Snapshots != 1 || st.Resyncs != 0 || st.Duplicates != 0 {
				t.Errorf("the page polling has %d snapshots, %d resyncs and %d duplicates, want one snapshot", st.Snapshots, st.Resyncs, st.Duplicates)
			}
			p.checkRequests(proxy.URL, 1)
			p.mu.Lock()
			kept := p.problems[:0]
			for _, what := range p.problems {
				// The page closes a held stream, which the browser reports
				// aborted; a refused one is an error status.
				if !slices.ContainsFunc(tt.seen, func(s string) bool { return strings.Contains(what, s) }) {
					kept = append(kept, what)
				}
			}
			p.problems = kept
			p.mu.Unlock()
			p.checkPolicyKept()
			p.checkNoProblems()
		})
	}
}

// TestPagePollsAtIntervalsWhenPollsAreNotHeld runs the polling page
// against a server that holds no poll (-poll-max-wait 0s): refused its
// held poll, the page asks at intervals instead, with no gap.
func TestPagePollsAtIntervalsWhenPollsAreNotHeld(t *testing.T) {
	td := startPageServer(t, "-poll-max-wait", "0s")
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/?transport=poll"))
	p.waitFor("live ticks by polling", `window.tickerd && tickerd.state === 'live' && tickerd.transport === 'poll' &&
		tickerd.ticksSeen > 50 && tickerd.chartLoaded`, 15*time.Second)
	if st := p.state(); st.Gaps != 0 || st.Duplicates != 0 || st.Snapshots != 1 {
		t.Errorf("polling at intervals the page has %d gaps, %d duplicates and %d snapshots, want one snapshot", st.Gaps, st.Duplicates, st.Snapshots)
	}
	p.mu.Lock()
	var polls []string
	for _, u := range p.requests {
		if strings.Contains(u, "/api/ticks?") {
			polls = append(polls, strings.TrimPrefix(u, td.URL))
		}
	}
	var refusals []string
	kept := p.problems[:0]
	for _, what := range p.problems {
		if strings.Contains(what, "/api/ticks?bars=5s&wait=25s answered 400") || strings.Contains(what, "status of 400 (Bad Request) ("+td.URL+"/api/ticks?bars=5s&wait=25s") {
			refusals = append(refusals, what)
		} else {
			kept = append(kept, what)
		}
	}
	p.problems = kept
	p.mu.Unlock()
	if len(polls) < 3 || polls[0] != "/api/ticks?bars=5s&wait=25s" || polls[1] != "/api/ticks?bars=5s&wait=0s" {
		t.Fatalf("the page polled %v, want first a held poll, refused, then ones that are not held", polls)
	}
	for _, u := range polls[1:] {
		if !strings.HasSuffix(u, "wait=0s") {
			t.Errorf("the page asked %s after the server refused held polls", u)
		}
	}
	if len(refusals) != 2 {
		t.Errorf("want the refused held poll as its answer and its console line, got %q", refusals)
	}
	p.checkNoProblems()
}
