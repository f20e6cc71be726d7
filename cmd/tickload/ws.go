package main

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// wsGUID is the string a server appends to the key to prove it speaks
// WebSocket (RFC 6455, 1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// subscribeAll is the message that subscribes a WebSocket to every
// symbol.
var subscribeAll = []byte(`{"op":"subscribe","symbols":["*"]}`)

// wsSession is a client of a WebSocket endpoint: the handshake, written
// by hand, then the frames the server sends. A client whose target names
// no symbols subscribes to every symbol with a message; one whose target
// names them resumes after its last tick when it reconnects.
type wsSession struct {
	host, target string
	subscribe    bool // send subscribeAll after the handshake
	frames       frameReader
	key          [24]byte // Sec-WebSocket-Key of the current handshake
}

func newWSSession(host, target string, rng func() uint32) *wsSession {
	s := &wsSession{host: host, target: target, subscribe: !targetHasSymbols(target)}
	s.frames.mask = rng
	return s
}

// targetHasSymbols reports whether a request target's query has symbols.
func targetHasSymbols(target string) bool {
	_, query, _ := strings.Cut(target, "?")
	for p := range strings.SplitSeq(query, "&") {
		if name, _, _ := strings.Cut(p, "="); name == "symbols" {
			return true
		}
	}
	return false
}

func (s *wsSession) reset() { s.frames.reset() }

// open sends the handshake, checks the server's answer and waits for the
// first frame: a close there (over the stream limits: 1013) refuses the
// connection. Then it subscribes, when the target named no symbols.
func (s *wsSession) open(c *client, conn net.Conn, load *loadRun) (int, error) {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:8], c.rng.Uint64())
	binary.LittleEndian.PutUint64(key[8:], c.rng.Uint64())
	base64.StdEncoding.Encode(s.key[:], key[:])

	req := append(c.buf[:0], "GET "...)
	req = append(req, s.target...)
	if !s.subscribe && s.frames.lastSeq > 0 {
		if strings.Contains(s.target, "?") {
			req = append(req, '&')
		} else {
			req = append(req, '?')
		}
		req = append(req, "lastEventId="...)
		req = strconv.AppendUint(req, s.frames.lastSeq, 10)
	}
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, s.host...)
	req = append(req, "\r\nUser-Agent: tickload\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "...)
	req = append(req, s.key[:]...)
	req = append(req, "\r\n\r\n"...)
	if err := c.send(conn, req); err != nil {
		return 0, err
	}
	h, raw, err := c.readHead(conn, http.StatusSwitchingProtocols)
	if err != nil {
		return 0, err
	}
	if err := checkAccept(&h, s.key[:]); err != nil {
		return 0, err
	}
	if raw, err = s.firstFrame(c, conn, raw); err != nil {
		return 0, err
	}
	if s.subscribe {
		s.frames.out = appendMasked(s.frames.out[:0], wsText, subscribeAll, s.frames.mask())
		_, err := conn.Write(s.frames.out)
		s.frames.out = s.frames.out[:0]
		if err != nil {
			return 0, fmt.Errorf("subscribe: %w", err)
		}
	}
	return raw, nil
}

// checkAccept checks a 101 answer to the handshake with key.
func checkAccept(h *responseHead, key []byte) error {
	if !h.upgrade {
		return errors.New("101 answer without Upgrade: websocket and Connection: Upgrade")
	}
	sum := sha1.Sum(append(key[:len(key):len(key)], wsGUID...))
	var want [28]byte
	base64.StdEncoding.Encode(want[:], sum[:])
	if h.acceptLen != len(want) || h.accept != want {
		return fmt.Errorf("Sec-WebSocket-Accept %q does not answer the key", h.accept[:min(h.acceptLen, len(h.accept))])
	}
	return nil
}

// firstFrame reads until c.buf[:raw] holds the first frame's header (and
// all of it when it is a close, which it returns as the error).
func (s *wsSession) firstFrame(c *client, conn net.Conn, raw int) (int, error) {
	for {
		_, op, hlen, length, ok, err := frameHeader(c.buf[:raw])
		if err != nil {
			return 0, err
		}
		if ok && op != wsClose {
			return raw, nil
		}
		if ok && raw >= hlen+int(length) {
			return 0, fmt.Errorf("refused: %w", parseClose(c.buf[hlen:hlen+int(length)]))
		}
		n, err := conn.Read(c.buf[raw:])
		raw += n
		if err != nil && n == 0 {
			return 0, fmt.Errorf("read the first frame: %w", err)
		}
	}
}

// serve reads frames until the connection ends, answering pings. The
// first bytes are at c.buf[:raw]. Counting clients pause -read-every
// between reads, as over SSE.
func (s *wsSession) serve(_ context.Context, c *client, conn net.Conn, raw int, load *loadRun) error {
	s.frames.buf = c.buf
	s.frames.reset()
	for {
		space := s.frames.space()
		n, err := raw, error(nil)
		if raw == 0 {
			n, err = conn.Read(space)
		}
		raw = 0
		var now int64
		if c.sampled && n > 0 {
			now = time.Now().UnixNano()
		}
		ticks, ferr := s.frames.commit(n, now, c.sampled, load.latencyRecorder())
		if ticks > 0 {
			c.received(ticks, s.frames.lastSeq)
		}
		if len(s.frames.out) > 0 {
			load.pongs.Add(s.frames.pings)
			s.frames.pings = 0
			_, werr := conn.Write(s.frames.out)
			s.frames.out = s.frames.out[:0]
			if werr != nil && err == nil {
				err = fmt.Errorf("answer a ping: %w", werr)
			}
		}
		if len(s.frames.serverError) > 0 {
			load.noteError(fmt.Errorf("server: %s", s.frames.serverError))
			s.frames.serverError = s.frames.serverError[:0]
		}
		if ferr != nil {
			return ferr
		}
		if err != nil {
			return err
		}
		load.pace(c)
	}
}
