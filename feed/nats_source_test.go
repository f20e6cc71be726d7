package feed_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/setting"
)

func TestSourceWarmsUpFromTheStreamThenFollowsIt(t *testing.T) {
	ns := natstest.Start(t)
	q, _ := startPublisher(t, ns.URL(), nil)
	sendTicks(t, q, 1, 300)
	nc, js := connect(t, ns.URL())
	defer nc.Close()
	waitFor(t, "300 stored", func() bool { return lastSeq(t, js) == 300 })

	// 50 ticks of replay, but the rare symbol last traded at seq 10: the
	// source reads back to it, on the subject the publisher stored it on,
	// so that every quote is complete.
	reg := prometheus.NewRegistry()
	src, c := startSource(t, ns.URL(), 50, reg)
	checkStreamOrder(t, c.waitForSeq(t, 300), 10, 300)
	waitFor(t, "ready", func() bool { return src.Ready() == nil })

	sendTicks(t, q, 301, 320)
	checkStreamOrder(t, c.waitForSeq(t, 320), 10, 320)
	waitFor(t, "lag 0", func() bool {
		return metricValue(t, reg, "tickerd_bus_consumed_sequence") == 320 &&
			metricValue(t, reg, "tickerd_bus_lag_messages") == 0
	})
	if got := metricValue(t, reg, "tickerd_bus_connected"); got != 1 {
		t.Errorf("tickerd_bus_connected %v, want 1", got)
	}
}

func TestSourceOnAnEmptyStreamIsReadyAndStartsAtTheFirstTick(t *testing.T) {
	ns := natstest.Start(t)
	q, _ := startPublisher(t, ns.URL(), nil)
	nc, js := connect(t, ns.URL())
	defer nc.Close()
	waitFor(t, "the stream", func() bool { _, err := js.Stream(context.Background(), feed.StreamName); return err == nil })
	src, c := startSource(t, ns.URL(), 50, nil)
	waitFor(t, "ready", func() bool { return src.Ready() == nil })
	sendTicks(t, q, 1, 5)
	checkStreamOrder(t, c.waitForSeq(t, 5), 1, 5)
}

func TestSourceWaitsForTheStreamToExist(t *testing.T) {
	ns := natstest.Start(t)
	reg := prometheus.NewRegistry()
	src, c := startSource(t, ns.URL(), 50, reg)
	waitFor(t, "connected", func() bool { return metricValue(t, reg, "tickerd_bus_connected") == 1 })
	if err := src.Ready(); !errors.Is(err, feed.ErrWarmingUp) {
		t.Errorf("Ready() without a stream = %v, want ErrWarmingUp", err)
	}
	q, _ := startPublisher(t, ns.URL(), nil)
	sendTicks(t, q, 1, 5)
	checkStreamOrder(t, c.waitForSeq(t, 5), 1, 5)
}

func TestSourceStopsWhenTheStreamIsRecreated(t *testing.T) {
	ns := natstest.Start(t)
	q, _ := startPublisher(t, ns.URL(), nil)
	sendTicks(t, q, 1, 50)
	src, err := feed.NewNATSSource(feed.NATSSourceConfig{
		NATSConfig: feed.NATSConfig{URL: ns.URL()}, Symbols: testSymbols, Replay: 100, Heartbeat: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &received{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, c.publish) }()
	c.waitForSeq(t, 50)

	nc, js := connect(t, ns.URL())
	defer nc.Close()
	if err := js.DeleteStream(context.Background(), feed.StreamName); err != nil {
		t.Fatal(err)
	}
	sendTicks(t, q, 51, 55) // the publisher creates it again: seqs 1..5
	select {
	case err := <-done:
		if !errors.Is(err, feed.ErrStreamReset) {
			t.Fatalf("Run = %v, want ErrStreamReset", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run went on after the stream restarted its sequence numbers")
	}
}

// A replica pulls in batches and hands on every tick of each batch in
// stream order, with its stream sequence as Seq, skipping and counting the
// messages that are not ticks wherever they fall in a batch.
func TestSourceHandsOnBatchesInOrderAndSkipsUndecodableMessages(t *testing.T) {
	ns := natstest.Start(t)
	_, p := startPublisher(t, ns.URL(), nil)
	waitFor(t, "the stream", func() bool { return p.Ready() == nil })
	nc, js := connect(t, ns.URL())
	defer nc.Close()
	ctx := context.Background()
	bad := map[uint64]bool{3: true, 4: true, 9: true, 17: true}
	const n = 20
	for seq := uint64(1); seq <= n; seq++ {
		data := []byte(`{"sym":`) // cut short
		if tk := tick(seq); !bad[seq] {
			data = tk.AppendJSON(nil)
		}
		ack, err := js.Publish(ctx, feed.Subject(tick(seq).Symbol), data)
		if err != nil || ack.Sequence != seq {
			t.Fatalf("publish %d: %v, seq %v", seq, err, ack)
		}
	}
	reg := prometheus.NewRegistry()
	src, err := feed.NewNATSSource(feed.NATSSourceConfig{
		NATSConfig: feed.NATSConfig{URL: ns.URL(), Registerer: reg, Logger: testLogger(t)},
		Symbols:    testSymbols, Replay: n, Heartbeat: 500 * time.Millisecond, Batch: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &received{}
	runInBackground(t, "source", func(ctx context.Context) error { return src.Run(ctx, c.publish) })
	got := c.waitForSeq(t, n)
	var want []uint64
	for seq := uint64(1); seq <= n; seq++ {
		if !bad[seq] {
			want = append(want, seq)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("handed on %d ticks, want %d (seqs %v)", len(got), len(want), want)
	}
	for i, tk := range got {
		w := tick(want[i])
		w.Seq = want[i]
		if tk != w {
			t.Errorf("tick %d: %+v, want %+v", i, tk, w)
		}
	}
	waitFor(t, "the undecodable counted", func() bool {
		return metricValue(t, reg, "tickerd_bus_undecodable_messages_total") == float64(len(bad))
	})
}

// A pull batch and a publish window are bounded, and 0 is not one.
func TestBusRefusesBatchesAndWindowsOutOfBounds(t *testing.T) {
	cfg := feed.NATSConfig{URL: "nats://127.0.0.1:4222"}
	for _, window := range []int{0, -1, feed.MaxPublishWindow + 1} {
		_, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{NATSConfig: cfg, MaxPerSymbol: 1, MaxAge: time.Hour, Window: window})
		var bad *setting.Error
		if !errors.As(err, &bad) || bad.Name != "Window" {
			t.Errorf("Window %d: %v, want a setting error for Window", window, err)
		}
	}
	for _, batch := range []int{-1, feed.MaxConsumeBatch + 1} {
		_, err := feed.NewNATSSource(feed.NATSSourceConfig{NATSConfig: cfg, Batch: batch})
		var bad *setting.Error
		if !errors.As(err, &bad) || bad.Name != "Batch" {
			t.Errorf("Batch %d: %v, want a setting error for Batch", batch, err)
		}
	}
}
