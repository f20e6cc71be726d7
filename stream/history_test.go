package stream

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// historyBase is a whole five-minute boundary, so offsets from it are easy to place in bars.
var historyBase = time.Date(2025, 11, 24, 21, 25, 0, 0, time.UTC)

func historyTick(sym string, at time.Time, price float64, size int64) feed.Tick {
	return feed.Tick{Symbol: sym, Price: price, Bid: price - 0.01, Ask: price + 0.01, Size: size, Time: at}
}

// referenceBars computes the bars of ticks at step the slow way: group by
// aligned start, in order of first appearance.
func referenceBars(ticks []feed.Tick, step time.Duration) []Bar {
	var bars []Bar
	for _, t := range ticks {
		start := t.Time.Truncate(step).Unix() // Truncate works on absolute time; step divides a day, so this is UTC-aligned
		if n := len(bars); n > 0 && bars[n-1].Time == start {
			b := &bars[n-1]
			b.High = max(b.High, t.Price)
			b.Low = min(b.Low, t.Price)
			b.Close = t.Price
			b.Volume += t.Size
			continue
		}
		bars = append(bars, Bar{Time: start, Open: t.Price, High: t.Price, Low: t.Price, Close: t.Price, Volume: t.Size})
	}
	return bars
}

func mustBars(t *testing.T, s *BarStore, sym string, d time.Duration) []Bar {
	t.Helper()
	bars, err := s.Bars(sym, d)
	if err != nil {
		t.Fatalf("Bars(%q, %v): %v", sym, d, err)
	}
	return bars
}

func TestBarStoreOHLCV(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name  string
		ticks []feed.Tick
		step  time.Duration
		want  []Bar
	}{
		{
			name: "one bar",
			step: time.Second,
			ticks: []feed.Tick{
				historyTick("AAPL", historyBase.Add(100*ms), 10.00, 100),
				historyTick("AAPL", historyBase.Add(200*ms), 10.50, 200),
				historyTick("AAPL", historyBase.Add(300*ms), 9.75, 300),
				historyTick("AAPL", historyBase.Add(999*ms), 10.10, 400),
			},
			want: []Bar{{Time: historyBase.Unix(), Open: 10.00, High: 10.50, Low: 9.75, Close: 10.10, Volume: 1000}},
		},
		{
			name: "boundary opens a new bar",
			step: 5 * time.Second,
			ticks: []feed.Tick{
				historyTick("AAPL", historyBase.Add(4999*ms), 10.00, 1),
				historyTick("AAPL", historyBase.Add(5000*ms), 11.00, 2),
				historyTick("AAPL", historyBase.Add(9999*ms), 12.00, 3),
			},
			want: []Bar{
				{Time: historyBase.Unix(), Open: 10, High: 10, Low: 10, Close: 10, Volume: 1},
				{Time: historyBase.Unix() + 5, Open: 11, High: 12, Low: 11, Close: 12, Volume: 5},
			},
		},
		{
			name: "empty interval has no bar",
			step: time.Minute,
			ticks: []feed.Tick{
				historyTick("AAPL", historyBase.Add(10*time.Second), 10, 1),
				historyTick("AAPL", historyBase.Add(3*time.Minute), 20, 2),
			},
			want: []Bar{
				{Time: historyBase.Unix(), Open: 10, High: 10, Low: 10, Close: 10, Volume: 1},
				{Time: historyBase.Unix() + 180, Open: 20, High: 20, Low: 20, Close: 20, Volume: 2},
			},
		},
		{
			name: "other symbols do not mix in",
			step: time.Second,
			ticks: []feed.Tick{
				historyTick("AAPL", historyBase, 10, 1),
				historyTick("MSFT", historyBase.Add(ms), 400, 50),
				historyTick("AAPL", historyBase.Add(2*ms), 11, 2),
			},
			want: []Bar{{Time: historyBase.Unix(), Open: 10, High: 11, Low: 10, Close: 11, Volume: 3}},
		},
		{
			name: "late tick leaves closed bars alone",
			step: time.Second,
			ticks: []feed.Tick{
				historyTick("AAPL", historyBase.Add(1500*ms), 10, 1),
				historyTick("AAPL", historyBase.Add(500*ms), 99, 7),
				historyTick("AAPL", historyBase.Add(1600*ms), 11, 2),
			},
			want: []Bar{{Time: historyBase.Unix() + 1, Open: 10, High: 11, Low: 10, Close: 11, Volume: 3}},
		},
		{
			name:  "untracked symbol is ignored",
			step:  time.Second,
			ticks: []feed.Tick{historyTick("ZZZZ", historyBase, 1, 1)},
			want:  []Bar{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewBarStore([]string{"AAPL", "MSFT"}, 16)
			for _, tk := range tt.ticks {
				s.Add(tk)
			}
			got := mustBars(t, s, "AAPL", tt.step)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("bars =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestBarStoreMatchesTicks checks every interval against bars computed
// directly from a long random walk of ticks at irregular times.
func TestBarStoreMatchesTicks(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var ticks []feed.Tick
	at, px := historyBase.Add(-37*time.Second), 100.0
	for range 5000 {
		at = at.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		px = float64(int((px+rng.NormFloat64()*0.05)*100)) / 100
		ticks = append(ticks, historyTick("AAPL", at, px, int64(1+rng.IntN(10))*100))
	}
	s := NewBarStore([]string{"AAPL"}, 10000)
	for _, tk := range ticks {
		s.Add(tk)
	}
	for _, iv := range barIntervals {
		got := mustBars(t, s, "AAPL", iv.d)
		want := referenceBars(ticks, iv.d)
		if len(want) < 2 {
			t.Fatalf("%s: test data spans only %d bars", iv.name, len(want))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %d bars, want %d; first difference at %d", iv.name, len(got), len(want), firstBarDiff(got, want))
		}
	}
}

func firstBarDiff(a, b []Bar) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestBarStoreAlignment(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		at   time.Time
		step time.Duration
		want time.Time // bar start
	}{
		{"1s", time.Date(2025, 11, 24, 21, 25, 7, 999_999_999, time.UTC), time.Second, time.Date(2025, 11, 24, 21, 25, 7, 0, time.UTC)},
		{"5s", time.Date(2025, 11, 24, 21, 25, 9, 999_999_999, time.UTC), 5 * time.Second, time.Date(2025, 11, 24, 21, 25, 5, 0, time.UTC)},
		{"5s on boundary", time.Date(2025, 11, 24, 21, 25, 10, 0, time.UTC), 5 * time.Second, time.Date(2025, 11, 24, 21, 25, 10, 0, time.UTC)},
		{"1m", time.Date(2025, 11, 24, 21, 25, 59, 0, time.UTC), time.Minute, time.Date(2025, 11, 24, 21, 25, 0, 0, time.UTC)},
		{"5m", time.Date(2025, 11, 24, 21, 29, 59, 0, time.UTC), 5 * time.Minute, time.Date(2025, 11, 24, 21, 25, 0, 0, time.UTC)},
		{"5m from another zone", time.Date(2025, 11, 24, 22, 34, 0, 0, berlin), 5 * time.Minute, time.Date(2025, 11, 24, 21, 30, 0, 0, time.UTC)},
		{"before 1970", time.Unix(-1, 500_000_000), 5 * time.Second, time.Unix(-5, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewBarStore([]string{"AAPL"}, 4)
			s.Add(historyTick("AAPL", tt.at, 1, 1))
			got := mustBars(t, s, "AAPL", tt.step)
			if len(got) != 1 || got[0].Time != tt.want.Unix() {
				t.Errorf("bars = %+v, want one bar at %d (%v)", got, tt.want.Unix(), tt.want.UTC())
			}
		})
	}
}

func TestBarStoreRingKeepsNewest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		capacity int
		seconds  int // one tick per second, priced by its second
	}{
		{capacity: 1, seconds: 3},
		{capacity: 3, seconds: 2},
		{capacity: 3, seconds: 3},
		{capacity: 3, seconds: 4},
		{capacity: 3, seconds: 10},
		{capacity: 720, seconds: 2000},
	}
	for _, tt := range tests {
		s := NewBarStore([]string{"AAPL"}, tt.capacity)
		for i := range tt.seconds {
			s.Add(historyTick("AAPL", historyBase.Add(time.Duration(i)*time.Second), float64(i), 1))
		}
		got := mustBars(t, s, "AAPL", time.Second)
		wantLen := min(tt.capacity, tt.seconds)
		if len(got) != wantLen {
			t.Fatalf("capacity %d, %d ticks: %d bars, want %d", tt.capacity, tt.seconds, len(got), wantLen)
		}
		for j, b := range got {
			sec := tt.seconds - wantLen + j
			if b.Time != historyBase.Unix()+int64(sec) || b.Close != float64(sec) {
				t.Fatalf("capacity %d, %d ticks: bar %d = %+v, want second %d", tt.capacity, tt.seconds, j, b, sec)
			}
		}
	}
}

func TestBarStoreBarsIsACopy(t *testing.T) {
	t.Parallel()
	s := NewBarStore([]string{"AAPL"}, 4)
	s.Add(historyTick("AAPL", historyBase, 10, 1))
	got := mustBars(t, s, "AAPL", time.Second)
	got[0].Close = -1
	if again := mustBars(t, s, "AAPL", time.Second); again[0].Close != 10 {
		t.Errorf("changing a returned bar changed the store: close = %v", again[0].Close)
	}
}

func TestBarStoreErrors(t *testing.T) {
	t.Parallel()
	s := NewBarStore([]string{"AAPL"}, 4)
	tests := []struct {
		symbol   string
		interval time.Duration
		want     error
	}{
		{"MSFT", time.Second, ErrNoHistory},
		{"AAPL", 2 * time.Second, ErrUnknownInterval},
		{"AAPL", 0, ErrUnknownInterval},
	}
	for _, tt := range tests {
		bars, err := s.Bars(tt.symbol, tt.interval)
		if !errors.Is(err, tt.want) || bars != nil {
			t.Errorf("Bars(%q, %v) = %v, %v; want nil, %v", tt.symbol, tt.interval, bars, err, tt.want)
		}
	}
}

func TestNewBarStorePanicsOnZeroCapacity(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewBarStore(_, 0) did not panic")
		}
	}()
	NewBarStore([]string{"AAPL"}, 0)
}

// TestBarStoreConcurrentAddAndBars runs one writer against several readers;
// under -race it proves Add and Bars share no unsynchronised memory, and
// every read must see a well-formed series.
func TestBarStoreConcurrentAddAndBars(t *testing.T) {
	t.Parallel()
	const capacity = 50
	syms := []string{"AAPL", "MSFT", "NVDA"}
	s := NewBarStore(syms, capacity)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				iv := barIntervals[r%len(barIntervals)]
				bars, err := s.Bars(syms[r%len(syms)], iv.d)
				if err != nil {
					t.Error(err)
					return
				}
				if err := checkBarSeries(bars, iv.d, capacity); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	at := historyBase
	for i := range 6000 {
		at = at.Add(37 * time.Millisecond)
		s.Add(historyTick(syms[i%len(syms)], at, 100+float64(i%97)/100, 100))
	}
	close(done)
	wg.Wait()
	if bars := mustBars(t, s, "AAPL", time.Second); len(bars) != capacity {
		t.Errorf("AAPL has %d 1s bars after the run, want %d", len(bars), capacity)
	}
}

func checkBarSeries(bars []Bar, step time.Duration, capacity int) error {
	if len(bars) > capacity {
		return errors.New("more bars than capacity")
	}
	for i, b := range bars {
		if b.Time%int64(step/time.Second) != 0 {
			return errors.New("bar not aligned")
		}
		if i > 0 && b.Time <= bars[i-1].Time {
			return errors.New("bars not oldest first")
		}
		if b.Low > min(b.Open, b.Close) || b.High < max(b.Open, b.Close) || b.Volume <= 0 {
			return errors.New("bar not well-formed")
		}
	}
	return nil
}

func TestBarStoreAddDoesNotAllocate(t *testing.T) {
	s := NewBarStore([]string{"AAPL", "MSFT"}, 720)
	tk := historyTick("AAPL", historyBase, 10, 100)
	allocs := testing.AllocsPerRun(1000, func() {
		tk.Time = tk.Time.Add(7 * time.Millisecond)
		s.Add(tk)
	})
	if allocs != 0 {
		t.Errorf("Add allocates %v times per tick, want 0", allocs)
	}
}

func BenchmarkBarStoreAdd(b *testing.B) {
	syms := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B"}
	s := NewBarStore(syms, 720)
	ticks := make([]feed.Tick, len(syms))
	for i, sym := range syms {
		ticks[i] = historyTick(sym, historyBase, 100, 100)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tk := &ticks[i%len(ticks)]
		tk.Time = tk.Time.Add(3 * time.Millisecond)
		s.Add(*tk)
		i++
	}
}

func TestBarsPerInterval(t *testing.T) {
	t.Parallel()
	if barSize != 48 {
		t.Fatalf("a bar takes %d bytes; the figures in Config.BarBytes's doc assume 48", barSize)
	}
	tests := []struct{ budget, symbols, capacity, want int }{
		{DefaultBarBytes, 52, DefaultBarCapacity, 720},
		{DefaultBarBytes, 970, DefaultBarCapacity, 720},
		{DefaultBarBytes, 1000, DefaultBarCapacity, 699},
		{DefaultBarBytes, 10_000, DefaultBarCapacity, 69},
		{DefaultBarBytes, 100_000, DefaultBarCapacity, 6},
		{192, 1, 720, 1},
		{191, 1, 720, 0},
		{1 << 30, 1, 5, 5},
	}
	for _, tt := range tests {
		if got := BarsPerInterval(tt.budget, tt.symbols, tt.capacity); got != tt.want {
			t.Errorf("BarsPerInterval(%d, %d, %d) = %d, want %d", tt.budget, tt.symbols, tt.capacity, got, tt.want)
		}
	}
}

// TestBarStoreGrowsWithItsBars checks that a ring takes memory for the bars
// it holds, not for its capacity: a symbol that never trades holds none,
// and one that traded for a few seconds a few bars' worth.
func TestBarStoreGrowsWithItsBars(t *testing.T) {
	t.Parallel()
	s := NewBarStore([]string{"QUIET", "BUSY"}, 720)
	for i := range 10 {
		s.Add(historyTick("BUSY", historyBase.Add(time.Duration(i)*time.Second), float64(100+i), 1))
	}
	for i, r := range s.symbols["QUIET"].rings {
		if cap(r.bars) != 0 {
			t.Errorf("QUIET %s: room for %d bars before any tick, want 0", barIntervals[i].name, cap(r.bars))
		}
	}
	busy := s.symbols["BUSY"].rings
	if c := cap(busy[0].bars); c < 10 || c > 16 {
		t.Errorf("BUSY 1s: room for %d bars holding 10, want 10 to 16", c)
	}
	if c := cap(busy[2].bars); c > 4 {
		t.Errorf("BUSY 1m: room for %d bars holding 1, want at most 4", c)
	}
	// Growing never passes the capacity, and a full ring keeps the newest.
	s = NewBarStore([]string{"BUSY"}, 5)
	for i := range 12 {
		s.Add(historyTick("BUSY", historyBase.Add(time.Duration(i)*time.Second), float64(i), 1))
		r := s.symbols["BUSY"].rings[0]
		if cap(r.bars) > 5 {
			t.Fatalf("after %d ticks the ring has room for %d bars, capacity 5", i+1, cap(r.bars))
		}
		got := mustBars(t, s, "BUSY", time.Second)
		if want := min(i+1, 5); len(got) != want || got[len(got)-1].Close != float64(i) || got[0].Close != float64(i+1-want) {
			t.Fatalf("after %d ticks: bars %+v, want the %d newest", i+1, got, want)
		}
	}
}
