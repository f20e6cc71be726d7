package stream

import (
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestEveryReasonIsExportedFromTheStart checks that each labelled counter
// has a series for every reason before anything happened, so that rate()
// over it and the alerts on it work from the first scrape.
func TestEveryReasonIsExportedFromTheStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := DefaultConfig([]string{"AAPL", "MSFT"}, testFraming{})
	cfg.Registerer = reg
	if _, err := NewHub(cfg); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				got[f.GetName()] = append(got[f.GetName()], l.GetName()+"="+l.GetValue())
			}
		}
	}
	for name, want := range map[string][]string{
		"tickerd_streams_closed_total": {"reason=normal", "reason=over_limit", "reason=protocol", "reason=shutdown", "reason=slow", "reason=token_expired", "reason=write_error",
			"transport=test", "transport=test", "transport=test", "transport=test", "transport=test", "transport=test", "transport=test"},
		"tickerd_streams_opened_total":      {"transport=test"},
		"tickerd_clients":                   {"transport=test"},
		"tickerd_events_dropped_total":      {"reason=conflated", "reason=disconnected", "reason=throttled"},
		"tickerd_feed_ticks_rejected_total": {"reason=bad_price", "reason=bid_not_below_ask", "reason=halted", "reason=price_jump", "reason=sequence", "reason=universe_full", "reason=unknown_symbol"},
		"tickerd_feed_ticks_total":          {"symbol=AAPL", "symbol=MSFT"},
	} {
		slices.Sort(got[name])
		if !slices.Equal(got[name], want) {
			t.Errorf("%s labels %v, want %v", name, got[name], want)
		}
	}
}

// TestFlushCountsEachReasonInItsOwnSeries checks that what a writer counted
// by reason lands in the series labelled with that reason, and that a
// second flush adds only what was counted since.
func TestFlushCountsEachReasonInItsOwnSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, []string{"AAPL"}, []string{"sse", "ws"}, true)
	if err != nil {
		t.Fatal(err)
	}
	s := newWriterStats(2)
	want := map[string]float64{}
	for round := range 2 {
		for r := range s.dropped {
			s.dropped[r] = 1 + r + round
			want["tickerd_events_dropped_total/"+droppedNames[r]] += float64(1 + r + round)
		}
		for f, transport := range []string{"sse", "ws"} {
			for r := CloseNormal; r < CloseReason(len(s.closed[f])); r++ {
				s.closed[f][r] = 10 + 100*f + int(r) + round
				want["tickerd_streams_closed_total/"+r.String()+"/"+transport] += float64(10 + 100*f + int(r) + round)
			}
		}
		s.flush(m)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, c := range f.GetMetric() {
			if name := f.GetName(); name == "tickerd_events_dropped_total" || name == "tickerd_streams_closed_total" {
				key := name
				for _, l := range c.GetLabel() {
					key += "/" + l.GetValue()
				}
				got[key] = c.GetCounter().GetValue()
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
}

// TestTickToWireHasClassicAndNativeBuckets feeds known latencies through a
// writer's local counts and reads them back as Prometheus would.
func TestTickToWireHasClassicAndNativeBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, []string{"AAPL"}, []string{"sse"}, true)
	if err != nil {
		t.Fatal(err)
	}
	observed := []struct {
		v float64
		n int
	}{
		{-0.001, 1},            // a negative bucket
		{0, 2}, {0.0000005, 1}, // zero bucket
		{0.0003, 1}, {0.003, 4}, {0.0031, 1}, {0.2, 3}, {12, 1},
		{1 << 20, 1},                                // beyond the slots: overflow
		{math.NaN(), 5}, {math.Inf(1), 5}, {0.1, 0}, // not counted
	}
	wantKeys, wantNegative := map[int]int64{}, map[int]int64{}
	var wantN uint64
	var wantSum float64
	for round := range 2 { // the second round checks that merge reset the local counts
		s := newWriterStats(1)
		for _, o := range observed {
			s.latency.observeN(o.v, o.n)
		}
		s.flush(m)
		if s.latency.n != 0 || s.latency.native.zero != 0 {
			t.Fatalf("round %d: local counts not reset by flush", round)
		}
		for _, o := range observed {
			if o.n <= 0 || math.IsNaN(o.v) || math.IsInf(o.v, 0) {
				continue
			}
			wantN += uint64(o.n)
			wantSum += o.v * float64(o.n)
			switch {
			case o.v > nativeZeroThreshold:
				wantKeys[nativeKey(o.v)] += int64(o.n)
			case o.v < -nativeZeroThreshold:
				wantNegative[nativeKey(-o.v)] += int64(o.n)
			}
		}
	}
	h := gatherHistogram(t, reg, "tickerd_tick_to_wire_seconds")
	if h.GetSampleCount() != wantN || math.Abs(h.GetSampleSum()-wantSum) > 1e-9 {
		t.Errorf("count %d sum %g, want %d %g", h.GetSampleCount(), h.GetSampleSum(), wantN, wantSum)
	}
	classic := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		classic[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	if len(classic) != len(latencyBuckets) || classic[0.0001] != 8 || classic[0.005] != 20 || classic[0.25] != 26 || classic[10] != 26 {
		t.Errorf("classic buckets %v", classic)
	}
	if h.GetSchema() != nativeSchema || h.GetZeroThreshold() != nativeZeroThreshold || h.GetZeroCount() != 6 {
		t.Errorf("schema %d, zero threshold %g, zero count %d; want %d, %g, 6",
			h.GetSchema(), h.GetZeroThreshold(), h.GetZeroCount(), nativeSchema, nativeZeroThreshold)
	}
	if got := decodeNative(h.GetNegativeSpan(), h.GetNegativeDelta()); !maps.Equal(got, wantNegative) {
		t.Errorf("negative native buckets %v, want %v", got, wantNegative)
	}
	got := decodeNative(h.GetPositiveSpan(), h.GetPositiveDelta())
	if len(got) != len(wantKeys) {
		t.Errorf("native buckets %v, want %v", got, wantKeys)
	}
	for k, n := range wantKeys {
		if got[k] != n {
			t.Errorf("native bucket %d (upper bound %g) = %d, want %d", k, math.Exp2(float64(k)/8), got[k], n)
		}
	}
	if q := gatherHistogram(t, reg, "tickerd_client_queue_events"); q.Schema != nil || len(q.GetPositiveSpan()) != 0 {
		t.Errorf("queue depth histogram has native buckets: schema %v", q.Schema)
	}
}

func gatherHistogram(t *testing.T, g prometheus.Gatherer, name string) *dto.Histogram {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			if f.GetType() != dto.MetricType_HISTOGRAM || len(f.GetMetric()) != 1 {
				t.Fatalf("%s: type %v, %d series", name, f.GetType(), len(f.GetMetric()))
			}
			return f.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatalf("%s not gathered", name)
	return nil
}

// decodeNative turns spans and deltas into counts by bucket key; empty
// buckets inside a span are left out.
func decodeNative(spans []*dto.BucketSpan, deltas []int64) map[int]int64 {
	out := map[int]int64{}
	key, i := 0, 0
	var count int64
	for _, s := range spans {
		key += int(s.GetOffset())
		for range s.GetLength() {
			count += deltas[i]
			i++
			if count != 0 {
				out[key] = count
			}
			key++
		}
	}
	return out
}

// BenchmarkWriterStatsFlush is what a writer pays at the end of each cycle
// to add what it counted to the metrics.
func BenchmarkWriterStatsFlush(b *testing.B) {
	m, err := newMetrics(prometheus.NewRegistry(), []string{"AAPL"}, []string{"sse"}, true)
	if err != nil {
		b.Fatal(err)
	}
	s := newWriterStats(1)
	for b.Loop() {
		s.events, s.bytes, s.writes, s.heartbeats = 100, 12000, 100, 1
		s.dropped[droppedThrottled] = 3
		s.closed[0][CloseNormal] = 1
		s.latency.observe(0.003)
		s.queueDepth.observe(1)
		s.flush(m)
	}
}

// TestTickSeriesAreBoundedByTheUniverse checks that a universe up to
// SymbolSeries symbols counts each symbol's ticks in its own series, that a
// larger one (or SymbolSeries 0) counts them all in one series without the
// label, and that the total is the same either way.
func TestTickSeriesAreBoundedByTheUniverse(t *testing.T) {
	for _, tc := range []struct {
		name         string
		symbols      int
		symbolSeries int
		wantSeries   int
	}{
		{"at the limit", 3, 3, 3},
		{"above it", 4, 3, 1},
		{"off", 3, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			syms := []string{"AAPL", "MSFT", "NVDA", "TSLA"}[:tc.symbols]
			cfg := DefaultConfig(syms, testFraming{})
			cfg.Registerer, cfg.SymbolSeries = reg, tc.symbolSeries
			h, err := NewHub(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				tick := testTick(uint64(i+1), syms[i%len(syms)])
				if err := h.Publish(tick); err != nil {
					t.Fatal(err)
				}
			}
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var series int
			var total, universe float64
			for _, f := range families {
				switch f.GetName() {
				case "tickerd_feed_ticks_total":
					for _, m := range f.GetMetric() {
						series++
						total += m.GetCounter().GetValue()
						if labelled := len(m.GetLabel()) > 0; labelled != (tc.wantSeries > 1) {
							t.Errorf("series labels %v with %d series wanted", m.GetLabel(), tc.wantSeries)
						}
					}
				case "tickerd_universe_symbols":
					universe = f.GetMetric()[0].GetGauge().GetValue()
				}
			}
			if series != tc.wantSeries || total != 10 || universe != float64(tc.symbols) {
				t.Errorf("%d series counting %v ticks, universe %v; want %d series, 10 ticks, %d symbols", series, total, universe, tc.wantSeries, tc.symbols)
			}
		})
	}
}
