package feed_test

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

func TestTickJSON(t *testing.T) {
	tk := feed.Tick{Seq: 184467, Symbol: "AAPL", Price: 189.23, Bid: 189.22, Ask: 189.24, Size: 300, Time: time.Unix(0, 1764012345678901234)}
	const want = `{"seq":184467,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`

	if got := string(tk.AppendJSON([]byte("data: "))); got != "data: "+want {
		t.Errorf("AppendJSON = %s, want it to append %s", got, want)
	}
	b, err := json.Marshal(tk)
	if err != nil || string(b) != want {
		t.Errorf("json.Marshal = %s, %v; want %s", b, err, want)
	}
	var back feed.Tick
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !back.Time.Equal(tk.Time) {
		t.Errorf("Time round-trips to %v, want %v", back.Time, tk.Time)
	}
	back.Time = tk.Time
	if back != tk {
		t.Errorf("round trip = %+v, want %+v", back, tk)
	}

	if err := json.Unmarshal([]byte(`{"seq":"x"}`), &back); err == nil || !strings.HasPrefix(err.Error(), "decode tick: ") {
		t.Errorf("Unmarshal of a bad tick = %v, want an error starting with %q", err, "decode tick: ")
	}

	bad := feed.Tick{Symbol: "X", Price: math.NaN(), Bid: math.Inf(-1), Ask: math.Inf(1), Time: time.Unix(0, 0)}
	if got, want := string(bad.AppendJSON(nil)), `{"seq":0,"sym":"X","px":0,"bid":0,"ask":0,"size":0,"ts":0}`; got != want {
		t.Errorf("non-finite prices: %s, want %s", got, want)
	}
}

// TestSimulatedTicksJSON checks that the simulator's prices print as at most
// two decimals and that every tick survives a JSON round trip.
func TestSimulatedTicksJSON(t *testing.T) {
	s := newSimulator(t, feed.SimulatorConfig{Rate: 1000, Seed: 3})
	price := regexp.MustCompile(`"(px|bid|ask)":(\d+(\.\d+)?)`)
	for range 5000 {
		tk := s.Next()
		b := tk.AppendJSON(nil)
		for _, m := range price.FindAllSubmatch(b, -1) {
			if len(m[3]) > 3 {
				t.Fatalf("%s: %s has more than two decimals", b, m[1])
			}
		}
		var back feed.Tick
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal %s: %v", b, err)
		}
		if !back.Time.Equal(tk.Time) {
			t.Fatalf("%s: Time round-trips to %v, want %v", b, back.Time, tk.Time)
		}
		back.Time = tk.Time
		if back != tk {
			t.Fatalf("round trip of %s = %+v, want %+v", b, back, tk)
		}
	}
}

func TestQuoteApply(t *testing.T) {
	tick := func(seq uint64, price float64, size int64) feed.Tick {
		return feed.Tick{Seq: seq, Symbol: "ACME", Price: price, Bid: price - 0.01, Ask: price + 0.01, Size: size, Time: time.Unix(0, int64(seq))}
	}
	tests := []struct {
		name  string
		ticks []feed.Tick
		want  feed.Quote // Last is the last tick
	}{
		{
			name:  "first tick opens",
			ticks: []feed.Tick{tick(1, 100, 100)},
			want:  feed.Quote{Open: 100, High: 100, Low: 100, Volume: 100},
		},
		{
			name:  "up, down and back",
			ticks: []feed.Tick{tick(1, 100, 100), tick(2, 101.5, 200), tick(3, 99.25, 50), tick(4, 100.1, 300)},
			want:  feed.Quote{Open: 100, High: 101.5, Low: 99.25, Change: 0.1, ChangePercent: 0.1, Volume: 650},
		},
		{
			name:  "a cent down",
			ticks: []feed.Tick{tick(1, 50, 7), tick(2, 49.99, 3)},
			want:  feed.Quote{Open: 50, High: 50, Low: 49.99, Change: -0.01, ChangePercent: -0.02, Volume: 10},
		},
		{
			name:  "percent rounded to four decimals",
			ticks: []feed.Tick{tick(1, 7, 1), tick(2, 7.01, 1)},
			want:  feed.Quote{Open: 7, High: 7.01, Low: 7, Change: 0.01, ChangePercent: 0.1429, Volume: 2},
		},
		{
			name:  "change rounded to the cent",
			ticks: []feed.Tick{tick(1, 3, 1), tick(2, 3.33, 1)},
			want:  feed.Quote{Open: 3, High: 3.33, Low: 3, Change: 0.33, ChangePercent: 11, Volume: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q feed.Quote
			for _, tk := range tt.ticks {
				q.Apply(tk)
			}
			tt.want.Last = tt.ticks[len(tt.ticks)-1]
			if q != tt.want {
				t.Errorf("got  %+v\nwant %+v", q, tt.want)
			}
		})
	}
}

func TestQuoteJSON(t *testing.T) {
	var q feed.Quote
	q.Apply(feed.Tick{Seq: 1, Symbol: "AAPL", Price: 189.1, Bid: 189.09, Ask: 189.11, Size: 100, Time: time.Unix(0, 10)})
	q.Apply(feed.Tick{Seq: 2, Symbol: "AAPL", Price: 189.23, Bid: 189.22, Ask: 189.24, Size: 300, Time: time.Unix(0, 20)})
	const want = `{"seq":2,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":20,` +
		`"open":189.1,"high":189.23,"low":189.1,"chg":0.13,"chg_pct":0.0687,"vol":400}`
	b, err := json.Marshal(q)
	if err != nil || string(b) != want {
		t.Fatalf("json.Marshal = %s, %v; want %s", b, err, want)
	}
	var back feed.Quote
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !back.Last.Time.Equal(q.Last.Time) {
		t.Errorf("Time round-trips to %v, want %v", back.Last.Time, q.Last.Time)
	}
	back.Last.Time = q.Last.Time
	if back != q {
		t.Errorf("round trip = %+v, want %+v", back, q)
	}
	if err := json.Unmarshal([]byte(`[]`), &back); err == nil || !strings.HasPrefix(err.Error(), "decode quote: ") {
		t.Errorf("Unmarshal of a bad quote = %v, want an error starting with %q", err, "decode quote: ")
	}
}

// A quote of a symbol that has not traded says so: seq 0 and no price, no
// time (not Go's zero time in nanoseconds), with its reference price.
func TestQuoteBeforeTheFirstTradeHasNoPriceNorTime(t *testing.T) {
	q := feed.Quote{Last: feed.Tick{Symbol: "MSFT"}, PrevClose: 417.46}
	const want = `{"seq":0,"sym":"MSFT","chg":0,"chg_pct":0,"vol":0,"prevClose":417.46}`
	b, err := json.Marshal(q)
	if err != nil || string(b) != want {
		t.Fatalf("json.Marshal = %s, %v; want %s", b, err, want)
	}
	var back feed.Quote
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != q || !back.Last.Time.IsZero() || back.Traded() {
		t.Fatalf("round trip = %+v, want %+v with no time and no trade", back, q)
	}

	// Its first trade opens the session; the reference price stays.
	q.Apply(feed.Tick{Seq: 7, Symbol: "MSFT", Price: 420, Bid: 419.99, Ask: 420.01, Size: 5, Time: time.Unix(0, 30)})
	const traded = `{"seq":7,"sym":"MSFT","px":420,"bid":419.99,"ask":420.01,"size":5,"ts":30,` +
		`"open":420,"high":420,"low":420,"chg":0,"chg_pct":0,"vol":5,"prevClose":417.46}`
	if b, _ := json.Marshal(q); string(b) != traded {
		t.Fatalf("after the first trade: %s, want %s", b, traded)
	}
}

func BenchmarkTickAppendJSON(b *testing.B) {
	tk := feed.Tick{Seq: 184467, Symbol: "AAPL", Price: 189.23, Bid: 189.22, Ask: 189.24, Size: 300, Time: time.Unix(0, 1764012345678901234)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = tk.AppendJSON(buf[:0])
	}
}
