package feed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/internal/setting"
	"github.com/tickerd/tickerd/market"
)

// TradingYear is the year that annualised volatility and drift refer to:
// 252 sessions of 6.5 hours.
const TradingYear = 252 * (6*time.Hour + 30*time.Minute)

// MaxRate is the highest total tick rate, in ticks per second, that
// [NewSimulator] accepts.
const MaxRate = 1e6

// MaxSpeed is the fastest clock speed, in clock seconds per second, that
// [NewSimulator] accepts: a trading day in about a second.
const MaxSpeed = 1e5

// ResyncLag is how far behind its schedule [Simulator.Run] may fall, in
// real time (with a Speed, that much of real time), say because the
// process was suspended, before it drops the ticks it missed
// and restarts the schedule at the clock's time instead of publishing them
// in a burst.
const ResyncLag = time.Second

const (
	pcgStream   = 0x7469636b65726421 // "tickerd!": the PCG stream; Seed picks the state
	oddLotShare = 0.12               // share of trades that are odd lots (1 to 99 shares)
	meanLots    = 4                  // round lots beyond the first, on average
	maxLots     = 50                 // most round lots in one trade
	minSpread   = 1e-4               // spread as a share of the price: between minSpread
	maxSpread   = 3e-4               // and maxSpread, and never under a cent
	maxCents    = 1e15               // cap on a published price, far below 2⁵³ cents
	maxAt       = 1 << 62            // cap on simulated time, in nanoseconds: about 146 years
)

// SimulatorConfig configures a [Simulator].
type SimulatorConfig struct {
	Symbols  []Symbol // the universe; see ParseSymbols for its limits
	Rate     float64  // total ticks per second over all symbols, in (0, MaxRate]
	Seed     uint64   // seed of the random source
	FirstSeq uint64   // sequence number of the first tick; 0 means 1
	Clock    Clock    // nil means SystemClock
	// Speed is how many seconds of Clock pass in a second of real time
	// (a ScaledClock's speed), so that Rate stays per real second; 0 means 1.
	Speed  float64
	Market *MarketConfig // nil: a bare stream of ticks; see RunMarket
}

// Simulator is a simulated market: a deterministic stream of ticks over a
// universe of symbols, described in the package doc.
//
// Next and Run must not be called concurrently; Symbols may be called at
// any time.
type Simulator struct {
	symbols []Symbol
	state   []symbolState
	rng     *rand.Rand
	clock   Clock
	start   time.Time // clock's time at construction: simulated time 0
	meanGap float64   // mean time between arrivals, in nanoseconds
	at      float64   // time of the next arrival, in nanoseconds since start
	seq     uint64    // sequence number of the next tick
	running atomic.Bool
	market  *marketState // nil without SimulatorConfig.Market
	// resyncLag is ResyncLag of real time, in the clock's time.
	resyncLag time.Duration
}

// symbolState is the price process of one symbol, with its parameters in
// nanoseconds.
type symbolState struct {
	name       string
	logPrice   float64 // exact log of the price in dollars
	lastAt     float64 // time of the symbol's previous tick, in nanoseconds since start
	driftPerNs float64
	varPerNs   float64
	trading    symbolTrading // its status and bands; used by RunMarket only
}

// NewSimulator returns a Simulator whose simulated time starts at
// cfg.Clock.Now(). It reports an error if the rate is not in (0, MaxRate]
// or the universe is not valid.
func NewSimulator(cfg SimulatorConfig) (*Simulator, error) {
	if !(cfg.Rate > 0 && cfg.Rate <= MaxRate) { // false for NaN
		return nil, setting.Bad("Rate", cfg.Rate, fmt.Sprintf("ticks per second above 0 and at most %v", float64(MaxRate)))
	}
	if err := validateSymbols(cfg.Symbols); err != nil {
		return nil, err
	}
	if cfg.FirstSeq == 0 {
		cfg.FirstSeq = 1
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if !(cfg.Speed > 0 && cfg.Speed <= MaxSpeed) {
		return nil, fmt.Errorf("clock speed %v must be in (0, %v]", cfg.Speed, float64(MaxSpeed))
	}
	s := &Simulator{
		symbols: slices.Clone(cfg.Symbols),
		state:   make([]symbolState, len(cfg.Symbols)),
		rng:     rand.New(rand.NewPCG(cfg.Seed, pcgStream)),
		clock:   cfg.Clock,
		start:   cfg.Clock.Now(),
		meanGap: float64(time.Second) * cfg.Speed / cfg.Rate,
		seq:     cfg.FirstSeq,
		// ResyncLag is real time: a clock that runs faster is further ahead.
		resyncLag: time.Duration(float64(ResyncLag) * cfg.Speed),
	}
	year := float64(TradingYear)
	for i, sym := range s.symbols {
		s.state[i] = symbolState{
			name:       sym.Name,
			logPrice:   math.Log(sym.Price),
			driftPerNs: sym.Drift / year,
			varPerNs:   sym.Volatility * sym.Volatility / year,
		}
	}
	if cfg.Market != nil {
		m, err := newMarketState(cfg.Market, s.start)
		if err != nil {
			return nil, err
		}
		s.market = m
	}
	s.scheduleNext()
	return s, nil
}

// Symbols returns a copy of the simulator's universe.
func (s *Simulator) Symbols() []Symbol { return slices.Clone(s.symbols) }

// Next returns the next tick, whatever the clock says.
func (s *Simulator) Next() Tick {
	at := s.at
	s.scheduleNext()

	t := s.trade(&s.state[s.rng.IntN(len(s.state))], at, 1)
	t.Seq = s.seq
	s.seq++
	return t
}

// trade moves st's price to at and returns its trade there, with the spread
// widened by spreadFactor.
func (s *Simulator) trade(st *symbolState, at float64, spreadFactor float64) Tick {
	dt := at - st.lastAt
	st.logPrice += st.driftPerNs*dt + math.Sqrt(st.varPerNs*dt)*s.rng.NormFloat64()
	st.lastAt = at

	price := int64(min(max(math.Round(math.Exp(st.logPrice)*100), 1), maxCents))
	share := (minSpread + (maxSpread-minSpread)*s.rng.Float64()) * spreadFactor
	spread := max(1, int64(math.Round(float64(price)*share)))
	bid := max(1, price-s.rng.Int64N(spread+1)) // the trade is at the bid, the ask or between
	ask := bid + spread

	return Tick{
		Symbol: st.name,
		Price:  float64(price) / 100,
		Bid:    float64(bid) / 100,
		Ask:    float64(ask) / 100,
		Size:   s.size(),
		Time:   s.timeAt(at),
	}
}

// Run publishes each tick when the clock reaches its time, until ctx is
// done, when it returns nil. Ticks that are due are published one after
// another without waiting; if the clock is more than [ResyncLag] past the
// next tick's time, the ticks in between are skipped (the market went on
// without us: the next tick's price moves over the whole gap) and the
// schedule restarts at the clock's time. publish is called from Run's
// goroutine and delays the ticks after it while it runs.
//
// Run reports an error only if the simulator is already running.
func (s *Simulator) Run(ctx context.Context, publish func(Tick)) error {
	if s.market != nil {
		return s.RunMarket(ctx, ticksOnly(publish))
	}
	return s.run(ctx, func(now time.Time) bool {
		if s.timeAt(s.at).After(now) {
			return false
		}
		publish(s.Next())
		return true
	})
}

// run calls step with the clock's time until it reports that nothing more
// is due, then waits for the next arrival or market event, until ctx is
// done. Arrivals more than ResyncLag late are skipped, as Run says.
func (s *Simulator) run(ctx context.Context, step func(now time.Time) bool) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("simulator is already running")
	}
	defer s.running.Store(false)

	var timer Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := s.clock.Now()
		if now.Sub(s.timeAt(s.at)) > s.resyncLag {
			s.at = float64(now.Sub(s.start))
		}
		for {
			if ctx.Err() != nil {
				return nil
			}
			if !step(now) {
				break
			}
		}
		next := s.at
		if s.market != nil {
			next = min(next, s.market.nextDue(s.state))
		}
		wait := s.timeAt(next).Sub(now)
		if timer == nil {
			timer = s.clock.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C():
		}
	}
}

// ticksOnly is the MarketEvents of Run: the ticks, and nothing else.
type ticksOnly func(Tick)

func (f ticksOnly) Tick(t Tick)        { f(t) }
func (ticksOnly) Status(market.Status) {}
func (ticksOnly) Bands(market.Bands)   {}

// scheduleNext draws the time of the arrival after the one at s.at.
func (s *Simulator) scheduleNext() { s.at += s.rng.ExpFloat64() * s.meanGap }

// timeAt returns the clock time of at nanoseconds of simulated time,
// saturating at maxAt.
func (s *Simulator) timeAt(at float64) time.Time {
	return s.start.Add(time.Duration(min(at, maxAt)))
}

// size draws a trade size in shares: an odd lot, or mostly a few round lots.
func (s *Simulator) size() int64 {
	if s.rng.Float64() < oddLotShare {
		return 1 + s.rng.Int64N(99)
	}
	lots := 1 + int64(s.rng.ExpFloat64()*meanLots)
	return 100 * min(lots, maxLots)
}
