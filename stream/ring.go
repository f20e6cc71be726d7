package stream

import "sort"

// event is one encoded SSE event, shared by every stream that carries it.
type event struct {
	seq  uint64
	sym  int32  // index of its symbol; -1 for the market
	kind uint8  // its Kind; the zero value is KindTick
	bar  uint8  // of a bar event, the index of its interval
	ts   int64  // tick creation time, Unix nanoseconds
	data []byte // the whole event: "id: …\nevent: tick\ndata: {…}\n\n"
	end  int    // end of data in its batch's buffer
}

// replayRing keeps the most recent events for resuming streams. It holds at
// most len(buf) events and remembers the newest sequence number it has
// evicted, so it can tell whether a resume is complete. What came before the
// first event it was given counts as evicted: a hub that starts mid-stream (a
// replica joining a bus, a restarted process) cannot replay it.
type replayRing struct {
	size    int     // most events held
	buf     []event // grows to size as events come, so a slow feed's ring stays small
	start   int     // index of the oldest event
	n       int     // events held
	evicted uint64  // seq of the newest evicted event, or the one before the first event
	started bool    // an event was pushed
}

func newReplayRing(size int) *replayRing { return &replayRing{size: size} }

// minRingGrowth is how many events a ring that grows makes room for at least.
const minRingGrowth = 1024

func (r *replayRing) push(e event) {
	if !r.started {
		r.started = true
		r.evicted = e.seq - 1
	}
	if r.size == 0 {
		r.evicted = e.seq
		return
	}
	if r.n == len(r.buf) && len(r.buf) < r.size {
		// Nothing was evicted yet, so the events are buf[:n], in order.
		grown := make([]event, min(r.size, max(minRingGrowth, 2*len(r.buf))))
		copy(grown, r.buf)
		r.buf = grown
	}
	if r.n == len(r.buf) {
		r.evicted = r.buf[r.start].seq
		r.buf[r.start] = e
		r.start = (r.start + 1) % len(r.buf)
		return
	}
	r.buf[(r.start+r.n)%len(r.buf)] = e
	r.n++
}

func (r *replayRing) at(i int) *event { return &r.buf[(r.start+i)%len(r.buf)] }

// covers reports whether every event after seq is still held.
func (r *replayRing) covers(seq uint64) bool { return seq >= r.evicted }

// after calls fn, oldest first, for each held event with a sequence number
// greater than seq.
func (r *replayRing) after(seq uint64, fn func(*event)) {
	first := sort.Search(r.n, func(i int) bool { return r.at(i).seq > seq })
	for i := first; i < r.n; i++ {
		fn(r.at(i))
	}
}

// afterUntil is after that stops as soon as fn returns false.
func (r *replayRing) afterUntil(seq uint64, fn func(*event) bool) {
	first := sort.Search(r.n, func(i int) bool { return r.at(i).seq > seq })
	for i := first; i < r.n; i++ {
		if !fn(r.at(i)) {
			return
		}
	}
}
