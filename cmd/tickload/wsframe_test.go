package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// serverFrame returns an unmasked, final frame of op, as tickerd writes
// it.
func serverFrame(op byte, payload string) []byte {
	f := []byte{0x80 | op}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, byte(n))
	case n <= 0xFFFF:
		f = binary.BigEndian.AppendUint16(append(f, 126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 127), uint64(n))
	}
	return append(f, payload...)
}

// unmask reads one client frame at the start of b: it must be final and
// masked. It returns the opcode, the unmasked payload and the rest of b.
func unmask(t *testing.T, b []byte) (op byte, payload, rest []byte) {
	t.Helper()
	if len(b) < 6 || b[0]&0x80 == 0 || b[1]&0x80 == 0 {
		t.Fatalf("client frame % x: want a final, masked frame", b[:min(len(b), 16)])
	}
	n, head := int(b[1]&0x7F), 2
	switch n {
	case 126:
		n, head = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		n, head = int(binary.BigEndian.Uint64(b[2:])), 10
	}
	mask := b[head : head+4]
	payload = slices.Clone(b[head+4 : head+4+n])
	for i := range payload {
		payload[i] ^= mask[i&3]
	}
	return b[0] & 0x0F, payload, b[head+4+n:]
}

// wsStream is a run of server frames as tickerd sends them, with what a
// reader should make of it.
type wsStream struct {
	data    []byte
	ticks   int
	lastSeq uint64
	latency []int64 // now − ts of every tick, for now = streamNow
	pings   []string
	errors  []string
}

func buildWSStream(ticks int) wsStream {
	var s wsStream
	add := func(op byte, payload string) { s.data = append(s.data, serverFrame(op, payload)...) }
	add(wsText, `{"type":"subscription","symbols":["AAPL","MSFT"],"maxfreq":0}`)
	quotes := strings.Repeat(`{"seq":1,"sym":"AAPL","px":189.23,"ts":5,"open":1},`, 120) // over 4096 bytes
	add(wsText, `{"type":"snapshot","seq":100,"resync":false,"quotes":[`+strings.TrimSuffix(quotes, ",")+`]}`)
	seq := uint64(100)
	for i := range ticks {
		seq++
		ts := int64(streamNow - 1000*(i%7) - i)
		add(wsText, fmt.Sprintf(`{"type":"tick","seq":%d,"sym":"AAPL","px":189.23,"bid":189.22,"ask":189.24,"size":300,"ts":%d}`, seq, ts))
		s.latency = append(s.latency, streamNow-ts)
		switch i % 9 {
		case 2:
			p := fmt.Sprintf("ping %d", i)
			add(wsPing, p)
			s.pings = append(s.pings, p)
		case 4:
			add(wsPong, "unasked")
		case 5:
			add(wsText, `{"type":"conflated","dropped":3}`)
		case 7:
			e := fmt.Sprintf(`{"type":"error","error":"unknown symbols","op":"subscribe","symbols":["FOO%d"]}`, i)
			add(wsText, e)
			s.errors = append(s.errors, e)
		}
	}
	add(wsPing, "")
	s.pings = append(s.pings, "")
	add(wsText, `{"type":"tick","seq":`+strings.Repeat("9", 70000)+`}`) // 64-bit length; passed over, counted, no latency
	add(wsClose, "\x03\xe9server shutting down")
	s.ticks, s.lastSeq = ticks+1, seq
	return s
}

// wsResult is what a frameReader made of a stream.
type wsResult struct {
	ticks   uint64
	lastSeq uint64
	latency []int64
	pongs   []string
	errors  []string
	err     error
}

// readFrames feeds pieces, one read each, to a frameReader with a buffer
// of bufSize bytes.
func readFrames(t *testing.T, pieces [][]byte, bufSize int, sampled bool) wsResult {
	t.Helper()
	var res wsResult
	key := uint32(0x01020304)
	r := frameReader{buf: make([]byte, bufSize), mask: func() uint32 { key += 0x11111111; return key }}
	rec := func(v int64) { res.latency = append(res.latency, v) }
	for _, p := range pieces {
		for len(p) > 0 {
			space := r.space()
			if len(space) == 0 {
				t.Fatal("frame reader has no room for the next read")
			}
			n := copy(space, p)
			p = p[n:]
			ticks, err := r.commit(n, streamNow, sampled, rec)
			res.ticks += ticks
			for out := r.out; len(out) > 0; {
				op, payload, rest := unmask(t, out)
				if op != wsPong {
					t.Fatalf("frame reader sent opcode %d, want a pong", op)
				}
				res.pongs = append(res.pongs, string(payload))
				out = rest
			}
			r.out = r.out[:0]
			if len(r.serverError) > 0 {
				res.errors = append(res.errors, string(r.serverError))
				r.serverError = r.serverError[:0]
			}
			if err != nil {
				res.err = err
				res.lastSeq = r.lastSeq
				return res
			}
		}
	}
	res.lastSeq = r.lastSeq
	return res
}

func TestFrameReaderAcrossSplits(t *testing.T) {
	st := buildWSStream(60)
	for _, sampled := range []bool{false, true} {
		for _, size := range []int{1, 2, 3, 7, 64, 150, 1000, 4096, len(st.data)} {
			for _, bufSize := range []int{4096, 16 << 10} {
				t.Run(fmt.Sprintf("sampled=%v/%d-byte reads/%d-byte buffer", sampled, size, bufSize), func(t *testing.T) {
					var pieces [][]byte
					for p := st.data; len(p) > 0; p = p[min(size, len(p)):] {
						pieces = append(pieces, p[:min(size, len(p))])
					}
					r := readFrames(t, pieces, bufSize, sampled)
					if r.ticks != uint64(st.ticks) {
						t.Errorf("ticks = %d, want %d", r.ticks, st.ticks)
					}
					if r.lastSeq != st.lastSeq {
						t.Errorf("last seq = %d, want %d", r.lastSeq, st.lastSeq)
					}
					var wantLatency []int64
					if sampled {
						wantLatency = st.latency
					}
					if !slices.Equal(r.latency, wantLatency) {
						t.Errorf("latencies = %v, want %v", r.latency, wantLatency)
					}
					if !slices.Equal(r.pongs, st.pings) {
						t.Errorf("pongs = %q, want the pings' payloads %q", r.pongs, st.pings)
					}
					// The reader keeps the last error message of a read.
					if len(r.errors) == 0 || !isSubsequence(r.errors, st.errors) || r.errors[len(r.errors)-1] != st.errors[len(st.errors)-1] {
						t.Errorf("server errors = %q, want a subsequence of %q that ends with its last", r.errors, st.errors)
					}
					var ce *wsCloseError
					if !errors.As(r.err, &ce) || ce.code != 1001 || ce.reason != "server shutting down" {
						t.Errorf("end = %v, want the close frame 1001 server shutting down", r.err)
					}
				})
			}
		}
	}
	// Every single split point, for a stream that fits a small buffer.
	small := buildWSStream(12)
	small.data = small.data[:bytes.Index(small.data, []byte(`{"type":"tick","seq":999`))-10] // up to the 64-bit frame
	for cut := 1; cut < len(small.data); cut++ {
		r := readFrames(t, [][]byte{small.data[:cut], small.data[cut:]}, 4096, true)
		if r.ticks != uint64(small.ticks-1) || len(r.latency) != small.ticks-1 || !slices.Equal(r.pongs, small.pings) || r.err != nil {
			t.Fatalf("split at %d: %d ticks, %d latencies, pongs %q, %v; want %d, %d, %q, no error",
				cut, r.ticks, len(r.latency), r.pongs, r.err, small.ticks-1, small.ticks-1, small.pings)
		}
	}
}

func isSubsequence(sub, of []string) bool {
	for _, s := range sub {
		i := slices.Index(of, s)
		if i < 0 {
			return false
		}
		of = of[i+1:]
	}
	return true
}

func TestFrameReaderRejectsWhatRFC6455Forbids(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"masked by the server", []byte{0x81, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2}, "masked by the server"},
		{"reserved bits", []byte{0xC1, 0x02, 'h', 'i'}, "reserved bits"},
		{"fragmented ping", []byte{0x09, 0x00}, "control frame"},
		{"long close", append([]byte{0x88, 126, 0, 126}, make([]byte, 126)...), "control frame"},
		{"length over 2^63", []byte{0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, "over 2^63"},
	}
	for _, tt := range tests {
		r := readFrames(t, [][]byte{tt.frame}, 4096, true)
		if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, r.err, tt.want)
		}
	}
	r := readFrames(t, [][]byte{serverFrame(wsClose, "")}, 4096, false)
	if ce := (*wsCloseError)(nil); !errors.As(r.err, &ce) || ce.code != 1005 {
		t.Errorf("empty close frame: %v, want code 1005", r.err)
	}
}

func TestAppendMaskedFrames(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 0xFFFF, 0x10000} {
		payload := bytes.Repeat([]byte("tick"), n/4+1)[:n]
		f := appendMasked([]byte("x"), wsText, payload, 0xA1B2C3D4)
		if f[0] != 'x' {
			t.Fatal("appendMasked overwrote dst")
		}
		op, got, rest := unmask(t, f[1:])
		if op != wsText || !bytes.Equal(got, payload) || len(rest) != 0 {
			t.Errorf("%d bytes: opcode %d, payload of %d bytes (equal %v), %d left over", n, op, len(got), bytes.Equal(got, payload), len(rest))
		}
		if n > 0 && bytes.Equal(f[len(f)-n:], payload) {
			t.Errorf("%d bytes: payload sent unmasked", n)
		}
	}
}

func TestExtractUint(t *testing.T) {
	tests := []struct {
		data string
		want uint64
		ok   bool
	}{
		{`{"type":"tick","seq":184467,"sym":"AAPL","ts":5}`, 184467, true},
		{`{"type":"tick","seq":18446744073709551615`, 0, false}, // 20 digits: more than parseSeq takes
		{`{"type":"tick","seq":1844674407370955161,`, 1844674407370955161, true},
		{`{"type":"tick","seq":,`, 0, false},
		{`{"type":"tick","sym":"AAPL"}`, 0, false},
	}
	for _, tt := range tests {
		got, ok := extractUint([]byte(tt.data), seqKey)
		if got != tt.want || ok != tt.ok {
			t.Errorf("extractUint(%s) = %d, %v; want %d, %v", tt.data, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFrameReaderDoesNotAllocate(t *testing.T) {
	st := buildWSStream(20)
	end := bytes.Index(st.data, []byte(`{"type":"tick","seq":999`)) - 10
	data := st.data[:end]
	var h histogram
	r := frameReader{buf: make([]byte, 16<<10), mask: func() uint32 { return 7 }, out: make([]byte, 0, 1024), serverError: make([]byte, 0, 1024)}
	n := testing.AllocsPerRun(100, func() {
		r.reset()
		copy(r.space(), data)
		if _, err := r.commit(len(data), streamNow, true, h.Record); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("commit: %v allocations per call", n)
	}
}
