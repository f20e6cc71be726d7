package feed_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

func TestParseTickLine(t *testing.T) {
	good := []struct {
		line string
		want feed.Tick
	}{
		{`{"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`,
			feed.Tick{Symbol: "AAPL", Price: 189.23, Bid: 189.22, Ask: 189.24, Size: 300, Time: time.Unix(0, 1764012345678901234)}},
		{` {"seq":7,"sym":"NASDAQ:BRK.B","px":1,"bid":0.99,"ask":1.01,"size":1} `,
			feed.Tick{Symbol: "NASDAQ:BRK.B", Price: 1, Bid: 0.99, Ask: 1.01, Size: 1}},
	}
	for _, c := range good {
		got, err := feed.ParseTickLine([]byte(c.line))
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.line, got, c.want)
		}
	}
	bad := []struct{ line, want string }{
		{``, "not a JSON object"},
		{`[1,2]`, "not a JSON object"},
		{`sym=AAPL`, "not a JSON object"},
		{`{"sym":"AAPL","px":1,"bid":0.9,"ask":1.1}`, `no "size"`},
		{`{"px":1,"bid":0.9,"ask":1.1,"size":1}`, `no "sym"`},
		{`{"sym":"aapl","px":1,"bid":0.9,"ask":1.1,"size":1}`, "lower-case"},
		{`{"sym":"AAPL","px":"1","bid":0.9,"ask":1.1,"size":1}`, `"px" is string, want a finite number`},
		{`{"sym":"AAPL","px":1e400,"bid":0.9,"ask":1.1,"size":1}`, `"px" is number 1e400, want a finite number`},
		{`{"sym":"AAPL","px":NaN,"bid":0.9,"ask":1.1,"size":1}`, "invalid JSON"},
		{`{"sym":"AAPL","px":1,"bid":0.9,"ask":1.1,"size":1.5}`, `"size" is number 1.5, want an integer`},
		{`{"sym":"AAPL","px":1,"bid":0.9,"ask":1.1,"size":1,"venue":"X"}`, `unknown field "venue"`},
		{`{"sym":"AAPL","px":1,"bid":0.9,"ask":1.1,"size":1}{}`, "data after the JSON object"},
		{`{"sym":"AAPL","px":1,`, "incomplete JSON object"},
	}
	for _, c := range bad {
		_, err := feed.ParseTickLine([]byte(c.line))
		if err == nil || !errors.Is(err, feed.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one wrapping ErrMalformed saying %q", c.line, err, c.want)
		}
	}
}

// readAll reads every tick and line error of input.
func readAll(t *testing.T, r *feed.TickReader) (ticks []feed.Tick, bad []string) {
	t.Helper()
	for {
		tick, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ticks, bad
		}
		var le *feed.LineError
		if errors.As(err, &le) {
			bad = append(bad, le.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ticks = append(ticks, tick)
	}
}

func TestTickReaderReadsBothFormatsAlike(t *testing.T) {
	ndjson := "{\"sym\":\"AAPL\",\"px\":10,\"bid\":9.99,\"ask\":10.01,\"size\":100,\"ts\":1000}\r\n\n" +
		"{\"sym\":\"MSFT\",\"px\":20,\"bid\":19.99,\"ask\":20.01,\"size\":5,\"ts\":2000}"
	csv := "ts, sym,px,bid,ask,size\n1000,AAPL,10,9.99,10.01,100\n\n2000,MSFT,20,19.99,20.01,5\n"
	a, badA := readAll(t, feed.NewTickReader(strings.NewReader(ndjson)))
	b, badB := readAll(t, feed.NewTickReader(strings.NewReader(csv)))
	if len(badA)+len(badB) > 0 || len(a) != 2 || len(b) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Fatalf("NDJSON %+v %v\nCSV %+v %v", a, badA, b, badB)
	}
	if a[1].Symbol != "MSFT" || a[1].Time != time.Unix(0, 2000) {
		t.Errorf("second tick %+v", a[1])
	}
}

func TestTickReaderNamesBadLinesAndGoesOn(t *testing.T) {
	input := "seq,ts,sym,px,bid,ask,size\n" +
		"1,1000,AAPL,10,9.99,10.01,100\n" +
		"2,1001,AAPL,NaN,9.99,10.01,100\n" +
		"3,1002,AAPL,10\n" +
		"4,1003,aapl,10,9.99,10.01,100\n" +
		strings.Repeat("x", feed.MaxLineBytes+10) + "\n" +
		"5,1004,AAPL,10.01,10,10.02,7\n"
	ticks, bad := readAll(t, feed.NewTickReader(strings.NewReader(input)))
	want := []string{
		`line 3: malformed tick: px "NaN" is not a finite number`,
		"line 4: malformed tick: 4 fields, the header names 7",
		`line 5: malformed tick: symbol "aapl": lower-case 'a'; names are upper-case`,
		"line 6: malformed tick: longer than 4096 bytes",
	}
	if strings.Join(bad, "\n") != strings.Join(want, "\n") {
		t.Errorf("line errors:\n%s\nwant:\n%s", strings.Join(bad, "\n"), strings.Join(want, "\n"))
	}
	if len(ticks) != 2 || ticks[1].Size != 7 {
		t.Errorf("ticks %+v", ticks)
	}
}

func TestTickReaderRefusesWhatIsInNeitherFormat(t *testing.T) {
	for _, input := range []string{"hello world\n", "<html>", "ts,sym,px\n", "sym,px,bid,ask,size,venue\n", "sym,sym,px,bid,ask,size"} {
		_, err := feed.NewTickReader(strings.NewReader(input)).Next()
		if !errors.Is(err, feed.ErrNotTicks) {
			t.Errorf("%q: %v, want ErrNotTicks", input, err)
		}
	}
	// The NDJSON-only reader takes a CSV header for a malformed line.
	_, err := feed.NewNDJSONReader(strings.NewReader(feed.CSVHeader + "\n")).Next()
	if errors.Is(err, feed.ErrNotTicks) || !errors.Is(err, feed.ErrMalformed) {
		t.Errorf("NDJSON reader on a CSV header: %v", err)
	}
}

// FuzzParseTickLine checks that the NDJSON line parser never panics, that
// what it accepts follows the symbol rule, and that a tick it accepts
// reads back the same from its own JSON form.
func FuzzParseTickLine(f *testing.F) {
	for _, s := range []string{
		`{"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`,
		`{"seq":1,"sym":"NYSE:BRK.B","px":1,"bid":1,"ask":1,"size":-1}`,
		`{"sym":"AAPL","px":1e400}`, `{"sym":"AAPL","px":1,"bid":0,"ask":0,"size":1,"ts":-1}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		tick, err := feed.ParseTickLine(line)
		if err != nil {
			if !errors.Is(err, feed.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if err := feed.CheckSymbol(tick.Symbol); err != nil {
			t.Fatalf("accepted symbol: %v", err)
		}
		again, err := feed.ParseTickLine(tick.AppendJSON(nil))
		if err != nil {
			t.Fatalf("own JSON %s: %v", tick.AppendJSON(nil), err)
		}
		if tick.Time.IsZero() {
			again.Time = time.Time{} // AppendJSON writes the zero time as a ts
		}
		if again != tick {
			t.Fatalf("read back %+v, was %+v", again, tick)
		}
	})
}

func TestParseSymbolNames(t *testing.T) {
	got, err := feed.ParseSymbolNames(" ACME, NYSE:XYZ ,AAPL=10/0.2")
	if err != nil || strings.Join(got, ",") != "ACME,NYSE:XYZ,AAPL" {
		t.Fatalf("%v %v", got, err)
	}
	if got, err := feed.ParseSymbolNames(""); err != nil || len(got) != len(feed.DefaultUniverse()) {
		t.Fatalf("default: %d %v", len(got), err)
	}
	if got, err := feed.ParseSymbolNames("synthetic:2000"); err != nil || len(got) != 2000 {
		t.Fatalf("synthetic: %d %v", len(got), err)
	}
	for spec, want := range map[string]string{"acme": "lower-case", "A,,B": "symbol 2: empty", "A,A": "listed twice", "A=-1/0.2": "price -1"} {
		if _, err := feed.ParseSymbolNames(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", spec, err, want)
		}
	}
}

// BenchmarkParseTickLine parses one publisher's line.
func BenchmarkParseTickLine(b *testing.B) {
	line := []byte(`{"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := feed.ParseTickLine(line); err != nil {
			b.Fatal(err)
		}
	}
}
