package feed_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/fakeclock"
)

func newSimulator(t testing.TB, cfg feed.SimulatorConfig) *feed.Simulator {
	t.Helper()
	if cfg.Symbols == nil {
		cfg.Symbols = feed.DefaultUniverse()
	}
	if cfg.Clock == nil {
		cfg.Clock = fakeclock.New(testStart)
	}
	s, err := feed.NewSimulator(cfg)
	if err != nil {
		t.Fatalf("NewSimulator: %v", err)
	}
	return s
}

func TestNewSimulatorValidates(t *testing.T) {
	one := []feed.Symbol{{Name: "ACME", Price: 10, Volatility: 0.3}}
	tests := []struct {
		name    string
		cfg     feed.SimulatorConfig
		wantErr string
	}{
		{"zero rate", feed.SimulatorConfig{Symbols: one}, "Rate 0: want ticks per second above 0 and at most 1e+06"},
		{"negative rate", feed.SimulatorConfig{Symbols: one, Rate: -1}, "Rate -1: want"},
		{"NaN rate", feed.SimulatorConfig{Symbols: one, Rate: math.NaN()}, "Rate NaN: want"},
		{"infinite rate", feed.SimulatorConfig{Symbols: one, Rate: math.Inf(1)}, "Rate +Inf: want"},
		{"rate above max", feed.SimulatorConfig{Symbols: one, Rate: 1e6 + 1}, "Rate 1.000001e+06: want"},
		{"no symbols", feed.SimulatorConfig{Rate: 1}, "no symbols"},
		{"bad symbol", feed.SimulatorConfig{Rate: 1, Symbols: []feed.Symbol{{Name: "ACME", Price: 10}}}, `symbol "ACME": volatility 0 must be`},
		{"duplicate", feed.SimulatorConfig{Rate: 1, Symbols: append(one, one...)}, `symbol "ACME": listed twice`},
		{"max rate", feed.SimulatorConfig{Symbols: one, Rate: 1e6}, ""},
		{"tiny rate", feed.SimulatorConfig{Symbols: one, Rate: 1e-9}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := feed.NewSimulator(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("NewSimulator = %v, %v; want a simulator", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSimulatorDefaults(t *testing.T) {
	syms := []feed.Symbol{{Name: "ACME", Price: 10, Volatility: 0.3}, {Name: "BOLT", Price: 20, Volatility: 0.3}}
	before := time.Now()
	s := newSimulator(t, feed.SimulatorConfig{Symbols: syms, Rate: 1000, Clock: feed.SystemClock{}})
	first := s.Next()
	if first.Seq != 1 {
		t.Errorf("first Seq = %d with FirstSeq 0, want 1", first.Seq)
	}
	if first.Time.Before(before) || first.Time.Sub(before) > time.Minute {
		t.Errorf("first Time = %v, want soon after %v (the system clock's time)", first.Time, before)
	}

	s = newSimulator(t, feed.SimulatorConfig{Symbols: syms, Rate: 1000, FirstSeq: 42})
	if seq := s.Next().Seq; seq != 42 {
		t.Errorf("first Seq = %d with FirstSeq 42, want 42", seq)
	}

	got := s.Symbols()
	got[0].Name = "XXX"
	syms[1].Name = "YYY"
	if again := s.Symbols(); again[0].Name != "ACME" || again[1].Name != "BOLT" {
		t.Errorf("Symbols = %v after editing the config and a returned slice, want ACME and BOLT", again)
	}
}

func TestSimulatorIsDeterministic(t *testing.T) {
	const n = 10_000
	gen := func(seed uint64) []feed.Tick {
		s := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Seed: seed})
		ticks := make([]feed.Tick, n)
		for i := range ticks {
			ticks[i] = s.Next()
		}
		return ticks
	}
	a, b, c := gen(1), gen(1), gen(2)
	differ := 0
	for i := range n {
		if a[i] != b[i] {
			t.Fatalf("tick %d differs with the same seed:\n%+v\n%+v", i, a[i], b[i])
		}
		if a[i] != c[i] {
			differ++
		}
	}
	if differ < n*99/100 {
		t.Errorf("seeds 1 and 2 give %d different ticks out of %d, want nearly all", differ, n)
	}
}

// onCentGrid reports whether p is a whole number of cents.
func onCentGrid(p float64) bool { return math.Round(p*100)/100 == p }

func TestSimulatorTickInvariants(t *testing.T) {
	thousand := make([]feed.Symbol, 1000)
	for i := range thousand {
		thousand[i] = feed.Symbol{Name: "S" + strconv.Itoa(i), Price: float64(1 + i), Volatility: 0.5}
	}
	tests := []struct {
		name      string
		cfg       feed.SimulatorConfig
		n         int
		wantFloor bool // some trades at the one-cent floor
	}{
		{"default universe", feed.SimulatorConfig{Rate: 1000, Seed: 1}, 100_000, false},
		{"thousand symbols at max rate", feed.SimulatorConfig{Symbols: thousand, Rate: feed.MaxRate, Seed: 2, FirstSeq: 1 << 40}, 100_000, false},
		{"penny stock falling", feed.SimulatorConfig{Symbols: []feed.Symbol{{Name: "PENNY", Price: 0.01, Volatility: 5, Drift: -5}}, Rate: 1e-4, Seed: 3}, 20_000, true},
		{"mega price rising", feed.SimulatorConfig{Symbols: []feed.Symbol{{Name: "MEGA", Price: feed.MaxPrice, Volatility: 5, Drift: 5}}, Rate: 1e-4, Seed: 4}, 20_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSimulator(t, tt.cfg)
			known := map[string]bool{}
			for _, sym := range s.Symbols() {
				known[sym.Name] = true
			}
			var prev feed.Tick
			oddLots, atFloor := 0, 0
			for i := range tt.n {
				tk := s.Next()
				if i == 0 {
					if want := max(tt.cfg.FirstSeq, 1); tk.Seq != want {
						t.Fatalf("first Seq = %d, want %d", tk.Seq, want)
					}
				} else {
					if tk.Seq != prev.Seq+1 {
						t.Fatalf("tick %d: Seq %d after %d", i, tk.Seq, prev.Seq)
					}
					if tk.Time.Before(prev.Time) {
						t.Fatalf("tick %d: Time %v before %v", i, tk.Time, prev.Time)
					}
				}
				if !known[tk.Symbol] {
					t.Fatalf("tick %d: unknown symbol %q", i, tk.Symbol)
				}
				if !(tk.Price >= 0.01) || math.IsInf(tk.Price, 0) || !onCentGrid(tk.Price) || !onCentGrid(tk.Bid) || !onCentGrid(tk.Ask) {
					t.Fatalf("tick %d: prices off the cent grid or not positive: %+v", i, tk)
				}
				if !(tk.Bid > 0 && tk.Bid < tk.Ask && tk.Bid <= tk.Price && tk.Price <= tk.Ask) {
					t.Fatalf("tick %d: want 0 < bid <= price <= ask and bid < ask: %+v", i, tk)
				}
				// The spread is 1 to 3 basis points of the price, at least a cent.
				spread := math.Round((tk.Ask - tk.Bid) * 100)
				if maxSpread := max(1, math.Round(tk.Price*100*3e-4)); spread > maxSpread {
					t.Fatalf("tick %d: spread %v cents, want at most %v: %+v", i, spread, maxSpread, tk)
				}
				if tk.Size <= 0 || tk.Size > 5000 || (tk.Size >= 100 && tk.Size%100 != 0) {
					t.Fatalf("tick %d: size %d, want 1..99 or round lots up to 5000", i, tk.Size)
				}
				if tk.Size < 100 {
					oddLots++
				}
				if tk.Price == 0.01 {
					atFloor++
				}
				prev = tk
			}
			// Odd lots are 12% of trades: binomial, within 4σ.
			share, sigma := float64(oddLots)/float64(tt.n), math.Sqrt(0.12*0.88/float64(tt.n))
			if math.Abs(share-0.12) > 4*sigma {
				t.Errorf("odd lots are %.4f of trades, want 0.12 ± %.4f", share, 4*sigma)
			}
			if tt.wantFloor != (atFloor > 0) {
				t.Errorf("%d trades at the one-cent floor, want some: %v", atFloor, tt.wantFloor)
			}
		})
	}
}

// ticksUntil returns the ticks of s up to and including time end.
func ticksUntil(s *feed.Simulator, end time.Time) []feed.Tick {
	var ticks []feed.Tick
	for {
		tk := s.Next()
		if tk.Time.After(end) {
			return ticks
		}
		ticks = append(ticks, tk)
	}
}

func TestSimulatorArrivals(t *testing.T) {
	for _, rate := range []float64{20, 1000, 3000} {
		t.Run(strconv.FormatFloat(rate, 'g', -1, 64), func(t *testing.T) {
			s := newSimulator(t, feed.SimulatorConfig{Rate: rate, Seed: uint64(rate)})
			ticks := ticksUntil(s, testStart.Add(time.Minute))

			// The count over a minute is Poisson with mean 60·rate.
			mean := 60 * rate
			if n := float64(len(ticks)); math.Abs(n-mean) > 4*math.Sqrt(mean) {
				t.Errorf("%v ticks in a simulated minute, want %v ± %.0f", n, mean, 4*math.Sqrt(mean))
			}

			// Gaps are exponential with mean 1/rate: the sample mean is within
			// 4σ = 4/(rate·√n), the coefficient of variation is 1 within
			// 4/√n (its asymptotic variance for an exponential is 1/n), and
			// a share e⁻¹ of gaps exceeds the mean, within 4σ of a binomial.
			gaps := make([]float64, len(ticks))
			prev := testStart
			for i, tk := range ticks {
				gaps[i] = tk.Time.Sub(prev).Seconds()
				prev = tk.Time
			}
			n := float64(len(gaps))
			gapMean, gapSD := meanSD(gaps)
			if want := 1 / rate; math.Abs(gapMean-want) > 4*want/math.Sqrt(n) {
				t.Errorf("mean gap %v s, want %v ± %v", gapMean, want, 4*want/math.Sqrt(n))
			}
			if cv := gapSD / gapMean; math.Abs(cv-1) > 4/math.Sqrt(n) {
				t.Errorf("coefficient of variation of gaps %.4f, want 1 ± %.4f", cv, 4/math.Sqrt(n))
			}
			long := 0
			for _, g := range gaps {
				if g > 1/rate {
					long++
				}
			}
			p := math.Exp(-1)
			if share := float64(long) / n; math.Abs(share-p) > 4*math.Sqrt(p*(1-p)/n) {
				t.Errorf("share of gaps above the mean %.4f, want %.4f ± %.4f", share, p, 4*math.Sqrt(p*(1-p)/n))
			}
		})
	}
}

func TestSimulatorPicksSymbolsUniformly(t *testing.T) {
	s := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Seed: 9})
	k := len(s.Symbols())
	const n = 200_000
	counts := map[string]int{}
	for range n {
		counts[s.Next().Symbol]++
	}
	if len(counts) != k {
		t.Fatalf("%d symbols traded, want all %d", len(counts), k)
	}
	// Pearson's χ² with k-1 degrees of freedom has mean k-1 and
	// variance 2(k-1); a uniform choice stays within 5σ of the mean.
	expected, chi2 := float64(n)/float64(k), 0.0
	for _, c := range counts {
		chi2 += (float64(c) - expected) * (float64(c) - expected) / expected
	}
	df := float64(k - 1)
	if limit := df + 5*math.Sqrt(2*df); chi2 > limit {
		t.Errorf("χ² = %.1f over %d symbols, want at most %.1f for a uniform choice", chi2, k, limit)
	}
}

func TestSimulatorNextDoesNotAllocate(t *testing.T) {
	s := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Seed: 1})
	if allocs := testing.AllocsPerRun(10_000, func() { _ = s.Next() }); allocs != 0 {
		t.Errorf("Next allocates %v times per call, want 0", allocs)
	}
}

// collector records what Run publishes.
type collector struct {
	mu    sync.Mutex
	ticks []feed.Tick
}

func (c *collector) publish(t feed.Tick) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ticks = append(c.ticks, t)
}

func (c *collector) snapshot() []feed.Tick {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]feed.Tick(nil), c.ticks...)
}

// running is a Simulator.Run in a goroutine that the test owns.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func startRun(t *testing.T, s *feed.Simulator, publish func(feed.Tick)) *running {
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx, publish) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and fails the test unless it returns nil promptly.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancel")
	}
	r.done = nil
}

// awaitIdle waits until Run is waiting on the fake clock again, which it
// does only after publishing every tick that is due.
func awaitIdle(t *testing.T, clock *fakeclock.Clock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := clock.AwaitTimers(ctx, 1); err != nil {
		t.Fatalf("Run did not go back to waiting on the clock: %v", err)
	}
}

func TestRunPublishesTicksWhenDue(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := fakeclock.New(testStart)
	cfg := feed.SimulatorConfig{Rate: 200, Seed: 5, FirstSeq: 1000}
	cfg.Clock = clock
	sim := newSimulator(t, cfg)
	cfg.Clock = fakeclock.New(testStart)
	reference := ticksUntil(newSimulator(t, cfg), testStart.Add(5*time.Second))

	var got collector
	r := startRun(t, sim, got.publish)
	awaitIdle(t, clock)
	if n := len(got.snapshot()); n != 0 {
		t.Fatalf("%d ticks published before the clock moved, want 0", n)
	}

	// Advance in steps of one second, then smaller and larger ones; after
	// each, the published ticks are exactly the reference's up to now.
	now := testStart
	for i, step := range []time.Duration{time.Second, time.Second, time.Second, 250 * time.Millisecond, time.Millisecond, 900 * time.Millisecond} {
		clock.Advance(step)
		now = now.Add(step)
		want := reference
		for len(want) > 0 && want[len(want)-1].Time.After(now) {
			want = want[:len(want)-1]
		}
		awaitIdle(t, clock)
		ticks := got.snapshot()
		if len(ticks) != len(want) {
			t.Fatalf("step %d (clock at +%v): %d ticks published, want %d", i, now.Sub(testStart), len(ticks), len(want))
		}
		for j := range want {
			if ticks[j] != want[j] {
				t.Fatalf("step %d: tick %d = %+v, want %+v", i, j, ticks[j], want[j])
			}
		}
	}
	if n := len(got.snapshot()); n < 3*150 {
		t.Fatalf("only %d ticks in 4 s at 200/s; the test proves little", n)
	}

	r.stop(t)
	if n := clock.Timers(); n != 0 {
		t.Errorf("%d timers left on the clock after Run returned, want 0", n)
	}
}

func TestRunResynchronisesAfterAJump(t *testing.T) {
	clock := fakeclock.New(testStart)
	const rate = 500
	sim := newSimulator(t, feed.SimulatorConfig{Rate: rate, Seed: 6, Clock: clock})
	var got collector
	startRun(t, sim, got.publish)
	awaitIdle(t, clock)

	clock.Advance(time.Second)
	awaitIdle(t, clock)
	before := len(got.snapshot())

	// Ten seconds at once: one tick now, not ten seconds' worth.
	clock.Advance(10 * time.Second)
	awaitIdle(t, clock)
	ticks := got.snapshot()
	if n := len(ticks) - before; n != 1 {
		t.Fatalf("%d ticks published after a 10 s jump, want 1", n)
	}
	resumed := ticks[len(ticks)-1]
	if want := testStart.Add(11 * time.Second); !resumed.Time.Equal(want) {
		t.Errorf("first tick after the jump at %v, want %v", resumed.Time, want)
	}

	// Then the schedule goes on from there at the configured rate.
	clock.Advance(time.Second)
	awaitIdle(t, clock)
	ticks = got.snapshot()
	after := ticks[before+1:]
	if n := float64(len(after)); math.Abs(n-rate) > 4*math.Sqrt(rate) {
		t.Errorf("%v ticks in the second after the jump, want %v ± %.0f", n, rate, 4*math.Sqrt(rate))
	}
	for i := 1; i < len(ticks); i++ {
		if ticks[i].Seq != ticks[i-1].Seq+1 {
			t.Fatalf("Seq %d after %d across the jump", ticks[i].Seq, ticks[i-1].Seq)
		}
	}
	for _, tk := range after {
		if !tk.Time.After(resumed.Time) || tk.Time.After(testStart.Add(12*time.Second)) {
			t.Fatalf("tick at %v, want it in (%v, +12s]", tk.Time, resumed.Time)
		}
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Run("cancelled before Run", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		clock := fakeclock.New(testStart)
		sim := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Clock: clock})
		clock.Advance(500 * time.Millisecond) // ticks are due
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		published := 0
		if err := sim.Run(ctx, func(feed.Tick) { published++ }); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if published != 0 {
			t.Errorf("%d ticks published with a cancelled context, want 0", published)
		}
	})

	t.Run("cancelled while publishing a burst", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		clock := fakeclock.New(testStart)
		sim := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Clock: clock})
		clock.Advance(500 * time.Millisecond) // about 500 ticks are due
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		published := 0
		err := sim.Run(ctx, func(feed.Tick) {
			if published++; published == 10 {
				cancel()
			}
		})
		if err != nil || published != 10 {
			t.Errorf("Run = %v after %d ticks, want nil after 10", err, published)
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		defer goleak.VerifyNone(t)
		clock := fakeclock.New(testStart)
		sim := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Clock: clock})
		r := startRun(t, sim, func(feed.Tick) {})
		awaitIdle(t, clock)
		r.stop(t)
		if n := clock.Timers(); n != 0 {
			t.Errorf("%d timers left on the clock, want 0", n)
		}
	})
}

func TestRunRefusesASecondRun(t *testing.T) {
	clock := fakeclock.New(testStart)
	sim := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Clock: clock})
	r := startRun(t, sim, func(feed.Tick) {})
	awaitIdle(t, clock)
	err := sim.Run(t.Context(), func(feed.Tick) {})
	if err == nil || err.Error() != "simulator is already running" {
		t.Errorf("second Run = %v, want %q", err, "simulator is already running")
	}
	r.stop(t)

	// Once the first returns, the simulator can run again.
	r = startRun(t, sim, func(feed.Tick) {})
	awaitIdle(t, clock)
	r.stop(t)
}

func TestRunOnTheSystemClock(t *testing.T) {
	defer goleak.VerifyNone(t)
	sim := newSimulator(t, feed.SimulatorConfig{Rate: 5000, Seed: 8, Clock: feed.SystemClock{}})
	const want = 100
	ticks := make(chan feed.Tick, want)
	var early []string
	r := startRun(t, sim, func(tk feed.Tick) {
		if now := time.Now(); tk.Time.After(now) {
			early = append(early, tk.Time.Sub(now).String())
		}
		select {
		case ticks <- tk:
		default:
		}
	})
	deadline := time.After(10 * time.Second)
	var prev uint64
	for i := range want {
		select {
		case tk := <-ticks:
			if i > 0 && tk.Seq != prev+1 {
				t.Fatalf("Seq %d after %d", tk.Seq, prev)
			}
			prev = tk.Seq
		case <-deadline:
			t.Fatalf("%d ticks in 10 s at 5000/s", i)
		}
	}
	r.stop(t) // Run has returned: early is ours now
	if len(early) > 0 {
		t.Errorf("%d ticks published before their time, by %v", len(early), early)
	}
}

func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

func BenchmarkSimulatorNext(b *testing.B) {
	s := newSimulator(b, feed.SimulatorConfig{Rate: 1000, Seed: 1})
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Next()
	}
}
