package stream

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// BenchmarkPublish measures accepting and encoding one tick, and moving it
// into the replay ring and the quotes at flush.
// With three framings it is what tickerd pays with SSE, WebSocket and
// polling all served: each tick framed three times.
func BenchmarkPublish(b *testing.B) {
	for _, framings := range [][]Framing{{testFraming{}}, {testFraming{}, otherFraming("ws"), otherFraming("poll")}} {
		b.Run(fmt.Sprintf("framings=%d", len(framings)), func(b *testing.B) {
			cfg := DefaultConfig([]string{"AAPL", "MSFT", "NVDA", "TSLA"}, framings...)
			cfg.ReplaySize = 4096
			h, err := NewHub(cfg)
			if err != nil {
				b.Fatal(err)
			}
			tick := feed.Tick{Symbol: "NVDA", Price: 181.37, Bid: 181.36, Ask: 181.38, Size: 300, Time: time.Now()}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tick.Seq++
				if err := h.Publish(tick); err != nil {
					b.Fatal(err)
				}
				if i%100 == 99 {
					h.takeBatch(time.Now())
				}
			}
		})
	}
}

// otherFraming is testFraming under another name: a second transport.
type otherFraming string

func (f otherFraming) AppendEvent(dst []byte, kind Kind, id uint64, body []byte) []byte {
	return testFraming{}.AppendEvent(dst, kind, id, body)
}
func (otherFraming) Heartbeat() []byte          { return nil }
func (otherFraming) Closing(CloseReason) []byte { return nil }
func (f otherFraming) Name() string             { return string(f) }

// socketPair returns the server end of a connected Unix socket pair whose
// other end a goroutine drains until the returned stop is called.
func socketPair(b *testing.B) (net.Conn, func()) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
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
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(io.Discard, conns[1]) })
	return conns[0], func() { conns[1].Close(); wg.Wait() }
}

// BenchmarkFanout measures one flush cycle of a batch of ticks to every
// stream: the writers' work per delivered event, sockets included.
func BenchmarkFanout(b *testing.B) {
	for _, bc := range []struct {
		clients, batch int
		subscribed     bool // each stream on 5 of 50 symbols instead of all
	}{
		{100, 1, false}, {1000, 1, false}, {1000, 5, false}, {1000, 50, true},
	} {
		name := fmt.Sprintf("clients=%d/batch=%d", bc.clients, bc.batch)
		if bc.subscribed {
			name += "/five-of-fifty"
		}
		b.Run(name, func(b *testing.B) {
			symbols := make([]string, 50)
			for i := range symbols {
				symbols[i] = fmt.Sprintf("S%02d", i)
			}
			cfg := DefaultConfig(symbols, testFraming{})
			cfg.ReplaySize = 1024
			h, err := NewHub(cfg)
			if err != nil {
				b.Fatal(err)
			}
			h.state = hubRunning
			var stops []func()
			for i := range bc.clients {
				conn, stop := socketPair(b)
				stops = append(stops, stop)
				var sub *SymbolSet
				if bc.subscribed {
					sub = h.newSymbolSet()
					for k := range 5 {
						sub.add((i + k*10) % 50)
					}
				}
				if _, err := h.Attach(Subscription{Symbols: sub}, Sink{Conn: conn, Framing: testFraming{}}); err != nil {
					b.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for _, w := range h.writers {
				wg.Go(w.run)
			}
			tick := feed.Tick{Price: 100, Bid: 99.99, Ask: 100.01, Size: 100, Time: time.Now()}
			// First cycle: attach and write the snapshots.
			_, joins, _ := h.takeBatch(time.Now())
			for i, c := range joins {
				h.writers[i%len(h.writers)].joins = append(h.writers[i%len(h.writers)].joins, c)
			}
			h.dispatch(cycle{now: time.Now()})
			b.ReportAllocs()
			for b.Loop() {
				for range bc.batch {
					tick.Seq++
					tick.Symbol = symbols[tick.Seq%50]
					_ = h.Publish(tick)
				}
				batch, _, _ := h.takeBatch(time.Now())
				h.dispatch(cycle{batch: batch, now: time.Now()})
			}
			delivered := bc.clients * bc.batch
			if bc.subscribed {
				delivered /= 10
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(delivered), "ns/delivery")
			h.dispatch(cycle{now: time.Now(), shutdown: true})
			for _, w := range h.writers {
				close(w.cycles)
			}
			wg.Wait()
			for _, stop := range stops {
				stop()
			}
		})
	}
}
