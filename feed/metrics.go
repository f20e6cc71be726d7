package feed

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// busMetrics are the metrics of a connection to the NATS bus, common to
// the replica's source and the publisher.
type busMetrics struct {
	connected  prometheus.Gauge
	reconnects prometheus.Counter
}

// sourceMetrics are a replica's: how far behind the stream it is.
type sourceMetrics struct {
	busMetrics
	consumed prometheus.Gauge
	lag      prometheus.Gauge
	bad      prometheus.Counter
}

// publisherMetrics are the publisher's.
type publisherMetrics struct {
	busMetrics
	published  prometheus.Counter
	retries    prometheus.Counter
	duplicates prometheus.Counter
	lastSeq    prometheus.Gauge
	inFlight   prometheus.Gauge
}

func newBusMetrics() busMetrics {
	return busMetrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_bus_connected",
			Help: "1 while connected to the NATS bus, 0 otherwise.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_bus_reconnects_total",
			Help: "Times the connection to the NATS bus was re-established after a loss.",
		}),
	}
}

func newSourceMetrics(reg prometheus.Registerer) (*sourceMetrics, error) {
	m := &sourceMetrics{
		busMetrics: newBusMetrics(),
		consumed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_bus_consumed_sequence",
			Help: "Stream sequence number of the last tick this replica consumed from JetStream.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_bus_lag_messages",
			Help: "Ticks in the JetStream stream after the last one this replica consumed (the stream's last sequence minus the last consumed), as of that tick.",
		}),
		bad: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_bus_undecodable_messages_total",
			Help: "Messages on the tick stream that were not a tick's JSON and were skipped.",
		}),
	}
	return m, register(reg, m.connected, m.reconnects, m.consumed, m.lag, m.bad)
}

func newPublisherMetrics(reg prometheus.Registerer) (*publisherMetrics, error) {
	m := &publisherMetrics{
		busMetrics: newBusMetrics(),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_bus_published_total",
			Help: "Ticks stored in the JetStream stream, acknowledged.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_bus_publish_retries_total",
			Help: "Tick publications tried again after an error or a missing acknowledgement.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tickerd_bus_publish_duplicates_total",
			Help: "Retried publications that JetStream recognised by message id as already stored.",
		}),
		lastSeq: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_bus_published_sequence",
			Help: "Stream sequence number of the last tick stored.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tickerd_bus_publish_in_flight",
			Help: "Tick publications sent to JetStream and not yet acknowledged (at most the publish window).",
		}),
	}
	return m, register(reg, m.connected, m.reconnects, m.published, m.retries, m.duplicates, m.lastSeq, m.inFlight)
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register bus metrics: %w", err)
		}
	}
	return nil
}
