package stream

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// localHistogram counts observations for one goroutine, without locks.
//
// Writers count tick-to-wire latencies and queue depths in one each and
// merge it into a sharedHistogram once per cycle, instead of observing a
// client_golang histogram per event, for two reasons. client_golang cannot
// observe a value n times in one call, and a writer that flushes a backlog
// of n events has n observations of one latency (observeN). And its
// Observe costs more, the more so with native buckets and with every
// writer observing the one histogram. BenchmarkLatencyObserve, best of 20
// runs on a shared 2-core machine, time per observation:
//
//	                          here     client_golang
//	classic                   6.7 ns   11 ns
//	classic+native            13 ns    34 ns
//	classic+native, 2 writers 7.8 ns   33 ns (theirs share one histogram)
//
// (BENCHMARKS.md has 5.4 and 10.8 ns here for the first two, on its
// machine.) What a scrape sees is what client_golang would expose for the
// same observations (TestHistogramExposesWhatClientGolangWould), except
// that NaN and infinities, which a latency or a queue depth cannot be, are
// left out here instead of counted.
type localHistogram struct {
	upper  []float64
	counts []uint64 // len(upper)+1; the last is +Inf
	sum    float64
	n      uint64
	native *nativeCounts // nil: classic buckets only
}

func newLocalHistogram(upper []float64) localHistogram {
	return localHistogram{upper: upper, counts: make([]uint64, len(upper)+1)}
}

// newLocalNativeHistogram returns a histogram that counts in native
// (exponential) buckets as well as in upper's.
func newLocalNativeHistogram(upper []float64) localHistogram {
	h := newLocalHistogram(upper)
	h.native = new(nativeCounts)
	return h
}

func (h *localHistogram) observe(v float64) { h.observeN(v, 1) }

// observeN records n observations of v.
func (h *localHistogram) observeN(v float64, n int) {
	if n <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	i := sort.SearchFloat64s(h.upper, v)
	h.counts[i] += uint64(n)
	h.sum += v * float64(n)
	h.n += uint64(n)
	if h.native != nil {
		h.native.add(v, uint64(n))
	}
}

// Native-histogram layout: schema 3, so each bucket's upper bound is 2^(1/8)
// times (about 9% above) the previous one, as client_golang's default bucket
// factor of 1.1 gives; a zero bucket for values within 2^-20 (about 1µs) of
// zero; and a slot for every bucket up to 2^16 (about 18 hours). Larger
// values, which no stream lives long enough to see, go to an overflow map,
// and negative ones, which a clock step or a publisher's clock ahead of
// this server's can produce, to a map of negative buckets.
const (
	nativeSchema        = 3
	nativeZeroThreshold = 0x1p-20
	nativeMinKey        = -20<<nativeSchema + 1 // the first bucket above the zero bucket
	nativeMaxKey        = 16 << nativeSchema
)

// nativeBounds are the upper bounds, within one power of two, of the
// buckets of schema nativeSchema, as math.Frexp fractions: 2^((i-8)/8).
// They are client_golang's literals: math.Exp2 gives three of them
// (i = 5, 6, 7) a float or two higher, and a value in between would land
// one bucket above where client_golang puts it.
var nativeBounds = [1 << nativeSchema]float64{
	0.5, 0.5452538663326288, 0.5946035575013605, 0.6484197773255048,
	0.7071067811865475, 0.7711054127039704, 0.8408964152537144, 0.9170040432046711,
}

// nativeKey returns the index of the native bucket holding v > 0: the
// bucket with upper bound 2^(key/8) and lower bound 2^((key-1)/8).
func nativeKey(v float64) int {
	frac, exp := math.Frexp(v)
	return sort.SearchFloat64s(nativeBounds[:], frac) + (exp-1)*len(nativeBounds)
}

// nativeCounts are the native buckets of a histogram.
type nativeCounts struct {
	zero     uint64
	buckets  [nativeMaxKey - nativeMinKey + 1]uint64
	overflow map[int]uint64 // keys above nativeMaxKey
	negative map[int]uint64 // by the key of -v
}

func (c *nativeCounts) add(v float64, n uint64) {
	switch {
	case v > nativeZeroThreshold:
		k := nativeKey(v)
		if k > nativeMaxKey {
			c.overflow = addKey(c.overflow, k, n)
			return
		}
		c.buckets[k-nativeMinKey] += n
	case v < -nativeZeroThreshold:
		c.negative = addKey(c.negative, nativeKey(-v), n)
	default:
		c.zero += n
	}
}

// addKey adds n to m[k], making m if it is nil.
func addKey(m map[int]uint64, k int, n uint64) map[int]uint64 {
	if m == nil {
		m = make(map[int]uint64)
	}
	m[k] += n
	return m
}

// mergeFrom adds o's counts to c and resets o, keeping its maps for the
// next cycle.
func (c *nativeCounts) mergeFrom(o *nativeCounts) {
	c.zero += o.zero
	for i, n := range o.buckets {
		c.buckets[i] += n
	}
	for k, n := range o.overflow {
		c.overflow = addKey(c.overflow, k, n)
	}
	for k, n := range o.negative {
		c.negative = addKey(c.negative, k, n)
	}
	o.zero = 0
	clear(o.buckets[:])
	clear(o.overflow)
	clear(o.negative)
}

// positive returns the populated positive buckets by key.
func (c *nativeCounts) positive() map[int]int64 {
	m := make(map[int]int64, len(c.overflow))
	for i, n := range c.buckets {
		if n > 0 {
			m[i+nativeMinKey] = int64(n)
		}
	}
	for k, n := range c.overflow {
		m[k] = int64(n)
	}
	return m
}

// negativeBuckets returns the populated negative buckets by key.
func (c *nativeCounts) negativeBuckets() map[int]int64 {
	m := make(map[int]int64, len(c.negative))
	for k, n := range c.negative {
		m[k] = int64(n)
	}
	return m
}

// sharedHistogram is a Prometheus histogram fed by merging local ones.
type sharedHistogram struct {
	desc    *prometheus.Desc
	created time.Time
	mu      sync.Mutex
	h       localHistogram
}

func newSharedHistogram(desc *prometheus.Desc, h localHistogram) *sharedHistogram {
	return &sharedHistogram{desc: desc, created: time.Now(), h: h}
}

func (s *sharedHistogram) merge(l *localHistogram) {
	if l.n == 0 {
		return
	}
	s.mu.Lock()
	for i, c := range l.counts {
		s.h.counts[i] += c
	}
	s.h.sum += l.sum
	s.h.n += l.n
	if l.native != nil {
		s.h.native.mergeFrom(l.native)
	}
	s.mu.Unlock()
	clear(l.counts)
	l.sum, l.n = 0, 0
}

// Describe implements prometheus.Collector.
func (s *sharedHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect implements prometheus.Collector.
func (s *sharedHistogram) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	buckets := make(map[float64]uint64, len(s.h.upper))
	var cum uint64
	for i, le := range s.h.upper {
		cum += s.h.counts[i]
		buckets[le] = cum
	}
	n, sum := s.h.n, s.h.sum
	var positive, negative map[int]int64
	var zero uint64
	if s.h.native != nil {
		positive, negative, zero = s.h.native.positive(), s.h.native.negativeBuckets(), s.h.native.zero
	}
	s.mu.Unlock()
	classic := prometheus.MustNewConstHistogramWithCreatedTimestamp(s.desc, n, sum, buckets, s.created)
	if positive == nil {
		ch <- classic
		return
	}
	native := prometheus.MustNewConstNativeHistogram(s.desc, n, sum, positive, negative, zero,
		nativeSchema, nativeZeroThreshold, s.created)
	ch <- bothHistograms{classic: classic, native: native}
}

// bothHistograms exposes one histogram with its classic buckets, which the
// text format carries, and its native ones, which Prometheus takes from the
// protobuf format when its native histograms are enabled.
type bothHistograms struct{ classic, native prometheus.Metric }

// Desc implements prometheus.Metric.
func (b bothHistograms) Desc() *prometheus.Desc { return b.classic.Desc() }

// Write implements prometheus.Metric.
func (b bothHistograms) Write(out *dto.Metric) error {
	var classic dto.Metric
	if err := b.classic.Write(&classic); err != nil {
		return err
	}
	if err := b.native.Write(out); err != nil {
		return err
	}
	out.Histogram.Bucket = classic.Histogram.Bucket
	return nil
}
