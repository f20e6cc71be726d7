package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrBadBar is what PublishBars returns for a bar event it cannot relay.
var ErrBadBar = errors.New("bar event not a bar of the universe")

// PublishBars is where the bar events a source decided enter the engine
// (a replica's, whose publisher decides them and sends them with its
// events). bars is a JSON array of bar events' bodies
// ([BarEvent.AppendJSON]) that come just before the event with sequence
// number seq, which must follow the last event's like that event's.
// From the first call on, the hub makes no bar events of its own, though
// it still folds ticks into the bars of its history, which those of
// PublishBars replace, so that the history and the stream agree bar for
// bar. Each bar goes to every stream that asks for its interval's bars,
// just before the event seq. Bars the universe or the intervals do not
// have are left out, the first named in the error; the others are
// relayed.
func (h *Hub) PublishBars(bars []byte, seq uint64) error {
	type relayed struct {
		sym, iv int
		ev      BarEvent
	}
	var lines []json.RawMessage
	if err := json.Unmarshal(bars, &lines); err != nil {
		return fmt.Errorf("%w: not a JSON array of bar events: %w", ErrBadBar, err)
	}
	var (
		relay []relayed
		bad   error
	)
	for _, line := range lines {
		ev, err := parseBarEvent(line)
		if err != nil {
			bad = firstErr(bad, err)
			continue
		}
		sym, ok := h.lookup(ev.Symbol)
		if !ok {
			h.metrics.rejectedBy[rejectedUnknownSymbol].Inc()
			bad = firstErr(bad, fmt.Errorf("%w: unknown symbol %q", ErrBadBar, ev.Symbol))
			continue
		}
		relay = append(relay, relayed{sym: sym, iv: barIntervalNamed(ev.Interval), ev: ev})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// The number the next event gets; it is not taken: that event takes it.
	seq, next := h.sequence(seq)
	if !next {
		h.metrics.rejectedBy[rejectedSequence].Inc()
		return fmt.Errorf("bars: %w: %d after %d", ErrSequence, seq, h.lastSeq)
	}
	h.barClock.relayed = true
	for _, b := range relay {
		h.bars.set(h.symbols[b.sym], b.iv, b.ev.Bar)
		if h.barsWanted(b.iv) {
			end := b.ev.Bar.Time*int64(time.Second) + int64(barIntervals[b.iv].d)
			h.enqueueBar(b.sym, b.iv, b.ev.Bar, b.ev.Updated, seq, end)
		}
	}
	h.wakeLocked()
	return bad
}

// firstErr keeps the first error.
func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// parseBarEvent reads one bar event's body.
func parseBarEvent(line []byte) (BarEvent, error) {
	var j struct {
		Sym      string  `json:"sym"`
		Interval string  `json:"interval"`
		T        *int64  `json:"t"`
		O        float64 `json:"o"`
		H        float64 `json:"h"`
		L        float64 `json:"l"`
		C        float64 `json:"c"`
		V        int64   `json:"v"`
		Updated  bool    `json:"updated"`
	}
	if err := json.Unmarshal(line, &j); err != nil {
		return BarEvent{}, fmt.Errorf("%w: %.80q: %w", ErrBadBar, line, err)
	}
	iv := barIntervalNamed(j.Interval)
	switch {
	case iv < 0:
		return BarEvent{}, fmt.Errorf("%w: unknown interval %.20q", ErrBadBar, j.Interval)
	case j.T == nil || *j.T%int64(barIntervals[iv].d/time.Second) != 0:
		return BarEvent{}, fmt.Errorf("%w: %s %s bar without a start on the interval's boundary", ErrBadBar, j.Sym, j.Interval)
	case !validPrice(j.O) || !validPrice(j.H) || !validPrice(j.L) || !validPrice(j.C) ||
		j.L > j.O || j.L > j.C || j.H < j.O || j.H < j.C || j.V <= 0:
		return BarEvent{}, fmt.Errorf("%w: %s %s bar at %d: prices or volume out of order", ErrBadBar, j.Sym, j.Interval, *j.T)
	}
	return BarEvent{Symbol: j.Sym, Interval: j.Interval, Updated: j.Updated,
		Bar: Bar{Time: *j.T, Open: j.O, High: j.H, Low: j.L, Close: j.C, Volume: j.V}}, nil
}

// set puts bar into the ring of symbol and interval index iv: in place
// of the bar with its start, or after the newest when it is newer; a bar
// older than those kept and not among them is left out.
func (s *BarStore) set(symbol string, iv int, bar Bar) {
	sb := s.of(symbol)
	if sb == nil {
		return
	}
	start := bar.Time * int64(time.Second)
	sb.mu.Lock()
	defer sb.mu.Unlock()
	r := &sb.rings[iv]
	if i := r.find(start); i >= 0 {
		r.bars[i] = bar
		return
	}
	if r.count == 0 || start > r.start {
		r.push(bar, start)
	}
}
