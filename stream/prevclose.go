package stream

import "fmt"

// SetPrevClose sets the reference price of symbol, the previous session's
// close (until a session has closed, the price the market started from),
// which its quote carries from then on, traded or not.
func (h *Hub) SetPrevClose(symbol string, price float64) error {
	i, ok := h.lookup(symbol)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownSymbol, symbol)
	}
	if !validPrice(price) {
		return fmt.Errorf("%w: %s previous close %v", ErrBadPrice, symbol, price)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.quotes[i].PrevClose = price
	h.prevCloses++
	return nil
}
