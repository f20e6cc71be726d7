package stream

import "slices"

// symbolPage is how many symbols' slots a symbolTable allocates at once.
const symbolPage = 16

// symbolTable holds a T per symbol index of the universe, allocated a page
// of neighbours at a time on first use. A stream's per-symbol state (its
// throttle, its conflated ticks) costs memory for the symbols it meets,
// not for the universe: a stream of 10 symbols in 10,000 holds 10 pages at
// most, and a lookup is two loads, as fast as a flat slice.
type symbolTable[T any] struct {
	pages []*[symbolPage]T
}

func newSymbolTable[T any](symbols int) symbolTable[T] {
	return symbolTable[T]{pages: make([]*[symbolPage]T, (symbols+symbolPage-1)/symbolPage)}
}

// at returns sym's slot, allocating its page if need be.
func (t *symbolTable[T]) at(sym int32) *T {
	p := t.pages[sym/symbolPage]
	if p == nil {
		p = new([symbolPage]T)
		t.pages[sym/symbolPage] = p
	}
	return &p[sym%symbolPage]
}

// latestEvents is the latest undelivered event of each symbol of a
// conflated stream, and the symbols that have one.
type latestEvents struct {
	events symbolTable[event]
	syms   []int32 // symbols whose slot holds an event (seq != 0)
}

func newLatestEvents(symbols int) *latestEvents {
	return &latestEvents{events: newSymbolTable[event](symbols)}
}

// put keeps e as its symbol's latest event and reports whether it replaced one.
func (l *latestEvents) put(e event) bool {
	slot := l.events.at(e.sym)
	replaced := slot.seq != 0
	if !replaced {
		l.syms = append(l.syms, e.sym)
	}
	*slot = e
	return replaced
}

// drop forgets the events of symbols keep refuses and returns how many.
func (l *latestEvents) drop(keep func(sym int) bool) int {
	kept := l.syms[:0]
	dropped := 0
	for _, sym := range l.syms {
		if keep(int(sym)) {
			kept = append(kept, sym)
			continue
		}
		*l.events.at(sym) = event{}
		dropped++
	}
	l.syms = kept
	return dropped
}

// inOrder returns the kept events in sequence order (none for nil).
func (l *latestEvents) inOrder() []event {
	if l == nil {
		return nil
	}
	held := make([]event, 0, len(l.syms))
	for _, sym := range l.syms {
		held = append(held, *l.events.at(sym))
	}
	slices.SortFunc(held, func(a, b event) int { return cmpSeq(a.seq, b.seq) })
	return held
}
