package stream

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// observation is a value observed n times at once, as observeN takes it.
type observation struct {
	v float64
	n int
}

// TestHistogramExposesWhatClientGolangWould feeds the same observations to
// a writer's histogram, merged into a shared one as writers merge theirs at
// the end of each cycle, and to client_golang's own histogram with the same
// classic buckets and native layout; a scrape of both must carry the same
// histogram. client_golang is the reference: Prometheus reads what it
// writes.
func TestHistogramExposesWhatClientGolangWould(t *testing.T) {
	var (
		everyClassic   []observation // on, just above and below each bound, and past the last
		onNativeBounds []observation // the bounds of native buckets, and 3 floats either side
		spread         []observation // latencies as a busy hub sees them
	)
	for _, le := range latencyBuckets {
		everyClassic = append(everyClassic, observation{le, 1}, observation{math.Nextafter(le, math.Inf(1)), 2}, observation{le * 0.99, 1})
	}
	everyClassic = append(everyClassic, observation{11, 1}, observation{3600, 1})
	for _, e := range []int{-19, -10, -1, 0, 1, 4, 16, 17} {
		for i := range 8 {
			le := math.Ldexp(math.Exp2(float64(i-8)/8), e)
			for _, ulps := range []int{-3, -2, -1, 0, 1, 2, 3} {
				onNativeBounds = append(onNativeBounds, observation{stepULPs(le, ulps), 1})
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		spread = append(spread, observation{0.0002 * math.Exp(rng.Float64()*7), 1 + rng.IntN(3)})
	}
	negated := func(in []observation) []observation {
		out := make([]observation, len(in))
		for i, o := range in {
			out[i] = observation{-o.v, o.n}
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		upper  []float64
		native bool
		cycles [][]observation // each merged into the shared histogram in turn
	}{
		{name: "no observations", upper: latencyBuckets, native: true},
		{name: "no observations, classic", upper: latencyBuckets},
		{name: "every classic bucket", upper: latencyBuckets, native: true, cycles: [][]observation{everyClassic}},
		{name: "every classic bucket, classic", upper: latencyBuckets, cycles: [][]observation{everyClassic}},
		{name: "zero", upper: latencyBuckets, native: true, cycles: [][]observation{
			{{0, 3}, {math.Copysign(0, -1), 1}},
		}},
		{name: "negative", upper: latencyBuckets, native: true, cycles: [][]observation{{
			{-1e-300, 1}, {-nativeZeroThreshold, 1}, {math.Nextafter(-nativeZeroThreshold, math.Inf(-1)), 1},
			{-0.000001, 2}, {-0.001, 1}, {-0.0011, 4}, {-0.5, 1}, {-3, 1}, {-86400, 1},
		}}},
		{name: "tiny", upper: latencyBuckets, native: true, cycles: [][]observation{{
			{5e-324, 1}, {1e-300, 1}, {1e-9, 2}, {nativeZeroThreshold, 1},
			{math.Nextafter(nativeZeroThreshold, 1), 1}, {0x1p-19, 1}, {0.000001, 3},
		}}},
		{name: "huge", upper: latencyBuckets, native: true, cycles: [][]observation{{
			{65536, 1}, {math.Nextafter(65536, math.Inf(1)), 1}, {1e6, 2}, {0x1p40, 1}, {1e300, 1},
		}}},
		{name: "largest float", upper: latencyBuckets, native: true, cycles: [][]observation{{{math.MaxFloat64, 1}}}},
		{name: "native bucket bounds", upper: latencyBuckets, native: true, cycles: [][]observation{onNativeBounds}},
		{name: "native bucket bounds, negative", upper: latencyBuckets, native: true, cycles: [][]observation{negated(onNativeBounds)}},
		{name: "batches", upper: latencyBuckets, native: true, cycles: [][]observation{{
			{0.003, 1000}, {0.2, 37}, {-0.01, 5}, {0, 12}, {40, 3}, {0.05, 0}, {0.05, -3},
		}}},
		{name: "several cycles", upper: latencyBuckets, native: true, cycles: [][]observation{
			{{0.003, 4}, {0.0031, 1}, {-0.002, 1}},
			{},
			{{0.003, 2}, {12, 1}, {0x1p20, 1}, {0, 1}},
			spread,
		}},
		{name: "latency spread", upper: latencyBuckets, native: true, cycles: [][]observation{spread[:1000], spread[1000:]}},
		{name: "queue depths", upper: queueDepthBuckets, cycles: [][]observation{
			{{1, 500}, {2, 30}, {3, 1}, {4, 7}, {100, 2}, {1024, 1}, {1025, 1}, {4096, 1}, {5000, 2}, {0, 1}},
			{{1, 20}, {64, 1}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			newLocal := newLocalHistogram
			if tt.native {
				newLocal = newLocalNativeHistogram
			}
			library := libraryHistogram(tt.upper, tt.native)
			shared := newSharedHistogram(prometheus.NewDesc(libraryHistogramName, "Under test.", nil, nil), newLocal(tt.upper))
			local := newLocal(tt.upper)
			var scale float64 // of the sum, to allow for additions in another order
			for _, cycle := range tt.cycles {
				for _, o := range cycle {
					local.observeN(o.v, o.n)
					for range o.n {
						library.Observe(o.v)
					}
					scale += math.Abs(o.v) * float64(max(o.n, 0))
				}
				shared.merge(&local)
			}
			got, want := gatherOne(t, shared), gatherOne(t, library)
			for _, d := range histogramDiffs(got, want, scale) {
				t.Error(d)
			}
		})
	}
}

// stepULPs returns the float n representable values above v (below if n
// is negative).
func stepULPs(v float64, n int) float64 {
	for ; n > 0; n-- {
		v = math.Nextafter(v, math.Inf(1))
	}
	for ; n < 0; n++ {
		v = math.Nextafter(v, math.Inf(-1))
	}
	return v
}

// gatherOne returns the histogram that c exposes, as a registry gathers it.
func gatherOne(t *testing.T, c prometheus.Collector) *dto.Histogram {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return gatherHistogram(t, reg, libraryHistogramName)
}

// histogramDiffs lists how got differs from want, field by field: count,
// sum (within a rounding error relative to scale, the sum of the values'
// magnitudes), the classic buckets with their cumulative counts, and the
// native schema, zero bucket, spans and deltas of either sign.
func histogramDiffs(got, want *dto.Histogram, scale float64) []string {
	var diffs []string
	differ := func(what string, g, w any) {
		diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", what, g, w))
	}
	if g, w := got.GetSampleCount(), want.GetSampleCount(); g != w {
		differ("count", g, w)
	}
	if g, w := got.GetSampleSum(), want.GetSampleSum(); g != w && !(math.Abs(g-w) <= 1e-12*scale) {
		differ("sum", g, w)
	}
	bucket := func(b *dto.Bucket) string {
		return fmt.Sprintf("le=%g:%d", b.GetUpperBound(), b.GetCumulativeCount())
	}
	if g, w := got.GetBucket(), want.GetBucket(); len(g) != len(w) {
		differ("classic buckets", len(g), len(w))
	} else {
		for i := range g {
			if bucket(g[i]) != bucket(w[i]) {
				differ(fmt.Sprintf("classic bucket %d", i), bucket(g[i]), bucket(w[i]))
			}
		}
	}
	optional := func(what string, g, w any, gSet, wSet bool) {
		if gSet != wSet || g != w {
			differ(what, fmt.Sprintf("%v (set %t)", g, gSet), fmt.Sprintf("%v (set %t)", w, wSet))
		}
	}
	optional("schema", got.GetSchema(), want.GetSchema(), got.Schema != nil, want.Schema != nil)
	optional("zero threshold", got.GetZeroThreshold(), want.GetZeroThreshold(), got.ZeroThreshold != nil, want.ZeroThreshold != nil)
	optional("zero count", got.GetZeroCount(), want.GetZeroCount(), got.ZeroCount != nil, want.ZeroCount != nil)
	spans := func(ss []*dto.BucketSpan) string {
		var b strings.Builder
		for _, s := range ss {
			fmt.Fprintf(&b, "[%d+%d]", s.GetOffset(), s.GetLength())
		}
		return b.String()
	}
	for _, side := range []struct {
		name                 string
		gotSpans, wantSpans  []*dto.BucketSpan
		gotDeltas, wantDelta []int64
	}{
		{"positive", got.GetPositiveSpan(), want.GetPositiveSpan(), got.GetPositiveDelta(), want.GetPositiveDelta()},
		{"negative", got.GetNegativeSpan(), want.GetNegativeSpan(), got.GetNegativeDelta(), want.GetNegativeDelta()},
	} {
		if g, w := spans(side.gotSpans), spans(side.wantSpans); g != w {
			differ(side.name+" spans", g, w)
		}
		if !slices.Equal(side.gotDeltas, side.wantDelta) {
			differ(side.name+" deltas", side.gotDeltas, side.wantDelta)
		}
	}
	return diffs
}

func TestNativeKeyIsTheBucketHoldingTheValue(t *testing.T) {
	for k := nativeMinKey; k <= nativeMaxKey+16; k++ {
		lower, upper := math.Exp2(float64(k-1)/8), math.Exp2(float64(k)/8)
		for _, v := range []float64{lower * 1.000001, (lower + upper) / 2, upper * 0.999999} {
			if got := nativeKey(v); got != k {
				t.Fatalf("nativeKey(%g) = %d, want %d: bucket (%g, %g]", v, got, k, lower, upper)
			}
		}
	}
	for e := -19; e <= 20; e++ {
		// A power of two is the upper bound of its bucket.
		if got := nativeKey(math.Exp2(float64(e))); got != e*8 {
			t.Errorf("nativeKey(2^%d) = %d, want %d", e, got, e*8)
		}
	}
}

// BenchmarkLatencyObserve is the per-event cost a writer pays to count one
// tick-to-wire latency, with and without the native buckets, next to what
// client_golang's own histogram costs for the same observation: from one
// goroutine, and from every core at once as the writers would.
func BenchmarkLatencyObserve(b *testing.B) {
	values := make([]float64, 1024)
	for i := range values {
		values[i] = 0.0002 * math.Exp(float64(i%200)/30) // 200µs to about 150ms
	}
	for _, bc := range []struct {
		name   string
		native bool
	}{
		{"classic", false},
		{"classic+native", true},
	} {
		local := func() localHistogram {
			if bc.native {
				return newLocalNativeHistogram(latencyBuckets)
			}
			return newLocalHistogram(latencyBuckets)
		}
		library := func() prometheus.Histogram { return libraryHistogram(latencyBuckets, bc.native) }
		b.Run(bc.name, func(b *testing.B) {
			h := local()
			i := 0
			for b.Loop() {
				h.observe(values[i&1023])
				i++
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				h := local()
				i := 0
				for pb.Next() {
					h.observe(values[i&1023])
					i++
				}
			})
		})
		b.Run("client_golang/"+bc.name, func(b *testing.B) {
			h := library()
			i := 0
			for b.Loop() {
				h.Observe(values[i&1023])
				i++
			}
		})
		b.Run("client_golang/"+bc.name+"/parallel", func(b *testing.B) {
			h := library()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					h.Observe(values[i&1023])
					i++
				}
			})
		})
	}
}

const libraryHistogramName = "tickerd_test_seconds"

// libraryHistogram returns client_golang's histogram with the classic
// buckets upper and, if native, the native layout of nativeCounts.
func libraryHistogram(upper []float64, native bool) prometheus.Histogram {
	opts := prometheus.HistogramOpts{
		Name:    libraryHistogramName,
		Help:    "Reference histogram.",
		Buckets: upper,
	}
	if native {
		opts.NativeHistogramBucketFactor = 1.1 // picks schema 3
		opts.NativeHistogramZeroThreshold = nativeZeroThreshold
	}
	return prometheus.NewHistogram(opts)
}
