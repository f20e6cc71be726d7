package feed

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tickerd/tickerd/internal/natstest"
)

// A retry of a tick whose acknowledgement was lost carries the same message
// id, and JetStream stores it once: one tick, one sequence number.
func TestPublisherRetryOfAStoredTickIsStoredOnce(t *testing.T) {
	ns := natstest.Start(t)
	p, err := NewNATSPublisher(NATSPublisherConfig{NATSConfig: NATSConfig{URL: ns.URL()}, MaxPerSymbol: 10, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.ensureStream(ctx, js); err != nil {
		t.Fatal(err)
	}
	tk := Tick{Seq: 7, Symbol: "AAPL", Price: 1, Bid: 0.99, Ask: 1.01, Size: 1, Time: time.Unix(1, 0)}
	msg := func() *nats.Msg { return &nats.Msg{Subject: Subject(tk.Symbol), Data: tk.AppendJSON(nil)} }
	p.publish(ctx, js, msg(), "run-7")
	p.publish(ctx, js, msg(), "run-7") // the retry
	tk.Seq = 8
	p.publish(ctx, js, msg(), "run-8")

	stream, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 || info.State.LastSeq != 2 {
		t.Fatalf("stream holds %d messages up to seq %d, want 2 up to 2", info.State.Msgs, info.State.LastSeq)
	}
	if got := testutil.ToFloat64(p.metrics.duplicates); got != 1 {
		t.Errorf("duplicates %v, want 1", got)
	}
	if got := testutil.ToFloat64(p.metrics.published); got != 2 {
		t.Errorf("published %v, want 2", got)
	}
}
