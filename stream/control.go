package stream

// Stream is an attached stream, for the transport that attached it to
// change what it receives while it runs (a WebSocket's subscribe and
// unsubscribe), to send its own messages in order with the events, and to
// end it. Its methods are safe for concurrent use; what they ask takes
// effect at the next batch, in the order asked, and after the stream has
// ended they do nothing.
type Stream struct {
	h *Hub
	c *client
}

// controlKind is what a control asks of its stream.
type controlKind int

const (
	controlResubscribe controlKind = iota
	controlSend
	controlClose
)

// control is one change a transport asked of a stream, handed to the
// stream's writer at the next batch.
type control struct {
	c       *client
	kind    controlKind
	symbols *SymbolSet // resubscribe: the new set
	added   *SymbolSet // resubscribe: symbols that get a snapshot first; nil: none
	maxFreq float64    // resubscribe: the new cap; 0: none
	bytes   []byte     // send and close: framed bytes; resubscribe: the acknowledgement, then the snapshot composed in takeBatch
	reason  CloseReason
	bars    BarSet // resubscribe: the new bar intervals, when setBars
	setBars bool
}

// Resubscription is a change of what an attached stream receives.
type Resubscription struct {
	Symbols *SymbolSet // the new set; nil: every symbol
	MaxFreq float64    // the new cap of ticks per second per symbol; 0: none
	// Added (nil: none) are the symbols that first get a snapshot of their
	// latest quotes, current to the last batch, so their ticks continue it
	// with no gap.
	Added *SymbolSet
	Bars  *BarSet // the new bar intervals, for all the stream's symbols; nil: unchanged
	// Ack (nil: none), bytes the transport framed to acknowledge the
	// change, goes out before that snapshot and after every event of the
	// old subscription. The stream keeps it as Send keeps its bytes.
	Ack []byte
}

// Resubscribe makes the stream receive what r says from the next batch
// on: one control, so that no batch comes between the change of symbols,
// cap and bars and its acknowledgement.
func (s *Stream) Resubscribe(r Resubscription) {
	ctl := control{c: s.c, kind: controlResubscribe, symbols: r.Symbols, added: r.Added, maxFreq: r.MaxFreq, bytes: r.Ack}
	if r.Bars != nil {
		ctl.bars, ctl.setBars = *r.Bars, true
	}
	s.h.addControl(ctl)
}

// Send queues b, bytes the transport framed (an acknowledgement, a pong),
// behind what the stream has queued so far. The stream keeps b itself
// until it is written: nothing may change it afterwards.
func (s *Stream) Send(b []byte) {
	s.h.addControl(control{c: s.c, kind: controlSend, bytes: b})
}

// Close ends the stream for reason once last (the transport's goodbye,
// nil for none; kept as Send keeps its bytes) is written, or when its
// write timeout runs out first.
func (s *Stream) Close(last []byte, reason CloseReason) {
	s.h.addControl(control{c: s.c, kind: controlClose, bytes: last, reason: reason})
}

func (h *Hub) addControl(ctl control) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.controls = append(h.controls, ctl)
}

// takeControls returns the controls of streams that have joined a writer,
// with the snapshots of resubscriptions composed, and keeps those of
// streams still held. h.mu is held.
func (h *Hub) takeControls() []control {
	if len(h.controls) == 0 {
		return nil
	}
	var ready, kept []control
	for _, ctl := range h.controls {
		if ctl.c.held {
			kept = append(kept, ctl)
			continue
		}
		if ctl.kind == controlResubscribe && ctl.added != nil && ctl.added.Len() > 0 {
			ctl.bytes = h.appendSnapshot(ctl.bytes, h.framings[ctl.c.framing], ctl.added, false)
		}
		ready = append(ready, ctl)
	}
	h.controls = kept
	return ready
}

// apply carries out ctl on its stream, which w owns, before the batch of
// the cycle is written.
func (w *writer) apply(ctl control) {
	c := ctl.c
	if c.ended || c.closing != keepOpen {
		return
	}
	switch ctl.kind {
	case controlResubscribe:
		// Held ticks of the old cap go out first, in order.
		if c.throttle.holding() {
			for _, e := range c.throttle.release(1<<63 - 1) {
				if ctl.symbols.Has(int(e.sym)) {
					c.queue(e.data, 1, w.hub.cfg.QueueBytes)
				}
			}
		}
		// A conflated stream holds the latest tick of each symbol: those of
		// symbols it no longer has must not come out after the change.
		if c.latest != nil {
			c.replaced += c.latest.drop(ctl.symbols.Has)
		}
		c.sub = ctl.symbols
		if ctl.setBars {
			w.hub.countBars(c.bars, -1)
			c.bars = ctl.bars
			w.hub.countBars(c.bars, 1)
		}
		c.throttle = nil
		if ctl.maxFreq > 0 {
			c.throttle = newThrottle(ctl.maxFreq, len(w.hub.symbols))
		}
		if len(ctl.bytes) > 0 {
			c.queue(ctl.bytes, 0, w.hub.cfg.QueueBytes)
		}
	case controlSend:
		c.queue(ctl.bytes, 0, w.hub.cfg.QueueBytes)
	case controlClose:
		if len(ctl.bytes) > 0 {
			c.queue(ctl.bytes, 0, w.hub.cfg.QueueBytes)
		}
		c.closing = ctl.reason
	}
}
