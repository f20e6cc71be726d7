package stream

import (
	"testing"
	"time"
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
