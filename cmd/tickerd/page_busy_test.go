package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPageReceivesABusyStreamInAWorker runs the page against a stream of
// thousands of ticks a second: the page moves its EventSource into a
// worker, from where it was, with no tick lost or repeated and no new
// snapshot, and the ticks and bar events keep coming from there.
func TestPageReceivesABusyStreamInAWorker(t *testing.T) {
	td := startPageServer(t, "-symbols", "AAPL,MSFT,NVDA", "-rate", "2500")
	p := newPage(t, 1280, 800)
	p.do(chromedp.Navigate(td.URL + "/?symbol=MSFT&interval=1s"))
	p.waitFor("the stream received in a worker", `window.tickerd && tickerd.state === 'live' && tickerd.inWorker && tickerd.chartLoaded`, 15*time.Second)
	moved := p.state()
	bars := eval[int](p, `tickerd.chartServerBars`)
	p.waitFor("ticks and bars from the worker", fmt.Sprintf(
		`tickerd.ticksSeen > %d && tickerd.chartServerBars >= %d`, moved.TicksSeen+3000, bars+3), 15*time.Second)

	// Every closed bar on the chart is the server's.
	eventually(t, "the chart's closed bars to equal /api/history's", 10*time.Second, func() (bool, string) {
		page := eval[[]bar](p, `tickerd.chartBars`)
		server := closedUpTo(historyBars(t, td.URL, "MSFT", "1s"), page[len(page)-2].T)
		d := sameBars(closedUpTo(page, page[len(page)-2].T), server)
		return d == "" && len(server) >= 3, fmt.Sprintf("%d bars compared: %s", len(server), d)
	})
	st := p.state()
	if st.Gaps != 0 || st.Duplicates != 0 || st.Snapshots != 1 || st.Resyncs != 0 || st.State != "live" {
		t.Errorf("after the move the page has %d gaps, %d duplicates, %d snapshots, %d resyncs (%s), want one snapshot and nothing else",
			st.Gaps, st.Duplicates, st.Snapshots, st.Resyncs, st.State)
	}
	if !eval[bool](p, `tickerd.inWorker`) {
		t.Error("the stream left the worker")
	}
	p.checkNoProblems()
}
