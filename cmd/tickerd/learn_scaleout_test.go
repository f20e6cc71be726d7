package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
	"github.com/tickerd/tickerd/internal/natstest"
)

// TestReplicasLearnSymbolsFromTheBus runs tickerd publish -feed http and
// a replica, both learning 2 symbols, on a real JetStream: the publisher
// takes 2 new symbols and refuses a third with the reason; the replica
// learns the 2 from the bus, streams them and lists them, and refuses a
// third new symbol that a program of the user's own put on the bus,
// counting it.
func TestReplicasLearnSymbolsFromTheBus(t *testing.T) {
	ns := natstest.Start(t)
	pub := startTickerd(t, "publish", "-feed", "http", "-publish-key-file", secretFile(t, "key", publishKey),
		"-nats-url", ns.URL(), "-symbols", "AAPL", "-learn-symbols", "2")
	waitReady(t, pub.URL)
	// A replica is ready once it has a tick.
	if a := postTicks(t, pub.URL, publishKey, ingest.ContentType, strings.NewReader(tickLine("AAPL", 230, 1))); a.status != 200 || a.result.Accepted != 1 {
		t.Fatalf("first publish: %d %s", a.status, a.raw)
	}
	r := startReplica(t, ns.URL(), "-symbols", "AAPL", "-learn-symbols", "2")
	s := openRaw(t, r.URL+"/events", "")

	a := postTicks(t, pub.URL, publishKey, ingest.ContentType, strings.NewReader(
		tickLine("NEWA", 10, 1)+"\n"+tickLine("NEWB", 20, 2)+"\n"+tickLine("NEWC", 30, 3)+"\n"))
	if a.status != 200 || a.result.Accepted != 2 || len(a.result.Rejected) != 1 ||
		a.result.Rejected[0].Line != 3 || a.result.Rejected[0].Error != "unknown symbol NEWC: the universe is full (2 learned)" {
		t.Fatalf("publish of 3 new symbols: %d %s", a.status, a.raw)
	}
	// The answer comes once the accepted lines are stored: the program
	// below writes after them.
	if seq := metric(t, pub.URL, "tickerd_bus_published_sequence"); seq != 3 {
		t.Fatalf("answered with the stream at seq %v; want the 3 ticks accepted so far stored", seq)
	}

	// A program of the user's own puts a fourth new symbol on the bus,
	// then a tick of a learned one.
	js := ns.JetStream()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tick := range []string{
		`{"sym":"NEWD","px":40,"bid":39.99,"ask":40.01,"size":4}`,
		`{"sym":"NEWA","px":10.01,"bid":10,"ask":10.02,"size":5}`,
	} {
		sym := strings.Split(tick, `"`)[3]
		if _, err := js.Publish(ctx, feed.Subject(sym), []byte(tick)); err != nil {
			t.Fatal(err)
		}
	}

	got := s.ticks(t, 3)
	for i, w := range []struct {
		sym string
		px  float64
	}{{"NEWA", 10}, {"NEWB", 20}, {"NEWA", 10.01}} {
		if got[i].Symbol != w.sym || got[i].Price != w.px {
			t.Errorf("replica tick %d: %+v, want %s at %v", i, got[i], w.sym, w.px)
		}
	}
	if syms := symbolsOf(t, r.URL); !slices.Equal(syms, []string{"AAPL", "NEWA", "NEWB"}) {
		t.Errorf("replica's /api/symbols lists %v, want AAPL NEWA NEWB", syms)
	}
	if text := scrape(t, r); !strings.Contains(text, `tickerd_feed_ticks_rejected_total{reason="universe_full"} 1`+"\n") {
		t.Error(`the replica's /metrics has no tickerd_feed_ticks_rejected_total{reason="universe_full"} 1`)
	}
}
