package stream

import (
	"strconv"
	"sync/atomic"
	"time"
)

// barClock is how the hub sees bars close. The market's time is the
// newest time an event of the feed carried (not the hub's clock: a feed
// may run on a simulated one); when it enters a later interval, every bar
// of the interval before is closed and sent as a bar event, before the
// event that moved the time. A late tick, one in an interval already
// closed, that changes a closed bar sends that bar again with
// "updated":true, before the tick itself. Bar events carry no id: they
// come before the event whose id a client resumes from, so a resume after
// that id has seen them and one before it gets them again.
//
// An interval's bar events are made only while some stream or poll asks
// for them (a poll's ask lasts beyond its answer: Hub.HoldBars), so that
// streams without bars, and the replay ring, carry none; a resume
// replays those made while it was away.
type barClock struct {
	subs   [len(barIntervals)]atomic.Int32 // streams and held polls that receive each interval's bars
	polled [len(barIntervals)]int64        // until when, Unix ns on the hub's clock, a poll that answered still asks; under h.mu
	mark   [len(barIntervals)]int64        // start of the open interval, Unix ns; 0: no event yet
	open   [len(barIntervals)][]int32      // symbols with a bar in the open interval
	listed [len(barIntervals)][]bool       // per symbol: in open
	out    []barOut                        // what the last closeAt or noteAt made
	// relayed: the source has sent bars (PublishBars), so the hub makes
	// none of its own from then on; guarded by the hub lock.
	relayed bool
}

func newBarClock(symbols int) *barClock {
	b := &barClock{}
	for i := range b.listed {
		b.listed[i] = make([]bool, symbols)
	}
	return b
}

// closeBars sends the bars that the market's time reaching ns closes, as
// bar events with seq (the sequence number of the event that moved it).
// h.mu is held.
func (h *Hub) closeBars(ns int64, seq uint64) {
	if h.barClock.relayed {
		return // the source sends them (PublishBars)
	}
	for _, o := range h.barClock.closeAt(ns, h.bars, h.symbols, h.barsWanted) {
		h.enqueueBar(int(o.sym), int(o.iv), o.bar, false, seq, ns)
	}
}

// noteBars records, after the tick t of symbol sym was folded into the
// bars, which bars it opened and which closed ones it changed, sending
// those. h.mu is held.
func (h *Hub) noteBars(sym int, seq uint64, ns int64) {
	if h.barClock.relayed {
		return
	}
	for _, o := range h.barClock.noteAt(sym, ns, h.bars, h.symbols, h.barsWanted) {
		h.enqueueBar(sym, int(o.iv), o.bar, true, seq, ns)
	}
}

// barOut is one bar event the bar clock makes.
type barOut struct {
	sym int32
	iv  uint8
	bar Bar
}

// closeAt moves the market's time to ns and returns the bars of bars
// that this closes, of the intervals wanted reports true for. The result
// is reused by the next call.
func (bc *barClock) closeAt(ns int64, bars *BarStore, symbols []string, wanted func(iv int) bool) []barOut {
	bc.out = bc.out[:0]
	for iv := range barIntervals {
		start := barStart(ns, int64(barIntervals[iv].d))
		if start <= bc.mark[iv] {
			continue
		}
		bc.mark[iv] = start
		want := wanted(iv)
		for _, sym := range bc.open[iv] {
			bc.listed[iv][sym] = false
			if !want {
				continue
			}
			if bar, ok := bars.newest(symbols[sym], iv); ok {
				bc.out = append(bc.out, barOut{sym: sym, iv: uint8(iv), bar: bar})
			}
		}
		bc.open[iv] = bc.open[iv][:0]
	}
	return bc.out
}

// noteAt records, after a tick of symbol sym at ns was folded into bars,
// which bars it opened, and returns the closed ones it changed, of the
// intervals wanted. The result is reused by the next call.
func (bc *barClock) noteAt(sym int, ns int64, bars *BarStore, symbols []string, wanted func(iv int) bool) []barOut {
	bc.out = bc.out[:0]
	for iv := range barIntervals {
		start := barStart(ns, int64(barIntervals[iv].d))
		if start >= bc.mark[iv] {
			if !bc.listed[iv][sym] {
				bc.listed[iv][sym] = true
				bc.open[iv] = append(bc.open[iv], int32(sym))
			}
			continue
		}
		if !wanted(iv) {
			continue
		}
		if bar, ok := bars.at(symbols[sym], iv, start); ok {
			bc.out = append(bc.out, barOut{sym: int32(sym), iv: uint8(iv), bar: bar})
		}
	}
	return bc.out
}

// countBars adds delta to the count of streams that receive each interval of set.
func (h *Hub) countBars(set BarSet, delta int32) {
	for iv := range barIntervals {
		if set.has(iv) {
			h.barClock.subs[iv].Add(delta)
		}
	}
}

// enqueueBar frames one bar event. h.mu is held.
func (h *Hub) enqueueBar(sym, iv int, bar Bar, updated bool, seq uint64, ns int64) {
	h.body = appendBarJSON(h.body[:0], h.symbols[sym], barIntervals[iv].name, bar, updated)
	h.enqueue(event{seq: seq, sym: int32(sym), kind: uint8(KindBar), bar: uint8(iv), ts: ns}, 0, h.body)
}

// appendBarJSON appends a bar event's body:
//
//	{"sym":"AAPL","interval":"1s","t":1764012345,"o":189.2,"h":189.31,"l":189.12,"c":189.23,"v":4200,"updated":false}
func appendBarJSON(dst []byte, sym, interval string, b Bar, updated bool) []byte {
	dst = append(dst, `{"sym":"`...)
	dst = append(dst, sym...) // symbols are validated to [A-Z0-9.:-]
	dst = append(dst, `","interval":"`...)
	dst = append(dst, interval...)
	dst = append(dst, `","t":`...)
	dst = strconv.AppendInt(dst, b.Time, 10)
	for _, f := range [...]struct {
		name string
		v    float64
	}{{`,"o":`, b.Open}, {`,"h":`, b.High}, {`,"l":`, b.Low}, {`,"c":`, b.Close}} {
		dst = append(dst, f.name...)
		dst = strconv.AppendFloat(dst, f.v, 'f', -1, 64)
	}
	dst = append(dst, `,"v":`...)
	dst = strconv.AppendInt(dst, b.Volume, 10)
	dst = append(dst, `,"updated":`...)
	dst = strconv.AppendBool(dst, updated)
	return append(dst, '}')
}

// newest returns the newest bar of symbol at interval index iv.
func (s *BarStore) newest(symbol string, iv int) (Bar, bool) {
	sb := s.symbols[symbol]
	if sb == nil {
		return Bar{}, false
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	r := &sb.rings[iv]
	if r.count == 0 {
		return Bar{}, false
	}
	return r.bars[r.newest()], true
}

// at returns the bar of symbol at interval index iv that starts at start,
// Unix nanoseconds, if the store holds it.
func (s *BarStore) at(symbol string, iv int, start int64) (Bar, bool) {
	sb := s.symbols[symbol]
	if sb == nil {
		return Bar{}, false
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	r := &sb.rings[iv]
	if i := r.find(start); i >= 0 {
		return r.bars[i], true
	}
	return Bar{}, false
}

// find returns the slot of the bar that starts at start, Unix
// nanoseconds, or -1.
func (r *barRing) find(start int64) int {
	want := start / int64(time.Second)
	for k := range r.count {
		i := (r.next - 1 - k + 2*len(r.bars)) % len(r.bars)
		switch t := r.bars[i].Time; {
		case t == want:
			return i
		case t < want:
			return -1
		}
	}
	return -1
}

// amend folds a late trade into the older bar that starts at start, if
// the ring still holds it; an interval with no bar stays without one.
func (r *barRing) amend(start int64, price float64, size int64) {
	i := r.find(start)
	if i < 0 {
		return
	}
	b := &r.bars[i]
	b.High = max(b.High, price)
	b.Low = min(b.Low, price)
	b.Volume += size
	// Close stays: the bar's last trade is the latest in time, not this one.
}
