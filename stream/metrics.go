package stream

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metrics holds every metric of package stream. Writers count in plain
// integers during a cycle (writerStats) and add them here once per cycle, so
// the per-event hot path touches no shared cache line.
type metrics struct {
	clientsNow    atomic.Int64
	conflating    prometheus.Gauge
	streamsOpened prometheus.Counter
	streamsClosed *prometheus.CounterVec
	ticks         []prometheus.Counter // per symbol, in universe order
	ticksRejected *prometheus.CounterVec
	lastTick      prometheus.Gauge
	events        prometheus.Counter
	bytes         prometheus.Counter
	writes        prometheus.Counter
	dropped       *prometheus.CounterVec
	replays       prometheus.Counter
	resyncs       prometheus.Counter
	resumeHeld    prometheus.Counter
	heartbeats    prometheus.Counter
	latency       *sharedHistogram
	queueDepth    *sharedHistogram
}

// Labels of tickerd_events_dropped_total.
const (
	droppedConflated  = iota // replaced by a newer tick of the same symbol for a slow stream
	droppedDisconnect        // queued for a stream that then ended
	droppedThrottled         // replaced by a newer tick of the same symbol under ?maxfreq
	droppedReasons
)

var droppedNames = [droppedReasons]string{"conflated", "disconnected", "throttled"}

// latencyBuckets are the classic buckets of tickerd_tick_to_wire_seconds,
// from 100µs to 10s; it has native buckets as well (nativeSchema).
var latencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

var queueDepthBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}

func newMetrics(reg prometheus.Registerer, symbols []string) (*metrics, error) {
	m := &metrics{
		conflating: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_clients_conflated",
			Help: "Event streams whose client fell behind and now get only the latest tick per symbol.",
		}),
		streamsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_streams_opened_total",
			Help: "Event streams opened.",
		}),
		streamsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickerd_streams_closed_total",
			Help: "Event streams closed, by reason: normal (client left), slow (write deadline), write_error, shutdown, over_limit (reserved), token_expired.",
		}, []string{"reason"}),
		ticksRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickerd_feed_ticks_rejected_total",
			Help: "Ticks from the feed refused before reaching any client, by reason: unknown_symbol, bad_price, sequence, price_jump.",
		}, []string{"reason"}),
		lastTick: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_feed_last_tick_timestamp_seconds",
			Help: "Creation time of the newest accepted tick, Unix seconds.",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_events_written_total",
			Help: "Tick events written to client sockets.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_written_bytes_total",
			Help: "Bytes written to client sockets.",
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_socket_writes_total",
			Help: "Write system calls on client sockets; events written per write shows coalescing.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickerd_events_dropped_total",
			Help: "Tick events not delivered to a stream, by reason: conflated (a newer tick of the symbol replaced it for a slow client), disconnected (queued when the stream ended), throttled (replaced by a newer tick under the stream's maxfreq).",
		}, []string{"reason"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_replays_total",
			Help: "Streams resumed from Last-Event-ID by replaying the missed ticks.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_resyncs_total",
			Help: "Streams resumed from a Last-Event-ID older than the replay ring, with a resync snapshot.",
		}),
		resumeHeld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_resumes_held_total",
			Help: "Streams whose Last-Event-ID was ahead of this server, held until its feed caught up (or for at most the resume wait).",
		}),
		heartbeats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_heartbeats_total",
			Help: "Heartbeat comments written to idle streams.",
		}),
		latency: newSharedHistogram(prometheus.NewDesc("tickerd_tick_to_wire_seconds",
			"Time from a tick's creation to its write on a client socket.", nil, nil),
			newLocalNativeHistogram(latencyBuckets)),
		queueDepth: newSharedHistogram(prometheus.NewDesc("tickerd_client_queue_events",
			"Tick events waiting for one client socket, observed at each write.", nil, nil),
			newLocalHistogram(queueDepthBuckets)),
	}
	ticks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tickerd_feed_ticks_total",
		Help: "Ticks accepted from the feed, by symbol.",
	}, []string{"symbol"})
	for _, s := range symbols {
		m.ticks = append(m.ticks, ticks.WithLabelValues(s))
	}
	for _, r := range closeReasonNames[1:] {
		m.streamsClosed.WithLabelValues(r)
	}
	for _, r := range droppedNames {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{"unknown_symbol", "bad_price", "sequence", "price_jump"} {
		m.ticksRejected.WithLabelValues(r)
	}
	clients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tickerd_clients",
		Help: "Event streams connected now.",
	}, func() float64 { return float64(m.clientsNow.Load()) })
	for _, c := range []prometheus.Collector{
		clients, m.conflating, m.streamsOpened, m.streamsClosed, ticks, m.ticksRejected, m.lastTick,
		m.events, m.bytes, m.writes, m.dropped, m.replays, m.resyncs, m.resumeHeld, m.heartbeats, m.latency, m.queueDepth,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register stream metrics: %w", err)
		}
	}
	return m, nil
}

// writerStats is what one writer counted during a cycle.
type writerStats struct {
	events, bytes, writes, heartbeats int
	dropped                           [droppedReasons]int
	closed                            [len(closeReasonNames)]int
	latency, queueDepth               localHistogram
}

func newWriterStats() writerStats {
	return writerStats{
		latency:    newLocalNativeHistogram(latencyBuckets),
		queueDepth: newLocalHistogram(queueDepthBuckets),
	}
}

// flush adds the counts to m and resets them.
func (s *writerStats) flush(m *metrics) {
	add := func(c prometheus.Counter, n *int) {
		if *n > 0 {
			c.Add(float64(*n))
			*n = 0
		}
	}
	add(m.events, &s.events)
	add(m.bytes, &s.bytes)
	add(m.writes, &s.writes)
	add(m.heartbeats, &s.heartbeats)
	for r := range s.dropped {
		add(m.dropped.WithLabelValues(droppedNames[r]), &s.dropped[r])
	}
	for r := 1; r < len(s.closed); r++ {
		add(m.streamsClosed.WithLabelValues(closeReasonNames[r]), &s.closed[r])
	}
	m.latency.merge(&s.latency)
	m.queueDepth.merge(&s.queueDepth)
}

// localHistogram counts observations for one goroutine, without locks.
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
// factor of 1.1 gives; a zero bucket for values up to 2^-20 (about 1µs), and
// for negative ones, which a clock step can produce; and a slot for every
// bucket up to 2^16 (about 18 hours). Larger values, which no stream lives
// long enough to see, go to an overflow map.
const (
	nativeSchema        = 3
	nativeZeroThreshold = 0x1p-20
	nativeMinKey        = -20<<nativeSchema + 1 // the first bucket above the zero bucket
	nativeMaxKey        = 16 << nativeSchema
)

// nativeBounds are the upper bounds, within one power of two, of the
// buckets of schema nativeSchema, as math.Frexp fractions.
var nativeBounds = func() []float64 {
	n := 1 << nativeSchema
	b := make([]float64, n)
	for i := range b {
		b[i] = math.Exp2(float64(i-n) / float64(n))
	}
	return b
}()

// nativeKey returns the index of the native bucket holding v > 0: the
// bucket with upper bound 2^(key/8) and lower bound 2^((key-1)/8).
func nativeKey(v float64) int {
	frac, exp := math.Frexp(v)
	return sort.SearchFloat64s(nativeBounds, frac) + (exp-1)*len(nativeBounds)
}

// nativeCounts are the native buckets of a histogram.
type nativeCounts struct {
	zero     uint64
	buckets  [nativeMaxKey - nativeMinKey + 1]uint64
	overflow map[int]uint64 // keys above nativeMaxKey
}

func (c *nativeCounts) add(v float64, n uint64) {
	if v <= nativeZeroThreshold {
		c.zero += n
		return
	}
	k := nativeKey(v)
	if k > nativeMaxKey {
		if c.overflow == nil {
			c.overflow = make(map[int]uint64)
		}
		c.overflow[k] += n
		return
	}
	c.buckets[k-nativeMinKey] += n
}

// mergeFrom adds o's counts to c and resets o.
func (c *nativeCounts) mergeFrom(o *nativeCounts) {
	c.zero += o.zero
	for i, n := range o.buckets {
		c.buckets[i] += n
	}
	for k, n := range o.overflow {
		if c.overflow == nil {
			c.overflow = make(map[int]uint64)
		}
		c.overflow[k] += n
	}
	*o = nativeCounts{}
}

// positive returns the populated buckets by key.
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
	var positive map[int]int64
	var zero uint64
	if s.h.native != nil {
		positive, zero = s.h.native.positive(), s.h.native.zero
	}
	s.mu.Unlock()
	classic := prometheus.MustNewConstHistogramWithCreatedTimestamp(s.desc, n, sum, buckets, s.created)
	if positive == nil {
		ch <- classic
		return
	}
	native := prometheus.MustNewConstNativeHistogram(s.desc, n, sum, positive, nil, zero,
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
