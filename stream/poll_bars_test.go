package stream

import (
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/fakeclock"
)

// queuedBars returns the intervals (by name) of the bar events queued
// for the next batch, in order.
func queuedBars(h *Hub) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.pending[0].events {
		if e.kind == uint8(KindBar) {
			out = append(out, barIntervals[e.bar].name)
		}
	}
	return out
}

// TestAPollsBarsAreMadeWhileItIsHeldAndForItsGrace checks, on the fake
// clock, when a poll's intervals are asked for: not before it, all the
// while it is held however long, for PollBarGrace after its answer and
// not a moment longer; only its intervals; and the count it held is
// given back.
func TestAPollsBarsAreMadeWhileItIsHeldAndForItsGrace(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_800_000_000, 0))
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.Clock = clock
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	oneSecond, err := ParseBars([]string{"1s"})
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	closeABar := func() []string { // the next tick, in the next second: it closes the 1s bar of the one before
		t.Helper()
		seq++
		before := len(queuedBars(h))
		if err := h.Publish(barTick(seq, "AAPL", time.Duration(seq-1)*time.Second, 10, 1)); err != nil {
			t.Fatal(err)
		}
		return queuedBars(h)[before:]
	}

	closeABar()
	if got := closeABar(); len(got) != 0 {
		t.Fatalf("bars %v made before any poll asked", got)
	}
	release := h.HoldBars(oneSecond)
	clock.Advance(2 * PollBarGrace) // a long poll, held for longer than the grace
	// 14:01:00 closes a minute too, which no one asked for.
	if got := closeABar(); len(got) != 1 || got[0] != "1s" {
		t.Fatalf("bars %v made over a minute's boundary while a poll of 1s is held; want the 1s bar only", got)
	}
	if got := closeABar(); len(got) != 1 || got[0] != "1s" {
		t.Fatalf("bars %v made while a poll of 1s is held; want one 1s bar", got)
	}
	release()
	release() // once only
	if n := h.barClock.subs[0].Load(); n != 0 {
		t.Fatalf("after the poll, %d held for 1s; want 0", n)
	}
	clock.Advance(PollBarGrace - time.Nanosecond)
	if got := closeABar(); len(got) != 1 || got[0] != "1s" {
		t.Fatalf("bars %v made within the grace after the answer; want one 1s bar", got)
	}
	clock.Advance(time.Nanosecond)
	if got := closeABar(); len(got) != 0 {
		t.Fatalf("bars %v made once the grace is over", got)
	}
	// A poll that asks for no bars makes none.
	h.HoldBars(0)()
	if got := closeABar(); len(got) != 0 {
		t.Fatalf("bars %v made for a poll of no bars", got)
	}
}
