package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// maxBackoffFactor caps the reconnect delay at this multiple of -backoff.
const maxBackoffFactor = 10

// client is one SSE connection, re-established after every disconnect.
// Its goroutine owns everything but delivered.
type client struct {
	request   []byte // GET request line and headers, without Last-Event-ID and the final CRLF
	sampled   bool   // parse every event and record latency
	stalled   bool   // connect, then never read
	buf       []byte
	scanner   eventScanner
	rng       *rand.Rand
	delivered atomic.Uint64 // tick events received, all connections
	lastSeq   atomic.Uint64 // sampled clients: id of the last event dispatched
}

// statusError is a response other than 200 text/event-stream.
type statusError struct {
	status     string
	retryAfter time.Duration
}

func (e *statusError) Error() string { return "HTTP " + e.status }

// run connects and reads until ctx is done, reconnecting with backoff.
// It calls load.attempted once, after its first connection attempt.
func (c *client) run(ctx context.Context, load *loadRun) {
	first := true
	delay := load.cfg.backoff
	for {
		conn, raw, chunked, err := c.connect(ctx, load.cfg)
		if first {
			first = false
			load.attempted()
		} else if err == nil {
			load.reconnects.Add(1)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			load.connectFailures.Add(1)
			load.noteError(err)
			wait := delay
			if se := (*statusError)(nil); errors.As(err, &se) {
				wait = max(wait, se.retryAfter)
			}
			if !c.pause(ctx, wait) {
				return
			}
			delay = min(2*delay, maxBackoffFactor*load.cfg.backoff)
			continue
		}
		delay = load.cfg.backoff

		load.connected.Add(1)
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		if c.stalled {
			<-ctx.Done()
		} else {
			err = c.read(conn, raw, chunked, load)
		}
		stop()
		conn.Close()
		load.connected.Add(-1)
		if ctx.Err() != nil {
			return
		}
		load.disconnects.Add(1)
		load.noteError(fmt.Errorf("disconnect: %w", err))
		c.scanner.reset()
		if !c.pause(ctx, delay) {
			return
		}
	}
}

// pause waits d ±50% (jitter spreads reconnects out); it reports false if
// ctx ended first.
func (c *client) pause(ctx context.Context, d time.Duration) bool {
	d = d/2 + time.Duration(c.rng.Int64N(int64(d)+1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connect dials, sends the GET and reads the response headers. The first
// raw body bytes that came with the headers are left at c.buf[:raw].
func (c *client) connect(ctx context.Context, cfg *config) (_ net.Conn, raw int, chunked bool, err error) {
	d := net.Dialer{Timeout: cfg.connectTimeout}
	if c.stalled && cfg.stallRcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, cfg.stallRcvBuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	conn, err := d.DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, 0, false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(cfg.connectTimeout)); err != nil {
		return nil, 0, false, fmt.Errorf("connect: %w", err)
	}

	req := append(c.buf[:0], c.request...)
	if id := c.scanner.lastID.Bytes(); len(id) > 0 {
		req = append(req, "Last-Event-ID: "...)
		req = append(req, id...)
		req = append(req, "\r\n"...)
	}
	req = append(req, "\r\n"...)
	if _, err := conn.Write(req); err != nil {
		return nil, 0, false, fmt.Errorf("send request: %w", err)
	}

	n, end := 0, -1
	for end < 0 {
		if n == len(c.buf) {
			return nil, 0, false, fmt.Errorf("response headers longer than %d bytes", len(c.buf))
		}
		m, err := conn.Read(c.buf[n:])
		n += m
		end = bytes.Index(c.buf[:n], []byte("\r\n\r\n"))
		if end < 0 && err != nil {
			return nil, 0, false, fmt.Errorf("read response headers: %w", err)
		}
	}
	if chunked, err = checkResponse(c.buf[:end+2]); err != nil {
		return nil, 0, false, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, 0, false, fmt.Errorf("connect: %w", err)
	}
	raw = copy(c.buf, c.buf[end+4:n])
	return conn, raw, chunked, nil
}

// checkResponse checks a response head (status line and header lines, each
// ending in CRLF) for 200 text/event-stream and reports whether the body is
// chunked.
func checkResponse(head []byte) (chunked bool, err error) {
	status, rest, _ := bytes.Cut(head, []byte("\r\n"))
	proto, status, _ := bytes.Cut(status, []byte(" "))
	if !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(status) < 3 {
		return false, fmt.Errorf("bad status line %q", head[:min(len(head), 80)])
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil {
		return false, fmt.Errorf("bad status line %q", head[:min(len(head), 80)])
	}
	var contentType []byte
	var retryAfter time.Duration
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Type")):
			contentType = value
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Retry-After")):
			if s, err := strconv.Atoi(string(value)); err == nil && s >= 0 {
				retryAfter = time.Duration(s) * time.Second
			}
		}
	}
	if code != 200 {
		return false, &statusError{status: string(status), retryAfter: retryAfter}
	}
	if !bytes.HasPrefix(bytes.ToLower(contentType), []byte("text/event-stream")) {
		return false, fmt.Errorf("content type %q, want text/event-stream", contentType)
	}
	return chunked, nil
}

// read consumes the event stream until the connection ends. The first
// raw body bytes are at c.buf[:raw]. Counting clients pause -read-every
// between reads; sampled clients read as soon as data arrives, so their
// receive times are the latency.
func (c *client) read(conn net.Conn, raw int, chunked bool, load *loadRun) error {
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
		if chunked && n > 0 {
			var derr error
			if n, derr = dc.decode(space[:n]); derr != nil {
				err = derr
			}
		}
		if lines := lb.commit(n); lines != nil {
			var ticks uint64
			if c.sampled {
				var rec func(int64)
				if load.measuring.Load() {
					rec = load.latency.Record
				}
				ticks = c.scanner.parseEvents(lines, now, rec)
				if id, ok := parseSeq(c.scanner.lastID.Bytes()); ok {
					c.lastSeq.Store(id)
				}
			} else {
				ticks = c.scanner.countTicks(lines)
			}
			if ticks > 0 {
				c.delivered.Add(ticks)
			}
		}
		if err != nil {
			if errors.Is(err, errBodyEnd) {
				return io.EOF
			}
			return err
		}
		if pace := load.cfg.readEvery; pace > 0 && !c.sampled {
			time.Sleep(pace) // let events gather in the socket buffer: fewer, larger reads
		}
	}
}

// parseSeq reads a decimal event id.
func parseSeq(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + uint64(d-'0')
	}
	return n, true
}
