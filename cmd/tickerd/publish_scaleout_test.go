package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
	"github.com/tickerd/tickerd/internal/natstest"
)

// TestScaleOutServesPublishedTicksAlikeOnEveryReplica runs tickerd
// publish -feed http into a real JetStream and two replicas: ticks posted
// to the publisher, and ticks a program of the user's own publishes into
// NATS by the documented schema, reach both replicas with the same ids.
func TestScaleOutServesPublishedTicksAlikeOnEveryReplica(t *testing.T) {
	ns := natstest.Start(t)
	symbols := "AAPL,ACME,NYSE:XYZ"
	pub := startTickerd(t, "publish", "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey),
		"-nats-url", ns.URL(), "-symbols", symbols)
	waitReady(t, pub.URL)
	// A replica is ready once it has a tick.
	if a := postTicks(t, pub.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("AAPL", 230, 1))); a.status != 200 || a.result.Accepted != 1 {
		t.Fatalf("first publish: %d %s", a.status, a.raw)
	}
	r1 := startReplica(t, ns.URL(), "-symbols", symbols)
	r2 := startReplica(t, ns.URL(), "-symbols", symbols)
	s1 := openRaw(t, r1.URL+"/events", "")
	s2 := openRaw(t, r2.URL+"/events", "")

	// The publisher holds lines to the replicas' hygiene and answers for each.
	body := strings.Join([]string{
		tickLine("ACME", 12.5, 100),
		tickLine("FOO", 1, 1),
		`{"sym":"ACME","px":12.5,"bid":12.6,"ask":12.4,"size":1}`,
		tickLine("NYSE:XYZ", 40, 7),
		tickLine("AAPL", 230.01, 3),
	}, "\n")
	a := postTicks(t, pub.URL, publishKey, ingest.ContentType, strings.NewReader(body))
	if a.status != 200 || a.result.Accepted != 3 || len(a.result.Rejected) != 2 ||
		a.result.Rejected[0].Line != 2 || a.result.Rejected[1].Line != 3 {
		t.Fatalf("publish: %d %s", a.status, a.raw)
	}
	// The answer comes once the accepted lines are stored: the user's
	// program below, on a connection of its own, writes after them.
	if seq := metric(t, pub.URL, "tickerd_bus_published_sequence"); seq != 4 {
		t.Fatalf("answered with the stream at seq %v; want the 4 ticks accepted so far stored", seq)
	}

	// A program of the user's own: the tick's JSON on its symbol's subject,
	// with a Nats-Msg-Id, sent twice (a retry), then a second tick. Its seq
	// is the replicas' to set.
	js := ns.JetStream()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	own := func(id, data string) *jetstream.PubAck {
		msg := nats.NewMsg(feed.Subject("NYSE:XYZ"))
		msg.Header.Set(jetstream.MsgIDHeader, id)
		msg.Data = []byte(data)
		ack, err := js.PublishMsg(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	ts := time.Now().UnixNano()
	first := own("my-feed-1", `{"sym":"NYSE:XYZ","px":40.01,"bid":40,"ask":40.02,"size":5,"ts":`+itoa(ts)+`}`)
	if retry := own("my-feed-1", `{"sym":"NYSE:XYZ","px":40.01,"bid":40,"ask":40.02,"size":5,"ts":`+itoa(ts)+`}`); !retry.Duplicate || retry.Sequence != first.Sequence {
		t.Fatalf("a retry with the same Nats-Msg-Id was stored again: %+v after %+v", retry, first)
	}
	// What does not decode is counted by every replica, and served by none.
	if _, err := js.Publish(ctx, feed.Subject("ACME"), []byte("not a tick")); err != nil {
		t.Fatal(err)
	}
	own("my-feed-2", `{"sym":"NYSE:XYZ","px":40.02,"bid":40.01,"ask":40.03,"size":6,"ts":`+itoa(ts+1)+`}`)

	want := []struct {
		sym  string
		px   float64
		size int64
	}{{"ACME", 12.5, 100}, {"NYSE:XYZ", 40, 7}, {"AAPL", 230.01, 3}, {"NYSE:XYZ", 40.01, 5}, {"NYSE:XYZ", 40.02, 6}}
	got1, got2 := s1.ticks(t, len(want)), s2.ticks(t, len(want))
	for i, w := range want {
		a, b := got1[i], got2[i]
		if a != b {
			t.Errorf("tick %d: replica 1 %+v, replica 2 %+v", i, a, b)
		}
		if a.Symbol != w.sym || a.Price != w.px || a.Size != w.size || (i > 0 && a.Seq <= got1[i-1].Seq) {
			t.Errorf("tick %d: %+v, want %s %v x%d after seq %d", i, a, w.sym, w.px, w.size, got1[max(i-1, 0)].Seq)
		}
	}
	if got1[3].Seq != first.Sequence {
		t.Errorf("the user's tick has id %d, its stream sequence is %d", got1[3].Seq, first.Sequence)
	}
	for _, r := range []*tickerd{r1, r2} {
		if n := metric(t, r.URL, "tickerd_bus_undecodable_messages_total"); n != 1 {
			t.Errorf("%s counted %v undecodable messages, want 1", r.URL, n)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestScaleOutReplaysAFileIntoJetStream runs tickerd publish -feed replay:
// two replicas serve the file's ticks, in its order, with the same ids.
func TestScaleOutReplaysAFileIntoJetStream(t *testing.T) {
	ns := natstest.Start(t)
	sample := "../../deploy/replay/sample.ndjson.gz"
	pub := startTickerd(t, "publish", "-feed", "replay", "-replay-file", sample, "-replay-speed", "5", "-nats-url", ns.URL())
	waitReady(t, pub.URL)
	r1 := startReplica(t, ns.URL(), "-symbols", "AAPL,MSFT,NVDA,AMZN,GOOGL,META,TSLA,JPM", "-replay", "10000")
	r2 := startReplica(t, ns.URL(), "-symbols", "AAPL,MSFT,NVDA,AMZN,GOOGL,META,TSLA,JPM", "-replay", "10000")
	// Both resume from the stream's first message, which their replay
	// rings hold: the file from its first tick.
	const n = 100
	got1 := openRaw(t, r1.URL+"/events", "0").ticks(t, n)
	got2 := openRaw(t, r2.URL+"/events", "0").ticks(t, n)
	want := fileTicks(t, sample, n)
	for i := range n {
		a, b, w := got1[i], got2[i], want[i]
		if a != b || a.Seq != uint64(i+1) || a.Symbol != w.Symbol || a.Price != w.Price || a.Size != w.Size {
			t.Fatalf("tick %d: replica 1 %+v, replica 2 %+v, file %+v", i, a, b, w)
		}
	}
}
