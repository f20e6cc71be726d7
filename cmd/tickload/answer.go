package main

import (
	"bytes"
	"errors"
)

// answerTail is what the answer scanner keeps of an event longer than its
// buffer (a snapshot of many symbols): enough for the answer's closing
// "seq":N}.
const answerTail = 64

// errNoSeq is a poll answer that does not end with its seq.
var errNoSeq = errors.New(`poll answer without "seq"`)

// answerScanner reads the body of one poll answer,
//
//	{"events":[{"type":"tick","seq":...,"ts":...},...],"seq":N}
//
// as it arrives, in the buffer it is given: the events that are
// complete (another begins after them) are scanned, the one under way
// waits in the buffer for its rest, and an event longer than the buffer
// is passed over but for its tail. Any split of the body into reads gives
// the same counts.
type answerScanner struct {
	buf        []byte
	start, end int // buf[start:end] is what has been read and not yet scanned
	searched   int // bytes after start known to begin no event but the one at start
}

func (a *answerScanner) reset(buf []byte) { a.buf, a.start, a.end, a.searched = buf, 0, 0, 0 }

// space returns the free part of the buffer, after what is not yet
// scanned, for the next read.
func (a *answerScanner) space() []byte {
	if a.start > 0 {
		a.end = copy(a.buf, a.buf[a.start:a.end])
		a.start = 0
	}
	return a.buf[a.end:]
}

// commit scans the first n bytes of space(), received at now (Unix
// nanoseconds); final says they end the body. It returns the ticks whose
// events it completed, calls latency (when not nil) with now − ts for
// each, and returns the answer's seq with the final bytes.
func (a *answerScanner) commit(n int, now int64, final bool, latency func(int64)) (ticks, seq uint64, err error) {
	a.end += n
	p := a.buf[a.start:a.end]
	if final {
		ticks = scanTicks(p, now, latency)
		a.start, a.end, a.searched = 0, 0, 0
		i := bytes.LastIndex(p, seqKey)
		if i < 0 {
			return ticks, 0, errNoSeq
		}
		if seq, ok := extractUint(p[i:], seqKey); ok {
			return ticks, seq, nil
		}
		return ticks, 0, errNoSeq
	}
	from := max(0, a.searched-len(eventPrefix)+1) // only new bytes can complete a prefix
	cut := bytes.LastIndex(p[from:], eventPrefix)
	if cut >= 0 {
		cut += from
	}
	if cut <= 0 {
		if a.start > 0 || a.end < len(a.buf) {
			a.searched = len(p)
			return 0, 0, nil // room for the rest of the event under way
		}
		cut = len(p) - answerTail
	}
	ticks = scanTicks(p[:cut], now, latency)
	a.start += cut
	a.searched = len(p) - cut
	return ticks, 0, nil
}

// scanTicks counts the tick events in p, a run of whole events (with
// what precedes the first); with latency, it reads each one's ts.
func scanTicks(p []byte, now int64, latency func(int64)) uint64 {
	if latency == nil {
		return uint64(bytes.Count(p, tickPrefix))
	}
	var n uint64
	for {
		i := bytes.Index(p, tickPrefix)
		if i < 0 {
			return n
		}
		p = p[i+len(tickPrefix):]
		event := p
		if j := bytes.Index(p, eventPrefix); j >= 0 {
			event = p[:j]
		}
		n++
		if ts, ok := extractTS(event); ok {
			latency(now - ts)
		}
		p = p[len(event):]
	}
}
