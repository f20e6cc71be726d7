package stream

import (
	"errors"
	"fmt"

	"github.com/tickerd/tickerd/market"
)

// marketBook is what the hub knows of the market beside its quotes: each
// symbol's trading status and bands and the market's session. It is
// guarded by the hub lock.
type marketBook struct {
	halted  []bool          // per symbol, as published: the feed hygiene refuses its ticks
	pending []marketUpdate  // published since the last batch, in order with Hub.ticks
	seen    bool            // a status or bands event was flushed: snapshots carry the market
	session market.Status   // the market's, as flushed; Seq 0: none yet
	status  []market.Status // per symbol, as flushed; Seq 0: none yet
	bands   []market.Bands  // per symbol, as flushed; Seq 0: none
}

// marketUpdate is a status or bands event waiting for its batch.
type marketUpdate struct {
	ticks  int // how many of Hub.ticks came before it
	status *market.Status
	bands  *market.Bands
}

func newMarketBook(symbols int) marketBook {
	return marketBook{
		halted: make([]bool, symbols),
		status: make([]market.Status, symbols),
		bands:  make([]market.Bands, symbols),
	}
}

// Session returns the market's session as of the last batch, and false
// if the feed has not said.
func (h *Hub) Session() (market.Status, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.market.session, h.market.session.Seq != 0
}

// Errors PublishStatus and PublishBands return for events they reject.
var (
	ErrBadStatus = errors.New("status not one of its kind's states")
	ErrBadBands  = errors.New("bands not positive prices around their reference")
)

// PublishStatus is where a symbol's or the market's trading status enters
// the engine. It is checked like a tick (its symbol, when it has one, is
// in the universe; its state is one of a symbol's: trading, halted,
// paused, or of the market's: pre, trading, post, closed; its sequence
// number follows the last event's, or is the next one when the hub
// numbers, Config.FirstSeq) and then sent to every
// stream of its symbol, or to every stream for the market. From then on,
// until a status says it trades again, Publish rejects the ticks of a
// halted or paused symbol.
func (h *Hub) PublishStatus(s market.Status) error {
	sym := int32(-1)
	if s.Symbol != "" {
		i, ok := h.lookup(s.Symbol)
		if !ok {
			h.metrics.rejectedBy[rejectedUnknownSymbol].Inc()
			return fmt.Errorf("status: %w %q", ErrUnknownSymbol, s.Symbol)
		}
		sym = int32(i)
	}
	if !validState(s) || len(s.Reason) > 16 {
		return fmt.Errorf("%w: %q of %q, reason %q", ErrBadStatus, s.State, s.Symbol, s.Reason)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, next := h.sequence(s.Seq)
	if !next {
		h.metrics.rejectedBy[rejectedSequence].Inc()
		return fmt.Errorf("status: %w: %d after %d", ErrSequence, s.Seq, h.lastSeq)
	}
	s.Seq = seq
	h.lastSeq = s.Seq
	h.closeBars(s.Time.UnixNano(), s.Seq)
	if sym >= 0 {
		h.market.halted[sym] = s.Halted()
	}
	h.body = s.AppendJSON(h.body[:0])
	h.enqueue(event{seq: s.Seq, sym: sym, kind: uint8(KindStatus), ts: s.Time.UnixNano()}, s.Seq, h.body)
	h.market.pending = append(h.market.pending, marketUpdate{ticks: len(h.ticks), status: &s})
	h.wakeLocked()
	return nil
}

func validState(s market.Status) bool {
	if s.Symbol == "" {
		switch s.State {
		case market.StatePre, market.StateTrading, market.StatePost, market.StateClosed:
			return true
		}
		return false
	}
	switch s.State {
	case market.StateTrading, market.StateHalted, market.StatePaused:
		return true
	}
	return false
}

// PublishBands is where a symbol's LULD bands enter the engine: checked
// like a tick (a symbol of the universe, the next sequence number, and
// 0 < Lower ≤ Ref ≤ Upper), then sent to every stream of the symbol.
func (h *Hub) PublishBands(b market.Bands) error {
	i, ok := h.lookup(b.Symbol)
	if !ok {
		h.metrics.rejectedBy[rejectedUnknownSymbol].Inc()
		return fmt.Errorf("bands: %w %q", ErrUnknownSymbol, b.Symbol)
	}
	if !validPrice(b.Lower) || !validPrice(b.Ref) || !validPrice(b.Upper) || b.Lower > b.Ref || b.Ref > b.Upper {
		h.metrics.rejectedBy[rejectedBadPrice].Inc()
		return fmt.Errorf("%w: %s %v–%v around %v", ErrBadBands, b.Symbol, b.Lower, b.Upper, b.Ref)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, next := h.sequence(b.Seq)
	if !next {
		h.metrics.rejectedBy[rejectedSequence].Inc()
		return fmt.Errorf("bands: %w: %d after %d", ErrSequence, b.Seq, h.lastSeq)
	}
	b.Seq = seq
	h.lastSeq = b.Seq
	h.body = b.AppendJSON(h.body[:0])
	h.enqueue(event{seq: b.Seq, sym: int32(i), kind: uint8(KindBands), ts: b.Time.UnixNano()}, b.Seq, h.body)
	h.market.pending = append(h.market.pending, marketUpdate{ticks: len(h.ticks), bands: &b})
	h.wakeLocked()
	return nil
}

// enqueue frames body as an event like e, with id (0: none), once per
// framing, for the next batch. h.mu is held.
func (h *Hub) enqueue(e event, id uint64, body []byte) {
	kind := Kind(e.kind)
	for f, framing := range h.framings {
		p := &h.pending[f]
		p.buf = framing.AppendEvent(p.buf, kind, id, body)
		// data is set in takeBatch, once buf has stopped growing.
		e.end = len(p.buf)
		p.events = append(p.events, e)
		p.bars = p.bars || kind == KindBar
	}
}

// applyTicks folds the batch's ticks into the quotes, and its statuses and
// bands into the market book, in the order they were published. h.mu is held.
func (h *Hub) applyTicks() {
	next := 0
	for _, u := range h.market.pending {
		for ; next < u.ticks; next++ {
			h.quotes[h.indexOf(h.ticks[next].Symbol)].Apply(h.ticks[next])
		}
		h.applyMarket(u)
	}
	for ; next < len(h.ticks); next++ {
		h.quotes[h.indexOf(h.ticks[next].Symbol)].Apply(h.ticks[next])
	}
	clear(h.market.pending)
	h.market.pending = h.market.pending[:0]
}

// applyMarket folds one status or bands event into the book. The market's
// regular session opening starts every quote's session afresh; its close
// makes each symbol's last price its reference price (PrevClose) and drops
// every symbol's bands, which hold only in the regular session.
// h.mu is held.
func (h *Hub) applyMarket(u marketUpdate) {
	m := &h.market
	m.seen = true
	switch {
	case u.bands != nil:
		m.bands[h.indexOf(u.bands.Symbol)] = *u.bands
	case u.status.Symbol != "":
		m.status[h.indexOf(u.status.Symbol)] = *u.status
	default:
		was := m.session.State
		m.session = *u.status
		if u.status.State == market.StateTrading && was != market.StateTrading {
			for i := range h.quotes {
				q := &h.quotes[i]
				q.Open, q.High, q.Low, q.Change, q.ChangePercent, q.Volume = 0, 0, 0, 0, 0, 0
			}
		}
		if was == market.StateTrading && u.status.State != market.StateTrading {
			clear(m.bands)
			// The session's last trade is the next one's reference price.
			for i := range h.quotes {
				if q := &h.quotes[i]; q.Last.Seq != 0 {
					q.PrevClose = q.Last.Price
				}
			}
		}
	}
}

// appendMarketSnapshot appends the market's members of a snapshot of sub
// to body, an object still open: "market" (the session's status, when the
// feed has said it),
// "status" (each symbol's that has one) and "bands" (each symbol's that
// has them). A hub that never had a status or bands appends nothing.
// h.mu is held.
func (h *Hub) appendMarketSnapshot(body []byte, sub *SymbolSet) []byte {
	m := &h.market
	if !m.seen {
		return body
	}
	if m.session.Seq != 0 {
		body = append(body, `,"market":`...)
		body = m.session.AppendJSON(body)
	}
	body = append(body, `,"status":[`...)
	first := true
	h.eachKnown(sub, func(i int) {
		if i >= len(m.status) || m.status[i].Seq == 0 {
			return
		}
		if !first {
			body = append(body, ',')
		}
		first = false
		body = m.status[i].AppendJSON(body)
	})
	body = append(body, `],"bands":[`...)
	first = true
	h.eachKnown(sub, func(i int) {
		if i >= len(m.bands) || m.bands[i].Seq == 0 {
			return
		}
		if !first {
			body = append(body, ',')
		}
		first = false
		body = m.bands[i].AppendJSON(body)
	})
	return append(body, ']')
}

// wants reports whether a stream of set and bars gets e: a tick, status or
// bands of one of its symbols, a status of the market, or a bar of one of
// its symbols and intervals.
func wants(set *SymbolSet, bars BarSet, e *event) bool {
	switch {
	case e.sym < 0:
		return true
	case e.kind == uint8(KindBar) && !bars.has(int(e.bar)):
		return false
	}
	return set.Has(int(e.sym))
}

// marketKey names what a held status, bands or bar event is the latest of.
type marketKey struct {
	kind uint8
	bar  uint8
	sym  int32
}

// holdMarket keeps e, a status, bands or bar event of a conflating
// stream, in place of the one before it of the same kind, symbol and
// interval.
func (c *client) holdMarket(e event) {
	k := marketKey{kind: e.kind, bar: e.bar, sym: e.sym}
	if c.heldIndex == nil {
		c.heldIndex = make(map[marketKey]int)
	}
	if i, ok := c.heldIndex[k]; ok {
		c.heldMarket[i] = e
		return
	}
	c.heldIndex[k] = len(c.heldMarket)
	c.heldMarket = append(c.heldMarket, e)
}

// cmpEvents orders events by sequence number, a bar before the tick that
// closed it, which has its number.
func cmpEvents(a, b event) int {
	if c := cmpSeq(a.seq, b.seq); c != 0 {
		return c
	}
	return int(b.kind) - int(a.kind)
}
