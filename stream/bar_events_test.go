package stream

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

var barBase = time.Date(2026, 3, 9, 14, 0, 58, 0, time.UTC)

func barTick(seq uint64, sym string, after time.Duration, price float64, size int64) feed.Tick {
	return feed.Tick{Seq: seq, Symbol: sym, Price: price, Bid: price - 0.01, Ask: price + 0.01, Size: size, Time: barBase.Add(after)}
}

// barEvent is a bar event's body.
type barEvent struct {
	Sym      string `json:"sym"`
	Interval string `json:"interval"`
	Bar
	Updated bool `json:"updated"`
}

// runBarHub runs a hub of symbols that flushes every millisecond, so that
// a bar test's events reach its streams at once.
func runBarHub(t *testing.T, symbols ...string) *Hub {
	t.Helper()
	cfg := DefaultConfig(symbols, testFraming{})
	cfg.FlushInterval = time.Millisecond
	return runHub(t, cfg)
}

// mustParseBars is ParseBars of a bars= value that a test knows is good.
func mustParseBars(t *testing.T, value string) BarSet {
	t.Helper()
	bars, err := ParseBars([]string{value})
	if err != nil {
		t.Fatal(err)
	}
	return bars
}

// TestBarsOnTheStreamAreTheHistorysBars publishes ticks over a minute's
// boundary: a stream of bars=1s,1m gets each bar as it closes, the same
// bars /api/history's store holds, and a late tick sends the bar it
// changed again; a stream without bars gets none.
func TestBarsOnTheStreamAreTheHistorysBars(t *testing.T) {
	h := runBarHub(t, "AAPL", "MSFT")
	bars := mustParseBars(t, "1s,1m")
	withBars := attach(t, h, Subscription{Bars: bars})
	without := attach(t, h, Subscription{})
	withBars.next()
	without.next()

	ms := time.Millisecond
	ticks := []feed.Tick{
		barTick(1, "AAPL", 100*ms, 10, 100),
		barTick(2, "MSFT", 200*ms, 400, 10),
		barTick(3, "AAPL", 900*ms, 10.5, 200),
		barTick(4, "AAPL", 1100*ms, 10.2, 100), // closes 14:00:58 (1s)
		barTick(5, "MSFT", 2500*ms, 401, 20),   // closes 14:00:59 (1s) and 14:00 (1m)
		barTick(6, "AAPL", 1900*ms, 9.9, 300),  // late: changes the closed 14:00:59 and 14:00 bars of AAPL, as their last trade
		barTick(7, "AAPL", 3200*ms, 10.1, 100), // closes 14:01:00 (1s)
	}
	for _, tk := range ticks {
		if err := h.Publish(tk); err != nil {
			t.Fatal(err)
		}
	}
	type got struct {
		kind, id string
		bar      barEvent
	}
	var events []got
	for len(events) < 14 {
		kind, id, body := withBars.next()
		g := got{kind: kind, id: id}
		if kind == "bar" {
			if err := json.Unmarshal([]byte(body), &g.bar); err != nil {
				t.Fatalf("bar %s: %v", body, err)
			}
		}
		events = append(events, g)
	}
	sec := barBase.Unix()
	want := []got{
		{kind: "tick", id: "1"}, {kind: "tick", id: "2"}, {kind: "tick", id: "3"},
		{kind: "bar", id: "0", bar: barEvent{"AAPL", "1s", Bar{sec, 10, 10.5, 10, 10.5, 300}, false}},
		{kind: "bar", id: "0", bar: barEvent{"MSFT", "1s", Bar{sec, 400, 400, 400, 400, 10}, false}},
		{kind: "tick", id: "4"},
		{kind: "bar", id: "0", bar: barEvent{"AAPL", "1s", Bar{sec + 1, 10.2, 10.2, 10.2, 10.2, 100}, false}},
		{kind: "bar", id: "0", bar: barEvent{"AAPL", "1m", Bar{sec - 58, 10, 10.5, 10, 10.2, 400}, false}},
		{kind: "bar", id: "0", bar: barEvent{"MSFT", "1m", Bar{sec - 58, 400, 400, 400, 400, 10}, false}},
		{kind: "tick", id: "5"},
		{kind: "bar", id: "0", bar: barEvent{"AAPL", "1s", Bar{sec + 1, 10.2, 10.2, 9.9, 9.9, 400}, true}},
		{kind: "bar", id: "0", bar: barEvent{"AAPL", "1m", Bar{sec - 58, 10, 10.5, 9.9, 9.9, 700}, true}},
		{kind: "tick", id: "6"},
		{kind: "bar", id: "0", bar: barEvent{"MSFT", "1s", Bar{sec + 2, 401, 401, 401, 401, 20}, false}},
	}
	if !reflect.DeepEqual(events[:len(want)], want) {
		t.Fatalf("stream with bars\n got %+v\nwant %+v", events[:len(want)], want)
	}

	// Every closed bar the stream sent (the latest version of each) is the store's.
	for _, sym := range []string{"AAPL", "MSFT"} {
		for _, iv := range []struct {
			name string
			d    time.Duration
		}{{"1s", time.Second}, {"1m", time.Minute}} {
			history, _, err := h.Bars(sym, iv.d)
			if err != nil {
				t.Fatal(err)
			}
			sent := map[int64]Bar{}
			for _, e := range events {
				if e.kind == "bar" && e.bar.Sym == sym && e.bar.Interval == iv.name {
					sent[e.bar.Time] = e.bar.Bar
				}
			}
			for _, b := range history {
				if s, ok := sent[b.Time]; ok && s != b {
					t.Errorf("%s %s bar at %d: stream %+v, history %+v", sym, iv.name, b.Time, s, b)
				}
			}
		}
	}

	for range ticks {
		if kind, _, body := without.next(); kind != "tick" {
			t.Fatalf("stream without bars got %s %s", kind, body)
		}
	}

	// A stream resuming after tick 3 gets the bars closed by tick 4 again, then tick 4.
	resumed := attach(t, h, Subscription{Bars: bars, Resume: true, LastID: 3})
	for _, w := range []string{"bar", "bar", "tick"} {
		if kind, _, body := resumed.next(); kind != w {
			t.Fatalf("resumed stream got %s %s; want %s", kind, body, w)
		}
	}
	poll, next, _, _ := h.AppendSince(nil, testFraming{}, nil, bars, 3, true, 3)
	if lines := strings.Split(strings.TrimSuffix(string(poll), "\n"), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[2], "tick 4 ") || next != 4 {
		t.Errorf("poll after 3 = %q, next %d; want two bars, then tick 4", poll, next)
	}
}

func TestLateTickChangesTheOlderBarItFallsIn(t *testing.T) {
	s := NewBarStore([]string{"AAPL"}, 16)
	s.Add(barTick(1, "AAPL", 100*time.Millisecond, 10, 1))
	s.Add(barTick(2, "AAPL", 1500*time.Millisecond, 11, 2))
	s.Add(barTick(3, "AAPL", 700*time.Millisecond, 12, 4)) // late, into the first bar
	s.Add(barTick(4, "AAPL", -3*time.Second, 99, 8))       // late, into an interval with no bar
	got := mustBars(t, s, "AAPL", time.Second)
	sec := barBase.Unix()
	want := []Bar{{sec, 10, 12, 10, 10, 5}, {sec + 1, 11, 11, 11, 11, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bars %+v; want %+v", got, want)
	}
}

// TestNoBarsWithoutAStreamThatWantsThem keeps bar events out of batches
// and the replay ring while no stream asks for their interval.
func TestNoBarsWithoutAStreamThatWantsThem(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	h := runHub(t, cfg)
	r := attach(t, h, Subscription{})
	r.next()
	for i, after := range []time.Duration{0, 2 * time.Second, 65 * time.Second} {
		if err := h.Publish(barTick(uint64(i+1), "AAPL", after, 10, 1)); err != nil {
			t.Fatal(err)
		}
		r.next()
	}
	got, _, n, _ := h.AppendSince(nil, testFraming{}, nil, allBars, 0, true, 10)
	if n != 3 || strings.Contains(string(got), "bar ") {
		t.Errorf("the ring holds %q; want the three ticks and no bar", got)
	}
}
