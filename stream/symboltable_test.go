package stream

import (
	"slices"
	"testing"
	"time"
)

func TestLatestEventsKeepsTheLatestPerSymbolInOrder(t *testing.T) {
	l := newLatestEvents(10_000)
	for _, e := range []event{{seq: 1, sym: 9999}, {seq: 2, sym: 3}, {seq: 3, sym: 9999}, {seq: 4, sym: 17}, {seq: 5, sym: 3}} {
		l.put(e)
	}
	if got := seqs(l.inOrder()); !slices.Equal(got, []uint64{3, 4, 5}) {
		t.Fatalf("inOrder = %v, want [3 4 5]", got)
	}
	if n := l.drop(func(sym int) bool { return sym != 17 }); n != 1 {
		t.Fatalf("drop = %d, want 1", n)
	}
	if got := seqs(l.inOrder()); !slices.Equal(got, []uint64{3, 5}) {
		t.Fatalf("after dropping 17: %v, want [3 5]", got)
	}
	if l.put(event{seq: 6, sym: 17}) {
		t.Error("a dropped symbol's next event replaced something")
	}
	if got := allocatedPages(&l.events); got != 3 {
		t.Errorf("%d pages allocated for 3 symbols far apart, want 3", got)
	}
	if (*latestEvents)(nil).inOrder() != nil {
		t.Error("nil latestEvents has events")
	}
}

// TestThrottleMemoryFollowsItsSymbols checks that a throttled stream of a
// few symbols in a large universe holds state for those, and that release
// looks only at the held ticks.
func TestThrottleMemoryFollowsItsSymbols(t *testing.T) {
	th := newThrottle(1, 100_000)
	const s = int64(time.Second)
	syms := []int32{5, 40_000, 99_999}
	for i, sym := range syms {
		if !th.admit(&event{seq: uint64(1 + i), sym: sym}, 0) {
			t.Fatalf("first tick of %d held", sym)
		}
	}
	for i, sym := range syms {
		if th.admit(&event{seq: uint64(10 - i), sym: sym}, s/2) {
			t.Fatalf("second tick of %d passed within the interval", sym)
		}
	}
	if got := allocatedPages(&th.slots); got != len(syms) {
		t.Errorf("%d pages for %d symbols, want %d", got, len(syms), len(syms))
	}
	if got := seqs(th.release(s)); !slices.Equal(got, []uint64{8, 9, 10}) {
		t.Errorf("released %v, want [8 9 10] in sequence order", got)
	}
	if th.holding() || len(th.waiting) != 0 {
		t.Errorf("still holding %d after releasing all", th.held)
	}
}

func allocatedPages[T any](t *symbolTable[T]) int {
	n := 0
	for _, p := range t.pages {
		if p != nil {
			n++
		}
	}
	return n
}

func seqs(events []event) []uint64 {
	out := make([]uint64, len(events))
	for i, e := range events {
		out[i] = e.seq
	}
	return out
}

func TestNamesOfASetInALargeUniverse(t *testing.T) {
	syms := benchSymbols(10_000)
	h, err := NewHub(DefaultConfig(syms, testFraming{}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{syms[0], syms[63], syms[64], syms[4097], syms[9999]}
	set, err := h.Select([]string{syms[9999], syms[64], syms[0], syms[4097], syms[63]})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Names(set); !slices.Equal(got, want) {
		t.Errorf("Names = %v, want %v in universe order", got, want)
	}
	if got := h.Names(h.Empty()); got == nil || len(got) != 0 {
		t.Errorf("Names of the empty set = %#v, want an empty list", got)
	}
	if got := h.Names(nil); len(got) != len(syms) || got[9999] != syms[9999] {
		t.Errorf("Names of every symbol: %d names", len(got))
	}
}

// TestASetOfFewSymbolsSkipsBatchesWithoutThem checks what a writer relies
// on to skip a stream: a set that lists its symbols meets a batch only if
// one of them is in it, and a set that does not list them (too many, or a
// batch of unknown symbols) always meets it.
func TestASetOfFewSymbolsSkipsBatchesWithoutThem(t *testing.T) {
	syms := benchSymbols(10_000)
	h, err := NewHub(DefaultConfig(syms, testFraming{}))
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := h.Select([]string{syms[7], syms[9000]})
	if !mine.listed || !slices.Equal(mine.few, []int32{7, 9000}) {
		t.Fatalf("a set of 2 lists %v (listed %v)", mine.few, mine.listed)
	}
	batch := func(idx ...int32) *SymbolSet {
		var events []event
		for _, i := range idx {
			events = append(events, event{sym: i})
		}
		return h.batchSymbols(events)
	}
	if mine.meets(batch(1, 2, 8999, 9001)) {
		t.Error("met a batch without its symbols")
	}
	if !mine.meets(batch(1, 9000)) || !mine.meets(batch(7)) {
		t.Error("did not meet a batch with one of its symbols")
	}
	if batch(3, -1) != nil || !mine.meets(nil) {
		t.Error("a batch with an event of no symbol must be met by every set")
	}
	var names []string
	for i := range maxListed + 1 {
		names = append(names, syms[i*100])
	}
	many, _ := h.Select(names)
	if many.listed || !many.meets(batch(1)) {
		t.Errorf("a set of %d symbols is listed (%v) or skips a batch", len(names), many.listed)
	}
	if fewer := many.Minus(mustSelect(t, h, syms[0], syms[100])); !fewer.listed || len(fewer.few) != maxListed-1 {
		t.Errorf("Minus left %d listed (%v), want %d", len(fewer.few), fewer.listed, maxListed-1)
	}
	if both := mine.Union(mustSelect(t, h, syms[8])); !slices.Equal(both.few, []int32{7, 8, 9000}) {
		t.Errorf("Union lists %v", both.few)
	}
	if empty := h.Empty(); !empty.listed || empty.meets(batch(1, 2, 3)) {
		t.Error("the empty set meets a batch")
	}
	var every *SymbolSet
	if !every.meets(batch(1)) {
		t.Error("every symbol does not meet a batch")
	}
}

func mustSelect(t *testing.T, h *Hub, names ...string) *SymbolSet {
	t.Helper()
	s, err := h.Select(names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
