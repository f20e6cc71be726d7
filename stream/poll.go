package stream

// AppendSince appends to dst, as framing frames them, the events a client
// that last saw since (resume false: nothing yet) gets now: the ticks of
// set after since, oldest first and at most max of them, when the replay
// ring still holds every one; otherwise a snapshot of set, marked as a
// resync when since was a resume point the engine cannot serve (older than
// the ring, or ahead of it). It returns the sequence number to resume
// from next, the number of ticks appended and whether it appended a
// snapshot. It serves transports that ask rather than stream (polling).
func (h *Hub) AppendSince(dst []byte, framing Framing, set *SymbolSet, bars BarSet, since uint64, resume bool, max int) (out []byte, next uint64, ticks int, snapshot bool) {
	fi := h.framingIndex(framing)
	if fi < 0 {
		return dst, 0, 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ring := h.rings[fi]
	if !resume || since > h.flushed || !ring.covers(since) {
		return h.appendSnapshot(dst, framing, set, resume), h.flushed, 0, true
	}
	next = h.flushed
	ring.afterUntil(since, func(e *event) bool {
		if !wants(set, bars, e) {
			return true
		}
		if ticks == max {
			next = e.seq - 1
			return false
		}
		dst = append(dst, e.data...)
		ticks++
		return true
	})
	return dst, next, ticks, false
}

// Flushes returns a channel that is closed when the next batch with ticks
// has been taken, for a transport that waits for news (a long poll).
func (h *Hub) Flushes() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.flushes == nil {
		h.flushes = make(chan struct{})
	}
	return h.flushes
}

func (h *Hub) framingIndex(f Framing) int {
	for i, g := range h.framings {
		if g == f {
			return i
		}
	}
	return -1
}
