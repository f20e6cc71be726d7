package stream

import "slices"

// throttle caps one stream at a number of ticks per second per symbol
// (?maxfreq=N): a tick of a symbol that sent less than 1/N s ago is held,
// and a newer one replaces it, so the client gets the latest price at a
// calm pace. It belongs to the stream's writer, like the rest of client.
// Its memory and its work per cycle follow the symbols the stream meets
// and holds, not the size of the universe.
type throttle struct {
	gap      int64 // nanoseconds between two ticks of one symbol
	slots    symbolTable[throttleSlot]
	waiting  []int32 // symbols with a held tick, in no order
	held     int     // ticks held: len(waiting)
	replaced int     // held ticks replaced by newer ones, not yet counted
	released []event // scratch for release
}

// throttleSlot is one symbol's state under a throttle.
type throttleSlot struct {
	next    int64 // when it may send again, Unix nanoseconds
	waiting event // the held tick; seq 0 if none
}

func newThrottle(perSecond float64, symbols int) *throttle {
	return &throttle{
		gap:   int64(1e9 / perSecond),
		slots: newSymbolTable[throttleSlot](symbols),
	}
}

// holding reports whether any tick waits for its symbol's next slot.
func (t *throttle) holding() bool { return t != nil && t.held > 0 }

// admit reports whether e may go out at now; if not, it is held.
func (t *throttle) admit(e *event, now int64) bool {
	s := t.slots.at(e.sym)
	if s.waiting.seq == 0 && now >= s.next {
		s.next = now + t.gap
		return true
	}
	if s.waiting.seq == 0 {
		t.waiting = append(t.waiting, e.sym)
		t.held++
	} else {
		t.replaced++
	}
	s.waiting = *e
	return false
}

// release returns, in sequence order, the held ticks whose symbol may send
// at now, and starts their symbols' next interval.
func (t *throttle) release(now int64) []event {
	t.released = t.released[:0]
	if t.held == 0 {
		return nil
	}
	kept := t.waiting[:0]
	for _, sym := range t.waiting {
		s := t.slots.at(sym)
		if now < s.next {
			kept = append(kept, sym)
			continue
		}
		t.released = append(t.released, s.waiting)
		s.waiting = event{}
		s.next = now + t.gap
	}
	t.waiting = kept
	t.held = len(kept)
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
