package stream

import (
	"time"

	"github.com/tickerd/tickerd/feed"
)

// BarEvent is one bar event: a closed bar of one symbol and interval, or
// (Updated) a closed bar again after a late tick changed it. Its JSON form
// is a bar event's body (AppendJSON).
type BarEvent struct {
	Symbol   string
	Interval string // 1s, 5s, 1m or 5m
	Bar      Bar
	Updated  bool
}

// AppendBarEvents appends evs to dst as a JSON array of their bodies,
// what [Hub.PublishBars] takes.
func AppendBarEvents(dst []byte, evs []BarEvent) []byte {
	dst = append(dst, '[')
	for i, e := range evs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = e.AppendJSON(dst)
	}
	return append(dst, ']')
}

// AppendJSON appends the event's body to dst:
//
//	{"sym":"AAPL","interval":"1s","t":1764012345,"o":189.2,"h":189.31,"l":189.12,"c":189.23,"v":4200,"updated":false}
func (e BarEvent) AppendJSON(dst []byte) []byte {
	return appendBarJSON(dst, e.Symbol, e.Interval, e.Bar, e.Updated)
}

// BarMaker decides a market's bar events from its events the way a hub
// does (see barClock), for a publisher that sends them to replicas
// instead of having each make its own: the bars an event's time closes,
// which a hub sends before that event, and the closed bars a late tick
// changed, which a hub sends before the tick, but a publisher only after
// it (a replica folds the tick into its history first, so it then holds
// the bar as sent). Every interval's bars are made. A BarMaker is used by
// one goroutine, in the order of the events.
type BarMaker struct {
	symbols []string
	index   map[string]int
	bars    *BarStore
	clock   *barClock
	closed  []BarEvent
	updated []BarEvent
}

// NewBarMaker returns a maker for the bars of symbols, keeping up to
// capacity bars per symbol and interval to amend with late ticks (a hub
// keeps BarsPerInterval). It panics if capacity is not positive.
func NewBarMaker(symbols []string, capacity int) *BarMaker {
	m := &BarMaker{index: make(map[string]int, len(symbols)), bars: NewBarStore(symbols, capacity)}
	for _, sym := range symbols {
		if _, ok := m.index[sym]; !ok {
			m.index[sym] = len(m.symbols)
			m.symbols = append(m.symbols, sym)
		}
	}
	m.clock = newBarClock(len(m.symbols))
	return m
}

// Tick folds t into the bars and returns the bar events to send before
// it (the bars its time closes) and after it (closed bars it changed).
// A tick of a symbol outside the maker's moves the time only. The
// slices are reused by the next call.
func (m *BarMaker) Tick(t feed.Tick) (before, after []BarEvent) {
	ns := t.Time.UnixNano()
	before = m.events(m.closed[:0], m.clock.closeAt(ns, m.bars, m.symbols, everyInterval), false)
	m.closed = before
	i, ok := m.index[t.Symbol]
	if !ok {
		return before, nil
	}
	m.bars.Add(t)
	after = m.events(m.updated[:0], m.clock.noteAt(i, ns, m.bars, m.symbols, everyInterval), true)
	m.updated = after
	return before, after
}

// Time moves the market's time to at (a status's, as the hub's
// PublishStatus does) and returns the bar events that closes, to send
// before that event. The slice is reused by the next call.
func (m *BarMaker) Time(at time.Time) []BarEvent {
	m.closed = m.events(m.closed[:0], m.clock.closeAt(at.UnixNano(), m.bars, m.symbols, everyInterval), false)
	return m.closed
}

// everyInterval is what a BarMaker wants: every interval's bars.
func everyInterval(int) bool { return true }

func (m *BarMaker) events(dst []BarEvent, outs []barOut, updated bool) []BarEvent {
	for _, o := range outs {
		dst = append(dst, BarEvent{Symbol: m.symbols[o.sym], Interval: barIntervals[o.iv].name, Bar: o.bar, Updated: updated})
	}
	return dst
}
