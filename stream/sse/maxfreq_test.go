package sse

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMaxFreqCapsEachSymbolOfAStream(t *testing.T) {
	th := startHub(t, testConfig{FlushInterval: time.Millisecond})
	calm := th.dial(t, "?maxfreq=5", nil)
	calm.mustNext()
	calm.mustNext()
	all := th.dial(t, "", nil)
	all.mustNext()
	all.mustNext()
	waitFor(t, "attached", func() bool { return th.Status().Clients == 2 })

	// 4 symbols, 400 ticks spread over about 400 ms.
	for range 100 {
		th.publish(t, 4)
		time.Sleep(4 * time.Millisecond)
	}
	if seqs, _ := all.ticks(400); seqs[399] != 400 {
		t.Fatalf("uncapped stream ended at %d", seqs[399])
	}
	// The capped stream gets every symbol's last tick, and only a few before.
	last := map[string]uint64{}
	received := 0
	perSymbol := map[string][]time.Time{}
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
		perSymbol[tick.Sym] = append(perSymbol[tick.Sym], time.Now())
		received++
	}
	// 400 ms at 5 per second per symbol is at most 3 per symbol, plus the
	// first one at once: 16 at most over 4 symbols.
	if received > 20 {
		t.Fatalf("capped stream got %d ticks for 4 symbols at maxfreq=5 over ~0.4 s", received)
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
