package stream

import (
	"bufio"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHubLearnsSymbolsUpToItsBound checks that a hub with LearnSymbols
// takes up unknown symbols in the order of their first accepted tick, up
// to the bound, rejects (and counts) those past it with the reason, holds
// names to the symbol rule, and serves the learned ones like the others:
// in Symbols, Quotes, Quote and Bars.
func TestHubLearnsSymbolsUpToItsBound(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.LearnSymbols = 2
	h := runHub(t, cfg)

	seq := uint64(0)
	publish := func(sym string) error {
		seq++
		tick := testTick(seq, sym)
		tick.Price = 50 + float64(seq)
		tick.Bid, tick.Ask = tick.Price-0.01, tick.Price+0.01
		return h.Publish(tick)
	}
	for _, sym := range []string{"AAPL", "ZZZ", "AAPL", "BRK.B"} {
		if err := publish(sym); err != nil {
			t.Fatalf("tick of %s: %v", sym, err)
		}
	}
	if err := publish("bad name"); !errors.Is(err, ErrUnknownSymbol) || err.Error() != `unknown symbol: symbol "bad name": lower-case 'b'; names are upper-case` {
		t.Fatalf("tick of a name breaking the symbol rule: %v, want ErrUnknownSymbol naming the rule", err)
	}
	err := publish("XXX")
	if want := "unknown symbol XXX: the universe is full (2 learned)"; !errors.Is(err, ErrUnknownSymbol) || err.Error() != want {
		t.Fatalf("tick past the bound: %v, want %q", err, want)
	}
	if err := publish("ZZZ"); err != nil {
		t.Fatalf("second tick of a learned symbol: %v", err)
	}
	if got, want := h.Symbols(), []string{"AAPL", "ZZZ", "BRK.B"}; !slices.Equal(got, want) {
		t.Fatalf("Symbols() = %v, want %v", got, want)
	}
	if got := testutil.ToFloat64(h.metrics.rejectedBy[rejectedUniverseFull]); got != 1 {
		t.Errorf("universe_full rejections = %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.metrics.rejectedBy[rejectedUnknownSymbol]); got != 1 {
		t.Errorf("unknown_symbol rejections = %v, want 1 (the bad name)", got)
	}
	if got := testutil.ToFloat64(h.metrics.universe); got != 3 {
		t.Errorf("tickerd_universe_symbols = %v, want 3", got)
	}
	if got := testutil.ToFloat64(h.metrics.ticks[1]); got != 2 {
		t.Errorf("ticks counted for ZZZ = %v, want 2", got)
	}

	waitFlushed(t, h, seq)
	quotes, _ := h.Quotes()
	var names []string
	for _, q := range quotes {
		names = append(names, q.Last.Symbol)
	}
	if !slices.Equal(names, []string{"AAPL", "ZZZ", "BRK.B"}) {
		t.Fatalf("Quotes() of %v, want AAPL ZZZ BRK.B", names)
	}
	if q := quotes[1]; q.Last.Seq != 7 || q.Last.Price != 57 {
		t.Errorf("ZZZ's quote %+v, want its tick 7 at 57", q.Last)
	}
	if q, ok := h.Quote("BRK.B"); !ok || q.Last.Seq != 4 {
		t.Errorf("Quote(BRK.B) = %+v, %v; want its tick 4", q.Last, ok)
	}
	if _, ok := h.Quote("XXX"); ok {
		t.Error("Quote(XXX) found a symbol the hub refused")
	}
	bars, _, err := h.Bars("ZZZ", time.Second)
	if err != nil || len(bars) == 0 || bars[len(bars)-1].Close != 57 {
		t.Errorf("Bars(ZZZ) = %+v, %v; want bars closing at 57", bars, err)
	}
	if _, _, err := h.Bars("XXX", time.Second); !errors.Is(err, ErrNoHistory) {
		t.Errorf("Bars(XXX) error %v, want ErrNoHistory", err)
	}
}

// TestHubWithoutLearningRejectsUnknownSymbols checks that LearnSymbols 0
// keeps the universe the configured one.
func TestHubWithoutLearningRejectsUnknownSymbols(t *testing.T) {
	h := runHub(t, DefaultConfig([]string{"AAPL"}, testFraming{}))
	err := h.Publish(testTick(1, "ZZZ"))
	if !errors.Is(err, ErrUnknownSymbol) || err.Error() != `unknown symbol "ZZZ"` {
		t.Fatalf("tick of an unknown symbol: %v, want unknown symbol \"ZZZ\"", err)
	}
	if got := h.Symbols(); !slices.Equal(got, []string{"AAPL"}) {
		t.Fatalf("Symbols() = %v, want [AAPL]", got)
	}
}

func TestConfigRefusesABadLearnSymbols(t *testing.T) {
	for _, n := range []int{-1, MaxLearnSymbols + 1} {
		cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
		cfg.LearnSymbols = n
		if _, err := NewHub(cfg); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("LearnSymbols %d", n)) {
			t.Errorf("LearnSymbols %d: NewHub = %v, want an error naming it", n, err)
		}
	}
	// The bars' memory is shared by the symbols the universe may learn too.
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.LearnSymbols = 1
	cfg.BarBytes = 383
	if _, err := NewHub(cfg); err == nil || !strings.Contains(err.Error(), "BarBytes 383: want at least 384 bytes") {
		t.Errorf("BarBytes for 1 of 2 symbols: NewHub = %v, want it refused", err)
	}
}

// TestSubscriptionToALearnedSymbol checks that a subscription naming a
// symbol the hub has not learned yet is refused as unknown, and one made
// after it was learned gets its snapshot and ticks; a stream of every
// symbol that was open before gets the learned symbol's ticks too.
func TestSubscriptionToALearnedSymbol(t *testing.T) {
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.LearnSymbols = 4
	h := runHub(t, cfg)

	var unknown *UnknownSymbolsError
	if _, err := h.Select([]string{"NEW"}); !errors.As(err, &unknown) || !slices.Equal(unknown.Symbols, []string{"NEW"}) {
		t.Fatalf("Select(NEW) before it is learned: %v, want NEW unknown", err)
	}
	allServer, allClient := socketConns(t)
	if _, err := h.Attach(Subscription{}, Sink{Conn: allServer, Framing: testFraming{}}); err != nil {
		t.Fatal(err)
	}

	if err := h.Publish(testTick(1, "NEW")); err != nil {
		t.Fatal(err)
	}
	if err := h.Publish(testTick(2, "AAPL")); err != nil {
		t.Fatal(err)
	}
	waitFlushed(t, h, 2)
	set, err := h.Select([]string{"NEW"})
	if err != nil {
		t.Fatalf("Select(NEW) after it is learned: %v", err)
	}
	if got := h.Names(set); !slices.Equal(got, []string{"NEW"}) {
		t.Fatalf("Names of the set = %v, want [NEW]", got)
	}
	server, client := socketConns(t)
	if _, err := h.Attach(Subscription{Symbols: set}, Sink{Conn: server, Framing: testFraming{}}); err != nil {
		t.Fatal(err)
	}
	for i, sym := range []string{"AAPL", "NEW", "OTHER", "NEW"} {
		if err := h.Publish(testTick(uint64(3+i), sym)); err != nil {
			t.Fatal(err)
		}
	}

	lines := readLines(t, client, 3)
	if !strings.HasPrefix(lines[0], `snapshot 2 {"seq":2,"resync":false,"quotes":[{"seq":1,"sym":"NEW"`) || strings.Contains(lines[0], "AAPL") {
		t.Errorf("snapshot %q, want NEW's quote alone", lines[0])
	}
	for i, id := range []string{"4", "6"} {
		if f := strings.Fields(lines[1+i]); f[0] != "tick" || f[1] != id || !strings.Contains(lines[1+i], `"NEW"`) {
			t.Errorf("line %d %q, want NEW's tick %s", 1+i, lines[1+i], id)
		}
	}

	all := readLines(t, allClient, 7)
	var ids []string
	for _, line := range all[1:] {
		ids = append(ids, strings.Fields(line)[1])
	}
	if !slices.Equal(ids, []string{"1", "2", "3", "4", "5", "6"}) || !strings.Contains(all[1], `"NEW"`) || !strings.Contains(all[5], `"OTHER"`) {
		t.Errorf("stream of every symbol got %q, want ticks 1 to 6, the learned ones among them", all)
	}
}

func readLines(t *testing.T, conn interface {
	Read([]byte) (int, error)
	SetReadDeadline(time.Time) error
}, n int) []string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	var lines []string
	for len(lines) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", lines, err)
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	return lines
}

// TestConcurrentPublishLearnsEachSymbolOnce publishes the ticks of more
// new symbols than the hub may learn from several goroutines at once: it
// learns exactly its bound, each symbol once, and every tick is either
// accepted for a symbol of the universe or rejected as the universe full
// (or out of sequence, as concurrent publishers race for numbers).
func TestConcurrentPublishLearnsEachSymbolOnce(t *testing.T) {
	const learn, candidates, publishers = 10, 25, 4
	cfg := DefaultConfig([]string{"AAPL"}, testFraming{})
	cfg.FlushInterval = time.Millisecond
	cfg.LearnSymbols = learn
	h := runHub(t, cfg)

	var (
		seq      atomic.Uint64
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[string]bool{}
		full     = map[string]bool{}
	)
	for p := range publishers {
		wg.Go(func() {
			for k := range candidates {
				sym := fmt.Sprintf("S%02d", (k*(p+1)+p)%candidates)
				err := h.Publish(testTick(seq.Add(1), sym))
				mu.Lock()
				switch {
				case err == nil:
					accepted[sym] = true
				case errors.Is(err, ErrUnknownSymbol) && strings.HasSuffix(err.Error(), fmt.Sprintf("the universe is full (%d learned)", learn)):
					full[sym] = true
				case !errors.Is(err, ErrSequence):
					t.Errorf("tick of %s: %v", sym, err)
				}
				mu.Unlock()
				_, _ = h.Quote(sym)
				_, _ = h.Select([]string{sym})
				_ = h.Names(nil)
			}
		})
	}
	wg.Wait()

	got := h.Symbols()
	if len(got) != 1+learn {
		t.Fatalf("Symbols() = %v, want AAPL and %d learned", got, learn)
	}
	seen := map[string]bool{}
	for _, s := range got[1:] {
		if seen[s] {
			t.Errorf("%s learned twice: %v", s, got)
		}
		seen[s] = true
	}
	for s := range accepted {
		if !seen[s] {
			t.Errorf("a tick of %s was accepted, but it is not in the universe %v", s, got)
		}
	}
	for s := range full {
		if seen[s] {
			t.Errorf("a tick of %s was refused as the universe full, yet it is in the universe %v", s, got)
		}
	}
	quotes, _ := h.Quotes()
	if len(quotes) != 1+learn {
		t.Fatalf("Quotes() has %d quotes, want %d", len(quotes), 1+learn)
	}
}
