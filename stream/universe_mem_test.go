package stream

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
)

// BenchmarkUniverseMemory measures the heap a symbol costs in a simulator
// and a hub (its quote, hygiene state, index, tick counter and bars): after
// every symbol has traded once, and after its bars have filled every ring
// to the capacity -bar-bytes allows at that size. The replay ring is off,
// so that its fixed size (ReplaySize events per framing) is not counted per
// symbol; so are the tick counters' per-symbol series (SymbolSeries), as
// they are by default above 1,000 symbols.
func BenchmarkUniverseMemory(b *testing.B) {
	for _, n := range []int{10_000, 50_000, 100_000} {
		b.Run(fmt.Sprintf("symbols=%d", n), func(b *testing.B) {
			universe, err := feed.SyntheticUniverse(n, 1)
			if err != nil {
				b.Fatal(err)
			}
			var quiet, full float64
			for b.Loop() {
				before := heapInUse()
				sim, hub := universeEngine(b, universe)
				// Every symbol trades once, a second apart.
				start := time.Unix(1_764_000_000, 0)
				seq := uint64(0)
				for i, s := range universe {
					seq++
					publishAt(b, hub, seq, s.Name, s.Price, start.Add(time.Duration(i)*time.Millisecond))
				}
				hub.takeBatch(time.Now())
				quiet = float64(heapInUse()-before) / float64(n)
				// Each symbol's bars: one tick every 5 minutes opens a bar in
				// every interval, until every ring is full.
				perRing := BarsPerInterval(DefaultBarBytes, n, DefaultBarCapacity)
				for k := 1; k <= perRing; k++ {
					for _, s := range universe {
						seq++
						publishAt(b, hub, seq, s.Name, s.Price, start.Add(time.Duration(k)*5*time.Minute))
					}
					hub.takeBatch(time.Now())
				}
				full = float64(heapInUse()-before) / float64(n)
				runtime.KeepAlive(sim)
				runtime.KeepAlive(hub)
			}
			b.ReportMetric(quiet, "B/symbol-traded")
			b.ReportMetric(full, "B/symbol-bars-full")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// universeEngine returns a simulator and a hub over universe, as tickerd
// makes them, with the replay ring off.
func universeEngine(b *testing.B, universe []feed.Symbol) (*feed.Simulator, *Hub) {
	sim, err := feed.NewSimulator(feed.SimulatorConfig{Symbols: universe, Rate: 20_000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, len(universe))
	for i, s := range universe {
		names[i] = s.Name
	}
	cfg := DefaultConfig(names, testFraming{})
	cfg.ReplaySize = 0
	cfg.Registerer = prometheus.NewRegistry()
	hub, err := NewHub(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return sim, hub
}

func publishAt(b *testing.B, h *Hub, seq uint64, sym string, px float64, at time.Time) {
	px = float64(int64(px*100)) / 100
	if err := h.Publish(feed.Tick{Seq: seq, Symbol: sym, Price: px, Bid: px - 0.01, Ask: px + 0.01, Size: 100, Time: at}); err != nil {
		b.Fatal(err)
	}
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
