package stream

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
)

// BenchmarkStreamMemory measures the heap one stream costs the hub: idle
// (attached, its snapshot written, nothing since); behind, its client
// having stopped reading while the feed sends 1,000 ticks a second in
// batches of five (C's rate), for 0.75 s, so that its backlog holds 150
// batches; and conflated, the same for 2 s, past the second after which a
// stream whose socket takes nothing is conflated. The streams are on Unix
// socket pairs whose other end never reads: with the kernel's buffers for
// the idle streams, which take the snapshot whole, and the smallest it
// allows for the others, so that their backlog is the hub's. The replay
// ring is off: its size does not depend on the number of streams.
// B/stream is the heap after a full collection less the heap before the
// streams, divided by their number; segments/stream is the length of a
// stream's backlog.
func BenchmarkStreamMemory(b *testing.B) {
	const streams = 500
	symbols := make([]string, 50)
	for i := range symbols {
		symbols[i] = fmt.Sprintf("S%02d", i)
	}
	for _, bc := range []struct {
		name   string
		cycles int // 5 ms cycles of five ticks after the snapshot
	}{{"idle", 0}, {"behind", 150}, {"conflated", 400}} {
		b.Run(bc.name, func(b *testing.B) {
			var perStream, segments float64
			for b.Loop() {
				cfg := DefaultConfig(symbols, testFraming{})
				cfg.ReplaySize = 0
				cfg.Registerer = prometheus.NewRegistry()
				h, err := NewHub(cfg)
				if err != nil {
					b.Fatal(err)
				}
				h.state = hubRunning
				for _, w := range h.writers {
					go w.run()
				}
				start := time.Unix(1_764_000_000, 0)
				tick := feed.Tick{Price: 100, Bid: 99.99, Ask: 100.01, Size: 100}
				publish := func(n int, at time.Time) {
					for range n {
						tick.Seq++
						tick.Symbol = symbols[tick.Seq%50]
						tick.Time = at
						if err := h.Publish(tick); err != nil {
							b.Fatal(err)
						}
					}
				}
				publish(50, start) // every symbol has a quote
				h.takeBatch(start)
				before := heapInUse()
				peers := make([]net.Conn, 0, streams)
				for range streams {
					conn, peer := stalledPair(b, bc.cycles > 0)
					peers = append(peers, peer)
					if _, err := h.Attach(Subscription{}, Sink{Conn: conn, Framing: testFraming{}}); err != nil {
						b.Fatal(err)
					}
				}
				at := start
				_, joins, _ := h.takeBatch(at)
				for i, c := range joins {
					h.writers[i%len(h.writers)].joins = append(h.writers[i%len(h.writers)].joins, c)
				}
				h.dispatch(cycle{now: at})
				for range bc.cycles {
					at = at.Add(5 * time.Millisecond)
					publish(5, at)
					batch, _, _ := h.takeBatch(at)
					h.dispatch(cycle{batch: batch, now: at})
				}
				perStream = float64(int64(heapInUse())-int64(before)) / streams
				total := 0
				for _, w := range h.writers {
					for _, c := range w.clients {
						total += len(c.backlog)
					}
				}
				segments = float64(total) / streams
				h.dispatch(cycle{now: at, shutdown: true})
				for _, w := range h.writers {
					close(w.cycles)
				}
				for _, p := range peers {
					p.Close()
				}
			}
			b.ReportMetric(perStream, "B/stream")
			b.ReportMetric(segments, "segments/stream")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// stalledPair returns both ends of a Unix socket pair, with the smallest
// buffers if small; nothing reads the peer.
func stalledPair(b *testing.B, small bool) (conn, peer net.Conn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	if small {
		_ = syscall.SetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF, 1)
		_ = syscall.SetsockoptInt(fds[1], syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	return conns[0], conns[1]
}
