package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// sseSession is a client of an SSE endpoint: one GET whose body is the
// event stream, resumed with Last-Event-ID after a disconnect.
type sseSession struct {
	request []byte // GET request line and headers, without Last-Event-ID and the final CRLF
	scanner eventScanner
	chunked bool // the body of the current connection is chunked
}

func newSSESession(host, target string) *sseSession {
	return &sseSession{request: fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tickload\r\n"+
		"Accept: text/event-stream\r\nCache-Control: no-cache\r\n", target, host)}
}

func (s *sseSession) reset() { s.scanner.reset() }

// open sends the GET and reads the response headers.
func (s *sseSession) open(c *client, conn net.Conn, _ *loadRun) (int, error) {
	req := append(c.buf[:0], s.request...)
	if id := s.scanner.lastID.Bytes(); len(id) > 0 {
		req = append(req, "Last-Event-ID: "...)
		req = append(req, id...)
		req = append(req, "\r\n"...)
	}
	req = append(req, "\r\n"...)
	if err := c.send(conn, req); err != nil {
		return 0, err
	}
	h, raw, err := c.readHead(conn, http.StatusOK)
	if err != nil {
		return 0, err
	}
	if h.contentType != typeEventStream {
		return 0, errors.New("content type is not text/event-stream")
	}
	s.chunked = h.chunked
	return raw, nil
}

// serve consumes the event stream until the connection ends. The first
// raw body bytes are at c.buf[:raw]. Counting clients pause -read-every
// between reads; sampled clients read as soon as data arrives, so their
// receive times are the latency.
func (s *sseSession) serve(_ context.Context, c *client, conn net.Conn, raw int, load *loadRun) error {
	lb := lineBuffer{buf: c.buf}
	var dc dechunker
	for {
		space := lb.space()
		n, err := raw, error(nil)
		if raw == 0 {
			n, err = conn.Read(space)
		}
		raw = 0
		var now int64
		if c.sampled && n > 0 {
			now = time.Now().UnixNano()
		}
		if s.chunked && n > 0 {
			var derr error
			if n, derr = dc.decode(space[:n]); derr != nil {
				err = derr
			}
		}
		if lines := lb.commit(n); lines != nil {
			if c.sampled {
				ticks := s.scanner.parseEvents(lines, now, load.latencyRecorder())
				id, _ := parseSeq(s.scanner.lastID.Bytes())
				c.received(ticks, id)
			} else if ticks := s.scanner.countTicks(lines); ticks > 0 {
				c.received(ticks, 0)
			}
		}
		if err != nil {
			if errors.Is(err, errBodyEnd) {
				return io.EOF
			}
			return err
		}
		load.pace(c)
	}
}
