package feed_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
)

// burstSource publishes the test ticks from..to as fast as they are taken,
// then waits for the end.
type burstSource struct{ from, to uint64 }

func (b burstSource) Run(ctx context.Context, publish func(feed.Tick)) error {
	for n := b.from; n <= b.to && ctx.Err() == nil; n++ {
		publish(tick(n))
	}
	<-ctx.Done()
	return nil
}

// A server that goes away while a full window of publications awaits its
// acknowledgements loses none of them and stores none twice: after it is
// back, the stream holds every tick once, in the order made, and a replica
// hands each on once, in that order.
func TestPublisherWindowSurvivesAServerRestartWithAcknowledgementsInFlight(t *testing.T) {
	const total, restartAt = 6_000, 1_500
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) (url string, restart func())
	}{
		{"shut down", func(t *testing.T) (string, func()) {
			ns := natstest.Start(t)
			return ns.URL(), ns.Restart
		}},
		{"killed", func(t *testing.T) (string, func()) {
			ns := startNATSBinary(t)
			return ns.url(), func() { ns.stop(syscall.SIGKILL); ns.start() }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, restart := tc.start(t)
			reg := prometheus.NewRegistry()
			p, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{
				NATSConfig: feed.NATSConfig{URL: url, Name: "test-publisher", Registerer: reg, Logger: testLogger(t)},
				Symbols:    testSymbols, MaxPerSymbol: total, MaxAge: time.Hour, Window: 256,
			})
			if err != nil {
				t.Fatal(err)
			}
			runInBackground(t, "publisher", func(ctx context.Context) error { return p.Run(ctx, burstSource{1, total}) })
			waitFor(t, "ticks stored with more in flight", func() bool {
				return metricValue(t, reg, "tickerd_bus_published_total") >= restartAt &&
					metricValue(t, reg, "tickerd_bus_publish_in_flight") > 0
			})
			restart()

			src, c := startSource(t, url, total, nil)
			checkStreamOrder(t, c.waitForSeq(t, total), 1, total)
			waitFor(t, "ready", func() bool { return src.Ready() == nil && p.Ready() == nil })
			if got := metricValue(t, reg, "tickerd_bus_publish_retries_total"); got < 1 {
				t.Errorf("retries %v: the restart interrupted no publication", got)
			}
			// The source may read the last tick before the publisher has
			// taken its acknowledgement.
			waitFor(t, "nothing in flight after the last acknowledgement", func() bool {
				return metricValue(t, reg, "tickerd_bus_publish_in_flight") == 0
			})
			// Nothing more arrives: the stream holds each tick once.
			nc, js := connect(t, url)
			defer nc.Close()
			if got := lastSeq(t, js); got != total {
				t.Errorf("stream's last sequence %d, want %d", got, total)
			}
		})
	}
}
