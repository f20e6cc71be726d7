package feed

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzTickDecode holds the hand-read tick form to encoding/json: whatever
// the bytes, when decodeTickForm takes them, encoding/json reads the same
// tick from them; and every tick AppendJSON writes is taken.
func FuzzTickDecode(f *testing.F) {
	for _, s := range []string{
		`{"seq":184467,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`,
		`{"seq":0,"sym":"BRK.B","px":0,"bid":-0,"ask":1e3,"size":-5,"ts":-1}`,
		`{"seq":18446744073709551615,"sym":"NASDAQ:AAPL","px":1.5E-3,"bid":2.0,"ask":3e+2,"size":9223372036854775807,"ts":0}`,
		`{"seq":18446744073709551616,"sym":"A","px":1,"bid":1,"ask":1,"size":1,"ts":1}`,
		`{"seq":01,"sym":"A","px":1,"bid":1,"ask":1,"size":1,"ts":1}`,
		`{"seq":1,"sym":"A\u0042","px":1,"bid":1,"ask":1,"size":1,"ts":1}`,
		`{"seq":1,"sym":"A","px":1e400,"bid":1,"ask":1,"size":1,"ts":1}`,
		`{"seq":1,"sym":"A","px":1,"bid":1,"ask":1,"size":1.0,"ts":1}`,
		`{"seq":1,"sym":"A","px":1,"bid":1,"ask":1,"size":1,"ts":1} `,
		`{"sym":"A","seq":1}`,
		`{"seq":-1,"sym":"A","px":1,"bid":1,"ask":1,"size":1,"ts":1}`,
		`{"seq":1,"sym":"","px":1,"bid":1,"ask":1,"size":1,"ts":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Tick
		if !decodeTickForm(b, &fast) {
			return
		}
		var j tickJSON
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("decodeTickForm took %q, which encoding/json refuses: %v", b, err)
		}
		want := Tick{Seq: j.Seq, Symbol: j.Symbol, Price: j.Price, Bid: j.Bid, Ask: j.Ask, Size: j.Size, Time: time.Unix(0, j.TS)}
		if !sameTick(fast, want) {
			t.Fatalf("decodeTickForm(%q) = %+v, encoding/json reads %+v", b, fast, want)
		}
		// And what it read is written back as it was.
		if got := fast.AppendJSON(nil); !sameTick(mustDecode(t, got), fast) {
			t.Fatalf("%q does not round-trip", got)
		}
	})
}

func FuzzTickFormIsTaken(f *testing.F) {
	f.Add(uint64(184467), "AAPL", 189.23, 189.22, 189.24, int64(300), int64(1764012345678901234))
	f.Add(uint64(0), "BRK.B", 0.01, -1e-7, 1e21, int64(-1), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, seq uint64, sym string, px, bid, ask float64, size, ts int64) {
		if CheckSymbol(sym) != nil {
			return
		}
		in := Tick{Seq: seq, Symbol: sym, Price: px, Bid: bid, Ask: ask, Size: size, Time: time.Unix(0, ts)}
		b := in.AppendJSON(nil)
		var out Tick
		if !decodeTickForm(b, &out) {
			t.Fatalf("decodeTickForm did not take %s", b)
		}
		var back Tick
		if err := json.Unmarshal(b, &back); err != nil || !sameTick(out, back) {
			t.Fatalf("%s: hand-read %+v, encoding/json %+v (%v)", b, out, back, err)
		}
		want := in
		for _, p := range []*float64{&want.Price, &want.Bid, &want.Ask} {
			if math.IsNaN(*p) || math.IsInf(*p, 0) {
				*p = 0 // what AppendJSON writes for them
			}
		}
		if !sameTick(out, want) {
			t.Fatalf("%s read as %+v, want %+v", b, out, want)
		}
	})
}

func mustDecode(t *testing.T, b []byte) Tick {
	t.Helper()
	var tk Tick
	if err := tk.UnmarshalJSON(b); err != nil {
		t.Fatalf("UnmarshalJSON(%s): %v", b, err)
	}
	return tk
}

// sameTick compares two ticks field by field, the prices by their bits
// (so -0 and 0 differ) and the times as instants.
func sameTick(a, b Tick) bool {
	return a.Seq == b.Seq && a.Symbol == b.Symbol &&
		math.Float64bits(a.Price) == math.Float64bits(b.Price) &&
		math.Float64bits(a.Bid) == math.Float64bits(b.Bid) &&
		math.Float64bits(a.Ask) == math.Float64bits(b.Ask) &&
		a.Size == b.Size && a.Time.Equal(b.Time)
}

func TestTickDecodeFallsBackToEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Tick
		fast bool
	}{
		{`{"seq":7,"sym":"AAPL","px":1.5,"bid":1.49,"ask":1.51,"size":100,"ts":5}`, Tick{Seq: 7, Symbol: "AAPL", Price: 1.5, Bid: 1.49, Ask: 1.51, Size: 100, Time: time.Unix(0, 5)}, true},
		{`{ "sym":"AAPL", "seq":7, "ts":5, "px":1.5 }`, Tick{Seq: 7, Symbol: "AAPL", Price: 1.5, Time: time.Unix(0, 5)}, false},
		{`{"seq":7,"sym":"\u0041APL","px":1.5,"bid":1.49,"ask":1.51,"size":100,"ts":5}`, Tick{Seq: 7, Symbol: "AAPL", Price: 1.5, Bid: 1.49, Ask: 1.51, Size: 100, Time: time.Unix(0, 5)}, false},
	} {
		var fast Tick
		if got := decodeTickForm([]byte(tc.in), &fast); got != tc.fast {
			t.Errorf("decodeTickForm(%s) = %v, want %v", tc.in, got, tc.fast)
		}
		if got := mustDecode(t, []byte(tc.in)); !sameTick(got, tc.want) {
			t.Errorf("UnmarshalJSON(%s) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`{"seq":1,"sym":"A","px":1,"bid":1,"ask":1,"size":1.5,"ts":1}`, `{"seq":-1}`, `[]`, `{"seq":1,"sym":"A","px":1e400}`} {
		var tk Tick
		if err := tk.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalJSON(%s) took it: %+v", bad, tk)
		}
	}
}

// BenchmarkTickDecode reads one stored tick by hand and with encoding/json,
// in the same run.
func BenchmarkTickDecode(b *testing.B) {
	in := []byte(`{"seq":184467,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`)
	b.Run("form", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t Tick
			if !decodeTickForm(in, &t) {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var j tickJSON
			if err := json.Unmarshal(in, &j); err != nil {
				b.Fatal(err)
			}
		}
	})
}
