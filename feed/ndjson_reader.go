package feed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// The CSV tick format holds the same ticks as the NDJSON one: a header
// line naming the columns, in any order, then one tick a line,
//
//	ts,sym,px,bid,ask,size
//	1764012345678901234,AAPL,189.23,189.22,189.24,300
//
// sym, px, bid, ask and size are required columns; ts (Unix nanoseconds)
// and seq (ignored, as in NDJSON) are optional. No field needs quoting: a
// symbol has no comma. CSVHeader is the header tickerd record writes.
const CSVHeader = "seq,ts,sym,px,bid,ask,size"

// csvColumns are the columns a CSV header may name.
var csvColumns = []string{"seq", "ts", "sym", "px", "bid", "ask", "size"}

// LineError is a line of a tick file or body that is not a tick. Reading
// can go on after it.
type LineError struct {
	Line int // from 1
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// TickReader reads ticks in the NDJSON or the CSV tick format, one line
// at a time: a line is parsed as soon as its newline (or the end of the
// input) has been read, so that a reader of a body still being written
// gets each tick when it arrives. Blank lines are skipped and counted.
type TickReader struct {
	r      *bufio.Reader
	ndjson bool  // only the NDJSON format
	csv    []int // the CSV columns by position, as indexes of csvColumns; nil: NDJSON
	known  bool  // the format is known (the first line has been read)
	line   int
	offset int64 // bytes of input consumed
}

// NewTickReader returns a reader of r in either format: a first line that
// is a JSON object makes it NDJSON; anything else must be the CSV header.
func NewTickReader(r io.Reader) *TickReader {
	return &TickReader{r: bufio.NewReaderSize(r, MaxLineBytes+2)}
}

// NewNDJSONReader returns a reader of r in the NDJSON format only.
func NewNDJSONReader(r io.Reader) *TickReader {
	return &TickReader{r: bufio.NewReaderSize(r, MaxLineBytes+2), ndjson: true, known: true}
}

// ErrNotTicks is wrapped by the error of an input whose first line is in
// neither tick format.
var ErrNotTicks = errors.New("not in a tick format")

// Line returns the number of the line read last, from 1.
func (r *TickReader) Line() int { return r.line }

// Offset returns how many bytes of the input have been consumed.
func (r *TickReader) Offset() int64 { return r.offset }

// Next returns the next tick. At the end of the input it returns io.EOF.
// A line that is not a tick is a *LineError, after which Next may be
// called again; so is a first line in neither format, whose error also
// wraps ErrNotTicks. Any other error is the input's, and ends reading.
func (r *TickReader) Next() (Tick, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return Tick{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !r.known {
			r.known = true
			if trimmed := bytes.TrimSpace(line); trimmed[0] != '{' {
				cols, err := parseCSVHeader(string(trimmed))
				if err != nil {
					return Tick{}, &LineError{Line: r.line, Err: fmt.Errorf("%w: neither a JSON object nor a CSV header: %w", ErrNotTicks, err)}
				}
				r.csv = cols
				continue
			}
		}
		var t Tick
		if r.csv != nil {
			t, err = parseCSVLine(r.csv, string(line))
		} else {
			t, err = ParseTickLine(line)
		}
		if err != nil {
			return Tick{}, &LineError{Line: r.line, Err: err}
		}
		return t, nil
	}
}

// errLineTooLong is the error of a line longer than MaxLineBytes.
var errLineTooLong = fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLineBytes)

// readLine returns the next line without its line ending; a line too long
// is consumed and returned as a *LineError.
func (r *TickReader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	r.offset += int64(len(line))
	if errors.Is(err, bufio.ErrBufferFull) {
		r.line++
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.r.ReadSlice('\n')
			r.offset += int64(len(line))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, &LineError{Line: r.line, Err: errLineTooLong}
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(line) == 0) {
		return nil, err
	}
	r.line++
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > MaxLineBytes {
		// The buffer has room for a line ending of two bytes; one line
		// byte more fits where the ending is one.
		return nil, &LineError{Line: r.line, Err: errLineTooLong}
	}
	return line, nil
}

// parseCSVHeader reads a CSV header into the column of each position.
func parseCSVHeader(header string) ([]int, error) {
	var cols []int
	seen := make([]bool, len(csvColumns))
	for name := range strings.SplitSeq(header, ",") {
		name = strings.TrimSpace(name)
		i := indexOf(csvColumns, name)
		switch {
		case i < 0:
			return nil, fmt.Errorf("column %q is not one of %s", name, strings.Join(csvColumns, ","))
		case seen[i]:
			return nil, fmt.Errorf("column %q named twice", name)
		}
		seen[i] = true
		cols = append(cols, i)
	}
	for _, required := range []string{"sym", "px", "bid", "ask", "size"} {
		if !seen[indexOf(csvColumns, required)] {
			return nil, fmt.Errorf("no %q column", required)
		}
	}
	return cols, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// parseCSVLine parses one CSV line with the columns cols.
func parseCSVLine(cols []int, line string) (Tick, error) {
	fields := strings.Split(line, ",")
	if len(fields) != len(cols) {
		return Tick{}, fmt.Errorf("%w: %d fields, the header names %d", ErrMalformed, len(fields), len(cols))
	}
	var t Tick
	for i, f := range fields {
		f = strings.TrimSpace(f)
		name := csvColumns[cols[i]]
		var err error
		switch name {
		case "seq":
			_, err = strconv.ParseUint(f, 10, 64)
		case "ts":
			var ns int64
			if ns, err = strconv.ParseInt(f, 10, 64); err == nil {
				t.Time = time.Unix(0, ns)
			}
		case "sym":
			if err = CheckSymbol(f); err == nil {
				t.Symbol = f
			} else {
				return Tick{}, fmt.Errorf("%w: %w", ErrMalformed, err)
			}
		case "px":
			t.Price, err = parseFinite(f)
		case "bid":
			t.Bid, err = parseFinite(f)
		case "ask":
			t.Ask, err = parseFinite(f)
		case "size":
			t.Size, err = strconv.ParseInt(f, 10, 64)
		}
		if err != nil {
			return Tick{}, fmt.Errorf("%w: %s %q is not %s", ErrMalformed, name, f, csvKind(name))
		}
	}
	return t, nil
}

func csvKind(column string) string {
	switch column {
	case "seq":
		return "a non-negative integer"
	case "ts", "size":
		return "an integer"
	}
	return "a finite number"
}

func parseFinite(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
		err = errors.New("not finite")
	}
	return v, err
}
