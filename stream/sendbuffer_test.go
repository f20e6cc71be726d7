//go:build linux

package stream

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/internal/fakeclock"
)

// TestASendBufferGrowsToAQuarterSecondOfItsStream runs the default send
// buffer under streams of several rates, in simulated time over real TCP
// sockets: a firehose whose client reads gets a buffer of a quarter second
// of its stream, by powers of two, and at a rate beyond the bound, the
// bound; a firehose whose client reads only part of it, a quarter second
// of what it reads; a stream of one symbol, whose quarter second fits the
// default, keeps the default, and so does a firehose whose client never
// reads, although its first measure holds what the kernel took for it.
func TestASendBufferGrowsToAQuarterSecondOfItsStream(t *testing.T) {
	var symbols []string // 40: a firehose's quarter second grows, one symbol's does not
	for i := range 40 {
		symbols = append(symbols, "S"+strconv.Itoa(i))
	}
	cfg := DefaultConfig(symbols, testFraming{})
	cfg.Registerer = prometheus.NewRegistry()
	at := time.Unix(1_764_000_000, 0)
	clock := fakeclock.New(at)
	cfg.Clock = clock
	cfg.QueueBytes = 8 << 20 // the slow client's backlog grows by 390 KB/s: no conflation in the test's time
	h := startCycledHub(t, cfg)

	one := h.newSymbolSet()
	one.add(3)
	const slowReads = 250 // bytes the slow client reads a cycle: 25 KB/s
	type stream struct {
		name           string
		sub            *SymbolSet
		reads          bool // all that comes, as it comes
		server, client net.Conn
	}
	streams := []*stream{{name: "reading firehose", reads: true}, {name: "one symbol", sub: one, reads: true}, {name: "stalled firehose"}, {name: "slow firehose"}}
	slow := streams[3]
	for _, s := range streams {
		server, client := tcpConns(t)
		s.server, s.client = server, client
		switch {
		case s.reads:
			done := make(chan struct{})
			go func() { defer close(done); _, _ = io.Copy(io.Discard, client) }()
			t.Cleanup(func() { client.Close(); <-done })
		case s == slow:
			setSockopt(t, client, syscall.SO_RCVBUF, 4<<10)
		default:
			setSockopt(t, client, syscall.SO_RCVBUF, 1)
		}
		if _, err := h.Attach(Subscription{Symbols: s.sub}, Sink{Conn: server, Framing: testFraming{}}); err != nil {
			t.Fatal(err)
		}
	}
	h.joinAll(at)

	// Cycles every 10 ms, each with perCycle ticks of every symbol,
	// housekeeping every second as Run does; the reading streams'
	// backlogs are written out before the next cycle, as they would be by
	// a client that keeps up.
	seq := uint64(0)
	run := func(perCycle, cycles int) (firehoseRate int) {
		const every = 10 * time.Millisecond
		offered := 0
		lastHousekeeping := at
		for range cycles {
			clock.Advance(every)
			at = clock.Now()
			for range perCycle {
				for _, sym := range symbols {
					seq++
					tick := testTick(seq, sym)
					tick.Time = at
					if err := h.Publish(tick); err != nil {
						t.Fatal(err)
					}
				}
			}
			batch, _, _ := h.takeBatch(at)
			offered += len(batch.frames[0].buf)
			housekeeping := at.Sub(lastHousekeeping) >= h.housekeepingInterval()
			if housekeeping {
				lastHousekeeping = at
			}
			h.dispatch(cycle{batch: batch, now: at, housekeeping: housekeeping})
			_ = slow.client.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(slow.client, make([]byte, slowReads)); err != nil {
				t.Fatalf("the slow client's read: %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for h.readingBacklog(streams[0].server, streams[1].server) {
				if time.Now().After(deadline) {
					t.Fatal("the reading clients did not keep up")
				}
				h.dispatch(cycle{now: at})
			}
		}
		return int(float64(offered) / (time.Duration(cycles) * every).Seconds())
	}

	rate := run(1, 200)
	want := DefaultSendBuffer
	for want < int(float64(rate)*sendBufferSpan.Seconds()) {
		want *= 2
	}
	if want == DefaultSendBuffer {
		t.Fatalf("the firehose's rate %d B/s fits the default send buffer: the test shows no growth", rate)
	}
	for _, s := range streams {
		if s == slow {
			// What its socket took is what it read, 25 KB/s, and at
			// first its receive buffer too: more than the default's
			// quarter second, less than the firehose's.
			if got := sendBufferOf(t, s.server); got <= kernelSendBuffer(DefaultSendBuffer) || got >= kernelSendBuffer(want) {
				t.Errorf("%s reading %d B/s of %d: send buffer %d, want more than %d and less than the reading firehose's %d",
					s.name, slowReads*100, rate, got, kernelSendBuffer(DefaultSendBuffer), kernelSendBuffer(want))
			}
			continue
		}
		asked := DefaultSendBuffer
		if s.name == "reading firehose" {
			asked = want
		}
		if got := sendBufferOf(t, s.server); got != kernelSendBuffer(asked) {
			t.Errorf("%s at a firehose rate of %d B/s: send buffer %d, want %d (%d asked)", s.name, rate, got, kernelSendBuffer(asked), asked)
		}
	}

	rate = run(12, 200)
	if got, bound := sendBufferOf(t, streams[0].server), kernelSendBuffer(maxFittedSendBuffer); float64(rate)*sendBufferSpan.Seconds() <= maxFittedSendBuffer || got != bound {
		t.Errorf("reading firehose at %d B/s: send buffer %d, want the bound, %d", rate, got, bound)
	}
}

// readingBacklog reports whether the stream on any of conns holds bytes
// its socket has not taken; it is for the test's goroutine between cycles.
func (h *Hub) readingBacklog(conns ...net.Conn) bool {
	for _, w := range h.writers {
		for _, c := range w.clients {
			for _, conn := range conns {
				if c.conn == conn && c.pending() > 0 {
					return true
				}
			}
		}
	}
	return false
}

// tcpConns returns both ends of a TCP connection over loopback.
func tcpConns(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server, client
}

// sendBufferOf is the kernel's SO_SNDBUF of c's socket.
func sendBufferOf(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var gerr error
	if err := raw.Control(func(fd uintptr) { n, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return n
}

// kernelSendBuffer is what Linux reports for a send buffer of asked bytes:
// twice it, for its bookkeeping, within net.core.wmem_max.
func kernelSendBuffer(asked int) int {
	if b, err := os.ReadFile("/proc/sys/net/core/wmem_max"); err == nil {
		if limit, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			asked = min(asked, limit)
		}
	}
	return 2 * asked
}
