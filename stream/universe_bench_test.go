package stream

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// benchUniverses are the universe sizes the large-universe benchmarks
// compare: the default universe's 52 and a national market's 10,000.
var benchUniverses = []int{52, 10_000}

func benchSymbols(n int) []string {
	syms := make([]string, n)
	for i := range syms {
		syms[i] = fmt.Sprintf("S%05d", i)
	}
	return syms
}

// BenchmarkShareOfUniverse measures one stream's filtering of a batch of
// 100 ticks, 10 of them of its 10 symbols, in a universe of 52 and of
// 10,000 symbols, with and without maxfreq: what the subscription costs per
// batch must not depend on the universe.
func BenchmarkShareOfUniverse(b *testing.B) {
	for _, maxFreq := range []float64{0, 1000} {
		for _, n := range benchUniverses {
			b.Run(fmt.Sprintf("universe=%d/maxfreq=%v", n, maxFreq), func(b *testing.B) {
				h, err := NewHub(DefaultConfig(benchSymbols(n), testFraming{}))
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				mine := rng.Perm(n)[:10]
				sub := h.newSymbolSet()
				for _, i := range mine {
					sub.add(i)
				}
				c := &client{sub: sub.seal()}
				if maxFreq > 0 {
					c.throttle = newThrottle(maxFreq, n)
				}
				var fr framed
				for k := range 100 {
					sym := rng.IntN(n)
					for sub.Has(sym) {
						sym = rng.IntN(n)
					}
					if k%10 == 0 {
						sym = mine[k/10]
					}
					fr.buf = append(fr.buf, "id: 1\nevent: tick\ndata: {}\n\n"...)
					fr.events = append(fr.events, event{seq: uint64(k + 1), sym: int32(sym), end: len(fr.buf)})
				}
				start := 0
				for i := range fr.events {
					fr.events[i].data = fr.buf[start:fr.events[i].end]
					start = fr.events[i].end
				}
				fr.syms = h.batchSymbols(fr.events)
				w := newWriter(h)
				now := time.Unix(0, 0)
				b.ReportAllocs()
				for b.Loop() {
					now = now.Add(time.Second) // past every symbol's interval
					if events, _ := w.share(c, &fr, now); events != 10 {
						b.Fatalf("shared %d events, want 10", events)
					}
				}
			})
		}
	}
}

// BenchmarkFanoutOfUniverse measures a flush cycle of 100 ticks, drawn
// uniformly over the universe (20,000 ticks/s at the default 5 ms flush),
// to 1,000 streams each on 10 random symbols, sockets included, in a
// universe of 52 and of 10,000 symbols. Fewer ticks reach each stream in the
// larger universe; what it must not do is cost more. unlisted streams test
// every event's bit in their bit set, as before sets listed their symbols.
func BenchmarkFanoutOfUniverse(b *testing.B) {
	const clients, perBatch = 1000, 100
	for _, bc := range []struct {
		n      int
		listed bool
	}{{52, true}, {10_000, false}, {10_000, true}} {
		n := bc.n
		b.Run(fmt.Sprintf("universe=%d/listed=%v", n, bc.listed), func(b *testing.B) {
			symbols := benchSymbols(n)
			cfg := DefaultConfig(symbols, testFraming{})
			cfg.ReplaySize = 1024
			h, err := NewHub(cfg)
			if err != nil {
				b.Fatal(err)
			}
			h.state = hubRunning
			rng := rand.New(rand.NewPCG(3, 4))
			var stops []func()
			for range clients {
				conn, stop := socketPair(b)
				stops = append(stops, stop)
				sub := h.newSymbolSet()
				for _, i := range rng.Perm(n)[:10] {
					sub.add(i)
				}
				if bc.listed {
					sub.seal()
				}
				if _, err := h.Attach(Subscription{Symbols: sub}, Sink{Conn: conn, Framing: testFraming{}}); err != nil {
					b.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for _, w := range h.writers {
				wg.Go(w.run)
			}
			_, joins, _ := h.takeBatch(time.Now())
			for i, c := range joins {
				h.writers[i%len(h.writers)].joins = append(h.writers[i%len(h.writers)].joins, c)
			}
			h.dispatch(cycle{now: time.Now()})
			tick := feed.Tick{Price: 100, Bid: 99.99, Ask: 100.01, Size: 100, Time: time.Now()}
			b.ReportAllocs()
			for b.Loop() {
				for range perBatch {
					tick.Seq++
					tick.Symbol = symbols[rng.IntN(n)]
					_ = h.Publish(tick)
				}
				batch, _, _ := h.takeBatch(time.Now())
				h.dispatch(cycle{batch: batch, now: time.Now()})
			}
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

// BenchmarkFilterOfUniverse measures what 1,000 streams of 10 random
// symbols each pay to find their events in a batch of 100 ticks drawn
// uniformly over the universe, without writing them: the subscription
// filter alone, over every stream's state, as a writer runs it each cycle.
// unlisted streams test every event's bit in their own bit set.
func BenchmarkFilterOfUniverse(b *testing.B) {
	const clients, perBatch = 1000, 100
	for _, bc := range []struct {
		n      int
		listed bool
	}{{52, true}, {10_000, false}, {10_000, true}} {
		b.Run(fmt.Sprintf("universe=%d/listed=%v", bc.n, bc.listed), func(b *testing.B) {
			h, err := NewHub(DefaultConfig(benchSymbols(bc.n), testFraming{}))
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			cs := make([]*client, clients)
			for i := range cs {
				sub := h.newSymbolSet()
				for _, s := range rng.Perm(bc.n)[:10] {
					sub.add(s)
				}
				if bc.listed {
					sub.seal()
				}
				cs[i] = &client{sub: sub}
			}
			// A few batches, so that consecutive cycles do not see the same one.
			batches := make([]framed, 16)
			for k := range batches {
				fr := &batches[k]
				for j := range perBatch {
					fr.buf = append(fr.buf, "id: 1\nevent: tick\ndata: {}\n\n"...)
					fr.events = append(fr.events, event{seq: uint64(j + 1), sym: int32(rng.IntN(bc.n)), end: len(fr.buf)})
				}
				start := 0
				for i := range fr.events {
					fr.events[i].data = fr.buf[start:fr.events[i].end]
					start = fr.events[i].end
				}
				fr.syms = h.batchSymbols(fr.events)
			}
			w := newWriter(h)
			now := time.Now()
			delivered := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				fr := &batches[i%len(batches)]
				for _, c := range cs {
					events, _ := w.share(c, fr, now)
					delivered += events
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/clients, "ns/stream")
			b.ReportMetric(float64(delivered)/float64(b.N)/clients, "events/stream")
		})
	}
}

// BenchmarkSnapshotOfUniverse measures the snapshot a stream of 10 random
// symbols starts with (and a WebSocket subscribe answers with), taken
// under the hub's lock, in a universe of 52 and of 10,000 symbols that have
// all traded: like the stream's filter, it must follow the subscription,
// not the universe.
func BenchmarkSnapshotOfUniverse(b *testing.B) {
	for _, n := range benchUniverses {
		b.Run(fmt.Sprintf("universe=%d", n), func(b *testing.B) {
			syms := benchSymbols(n)
			h, err := NewHub(DefaultConfig(syms, testFraming{}))
			if err != nil {
				b.Fatal(err)
			}
			start := time.Unix(1_700_000_000, 0)
			for i, s := range syms {
				if err := h.Publish(feed.Tick{Seq: uint64(i + 1), Symbol: s, Price: 100, Bid: 99.99, Ask: 100.01, Size: 1, Time: start}); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			sub := h.newSymbolSet()
			for _, i := range rng.Perm(n)[:10] {
				sub.add(i)
			}
			sub.seal()
			var dst []byte
			b.ReportAllocs()
			for b.Loop() {
				h.mu.Lock()
				dst = h.appendSnapshot(dst[:0], testFraming{}, sub, false)
				h.mu.Unlock()
			}
			if got := bytes.Count(dst, []byte(`"sym":`)); got != 10 {
				b.Fatalf("the snapshot holds %d quotes, want 10", got)
			}
		})
	}
}
