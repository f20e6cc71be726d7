package feed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
)

// TestPublisherBoundsTheStreamInBytes publishes ticks of 2,000 symbols into
// a stream of at most 1 MiB: the stream holds what fits, the oldest gone,
// whatever the per-symbol limit would allow.
func TestPublisherBoundsTheStreamInBytes(t *testing.T) {
	ns := natstest.Start(t)
	u, err := feed.SyntheticUniverse(2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(u))
	for i, s := range u {
		names[i] = s.Name
	}
	reg := prometheus.NewRegistry()
	const limit = 1 << 20
	p, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{
		NATSConfig: feed.NATSConfig{URL: ns.URL(), Name: "test-publisher", Registerer: reg, Logger: testLogger(t)},
		Symbols:    names, MaxPerSymbol: 10_000, MaxAge: time.Hour, MaxBytes: limit, Window: feed.DefaultPublishWindow,
	})
	if err != nil {
		t.Fatal(err)
	}
	q := make(queueSource)
	runInBackground(t, "publisher", func(ctx context.Context) error { return p.Run(ctx, q) })
	const n = 8000 // about 1.4 MiB of stored messages
	for i := range n {
		px := 10 + float64(i%100)/100
		tk := feed.Tick{Seq: uint64(i + 1), Symbol: names[i%len(names)], Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 100, Time: time.Unix(1_700_000_000, int64(i))}
		select {
		case q <- tk:
		case <-time.After(10 * time.Second):
			t.Fatalf("publisher stuck before tick %d", i+1)
		}
	}
	// A tick whose acknowledgement is late is sent again, and then counted
	// as a duplicate: the stream's sequence is what says all are stored.
	waitFor(t, "every tick stored", func() bool { return metricValue(t, reg, "tickerd_bus_published_sequence") == n })

	nc, js := connect(t, ns.URL())
	defer nc.Close()
	stream, err := js.Stream(context.Background(), feed.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := info.State
	if info.Config.MaxBytes != limit || st.Bytes > limit || st.LastSeq != n || st.FirstSeq <= 1 || st.Msgs != st.LastSeq-st.FirstSeq+1 {
		t.Errorf("max bytes %d; state %d bytes, messages %d..%d (%d); want at most %d bytes ending at %d, the oldest gone",
			info.Config.MaxBytes, st.Bytes, st.FirstSeq, st.LastSeq, st.Msgs, limit, n)
	}
}

func TestPublisherRefusesATinyStream(t *testing.T) {
	for _, b := range []int64{-1, 1, 1<<20 - 1} {
		_, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{
			NATSConfig: feed.NATSConfig{URL: "nats://127.0.0.1:1"}, Symbols: []string{"AAPL"}, MaxPerSymbol: 1, MaxAge: time.Hour, MaxBytes: b, Window: 1,
		})
		if err == nil || !strings.Contains(err.Error(), "want 0 (no limit) or at least 1048576 bytes") {
			t.Errorf("MaxBytes %d: %v", b, err)
		}
	}
}
