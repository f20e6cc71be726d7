package stream

// sharedSnapshot is the snapshot of every symbol in one framing, made for
// the first firehose stream that starts in a state of the hub and queued,
// the same bytes, by every other that starts before the state changes:
// the streams that arrive between two flushes (thousands a second when
// clients reconnect together) cost a slice of it each, not a copy.
type sharedSnapshot struct {
	flushed uint64 // the hub's flushed, known and prevCloses when it was made
	known   int32
	prev    uint64
	data    []byte // nil: none made yet
}

// firehoseSnapshot returns the snapshot of every symbol in framing f, as
// appendSnapshot makes it, shared by the streams that start in the same
// state: the quotes and the market change only when a batch is flushed,
// a symbol is learned or a reference price is set. Nothing may change the
// bytes it returns. h.mu is held.
func (h *Hub) firehoseSnapshot(f int) []byte {
	if h.snapshots == nil {
		h.snapshots = make([]sharedSnapshot, len(h.framings))
	}
	s := &h.snapshots[f]
	known := h.known.Load()
	if s.data == nil || s.flushed != h.flushed || s.known != known || s.prev != h.prevCloses {
		data := h.appendSnapshot(nil, h.framings[f], nil, false)
		*s = sharedSnapshot{flushed: h.flushed, known: known, prev: h.prevCloses, data: data[:len(data):len(data)]}
	}
	return s.data
}
