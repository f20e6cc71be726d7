package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/market"
)

// carried records the events a publisher stores and the bars each carries.
type carried struct {
	next   []byte
	events []string // "seq:bars carried"
}

func (c *carried) CarryBars(bars []byte) { c.next = bars }
func (c *carried) Tick(t feed.Tick)      { c.add(t.Seq) }
func (c *carried) Status(s market.Status) {
	c.add(s.Seq)
}
func (c *carried) Bands(b market.Bands) { c.add(b.Seq) }

func (c *carried) add(seq uint64) {
	var bars []json.RawMessage
	if c.next != nil {
		if err := json.Unmarshal(c.next, &bars); err != nil {
			panic(err)
		}
	}
	c.events = append(c.events, fmt.Sprintf("%d:%d", seq, len(bars)))
	c.next = nil
}

// TestAPublisherSpreadsALargeCloseOverTheNextEvents: a close of 4,500
// symbols' 1s bars goes with the event that makes it and the two after
// it, at most barsPerEvent each, and a late tick's updated bars with the
// event after it.
func TestAPublisherSpreadsALargeCloseOverTheNextEvents(t *testing.T) {
	const n = 4500
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("S%d", i)
	}
	src := newBarSource(nil, names, 1<<30)
	rec := &carried{}
	events := &barredEvents{MarketEvents: rec, carrier: rec, maker: src.maker}
	base := time.Date(2026, 3, 9, 14, 0, 1, 0, time.UTC) // no 5s, 1m or 5m boundary in the next second
	tick := func(seq uint64, sym string, at time.Duration) {
		events.Tick(feed.Tick{Seq: seq, Symbol: sym, Price: 10, Bid: 9.99, Ask: 10.01, Size: 1, Time: base.Add(at)})
	}
	for i, name := range names {
		tick(uint64(i+1), name, time.Duration(i)*time.Microsecond)
	}
	tick(n+1, "S0", 1100*time.Millisecond) // closes 4,500 bars of 1s
	tick(n+2, "S1", 1200*time.Millisecond)
	tick(n+3, "S2", 500*time.Millisecond) // late: S2's closed 1s bar changes
	events.Status(market.Status{Seq: n + 4, Symbol: "S3", State: market.StateHalted, Time: base.Add(1300 * time.Millisecond)})
	events.Bands(market.Bands{Seq: n + 5, Symbol: "S4", Ref: 10, Lower: 9, Upper: 11, Time: base.Add(1400 * time.Millisecond)})

	got := rec.events[n:]
	want := []string{fmt.Sprint(n+1, ":", barsPerEvent), fmt.Sprint(n+2, ":", barsPerEvent), fmt.Sprint(n+3, ":", n-2*barsPerEvent),
		fmt.Sprint(n+4, ":1"), fmt.Sprint(n+5, ":0")}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events and the bars they carry %v; want %v", got, want)
	}
}
