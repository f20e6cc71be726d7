package feed_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/fakeclock"
	"github.com/tickerd/tickerd/market"
)

// marketEvent is one event of RunMarket: exactly one field is set.
type marketEvent struct {
	tick   *feed.Tick
	status *market.Status
	bands  *market.Bands
}

func (e marketEvent) seq() uint64 {
	switch {
	case e.tick != nil:
		return e.tick.Seq
	case e.status != nil:
		return e.status.Seq
	}
	return e.bands.Seq
}

// recorder keeps what RunMarket hands it.
type recorder struct {
	mu     sync.Mutex
	events []marketEvent
}

func (r *recorder) Tick(t feed.Tick) { r.add(marketEvent{tick: &t}) }
func (r *recorder) Status(s market.Status) {
	r.add(marketEvent{status: &s})
}
func (r *recorder) Bands(b market.Bands) { r.add(marketEvent{bands: &b}) }
func (r *recorder) add(e marketEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// runMarket runs a market simulator on a fake clock that starts at start,
// advancing the clock by step until it reaches end, waiting each time for
// the simulator to wait again, and returns everything it handed on.
func runMarket(t *testing.T, cfg feed.SimulatorConfig, start, end time.Time, step time.Duration) []marketEvent {
	t.Helper()
	clock := fakeclock.New(start)
	cfg.Clock = clock
	s := newSimulator(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec := &recorder{}
	done := make(chan error, 1)
	go func() { done <- s.RunMarket(ctx, rec) }()
	for clock.Now().Before(end) {
		if err := clock.AwaitTimers(ctx, 1); err != nil {
			t.Fatalf("the simulator did not wait for the clock: %v", err)
		}
		clock.Advance(step)
	}
	if err := clock.AwaitTimers(ctx, 1); err != nil {
		t.Fatalf("the simulator did not wait for the clock: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunMarket: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := 1; i < len(rec.events); i++ {
		if a, b := rec.events[i-1].seq(), rec.events[i].seq(); b != a+1 {
			t.Fatalf("event %d has seq %d after %d; want one sequence", i, b, a)
		}
	}
	return rec.events
}

func nyTime(s string) time.Time {
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return at
}

// TestMarketSessions runs the exchange calendar's market across both of
// 2026's clock changes and an early close: the session changes come at the
// New York times, and nothing trades while the market is closed.
func TestMarketSessions(t *testing.T) {
	cal := market.NewYork()
	type change struct {
		at    string
		state string
	}
	tests := []struct {
		name       string
		start, end string
		want       []change
	}{
		{"spring forward", "2026-03-06T15:58:00-05:00", "2026-03-09T09:32:00-04:00", []change{
			{"2026-03-06T15:58:00-05:00", "trading"},
			{"2026-03-06T16:00:00-05:00", "post"},
			{"2026-03-06T20:00:00-05:00", "closed"},
			{"2026-03-09T04:00:00-04:00", "pre"},
			{"2026-03-09T09:30:00-04:00", "trading"},
		}},
		{"fall back", "2026-10-30T15:58:00-04:00", "2026-11-02T09:32:00-05:00", []change{
			{"2026-10-30T15:58:00-04:00", "trading"},
			{"2026-10-30T16:00:00-04:00", "post"},
			{"2026-10-30T20:00:00-04:00", "closed"},
			{"2026-11-02T04:00:00-05:00", "pre"},
			{"2026-11-02T09:30:00-05:00", "trading"},
		}},
		{"early close", "2026-12-24T12:55:00-05:00", "2026-12-28T09:31:00-05:00", []change{
			{"2026-12-24T12:55:00-05:00", "trading"},
			{"2026-12-24T13:00:00-05:00", "post"},
			{"2026-12-24T17:00:00-05:00", "closed"},
			{"2026-12-28T04:00:00-05:00", "pre"},
			{"2026-12-28T09:30:00-05:00", "trading"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := feed.SimulatorConfig{Rate: 20, Seed: 3, Market: &feed.MarketConfig{Calendar: cal}}
			events := runMarket(t, cfg, nyTime(tt.start), nyTime(tt.end), 20*time.Second)
			var got []change
			perSession := map[market.Session]int{}
			for _, e := range events {
				switch {
				case e.status != nil && e.status.Symbol == "":
					got = append(got, change{e.status.Time.Format(time.RFC3339), e.status.State})
				case e.tick != nil:
					s := cal.SessionAt(e.tick.Time)
					if s == market.Closed {
						t.Fatalf("tick %d at %v, when the market is closed", e.tick.Seq, e.tick.Time)
					}
					perSession[s]++
				}
			}
			var want []change
			for _, c := range tt.want {
				want = append(want, change{nyTime(c.at).In(time.Local).Format(time.RFC3339), c.state})
			}
			for i := range got {
				got[i].at = nyTime(got[i].at).In(time.Local).Format(time.RFC3339)
			}
			if !slices.Equal(got, want) {
				t.Errorf("market statuses\n got %v\nwant %v", got, want)
			}
			if perSession[market.Pre] == 0 || perSession[market.Post] == 0 || perSession[market.Regular] == 0 {
				t.Errorf("ticks per session %v; want some in each of pre, regular and post", perSession)
			}
		})
	}
}

// TestMarketExtendedHoursAreThinner compares an hour of after-hours with
// an hour of the regular session, on the same seed.
func TestMarketExtendedHoursAreThinner(t *testing.T) {
	cal := market.NewYork()
	count := func(start string) (ticks int, spread float64) {
		cfg := feed.SimulatorConfig{Rate: 20, Seed: 5, Market: &feed.MarketConfig{Calendar: cal}}
		from := nyTime(start)
		for _, e := range runMarket(t, cfg, from, from.Add(time.Hour), 500*time.Millisecond) {
			if e.tick != nil {
				ticks++
				spread += (e.tick.Ask - e.tick.Bid) / e.tick.Price
			}
		}
		return ticks, spread / float64(ticks)
	}
	regular, regularSpread := count("2026-03-10T11:00:00-04:00")
	post, postSpread := count("2026-03-10T17:00:00-04:00")
	// 72,000 arrivals an hour; a tenth of them trade after hours.
	if regular < 60000 || post > regular/5 || post < regular/20 {
		t.Errorf("%d ticks in an hour of the regular session, %d after hours; want about a tenth", regular, post)
	}
	if postSpread < 2.5*regularSpread {
		t.Errorf("mean spread after hours %.5f, in the regular session %.5f; want about four times as wide", postSpread, regularSpread)
	}
}

// checkHalts checks the trading rules over a market's events: no tick of
// a symbol that is not trading, none outside its bands, and each halt
// resumed after exactly its length. It returns the halts it saw by reason.
func checkHalts(t *testing.T, events []marketEvent) map[string]int {
	t.Helper()
	type symbol struct {
		halted *market.Status
		bands  *market.Bands
	}
	syms := map[string]*symbol{}
	get := func(name string) *symbol {
		if syms[name] == nil {
			syms[name] = &symbol{}
		}
		return syms[name]
	}
	halts := map[string]int{}
	for _, e := range events {
		switch {
		case e.tick != nil:
			s := get(e.tick.Symbol)
			if s.halted != nil {
				t.Fatalf("tick %d of %s at %v while %s since %v", e.tick.Seq, e.tick.Symbol, e.tick.Time, s.halted.State, s.halted.Time)
			}
			if s.bands == nil {
				t.Fatalf("tick %d of %s before its bands", e.tick.Seq, e.tick.Symbol)
			}
			if e.tick.Price < s.bands.Lower || e.tick.Price > s.bands.Upper {
				t.Fatalf("tick %d of %s at %v outside its bands %v–%v", e.tick.Seq, e.tick.Symbol, e.tick.Price, s.bands.Lower, s.bands.Upper)
			}
		case e.bands != nil:
			s := get(e.bands.Symbol)
			if s.halted != nil {
				t.Fatalf("bands of %s while it is halted", e.bands.Symbol)
			}
			if !(e.bands.Lower < e.bands.Ref && e.bands.Ref < e.bands.Upper) {
				t.Fatalf("bands %+v do not hold their reference", *e.bands)
			}
			s.bands = e.bands
		case e.status != nil && e.status.Symbol != "":
			s := get(e.status.Symbol)
			switch e.status.State {
			case market.StatePaused, market.StateHalted:
				if s.halted != nil {
					t.Fatalf("%s halted twice", e.status.Symbol)
				}
				s.halted = e.status
				halts[e.status.Reason]++
			case market.StateTrading:
				if s.halted == nil {
					t.Fatalf("%s resumed without a halt", e.status.Symbol)
				}
				length, reason := market.PauseLength, market.ReasonVolatility
				if s.halted.State == market.StateHalted {
					length, reason = feed.NewsHaltLength, market.ReasonNewsReleased
				}
				if got := e.status.Time.Sub(s.halted.Time); got != length || e.status.Reason != reason {
					t.Fatalf("%s resumed with %s %v after its %s; want %s after %v", e.status.Symbol, e.status.Reason, got, s.halted.State, reason, length)
				}
				s.halted, s.bands = nil, nil
			default:
				t.Fatalf("status %+v of a symbol", *e.status)
			}
		}
	}
	return halts
}

// TestMarketBandBreachPauses runs a wild stock around the clock: its price
// leaves its LULD bands, it pauses for five minutes, nothing trades in
// between, and it resumes with new bands.
func TestMarketBandBreachPauses(t *testing.T) {
	wild := []feed.Symbol{{Name: "WILD", Price: 50, Volatility: 5}, {Name: "CALM", Price: 20, Volatility: 0.1}}
	cfg := feed.SimulatorConfig{Symbols: wild, Rate: 20, Seed: 9, Market: &feed.MarketConfig{}}
	events := runMarket(t, cfg, testStart, testStart.Add(2*time.Hour), time.Second)
	halts := checkHalts(t, events)
	if halts[market.ReasonVolatility] == 0 {
		t.Fatalf("no volatility pause in two hours of a stock with 500%% volatility; halts %v", halts)
	}
	if halts[market.ReasonNewsPending] != 0 {
		t.Errorf("news halts %d with NewsHalts 0", halts[market.ReasonNewsPending])
	}
}

// TestMarketNewsHalts halts symbols for news at the configured rate.
func TestMarketNewsHalts(t *testing.T) {
	cfg := feed.SimulatorConfig{Rate: 50, Seed: 4, Market: &feed.MarketConfig{NewsHalts: 60}}
	events := runMarket(t, cfg, testStart, testStart.Add(time.Hour), time.Second)
	halts := checkHalts(t, events)
	// 60 an hour, less those that fall on a symbol already halted.
	if n := halts[market.ReasonNewsPending]; n < 30 || n > 90 {
		t.Errorf("%d news halts in an hour at 60 an hour", n)
	}
}

func TestMarketIsDeterministic(t *testing.T) {
	cfg := func() feed.SimulatorConfig {
		return feed.SimulatorConfig{Rate: 30, Seed: 8, Market: &feed.MarketConfig{Calendar: market.NewYork(), NewsHalts: 30}}
	}
	from := nyTime("2026-03-09T09:20:00-04:00")
	a := runMarket(t, cfg(), from, from.Add(30*time.Minute), time.Second)
	b := runMarket(t, cfg(), from, from.Add(30*time.Minute), time.Second)
	if len(a) != len(b) {
		t.Fatalf("%d events, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].seq() != b[i].seq() || (a[i].tick == nil) != (b[i].tick == nil) ||
			(a[i].tick != nil && *a[i].tick != *b[i].tick) || (a[i].status != nil && *a[i].status != *b[i].status) ||
			(a[i].bands != nil && *a[i].bands != *b[i].bands) {
			t.Fatalf("event %d differs between two runs of one seed", i)
		}
	}
}

func TestMarketConfigValidates(t *testing.T) {
	for _, rate := range []float64{-1, feed.MaxNewsHalts + 1} {
		_, err := feed.NewSimulator(feed.SimulatorConfig{Symbols: feed.DefaultUniverse(), Rate: 1, Market: &feed.MarketConfig{NewsHalts: rate}})
		if err == nil {
			t.Errorf("NewsHalts %v accepted", rate)
		}
	}
	for _, speed := range []float64{-1, feed.MaxSpeed * 2} {
		if _, err := feed.NewSimulator(feed.SimulatorConfig{Symbols: feed.DefaultUniverse(), Rate: 1, Speed: speed}); err == nil {
			t.Errorf("speed %v accepted", speed)
		}
	}
}

func TestScaledClock(t *testing.T) {
	base := fakeclock.New(testStart)
	start := nyTime("2026-12-24T12:55:00-05:00")
	c := feed.NewScaledClock(base, start, 60)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v; want %v", c.Now(), start)
	}
	timer := c.NewTimer(5 * time.Minute)
	base.Advance(4999 * time.Millisecond)
	select {
	case <-timer.C():
		t.Fatal("timer fired before the scaled clock moved five minutes")
	default:
	}
	base.Advance(time.Millisecond)
	<-timer.C()
	if got, want := c.Now(), start.Add(5*time.Minute); !got.Equal(want) {
		t.Errorf("Now = %v; want %v", got, want)
	}
	timer.Reset(time.Minute)
	base.Advance(time.Second)
	<-timer.C()
	timer.Stop()
}
