package stream

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// cycle is one round of work the hub hands to every writer.
type cycle struct {
	batch        batch
	now          time.Time
	housekeeping bool // send heartbeats and enforce write deadlines
	shutdown     bool // close every stream
	done         *sync.WaitGroup
}

// writer owns a share of the streams and writes each cycle's batch to them.
// The hub runs one writer per core; a writer never blocks on a socket.
type writer struct {
	hub    *Hub
	cycles chan cycle

	joins      []*client // handed over by Hub.Run before a cycle starts
	controls   []control // likewise, for streams it owns
	clients    []*client
	backlogged int // clients with unwritten bytes after the last cycle
	conflating int // clients in conflated delivery after the last cycle

	segs    [][]byte // scratch: one stream's share of a batch, as bytes
	inner   []bool   // scratch: segs[i] does not begin its buffer (see client.queueAfter)
	shared  []event  // scratch: the same share, as events
	vectors vectorWriter
	stats   writerStats
}

func newWriter(h *Hub) *writer {
	return &writer{hub: h, cycles: make(chan cycle), stats: newWriterStats(len(h.framings))}
}

func (w *writer) run() {
	for c := range w.cycles {
		w.runCycle(c)
		w.stats.flush(w.hub.metrics)
		c.done.Done()
	}
}

func (w *writer) runCycle(cy cycle) {
	w.clients = append(w.clients, w.joins...)
	clear(w.joins)
	w.joins = w.joins[:0]
	for _, ctl := range w.controls {
		w.apply(ctl)
	}
	clear(w.controls)
	w.controls = w.controls[:0]
	idle := cy.batch.empty() && !cy.housekeeping && !cy.shutdown
	w.backlogged, w.conflating = 0, 0
	kept := w.clients[:0]
	for _, c := range w.clients {
		if idle && c.pending() == 0 && !c.throttle.holding() && c.closing == keepOpen {
			kept = append(kept, c)
			continue
		}
		reason := w.serve(c, &cy)
		if reason == keepOpen && cy.shutdown {
			reason = CloseShutdown
		}
		if reason != keepOpen {
			w.close(c, reason)
			continue
		}
		if c.pending() > 0 || c.throttle.holding() {
			w.backlogged++
		}
		if c.conflating {
			w.conflating++
		}
		if c.throttle != nil {
			w.stats.dropped[droppedThrottled] += c.throttle.replaced
			c.throttle.replaced = 0
		}
		kept = append(kept, c)
	}
	clear(w.clients[len(kept):])
	w.clients = kept
}

// CloseReason says why a stream ended; its names are the label values of
// tickerd_streams_closed_total.
type CloseReason int

// Reasons a stream ends.
const (
	keepOpen          CloseReason = iota
	CloseNormal                   // the client went away, or said goodbye
	CloseSlow                     // the socket accepted nothing for WriteTimeout
	CloseWriteError               // the socket failed otherwise
	CloseShutdown                 // the service is stopping
	CloseOverLimit                // the client went over a limit of its transport (a flood of messages)
	CloseTokenExpired             // the credentials it was opened with expired
	CloseProtocol                 // its transport ended it for a protocol error or a missed keepalive
)

var closeReasonNames = [...]string{"", "normal", "slow", "write_error", "shutdown", "over_limit", "token_expired", "protocol"}

func (r CloseReason) String() string { return closeReasonNames[r] }

// serve brings one stream up to date with the cycle.
func (w *writer) serve(c *client, cy *cycle) CloseReason {
	now := cy.now
	if c.closing != keepOpen {
		return w.finish(c, now)
	}
	if cy.housekeeping && c.until != 0 && now.UnixNano() >= c.until {
		return CloseTokenExpired
	}
	if c.pending() > 0 {
		if r := w.flushBacklog(c, now); r != keepOpen {
			return r
		}
	}
	if !cy.batch.empty() || c.throttle.holding() {
		var share *framed
		if !cy.batch.empty() {
			share = &cy.batch.frames[c.framing]
		}
		var r CloseReason
		if c.pending() == 0 && !c.conflating {
			r = w.writeBatch(c, share, now)
		} else {
			w.queueBatch(c, share, now)
		}
		if r != keepOpen {
			return r
		}
	}
	if c.conflating && c.pending() == 0 {
		w.endConflation(c)
		if r := w.flushBacklog(c, now); r != keepOpen {
			return r
		}
	}
	if cy.housekeeping && now.Sub(c.lastWrite) >= time.Second && w.vectors.gone(&c.sock) {
		return CloseNormal
	}
	if cy.housekeeping {
		c.fitSendBuffer(now, w.hub.stallAfter())
	}
	if cy.housekeeping && c.pending() == 0 && now.Sub(c.lastWrite) >= w.hub.cfg.Heartbeat {
		c.queue(w.hub.framings[c.framing].Heartbeat(), 0, 0)
		w.stats.heartbeats++
		if r := w.flushBacklog(c, now); r != keepOpen {
			return r
		}
	}
	if c.pending() > 0 && now.Sub(c.lastProgress) >= w.hub.cfg.WriteTimeout {
		return CloseSlow
	}
	return keepOpen
}

// share collects the events of b (nil: none) that c gets now into w.shared, and the
// same bytes into w.segs, merging neighbours into one segment; it returns
// their count and total size. A throttled stream (maxfreq) first gets the
// held ticks whose symbol may send again, then the batch's ticks of symbols
// that may send; the others are held, the latest per symbol.
func (w *writer) share(c *client, b *framed, now time.Time) (events, size int) {
	w.segs, w.shared, w.inner = w.segs[:0], w.shared[:0], w.inner[:0]
	if b == nil {
		b = &framed{}
	}
	if c.sub == nil && c.throttle == nil && (!b.bars || c.bars == allBars) {
		if len(b.events) == 0 {
			return 0, 0
		}
		w.segs = append(w.segs, b.buf)
		w.inner = append(w.inner, b.follows)
		w.shared = append(w.shared, b.events...)
		return len(b.events), len(b.buf)
	}
	if !c.throttle.holding() && !c.sub.meets(b.syms) {
		return 0, 0 // nothing of the batch is for c, nor held for it
	}
	if c.throttle != nil {
		for _, e := range c.throttle.release(now.UnixNano()) {
			w.segs = append(w.segs, e.data)
			w.inner = append(w.inner, false) // where it begins is not known
			w.shared = append(w.shared, e)
			size += len(e.data)
		}
	}
	segStart, segEnd := -1, -1
	for i := range b.events {
		e := &b.events[i]
		if !wants(c.sub, c.bars, e) || (c.throttle != nil && e.kind == uint8(KindTick) && !c.throttle.admit(e, now.UnixNano())) {
			continue
		}
		w.shared = append(w.shared, *e)
		size += len(e.data)
		start := e.end - len(e.data)
		if start == segEnd {
			segEnd = e.end
			continue
		}
		if segStart >= 0 {
			w.segs = append(w.segs, b.buf[segStart:segEnd])
			w.inner = append(w.inner, segStart > 0 || b.follows)
		}
		segStart, segEnd = start, e.end
	}
	if segStart >= 0 {
		w.segs = append(w.segs, b.buf[segStart:segEnd])
		w.inner = append(w.inner, segStart > 0 || b.follows)
	}
	return len(w.shared), size
}

// writeBatch writes c's share of b straight to its socket; what the socket
// does not take goes to c's backlog.
func (w *writer) writeBatch(c *client, b *framed, now time.Time) CloseReason {
	events, size := w.share(c, b, now)
	if events == 0 {
		return keepOpen
	}
	c.offered += size
	firstTS := w.shared[0].ts
	n, err := w.vectors.write(&c.sock, w.segs)
	now = w.hub.clock.Now()
	c.taken += n
	w.stats.writes++
	w.stats.bytes += n
	w.stats.queueDepth.observe(float64(events))
	if n > 0 {
		c.lastWrite, c.lastProgress = now, now
	}
	if err != nil {
		w.stats.dropped[droppedDisconnect] += events
		return classify(err)
	}
	if n == size {
		w.stats.events += events
		w.observeLatencies(now)
		return keepOpen
	}
	// Keep the unwritten tail, in order, for the next cycles.
	skip := n
	for i, s := range w.segs {
		if skip >= len(s) {
			skip -= len(s)
			continue
		}
		c.queueAfter(s[skip:], w.inner[i] || skip > 0, 0, w.hub.cfg.QueueBytes)
		skip = 0
	}
	c.queuedEvents, c.queuedTS = events, firstTS
	return keepOpen
}

// observeLatencies records tick-to-wire latency for the events of the
// last share, written at now.
func (w *writer) observeLatencies(now time.Time) {
	wire := now.UnixNano()
	for i := range w.shared {
		w.stats.latency.observe(float64(wire-w.shared[i].ts) / 1e9)
	}
}

// queueBatch adds c's share of b behind its backlog, or, past the backlog's
// limit or once its socket has taken nothing for stallAfter, keeps only
// the latest event of each symbol.
func (w *writer) queueBatch(c *client, b *framed, now time.Time) {
	events, size := w.share(c, b, now)
	if events == 0 {
		return
	}
	c.offered += size
	firstTS := w.shared[0].ts
	if !c.conflating && c.pending()+size <= c.limit && now.Sub(c.lastProgress) < w.hub.stallAfter() {
		if c.queuedEvents == 0 {
			c.queuedTS = firstTS
		}
		for i, s := range w.segs {
			c.queueAfter(s, w.inner[i], 0, w.hub.cfg.QueueBytes)
		}
		c.queuedEvents += events
		return
	}
	if !c.conflating {
		c.conflating = true
		if c.latest == nil {
			c.latest = newLatestEvents(len(w.hub.symbols))
		}
	}
	for _, e := range w.shared {
		if e.kind != uint8(KindTick) {
			c.holdMarket(e)
			continue
		}
		if c.latest.put(e) {
			c.replaced++
		}
	}
}

// endConflation queues a notice of how many ticks were skipped, then the
// latest tick of each symbol in sequence order, and resumes normal delivery.
func (w *writer) endConflation(c *client) {
	held := append(c.latest.inOrder(), c.heldMarket...)
	slices.SortStableFunc(held, cmpEvents)
	body := strconv.AppendInt([]byte(`{"dropped":`), int64(c.replaced), 10)
	body = append(body, '}')
	c.queue(w.hub.framings[c.framing].AppendEvent(nil, KindConflated, 0, body), 0, w.hub.cfg.QueueBytes)
	for _, e := range held {
		c.queue(e.data, 1, w.hub.cfg.QueueBytes)
	}
	if len(held) > 0 && c.queuedTS == 0 {
		c.queuedTS = held[0].ts
	}
	w.stats.dropped[droppedConflated] += c.replaced
	c.conflating, c.latest, c.replaced = false, nil, 0
	c.heldMarket, c.heldIndex = nil, nil
}

// flushBacklog makes one non-blocking write of c's backlog.
func (w *writer) flushBacklog(c *client, now time.Time) CloseReason {
	w.segs = c.unwritten(w.segs[:0])
	n, err := w.vectors.write(&c.sock, w.segs)
	c.taken += n
	w.stats.writes++
	w.stats.bytes += n
	if err != nil {
		return classify(err)
	}
	if c.queuedEvents > 0 {
		w.stats.queueDepth.observe(float64(c.queuedEvents))
	}
	events, ts := c.queuedEvents, c.queuedTS
	if c.written(n, now) && events > 0 {
		w.stats.events += events
		w.stats.latency.observeN(float64(now.UnixNano()-ts)/1e9, events)
		c.queuedEvents, c.queuedTS = 0, 0
	}
	return keepOpen
}

// stallAfter is how long a stream's socket may take none of its backlog
// before the stream is conflated, however small the backlog: a client
// that has stopped reading is conflated this long after its kernel
// buffers are full, not once its backlog reaches QueueBytes, which at a
// low rate would take minutes.
func (h *Hub) stallAfter() time.Duration { return min(time.Second, h.cfg.WriteTimeout/2) }

// classify turns a write error into the reason the stream ends.
func classify(err error) CloseReason {
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || isClosedErr(err) {
		return CloseNormal
	}
	return CloseWriteError
}

// finish writes what a stream its transport is ending still holds, and
// says when it may close: once all is written, or at its write timeout.
// When the server ends the stream, all must also have left the kernel, so
// that the close is graceful and the last bytes reach the client; when
// the client went away or said goodbye, what the kernel still holds is
// for nobody.
func (w *writer) finish(c *client, now time.Time) CloseReason {
	if c.pending() > 0 {
		if r := w.flushBacklog(c, now); r != keepOpen {
			return r
		}
	}
	out := c.pending() == 0 && (c.closing == CloseNormal || c.sock.unsent() <= 0)
	if out || now.Sub(c.lastProgress) >= w.hub.cfg.WriteTimeout {
		return c.closing
	}
	return keepOpen
}

// stalled reports whether c's client has stopped taking its bytes: some
// are not out (in its backlog, or unsent in the kernel) and its socket has
// taken none for stallAfter, or it is being conflated. A client that is
// reading, even one a little behind at the moment of the close, is not.
func (w *writer) stalled(c *client) bool {
	if c.pending() == 0 && c.sock.unsent() <= 0 {
		return false
	}
	return c.conflating || w.hub.clock.Now().Sub(c.lastProgress) >= w.hub.stallAfter()
}

// close ends c's stream and accounts for what it still held. A stream
// ended for its client's fault (too slow, a failed write) is closed
// abortively, so that the kernel frees what it held for it at once; so is
// a stream the server ends (a drain or a shutdown, credentials that
// expired) whose client has stalled with bytes not all out: a graceful
// close would leave them in an orphaned socket for minutes. A stream
// whose client is still reading closes gracefully, so that its last bytes
// are not lost, and so does one whose client went away or said goodbye:
// a departed client's kernel answers what comes next with a reset, which
// frees the socket.
func (w *writer) close(c *client, reason CloseReason) {
	goodbye := false
	if c.closing == keepOpen && reason != CloseNormal && reason != CloseWriteError {
		if bye := w.hub.framings[c.framing].Closing(reason); len(bye) > 0 {
			c.queue(bye, 0, w.hub.cfg.QueueBytes)
			goodbye = true
		}
	}
	if (reason == CloseShutdown || goodbye) && c.pending() > 0 {
		w.flushBacklog(c, w.hub.clock.Now()) // a last chance for what is already queued
	}
	c.ended = true
	w.hub.departed.forget(c)
	if reason == CloseSlow || reason == CloseWriteError || reason != CloseNormal && w.stalled(c) {
		c.abort()
	}
	_ = c.conn.Close()
	w.stats.dropped[droppedDisconnect] += c.queuedEvents + c.replaced
	if c.throttle != nil {
		w.stats.dropped[droppedDisconnect] += c.throttle.held
	}
	w.stats.closed[c.framing][reason]++
	w.hub.metrics.clientsNow[c.framing].Add(-1)
	w.hub.countBars(c.bars, -1)
	if c.onClose != nil {
		c.onClose()
	}
	c.backlog, c.latest = nil, nil
}
