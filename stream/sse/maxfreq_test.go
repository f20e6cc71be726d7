package sse

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/fakeclock"
)

// TestMaxFreqCapsEachSymbolOfAStream runs the engine on a fake clock, so
// that the ticks' spacing is exactly what the test says, however slowly
// the test runs (under -race, on a busy machine): 400 ticks over 4
// symbols, 4 every 4 ms of the clock, each batch flushed at its time.
func TestMaxFreqCapsEachSymbolOfAStream(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	// On the fake clock the hub writes only when the test advances it, so
	// the kernel must take every batch whole: a send buffer that holds them.
	th := startHub(t, testConfig{FlushInterval: time.Millisecond, Clock: clock, SendBuffer: 1 << 20})
	calmReq := th.send(t, "?maxfreq=5", nil)
	allReq := th.send(t, "", nil)
	waitFor(t, "attached", func() bool { return th.Status().Clients == 2 })
	// The streams start at the next flush. A tick that finds the hub idle
	// is flushed at once, at the clock's time then; the rest of its batch
	// when the clock moves on.
	flush := func() {
		t.Helper()
		clock.Advance(4 * time.Millisecond)
		waitFor(t, "the flush of seq "+strconv.FormatUint(th.seq, 10), func() bool {
			_, seq := th.Quotes()
			return seq == th.seq
		})
	}
	flush()
	calm, all := calmReq.readHead(), allReq.readHead()
	for _, c := range []*sseConn{calm, all} {
		c.mustNext()
		c.mustNext()
	}

	for range 100 {
		th.publish(t, 4)
		flush()
	}
	if seqs, _ := all.ticks(400); seqs[399] != 400 {
		t.Fatalf("uncapped stream ended at %d", seqs[399])
	}
	// A second later every symbol may send again: the held ticks go out.
	clock.Advance(time.Second)
	// The capped stream gets every symbol's last tick, and only a few before.
	last := map[string]uint64{}
	received := 0
	for len(last) < 4 || last["AAPL"] != 400 || last["MSFT"] != 397 || last["NVDA"] != 398 || last["TSLA"] != 399 {
		ev := calm.mustNext()
		var tick struct {
			Seq uint64
			Sym string
		}
		if err := json.Unmarshal([]byte(ev.data), &tick); err != nil {
			t.Fatal(err)
		}
		if tick.Seq <= last[tick.Sym] {
			t.Fatalf("%s: seq %d after %d", tick.Sym, tick.Seq, last[tick.Sym])
		}
		last[tick.Sym] = tick.Seq
		received++
	}
	// 400 ms of the clock at 5 per second per symbol: the first tick of
	// each symbol at once, then one per 200 ms (at 200 and 400 ms), then
	// the held last one a second later: at most 4 per symbol, 16 in all.
	if received > 16 || received < 8 {
		t.Fatalf("capped stream got %d ticks for 4 symbols at maxfreq=5 over 0.4 s of the clock, want 8 to 16", received)
	}
	waitFor(t, "throttled drops counted", func() bool {
		return th.metric(t, "tickerd_events_dropped_total", "throttled") == float64(400-received)
	})
}

func TestMaxFreqMustBeAPositiveRate(t *testing.T) {
	th := startHub(t, testConfig{})
	for _, q := range []string{"?maxfreq=0", "?maxfreq=-1", "?maxfreq=abc", "?maxfreq=1001", "?maxfreq=NaN", "?maxfreq=1&maxfreq=2", "?maxfreq="} {
		c := th.dial(t, q, nil)
		if c.status != 400 {
			t.Errorf("%s: status %d, want 400", q, c.status)
		}
	}
	if c := th.dial(t, "?maxfreq=0.5", nil); c.status != 200 {
		t.Errorf("maxfreq=0.5: status %d, want 200", c.status)
	}
}
