package ws

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/market"
)

// TestBarsStatusAndBandsOverWebSocket asks for bars on the upgrade URL
// and by a subscribe op, and gets bar, status and bands messages.
func TestBarsStatusAndBandsOverWebSocket(t *testing.T) {
	ts := startServer(t, testOptions{})
	c := dial(t, ts.url("ws?symbols=AAPL&bars=1s"), nil)
	c.expect("snapshot")
	c.expect("subscription")
	base := time.Date(2026, 3, 9, 14, 0, 0, 0, time.UTC)
	tick := func(seq uint64, sym string, after time.Duration) {
		t.Helper()
		if err := ts.hub.Publish(feed.Tick{Seq: seq, Symbol: sym, Price: 100, Bid: 99.99, Ask: 100.01, Size: 100, Time: base.Add(after)}); err != nil {
			t.Fatal(err)
		}
	}
	tick(1, "AAPL", 0)
	if err := ts.hub.PublishStatus(market.Status{Seq: 2, Symbol: "AAPL", State: market.StateHalted, Reason: market.ReasonNewsPending, Time: base.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := ts.hub.PublishBands(market.Bands{Seq: 3, Symbol: "AAPL", Ref: 100, Lower: 95, Upper: 105, Time: base.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	c.expect("tick")
	read := func() map[string]any {
		t.Helper()
		ctx, cancel := contextWithTimeout()
		defer cancel()
		_, data, err := c.c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := read(); m["type"] != "bar" || m["interval"] != "1s" || m["sym"] != "AAPL" || m["v"] != 100.0 {
		t.Fatalf("got %v; want AAPL's 1s bar", m)
	}
	if m := read(); m["type"] != "status" || m["state"] != "halted" || m["reason"] != "T1" {
		t.Fatalf("got %v; want the halt", m)
	}
	if m := read(); m["type"] != "bands" || m["lower"] != 95.0 {
		t.Fatalf("got %v; want the bands", m)
	}

	c.send(`{"op":"subscribe","symbols":["MSFT"],"bars":["1m"]}`)
	c.expect("subscription")
	c.expect("snapshot")
	tick(4, "MSFT", 2*time.Second)
	tick(5, "MSFT", 61*time.Second)
	c.expect("tick")
	for _, sym := range []string{"AAPL", "MSFT"} {
		if m := read(); m["type"] != "bar" || m["interval"] != "1m" || m["sym"] != sym {
			t.Fatalf("got %v; want %s's 1m bar, and no 1s bar any more", m, sym)
		}
	}
	if m := read(); m["type"] != "tick" {
		t.Fatalf("got %v; want the tick that closed the minute", m)
	}

	for _, tc := range []struct{ msg, want string }{
		{`{"op":"subscribe","symbols":["AAPL"],"bars":["2m"]}`, `unknown bars interval "2m"; want 1s, 5s, 1m, 5m`},
		{`{"op":"unsubscribe","symbols":["AAPL"],"bars":["1s"]}`, "unsubscribe takes symbols, not bars"},
	} {
		c.send(tc.msg)
		if m := c.expect("error"); !strings.Contains(m.Error, tc.want) {
			t.Errorf("%s: error %q; want %q", tc.msg, m.Error, tc.want)
		}
	}

	ctx, cancel := contextWithTimeout()
	defer cancel()
	_, resp, err := websocket.Dial(ctx, ts.url("ws?bars=1s,90s"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("upgrade with bars=90s: %v, %v; want 400", resp, err)
	}
}

func contextWithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
