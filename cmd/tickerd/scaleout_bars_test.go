package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/stream"
)

// relayedBar is a bar event as a replica's client got it, with the id of
// the event before it, which places it among the ticks.
type relayedBar struct {
	after uint64
	body  string
}

// readBarEvents reads a stream until it has sent n bar events.
func readBarEvents(s *rawStream, n int) ([]relayedBar, error) {
	var (
		got  []relayedBar
		last uint64
	)
	for events := 0; len(got) < n; events++ {
		if events == 50*n*100 { // a second's bars come every 300 ticks
			return got, fmt.Errorf("only %d bar events in %d events", len(got), events)
		}
		ev, err := s.next()
		if err != nil {
			return got, fmt.Errorf("after %d bar events: %w", len(got), err)
		}
		switch ev.name {
		case "bar":
			if ev.id != "" {
				return got, fmt.Errorf("bar event with id %s: %s", ev.id, ev.data)
			}
			got = append(got, relayedBar{last, ev.data})
		case "tick", "status", "bands":
			id, err := strconv.ParseUint(ev.id, 10, 64)
			if err != nil {
				return got, fmt.Errorf("%s event id %q", ev.name, ev.id)
			}
			last = id
		}
	}
	return got, nil
}

// TestReplicasRelayThePublishersBars runs a publisher and two replicas on
// a real NATS server: the publisher decides the bars and stores them in
// the tick stream with the events, where they are the bars of the
// stream's own ticks; each replica's clients get exactly those, once,
// just before the event that carried them, the same on both replicas,
// and each replica's /api/history has them.
func TestReplicasRelayThePublishersBars(t *testing.T) {
	ns := natstest.Start(t)
	syms := []string{"-symbols", "AAPL,MSFT,IBM"}
	pub := startTickerd(t, append([]string{"publish", "-nats-url", ns.URL(), "-rate", "300", "-seed", "11"}, syms...)...)
	waitReady(t, pub.URL)
	a := startReplica(t, ns.URL(), syms...)
	b := startReplica(t, ns.URL(), syms...)

	// Both read at once, each stream of every symbol with bars=1s.
	const n = 18 // six seconds of three symbols' bars
	streamA, streamB := openRaw(t, a.URL+"/events?bars=1s", ""), openRaw(t, b.URL+"/events?bars=1s", "")
	var fromA []relayedBar
	var errA error
	readA := make(chan struct{})
	go func() { defer close(readA); fromA, errA = readBarEvents(streamA, n) }()
	fromB, errB := readBarEvents(streamB, n)
	<-readA
	if errA != nil || errB != nil {
		t.Fatalf("replica A: %v; replica B: %v", errA, errB)
	}

	// The same bars, after the same ticks, where both replicas' clients were there.
	from := max(fromA[0].after, fromB[0].after)
	to := min(fromA[len(fromA)-1].after, fromB[len(fromB)-1].after)
	window := func(bars []relayedBar) []relayedBar {
		return slices.DeleteFunc(slices.Clone(bars), func(r relayedBar) bool { return r.after <= from || r.after >= to })
	}
	if wa, wb := window(fromA), window(fromB); len(wa) < 3 || !slices.Equal(wa, wb) {
		t.Fatalf("between ids %d and %d replica A sent bars\n%v\nreplica B\n%v", from, to, wa, wb)
	}

	// Each bar once: the replica makes none of its own.
	for _, bars := range [][]relayedBar{fromA, fromB} {
		seen := map[string]bool{}
		for _, r := range bars {
			if seen[r.body] {
				t.Fatalf("bar %s sent twice", r.body)
			}
			seen[r.body] = true
		}
	}

	// What the publisher stored: its bars, each the OHLCV of the stream's ticks of its second.
	stored, ticks := readTickStream(t, ns)
	for _, r := range fromB {
		carried, ok := stored[r.after+1]
		if !ok || !slices.Contains(carried, r.body) {
			t.Fatalf("replica B sent bar %s after id %d; the message at %d carries %q", r.body, r.after, r.after+1, carried)
		}
		var e struct {
			Sym string `json:"sym"`
			stream.Bar
			Updated bool `json:"updated"`
		}
		if err := json.Unmarshal([]byte(r.body), &e); err != nil {
			t.Fatal(err)
		}
		var want stream.Bar
		for _, tk := range ticks {
			if tk.Symbol != e.Sym || tk.Time.Unix() != e.Time || tk.Seq > r.after {
				continue
			}
			if want.Volume == 0 {
				want = stream.Bar{Time: e.Time, Open: tk.Price, High: tk.Price, Low: tk.Price}
			}
			want.High, want.Low, want.Close = max(want.High, tk.Price), min(want.Low, tk.Price), tk.Price
			want.Volume += tk.Size
		}
		if e.Bar != want {
			t.Errorf("bar %s; the stream's ticks make %+v", r.body, want)
		}

		// And the replica's history holds it.
		var h struct {
			Bars []stream.Bar `json:"bars"`
		}
		getJSONInto(t, b.URL+"/api/history?interval=1s&symbol="+e.Sym, &h)
		if i := slices.IndexFunc(h.Bars, func(x stream.Bar) bool { return x.Time == e.Time }); i < 0 || h.Bars[i] != e.Bar {
			t.Errorf("replica B's history of %s has no bar %+v: %+v", e.Sym, e.Bar, h.Bars)
		}
	}
}

// readTickStream reads the whole tick stream: the bar events each message
// carries, by stream sequence, and the ticks.
func readTickStream(t *testing.T, ns *natstest.Server) (map[uint64][]string, []feed.Tick) {
	t.Helper()
	js := ns.JetStream()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, feed.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bars := map[uint64][]string{}
	var ticks []feed.Tick
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		done := false
		for msg := range batch.Messages() { // to the batch's end, which ends its goroutine
			if done {
				continue
			}
			meta, err := msg.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			if h := msg.Headers().Get(feed.BarsHeader); h != "" {
				var carried []json.RawMessage
				if err := json.Unmarshal([]byte(h), &carried); err != nil {
					t.Fatalf("message %d carries bars %q: %v", meta.Sequence.Stream, h, err)
				}
				for _, c := range carried {
					bars[meta.Sequence.Stream] = append(bars[meta.Sequence.Stream], string(c))
				}
			}
			if !strings.HasPrefix(msg.Subject(), feed.SubjectPrefix+"_") {
				var tk feed.Tick
				if err := tk.UnmarshalJSON(msg.Data()); err != nil {
					t.Fatal(err)
				}
				tk.Seq = meta.Sequence.Stream
				ticks = append(ticks, tk)
			}
			done = meta.Sequence.Stream >= info.State.LastSeq
		}
		if done {
			return bars, ticks
		}
		if err := batch.Error(); err != nil {
			t.Fatal(fmt.Errorf("reading the stream: %w", err))
		}
	}
}
