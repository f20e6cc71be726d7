package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The chart's closed bars are the server's: it takes them from the bar
// events of the page's stream, for its interval, over every transport.
// tickerd is fed by the publish API, so that the test chooses every
// tick's time: it makes bars close, and sends a late tick into a closed
// bar, which only the server's updated bar carries to the chart (the page
// folds no tick into a closed bar).

// barTick is one tick line for the publish API at a chosen time.
func barTick(sym string, px float64, size int, ts time.Time) string {
	return fmt.Sprintf(`{"sym":%q,"px":%.2f,"bid":%.2f,"ask":%.2f,"size":%d,"ts":%d}`,
		sym, px, px-0.01, px+0.01, size, ts.UnixNano())
}

// publishLines posts lines to the publish API and fails the test unless
// every one was accepted.
func publishLines(t *testing.T, base string, lines ...string) {
	t.Helper()
	a := postTicks(t, base, publishKey, "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if a.status != http.StatusOK || a.result.Accepted != len(lines) {
		t.Fatalf("publish answered %d %s, want all %d lines accepted", a.status, a.raw, len(lines))
	}
}

// historyBars returns /api/history's bars of symbol at interval.
func historyBars(t *testing.T, base, symbol, interval string) []bar {
	t.Helper()
	res, err := http.Get(base + "/api/history?symbol=" + symbol + "&interval=" + interval)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var history struct {
		Bars []bar `json:"bars"`
	}
	if err := json.NewDecoder(res.Body).Decode(&history); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("history of %s at %s: %d %v", symbol, interval, res.StatusCode, err)
	}
	return history.Bars
}

// closedUpTo is the bars of bars that start at or before last, by start.
func closedUpTo(bars []bar, last int64) map[int64]bar {
	m := map[int64]bar{}
	for _, b := range bars {
		if b.T <= last {
			m[b.T] = b
		}
	}
	return m
}

// sameBars describes how page and server differ, or is "" when they hold
// the same bars.
func sameBars(page, server map[int64]bar) string {
	var diff []string
	for t, s := range server {
		if b, ok := page[t]; !ok {
			diff = append(diff, fmt.Sprintf("page lacks %+v", s))
		} else if b != s {
			diff = append(diff, fmt.Sprintf("page has %+v, server %+v", b, s))
		}
	}
	for t, b := range page {
		if _, ok := server[t]; !ok {
			diff = append(diff, fmt.Sprintf("server lacks %+v", b))
		}
	}
	return strings.Join(diff, "; ")
}

func TestPageChartTakesClosedBarsFromTheStream(t *testing.T) {
	for _, transport := range []string{"sse", "ws", "poll"} {
		t.Run(transport, func(t *testing.T) {
			td := startPageServer(t, "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey),
				"-publish-rate", "1000", "-symbols", "AAPL,MSFT")
			// Whole seconds well before now, so that every bar is one the
			// test closed, not the clock.
			base := time.Now().Add(-10 * time.Minute).Truncate(5 * time.Second)
			at := func(sec float64) time.Time { return base.Add(time.Duration(sec * float64(time.Second))) }
			px := 100.0
			step := func() float64 { px += 0.03; return px }
			publishLines(t, td.URL, barTick("AAPL", step(), 100, at(0.1)), barTick("MSFT", 400, 100, at(0.2)), barTick("AAPL", step(), 200, at(0.3)))

			p := newPage(t, 1280, 800)
			p.do(chromedp.Navigate(td.URL + "/?symbol=AAPL&interval=1s&transport=" + transport))
			p.waitFor("the 1s chart, live", `window.tickerd && tickerd.state === 'live' && tickerd.chartLoaded &&
				tickerd.chartBars.length === 1 && tickerd.subscribedBars.join() === '1s'`, 10*time.Second)

			// Close a second at a time until the stream's bars reach the chart.
			sec := 1.0
			eventually(t, "a bar event on the chart", 10*time.Second, func() (bool, string) {
				publishLines(t, td.URL, barTick("AAPL", step(), 100, at(sec+0.1)), barTick("AAPL", step(), 100, at(sec+0.4)))
				sec++
				n := eval[int](p, `tickerd.chartServerBars`)
				return n > 0, fmt.Sprintf("%d bar events applied, %d received", n, eval[int](p, `tickerd.barsSeen`))
			})

			// A late tick in a closed bar, between ticks that close more bars.
			late := sec - 1 // the bar the tick at sec closes
			publishLines(t, td.URL,
				barTick("AAPL", step(), 300, at(sec+0.2)),
				barTick("AAPL", px+0.15, 777, at(late+0.7)), // higher than any, in a closed bar
				barTick("MSFT", 400.02, 100, at(sec+0.5)),
				barTick("AAPL", step(), 100, at(sec+1.1)),
				barTick("AAPL", step(), 100, at(sec+2.1)),
			)
			lastClosed := at(sec + 1).Unix()
			checkChartEqualsHistory(t, p, td.URL, "1s", lastClosed, at(late).Unix(), 777)

			// Another interval: the subscription follows the chart's, and its
			// bars come from the stream too.
			p.do(chromedp.Click(chromedp.CSS(`[data-interval="5s"]`)))
			p.waitFor("the 5s chart, its bars asked for", `tickerd.interval === '5s' && tickerd.chartLoaded &&
				tickerd.subscribedBars.join() === '5s' && tickerd.subscriptionsSent > 0`, 10*time.Second)
			served := eval[int](p, `tickerd.chartServerBars`)
			sec = float64(int(sec+5)/5*5 + 5) // the start of a 5s bar after every tick so far
			eventually(t, "a 5s bar event on the chart", 10*time.Second, func() (bool, string) {
				publishLines(t, td.URL, barTick("AAPL", step(), 100, at(sec+0.1)), barTick("AAPL", step(), 100, at(sec+2.5)))
				sec += 5
				n := eval[int](p, `tickerd.chartServerBars`)
				return n > served, fmt.Sprintf("%d bar events applied", n)
			})
			late = sec - 5
			publishLines(t, td.URL,
				barTick("AAPL", step(), 100, at(sec+1)),
				barTick("AAPL", px+0.2, 555, at(late+4.5)),
				barTick("AAPL", step(), 100, at(sec+5.5)),
			)
			checkChartEqualsHistory(t, p, td.URL, "5s", at(sec).Unix(), at(late).Unix(), 555)

			if st := p.state(); st.Gaps != 0 {
				t.Errorf("the page saw %d sequence gaps", st.Gaps)
			}
			p.checkNoProblems()
		})
	}
}

// checkChartEqualsHistory waits until the chart's bars up to lastClosed
// equal /api/history's bar for bar, and checks that the bar at lateBar
// holds the late tick of lateSize shares.
func checkChartEqualsHistory(t *testing.T, p *browserPage, base, interval string, lastClosed, lateBar int64, lateSize int64) {
	t.Helper()
	var server map[int64]bar
	eventually(t, "the chart's "+interval+" bars to equal /api/history's", 10*time.Second, func() (bool, string) {
		server = closedUpTo(historyBars(t, base, "AAPL", interval), lastClosed)
		page := closedUpTo(eval[[]bar](p, `tickerd.chartBars`), lastClosed)
		if _, ok := server[lastClosed]; !ok {
			return false, fmt.Sprintf("history has no bar at %d yet", lastClosed)
		}
		d := sameBars(page, server)
		return d == "", d
	})
	b := server[lateBar]
	if b.V < lateSize {
		t.Errorf("the bar at %d has volume %d, without the late tick's %d shares: %+v", lateBar, b.V, lateSize, b)
	}
	if len(server) < 3 {
		t.Errorf("compared %d %s bars, want at least 3", len(server), interval)
	}
}
