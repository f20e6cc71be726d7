package stream

import (
	"net"
	"time"
)

// client is one stream's delivery state. After attach it belongs to exactly
// one writer goroutine, which alone reads and changes it; an idle client
// holds no buffer and no goroutine of its own.
type client struct {
	conn    net.Conn
	sock    socket
	framing int        // index of its framing in Config.Framings
	sub     *SymbolSet // nil: every symbol
	until   int64      // Unix nanoseconds when its credentials expire; 0: never
	onClose func()     // the sink's, called once the stream has ended; may be nil

	writer   int         // index of the writer that owns it; set by Run when it joins
	departID uint64      // its key in the hub's departures; 0: not watched
	held     bool        // waiting in Hub.waiting; guarded by the hub lock
	closing  CloseReason // its transport asked to end it once its backlog is written
	ended    bool        // its writer has closed it

	throttle *throttle // nil: every tick as it comes

	// backlog holds bytes the socket has not accepted yet; sent of them are
	// written. Tick events in it are counted as delivered once it drains.
	backlog      []byte
	sent         int
	limit        int   // backlog size past which delivery is conflated
	queuedEvents int   // tick events in backlog
	queuedTS     int64 // creation time of the oldest of them

	// conflating: the backlog is over its limit, so instead of queueing,
	// the latest undelivered event of each symbol is kept; replaced counts
	// the ticks that never went out.
	conflating bool
	latest     *latestEvents
	replaced   int

	lastWrite    time.Time // last time the socket accepted bytes
	lastProgress time.Time // same, or when the backlog was last empty
}

// newClient returns the delivery state of a stream on sink, whose TCP
// socket it gives a send buffer of sendBuffer bytes (0: the kernel's).
func newClient(sink Sink, framing int, sub *SymbolSet, now time.Time, sendBuffer int) *client {
	if sendBuffer > 0 {
		if tc, ok := sink.Conn.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(sendBuffer) // a socket that refuses keeps the kernel's
		}
	}
	return &client{
		conn: sink.Conn, sock: newSocket(sink.Conn), framing: framing, sub: sub, onClose: sink.OnClose,
		lastWrite: now, lastProgress: now,
	}
}

// abort makes the coming close of c's TCP connection abortive (SO_LINGER
// 0): the kernel drops what it still holds for the client and sends a
// reset, so a client that stopped reading does not keep the memory of its
// unsent bytes in an orphaned socket after its stream has ended.
func (c *client) abort() {
	if tc, ok := c.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// pending is the number of bytes waiting to be written.
func (c *client) pending() int { return len(c.backlog) - c.sent }

// queue appends b, carrying events tick events, to the backlog. The first
// queue call sets the limit: what it queued plus queueBytes.
func (c *client) queue(b []byte, events int, queueBytes int) {
	if c.backlog == nil {
		c.limit = len(b) + queueBytes
	}
	c.backlog = append(c.backlog, b...)
	c.queuedEvents += events
}

// written records that the socket accepted n bytes of the backlog and
// reports whether the backlog is now empty.
func (c *client) written(n int, now time.Time) bool {
	if n > 0 {
		c.lastWrite, c.lastProgress = now, now
	}
	c.sent += n
	if c.sent < len(c.backlog) {
		return false
	}
	c.backlog, c.sent = nil, 0
	c.limit = 0
	return true
}
