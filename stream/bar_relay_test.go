package stream

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// TestBarMakerMakesTheHubsBars publishes one market, late ticks and
// statuses among its ticks, to a hub with a stream of every interval's
// bars and to a BarMaker: the maker makes the same bar events, each
// beside the same event, the closed bars before it and the updated ones
// after the late tick (the hub sends those just before it).
func TestBarMakerMakesTheHubsBars(t *testing.T) {
	syms := []string{"AAPL", "MSFT", "IBM"}
	cfg := DefaultConfig(syms, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.QueueBytes = 64 << 20 // every event, however slowly the test reads
	cfg.SendBuffer = 0
	h := runHub(t, cfg)
	r := attach(t, h, Subscription{Bars: allBars})
	r.next()

	type placed struct {
		seq   uint64 // the event the bar is sent beside
		after bool   // after it rather than before
		ev    barEvent
	}
	m := NewBarMaker(syms, DefaultBarCapacity)
	var made []placed
	add := func(seq uint64, after bool, evs []BarEvent) {
		for _, e := range evs {
			made = append(made, placed{seq, after, barEvent{e.Symbol, e.Interval, e.Bar, e.Updated}})
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Duration(0)
	const n = 3000
	for seq := uint64(1); seq <= n; seq++ {
		at += time.Duration(rng.IntN(200)) * time.Millisecond
		when := at
		if rng.IntN(10) == 0 {
			when -= time.Duration(rng.IntN(8000)) * time.Millisecond // late
		}
		if seq%97 == 0 {
			s := testStatus(seq, "", "trading", "")
			s.Time = barBase.Add(when)
			if err := h.PublishStatus(s); err != nil {
				t.Fatal(err)
			}
			add(seq, false, m.Time(s.Time))
			continue
		}
		tk := barTick(seq, syms[rng.IntN(len(syms))], when, 100+float64(rng.IntN(100))/100, int64(1+rng.IntN(9)))
		if err := h.Publish(tk); err != nil {
			t.Fatal(err)
		}
		before, after := m.Tick(tk)
		add(seq, false, before)
		add(seq, true, after)
	}

	// The hub sends a bar event just before the event it goes with.
	var sent []placed
	var pending []barEvent
	for last := uint64(0); last < n; {
		kind, id, body := r.next()
		if kind == "bar" {
			var e barEvent
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatal(err)
			}
			pending = append(pending, e)
			continue
		}
		last++
		if id != strconv.FormatUint(last, 10) {
			t.Fatalf("event %s %s, want id %d", kind, id, last)
		}
		for _, e := range pending {
			sent = append(sent, placed{last, e.Updated, e})
		}
		pending = pending[:0]
	}
	if len(made) < 100 || !reflect.DeepEqual(made, sent) {
		t.Fatalf("the maker made %d bar events, the hub sent %d; first difference at %d", len(made), len(sent), firstDiff(made, sent))
	}
}

func firstDiff[T any](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRelayedBarsAreTheStreamsAndTheHistorys feeds a hub whose source
// decides the bars: once it has sent some, ticks make no bar events, the
// relayed ones go to the streams of their interval just before the event
// they came with, replace the history's bars, and are replayed to a
// stream that resumes before them; bad ones are named and left out, and
// the sequence is kept.
func TestRelayedBarsAreTheStreamsAndTheHistorys(t *testing.T) {
	h := runBarHub(t, "AAPL", "MSFT")
	oneSec := mustParseBars(t, "1s")
	r := attach(t, h, Subscription{Bars: oneSec})
	r.next()

	ms := time.Millisecond
	sec := barBase.Unix()
	publish := func(tk feed.Tick) {
		t.Helper()
		if err := h.Publish(tk); err != nil {
			t.Fatal(err)
		}
	}
	publish(barTick(1, "AAPL", 100*ms, 10, 100))
	publish(barTick(2, "AAPL", 900*ms, 10.5, 200))
	// The publisher saw a trade this replica did not: its bar is the history's from now on.
	closed := []BarEvent{
		{Symbol: "AAPL", Interval: "1s", Bar: Bar{sec, 10, 10.6, 10, 10.5, 350}},
		{Symbol: "AAPL", Interval: "1m", Bar: Bar{sec - 58, 10, 10.6, 10, 10.5, 350}},
	}
	if err := h.PublishBars(AppendBarEvents(nil, closed), 3); err != nil {
		t.Fatal(err)
	}
	publish(barTick(3, "AAPL", 1100*ms, 10.2, 100)) // it would close the 1s bar on an all-in-one
	publish(barTick(4, "AAPL", 400*ms, 10.7, 50))   // late
	updated := BarEvent{Symbol: "AAPL", Interval: "1s", Bar: Bar{sec, 10, 10.7, 10, 10.5, 400}, Updated: true}
	bad := AppendBarEvents(nil, []BarEvent{updated, {Symbol: "NOPE", Interval: "1s", Bar: Bar{1, 1, 1, 1, 1, 1}}})
	if err := h.PublishBars(bad, 5); err == nil || !strings.Contains(err.Error(), `"NOPE"`) {
		t.Errorf("PublishBars with an unknown symbol: %v; want an error naming it", err)
	}
	publish(barTick(5, "AAPL", 1500*ms, 10.3, 10))
	if err := h.PublishBars(AppendBarEvents(nil, []BarEvent{updated}), 5); err == nil {
		t.Error("PublishBars took bars for event 5 after it")
	}
	if err := h.PublishBars([]byte(`{"sym":"AAPL"}`), 6); err == nil {
		t.Error("PublishBars took bars that are no array")
	}

	want := []string{
		"tick 1", "tick 2",
		"bar " + string(closed[0].AppendJSON(nil)),
		"tick 3", "tick 4",
		"bar " + string(updated.AppendJSON(nil)),
		"tick 5",
	}
	expectTicksAndBars(t, r, want)
	history, _, err := h.Bars("AAPL", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Bar{updated.Bar, {sec + 1, 10.2, 10.3, 10.2, 10.3, 110}}; !reflect.DeepEqual(history, want) {
		t.Errorf("1s history %+v; want %+v", history, want)
	}
	minute, _, _ := h.Bars("AAPL", time.Minute)
	if want := []Bar{{sec - 58, 10, 10.7, 10, 10.3, 510}}; !reflect.DeepEqual(minute, want) {
		t.Errorf("1m history %+v; want the relayed bar with the ticks after it folded in, %+v", minute, want)
	}

	resumed := attach(t, h, Subscription{Bars: oneSec, Resume: true, LastID: 2})
	for _, w := range []string{"bar", "tick", "tick", "bar", "tick"} {
		if kind, _, body := resumed.next(); kind != w {
			t.Fatalf("resumed stream got %s %s; want %s", kind, body, w)
		}
	}
}

func TestParseBarEventRefusesWhatIsNoBar(t *testing.T) {
	for _, line := range []string{
		`{"sym":"AAPL","interval":"1s","t":1,"o":1,"h":0.5,"l":1,"c":1,"v":1}`,
		`{"sym":"AAPL","interval":"1m","t":61,"o":1,"h":1,"l":1,"c":1,"v":1}`,
		`{"sym":"AAPL","interval":"1s","o":1,"h":1,"l":1,"c":1,"v":1}`,
		`{"sym":"AAPL","interval":"1s","t":1,"o":1,"h":1,"l":1,"c":1,"v":0}`,
		`[1]`,
	} {
		if ev, err := parseBarEvent([]byte(line)); err == nil {
			t.Errorf("parseBarEvent(%s) = %+v", line, ev)
		}
	}
}

// TestHubMakesItsOwnBarsUntilTheSourceSendsSome: a source that sends no
// bars (a publisher of one's own) still gets its streams bar events.
func TestHubMakesItsOwnBarsUntilTheSourceSendsSome(t *testing.T) {
	h := runBarHub(t, "AAPL")
	r := attach(t, h, Subscription{Bars: mustParseBars(t, "1s")})
	r.next()
	ms := time.Millisecond
	sec := barBase.Unix()
	own := BarEvent{Symbol: "AAPL", Interval: "1s", Bar: Bar{sec, 10, 10, 10, 10, 1}}
	relayed := BarEvent{Symbol: "AAPL", Interval: "1s", Bar: Bar{sec + 1, 11, 11, 11, 11, 2}}
	steps := []func() error{
		func() error { return h.Publish(barTick(1, "AAPL", 100*ms, 10, 1)) },
		func() error { return h.Publish(barTick(2, "AAPL", 1100*ms, 11, 2)) },
		func() error { return h.PublishBars(AppendBarEvents(nil, []BarEvent{relayed}), 3) },
		func() error { return h.Publish(barTick(3, "AAPL", 2100*ms, 12, 3)) },
		func() error { return h.Publish(barTick(4, "AAPL", 3100*ms, 13, 4)) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"tick 1", "bar " + string(own.AppendJSON(nil)), "tick 2", "bar " + string(relayed.AppendJSON(nil)), "tick 3", "tick 4"}
	expectTicksAndBars(t, r, want)
}

// expectTicksAndBars reads r's next events and wants them to be want, in
// order: "tick ID" for a tick, "bar BODY" for a bar event.
func expectTicksAndBars(t *testing.T, r *lineReader, want []string) {
	t.Helper()
	for i, w := range want {
		kind, id, body := r.next()
		got := kind + " " + id
		if kind == "bar" {
			got = kind + " " + body
		}
		if got != w {
			t.Fatalf("event %d: %s; want %s", i, got, w)
		}
	}
}
