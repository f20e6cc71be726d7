package feed_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
)

// BenchmarkBus measures ticks per second from a publisher through a
// nats-server process (JetStream, file storage) to a replica's source,
// for publish windows from one acknowledgement at a time upwards and
// replica pull batches of several sizes. Each
// iteration is one tick, published as fast as the publisher takes it and
// counted when the replica hands it on.
func BenchmarkBus(b *testing.B) {
	for _, tc := range []struct{ window, batch int }{
		{1, feed.DefaultConsumeBatch},
		{64, feed.DefaultConsumeBatch},
		{feed.DefaultPublishWindow, 100},
		{feed.DefaultPublishWindow, feed.DefaultConsumeBatch},
		{feed.DefaultPublishWindow, 5000},
		{4096, feed.DefaultConsumeBatch},
	} {
		window := tc.window
		b.Run("window="+strconv.Itoa(window)+"/batch="+strconv.Itoa(tc.batch), func(b *testing.B) {
			ns := startNATSBinary(b)
			url := ns.url()
			reg := prometheus.NewRegistry()
			p, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{
				NATSConfig: feed.NATSConfig{URL: url, Name: "bench-publisher", Registerer: reg},
				Symbols:    testSymbols, MaxPerSymbol: 1_000_000, MaxAge: time.Hour, Window: window,
			})
			if err != nil {
				b.Fatal(err)
			}
			src, err := feed.NewNATSSource(feed.NATSSourceConfig{
				NATSConfig: feed.NATSConfig{URL: url, Name: "bench-replica"},
				Symbols:    testSymbols, Replay: 0, Batch: tc.batch,
			})
			if err != nil {
				b.Fatal(err)
			}
			var handed atomic.Uint64
			done := make(chan struct{})
			want := uint64(b.N)
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{}, 2)
			go func() {
				defer func() { stopped <- struct{}{} }()
				// The stream is there by the time the replica retries.
				_ = src.Run(ctx, func(feed.Tick) {
					if handed.Add(1) == want {
						close(done)
					}
				})
			}()
			start := make(chan struct{})
			go func() {
				defer func() { stopped <- struct{}{} }()
				_ = p.Run(ctx, gatedSource{start, burstSource{1, want}})
			}()
			waitFor(b, "the publisher and the replica to be ready", func() bool { return src.Ready() == nil && p.Ready() == nil })
			b.ResetTimer()
			close(start)
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				b.Errorf("the replica handed on %d of %d ticks", handed.Load(), want)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
			b.ReportMetric(0, "ns/op")
			cancel()
			<-stopped
			<-stopped
		})
	}
}

// gatedSource runs its source once start is closed.
type gatedSource struct {
	start <-chan struct{}
	feed.Source
}

func (g gatedSource) Run(ctx context.Context, publish func(feed.Tick)) error {
	select {
	case <-g.start:
	case <-ctx.Done():
		return nil
	}
	return g.Source.Run(ctx, publish)
}
