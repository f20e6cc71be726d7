package stream

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/fakeclock"
	"github.com/tickerd/tickerd/market"
)

// TestHubNumbersEveryKindOfEvent has the hub number what it takes in
// (Config.FirstSeq): ticks, statuses and bands share one counter from
// FirstSeq, whatever numbers they came with, in the order they were
// taken; a rejected event of any kind uses no number; the streams see
// the hub's numbers.
func TestHubNumbersEveryKindOfEvent(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.FirstSeq = 1000
	h := runHub(t, cfg)
	r := attach(t, h, Subscription{})
	if kind, _, _ := r.next(); kind != "snapshot" {
		t.Fatalf("first event %s; want the snapshot", kind)
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	reject := func(err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("got %v; want %v", err, want)
		}
	}
	// The numbers the events come with are those of sources that do not
	// know of each other: the same, going down, or none at all.
	must(h.PublishStatus(testStatus(5, "", market.StateTrading, market.ReasonSession)))         // 1000
	must(h.Publish(testTick(5, "AAPL")))                                                        // 1001
	reject(h.Publish(testTick(9, "NOPE")), ErrUnknownSymbol)                                    // none
	must(h.PublishBands(market.Bands{Seq: 1, Symbol: "AAPL", Ref: 100, Lower: 95, Upper: 105})) // 1002
	reject(h.PublishBands(market.Bands{Seq: 1, Symbol: "AAPL", Ref: 100, Lower: 101, Upper: 105}), ErrBadBands)
	must(h.PublishStatus(testStatus(0, "AAPL", market.StateHalted, market.ReasonNewsPending))) // 1003
	reject(h.Publish(testTick(1_000_000, "AAPL")), ErrHalted)                                  // none
	reject(h.PublishStatus(testStatus(2, "AAPL", market.StatePre, market.ReasonSession)), ErrBadStatus)
	must(h.Publish(testTick(0, "MSFT"))) // 1004
	jump := testTick(3, "MSFT")
	jump.Price, jump.Bid, jump.Ask = 200, 199.99, 200.01
	reject(h.Publish(jump), ErrPriceJump)                                                       // none
	must(h.PublishStatus(testStatus(1, "AAPL", market.StateTrading, market.ReasonNewsPending))) // 1005
	must(h.Publish(testTick(1, "AAPL")))                                                        // 1006

	want := []struct{ kind, id string }{
		{"status", "1000"}, {"tick", "1001"}, {"bands", "1002"}, {"status", "1003"},
		{"tick", "1004"}, {"status", "1005"}, {"tick", "1006"},
	}
	for _, w := range want {
		kind, id, body := r.next()
		if kind != w.kind || id != w.id || !strings.Contains(body, `"seq":`+w.id+",") {
			t.Fatalf("got %s %s %s; want %s %s with its seq in the body", kind, id, body, w.kind, w.id)
		}
	}
	if got := testutil.ToFloat64(h.metrics.rejectedBy[rejectedSequence]); got != 0 {
		t.Errorf("events rejected for their sequence = %v; want 0: the hub numbers them", got)
	}
	quotes, seq := h.Quotes()
	if seq != 1006 || quotes[0].Last.Seq != 1006 || quotes[1].Last.Seq != 1004 {
		t.Errorf("quotes current to %d, AAPL's last %d, MSFT's %d; want 1006, 1006, 1004", seq, quotes[0].Last.Seq, quotes[1].Last.Seq)
	}
}

// TestHubThatNumbersGivesATickWithoutATimeItsClocks checks what Accept
// returns: the tick as the engine took it, numbered, with the clock's
// time when it had none and its own otherwise.
func TestHubThatNumbersGivesATickWithoutATimeItsClocks(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.Clock = clock
	cfg.FirstSeq = 7
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	untimed := testTick(0, "AAPL")
	untimed.Time = time.Time{}
	got, err := h.Accept(untimed)
	if err != nil || got.Seq != 7 || !got.Time.Equal(clock.Now()) {
		t.Fatalf("Accept(no time) = %+v, %v; want seq 7 at %v", got, err, clock.Now())
	}
	if _, err := h.Accept(feed.Tick{Symbol: "AAPL", Price: -1, Bid: 1, Ask: 2, Size: 1}); !errors.Is(err, ErrBadPrice) {
		t.Fatalf("Accept(bad price) = %v; want ErrBadPrice", err)
	}
	timed := testTick(0, "AAPL")
	timed.Time = time.Unix(1_600_000_000, 5)
	if got, err = h.Accept(timed); err != nil || got.Seq != 8 || !got.Time.Equal(timed.Time) {
		t.Fatalf("Accept(timed) = %+v, %v; want seq 8 at its own time", got, err)
	}
}

// TestHubWithoutNumberingKeepsTheSourcesNumbers checks the default: a
// source's numbers are kept, and one not above the newest is rejected
// whatever the kind of its event.
func TestHubWithoutNumberingKeepsTheSourcesNumbers(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Accept(testTick(40, "AAPL"))
	if err != nil || got.Seq != 40 {
		t.Fatalf("Accept = %+v, %v; want its own seq 40", got, err)
	}
	for _, err := range []error{
		h.Publish(testTick(40, "AAPL")),
		h.PublishStatus(testStatus(39, "AAPL", market.StateHalted, market.ReasonNewsPending)),
		h.PublishBands(market.Bands{Seq: 40, Symbol: "AAPL", Ref: 100, Lower: 95, Upper: 105}),
	} {
		if !errors.Is(err, ErrSequence) {
			t.Errorf("an event numbered not above 40: %v; want ErrSequence", err)
		}
	}
	if got := testutil.ToFloat64(h.metrics.rejectedBy[rejectedSequence]); got != 3 {
		t.Errorf("events rejected for their sequence = %v; want 3", got)
	}
}

// TestHubNumbersConcurrentSourcesInOneOrder publishes ticks from several
// publishers and statuses from a market beside them at once: the stream
// gets every event, numbered from FirstSeq with no gap and no repeat.
func TestHubNumbersConcurrentSourcesInOneOrder(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL", "MSFT", "GOOG"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.FirstSeq = 1
	h := runHub(t, cfg)
	r := attach(t, h, Subscription{})
	r.next()

	const publishers, each = 3, 200
	var wg sync.WaitGroup
	for p := range publishers {
		sym := h.Symbols()[p]
		wg.Go(func() {
			for range each {
				if err := h.Publish(testTick(1, sym)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range each {
			state := market.StateTrading
			if i%2 == 1 {
				state = market.StatePost
			}
			if err := h.PublishStatus(testStatus(1, "", state, market.ReasonSession)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	kinds := map[string]int{}
	for want := uint64(1); want <= (publishers+1)*each; want++ {
		kind, id, _ := r.next()
		if id != strconv.FormatUint(want, 10) {
			t.Fatalf("event %s %s; want id %d", kind, id, want)
		}
		kinds[kind]++
	}
	if kinds["tick"] != publishers*each || kinds["status"] != each {
		t.Errorf("got %v; want %d ticks and %d statuses", kinds, publishers*each, each)
	}
}
