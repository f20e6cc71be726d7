package main

import (
	"errors"
	"fmt"
)

// errBodyEnd reports that a chunked body ended with its last chunk.
var errBodyEnd = errors.New("response body ended")

// dechunker decodes an HTTP/1.1 chunked body in place, one read at a time;
// a chunk header or trailer split across reads is carried in its state.
type dechunker struct {
	state  chunkState
	size   int64 // chunk size being parsed, then bytes of chunk data left
	digits int
}

type chunkState uint8

const (
	chunkSize      chunkState = iota // hex digits of a chunk size
	chunkExt                         // chunk extension, up to CRLF
	chunkSizeLF                      // LF after a chunk size line
	chunkData                        // chunk data
	chunkDataCR                      // CR after chunk data
	chunkDataLF                      // LF after chunk data
	chunkTrailer                     // trailer lines after the last chunk
	chunkTrailerLF                   // LF ending a trailer line
	chunkDone                        // the body has ended
)

// maxChunkSize bounds a chunk size so its parse cannot overflow.
const maxChunkSize = 1 << 40

// decode replaces p's framing with the chunk data it carries, moved to the
// front of p, and returns the data's length. It returns errBodyEnd after
// the last chunk, with the data before it.
func (d *dechunker) decode(p []byte) (int, error) {
	m := 0
	for i := 0; i < len(p); {
		c := p[i]
		switch d.state {
		case chunkSize:
			v, ok := hexDigit(c)
			switch {
			case ok:
				d.size = d.size<<4 | int64(v)
				d.digits++
				if d.size > maxChunkSize {
					return m, fmt.Errorf("chunk size over %d bytes", int64(maxChunkSize))
				}
			case d.digits == 0:
				return m, fmt.Errorf("bad chunk size byte %q", c)
			case c == ';' || c == ' ' || c == '\t':
				d.state = chunkExt
			case c == '\r':
				d.state = chunkSizeLF
			case c == '\n':
				d.endSizeLine()
			default:
				return m, fmt.Errorf("bad chunk size byte %q", c)
			}
			i++
		case chunkExt:
			switch c {
			case '\r':
				d.state = chunkSizeLF
			case '\n':
				d.endSizeLine()
			}
			i++
		case chunkSizeLF:
			if c != '\n' {
				return m, fmt.Errorf("bad chunk size line ending %q", c)
			}
			d.endSizeLine()
			i++
		case chunkData:
			k := int(min(d.size, int64(len(p)-i)))
			m += copy(p[m:], p[i:i+k])
			i += k
			d.size -= int64(k)
			if d.size == 0 {
				d.state = chunkDataCR
			}
		case chunkDataCR:
			switch c {
			case '\r':
				d.state = chunkDataLF
			case '\n':
				d.state = chunkSize
			default:
				return m, fmt.Errorf("chunk data not followed by CRLF")
			}
			i++
		case chunkDataLF:
			if c != '\n' {
				return m, fmt.Errorf("chunk data not followed by CRLF")
			}
			d.state = chunkSize
			i++
		case chunkTrailer:
			switch c {
			case '\r':
				d.state = chunkTrailerLF
			case '\n':
				if d.digits == 0 {
					d.state = chunkDone
					return m, errBodyEnd
				}
				d.digits = 0
			default:
				d.digits++ // length of the trailer line so far
			}
			i++
		case chunkTrailerLF:
			if c != '\n' {
				return m, fmt.Errorf("bad trailer line ending %q", c)
			}
			if d.digits == 0 {
				d.state = chunkDone
				return m, errBodyEnd
			}
			d.digits = 0
			d.state = chunkTrailer
			i++
		case chunkDone:
			return m, errBodyEnd
		}
	}
	if d.state == chunkDone {
		return m, errBodyEnd
	}
	return m, nil
}

func (d *dechunker) endSizeLine() {
	if d.size == 0 {
		d.state, d.digits = chunkTrailer, 0
		return
	}
	d.state, d.digits = chunkData, 0
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
