package sse

import (
	"encoding/json"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/api"
)

// readiness asks a /readyz handler with stallAfter about th's hub.
func (th *testHub) readiness(t *testing.T, stallAfter time.Duration) (int, api.Readiness) {
	t.Helper()
	w := httptest.NewRecorder()
	api.NewReadyHandler(th.Hub, stallAfter).ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	var body api.Readiness
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("readyz body %q: %v", w.Body, err)
	}
	return w.Code, body
}

func TestStalledFeedKeepsStreamsAliveAndReadyzSaysSo(t *testing.T) {
	const stallAfter = 300 * time.Millisecond
	th := startHub(t, testConfig{Heartbeat: 200 * time.Millisecond})
	if code, body := th.readiness(t, stallAfter); code != 503 || body.Status != "degraded" ||
		body.Reason != "no tick from the feed yet" || body.LastTickAge != nil {
		t.Fatalf("before the first tick: %d %+v", code, body)
	}
	c := th.dial(t, "", nil)
	c.mustNext()
	c.mustNext()
	th.publish(t, 1)
	if seqs, _ := c.ticks(1); seqs[0] != 1 {
		t.Fatalf("tick %v", seqs)
	}
	// Fresh, within ten times stallAfter: the machine may pause between
	// the tick and this question.
	if code, body := th.readiness(t, 10*stallAfter); code != 200 || body.Status != "ready" || body.Clients != 1 ||
		body.LastTickAge == nil || *body.LastTickAge > 10*stallAfter.Seconds() {
		t.Fatalf("with a fresh tick: %d %+v", code, body)
	}

	// The feed stops: the stream gets heartbeats, and readiness degrades
	// once the last tick is older than stallAfter.
	stalledAt := time.Now()
	heartbeats := 0
	for heartbeats < 2 || time.Since(stalledAt) < stallAfter {
		ev, err := c.next()
		if err != nil {
			t.Fatalf("stream of a stalled feed: %v", err)
		}
		if !ev.comment {
			t.Fatalf("got %+v from a stalled feed", ev)
		}
		heartbeats++
	}
	code, body := th.readiness(t, stallAfter)
	if code != 503 || body.Status != "degraded" || body.Reason != "the feed has stalled" ||
		body.LastTickAge == nil || *body.LastTickAge < stallAfter.Seconds() || body.StallAfter != stallAfter.Seconds() {
		t.Fatalf("stalled: %d %+v", code, body)
	}

	// The feed comes back: the same stream goes on, readiness recovers.
	th.publish(t, 1)
	if seqs, _ := c.ticks(1); seqs[0] != 2 {
		t.Fatalf("after the stall got %v, want tick 2", seqs)
	}
	if code, body := th.readiness(t, stallAfter); code != 200 || body.Status != "ready" {
		t.Fatalf("after the stall: %d %+v", code, body)
	}
}

func TestClientVanishingMidWriteIsClosedAndReleased(t *testing.T) {
	// The fast client's socket takes a whole burst, so only the client
	// that stops reading falls behind.
	th := startHub(t, testConfig{QueueBytes: 4096, WriteTimeout: time.Minute, SendBuffer: 1 << 20})
	fast := th.dial(t, "", nil)
	fast.mustNext()
	fast.mustNext()
	gone := th.dialSmallWindow(t)
	waitFor(t, "both attached", func() bool { return th.Status().Clients == 2 })
	// Publish until the vanishing client's socket is full and its queue
	// overflows: it certainly has bytes in flight.
	var total uint64
	for th.metric(t, "tickerd_clients_conflated") != 1 {
		if total >= 200_000 {
			t.Fatal("the non-reading client never fell behind")
		}
		th.publish(t, 500)
		fast.ticks(500)
		total += 500
	}
	// It vanishes without a goodbye: a reset, not a FIN.
	if err := gone.conn.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	gone.conn.Close()
	closed := func() float64 {
		return th.metric(t, "tickerd_streams_closed_total", "normal") +
			th.metric(t, "tickerd_streams_closed_total", "write_error")
	}
	for closed() != 1 {
		if total >= 400_000 {
			t.Fatal("the vanished client was never closed")
		}
		th.publish(t, 100)
		seqs, _ := fast.ticks(100)
		if seqs[99] != total+100 {
			t.Fatalf("the reading client is behind: %d, want %d", seqs[99], total+100)
		}
		total += 100
	}
	waitFor(t, "the vanished client released", func() bool {
		n, _ := th.streams.Counts()
		return th.Status().Clients == 1 && n == 1
	})
	if th.metric(t, "tickerd_events_dropped_total", "disconnected") == 0 {
		t.Error("the ticks queued for the vanished client were not counted as dropped")
	}
}

func TestClientThatSendsABodyOrPipelinesKeepsItsStream(t *testing.T) {
	// Housekeeping runs every 500ms; a stream idle for a second is checked
	// for a departed client, which reads and discards what the client sent.
	th := startHub(t, testConfig{Heartbeat: 2 * time.Second})
	conn, err := net.Dial("tcp", th.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := strings.Repeat("x", 5000)
	req := "GET /events?symbols=AAPL HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n" + body +
		"GET /api/symbols HTTP/1.1\r\nHost: test\r\n\r\n" +
		"POST /events HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabc"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	c := &sseConn{t: t, conn: conn}
	c.readHead()
	if c.status != 200 {
		t.Fatalf("status %d", c.status)
	}
	c.mustNext() // retry
	c.mustNext() // snapshot
	// More garbage after the stream started, then a heartbeat proves the
	// stream outlived the idle checks that discarded it.
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\n\r\n" + body)); err != nil {
		t.Fatal(err)
	}
	ev, err := c.next()
	if err != nil || !ev.comment {
		t.Fatalf("got %+v, %v; want a heartbeat", ev, err)
	}
	th.publish(t, 8)
	seqs, syms := c.ticks(2)
	if seqs[0] != 4 || seqs[1] != 8 || syms[0] != "AAPL" {
		t.Fatalf("got %v %v, want AAPL ticks 4 and 8", seqs, syms)
	}
	// Nothing but the stream came back (next fails on any line that is not
	// an SSE field, such as an answer to a pipelined request).
	if n := th.metric(t, "tickerd_streams_closed_total", "normal"); n != 0 {
		t.Fatalf("a stream was closed: %v", n)
	}
	// And when the client goes, the stream goes.
	conn.Close()
	waitFor(t, "the departed client closed", func() bool { return th.Status().Clients == 0 })
}
