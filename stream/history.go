package stream

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/tickerd/tickerd/feed"
)

// Bar is one OHLCV bar: the trades of one symbol in one interval.
//
// Its JSON form is the one GET /api/history answers with:
//
//	{"t":1764012345,"o":189.2,"h":189.31,"l":189.12,"c":189.23,"v":4200}
type Bar struct {
	Time   int64   `json:"t"` // start of the interval, Unix seconds (UTC)
	Open   float64 `json:"o"` // price of the interval's first trade
	High   float64 `json:"h"` // highest trade price
	Low    float64 `json:"l"` // lowest trade price
	Close  float64 `json:"c"` // price of the interval's last trade so far
	Volume int64   `json:"v"` // shares traded
}

// barInterval is one bar length the store keeps, with its name in the API.
type barInterval struct {
	name string
	d    time.Duration
}

// barIntervals are the bar lengths a BarStore keeps, shortest first.
var barIntervals = [...]barInterval{
	{"1s", time.Second},
	{"5s", 5 * time.Second},
	{"1m", time.Minute},
	{"5m", 5 * time.Minute},
}

// ErrNoHistory is returned by BarStore.Bars for a symbol the store does not track.
var ErrNoHistory = errors.New("no history for symbol")

// ErrUnknownInterval is returned by BarStore.Bars for a bar length the store does not keep.
var ErrUnknownInterval = errors.New("unknown bar interval")

// BarStore keeps the most recent OHLCV bars of a fixed set of symbols at
// 1s, 5s, 1m and 5m intervals. Bars are aligned on interval boundaries of
// the ticks' own time in UTC; an interval without trades has no bar.
//
// Each symbol and interval holds at most a fixed number of bars in a ring,
// so the store's memory is bounded for as long as it runs; a ring takes
// memory as its bars come, so symbols that do not trade cost next to
// nothing ([BarsPerInterval] sizes the rings of a large universe). Add is meant to
// be called by one goroutine for every tick; Bars may be called by any
// number of goroutines at the same time.
type BarStore struct {
	symbols  map[string]*symbolBars // fixed at construction; never written after
	capacity int                    // bars per symbol and interval
	learned  sync.Map               // symbol → *symbolBars: the symbols tracked after construction
}

// symbolBars holds every interval's ring of one symbol.
type symbolBars struct {
	mu      sync.Mutex
	lastSeq uint64 // Seq of the newest tick added
	rings   [len(barIntervals)]barRing
}

// barRing is a ring of at most capacity bars of one interval, oldest
// overwritten first. Its slice grows as bars come, doubling up to the
// capacity, so a symbol that seldom trades holds the memory of the bars it
// has, not of the capacity: in a large universe most symbols are quiet.
type barRing struct {
	step     int64 // interval length in nanoseconds
	bars     []Bar // the bars, len(bars) slots in use, at most capacity
	capacity int
	next     int   // slot the next new bar is written to
	count    int   // bars held, at most len(bars)
	start    int64 // start of the newest bar in Unix nanoseconds; valid when count > 0
}

// barSize is the memory one kept bar takes.
const barSize = int(unsafe.Sizeof(Bar{}))

// BarsPerInterval returns how many bars a store over symbols symbols keeps
// per symbol and interval so that all of them take at most budget bytes:
// each symbol's intervals get an equal share, and none more than capacity.
// It is 0 when budget does not hold one bar of each.
func BarsPerInterval(budget, symbols, capacity int) int {
	if symbols < 1 {
		return capacity
	}
	return min(capacity, budget/(barSize*len(barIntervals)*symbols))
}

// NewBarStore returns a store for symbols that keeps up to capacity bars
// per symbol and interval. It panics if capacity is not positive.
func NewBarStore(symbols []string, capacity int) *BarStore {
	if capacity <= 0 {
		panic("stream: NewBarStore capacity must be positive")
	}
	s := &BarStore{symbols: make(map[string]*symbolBars, len(symbols)), capacity: capacity}
	for _, sym := range symbols {
		if _, ok := s.symbols[sym]; ok {
			continue
		}
		s.symbols[sym] = newSymbolBars(capacity)
	}
	return s
}

func newSymbolBars(capacity int) *symbolBars {
	sb := &symbolBars{}
	for i, iv := range barIntervals {
		sb.rings[i] = barRing{step: int64(iv.d), capacity: capacity}
	}
	return sb
}

// track has the store keep the bars of symbol from now on: a symbol the
// hub learned from its feed. It is called by Add's goroutine.
func (s *BarStore) track(symbol string) {
	if s.of(symbol) == nil {
		s.learned.Store(symbol, newSymbolBars(s.capacity))
	}
}

// of returns the bars of symbol, nil if the store does not track it.
func (s *BarStore) of(symbol string) *symbolBars {
	if sb := s.symbols[symbol]; sb != nil {
		return sb
	}
	if sb, ok := s.learned.Load(symbol); ok {
		return sb.(*symbolBars)
	}
	return nil
}

// Add folds t into the current bar of each interval of its symbol, or
// starts a new bar when t falls in a later interval. A tick older than the
// newest bar of an interval changes the older bar it falls in (its high,
// low and volume; not its close), if the store still holds one; a tick of
// an untracked symbol changes nothing.
func (s *BarStore) Add(t feed.Tick) {
	sb := s.of(t.Symbol)
	if sb == nil {
		return
	}
	ns := t.Time.UnixNano()
	sb.mu.Lock()
	sb.lastSeq = max(sb.lastSeq, t.Seq)
	for i := range sb.rings {
		sb.rings[i].add(t.Price, t.Size, ns)
	}
	sb.mu.Unlock()
}

func (r *barRing) add(price float64, size int64, ns int64) {
	start := barStart(ns, r.step)
	if r.count > 0 {
		switch {
		case start == r.start:
			b := &r.bars[r.newest()]
			b.High = max(b.High, price)
			b.Low = min(b.Low, price)
			b.Close = price
			b.Volume += size
			return
		case start < r.start:
			r.amend(start, price, size)
			return
		}
	}
	r.push(Bar{
		Time:   start / int64(time.Second), // exact: every step is whole seconds
		Open:   price,
		High:   price,
		Low:    price,
		Close:  price,
		Volume: size,
	}, start)
}

// push adds bar, which starts at start (Unix ns), after the newest.
func (r *barRing) push(bar Bar, start int64) {
	if r.next == len(r.bars) && len(r.bars) < r.capacity {
		// Still filling: every slot in use holds a bar, so the ring has not
		// wrapped and the new bar goes at the end.
		if len(r.bars) == cap(r.bars) {
			grown := make([]Bar, len(r.bars), min(max(2*len(r.bars), 4), r.capacity))
			copy(grown, r.bars)
			r.bars = grown
		}
		r.bars = append(r.bars, bar)
	} else {
		r.bars[r.next] = bar
	}
	r.next = (r.next + 1) % r.capacity
	r.count = min(r.count+1, r.capacity)
	r.start = start
}

// newest returns the slot of the newest bar; r.count must be positive.
func (r *barRing) newest() int {
	return (r.next - 1 + r.capacity) % r.capacity
}

// appendTo appends the ring's bars to dst, oldest first.
func (r *barRing) appendTo(dst []Bar) []Bar {
	if r.count < r.capacity { // not wrapped yet
		return append(dst, r.bars[:r.count]...)
	}
	dst = append(dst, r.bars[r.next:]...)
	return append(dst, r.bars[:r.next]...)
}

// Bars returns a copy of the bars of symbol at interval, oldest first. The
// last bar may still be open. It returns ErrNoHistory for a symbol the
// store does not track and ErrUnknownInterval for an interval other than
// 1s, 5s, 1m and 5m.
func (s *BarStore) Bars(symbol string, interval time.Duration) ([]Bar, error) {
	bars, _, err := s.series(symbol, interval)
	return bars, err
}

// series returns what Bars does and the Seq of the newest tick folded into
// the symbol's bars, read together.
func (s *BarStore) series(symbol string, interval time.Duration) ([]Bar, uint64, error) {
	i := barIntervalIndex(interval)
	if i < 0 {
		return nil, 0, fmt.Errorf("%w: %v", ErrUnknownInterval, interval)
	}
	sb := s.of(symbol)
	if sb == nil {
		return nil, 0, fmt.Errorf("%w: %q", ErrNoHistory, symbol)
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	r := &sb.rings[i]
	return r.appendTo(make([]Bar, 0, r.count)), sb.lastSeq, nil
}

// BarInterval returns the bar length the API calls name (1s, 5s, 1m, 5m).
func BarInterval(name string) (time.Duration, bool) {
	for _, iv := range barIntervals {
		if iv.name == name {
			return iv.d, true
		}
	}
	return 0, false
}

// BarIntervalNames lists the API names of the kept intervals, e.g. "1s, 5s, 1m, 5m".
func BarIntervalNames() string {
	names := make([]string, len(barIntervals))
	for i, iv := range barIntervals {
		names[i] = iv.name
	}
	return strings.Join(names, ", ")
}

func barIntervalIndex(d time.Duration) int {
	for i, iv := range barIntervals {
		if iv.d == d {
			return i
		}
	}
	return -1
}

// barStart returns the start of the interval of length step that holds the
// instant ns, both in Unix nanoseconds; step must be positive.
func barStart(ns, step int64) int64 {
	q := ns / step
	if ns%step < 0 {
		q--
	}
	return q * step
}
