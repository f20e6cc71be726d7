package feed

import (
	"math"
	"strconv"
	"testing"
)

// The tests here read the simulator's exact log-prices, so they live in
// package feed. They only call Next, which never waits on the clock, so
// they run on the system clock: the ticks' times then start at the
// simulator's construction, and their statistics are the same.

// TestLogReturnsFollowTheModel checks that, between two ticks of a symbol
// Δt trading years apart, the log-return r is N(Drift·Δt, Volatility²·Δt).
//
// With n returns, the standardised returns z = (r − Drift·Δt)/(Volatility·√Δt)
// are n draws of N(0,1): their mean is within 4/√n of 0 and the mean of z²
// within 4·√(2/n) of 1. For the drift, the total log-change D = Σ(r − Drift·Δt)
// over all symbols is N(0, Σ Volatility²·T) where T is each symbol's time
// covered; |D| must be within 4 standard deviations. A drift error δ is
// caught once δ·ΣT exceeds that, which is why the first case runs over tens
// of simulated years.
func TestLogReturnsFollowTheModel(t *testing.T) {
	const symbolGap = 0.1 // trading years between two ticks of one symbol, on average
	tradingYearSeconds := TradingYear.Seconds()
	tests := []struct {
		name    string
		symbols []Symbol
		rate    float64
		n       int
		driftSD float64 // the largest standard deviation of the drift estimate the case may have
	}{
		{
			name:    "thousand symbols over twenty years",
			symbols: repeatSymbol(1000, Symbol{Price: 100, Volatility: 0.4, Drift: 0.5}),
			rate:    1000 / (symbolGap * tradingYearSeconds),
			n:       200_000,
			driftSD: 0.004,
		},
		{
			name:    "one volatile symbol with negative drift",
			symbols: []Symbol{{Name: "WILD", Price: 50, Volatility: 2.5, Drift: -1.5}},
			rate:    1 / (0.001 * tradingYearSeconds),
			n:       50_000,
			driftSD: 0.4,
		},
		{
			name:    "default universe at 1000 ticks per second",
			symbols: DefaultUniverse(),
			rate:    1000,
			n:       200_000,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSimulator(SimulatorConfig{Symbols: tt.symbols, Rate: tt.rate, Seed: 11})
			if err != nil {
				t.Fatal(err)
			}
			index := make(map[string]int, len(tt.symbols))
			for i, sym := range tt.symbols {
				index[sym.Name] = i
			}
			startLog := make([]float64, len(s.state))
			prevLog := make([]float64, len(s.state))
			prevAt := make([]float64, len(s.state))
			for i, st := range s.state {
				startLog[i], prevLog[i] = st.logPrice, st.logPrice
			}

			var sumZ, sumZ2 float64
			for range tt.n {
				tk := s.Next()
				i := index[tk.Symbol]
				st := s.state[i]
				sym := tt.symbols[i]

				// The published price is the exact price on the cent grid.
				if want := max(math.Round(math.Exp(st.logPrice)*100), 1) / 100; tk.Price != want {
					t.Fatalf("%s: price %v, want %v for log-price %v", tk.Symbol, tk.Price, want, st.logPrice)
				}

				dt := (st.lastAt - prevAt[i]) / float64(TradingYear)
				if dt <= 0 {
					t.Fatalf("%s: tick %d not after the previous one", tk.Symbol, tk.Seq)
				}
				z := (st.logPrice - prevLog[i] - sym.Drift*dt) / (sym.Volatility * math.Sqrt(dt))
				sumZ += z
				sumZ2 += z * z
				prevLog[i], prevAt[i] = st.logPrice, st.lastAt
			}

			n := float64(tt.n)
			if mean := sumZ / n; math.Abs(mean) > 4/math.Sqrt(n) {
				t.Errorf("mean standardised return %.5f, want 0 ± %.5f", mean, 4/math.Sqrt(n))
			}
			if variance := sumZ2 / n; math.Abs(variance-1) > 4*math.Sqrt(2/n) {
				t.Errorf("mean squared standardised return %.5f, want 1 ± %.5f", variance, 4*math.Sqrt(2/n))
			}

			var d, varD, totalT, driftT float64
			for i, sym := range tt.symbols {
				T := prevAt[i] / float64(TradingYear)
				d += prevLog[i] - startLog[i] - sym.Drift*T
				varD += sym.Volatility * sym.Volatility * T
				totalT += T
				driftT += sym.Drift * T
			}
			if math.Abs(d) > 4*math.Sqrt(varD) {
				t.Errorf("log-change beyond the drift %.4f, want 0 ± %.4f", d, 4*math.Sqrt(varD))
			}
			// The same as an estimate of the (common) drift, for the log.
			drift, sd := (driftT+d)/totalT, math.Sqrt(varD)/totalT
			t.Logf("estimated drift %.4g ± %.4g over %.3g symbol-years", drift, sd, totalT)
			if tt.driftSD > 0 && sd > tt.driftSD {
				t.Errorf("drift estimate has sd %.4f, want at most %v: the case is too short to test the drift", sd, tt.driftSD)
			}
		})
	}
}

// TestPublishedLogReturns checks the log-returns of the published prices,
// cent rounding included, of a $5,000 stock at a realistic rate. One tick
// moves the price by about 14 cents, so rounding to the cent adds about
// 2·(1/12)/14² ≈ 0.1% to the variance, well within the tolerance 4·√(2/n) ≈ 1.3%.
func TestPublishedLogReturns(t *testing.T) {
	const vol, n = 0.3, 200_000
	s, err := NewSimulator(SimulatorConfig{
		Symbols: []Symbol{{Name: "HIGH", Price: 5000, Volatility: vol}},
		Rate:    20,
		Seed:    12,
	})
	if err != nil {
		t.Fatal(err)
	}
	prev := s.Next()
	var sumZ, sumZ2 float64
	for range n {
		tk := s.Next()
		dt := tk.Time.Sub(prev.Time).Seconds() / TradingYear.Seconds()
		z := math.Log(tk.Price/prev.Price) / (vol * math.Sqrt(dt))
		sumZ += z
		sumZ2 += z * z
		prev = tk
	}
	if mean := sumZ / n; math.Abs(mean) > 4/math.Sqrt(n) {
		t.Errorf("mean standardised return %.5f, want 0 ± %.5f", mean, 4/math.Sqrt(n))
	}
	if variance := sumZ2 / n; math.Abs(variance-1) > 4*math.Sqrt(2.0/n) {
		t.Errorf("mean squared standardised return %.5f, want 1 ± %.5f", variance, 4*math.Sqrt(2.0/n))
	}
}

func repeatSymbol(n int, s Symbol) []Symbol {
	syms := make([]Symbol, n)
	for i := range syms {
		syms[i] = s
		syms[i].Name = "S" + strconv.Itoa(i)
	}
	return syms
}
