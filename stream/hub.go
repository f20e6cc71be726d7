package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// Hub is the engine: it takes ticks in at one place (Publish), fans them
// out to attached streams, and keeps what edges read: the latest quote of
// each symbol, its bars and a replay ring for resuming streams. Publish
// encodes each tick once per framing; Run hands what was published to its
// writers as one batch, which make one non-blocking write per stream: at
// once when the hub is idle, or, while a cycle is being written and ticks
// keep coming, gathered for up to FlushInterval.
type Hub struct {
	cfg      Config
	symbols  []string       // one slot per symbol the universe may hold: the configured, then the learned
	index    map[string]int // the configured symbols' indices; fixed
	learned  sync.Map       // symbol → index of each learned symbol, stored under mu
	known    atomic.Int32   // symbols in the universe now: symbols[:known]; grows under mu
	framings []Framing
	clock    feed.Clock
	metrics  *metrics
	log      *slog.Logger
	writers  []*writer
	bars     *BarStore
	started  chan struct{} // closed once Run serves streams
	departed *departures   // watches stream sockets for their clients' departure

	mu       sync.Mutex
	body     []byte        // scratch: the JSON body of the tick being published
	pending  []framed      // per framing: encoded events not yet flushed
	ticks    []feed.Tick   // the ticks behind pending
	lastSeq  uint64        // newest accepted sequence number
	flushed  uint64        // newest flushed sequence number
	quotes   []feed.Quote  // per symbol, in universe order
	prices   []priceGuard  // per symbol, in universe order
	rings    []*replayRing // per framing
	joining  []*client
	waiting  []*heldStream // resuming ahead of the feed
	controls []control     // asked by transports since the last batch
	flushes  chan struct{} // closed at the next batch with ticks; nil until someone waits
	armed    bool          // Run is idle: the next tick wakes it rather than waiting for the timer
	wake     chan struct{} // capacity 1: a tick arrived while Run was armed
	state    hubState
	lastAt   time.Time // when the newest tick was accepted
	market   marketBook
	barClock *barClock

	snapshots  []sharedSnapshot // per framing: the firehose snapshot of the latest state
	prevCloses uint64           // reference prices set (SetPrevClose)
}

// framed is one framing's encoding of a run of events, back to back in buf.
type framed struct {
	buf    []byte
	events []event
	bars   bool       // some of events are bars
	syms   *SymbolSet // the symbols of events, in a batch; nil: not known

	// follows: buf begins where the previous batch's ended, inside the same
	// buffer (see takeBatch), so a backlog may join the two; room is the
	// capacity buf was carved with, which it keeps unless an append moved
	// it to a buffer of its own.
	follows bool
	room    int
}

type hubState int

const (
	hubIdle hubState = iota
	hubRunning
	hubDraining // closing its streams over the drain window; takes no new one
	hubStopped
)

// ErrUnavailable is returned for streams that arrive before Run or after it ended.
var ErrUnavailable = errors.New("hub is not running")

// NewHub returns a hub for cfg's universe. It serves streams once Run is called.
func NewHub(cfg Config) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hub config: %w", err)
	}
	h := &Hub{
		cfg:      cfg,
		symbols:  append(make([]string, 0, cfg.capacity()), cfg.Symbols...)[:cfg.capacity()],
		index:    make(map[string]int, len(cfg.Symbols)),
		framings: cfg.Framings,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		quotes:   make([]feed.Quote, cfg.capacity()),
		prices:   make([]priceGuard, cfg.capacity()),
		pending:  make([]framed, len(cfg.Framings)),
		bars:     NewBarStore(cfg.Symbols, BarsPerInterval(cfg.BarBytes, cfg.capacity(), cfg.BarCapacity)),
		started:  make(chan struct{}),
		market:   newMarketBook(cfg.capacity()),
		barClock: newBarClock(cfg.capacity()),
		wake:     make(chan struct{}, 1),
	}
	for range cfg.Framings {
		h.rings = append(h.rings, newReplayRing(cfg.ReplaySize))
	}
	for i, s := range cfg.Symbols {
		if err := feed.CheckSymbol(s); err != nil {
			return nil, fmt.Errorf("hub config: %w", err)
		}
		if _, dup := h.index[s]; dup {
			return nil, fmt.Errorf("hub config: symbol %s listed twice", s)
		}
		h.index[s] = i
		h.quotes[i].Last.Symbol = s
	}
	h.known.Store(int32(len(cfg.Symbols)))
	transports := make([]string, len(cfg.Framings))
	for i, f := range cfg.Framings {
		transports[i] = f.Name()
	}
	m, err := newMetrics(cfg.Registerer, cfg.Symbols, transports, cfg.capacity() <= cfg.SymbolSeries)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	h.departed = newDepartures(h)
	for range cfg.Writers {
		h.writers = append(h.writers, newWriter(h))
	}
	return h, nil
}

// Symbols returns the universe in display order: the configured symbols,
// then those learned from the feed in the order of their first tick.
func (h *Hub) Symbols() []string {
	n := h.known.Load()
	return h.symbols[:n:n]
}

// Errors Publish returns for ticks it rejects.
var (
	ErrUnknownSymbol  = errors.New("unknown symbol")
	ErrSequence       = errors.New("sequence number not after the previous tick's")
	ErrBadPrice       = errors.New("price not positive and finite, or size below 1")
	ErrBidNotBelowAsk = errors.New("bid not below ask")
	ErrPriceJump      = errors.New("price implausibly far from the symbol's last")
	ErrHalted         = errors.New("symbol's trading is halted")
)

// Publish is where every tick enters the engine, whatever its source. It
// checks the tick (a symbol outside the universe, unless the hub learns it
// (Config.LearnSymbols), a sequence number not
// above the previous one, impossible prices, or a price more than
// MaxPriceJump from the symbol's last are rejected and counted, and reach
// nothing), then folds it into the symbol's bars and queues it, framed
// once per framing, for the next batch, which updates the quotes and the
// replay ring and goes to the streams. When the hub numbers
// (Config.FirstSeq), the tick's own number is replaced by the next one;
// a tick without a time gets the hub clock's.
func (h *Hub) Publish(t feed.Tick) error {
	_, err := h.Accept(t)
	return err
}

// Accept is Publish, returning the tick as the engine took it in: with
// the number it got and its time.
func (h *Hub) Accept(t feed.Tick) (feed.Tick, error) {
	if t.Time.IsZero() {
		t.Time = h.clock.Now()
	}
	if err := h.accept(&t); err != nil {
		return feed.Tick{}, err
	}
	return t, nil
}

func (h *Hub) accept(t *feed.Tick) error {
	i, ok := h.lookup(t.Symbol)
	if !ok {
		if err := h.learnable(t.Symbol); err != nil {
			h.metrics.rejectedBy[rejectedUnknownSymbol].Inc()
			return err
		}
	}
	if !validPrice(t.Price) || !validPrice(t.Bid) || !validPrice(t.Ask) || t.Size <= 0 {
		h.metrics.rejectedBy[rejectedBadPrice].Inc()
		return fmt.Errorf("%w: %s px=%v bid=%v ask=%v size=%d", ErrBadPrice, t.Symbol, t.Price, t.Bid, t.Ask, t.Size)
	}
	if t.Bid >= t.Ask {
		h.metrics.rejectedBy[rejectedBidNotBelowAsk].Inc()
		return fmt.Errorf("%w: %s bid=%v ask=%v", ErrBidNotBelowAsk, t.Symbol, t.Bid, t.Ask)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, next := h.sequence(t.Seq)
	if !next {
		h.metrics.rejectedBy[rejectedSequence].Inc()
		return fmt.Errorf("%w: %d after %d", ErrSequence, t.Seq, h.lastSeq)
	}
	t.Seq = seq
	if !ok {
		var err error
		if i, err = h.learnLocked(t.Symbol); err != nil {
			return err
		}
	}
	if h.market.halted[i] {
		h.metrics.rejectedBy[rejectedHalted].Inc()
		return fmt.Errorf("%w: %s", ErrHalted, t.Symbol)
	}
	if last, ok := h.prices[i].admit(t.Price, h.cfg.MaxPriceJump); !ok {
		h.metrics.rejectedBy[rejectedPriceJump].Inc()
		return fmt.Errorf("%w: %s px=%v after %v", ErrPriceJump, t.Symbol, t.Price, last)
	}
	h.lastSeq = t.Seq
	h.lastAt = h.clock.Now()
	h.closeBars(t.Time.UnixNano(), t.Seq)
	h.bars.Add(*t)
	h.noteBars(i, t.Seq, t.Time.UnixNano())
	h.body = t.AppendJSON(h.body[:0])
	h.enqueue(event{seq: t.Seq, sym: int32(i), ts: t.Time.UnixNano()}, t.Seq, h.body)
	h.ticks = append(h.ticks, *t)
	h.wakeLocked()
	h.metrics.ticks[i].Inc()
	h.metrics.lastTick.Set(float64(t.Time.UnixNano()) / 1e9)
	return nil
}

// sequence returns the number of an event that came with seq, and false
// if the hub must reject it: the next number when the hub numbers
// (Config.FirstSeq), whatever seq is, so that events of every kind and
// source share one counter; otherwise seq itself, which must follow the
// newest. It takes no number: an event uses one only once it is accepted
// and its number becomes h.lastSeq, so a rejected event leaves no gap.
// h.mu is held.
func (h *Hub) sequence(seq uint64) (uint64, bool) {
	if h.cfg.FirstSeq != 0 {
		return max(h.lastSeq+1, h.cfg.FirstSeq), true
	}
	return seq, seq > h.lastSeq
}

func validPrice(p float64) bool { return p > 0 && !math.IsInf(p, 0) && !math.IsNaN(p) }

// jumpConfirmations is how many consecutive jump-rejected ticks of a symbol,
// each within the limit of the one before, establish its new price level.
const jumpConfirmations = 3

// priceGuard rejects a symbol's implausible price jumps. A lone bad print is
// rejected; a real move to a new level (or a bad first price) costs
// jumpConfirmations-1 ticks, after which the new level is accepted, so a
// symbol is never frozen by its own history.
type priceGuard struct {
	last      float64 // last accepted price; 0 before the first tick
	candidate float64 // the level the latest rejected ticks agree on
	streak    int     // consecutive rejected ticks near candidate
}

// admit reports whether price is within maxJump (a fraction) of the last
// accepted price, recording it if so, and returns the price it compared with.
func (g *priceGuard) admit(price, maxJump float64) (float64, bool) {
	last := g.last
	if last == 0 || math.Abs(price-last) <= maxJump*last {
		g.last, g.streak = price, 0
		return last, true
	}
	if g.streak > 0 && math.Abs(price-g.candidate) <= maxJump*g.candidate {
		g.streak++
	} else {
		g.streak = 1
	}
	g.candidate = price
	if g.streak >= jumpConfirmations {
		g.last, g.streak = price, 0
		return last, true
	}
	return last, false
}

// Quotes returns the latest quote of every symbol, in universe order, and
// the sequence number they are current to.
func (h *Hub) Quotes() ([]feed.Quote, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]feed.Quote(nil), h.quotes[:h.known.Load()]...), h.flushed
}

// QuotePage returns a page of the latest quotes, in universe order, of the
// symbols allow admits (nil: every symbol): at most limit of them (0: no
// limit) from the offset-th admitted one, with how many it admits in all
// and the sequence number they are as of. Only the page is copied.
func (h *Hub) QuotePage(offset, limit int, allow func(symbol string) bool) (page []feed.Quote, total int, seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	known := int(h.known.Load())
	size := max(known-offset, 0)
	if limit > 0 {
		size = min(size, limit)
	}
	page = make([]feed.Quote, 0, size)
	for i := range known {
		if allow != nil && !allow(h.symbols[i]) {
			continue
		}
		if total >= offset && (limit == 0 || total < offset+limit) {
			page = append(page, h.quotes[i])
		}
		total++
	}
	return page, total, h.flushed
}

// Quote returns the latest quote of one symbol.
func (h *Hub) Quote(symbol string) (feed.Quote, bool) {
	i, ok := h.lookup(symbol)
	if !ok {
		return feed.Quote{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.quotes[i], true
}

// Bars returns the bars of symbol at interval, oldest first (the last may
// still be open), and the sequence number of the newest tick folded into
// them. Its errors wrap ErrNoHistory or ErrUnknownInterval.
func (h *Hub) Bars(symbol string, interval time.Duration) ([]Bar, uint64, error) {
	return h.bars.series(symbol, interval)
}

// Status describes the hub for readiness checks.
type Status struct {
	Running  bool      // it takes new streams
	Draining bool      // it is closing its streams before it stops, and takes no new one
	LastTick time.Time // when the newest tick was accepted; zero before the first
	Clients  int
}

// Status reports whether the hub serves streams and when its last tick was made.
func (h *Hub) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Status{Running: h.state == hubRunning, Draining: h.state == hubDraining, LastTick: h.lastAt, Clients: h.metrics.clients()}
}

// Started is closed once Run serves streams.
func (h *Hub) Started() <-chan struct{} { return h.started }

// wakeLocked tells an idle Run that something was queued for the streams.
// h.mu is held.
func (h *Hub) wakeLocked() {
	if !h.armed {
		return
	}
	h.armed = false
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run writes published ticks to the streams until ctx is done, then closes
// every stream so that its client reconnects (elsewhere, behind a load
// balancer) and returns nil. Run owns the writer goroutines and waits for
// them.
//
// A tick that arrives while no cycle is being written starts one at once;
// ticks that arrive while a cycle is being written wait for the next
// FlushInterval after that cycle began, so that under load every stream
// gets one write per interval however fast ticks come, and no tick waits
// longer than the cycle before it plus FlushInterval. Joins, controls,
// held streams, backlogs and housekeeping go at that pace too.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.state != hubIdle {
		h.mu.Unlock()
		return errors.New("hub: Run called twice")
	}
	h.departed.open()
	h.state = hubRunning
	close(h.started)
	h.mu.Unlock()

	var wg sync.WaitGroup
	for _, w := range h.writers {
		wg.Go(w.run)
	}
	defer wg.Wait()
	wg.Go(h.departed.run)
	defer h.departed.stop()

	timer := h.clock.NewTimer(h.cfg.FlushInterval)
	defer timer.Stop()
	var (
		lastHousekeeping time.Time
		backlogged       bool
		nextWriter       int
	)
	h.rearm()
	for {
		select {
		case <-ctx.Done():
			h.stop()
			return nil
		case <-timer.C():
			select { // a wake the timer overtook has nothing left to do
			case <-h.wake:
			default:
			}
		case <-h.wake:
		}
		timer.Reset(h.cfg.FlushInterval)
		now := h.clock.Now()
		b, joins, controls := h.takeBatch(now)
		housekeeping := now.Sub(lastHousekeeping) >= h.housekeepingInterval()
		if b.empty() && len(joins) == 0 && len(controls) == 0 && !backlogged && !housekeeping {
			h.rearm()
			continue
		}
		if housekeeping {
			lastHousekeeping = now
		}
		for _, c := range joins {
			c.writer = nextWriter % len(h.writers)
			nextWriter++
			h.writers[c.writer].joins = append(h.writers[c.writer].joins, c)
		}
		for _, ctl := range controls {
			w := h.writers[ctl.c.writer]
			w.controls = append(w.controls, ctl)
		}
		h.dispatch(cycle{batch: b, now: now, housekeeping: housekeeping})
		h.rearm()
		backlogged = false
		conflating := 0
		for _, w := range h.writers {
			backlogged = backlogged || w.backlogged > 0
			conflating += w.conflating
		}
		h.metrics.conflating.Set(float64(conflating))
	}
}

// rearm lets the next tick wake Run at once, unless ticks arrived while
// the last cycle was being written: those, and the ones that follow them,
// wait for the timer.
func (h *Hub) rearm() {
	h.mu.Lock()
	h.armed = len(h.ticks) == 0
	h.mu.Unlock()
}

// housekeepingInterval is how often heartbeats, write deadlines and departed
// clients are checked.
func (h *Hub) housekeepingInterval() time.Duration {
	return min(time.Second, h.cfg.Heartbeat/4, h.cfg.WriteTimeout/4)
}

// dispatch runs one cycle on every writer and waits for all of them.
func (h *Hub) dispatch(c cycle) {
	var done sync.WaitGroup
	done.Add(len(h.writers))
	c.done = &done
	for _, w := range h.writers {
		w.cycles <- c
	}
	done.Wait()
}

// stop refuses new streams, closes every stream (spread over
// Config.DrainWindow, when there is one) and ends the writers.
func (h *Hub) stop() {
	h.mu.Lock()
	h.state = hubDraining
	h.mu.Unlock()
	if h.cfg.DrainWindow > 0 {
		h.log.Info("hub draining: no new stream taken, the open ones closed over the drain window",
			"streams", h.metrics.clients(), "drain_window", h.cfg.DrainWindow)
		h.drain()
	}
	h.mu.Lock()
	h.state = hubStopped
	for _, w := range h.waiting {
		w.c.held = false
		w.c.queue(w.buf, 0, h.cfg.QueueBytes)
		h.joining = append(h.joining, w.c)
	}
	h.waiting = nil
	joins := h.joining
	h.joining = nil
	h.mu.Unlock()
	for i, c := range joins {
		c.writer = i % len(h.writers)
		h.writers[c.writer].joins = append(h.writers[c.writer].joins, c)
	}
	h.dispatch(cycle{now: h.clock.Now(), shutdown: true})
	for _, w := range h.writers {
		close(w.cycles)
	}
}

// drain closes the streams over the drain window, evenly spread, while it
// goes on flushing ticks to those still open like Run; it returns at the
// end of the window, or sooner once no stream is left. Between cycles the
// writers wait on the hub, so it may read their streams and hand them
// controls, as Run hands them joins.
func (h *Hub) drain() {
	start := h.clock.Now()
	end := start.Add(h.cfg.DrainWindow)
	timer := h.clock.NewTimer(h.cfg.FlushInterval)
	defer timer.Stop()
	lastHousekeeping := start
	nextWriter, asked := 0, 0
	for {
		<-timer.C()
		now := h.clock.Now()
		b, joins, controls := h.takeBatch(now)
		for _, c := range joins {
			c.writer = nextWriter % len(h.writers)
			nextWriter++
			h.writers[c.writer].joins = append(h.writers[c.writer].joins, c)
		}
		for _, ctl := range controls {
			w := h.writers[ctl.c.writer]
			w.controls = append(w.controls, ctl)
		}
		open, closing := h.closeShare(asked, now, end)
		asked += closing
		housekeeping := now.Sub(lastHousekeeping) >= h.housekeepingInterval()
		if housekeeping {
			lastHousekeeping = now
		}
		h.dispatch(cycle{batch: b, now: now, housekeeping: housekeeping})
		h.mu.Lock()
		waiting := len(h.waiting) + len(h.joining)
		h.mu.Unlock()
		if !now.Before(end) || (open == 0 && waiting == 0) {
			return
		}
		timer.Reset(min(h.cfg.FlushInterval, end.Sub(now)))
	}
}

// closeShare asks the writers to close, at the coming cycle, the share of
// the open streams due by now, taken from each writer in turn: the
// streams of the drain (those asked to close before, asked, and those
// open) are on a straight line to none at end. It returns how many stay
// open and how many it asked to close.
func (h *Hub) closeShare(asked int, now, end time.Time) (keep, closing int) {
	open := 0
	for _, w := range h.writers {
		for _, c := range w.clients {
			if c.closing == keepOpen {
				open++
			}
		}
	}
	if left := end.Sub(now); left > 0 {
		// The tolerance keeps a rounding error from putting a close off
		// by a cycle.
		line := float64(asked+open) * float64(left) / float64(h.cfg.DrainWindow)
		keep = min(open, int(math.Ceil(line-1e-9)))
	}
	next := make([]int, len(h.writers)) // per writer: where its next candidate is looked for
	for n := open - keep; n > 0; {
		for i, w := range h.writers {
			for n > 0 && next[i] < len(w.clients) {
				c := w.clients[next[i]]
				next[i]++
				if c.closing != keepOpen {
					continue
				}
				// A stream's last bytes make its cycle write to it, which
				// is where the close is carried out; for a transport with
				// no goodbye, a heartbeat.
				bye := h.framings[c.framing].Closing(CloseShutdown)
				if len(bye) == 0 {
					bye = h.framings[c.framing].Heartbeat()
				}
				w.controls = append(w.controls, control{c: c, kind: controlClose, bytes: bye, reason: CloseShutdown})
				n--
				break
			}
		}
	}
	return keep, open - keep
}

// batch is one flush's worth of events, in every framing.
type batch struct {
	frames []framed // per framing; nil when the batch is empty
}

func (b *batch) empty() bool { return len(b.frames) == 0 }

// The buffers batches are encoded in: each holds many batches back to back.
const (
	batchBufferBytes = 32 << 10 // a new buffer's size, unless one batch needs more
	minBatchRoom     = 1 << 10  // room below which a buffer gets no further batch
)

// takeBatch moves the pending ticks into the replay rings and the quotes
// and returns them with the streams that joined since the last flush.
// Doing both under one lock is what makes a joining stream's replay or
// snapshot meet its first live batch with no gap and no duplicate.
func (h *Hub) takeBatch(now time.Time) (batch, []*client, []control) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = false // a cycle is under way; what arrives now waits for the next
	// Held streams start from the state before this batch, which then
	// continues them like any other joining stream; so do the snapshots of
	// symbols a stream has just added.
	if len(h.waiting) > 0 {
		h.startHeld(now)
	}
	controls := h.takeControls()
	var b batch
	if h.lastSeq > h.flushed {
		b.frames = make([]framed, len(h.pending))
		for f := range h.pending {
			p := h.pending[f]
			start := 0
			for i := range p.events {
				e := &p.events[i]
				e.data = p.buf[start:e.end:e.end]
				start = e.end
				h.rings[f].push(*e)
			}
			// The next batch is encoded in the rest of this one's buffer,
			// past the bytes the writers read, so the replay ring, which
			// keeps a buffer alive while it holds any of its events, holds
			// a few large buffers full to the end rather than one per batch
			// with room to spare. A buffer too full for another batch is
			// followed by a new one.
			rest := p.buf[len(p.buf):]
			carved := len(p.buf) > 0
			if cap(rest) < len(p.buf)+len(p.buf)/4 || cap(rest) < minBatchRoom {
				rest = make([]byte, 0, max(batchBufferBytes, 2*len(p.buf)))
				carved = false
			}
			p.follows = p.follows && cap(p.buf) == p.room
			p.buf = p.buf[:len(p.buf):len(p.buf)]
			b.frames[f] = p
			h.pending[f] = framed{
				buf:     rest,
				events:  make([]event, 0, len(p.events)+len(p.events)/4),
				follows: carved,
				room:    cap(rest),
			}
		}
		syms := h.batchSymbols(b.frames[0].events)
		for f := range b.frames {
			b.frames[f].syms = syms
		}
		h.applyTicks()
		h.flushed = h.lastSeq
		h.ticks = h.ticks[:0]
		if h.flushes != nil {
			close(h.flushes)
			h.flushes = nil
		}
	}
	joins := h.joining
	h.joining = nil
	return b, joins, controls
}

// Subscription is what a stream asks of the engine, parsed and authorized
// by its transport.
type Subscription struct {
	Symbols *SymbolSet // nil: every symbol
	Resume  bool       // the stream resumes after LastID
	LastID  uint64
	MaxFreq float64   // most ticks per second per symbol, the latest winning; 0: no cap
	Until   time.Time // when the stream's credentials expire and it ends; zero: never
	Bars    BarSet    // the intervals whose bar events it receives
}

// Sink is where an attached stream's events go.
type Sink struct {
	Conn    net.Conn // the connection, taken over from its server
	Framing Framing  // one of Config.Framings
	Head    []byte   // written before the first event: the transport's response head
	// Greeting is written right after the stream's start (its snapshot,
	// replay or resync) and before any live event: the transport's own
	// first message, such as a WebSocket's subscription. The stream keeps
	// it as Stream.Send keeps its bytes.
	Greeting []byte
	// OnClose is called once, after the stream has ended and Conn is
	// closed; it may be nil.
	OnClose func()
}

// ErrUnknownFraming is returned by Attach for a framing the hub was not
// configured with.
var ErrUnknownFraming = errors.New("framing not configured")

// resumeKind says how a new stream starts.
type resumeKind int

const (
	startSnapshot resumeKind = iota // no usable resume point: snapshot, then live
	startReplay                     // every missed tick is in the ring: replay, then live
	startResync                     // missed ticks are gone: resync snapshot, then live
)

func (k resumeKind) String() string {
	return [...]string{"snapshot", "replay", "resync"}[k]
}

// Attach starts a stream of sub on sink. The stream begins with sink.Head,
// then a snapshot, a replay of the ticks after sub.LastID, or a resync
// snapshot, then sink.Greeting; Attach composes that under the hub lock,
// so the next batch continues it exactly. A stream resuming from an id
// the hub has not reached yet is held for up to ResumeWait first. From a nil error on,
// the stream and its connection belong to the hub, which calls
// sink.OnClose when it ends; on an error the caller keeps both. The
// returned Stream lets the transport change the stream while it runs.
func (h *Hub) Attach(sub Subscription, sink Sink) (*Stream, error) {
	fi := h.framingIndex(sink.Framing)
	if fi < 0 {
		return nil, ErrUnknownFraming
	}
	c := newClient(sink, fi, sub.Symbols, h.clock.Now(), h.cfg.SendBuffer)
	if !sub.Until.IsZero() {
		c.until = sub.Until.UnixNano()
	}
	if sub.MaxFreq > 0 {
		c.throttle = newThrottle(sub.MaxFreq, len(h.symbols))
	}
	c.bars = sub.Bars
	c.greeting = sink.Greeting
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != hubRunning {
		return nil, ErrUnavailable
	}
	buf := append([]byte(nil), sink.Head...)
	h.metrics.clientsNow[fi].Add(1)
	h.metrics.streamsOpened[fi].Inc()
	h.countBars(c.bars, 1)
	st := &Stream{h: h, c: c}
	h.departed.watch(c)
	if sub.Resume && sub.LastID > h.flushed && h.cfg.ResumeWait > 0 {
		c.held = true
		h.waiting = append(h.waiting, &heldStream{c: c, buf: buf, lastID: sub.LastID, until: h.clock.Now().Add(h.cfg.ResumeWait)})
		h.metrics.resumeHeld.Inc()
		return st, nil
	}
	h.start(c, buf, sub.LastID, sub.Resume)
	return st, nil
}

// heldStream is a stream whose resume point is ahead of the hub, waiting
// for the feed to reach it.
type heldStream struct {
	c      *client
	buf    []byte // the sink's head
	lastID uint64
	until  time.Time
}

// start queues the beginning of c's stream after buf (a snapshot, a replay
// of the ticks after lastID, or a resync snapshot) and has it join at the
// next batch. h.mu is held.
func (h *Hub) start(c *client, buf []byte, lastID uint64, resume bool) resumeKind {
	c.held = false
	kind := startSnapshot
	ring := h.rings[c.framing]
	// A resume point the hub cannot serve is a resync, whenever it comes:
	// before the first tick (an id of a previous process), ahead of the
	// hub (another process's, or one it was held for in vain), or behind
	// the ring. Only ids the ring covers are replayed.
	if resume {
		kind = startResync
		if lastID <= h.flushed && ring.covers(lastID) {
			kind = startReplay
		}
	}
	switch kind {
	case startReplay:
		ring.after(lastID, func(e *event) {
			if wants(c.sub, c.bars, e) {
				buf = append(buf, e.data...)
			}
		})
		h.metrics.replays.Inc()
	case startResync:
		buf = h.appendSnapshot(buf, h.framings[c.framing], c.sub, true)
		h.metrics.resyncs.Inc()
	default:
		if c.sub == nil {
			c.queue(buf, 0, h.cfg.QueueBytes)
			buf = h.firehoseSnapshot(c.framing) // shared: queued, never appended to
		} else {
			buf = h.appendSnapshot(buf, h.framings[c.framing], c.sub, false)
		}
	}
	c.queue(buf, 0, h.cfg.QueueBytes)
	c.queue(c.greeting, 0, h.cfg.QueueBytes)
	c.greeting = nil
	c.limit = c.queued + h.cfg.QueueBytes // the start does not count against the queue
	h.joining = append(h.joining, c)
	return kind
}

// startHeld starts the held streams that the hub has caught up with, or
// that waited ResumeWait (with a resync snapshot: their id is not one the
// hub knows). h.mu is held.
func (h *Hub) startHeld(now time.Time) {
	kept := h.waiting[:0]
	for _, w := range h.waiting {
		switch {
		case w.lastID <= h.flushed:
			h.start(w.c, w.buf, w.lastID, true)
		case !now.Before(w.until):
			h.start(w.c, w.buf, w.lastID, true) // still ahead: a resync
		default:
			kept = append(kept, w)
		}
	}
	clear(h.waiting[len(kept):])
	h.waiting = kept
}

// appendSnapshot appends a snapshot event with the latest quote of every
// symbol in sub. Its id is the sequence number it is current to, so a client
// that reconnects after it resumes from there. h.mu is held.
func (h *Hub) appendSnapshot(dst []byte, framing Framing, sub *SymbolSet, resync bool) []byte {
	body := append(h.body[:0], `{"seq":`...)
	body = strconv.AppendUint(body, h.flushed, 10)
	body = append(body, `,"resync":`...)
	body = strconv.AppendBool(body, resync)
	body = append(body, `,"quotes":[`...)
	first := true
	h.eachKnown(sub, func(i int) {
		if !first {
			body = append(body, ',')
		}
		first = false
		body = h.quotes[i].AppendJSON(body)
	})
	body = append(body, ']')
	body = h.appendMarketSnapshot(body, sub)
	body = append(body, '}')
	h.body = body
	return framing.AppendEvent(dst, KindSnapshot, h.flushed, body)
}

// eachKnown calls fn with the index of every symbol of sub (nil: every
// symbol) in the universe now (learned ones too), in universe order. A set of a few
// symbols costs a pass over its words, not a test per symbol of the
// universe: a snapshot is taken under h.mu. h.mu is held.
func (h *Hub) eachKnown(sub *SymbolSet, fn func(i int)) {
	known := int(h.known.Load())
	if sub == nil {
		for i := range known {
			fn(i)
		}
		return
	}
	if sub.listed {
		for _, i := range sub.few {
			if int(i) < known {
				fn(int(i))
			}
		}
		return
	}
	sub.each(func(i int) {
		if i < known {
			fn(i)
		}
	})
}

// Hold counts a client of framing's transport that is served without a
// stream (a held poll) among the clients connected now, until the
// returned function is called.
func (h *Hub) Hold(framing Framing) (release func()) {
	fi := h.framingIndex(framing)
	if fi < 0 {
		return func() {}
	}
	h.metrics.clientsNow[fi].Add(1)
	var once sync.Once
	return func() { once.Do(func() { h.metrics.clientsNow[fi].Add(-1) }) }
}
