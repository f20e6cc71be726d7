package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxBackoffFactor caps the reconnect delay at this multiple of -backoff.
const maxBackoffFactor = 10

// client is one subscriber, connected over the transport of its session
// and re-connected after every disconnect. Its goroutine owns everything
// but the counters, which the load samples.
type client struct {
	target  string // request target: the URL's path and query, with the client's symbols
	sampled bool   // parse every event and record latency
	stalled bool   // connect, then never read
	source  net.IP // the local address it dials from; nil: the kernel's choice
	buf     []byte
	rng     *rand.Rand
	session session

	delivered atomic.Uint64 // tick events received, all connections
	// A sampled client's count of ticks and the seq (event id) of the
	// last event it dispatched change together under mu, so that a sample
	// of the load never holds one without the other: the share of the id
	// span a client got is exact at both edges of the window.
	mu      sync.Mutex
	lastSeq uint64

	requests atomic.Uint64 // HTTP requests sent: stream requests, handshakes, polls
	bytesIn  atomic.Uint64 // bytes read from the connection: response heads, framing, bodies
	bytesOut atomic.Uint64 // bytes written to it: requests, WebSocket frames
}

// received counts ticks delivered and, for a sampled client, lastSeq,
// the seq of the last event it dispatched (0: unchanged).
func (c *client) received(ticks, lastSeq uint64) {
	if !c.sampled {
		c.delivered.Add(ticks)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivered.Add(ticks)
	if lastSeq != 0 {
		c.lastSeq = lastSeq
	}
}

// progress returns the ticks delivered so far and, for a sampled client,
// the seq of the last event it dispatched, as of one instant.
func (c *client) progress() (delivered, lastSeq uint64) {
	if !c.sampled {
		return c.delivered.Load(), 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.delivered.Load(), c.lastSeq
}

// session is what a client does over one transport. Its state lives
// across reconnects, so a client resumes where it was.
type session interface {
	// open sends the first request on a new connection and reads the
	// answer, within the connect timeout. The first bytes that came after
	// it are left at c.buf[:raw].
	open(c *client, conn net.Conn, load *loadRun) (raw int, err error)
	// serve reads (and for a poll, asks again) until the connection ends.
	serve(ctx context.Context, c *client, conn net.Conn, raw int, load *loadRun) error
	// reset forgets what was under way on a connection that ended.
	reset()
}

// statusError is an answer that refuses the request: a status other than
// the transport's success, or a WebSocket closed before it was attached.
type statusError struct {
	status     string
	retryAfter time.Duration
}

func (e *statusError) Error() string { return "HTTP " + e.status }

// meteredConn counts the bytes a client reads and writes.
type meteredConn struct {
	net.Conn
	c *client
}

func (m meteredConn) Read(p []byte) (int, error) {
	n, err := m.Conn.Read(p)
	if n > 0 {
		m.c.bytesIn.Add(uint64(n))
	}
	return n, err
}

func (m meteredConn) Write(p []byte) (int, error) {
	n, err := m.Conn.Write(p)
	if n > 0 {
		m.c.bytesOut.Add(uint64(n))
	}
	return n, err
}

// run connects and reads until ctx is done, reconnecting with backoff.
// It calls load.attempted once, after its first connection attempt.
func (c *client) run(ctx context.Context, load *loadRun) {
	first := true
	delay := load.cfg.backoff
	for {
		conn, raw, err := c.connect(ctx, load)
		if err == nil {
			// Counted before attempted, so that once every client has
			// attempted, every one that connected is counted.
			load.connected.Add(1)
		}
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

		stop := context.AfterFunc(ctx, func() { conn.Close() })
		if c.stalled {
			<-ctx.Done()
		} else {
			err = c.session.serve(ctx, c, conn, raw, load)
		}
		stop()
		conn.Close()
		load.connected.Add(-1)
		if ctx.Err() != nil {
			return
		}
		load.disconnects.Add(1)
		load.noteError(fmt.Errorf("disconnect: %w", err))
		c.session.reset()
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

// connect dials and opens the session, within the connect timeout.
func (c *client) connect(ctx context.Context, load *loadRun) (_ net.Conn, raw int, err error) {
	cfg := load.cfg
	d := net.Dialer{Timeout: cfg.connectTimeout}
	if c.source != nil {
		d.LocalAddr = &net.TCPAddr{IP: c.source}
	}
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
	tcp, err := d.DialContext(ctx, "tcp", cfg.addr)
	if err != nil {
		return nil, 0, fmt.Errorf("connect: %w", err)
	}
	conn := meteredConn{Conn: tcp, c: c}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetDeadline(time.Now().Add(cfg.connectTimeout)); err != nil {
		return nil, 0, fmt.Errorf("connect: %w", err)
	}
	if raw, err = c.session.open(c, conn, load); err != nil {
		return nil, 0, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, 0, fmt.Errorf("connect: %w", err)
	}
	return conn, raw, nil
}

// send writes a request and counts it.
func (c *client) send(conn net.Conn, req []byte) error {
	c.requests.Add(1)
	if _, err := conn.Write(req); err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	return nil
}

// readHead reads a response head into c.buf and parses it, expecting
// status want. It moves the bytes read after the head to c.buf[:raw].
func (c *client) readHead(conn net.Conn, want int) (h responseHead, raw int, err error) {
	n, end := 0, -1
	for end < 0 {
		if n == len(c.buf) {
			return h, 0, fmt.Errorf("response headers longer than %d bytes", len(c.buf))
		}
		m, err := conn.Read(c.buf[n:])
		n += m
		end = bytes.Index(c.buf[:n], []byte("\r\n\r\n"))
		if end < 0 && err != nil {
			return h, 0, fmt.Errorf("read response headers: %w", err)
		}
	}
	if h, err = parseHead(c.buf[:end+2], want); err != nil {
		return h, 0, err
	}
	return h, copy(c.buf, c.buf[end+4:n]), nil
}

// responseHead is what tickload needs of a response head. It holds no
// slice of the bytes it was parsed from.
type responseHead struct {
	code          int
	status        string // "503 Service Unavailable", when code is not the one expected
	contentType   contentType
	contentLength int64 // -1: none given
	chunked       bool
	close         bool // Connection: close
	upgrade       bool // Connection: upgrade and Upgrade: websocket
	accept        [28]byte
	acceptLen     int // bytes of Sec-WebSocket-Accept; more than 28 keeps none
	retryAfter    time.Duration
}

// contentType is the kind of body a response announces.
type contentType uint8

const (
	typeOther contentType = iota
	typeEventStream
	typeJSON
)

// parseHead reads a response head (status line and header lines, each
// ending in CRLF) that should have status want.
func parseHead(head []byte, want int) (responseHead, error) {
	h := responseHead{contentLength: -1}
	status, rest, _ := bytes.Cut(head, []byte("\r\n"))
	proto, status, _ := bytes.Cut(status, []byte(" "))
	if !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(status) < 3 {
		return h, fmt.Errorf("bad status line %q", head[:min(len(head), 80)])
	}
	code, ok := parseSeq(status[:3])
	if !ok {
		return h, fmt.Errorf("bad status line %q", head[:min(len(head), 80)])
	}
	h.code = int(code)
	if h.code != want {
		h.status = string(status)
	}
	var upgrade, connUpgrade bool
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
			mediaType, _, _ := bytes.Cut(value, []byte(";"))
			switch mediaType = bytes.TrimSpace(mediaType); {
			case bytes.EqualFold(mediaType, []byte("text/event-stream")):
				h.contentType = typeEventStream
			case bytes.EqualFold(mediaType, []byte("application/json")):
				h.contentType = typeJSON
			}
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseSeq(value)
			if !ok {
				return h, fmt.Errorf("bad Content-Length %q", value)
			}
			h.contentLength = int64(n)
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			for token := range bytes.SplitSeq(value, []byte(",")) {
				token = bytes.TrimSpace(token)
				h.close = h.close || bytes.EqualFold(token, []byte("close"))
				connUpgrade = connUpgrade || bytes.EqualFold(token, []byte("upgrade"))
			}
		case bytes.EqualFold(name, []byte("Upgrade")):
			upgrade = bytes.EqualFold(value, []byte("websocket"))
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Accept")):
			h.acceptLen = len(value)
			copy(h.accept[:], value)
		case bytes.EqualFold(name, []byte("Retry-After")):
			if s, ok := parseSeq(value); ok {
				h.retryAfter = time.Duration(s) * time.Second
			}
		}
	}
	h.upgrade = upgrade && connUpgrade
	if h.code != want {
		return h, &statusError{status: h.status, retryAfter: h.retryAfter}
	}
	return h, nil
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
