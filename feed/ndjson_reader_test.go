package feed_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

// read is what a TickReader's Next returned once: a tick, or a line's
// error, with where the reader was after it.
type read struct {
	tick   feed.Tick
	err    string // the *LineError's text; "" for a tick
	line   int
	offset int64
}

// readTicks reads r to its end, checking what holds for any input: the
// lines counted go up, the bytes consumed never go back nor past the
// input's n, every error is a *LineError naming its line (the line read
// last), every tick follows the symbol rule and has finite prices, and
// the end is io.EOF with the whole input consumed.
func readTicks(t *testing.T, r *feed.TickReader, n int) []read {
	t.Helper()
	var out []read
	var offset int64
	for calls := 0; ; calls++ {
		if calls > n+1 {
			t.Fatalf("%d calls of Next on %d bytes: no end", calls, n)
		}
		tk, err := r.Next()
		if r.Offset() < offset || r.Offset() > int64(n) {
			t.Fatalf("offset %d after %d, of %d bytes", r.Offset(), offset, n)
		}
		offset = r.Offset()
		if errors.Is(err, io.EOF) {
			if offset != int64(n) {
				t.Fatalf("end after %d of %d bytes", offset, n)
			}
			return out
		}
		var line *feed.LineError
		switch {
		case errors.As(err, &line):
			if line.Line != r.Line() || line.Line < 1 || !strings.HasPrefix(err.Error(), fmt.Sprintf("line %d: ", line.Line)) ||
				!errors.Is(err, feed.ErrMalformed) && !errors.Is(err, feed.ErrNotTicks) {
				t.Fatalf("error %q of line %d (read %d)", err, line.Line, r.Line())
			}
		case err != nil:
			t.Fatalf("reading bytes that cannot fail: %v", err)
		default:
			if err := feed.CheckSymbol(tk.Symbol); err != nil {
				t.Fatalf("tick of line %d: %v", r.Line(), err)
			}
			for _, p := range []float64{tk.Price, tk.Bid, tk.Ask} {
				if math.IsNaN(p) || math.IsInf(p, 0) {
					t.Fatalf("tick of line %d: %+v", r.Line(), tk)
				}
			}
		}
		if len(out) > 0 && r.Line() <= out[len(out)-1].line {
			t.Fatalf("line %d after line %d", r.Line(), out[len(out)-1].line)
		}
		rd := read{tick: tk, line: r.Line(), offset: offset}
		if err != nil {
			rd.err = err.Error()
		}
		out = append(out, rd)
	}
}

// chunks is a reader of data a chunk at a time, of 1 to max bytes, sized
// by a small generator seeded with seed; like a network body, it never
// returns data and io.EOF together.
type chunks struct {
	data  []byte
	state uint64
	max   int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.state ^= c.state << 13
	c.state ^= c.state >> 7
	c.state ^= c.state << 17
	n := min(len(p), len(c.data), 1+int(c.state%uint64(c.max)))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// ndjsonModel is what NewNDJSONReader must make of data, line by line: a
// line longer than MaxLineBytes (without its line ending) is refused as
// such, a blank one skipped, any other is what ParseTickLine makes of it.
func ndjsonModel(data []byte) []read {
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var out []read
	var offset int64
	for i, l := range lines {
		offset += int64(len(l))
		if offset < int64(len(data)) {
			offset++ // its newline
		}
		l = bytes.TrimSuffix(l, []byte("\r"))
		rd := read{line: i + 1, offset: offset}
		switch {
		case len(l) > feed.MaxLineBytes:
			rd.err = fmt.Sprintf("line %d: %s: longer than %d bytes", i+1, feed.ErrMalformed, feed.MaxLineBytes)
		case len(bytes.TrimSpace(l)) == 0:
			continue
		default:
			tk, err := feed.ParseTickLine(l)
			if err != nil {
				rd.err = (&feed.LineError{Line: i + 1, Err: err}).Error()
			} else {
				rd.tick = tk
			}
		}
		out = append(out, rd)
	}
	return out
}

// FuzzTickReader reads arbitrary input with both readers, whole and in
// chunks of every size: what they read follows the line model of the
// NDJSON format (over-long lines, blank lines, each line parsed alone),
// names each bad line, and is the same however the input arrives.
func FuzzTickReader(f *testing.F) {
	good := `{"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":1764012345678901234}`
	long := func(n int) string {
		return `{"sym":"AAPL","px":1,"bid":0.9,"ask":1.1,"size":1` + strings.Repeat(" ", n-50) + "}"
	}
	for _, s := range []string{
		good + "\n" + good + "\n",
		good + "\r\n\r\n  \n" + good,
		good + "\n{\"sym\":\n[]\nnot json\n" + good + "\n",
		feed.CSVHeader + "\n1,1764012345678901234,AAPL,189.23,189.22,189.24,300\n2,,AAPL,1,0.9,1.1,1\n",
		"sym,px,bid,ask,size\r\nNYSE:BRK.B,1,0.9,1.1,5\r\nAAPL,NaN,1,2,1\nAAPL,1,2\n\nAAPL,1e400,1,2,3",
		"sym,px,sym\nAAPL,1,2\n",
		"\n\n" + feed.CSVHeader,
		long(feed.MaxLineBytes) + "\n" + good,
		long(feed.MaxLineBytes+1) + "\n" + good,
		long(feed.MaxLineBytes) + "\r\n" + long(feed.MaxLineBytes+2) + "\n" + good,
		strings.Repeat("x", 3*feed.MaxLineBytes) + "\n" + good,
		strings.Repeat(" ", feed.MaxLineBytes+5) + "\n" + feed.CSVHeader + "\nAAPL,1,0.9,1.1,1,5,6",
		good + "\n" + long(feed.MaxLineBytes+1),
		"",
	} {
		f.Add([]byte(s), uint64(7), uint8(1))
		f.Add([]byte(s), uint64(12345), uint8(200))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, maxChunk uint8) {
		chunked := func() io.Reader { return &chunks{data: data, state: seed | 1, max: 1 + int(maxChunk)} }

		ndjson := readTicks(t, feed.NewNDJSONReader(bytes.NewReader(data)), len(data))
		if want := ndjsonModel(data); !slices.Equal(ndjson, want) {
			t.Fatalf("NDJSON reader:\n%+v\nwant, line by line:\n%+v", ndjson, want)
		}
		if got := readTicks(t, feed.NewNDJSONReader(chunked()), len(data)); !slices.Equal(got, ndjson) {
			t.Fatalf("NDJSON in chunks of up to %d bytes:\n%+v\nwhole:\n%+v", 1+int(maxChunk), got, ndjson)
		}

		either := readTicks(t, feed.NewTickReader(bytes.NewReader(data)), len(data))
		if got := readTicks(t, feed.NewTickReader(chunked()), len(data)); !slices.Equal(got, either) {
			t.Fatalf("either format in chunks of up to %d bytes:\n%+v\nwhole:\n%+v", 1+int(maxChunk), got, either)
		}
		// The first line that is neither blank nor too long decides the
		// format: a JSON object makes it NDJSON, read as above.
		tooLong := fmt.Sprintf("longer than %d bytes", feed.MaxLineBytes)
		if i := slices.IndexFunc(ndjson, func(r read) bool { return !strings.HasSuffix(r.err, tooLong) }); i >= 0 {
			if first := firstLine(data, ndjson[i].line); len(first) > 0 && first[0] == '{' && !slices.Equal(either, ndjson) {
				t.Fatalf("input starting with a JSON object, read as either format:\n%+v\nas NDJSON:\n%+v", either, ndjson)
			}
		}
	})
}

// firstLine returns line n (from 1) of data, trimmed of spaces.
func firstLine(data []byte, n int) []byte {
	return bytes.TrimSpace(bytes.Split(data, []byte("\n"))[n-1])
}
