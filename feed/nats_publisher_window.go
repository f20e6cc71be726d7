package feed

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishWindow is a publisher's publications in flight, in the order
// they were sent. The source's goroutine sends (send); the settler's
// goroutine (settle) takes each publication's answer in order, and when
// one failed it holds new publications back and sends the unanswered
// ones again in order (recover). See [NATSPublisher] for why that keeps
// every symbol's ticks in order.
type publishWindow struct {
	p  *NATSPublisher
	js jetstream.JetStream

	slots    chan struct{}  // one token per publication in flight
	inflight chan *inFlight // sent, not yet answered, in order; cap(slots)

	// mu orders sending against recovering: a publication is sent and
	// queued in inflight under it, so that recover can see the whole
	// window at once.
	mu     sync.Mutex
	last   string        // message id of the last publication sent
	resume chan struct{} // closed when a recovery is over; nil when none is under way
}

// inFlight is one publication awaiting its answer.
type inFlight struct {
	msg *nats.Msg
	id  string
	n   uint64                 // ordinal, in the order sent (storedMark)
	ack jetstream.PubAckFuture // nil when it could not even be sent
}

func newPublishWindow(p *NATSPublisher, js jetstream.JetStream) *publishWindow {
	return &publishWindow{
		p:        p,
		js:       js,
		slots:    make(chan struct{}, p.cfg.Window),
		inflight: make(chan *inFlight, p.cfg.Window),
	}
}

// send publishes msg with message id, waiting while the window is full or
// a recovery is under way, or until ctx is done (then msg is dropped: the
// publisher is stopping). Its ordinal is taken first, so that a dropped
// publication keeps the mark from reaching it.
func (w *publishWindow) send(ctx context.Context, msg *nats.Msg, id string) {
	n := w.p.mark.next()
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	w.mu.Lock()
	for w.resume != nil {
		resume := w.resume
		w.mu.Unlock()
		select {
		case <-resume:
		case <-ctx.Done():
			<-w.slots
			return
		}
		w.mu.Lock()
	}
	defer w.mu.Unlock()
	// The headers are set here rather than by publish options, which
	// would canonicalise each name again for every tick. Only the TICKS
	// stream takes ticks.> (streams of an account cannot share subjects),
	// so no Nats-Expected-Stream header: one fewer for the server to scan
	// and store, and for every replica to decode.
	if msg.Header == nil {
		msg.Header = nats.Header{}
	}
	msg.Header[jetstream.MsgIDHeader] = []string{id}
	if w.last != "" {
		msg.Header[jetstream.ExpectedLastMsgIDHeader] = []string{w.last}
	}
	// Never held across a wait for the server: PublishMsgAsync only
	// writes to the connection's buffer. The client's own retry (after
	// "no responders") would resend this message behind later ones;
	// recover resends instead.
	ack, err := w.js.PublishMsgAsync(msg, jetstream.WithRetryAttempts(0))
	w.last = id
	if err != nil {
		ack = nil
		w.p.failing(err)
		// Hold the next tick back at once: it could not be stored now.
		w.resume = make(chan struct{})
	}
	w.p.metrics.inFlight.Inc()
	w.inflight <- &inFlight{msg: msg, id: id, n: n, ack: ack}
}

// close ends the window: the settler answers what is in flight and returns.
// Only the goroutine that sends may call it, after its last send.
func (w *publishWindow) close() { close(w.inflight) }

// settle takes the answer of each publication in order until close, and
// recovers from the first that failed.
func (w *publishWindow) settle(ctx context.Context) {
	for f := range w.inflight {
		if w.answered(f) {
			w.p.mark.storedUpTo(f.n)
			continue
		}
		w.recover(ctx, f)
	}
}

// answered waits for f's answer and reports whether f is stored; a
// publication always gets one, at the latest after ackTimeout.
func (w *publishWindow) answered(f *inFlight) bool {
	if f.ack == nil {
		return false
	}
	select {
	case ack := <-f.ack.Ok():
		w.p.stored(ack)
		w.done()
		return true
	case err := <-f.ack.Err():
		w.p.failing(err)
		return false
	}
}

func (w *publishWindow) done() {
	w.p.metrics.inFlight.Dec()
	<-w.slots
}

// recover holds new publications back, waits for the answers of all in
// flight after first, and then sends again, one at a time and in order,
// each that was not acknowledged, first included. When it returns, every
// publication sent so far is stored (or the publisher is stopping), so the
// last one sent is the stream's last, as the next publication expects.
func (w *publishWindow) recover(ctx context.Context, first *inFlight) {
	w.mu.Lock()
	if w.resume == nil {
		w.resume = make(chan struct{})
	}
	resume := w.resume
	// send queues only under mu and while no recovery is under way, so
	// this is the whole window.
	unanswered := []*inFlight{first}
	for len(w.inflight) > 0 {
		unanswered = append(unanswered, <-w.inflight)
	}
	w.mu.Unlock()

	resend := unanswered[:1]
	for _, f := range unanswered[1:] {
		if !w.answered(f) {
			resend = append(resend, f)
		}
	}
	lost := 0
	for _, f := range resend {
		stored := false
		if ctx.Err() == nil {
			w.p.metrics.retries.Inc()
			// A new message: the old one's headers expect what was last
			// before it, and the stream may have been set up again.
			again := &nats.Msg{Subject: f.msg.Subject, Data: f.msg.Data}
			if bars, ok := f.msg.Header[BarsHeader]; ok {
				again.Header = nats.Header{BarsHeader: bars}
			}
			stored = w.p.publish(ctx, w.js, again, f.id)
		}
		if !stored {
			lost++
		}
		w.done()
	}
	if lost > 0 {
		w.p.cfg.Logger.Warn("stopping with ticks that may not be stored", "ticks", lost)
	} else {
		w.p.mark.storedUpTo(unanswered[len(unanswered)-1].n)
	}

	w.mu.Lock()
	w.resume = nil
	w.mu.Unlock()
	close(resume)
}
