package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// dialSmallWindow opens a stream from a socket with a tiny receive buffer
// that the test does not read until it chooses to.
func (th *testHub) dialSmallWindow(t *testing.T) *sseConn {
	t.Helper()
	return th.dialSmallWindowWith(t, nil)
}

// dialSmallWindowWith is dialSmallWindow with the request headers header.
func (th *testHub) dialSmallWindowWith(t *testing.T, header map[string]string) *sseConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.DialContext(context.Background(), "tcp", th.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET /events HTTP/1.1\r\nHost: test\r\n"
	for k, v := range header {
		req += k + ": " + v + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	return &sseConn{t: t, conn: conn}
}

// readHead reads the response head of a stream dialled with dialSmallWindow.
func (c *sseConn) readHead() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.r = bufio.NewReader(c.conn)
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.status = resp.StatusCode
}

// TestSlowClientIsConflatedAndLosesNothingSilently publishes to a client
// that reads and one that does not read until the other's stream has been
// conflated for a while: the first gets every tick, in order; the second,
// once it reads, gets every tick either delivered, in order, or counted in
// a conflated notice, and the latest tick of every symbol.
func TestSlowClientIsConflatedAndLosesNothingSilently(t *testing.T) {
	// The queue takes a whole burst of 500 ticks (75 KB), however the hub
	// splits it into batches (an idle hub writes the first tick at once),
	// so the fast client keeps up through its small send buffer.
	th := startHub(t, testConfig{QueueBytes: 128 << 10, WriteTimeout: time.Minute})
	fast := th.dial(t, "", nil)
	_ = fast.conn.SetReadDeadline(time.Now().Add(time.Minute))
	fast.mustNext()
	fast.mustNext()
	// The slow client's socket keeps the kernel's receive buffer: a tiny
	// one would fill sooner, but then reading what it holds back takes a
	// round of TCP window updates (and, on a busy machine, retransmission
	// timeouts) per few KiB.
	slowRequest := th.send(t, "", nil)
	waitFor(t, "both attached", func() bool { return th.Status().Clients == 2 })

	// Publish until the kernel's buffers for the slow client are full and
	// its queue overflows; the fast client must get every tick all along.
	conflated := func() bool { return th.metric(t, "tickerd_clients_conflated") == 1 }
	var total uint64
	for !conflated() {
		if total >= 200_000 {
			t.Fatal("slow client never conflated")
		}
		th.publish(t, 500)
		seqs, _ := fast.ticks(500)
		for i, s := range seqs {
			if s != total+uint64(i)+1 {
				t.Fatalf("fast client: seq %d after %d", s, total+uint64(i))
			}
		}
		total += 500
	}
	// A little more while it is conflated, so some ticks are replaced.
	th.publish(t, 500)
	fast.ticks(500)
	total += 500

	// Now the slow client reads everything: every tick is either delivered,
	// in order, or counted in a conflated notice.
	slow := slowRequest.readHead()
	_ = slow.conn.SetReadDeadline(time.Now().Add(time.Minute))
	slow.mustNext() // retry
	slow.mustNext() // snapshot
	var delivered, dropped, notices int
	var last uint64
	lastBySymbol := map[string]uint64{}
	for last < total {
		ev := slow.mustNext()
		switch ev.name {
		case "conflated":
			var n struct{ Dropped int }
			if err := json.Unmarshal([]byte(ev.data), &n); err != nil {
				t.Fatal(err)
			}
			dropped += n.Dropped
			notices++
		case "tick":
			var tick struct {
				Seq uint64
				Sym string
			}
			if err := json.Unmarshal([]byte(ev.data), &tick); err != nil {
				t.Fatal(err)
			}
			if tick.Seq <= last {
				t.Fatalf("slow client: seq %d after %d", tick.Seq, last)
			}
			last = tick.Seq
			lastBySymbol[tick.Sym] = tick.Seq
			delivered++
		default:
			t.Fatalf("unexpected event %+v", ev)
		}
	}
	if notices == 0 || dropped == 0 {
		t.Fatalf("slow client saw %d conflated notices dropping %d ticks; want some", notices, dropped)
	}
	if uint64(delivered+dropped) != total {
		t.Fatalf("slow client: %d delivered + %d dropped != %d published", delivered, dropped, total)
	}
	for _, sym := range th.Symbols() {
		if lastBySymbol[sym] < total-uint64(len(th.Symbols())) {
			t.Errorf("slow client's last %s tick is %d; the latest of each symbol must arrive", sym, lastBySymbol[sym])
		}
	}
	t.Logf("slow client: %d delivered, %d conflated away in %d notices", delivered, dropped, notices)
}

func TestStuckClientIsDisconnected(t *testing.T) {
	// The fast client is sent bursts of 250 ticks (32 KB) behind a queue
	// of 4 KiB: its socket must take each burst whole, as a large send
	// buffer does, or a busy machine conflates it.
	th := startHub(t, testConfig{QueueBytes: 4096, WriteTimeout: 300 * time.Millisecond, SendBuffer: 1 << 20})
	stuck := th.dialSmallWindow(t)
	fast := th.dial(t, "", nil)
	fast.mustNext()
	fast.mustNext()
	waitFor(t, "both attached", func() bool { return th.Status().Clients == 2 })
	// Publish until the kernel's send buffer for the stuck client is full
	// and the write timeout has passed; the fast client must keep up all along.
	closedSlow := func() bool { return th.metric(t, "tickerd_streams_closed_total", "slow") == 1 }
	for i := 0; !closedSlow(); i++ {
		if i == 2000 {
			t.Fatal("stuck client never closed")
		}
		th.publish(t, 250)
		seqs, _ := fast.ticks(250)
		if seqs[249] != uint64((i+1)*250) {
			t.Fatalf("fast client behind: got %d", seqs[249])
		}
	}
	if th.Status().Clients != 1 {
		t.Fatalf("clients %d, want the fast one only", th.Status().Clients)
	}
	if th.metric(t, "tickerd_events_dropped_total", "disconnected") == 0 {
		t.Error("the stuck client's undelivered ticks were not counted")
	}
	_ = stuck
}
