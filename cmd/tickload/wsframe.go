package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// WebSocket opcodes (RFC 6455, 5.2) that tickload reads or sends.
const (
	wsText  = 0x1
	wsClose = 0x8
	wsPing  = 0x9
	wsPong  = 0xA
)

// Byte patterns of events as the WebSocket and a poll answer carry them:
// each is a JSON object with its type first.
var (
	eventPrefix   = []byte(`{"type":"`)
	tickPrefix    = []byte(`{"type":"tick",`)
	wsErrorPrefix = []byte(`{"type":"error"`)
	seqKey        = []byte(`"seq":`)
)

// wsPrefixLen is how much of a text frame a client reads before it passes
// over the rest: enough for a tick's type and seq.
const wsPrefixLen = 64

// wsCloseError is a close frame from the server.
type wsCloseError struct {
	code   int
	reason string
}

func (e *wsCloseError) Error() string {
	if e.reason == "" {
		return fmt.Sprintf("WebSocket closed by the server: %d", e.code)
	}
	return fmt.Sprintf("WebSocket closed by the server: %d %s", e.code, e.reason)
}

// parseClose reads a close frame's payload; no code is 1005 (RFC 6455, 7.1.5).
func parseClose(payload []byte) *wsCloseError {
	if len(payload) < 2 {
		return &wsCloseError{code: 1005}
	}
	reason := payload[2:]
	if len(reason) > 123 {
		reason = reason[:123]
	}
	return &wsCloseError{code: int(binary.BigEndian.Uint16(payload)), reason: string(reason)}
}

// frameHeader reads the header at the start of p: it reports ok false when
// p does not hold all of it yet.
func frameHeader(p []byte) (fin bool, op byte, hlen int, length uint64, ok bool, err error) {
	if len(p) < 2 {
		return false, 0, 0, 0, false, nil
	}
	fin, op = p[0]&0x80 != 0, p[0]&0x0F
	switch {
	case p[0]&0x70 != 0:
		return false, 0, 0, 0, false, errors.New("WebSocket frame with reserved bits set")
	case p[1]&0x80 != 0:
		return false, 0, 0, 0, false, errors.New("WebSocket frame masked by the server")
	}
	length, hlen = uint64(p[1]&0x7F), 2
	switch length {
	case 126:
		if len(p) < 4 {
			return false, 0, 0, 0, false, nil
		}
		length, hlen = uint64(binary.BigEndian.Uint16(p[2:])), 4
	case 127:
		if len(p) < 10 {
			return false, 0, 0, 0, false, nil
		}
		length, hlen = binary.BigEndian.Uint64(p[2:]), 10
		if length>>63 != 0 {
			return false, 0, 0, 0, false, errors.New("WebSocket frame length over 2^63")
		}
	}
	if op >= wsClose && (!fin || length > 125) {
		return false, 0, 0, 0, false, errors.New("WebSocket control frame fragmented or over 125 bytes")
	}
	return fin, op, hlen, length, true, nil
}

// frameReader follows the frames of one WebSocket connection, one read at
// a time, in the buffer it is given; a frame split across reads waits in
// the buffer for its rest. It looks only at the start of a text frame
// (the whole of it for a sampled client's ticks) and passes over the rest
// without copying, answers pings and stops at a close.
type frameReader struct {
	buf        []byte
	start, end int    // buf[start:end] is what has been read and not yet handled
	skip       uint64 // bytes of the current frame's payload still to pass over

	out   []byte        // frames to send, masked: pongs
	mask  func() uint32 // masking keys
	pings uint64        // pings answered

	lastSeq     uint64 // seq of the last tick
	serverError []byte // the last {"type":"error",...} message; empty when none came
}

// reset forgets what a connection left in the buffer; lastSeq is kept.
func (r *frameReader) reset() {
	r.start, r.end, r.skip = 0, 0, 0
	r.out = r.out[:0]
	r.serverError = r.serverError[:0]
}

// space returns the free part of the buffer, after what is not yet
// handled, for the next read.
func (r *frameReader) space() []byte {
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	return r.buf[r.end:]
}

// commit handles the first n bytes of space(), received at now (Unix
// nanoseconds). It returns the number of ticks whose frames began in
// them and calls latency, when not nil, with now − ts for each tick that a
// sampled client read whole. A close frame ends it with a *wsCloseError.
func (r *frameReader) commit(n int, now int64, sampled bool, latency func(int64)) (ticks uint64, err error) {
	r.end += n
	for {
		if r.skip > 0 {
			k := min(r.skip, uint64(r.end-r.start))
			r.start += int(k)
			r.skip -= k
			if r.skip > 0 {
				break
			}
		}
		p := r.buf[r.start:r.end]
		_, op, hlen, length, ok, err := frameHeader(p)
		if err != nil {
			return ticks, err
		}
		if !ok {
			break
		}
		avail := uint64(len(p) - hlen)
		need := length // control frames are read whole
		if op < wsClose {
			need = min(length, wsPrefixLen)
			if op == wsText && avail >= need && uint64(hlen)+length <= uint64(len(r.buf)) {
				start := p[hlen : hlen+int(need)]
				if sampled && bytes.HasPrefix(start, tickPrefix) || bytes.HasPrefix(start, wsErrorPrefix) {
					need = length
				}
			}
		}
		if avail < need {
			break
		}
		payload := p[hlen : hlen+int(need)]
		switch op {
		case wsText:
			switch {
			case bytes.HasPrefix(payload, tickPrefix):
				ticks++
				if seq, ok := extractUint(payload, seqKey); ok {
					r.lastSeq = seq
				}
				if latency != nil && need == length {
					if ts, ok := extractTS(payload); ok {
						latency(now - ts)
					}
				}
			case bytes.HasPrefix(payload, wsErrorPrefix):
				r.serverError = append(r.serverError[:0], payload...)
			}
		case wsPing:
			r.out = appendMasked(r.out, wsPong, payload, r.mask())
			r.pings++
		case wsClose:
			r.start += hlen + int(need)
			return ticks, parseClose(payload)
		}
		r.start += hlen + int(need)
		r.skip = length - need
	}
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	return ticks, nil
}

// appendMasked appends a final client frame of op with payload, masked
// with key as RFC 6455 requires of every frame a client sends.
func appendMasked(dst []byte, op byte, payload []byte, key uint32) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = binary.BigEndian.AppendUint16(append(dst, 0x80|126), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint64(append(dst, 0x80|127), uint64(n))
	}
	var mask [4]byte
	binary.BigEndian.PutUint32(mask[:], key)
	dst = append(dst, mask[:]...)
	for i, b := range payload {
		dst = append(dst, b^mask[i&3])
	}
	return dst
}

// extractUint returns the unsigned integer after the first key in data.
func extractUint(data, key []byte) (uint64, bool) {
	i := bytes.Index(data, key)
	if i < 0 {
		return 0, false
	}
	p := data[i+len(key):]
	j := 0
	for j < len(p) && '0' <= p[j] && p[j] <= '9' {
		j++
	}
	return parseSeq(p[:j])
}
