package main

import "bytes"

// Byte patterns the scanners look for. Lines end in LF, as tickerd and
// r3labs/sse write them.
var (
	tickLine  = []byte("\nevent: tick\n")
	idLine    = []byte("\nid:")
	blankLine = []byte("\n\n")
	tsKey     = []byte(`"ts":`)
)

// maxIDLen is the longest event id a client remembers for Last-Event-ID;
// longer ids are truncated.
const maxIDLen = 64

// eventID is an event id held without allocating.
type eventID struct {
	n int
	b [maxIDLen]byte
}

func (id *eventID) set(v []byte) { id.n = copy(id.b[:], v) }

// Bytes returns the id; empty when no event carried one.
func (id *eventID) Bytes() []byte { return id.b[:id.n] }

// eventScanner follows the events of one SSE connection. It is fed only
// complete lines, in order, and keeps across calls the state of the event
// still in progress, so any split of the stream into reads gives the same
// counts. Its two methods are two ways to read the same stream:
// countTicks scans bytes and never looks at a line on its own;
// parseEvents reads line by line and also extracts each tick's ts.
// A tick is an event whose "event: tick" line is followed by the blank
// line that dispatches it.
type eventScanner struct {
	// countTicks state
	pendingTick bool // the event in progress has an "event: tick" line

	// parseEvents state
	isTick bool  // the event in progress has an "event: tick" line
	hasTS  bool  // the event in progress has a data line with a ts
	ts     int64 // that ts, Unix nanoseconds

	pendingID eventID // id of the last "id:" line seen
	lastID    eventID // id of the last dispatched event: the Last-Event-ID
}

// reset forgets the event in progress, as a reconnect does; the last
// dispatched id is kept.
func (s *eventScanner) reset() {
	s.pendingTick, s.isTick, s.hasTS, s.ts = false, false, false, 0
	s.pendingID = s.lastID
}

// countTicks returns the number of tick events that complete in lines,
// which must be a run of whole lines starting at a line boundary.
func (s *eventScanner) countTicks(lines []byte) uint64 {
	split := dispatchEnd(lines)
	if split < 0 {
		s.pendingTick = s.pendingTick || countTickLines(lines) > 0
		s.notePendingID(lines)
		return 0
	}
	head, tail := lines[:split], lines[split:]
	n := uint64(countTickLines(head))
	if s.pendingTick {
		n++
	}
	s.notePendingID(head)
	s.lastID = s.pendingID
	s.pendingTick = countTickLines(tail) > 0
	s.notePendingID(tail)
	return n
}

// dispatchEnd returns the offset just past the last blank line in lines,
// or -1 when lines holds none.
func dispatchEnd(lines []byte) int {
	if i := bytes.LastIndex(lines, blankLine); i >= 0 {
		return i + len(blankLine)
	}
	if len(lines) > 0 && lines[0] == '\n' {
		return 1
	}
	return -1
}

// countTickLines counts the "event: tick" lines in lines.
func countTickLines(lines []byte) int {
	n := bytes.Count(lines, tickLine)
	if bytes.HasPrefix(lines, tickLine[1:]) {
		n++
	}
	return n
}

// notePendingID records the value of the last id line in lines, if any.
func (s *eventScanner) notePendingID(lines []byte) {
	start := bytes.LastIndex(lines, idLine)
	switch {
	case start >= 0:
		start++
	case bytes.HasPrefix(lines, idLine[1:]):
		start = 0
	default:
		return
	}
	line := lines[start:]
	if end := bytes.IndexByte(line, '\n'); end >= 0 {
		line = line[:end]
	}
	s.pendingID.set(fieldValue(line, len(idLine)-1))
}

// fieldValue returns the value of a field line whose name and colon take
// the first n bytes, without the single optional leading space.
func fieldValue(line []byte, n int) []byte {
	v := line[n:]
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return v
}

// parseEvents reads the events in lines, which must be a run of whole
// lines starting at a line boundary, received at now (Unix nanoseconds).
// It returns the number of tick events that complete in lines and calls
// latency, when non-nil, with now − ts for each of them that carries a ts.
func (s *eventScanner) parseEvents(lines []byte, now int64, latency func(int64)) uint64 {
	var n uint64
	for len(lines) > 0 {
		end := bytes.IndexByte(lines, '\n')
		if end < 0 {
			end = len(lines)
		}
		line := lines[:end]
		lines = lines[min(end+1, len(lines)):]
		switch {
		case len(line) == 0:
			s.lastID = s.pendingID
			if s.isTick {
				n++
				if s.hasTS && latency != nil {
					latency(now - s.ts)
				}
			}
			s.isTick, s.hasTS = false, false
		case bytes.HasPrefix(line, []byte("event:")):
			s.isTick = string(fieldValue(line, len("event:"))) == "tick"
		case bytes.HasPrefix(line, []byte("data:")):
			if ts, ok := extractTS(line); ok {
				s.ts, s.hasTS = ts, true
			}
		case bytes.HasPrefix(line, []byte("id:")):
			s.pendingID.set(fieldValue(line, len("id:")))
		}
	}
	return n
}

// extractTS returns the integer after the last "ts": key in a tick's JSON.
func extractTS(data []byte) (int64, bool) {
	i := bytes.LastIndex(data, tsKey)
	if i < 0 {
		return 0, false
	}
	p := data[i+len(tsKey):]
	for len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	var v int64
	digits := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			break
		}
		if v > (1<<63-1-int64(c-'0'))/10 {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		digits++
	}
	return v, digits > 0
}
