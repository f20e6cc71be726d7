package stream

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestFirehoseStreamsStartingInOneStateShareTheirSnapshot checks that the
// firehose streams that start while the hub's state stays the same queue
// the very same snapshot bytes, and that a flush, a reference price or a
// learned symbol makes the next one a snapshot of the new state.
func TestFirehoseStreamsStartingInOneStateShareTheirSnapshot(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.LearnSymbols = 1
	cfg.Registerer = prometheus.NewRegistry()
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.state = hubRunning
	now := time.Now()
	flush := func(seq uint64, sym string, px float64) {
		t.Helper()
		tick := testTick(seq, sym)
		tick.Price, tick.Bid, tick.Ask = px, px-0.01, px+0.01
		if err := h.Publish(tick); err != nil {
			t.Fatal(err)
		}
		h.takeBatch(now)
	}
	// snapshot attaches a stream (nil: every symbol) and returns the
	// snapshot it queued after its head.
	snapshot := func(sub *SymbolSet) []byte {
		t.Helper()
		st, err := h.Attach(Subscription{Symbols: sub}, Sink{Conn: newRecordingConn(), Framing: testFraming{}, Head: []byte("head\n")})
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(func() []string {
			var s []string
			for _, b := range st.c.backlog {
				s = append(s, string(b))
			}
			return s
		}(), "")
		if !strings.HasPrefix(all, "head\nsnapshot ") || st.c.pending() != len(all) || st.c.limit != len(all)+cfg.QueueBytes {
			t.Fatalf("stream queued %q (pending %d, limit %d), want its head, then a snapshot, and the limit past both", all, st.c.pending(), st.c.limit)
		}
		return st.c.backlog[len(st.c.backlog)-1]
	}
	flush(1, "AAPL", 100)
	first, second := snapshot(nil), snapshot(nil)
	if &first[0] != &second[0] || !strings.Contains(string(first), `"seq":1,`) {
		t.Fatalf("two firehose streams in one state: %q and %q, want the same bytes, of seq 1", first, second)
	}
	if own := snapshot(h.newSymbolSet()); &own[0] == &first[0] {
		t.Fatalf("a stream of a subscription got the firehose snapshot")
	}
	for _, change := range []struct {
		name string
		do   func()
		want string
	}{
		{"a flush", func() { flush(2, "AAPL", 101) }, `"px":101,`},
		{"a reference price", func() {
			if err := h.SetPrevClose("MSFT", 55.5); err != nil {
				t.Fatal(err)
			}
		}, `"prevClose":55.5`},
		{"a learned symbol", func() {
			if err := h.Publish(testTick(3, "ZZZ")); err != nil {
				t.Fatal(err)
			}
		}, `"sym":"ZZZ"`},
	} {
		before := snapshot(nil)
		change.do()
		after := snapshot(nil)
		if strings.Contains(string(before), change.want) || !strings.Contains(string(after), change.want) {
			t.Fatalf("after %s: snapshot %q, before it %q; want %s in the new one only", change.name, after, before, change.want)
		}
	}
}
