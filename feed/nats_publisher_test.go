package feed_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
)

func TestPublisherStoresEveryTickInOrderOnItsSymbolsSubject(t *testing.T) {
	ns := natstest.Start(t)
	reg := prometheus.NewRegistry()
	q, p := startPublisher(t, ns.URL(), reg)
	sendTicks(t, q, 1, 100)
	// A tick whose acknowledgement is late is sent again, and then counted
	// as a duplicate: the stream's sequence is what says all are stored.
	waitFor(t, "100 ticks stored", func() bool { return metricValue(t, reg, "tickerd_bus_published_sequence") == 100 })
	if err := p.Ready(); err != nil {
		t.Errorf("Ready() = %v", err)
	}

	nc, js := connect(t, ns.URL())
	defer nc.Close()
	ctx := context.Background()
	stream, err := js.Stream(ctx, feed.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(ctx)
	if info.State.Msgs != 100 || info.State.FirstSeq != 1 || info.State.LastSeq != 100 {
		t.Fatalf("stream state %+v, want 100 messages 1..100", info.State)
	}
	cfg := info.Config
	if cfg.MaxMsgsPerSubject != 1000 || cfg.MaxAge != time.Hour || cfg.Duplicates <= 0 || cfg.Storage != jetstream.FileStorage {
		t.Errorf("stream config %+v", cfg)
	}
	// One token per symbol, so ticks.* matches every subject.
	bySubject, err := stream.Info(ctx, jetstream.WithSubjectFilter(feed.SubjectPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"ticks.NASDAQ_3AAAPL": 33, "ticks.MSFT": 33, "ticks.BRK_2EB": 33, "ticks.NYSE_3ABF_2EB": 1}
	if got := bySubject.State.Subjects; !maps.Equal(got, want) {
		t.Errorf("messages per subject matching ticks.*: %v, want %v", got, want)
	}
	for _, seq := range []uint64{1, 3, 10, 100} {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var got feed.Tick
		if err := got.UnmarshalJSON(m.Data); err != nil {
			t.Fatal(err)
		}
		want := tick(seq)
		if m.Subject != feed.Subject(want.Symbol) || got != want || m.Header.Get(jetstream.MsgIDHeader) == "" {
			t.Errorf("message %d: %s %s %+v, want %s %+v with a message id", seq, m.Subject, m.Header, got, feed.Subject(want.Symbol), want)
		}
	}
}
