package feed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tickerd/tickerd/market"
)

// Activity of the extended sessions (pre-market and after-hours) next to
// the regular one.
const (
	extendedActivity = 0.1 // share of the arrivals that trade
	extendedSpread   = 4   // spreads are this many times as wide
)

// NewsHaltLength is how long a simulated news halt lasts.
const NewsHaltLength = 10 * time.Minute

// MaxNewsHalts is the highest rate of news halts, per hour of clock time,
// that [NewSimulator] accepts.
const MaxNewsHalts = 3600

// MarketConfig makes a [Simulator] a market: with trading sessions, LULD
// price bands and trading halts, reported by [Simulator.RunMarket].
type MarketConfig struct {
	// Calendar, if not nil, gives the market the exchanges' sessions: no
	// trades while it is closed, and thinner trading with wider spreads
	// before and after the regular session. nil: one regular session
	// around the clock.
	Calendar *market.Calendar
	// NewsHalts is how many news halts, over the whole universe, the
	// market has per hour of clock time in its regular session; 0: none.
	NewsHalts float64
}

// MarketEvents is what [Simulator.RunMarket] hands its events to, one call
// at a time and in sequence order.
type MarketEvents interface {
	Tick(Tick)
	Status(market.Status)
	Bands(market.Bands)
}

// MarketSource is a [Source] that also reports the market's sessions and
// each symbol's status and bands.
type MarketSource interface {
	Source
	RunMarket(ctx context.Context, events MarketEvents) error
}

var _ MarketSource = (*Simulator)(nil)

// marketState is the market side of a simulator in market mode.
type marketState struct {
	cal        *market.Calendar // nil: always in the regular session
	session    market.Session
	nextChange float64 // when the session changes, in ns of simulated time; +Inf: never
	nextAfter  market.Session
	newsGap    float64 // mean time between news halts, ns; 0: none
	nextNews   float64
	halted     []int // indexes of halted symbols
	started    bool  // the opening status is out
}

// symbolTrading is one symbol's trading state in market mode.
type symbolTrading struct {
	state    string // market.StateTrading, StateHalted or StatePaused
	resumeAt float64
	ref      market.Reference
	bands    market.Bands // Symbol is empty until bands are drawn
}

func newMarketState(cfg *MarketConfig, start time.Time) (*marketState, error) {
	if !(cfg.NewsHalts >= 0 && cfg.NewsHalts <= MaxNewsHalts) {
		return nil, fmt.Errorf("news halts %v must be in [0, %d] per hour", cfg.NewsHalts, MaxNewsHalts)
	}
	m := &marketState{cal: cfg.Calendar, session: market.Regular, nextChange: math.Inf(1)}
	if m.cal != nil {
		m.session = m.cal.SessionAt(start)
		at, next := m.cal.Next(start)
		m.nextChange, m.nextAfter = float64(at.Sub(start)), next
	}
	m.nextNews = math.Inf(1)
	if cfg.NewsHalts > 0 {
		m.newsGap = float64(time.Hour) / cfg.NewsHalts
	}
	return m, nil
}

// RunMarket is Run for a simulator made with a MarketConfig (without one,
// it is Run and hands events only ticks): it hands
// events its ticks and, in the same sequence, the market's session as it
// changes (first the one it starts in) and each symbol's status and bands.
//
// In the regular session each symbol has LULD bands around the mean price
// of its last five minutes of trades (drawn at its first trade of the
// session, redrawn when that mean moves 1% or the bands' doubling starts
// or ends, and sent as bands events before the trade that needs them). A
// trade outside them does not happen: the symbol is paused instead for
// [market.PauseLength] and then resumes with bands around its price. News
// halts stop a random symbol for [NewsHaltLength]. A halted symbol has no
// trades. Outside the regular session there are no bands and no halts
// begin; while the market is closed there are no trades.
func (s *Simulator) RunMarket(ctx context.Context, events MarketEvents) error {
	if s.market == nil {
		return s.Run(ctx, events.Tick)
	}
	return s.run(ctx, func(now time.Time) bool { return s.marketStep(now, events) })
}

// nextDue returns the time of the market's next event: a session change,
// a resumption or a news halt; not an arrival.
func (m *marketState) nextDue(state []symbolState) float64 {
	due := min(m.nextChange, m.nextNews)
	for _, i := range m.halted {
		due = min(due, state[i].trading.resumeAt)
	}
	return due
}

// marketStep handles the next due event, an arrival or a market event, if
// it is not after now, and reports whether it did.
func (s *Simulator) marketStep(now time.Time, events MarketEvents) bool {
	m := s.market
	if !m.started {
		m.started = true
		if m.session == market.Regular && m.newsGap > 0 {
			m.nextNews = s.rng.ExpFloat64() * m.newsGap
		}
		events.Status(s.status("", m.session.String(), market.ReasonSession, 0))
		return true
	}
	due := m.nextDue(s.state)
	if s.at < due {
		if s.timeAt(s.at).After(now) {
			return false
		}
		s.arrive(events)
		return true
	}
	if s.timeAt(due).After(now) {
		return false
	}
	switch {
	case due == m.nextChange:
		s.changeSession(events)
	case due == m.nextNews:
		s.newsHalt(events)
	default:
		for _, i := range m.halted {
			if st := &s.state[i]; st.trading.resumeAt == due {
				s.resume(i, events)
				break
			}
		}
	}
	return true
}

// arrive takes the arrival at s.at: a trade, unless the market or the
// symbol it picks is not trading.
func (s *Simulator) arrive(events MarketEvents) {
	m := s.market
	at := s.at
	if m.session == market.Closed {
		// Nobody trades until the market opens: the next arrival is after it.
		s.at = m.nextChange
		s.scheduleNext()
		return
	}
	s.scheduleNext()
	i := s.rng.IntN(len(s.state))
	st := &s.state[i]
	spread := 1.0
	if m.session != market.Regular {
		if s.rng.Float64() >= extendedActivity {
			return
		}
		spread = extendedSpread
	}
	if st.trading.state != "" && st.trading.state != market.StateTrading {
		return
	}
	t := s.trade(st, at, spread)
	if m.session == market.Regular {
		tr := &st.trading
		if tr.bands.Symbol != "" && (t.Price < tr.bands.Lower || t.Price > tr.bands.Upper) {
			s.halt(i, market.StatePaused, market.ReasonVolatility, at, at+float64(market.PauseLength), events)
			return
		}
		tr.ref.Add(t.Time, t.Price)
		s.keepBands(st, t.Price, t.Time, events)
	}
	t.Seq = s.seq
	s.seq++
	events.Tick(t)
}

// keepBands draws st's bands when it has none, or when its reference price
// or its doubling has moved, and sends them.
func (s *Simulator) keepBands(st *symbolState, price float64, at time.Time, events MarketEvents) {
	tr := &st.trading
	ref, ok := tr.ref.Mean(at)
	if !ok {
		ref = price
	}
	doubled := s.market.cal != nil && s.market.cal.Doubled(at, ref)
	if tr.bands.Symbol != "" {
		lower, upper := market.BandsFor(tr.bands.Ref, doubled)
		moved := math.Abs(ref-tr.bands.Ref) >= market.ReferenceMove*tr.bands.Ref
		if !moved && lower == tr.bands.Lower && upper == tr.bands.Upper {
			return
		}
	}
	ref = math.Round(ref*100) / 100
	lower, upper := market.BandsFor(ref, doubled)
	tr.bands = market.Bands{Seq: s.seq, Symbol: st.name, Ref: ref, Lower: lower, Upper: upper, Time: at}
	s.seq++
	events.Bands(tr.bands)
}

// halt stops st's trading from at until resumeAt.
func (s *Simulator) halt(i int, state, reason string, at, resumeAt float64, events MarketEvents) {
	st := &s.state[i]
	st.trading.state, st.trading.resumeAt = state, resumeAt
	s.market.halted = append(s.market.halted, i)
	events.Status(s.status(st.name, state, reason, at))
}

// resume lets the halted symbol i trade again, with bands around its
// price drawn at its first trade.
func (s *Simulator) resume(i int, events MarketEvents) {
	m := s.market
	st := &s.state[i]
	reason := market.ReasonVolatility
	if st.trading.state == market.StateHalted {
		reason = market.ReasonNewsReleased
	}
	at := st.trading.resumeAt
	st.trading.state, st.trading.resumeAt = market.StateTrading, 0
	st.trading.ref.Reset()
	st.trading.bands = market.Bands{}
	m.halted = slices.DeleteFunc(m.halted, func(j int) bool { return j == i })
	events.Status(s.status(st.name, market.StateTrading, reason, at))
}

// newsHalt halts a random trading symbol for news, and schedules the next.
func (s *Simulator) newsHalt(events MarketEvents) {
	m := s.market
	at := m.nextNews
	m.nextNews = at + s.rng.ExpFloat64()*m.newsGap
	i := s.rng.IntN(len(s.state))
	if st := &s.state[i]; st.trading.state != "" && st.trading.state != market.StateTrading {
		return
	}
	s.halt(i, market.StateHalted, market.ReasonNewsPending, at, at+float64(NewsHaltLength), events)
}

// changeSession moves the market to its next session.
func (s *Simulator) changeSession(events MarketEvents) {
	m := s.market
	at := m.nextChange
	m.session = m.nextAfter
	next, after := m.cal.Next(s.timeAt(at))
	m.nextChange, m.nextAfter = float64(next.Sub(s.start)), after
	if m.session == market.Regular && m.newsGap > 0 {
		m.nextNews = at + s.rng.ExpFloat64()*m.newsGap
	} else {
		m.nextNews = math.Inf(1)
	}
	for i := range s.state {
		tr := &s.state[i].trading
		tr.bands = market.Bands{}
		tr.ref.Reset()
	}
	events.Status(s.status("", m.session.String(), market.ReasonSession, at))
}

// status returns a status event at simulated time at with the next sequence number.
func (s *Simulator) status(sym, state, reason string, at float64) market.Status {
	st := market.Status{Seq: s.seq, Symbol: sym, State: state, Reason: reason, Time: s.timeAt(at)}
	s.seq++
	return st
}
