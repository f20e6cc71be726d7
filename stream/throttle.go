package stream

import "slices"

// throttle caps one stream at a number of ticks per second per symbol
// (?maxfreq=N): a tick of a symbol that sent less than 1/N s ago is held,
// and a newer one replaces it, so the client gets the latest price at a
// calm pace. It belongs to the stream's writer, like the rest of client.
type throttle struct {
	gap      int64   // nanoseconds between two ticks of one symbol
	next     []int64 // per symbol: when it may send again, Unix nanoseconds
	waiting  []event // per symbol: the held tick; seq 0 if none
	held     int     // ticks in waiting
	replaced int     // held ticks replaced by newer ones, not yet counted
	released []event // scratch for release
}

func newThrottle(perSecond float64, symbols int) *throttle {
	return &throttle{
		gap:     int64(1e9 / perSecond),
		next:    make([]int64, symbols),
		waiting: make([]event, symbols),
	}
}

// holding reports whether any tick waits for its symbol's next slot.
func (t *throttle) holding() bool { return t != nil && t.held > 0 }

// admit reports whether e may go out at now; if not, it is held.
func (t *throttle) admit(e *event, now int64) bool {
	if t.waiting[e.sym].seq == 0 && now >= t.next[e.sym] {
		t.next[e.sym] = now + t.gap
		return true
	}
	if t.waiting[e.sym].seq == 0 {
		t.held++
	} else {
		t.replaced++
	}
	t.waiting[e.sym] = *e
	return false
}

// release returns, in sequence order, the held ticks whose symbol may send
// at now, and starts their symbols' next interval.
func (t *throttle) release(now int64) []event {
	t.released = t.released[:0]
	if t.held == 0 {
		return nil
	}
	for sym := range t.waiting {
		if t.waiting[sym].seq != 0 && now >= t.next[sym] {
			t.released = append(t.released, t.waiting[sym])
			t.waiting[sym] = event{}
			t.next[sym] = now + t.gap
			t.held--
		}
	}
	slices.SortFunc(t.released, func(a, b event) int { return cmpSeq(a.seq, b.seq) })
	return t.released
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
