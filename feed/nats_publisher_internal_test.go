package feed

import (
	"context"
	"errors"
	"strconv"
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
	p, js := publisherOnItsStream(t, 1)
	ctx := context.Background()
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

// A publication the stream refuses is stored again before any tick sent
// after it: those are refused too, because each expects the one before it
// to be the stream's last, and are then resent in order.
func TestPublisherWindowStoresTicksAfterARefusedOneBehindIt(t *testing.T) {
	p, js := publisherOnItsStream(t, 8)
	ctx := context.Background()
	w := newPublishWindow(p, js)
	settled := make(chan struct{})
	go func() { defer close(settled); w.settle(ctx) }()
	// The first publication expects a message the stream never stored.
	w.last = "never-stored"
	const n = 6
	for seq := uint64(1); seq <= n; seq++ {
		tk := Tick{Seq: seq, Symbol: "AAPL", Price: 1, Bid: 0.99, Ask: 1.01, Size: int64(seq), Time: time.Unix(1, 0)}
		msg := &nats.Msg{Subject: Subject(tk.Symbol), Data: tk.AppendJSON(nil)}
		if seq%3 == 1 { // the bars some events carry are resent with them
			msg.Header = nats.Header{BarsHeader: []string{barsOf(seq)}}
		}
		w.send(ctx, msg, "run-"+strconv.FormatUint(seq, 10))
	}
	w.close()
	<-settled

	stream, err := js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= n; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream seq %d: %v", seq, err)
		}
		var got Tick
		if err := got.UnmarshalJSON(m.Data); err != nil {
			t.Fatal(err)
		}
		if got.Seq != seq {
			t.Errorf("stream seq %d holds tick %d, want %d", seq, got.Seq, seq)
		}
		want := ""
		if seq%3 == 1 {
			want = barsOf(seq)
		}
		if bars := m.Header.Get(BarsHeader); bars != want {
			t.Errorf("stream seq %d carries bars %q, want %q", seq, bars, want)
		}
	}
	if got := testutil.ToFloat64(p.metrics.published); got != n {
		t.Errorf("published %v, want %d", got, n)
	}
	if got := testutil.ToFloat64(p.metrics.retries); got < 1 {
		t.Errorf("retries %v, want at least the refused one", got)
	}
	if got := testutil.ToFloat64(p.metrics.inFlight); got != 0 {
		t.Errorf("in flight %v, want 0", got)
	}
}

func barsOf(seq uint64) string {
	return `[{"sym":"AAPL","interval":"1s","t":` + strconv.FormatUint(seq, 10) + `,"o":1,"h":1,"l":1,"c":1,"v":1,"updated":false}]`
}

// A publication dropped because the publisher is stopping keeps its
// ordinal: a wait that covers it is answered by the stop, never as if
// everything sent had been stored.
func TestAPublicationDroppedAtTheStopIsNeverTakenAsStored(t *testing.T) {
	p, js := publisherOnItsStream(t, 1)
	ctx := context.Background()
	msg := func(seq uint64) *nats.Msg {
		tk := Tick{Seq: seq, Symbol: "AAPL", Price: 1, Bid: 0.99, Ask: 1.01, Size: 1, Time: time.Unix(1, 0)}
		return &nats.Msg{Subject: Subject(tk.Symbol), Data: tk.AppendJSON(nil)}
	}
	w := newPublishWindow(p, js)
	w.send(ctx, msg(1), "run-1")
	// The window of one is full until the settler runs: the next send
	// can only see its context done, and drops its publication.
	stopping, stop := context.WithCancel(ctx)
	stop()
	w.send(stopping, msg(2), "run-2")
	w.close()
	w.settle(ctx)
	if got := p.mark.upTo.Load(); got != 1 {
		t.Fatalf("stored up to %d after the first publication's acknowledgement; want 1", got)
	}
	p.mark.stop()
	if err := p.WaitStored(ctx, p.Sent()); !errors.Is(err, ErrPublisherStopped) {
		t.Fatalf("WaitStored for %d sent, the last dropped: %v; want %v", p.Sent(), err, ErrPublisherStopped)
	}
}

// publisherOnItsStream returns a publisher with a window of window
// publications, not running, and a connection to a test server on which
// the publisher's stream is set up; the connection ends with the test.
func publisherOnItsStream(t *testing.T, window int) (*NATSPublisher, jetstream.JetStream) {
	t.Helper()
	ns := natstest.Start(t)
	p, err := NewNATSPublisher(NATSPublisherConfig{NATSConfig: NATSConfig{URL: ns.URL()}, MaxPerSymbol: 10, MaxAge: time.Hour, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ensureStream(context.Background(), js); err != nil {
		t.Fatal(err)
	}
	return p, js
}
