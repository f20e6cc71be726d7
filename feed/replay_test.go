package feed_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/fakeclock"
)

// dayFile is four ticks at 0, 1s, 1.5s and 3s.
const dayFile = `{"sym":"AAPL","px":100,"bid":99.99,"ask":100.01,"size":100,"ts":1000000000000000000}
{"sym":"MSFT","px":200,"bid":199.99,"ask":200.01,"size":5,"ts":1000000001000000000}
{"sym":"AAPL","px":100.5,"bid":100.49,"ask":100.51,"size":300,"ts":1000000001500000000}
{"seq":9,"sym":"NVDA","px":50,"bid":49.99,"ask":50.01,"size":7,"ts":1000000003000000000}
`

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// player runs a replay on a fake clock and collects what it publishes.
type player struct {
	clock *fakeclock.Clock
	ticks chan feed.Tick
	stop  func()
}

func play(t *testing.T, cfg feed.ReplayConfig) (*feed.Replay, *player) {
	t.Helper()
	p := &player{clock: fakeclock.New(time.Unix(1_800_000_000, 0)), ticks: make(chan feed.Tick, 100)}
	cfg.Clock = p.clock
	if cfg.MaxSymbols == 0 {
		cfg.MaxSymbols = 10
	}
	r, err := feed.NewReplay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx, func(tk feed.Tick) { p.ticks <- tk }); err != nil {
			t.Error(err)
		}
	})
	p.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(p.stop)
	return r, p
}

func (p *player) next(t *testing.T) feed.Tick {
	t.Helper()
	select {
	case tk := <-p.ticks:
		return tk
	case <-time.After(10 * time.Second):
		t.Fatal("no tick within 10s")
		return feed.Tick{}
	}
}

// waitThenAdvance waits until the replay waits for its timer, checks that
// nothing came before d has passed, and moves the clock on by d.
func (p *player) waitThenAdvance(t *testing.T, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.clock.AwaitTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	p.clock.Advance(d - time.Nanosecond)
	select {
	case tk := <-p.ticks:
		t.Fatalf("tick %+v before its time", tk)
	default:
	}
	p.clock.Advance(time.Nanosecond)
}

func TestReplayPlaysTheFileWithItsSpacingScaled(t *testing.T) {
	r, p := play(t, feed.ReplayConfig{Path: writeFile(t, "day.ndjson", []byte(dayFile)), Speed: 2, First: 500})
	if got := strings.Join(r.Symbols(), ","); got != "AAPL,MSFT,NVDA" || r.Ticks() != 4 {
		t.Fatalf("symbols %s, %d ticks", got, r.Ticks())
	}
	start := p.clock.Now()
	want := []struct {
		sym   string
		px    float64
		after time.Duration // since the first tick, at speed 2
	}{{"AAPL", 100, 0}, {"MSFT", 200, 500 * time.Millisecond}, {"AAPL", 100.5, 750 * time.Millisecond}, {"NVDA", 50, 1500 * time.Millisecond}}
	prev := time.Duration(0)
	for i, w := range want {
		if w.after > prev {
			p.waitThenAdvance(t, w.after-prev)
			prev = w.after
		}
		tk := p.next(t)
		if tk.Symbol != w.sym || tk.Price != w.px || tk.Seq != uint64(500+i) || !tk.Time.Equal(start.Add(w.after)) {
			t.Errorf("tick %d: %+v; want %s at %v, seq %d, played at +%v", i, tk, w.sym, w.px, 500+i, w.after)
		}
	}
	// Without Loop, the replay ends there.
	p.clock.Advance(time.Hour)
	select {
	case tk := <-p.ticks:
		t.Fatalf("tick %+v after the end without -replay-loop", tk)
	default:
	}
}

func TestReplayLoopsAndIsTheSameEveryTime(t *testing.T) {
	path := writeFile(t, "day.ndjson.gz", gzipped(t, dayFile))
	run := func() []string {
		_, p := play(t, feed.ReplayConfig{Path: path, Speed: 1000, Loop: true})
		var got []string
		for len(got) < 10 {
			select {
			case tk := <-p.ticks:
				got = append(got, fmt.Sprintf("%d %s %v %v %v %d", tk.Seq, tk.Symbol, tk.Price, tk.Bid, tk.Ask, tk.Size))
			default:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := p.clock.AwaitTimers(ctx, 1)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				p.clock.Advance(time.Millisecond)
			}
		}
		p.stop()
		return got
	}
	a, b := run(), run()
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("two plays differ:\n%s\n--\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	// The second pass starts again from the first tick, numbered on.
	if !strings.HasPrefix(a[4], "5 AAPL 100 99.99 100.01 100") || !strings.HasPrefix(a[8], "9 AAPL 100 ") {
		t.Fatalf("loop:\n%s", strings.Join(a, "\n"))
	}
}

func TestReplayReadsCSV(t *testing.T) {
	csv := "ts,sym,px,bid,ask,size\n1000,AAPL,100,99.99,100.01,100\n1000,MSFT,200,199.99,200.01,5\n"
	_, p := play(t, feed.ReplayConfig{Path: writeFile(t, "day.csv", []byte(csv)), Speed: 1})
	if a, b := p.next(t), p.next(t); a.Symbol != "AAPL" || b.Symbol != "MSFT" || b.Seq != 2 {
		t.Fatalf("%+v %+v", a, b)
	}
}

func TestReplayRefusesABadFileNamingWhere(t *testing.T) {
	gz := gzipped(t, strings.Repeat(dayFile, 50))
	// A deflate block of the reserved type 3, right after the 10-byte header.
	badBlock := append([]byte(nil), gz...)
	badBlock[10] |= 0x06
	// A CRC-32 in the trailer that is not the data's.
	badSum := append([]byte(nil), gz...)
	badSum[len(badSum)-8] ^= 0xff
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated.ndjson.gz", gz[:len(gz)*2/3], fmt.Sprintf("gzip data truncated at byte %d", len(gz)*2/3)},
		{"block.ndjson.gz", badBlock, "gzip data corrupt at byte 11"},
		{"checksum.ndjson.gz", badSum, fmt.Sprintf("gzip data corrupt at byte %d: gzip: invalid checksum", len(gz))},
		{"header.gz", gz[:5], "gzip data truncated at byte 5"},
		{"bad-line.ndjson", []byte(dayFile + "{\"sym\":\"AAPL\"}\n"), `line 5: malformed tick: no "px"`},
		{"no-ts.csv", []byte("sym,px,bid,ask,size\nAAPL,1,0.99,1.01,1\n"), "line 2: no ts"},
		{"empty.ndjson", nil, "no ticks"},
		{"prose.txt", []byte("hello\n"), "line 1: not in a tick format"},
	}
	for _, c := range cases {
		path := writeFile(t, c.name, c.data)
		_, err := feed.NewReplay(feed.ReplayConfig{Path: path, Speed: 1, MaxSymbols: 10, Clock: feed.SystemClock{}})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file and %q", c.name, err, c.want)
		}
	}
	_, err := feed.NewReplay(feed.ReplayConfig{Path: writeFile(t, "wide.ndjson", []byte(dayFile)), Speed: 1, MaxSymbols: 2, Clock: feed.SystemClock{}})
	if err == nil || !strings.Contains(err.Error(), "line 4: names more than 2 symbols") {
		t.Errorf("three symbols, at most two: %v", err)
	}
	for _, speed := range []float64{0, -1, 2e6} {
		if _, err := feed.NewReplay(feed.ReplayConfig{Path: "x", Speed: speed, MaxSymbols: 1, Clock: feed.SystemClock{}}); err == nil || !strings.Contains(err.Error(), "speed") {
			t.Errorf("speed %v: %v", speed, err)
		}
	}
}

func TestTickWriterWritesWhatTheReaderReads(t *testing.T) {
	ticks := []feed.Tick{
		{Seq: 1, Symbol: "AAPL", Price: 100.25, Bid: 100.24, Ask: 100.26, Size: 100, Time: time.Unix(0, 1_000)},
		{Seq: 2, Symbol: "NYSE:BRK.B", Price: 461.1, Bid: 461.09, Ask: 461.11, Size: 3, Time: time.Unix(0, 2_000)},
	}
	for _, name := range []string{"rec.ndjson", "rec.csv", "rec.ndjson.gz", "rec.csv.gz"} {
		path := filepath.Join(t.TempDir(), name)
		w, err := feed.CreateTickFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range ticks {
			if err := w.Write(tk); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, p := play(t, feed.ReplayConfig{Path: path, Speed: 1, First: 1})
		if r.Ticks() != 2 {
			t.Fatalf("%s: %d ticks", name, r.Ticks())
		}
		start := p.clock.Now()
		a := p.next(t)
		p.waitThenAdvance(t, time.Microsecond)
		b := p.next(t)
		for i, got := range []feed.Tick{a, b} {
			want := ticks[i]
			want.Time = start.Add(time.Duration(i) * time.Microsecond)
			if got != want {
				t.Errorf("%s: tick %d read back as %+v, want %+v", name, i, got, want)
			}
		}
		raw, _ := os.ReadFile(path)
		if gz := strings.HasSuffix(name, ".gz"); gz != bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
			t.Errorf("%s: compressed %v", name, !gz)
		}
		if strings.Contains(name, ".csv") && !bytes.HasPrefix(raw, []byte(feed.CSVHeader)) && !strings.HasSuffix(name, ".gz") {
			t.Errorf("%s starts %q", name, raw[:20])
		}
	}
}
