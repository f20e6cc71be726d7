package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// sseStream is a stream in the wire formats tickload reads: tickerd's
// (id, event, data) and r3labs/sse's (id, data, event), with a snapshot,
// comments, a retry field and a non-tick event in between.
type sseStream struct {
	text    string
	ticks   int
	lastID  string
	latency []int64 // now − ts of every tick, in order, for now = streamNow
	ends    []int   // offset just past each event's blank line
}

const streamNow = 1_000_000

func buildStream(ticks int) sseStream {
	var b strings.Builder
	s := sseStream{}
	end := func() { b.WriteString("\n"); s.ends = append(s.ends, b.Len()) }
	b.WriteString("retry: 2000\n")
	end()
	fmt.Fprintf(&b, "id: 1\nevent: snapshot\ndata: {\"seq\":1,\"resync\":false,\"quotes\":[{\"seq\":1,\"sym\":\"AAPL\",\"ts\":5,\"open\":1}]}\n")
	end()
	id := 1
	for i := range ticks {
		id++
		ts := int64(streamNow - 1000*(i%7) - i)
		data := fmt.Sprintf(`{"seq":%d,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":%d}`, id, ts)
		if i%2 == 0 {
			fmt.Fprintf(&b, "id: %d\nevent: tick\ndata: %s\n", id, data)
		} else {
			fmt.Fprintf(&b, "id: %d\ndata: %s\nevent: tick\n", id, data)
		}
		end()
		s.latency = append(s.latency, streamNow-ts)
		switch i % 5 {
		case 1:
			b.WriteString(": heartbeat\n")
			end()
		case 3:
			id++
			fmt.Fprintf(&b, "id: %d\nevent: conflated\ndata: {\"seq\":%d,\"sym\":\"MSFT\",\"ts\":7}\n", id, id)
			end()
		}
	}
	s.text, s.ticks, s.lastID = b.String(), ticks, fmt.Sprint(id)
	return s
}

// scanResult is what the two scanners saw of a stream.
type scanResult struct {
	counted, parsed     uint64
	countedID, parsedID string
	latency             []int64
}

// scanPieces feeds pieces, one read each, through a lineBuffer of bufSize
// bytes into both scanners.
func scanPieces(t *testing.T, pieces []string, bufSize int) scanResult {
	t.Helper()
	var (
		r                scanResult
		count, parse     eventScanner
		countLB, parseLB = lineBuffer{buf: make([]byte, bufSize)}, lineBuffer{buf: make([]byte, bufSize)}
	)
	rec := func(v int64) { r.latency = append(r.latency, v) }
	for _, p := range pieces {
		for len(p) > 0 {
			space := countLB.space()
			n := copy(space, p)
			if lines := countLB.commit(n); lines != nil {
				r.counted += count.countTicks(lines)
			}
			space = parseLB.space()
			if copy(space, p) != n {
				t.Fatal("line buffers out of step")
			}
			if lines := parseLB.commit(n); lines != nil {
				r.parsed += parse.parseEvents(lines, streamNow, rec)
			}
			p = p[n:]
		}
	}
	r.countedID, r.parsedID = string(count.lastID.Bytes()), string(parse.lastID.Bytes())
	return r
}

// splitAt cuts s at the given offsets.
func splitAt(s string, cuts ...int) []string {
	var out []string
	prev := 0
	for _, c := range cuts {
		out = append(out, s[prev:c])
		prev = c
	}
	return append(out, s[prev:])
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func TestScannersCountTicksAcrossSplits(t *testing.T) {
	st := buildStream(40)
	tickAt := strings.Index(st.text, "event: tick")
	blankAt := strings.Index(st.text, "\n\n")
	idAt := strings.LastIndex(st.text, "id: ")
	tests := []struct {
		name   string
		pieces []string
	}{
		{"one read", []string{st.text}},
		{"byte by byte", splitEvery(st.text, 1)},
		{"2-byte reads", splitEvery(st.text, 2)},
		{"7-byte reads", splitEvery(st.text, 7)},
		{"64-byte reads", splitEvery(st.text, 64)},
		{"150-byte reads", splitEvery(st.text, 150)},
		{"1000-byte reads", splitEvery(st.text, 1000)},
		{"inside event: tick", splitAt(st.text, tickAt+1, tickAt+6, tickAt+10, tickAt+11)},
		{"between the two LFs of a blank line", splitAt(st.text, blankAt+1)},
		{"right after a blank line", splitAt(st.text, blankAt+2)},
		{"inside the last id line", splitAt(st.text, idAt+2, idAt+4)},
		{"at every event end", splitAt(st.text, st.ends[:len(st.ends)-1]...)},
		{"one byte past every event end", splitAt(st.text, func() []int {
			var c []int
			for _, e := range st.ends[:len(st.ends)-1] {
				c = append(c, e+1)
			}
			return c
		}()...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.pieces, ""); got != st.text {
				t.Fatal("pieces do not rebuild the stream")
			}
			checkScan(t, scanPieces(t, tt.pieces, 4096), st)
		})
	}
	// Every single split point.
	for cut := 1; cut < len(st.text); cut++ {
		r := scanPieces(t, splitAt(st.text, cut), 4096)
		if r.counted != uint64(st.ticks) || r.parsed != uint64(st.ticks) {
			t.Fatalf("split at %d: counted %d, parsed %d, want %d", cut, r.counted, r.parsed, st.ticks)
		}
	}
}

func checkScan(t *testing.T, r scanResult, st sseStream) {
	t.Helper()
	if r.counted != uint64(st.ticks) {
		t.Errorf("countTicks = %d, want %d", r.counted, st.ticks)
	}
	if r.parsed != uint64(st.ticks) {
		t.Errorf("parseEvents = %d, want %d", r.parsed, st.ticks)
	}
	if r.countedID != st.lastID || r.parsedID != st.lastID {
		t.Errorf("last event id: countTicks %q, parseEvents %q, want %q", r.countedID, r.parsedID, st.lastID)
	}
	if !slices.Equal(r.latency, st.latency) {
		t.Errorf("latencies = %v, want %v", r.latency, st.latency)
	}
}

func TestScannersIgnoreAnEventCutShort(t *testing.T) {
	st := buildStream(10)
	// Cut the stream at every offset inside the last event: that event is
	// not dispatched, so neither its tick nor its id count.
	last, prev := st.ends[len(st.ends)-1], st.ends[len(st.ends)-2]
	full := scanPieces(t, []string{st.text[:prev]}, 4096)
	for cut := prev; cut < last; cut++ {
		r := scanPieces(t, splitEvery(st.text[:cut], 5), 4096)
		if r.counted != full.counted || r.parsed != full.parsed {
			t.Fatalf("cut at %d: counted %d, parsed %d, want %d", cut, r.counted, r.parsed, full.counted)
		}
		if r.countedID != full.countedID || r.parsedID != full.countedID {
			t.Fatalf("cut at %d: last ids %q and %q, want %q", cut, r.countedID, r.parsedID, full.countedID)
		}
	}
	// The last event is a tick; the event before it has the id before its.
	var lastID int
	fmt.Sscan(st.lastID, &lastID)
	if want := fmt.Sprint(lastID - 1); full.counted != uint64(st.ticks-1) || full.countedID != want {
		t.Fatalf("before the last event: %d ticks, last id %q; want %d, %q", full.counted, full.countedID, st.ticks-1, want)
	}
}

func TestScannersResumeAfterReset(t *testing.T) {
	// A connection cut inside a tick event, then a new connection that
	// starts over: the half event must not count.
	var s eventScanner
	lb := lineBuffer{buf: make([]byte, 4096)}
	feed := func(text string) uint64 {
		n := copy(lb.space(), text)
		return s.countTicks(lb.commit(n))
	}
	if got := feed("id: 1\nevent: tick\ndata: {}\n\nid: 2\nevent: tick\n"); got != 1 {
		t.Fatalf("first connection: %d ticks, want 1", got)
	}
	s.reset()
	lb = lineBuffer{buf: lb.buf}
	if got := feed("id: 2\ndata: {}\n\n"); got != 0 {
		t.Fatalf("after reset: a non-tick event counted %d ticks", got)
	}
	if got := string(s.lastID.Bytes()); got != "2" {
		t.Fatalf("last id %q, want 2", got)
	}
}

func TestLineBufferSkipsOverlongLines(t *testing.T) {
	long := `{"seq":1,"resync":false,"quotes":[` + strings.Repeat(`{"sym":"AAPL","ts":1},`, 20) + `]}`
	text := "id: 1\nevent: snapshot\ndata: " + long + "\n\n" +
		"id: 2\nevent: tick\ndata: {\"ts\":999000}\n\n" +
		"id: 3\nevent: snapshot\ndata: " + long + "\n\n" +
		"id: 4\nevent: tick\ndata: {\"ts\":999500}\n\n"
	for _, read := range []int{1, 5, 17, 64, len(text)} {
		t.Run(fmt.Sprintf("%d-byte reads", read), func(t *testing.T) {
			r := scanPieces(t, splitEvery(text, read), 64)
			checkScan(t, r, sseStream{ticks: 2, lastID: "4", latency: []int64{1000, 500}})
		})
	}
}

func TestExtractTS(t *testing.T) {
	tests := []struct {
		data string
		want int64
		ok   bool
	}{
		{`data: {"seq":1,"sym":"AAPL","px":1.5,"bid":1.49,"ask":1.51,"size":300,"ts":1764012345678901234}`, 1764012345678901234, true},
		{`data: {"ts":0}`, 0, true},
		{`data: {"ts": 42}`, 42, true},
		{`data: {"quotes":[{"ts":1}],"ts":2}`, 2, true},
		{`data: {"seq":1}`, 0, false},
		{`data: {"ts":}`, 0, false},
		{`data: {"ts":-5}`, 0, false},
		{`data: {"ts":99999999999999999999}`, 0, false},
		{`data: {"ts":9223372036854775807}`, 9223372036854775807, true},
	}
	for _, tt := range tests {
		got, ok := extractTS([]byte(tt.data))
		if got != tt.want || ok != tt.ok {
			t.Errorf("extractTS(%s) = %d, %v; want %d, %v", tt.data, got, ok, tt.want, tt.ok)
		}
	}
}

func TestScannersDoNotAllocate(t *testing.T) {
	st := buildStream(20)
	lines := []byte(st.text)
	var h histogram
	var s eventScanner
	if n := testing.AllocsPerRun(100, func() { s.countTicks(lines) }); n != 0 {
		t.Errorf("countTicks: %v allocations per call", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.parseEvents(lines, streamNow, h.Record) }); n != 0 {
		t.Errorf("parseEvents: %v allocations per call", n)
	}
	if !bytes.Equal(s.lastID.Bytes(), []byte(st.lastID)) {
		t.Errorf("last id %q, want %q", s.lastID.Bytes(), st.lastID)
	}
}
