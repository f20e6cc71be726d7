package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 255, 256, 257, 511, 512, 1 << 20, 1<<20 + 1, math.MaxInt64, math.MaxUint64}
	for range 10000 {
		values = append(values, rng.Uint64()>>rng.UintN(64))
	}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of range", v, i)
		}
		lo, hi := bucketBounds(i)
		if v < lo || v > hi {
			t.Fatalf("bucketOf(%d) = %d holding [%d, %d]", v, i, lo, hi)
		}
		if lo > 0 && float64(hi-lo)/float64(lo) > 1.0/histSub {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d", i, lo, hi, histSub)
		}
	}
	for i := 1; i < histBuckets; i++ {
		_, prevHi := bucketBounds(i - 1)
		lo, _ := bucketBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name   string
		values func() []int64
	}{
		{"uniform 1..1e6 ns", func() []int64 {
			v := make([]int64, 1_000_000)
			for i := range v {
				v[i] = int64(i + 1)
			}
			return v
		}},
		{"exponential, mean 2 ms", func() []int64 {
			rng := rand.New(rand.NewPCG(3, 4))
			v := make([]int64, 200_000)
			for i := range v {
				v[i] = int64(rng.ExpFloat64() * 2e6)
			}
			return v
		}},
		{"small exact values", func() []int64 {
			var v []int64
			for i := range 200 {
				v = append(v, int64(i%100))
			}
			return v
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := tt.values()
			var h histogram
			rng := rand.New(rand.NewPCG(5, 6))
			rng.Shuffle(len(values), func(i, j int) { values[i], values[j] = values[j], values[i] })
			for _, v := range values {
				h.Record(v)
			}
			slices.Sort(values)
			if h.Count() != uint64(len(values)) {
				t.Fatalf("Count = %d, want %d", h.Count(), len(values))
			}
			if h.Max() != values[len(values)-1] {
				t.Errorf("Max = %d, want %d", h.Max(), values[len(values)-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				want := values[int(math.Ceil(q*float64(len(values))))-1]
				got := h.Quantile(q)
				if math.Abs(float64(got-want)) > 0.01*float64(want) {
					t.Errorf("Quantile(%v) = %d, want %d within 1%%", q, got, want)
				}
				if want < 2*histSub && got != want {
					t.Errorf("Quantile(%v) = %d, want exactly %d", q, got, want)
				}
			}
		})
	}
}

func TestHistogramNegativeAndEmpty(t *testing.T) {
	var h histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 {
		t.Fatal("empty histogram should report 0")
	}
	h.Record(-5)
	h.Record(10)
	if h.Negative() != 1 || h.Count() != 2 || h.Quantile(0.5) != 0 || h.Quantile(1) != 10 {
		t.Errorf("negative=%d count=%d p50=%d p100=%d, want 1 2 0 10",
			h.Negative(), h.Count(), h.Quantile(0.5), h.Quantile(1))
	}
}
