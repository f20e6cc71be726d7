package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Histogram layout: values below 2·histSub have a bucket each; above,
// every power-of-two range is cut into histSub buckets, so a bucket is at
// most 1/histSub (0.8%) of its values wide and its midpoint is within 0.4%
// of any value in it.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = 2*histSub + (64-histSubBits-1)*histSub
)

// histogram counts non-negative int64 values (nanoseconds) in log-linear
// buckets. Record is safe for concurrent use and does not allocate.
type histogram struct {
	counts   [histBuckets]atomic.Uint64
	total    atomic.Uint64
	negative atomic.Uint64 // values below zero, recorded as zero
	max      atomic.Int64
}

// Record adds v; a negative v counts as 0 and in Negative.
func (h *histogram) Record(v int64) {
	if v < 0 {
		h.negative.Add(1)
		v = 0
	}
	h.counts[bucketOf(uint64(v))].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of values recorded.
func (h *histogram) Count() uint64 { return h.total.Load() }

// Negative returns the number of values recorded below zero.
func (h *histogram) Negative() uint64 { return h.negative.Load() }

// Max returns the largest value recorded, exactly.
func (h *histogram) Max() int64 { return h.max.Load() }

// Quantile returns the value at quantile q in [0, 1]: the midpoint of the
// bucket holding the ⌈q·count⌉-th smallest value, capped at Max. It returns
// 0 when nothing was recorded.
func (h *histogram) Quantile(q float64) int64 {
	total := h.total.Load()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	rank = max(1, min(rank, total))
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketBounds(i)
			return min(int64(lo+(hi-lo)/2), h.Max())
		}
	}
	return h.Max()
}

// bucketOf returns the index of the bucket that holds v.
func bucketOf(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - (histSubBits + 1)
	top := v >> uint(shift)
	return 2*histSub + (shift-1)*histSub + int(top-histSub)
}

// bucketBounds returns the smallest and largest value bucket i holds.
func bucketBounds(i int) (lo, hi uint64) {
	if i < 2*histSub {
		return uint64(i), uint64(i)
	}
	shift := uint((i-2*histSub)/histSub + 1)
	top := uint64((i-2*histSub)%histSub + histSub)
	return top << shift, (top+1)<<shift - 1
}
