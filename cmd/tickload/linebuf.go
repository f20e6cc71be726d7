package main

import "bytes"

// lineBuffer holds the bytes of one connection between reads and hands
// out only whole lines, so a line split across reads is seen once, whole.
// A line longer than the buffer is dropped (tick events are far shorter).
type lineBuffer struct {
	buf        []byte
	start, end int  // buf[start:end] is the partial line after the last whole one
	skipping   bool // inside a line longer than the buffer
}

// space returns the free part of the buffer, after the partial line, for
// the next read. It invalidates the lines returned by commit.
func (b *lineBuffer) space() []byte {
	if b.start > 0 {
		b.end = copy(b.buf, b.buf[b.start:b.end])
		b.start = 0
	}
	return b.buf[b.end:]
}

// commit adds the first n bytes of space() and returns the whole lines now
// buffered, each ending in '\n', or nil if there are none. The lines stay
// valid until the next call to space.
func (b *lineBuffer) commit(n int) []byte {
	b.end += n
	if b.skipping {
		i := bytes.IndexByte(b.buf[b.start:b.end], '\n')
		if i < 0 {
			b.start, b.end = 0, 0
			return nil
		}
		b.start += i + 1
		b.skipping = false
	}
	nl := bytes.LastIndexByte(b.buf[b.start:b.end], '\n')
	if nl < 0 {
		if b.start == 0 && b.end == len(b.buf) {
			b.start, b.end, b.skipping = 0, 0, true
		}
		return nil
	}
	lines := b.buf[b.start : b.start+nl+1]
	b.start += nl + 1
	if b.start == b.end {
		b.start, b.end = 0, 0
	}
	return lines
}
