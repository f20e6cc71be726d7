package stream

import (
	"fmt"

	"github.com/tickerd/tickerd/feed"
)

// A hub with Config.LearnSymbols takes up symbols from its feed: the
// first accepted tick of a symbol it does not know makes it the next
// symbol of the universe. Every per-symbol slice is made for the
// configured symbols and the learned ones at NewHub, so a learned symbol
// takes the next free index and nothing grows; the index of a configured
// symbol is in a map that is never written, that of a learned one in a
// sync.Map written under the hub's lock, and the count of symbols known
// (Hub.known) is stored after a new one's slots are filled, so that a
// reader that sees the count sees the symbols below it.

// lookup returns the index of symbol in the universe.
func (h *Hub) lookup(symbol string) (int, bool) {
	if i, ok := h.index[symbol]; ok {
		return i, true
	}
	if h.cfg.LearnSymbols == 0 {
		return 0, false
	}
	i, ok := h.learned.Load(symbol)
	if !ok {
		return 0, false
	}
	return i.(int), true
}

// indexOf returns the index of symbol, which is in the universe.
func (h *Hub) indexOf(symbol string) int {
	i, _ := h.lookup(symbol)
	return i
}

// learnLocked makes symbol, which a tick being accepted is of, the next
// symbol of the universe, unless the universe has learned as many as it
// may or another tick learned it first. h.mu is held.
func (h *Hub) learnLocked(symbol string) (int, error) {
	if i, ok := h.lookup(symbol); ok {
		return i, nil
	}
	n := int(h.known.Load())
	if n == len(h.symbols) {
		h.metrics.rejectedBy[rejectedUniverseFull].Inc()
		return 0, fmt.Errorf("%w %s: the universe is full (%d learned)", ErrUnknownSymbol, symbol, h.cfg.LearnSymbols)
	}
	h.symbols[n] = symbol
	h.quotes[n].Last.Symbol = symbol
	h.bars.track(symbol)
	h.metrics.learnSymbol(symbol, n+1)
	h.learned.Store(symbol, n)
	h.known.Store(int32(n + 1))
	return n, nil
}

// learnable reports why a tick of symbol, which is not in the universe,
// cannot make it a symbol of the universe: learning is off, or the name
// breaks the symbol rule.
func (h *Hub) learnable(symbol string) error {
	if h.cfg.LearnSymbols == 0 {
		return fmt.Errorf("%w %q", ErrUnknownSymbol, symbol)
	}
	if err := feed.CheckSymbol(symbol); err != nil {
		return fmt.Errorf("%w: %w", ErrUnknownSymbol, err)
	}
	return nil
}
