package stream

import (
	"math"
	"testing"
)

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
// tick-to-wire latency, with and without the native buckets.
func BenchmarkLatencyObserve(b *testing.B) {
	values := make([]float64, 1024)
	for i := range values {
		values[i] = 0.0002 * math.Exp(float64(i%200)/30) // 200µs to about 150ms
	}
	for _, bc := range []struct {
		name string
		h    localHistogram
	}{
		{"classic", newLocalHistogram(latencyBuckets)},
		{"classic+native", newLocalNativeHistogram(latencyBuckets)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := bc.h
			i := 0
			for b.Loop() {
				h.observe(values[i&1023])
				i++
			}
		})
	}
}
