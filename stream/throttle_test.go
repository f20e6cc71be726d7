package stream

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestThrottleHoldsTheLatestTickPerSymbol(t *testing.T) {
	th := newThrottle(10, 2) // one tick per 100ms per symbol
	ev := func(seq uint64, sym int32) *event { return &event{seq: seq, sym: sym, data: []byte{byte(seq)}} }
	const ms = int64(time.Millisecond)
	if !th.admit(ev(1, 0), 0) || !th.admit(ev(2, 1), 0) {
		t.Fatal("the first tick of each symbol must pass")
	}
	for _, seq := range []uint64{3, 4, 5} {
		if th.admit(ev(seq, 0), int64(seq)*10*ms) {
			t.Fatalf("tick %d passed within the interval", seq)
		}
	}
	if th.held != 1 || th.replaced != 2 {
		t.Fatalf("held %d replaced %d, want 1 and 2", th.held, th.replaced)
	}
	if got := th.release(50 * ms); len(got) != 0 {
		t.Fatalf("released %v before the interval ended", got)
	}
	got := th.release(100 * ms)
	if len(got) != 1 || got[0].seq != 5 {
		t.Fatalf("released %+v, want the latest tick, 5", got)
	}
	if th.admit(ev(6, 0), 150*ms) {
		t.Fatal("a tick right after a release must wait for the next interval")
	}
	if th.admit(ev(7, 1), 150*ms) == false {
		t.Fatal("the other symbol's interval is its own")
	}
}

func TestMaxFreqCapsEachSymbolOfAStream(t *testing.T) {
	th := startHub(t, Config{FlushInterval: time.Millisecond})
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
		return testutil.ToFloat64(th.metrics.dropped.WithLabelValues("throttled")) == float64(400-received)
	})
}

func TestMaxFreqMustBeAPositiveRate(t *testing.T) {
	th := startHub(t, Config{})
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
