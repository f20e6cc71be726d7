package stream

import (
	"net"
	"time"
	"unsafe"
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

	// backlog holds what the socket has not accepted yet, oldest first:
	// slices of the batches' shared buffers and the replay ring, never
	// copies, so a stream that falls behind holds a slice header per batch
	// rather than the batch's bytes. sent bytes of backlog[0] are written;
	// queued is the unwritten total. Tick events in it are counted as
	// delivered once it drains.
	backlog      [][]byte
	sent         int
	queued       int
	limit        int   // unwritten bytes past which delivery is conflated
	queuedEvents int   // tick events in backlog
	queuedTS     int64 // creation time of the oldest of them

	// conflating: the backlog is over its limit, so instead of queueing,
	// the latest undelivered event of each symbol is kept; replaced counts
	// the ticks that never went out.
	conflating bool
	latest     *latestEvents
	replaced   int
	heldMarket []event           // the latest status, bands and bar events while conflating
	heldIndex  map[marketKey]int // their places in heldMarket

	bars     BarSet // the bar intervals it receives
	greeting []byte // the sink's, queued after the stream's start (see Sink.Greeting)

	lastWrite    time.Time // last time the socket accepted bytes
	lastProgress time.Time // same, or when the backlog was last empty

	// sendBuffer is the send buffer asked of its TCP socket (0: the
	// kernel's own, left alone). Since measuredSince the stream was given
	// offered bytes of the batches, and its socket took taken bytes;
	// delivered is the rate it delivered at in the measure before. The
	// buffer grows from them (see fitSendBuffer).
	sendBuffer    int
	offered       int
	taken         int
	measuredSince time.Time
	delivered     float64 // bytes a second
}

// newClient returns the delivery state of a stream on sink, whose TCP
// socket it gives a send buffer of sendBuffer bytes (0: the kernel's).
func newClient(sink Sink, framing int, sub *SymbolSet, now time.Time, sendBuffer int) *client {
	c := &client{
		conn: sink.Conn, sock: newSocket(sink.Conn), framing: framing, sub: sub, onClose: sink.OnClose,
		lastWrite: now, lastProgress: now, measuredSince: now,
	}
	c.setSendBuffer(sendBuffer)
	return c
}

// setSendBuffer asks the kernel for a send buffer of n bytes on c's TCP
// socket; n 0, or a connection that is not TCP, leaves the kernel's.
func (c *client) setSendBuffer(n int) {
	if n <= 0 {
		return
	}
	if tc, ok := c.conn.(*net.TCPConn); ok {
		if tc.SetWriteBuffer(n) == nil { // a socket that refuses keeps what it had
			c.sendBuffer = n
		}
	}
}

// sendBufferSpan is how much of a stream's own rate its socket's send
// buffer holds at least: with it a client a round trip of up to about
// 1.5 times as long away reads at the full rate (Linux keeps about one
// and a half times the buffer in bytes), and one that stops reading fills
// it in about that time.
const sendBufferSpan = 250 * time.Millisecond

// maxFittedSendBuffer bounds what a stream's rate grows its send buffer to.
const maxFittedSendBuffer = 1 << 20

// fitSendBuffer grows c's send buffer, by powers of two, to hold
// sendBufferSpan of what the stream delivered, up to maxFittedSendBuffer,
// so that a stream of many ticks a second is not held to the configured
// size's throughput. It measures at least half a second at a time, and
// takes as delivered the lower rate of the last two measures, each what
// the socket took, up to what the stream was offered of the batches (not
// its start, a snapshot or a replay). So neither what the kernel takes at
// once for a client that never reads (its receive window and the send
// buffer, in the first measure), nor a burst just before a client stops
// reading, grows the buffer: a client that stopped has a measure of
// nearly nothing. A client the buffer holds back takes about 1.5 buffers
// a round trip, so while that is over a quarter of a buffer every
// sendBufferSpan (a round trip under about 375 ms) each fit at least
// doubles the buffer, until the client takes all it is offered. Nor does
// the buffer of a stream grow that is conflated or whose socket has taken
// nothing for stallAfter. A buffer never shrinks: a burst is as likely to
// come again.
func (c *client) fitSendBuffer(now time.Time, stallAfter time.Duration) {
	elapsed := now.Sub(c.measuredSince)
	if c.sendBuffer == 0 || elapsed < 500*time.Millisecond {
		return
	}
	rate := float64(min(c.offered, c.taken)) / elapsed.Seconds()
	want := int(min(rate, c.delivered) * sendBufferSpan.Seconds())
	c.offered, c.taken, c.measuredSince, c.delivered = 0, 0, now, rate
	if c.conflating || now.Sub(c.lastProgress) >= stallAfter || want <= c.sendBuffer || c.sendBuffer >= maxFittedSendBuffer {
		return
	}
	n := c.sendBuffer
	for n < want && n < maxFittedSendBuffer {
		n *= 2
	}
	c.setSendBuffer(min(n, maxFittedSendBuffer))
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
func (c *client) pending() int { return c.queued }

// queue appends b, carrying events tick events, to the backlog. The
// backlog keeps b itself, not a copy: nothing may change b afterwards. The
// first queue call sets the limit: what it queued plus queueBytes.
func (c *client) queue(b []byte, events int, queueBytes int) {
	if c.queued == 0 {
		c.limit = len(b) + queueBytes
	}
	if len(b) > 0 {
		c.backlog = append(c.backlog, b)
		c.queued += len(b)
	}
	c.queuedEvents += events
}

// queueAfter is queue for a slice of a batch's buffer that does not begin
// its buffer (inner): when it begins where the backlog's last slice ends,
// that slice is lengthened over it instead of a slice being added, so a
// stream that falls behind holds a slice per shared buffer, not one per
// batch. Both are then parts of one buffer: the last slice's end is inside
// the buffer b begins in.
func (c *client) queueAfter(b []byte, inner bool, events int, queueBytes int) {
	if n := len(c.backlog); inner && n > 0 && len(b) > 0 {
		last := c.backlog[n-1]
		if len(last) > 0 && unsafe.Add(unsafe.Pointer(unsafe.SliceData(last)), len(last)) == unsafe.Pointer(unsafe.SliceData(b)) {
			c.backlog[n-1] = unsafe.Slice(unsafe.SliceData(last), len(last)+len(b))
			c.queued += len(b)
			c.queuedEvents += events
			return
		}
	}
	c.queue(b, events, queueBytes)
}

// unwritten appends the backlog's unwritten bytes to segs.
func (c *client) unwritten(segs [][]byte) [][]byte {
	if len(c.backlog) == 0 {
		return segs
	}
	segs = append(segs, c.backlog[0][c.sent:])
	return append(segs, c.backlog[1:]...)
}

// written records that the socket accepted n bytes of the backlog and
// reports whether the backlog is now empty.
func (c *client) written(n int, now time.Time) bool {
	if n > 0 {
		c.lastWrite, c.lastProgress = now, now
	}
	c.queued -= n
	if c.queued > 0 {
		n += c.sent
		done := 0
		for n >= len(c.backlog[done]) {
			n -= len(c.backlog[done])
			done++
		}
		clear(c.backlog[:done]) // let the written batches' buffers go
		c.backlog = c.backlog[done:]
		c.sent = n
		return false
	}
	c.backlog, c.sent, c.queued = nil, 0, 0
	c.limit = 0
	return true
}
