package stream

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds every metric of package stream. Writers count in plain
// integers during a cycle (writerStats) and add them here once per cycle, so
// the per-event hot path touches no shared cache line.
type metrics struct {
	clientsNow    []atomic.Int64 // per framing, in Config.Framings order
	conflating    prometheus.Gauge
	streamsOpened []prometheus.Counter // per framing
	streamsClosed *prometheus.CounterVec
	closedBy      [][len(closeReasonNames)]prometheus.Counter // per framing, streamsClosed's series by CloseReason; none for keepOpen
	ticks         []prometheus.Counter                        // per symbol, in universe order
	tickSeries    *prometheus.CounterVec                      // tickerd_feed_ticks_total by symbol; nil: one series
	universe      prometheus.Gauge
	ticksRejected *prometheus.CounterVec
	rejectedBy    [tickRejections]prometheus.Counter // ticksRejected's series by tickRejection
	lastTick      prometheus.Gauge
	events        prometheus.Counter
	bytes         prometheus.Counter
	writes        prometheus.Counter
	dropped       *prometheus.CounterVec
	droppedBy     [droppedReasons]prometheus.Counter // dropped's series by reason
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

// ticksRejectedNames are the labels of tickerd_feed_ticks_rejected_total,
// which Hub.Publish counts as it refuses a tick. The labels of
// tickerd_streams_closed_total are CloseReason's names.
var ticksRejectedNames = [tickRejections]string{"unknown_symbol", "bad_price", "sequence", "price_jump", "halted", "universe_full", "bid_not_below_ask"}

// Why Publish refuses a tick: indices into ticksRejectedNames.
const (
	rejectedUnknownSymbol = iota
	rejectedBadPrice
	rejectedSequence
	rejectedPriceJump
	rejectedHalted
	rejectedUniverseFull // an unknown symbol with the universe learned to its bound
	rejectedBidNotBelowAsk
	tickRejections
)

// latencyBuckets are the classic buckets of tickerd_tick_to_wire_seconds,
// from 100µs to 10s; it has native buckets as well (nativeSchema).
var latencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// queueDepthBuckets are the buckets of tickerd_client_queue_events, from one
// event to 4096.
var queueDepthBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}

// newMetrics declares the metrics of a hub over symbols with the given
// transports; perSymbol gives tickerd_feed_ticks_total a series per symbol.
func newMetrics(reg prometheus.Registerer, symbols, transports []string, perSymbol bool) (*metrics, error) {
	opened := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tickerd_streams_opened_total",
		Help: "Streams opened, by transport (sse, ws; a poll opens none).",
	}, []string{"transport"})
	m := &metrics{
		clientsNow: make([]atomic.Int64, len(transports)),
		closedBy:   make([][len(closeReasonNames)]prometheus.Counter, len(transports)),
		conflating: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_clients_conflated",
			Help: "Event streams whose client fell behind and now get only the latest tick per symbol.",
		}),
		streamsClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickerd_streams_closed_total",
			Help: "Streams closed, by transport (sse, ws) and reason: normal (client left or said goodbye), slow (write deadline), write_error, shutdown, over_limit (a limit of its transport, such as a flood of messages), token_expired, protocol (a protocol error or a missed keepalive).",
		}, []string{"transport", "reason"}),
		ticksRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickerd_feed_ticks_rejected_total",
			Help: "Ticks from the feed refused before reaching any client, by reason: unknown_symbol, bad_price (a price, bid or ask not positive and finite, or a size below 1), bid_not_below_ask, sequence, price_jump, halted (its symbol's trading is halted or paused), universe_full (an unknown symbol after the server learned as many as it may).",
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
	ticks, universe := tickCounters(m, symbols, perSymbol)
	collectors := []prometheus.Collector{opened}
	for f, transport := range transports {
		m.streamsOpened = append(m.streamsOpened, opened.WithLabelValues(transport))
		for r := 1; r < len(closeReasonNames); r++ {
			m.closedBy[f][r] = m.streamsClosed.WithLabelValues(transport, closeReasonNames[r])
		}
		collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "tickerd_clients",
			Help:        "Clients connected now, by transport: open streams (sse, ws) and polls held waiting for a tick (poll).",
			ConstLabels: prometheus.Labels{"transport": transport},
		}, func() float64 { return float64(m.clientsNow[f].Load()) }))
	}
	for r, name := range droppedNames {
		m.droppedBy[r] = m.dropped.WithLabelValues(name)
	}
	for r, name := range ticksRejectedNames {
		m.rejectedBy[r] = m.ticksRejected.WithLabelValues(name)
	}
	for _, c := range append(collectors,
		m.conflating, m.streamsClosed, ticks, universe, m.ticksRejected, m.lastTick,
		m.events, m.bytes, m.writes, m.dropped, m.replays, m.resyncs, m.resumeHeld, m.heartbeats, m.latency, m.queueDepth,
	) {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register stream metrics: %w", err)
		}
	}
	return m, nil
}

// tickCounters sets m.ticks, the counter of each symbol's accepted ticks:
// a series per symbol of tickerd_feed_ticks_total when perSymbol, else one
// series, without the label, that every symbol adds to. Queries that sum it
// (the dashboard's, the alerts') read the same either way; 10,000 series of
// one counter is what a Prometheus server should not be made to keep for
// every replica. It returns the collectors to register: the counter and the
// universe's size.
func tickCounters(m *metrics, symbols []string, perSymbol bool) (prometheus.Collector, prometheus.Collector) {
	universe := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tickerd_universe_symbols",
		Help: "Symbols in the universe the server serves.",
	})
	universe.Set(float64(len(symbols)))
	m.universe = universe
	m.ticks = make([]prometheus.Counter, len(symbols))
	if !perSymbol {
		total := prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_feed_ticks_total",
			Help: "Ticks accepted from the feed, all symbols together: the universe is larger than the server's limit for a series per symbol.",
		})
		for i := range m.ticks {
			m.ticks[i] = total
		}
		return total, universe
	}
	ticks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tickerd_feed_ticks_total",
		Help: "Ticks accepted from the feed, by symbol.",
	}, []string{"symbol"})
	for i, s := range symbols {
		m.ticks[i] = ticks.WithLabelValues(s)
	}
	m.tickSeries = ticks
	return ticks, universe
}

// learnSymbol counts the ticks of a symbol the hub learned, the next in
// universe order, which makes the universe n symbols. The hub's lock is held.
func (m *metrics) learnSymbol(symbol string, n int) {
	if m.tickSeries != nil {
		m.ticks = append(m.ticks, m.tickSeries.WithLabelValues(symbol))
	} else {
		m.ticks = append(m.ticks, m.ticks[0])
	}
	m.universe.Set(float64(n))
}

// writerStats is what one writer counted during a cycle.
type writerStats struct {
	events, bytes, writes, heartbeats int
	dropped                           [droppedReasons]int
	closed                            [][len(closeReasonNames)]int // per framing
	latency, queueDepth               localHistogram
}

func newWriterStats(framings int) writerStats {
	return writerStats{
		closed:     make([][len(closeReasonNames)]int, framings),
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
		add(m.droppedBy[r], &s.dropped[r])
	}
	for f := range s.closed {
		for r := 1; r < len(s.closed[f]); r++ {
			add(m.closedBy[f][r], &s.closed[f][r])
		}
	}
	m.latency.merge(&s.latency)
	m.queueDepth.merge(&s.queueDepth)
}

// clients returns the streams connected now, over every transport.
func (m *metrics) clients() int {
	n := int64(0)
	for i := range m.clientsNow {
		n += m.clientsNow[i].Load()
	}
	return int(n)
}
