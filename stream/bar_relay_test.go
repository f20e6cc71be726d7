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
// decides the bars: its ticks make no bar events, the relayed ones go to
// the streams of their interval in their place among the ticks, replace
// the history's bars, and are replayed to a stream that resumes before
// them; bad lines are named and left out, and the sequence is kept.
func TestRelayedBarsAreTheStreamsAndTheHistorys(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.BarsFromSource = true
	h := runHub(t, cfg)
	oneSec, err := ParseBars([]string{"1s"})
	if err != nil {
		t.Fatal(err)
	}
	r := attach(t, h, Subscription{Bars: oneSec})
	r.next()

	ms := time.Millisecond
	sec := barBase.Unix()
	for _, tk := range []feed.Tick{barTick(1, "AAPL", 100*ms, 10, 100), barTick(2, "AAPL", 900*ms, 10.5, 200)} {
		if err := h.Publish(tk); err != nil {
			t.Fatal(err)
		}
	}
	// The publisher saw a trade this replica did not: its bar is the history's from now on.
	closed := []BarEvent{
		{Symbol: "AAPL", Interval: "1s", Bar: Bar{sec, 10, 10.6, 10, 10.5, 350}},
		{Symbol: "AAPL", Interval: "1m", Bar: Bar{sec - 58, 10, 10.6, 10, 10.5, 350}},
	}
	if err := h.PublishBars(barLines(closed...), 3); err != nil {
		t.Fatal(err)
	}
	if err := h.Publish(barTick(4, "AAPL", 1100*ms, 10.2, 100)); err != nil { // would close the 1s bar on an all-in-one
		t.Fatal(err)
	}
	if err := h.Publish(barTick(5, "AAPL", 400*ms, 10.7, 50)); err != nil { // late
		t.Fatal(err)
	}
	updated := BarEvent{Symbol: "AAPL", Interval: "1s", Bar: Bar{sec, 10, 10.7, 10, 10.5, 400}, Updated: true}
	bad := append(barLines(updated), []byte(`{"sym":"NOPE","interval":"1s","t":1,"o":1,"h":1,"l":1,"c":1,"v":1,"updated":false}`+"\n"+
		`{"sym":"AAPL","interval":"2s","t":2,"o":1,"h":1,"l":1,"c":1,"v":1,"updated":false}`+"\n")...)
	if err := h.PublishBars(bad, 6); err == nil || !strings.Contains(err.Error(), `"NOPE"`) {
		t.Errorf("PublishBars with an unknown symbol: %v; want an error naming it", err)
	}
	if err := h.PublishBars(barLines(updated), 6); err == nil {
		t.Error("PublishBars took sequence number 6 twice")
	}

	want := []string{
		"tick 1", "tick 2",
		"bar 0 " + string(closed[0].AppendJSON(nil)),
		"tick 4", "tick 5",
		"bar 0 " + string(updated.AppendJSON(nil)),
	}
	for i, w := range want {
		kind, id, body := r.next()
		got := kind + " " + id
		if kind == "bar" {
			got += " " + body
		}
		if got != w {
			t.Fatalf("event %d: %s; want %s", i, got, w)
		}
	}
	history, _, err := h.Bars("AAPL", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Bar{updated.Bar, {sec + 1, 10.2, 10.2, 10.2, 10.2, 100}}; !reflect.DeepEqual(history, want) {
		t.Errorf("1s history %+v; want %+v", history, want)
	}
	if minute, _, _ := h.Bars("AAPL", time.Minute); len(minute) != 1 || minute[0].Time != sec-58 || minute[0].Volume != 500 {
		t.Errorf("1m history %+v; want the relayed bar with the ticks after it folded in (volume 500)", minute)
	}

	resumed := attach(t, h, Subscription{Bars: oneSec, Resume: true, LastID: 2})
	for _, w := range []string{"bar", "tick", "tick", "bar"} {
		if kind, _, body := resumed.next(); kind != w {
			t.Fatalf("resumed stream got %s %s; want %s", kind, body, w)
		}
	}
}

func barLines(evs ...BarEvent) []byte {
	var b []byte
	for _, e := range evs {
		b = append(e.AppendJSON(b), '\n')
	}
	return b
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
