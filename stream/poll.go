package stream

import (
	"sync"
	"time"
)

// AppendSince appends to dst, as framing frames them, the events a client
// that last saw since (resume false: nothing yet) gets now: the ticks of
// set after since, oldest first and at most max of them, when the replay
// ring still holds every one; otherwise a snapshot of set, marked as a
// resync when since was a resume point the engine cannot serve (older than
// the ring, or ahead of it). Past max, the events that share the last
// one's number (the bars it closed come before it) are appended too. It
// returns the sequence number to resume from next, the number of ticks appended and whether it appended a
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
	var last uint64 // the number of the newest event appended
	ring.afterUntil(since, func(e *event) bool {
		if !wants(set, bars, e) {
			return true
		}
		// Bar events share the number of the event that closed them, and
		// come before it: an answer ends after the last event of a number,
		// or the next poll, after the number before, would get its bars
		// again.
		if ticks >= max && e.seq != last {
			next = e.seq - 1
			return false
		}
		dst = append(dst, e.data...)
		last = e.seq
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

// PollBarGrace is how long a poll's bar intervals stay asked for after
// its answer. A poller comes back between requests: the bars that close
// before its next poll are made, and in the replay ring for it, as long
// as it polls at least this often (a long poller comes back at once).
const PollBarGrace = 30 * time.Second

// HoldBars counts a poll's bar intervals like a stream's, so that their
// bar events are made: while the poll is held, until the returned
// function is called, and for PollBarGrace after. It keeps no goroutine:
// the grace ends when the next bar closes after it.
func (h *Hub) HoldBars(bars BarSet) (release func()) {
	if bars == 0 {
		return func() {}
	}
	h.countBars(bars, 1)
	var once sync.Once
	return func() {
		once.Do(func() {
			until := h.clock.Now().Add(PollBarGrace).UnixNano()
			h.mu.Lock()
			for iv := range barIntervals {
				if bars.has(iv) {
					h.barClock.polled[iv] = max(h.barClock.polled[iv], until)
				}
			}
			h.mu.Unlock()
			h.countBars(bars, -1) // after the grace is set: no moment without either
		})
	}
}

// barsWanted reports whether some stream or poll asks for the bars of
// interval iv now. h.mu is held.
func (h *Hub) barsWanted(iv int) bool {
	bc := h.barClock
	if bc.subs[iv].Load() > 0 {
		return true
	}
	return bc.polled[iv] != 0 && h.clock.Now().UnixNano() < bc.polled[iv]
}
