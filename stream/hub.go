package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
)

// Config sets up a Hub. Zero values take the defaults named on each field.
type Config struct {
	Symbols       []string      // the universe, in display order; required
	ReplaySize    int           // ticks kept for resuming streams (65536)
	FlushInterval time.Duration // how long ticks are gathered before one write per stream (5ms)
	Heartbeat     time.Duration // comment line on a stream idle this long (15s)
	WriteTimeout  time.Duration // a stream whose socket accepts nothing this long is closed (10s)
	QueueBytes    int           // undelivered bytes per stream before its delivery is conflated (256 KiB)
	Retry         time.Duration // reconnect delay advertised to clients (2s)
	Writers       int           // goroutines writing to sockets (GOMAXPROCS)
	MaxSymbols    int           // symbols one subscription may name (100)
	MaxQueryBytes int           // longest accepted query string (4096)
	// ResumeWait is how long a stream whose Last-Event-ID is ahead of the
	// hub is held while the feed catches up to it, before it starts with a
	// snapshot instead (0: not held). Replicas fed from one bus run a few
	// milliseconds apart, so a client that moves from one to another can
	// arrive ahead of the one it lands on.
	ResumeWait   time.Duration
	MaxPriceJump float64 // largest accepted move from a symbol's last price, as a fraction (0.2)

	MaxStreams        int            // streams open at once; more get 503 (10000)
	MaxStreamsPerAddr int            // streams open at once from one client address (an IPv6 /64); more get 429 (100)
	TrustedProxies    []netip.Prefix // peers whose X-Forwarded-For names the client (none)
	Auth              Authenticator  // checks every stream and API request; nil lets everyone read everything

	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (c *Config) setDefaults() {
	setDefault(&c.ReplaySize, 65536)
	setDefault(&c.FlushInterval, 5*time.Millisecond)
	setDefault(&c.Heartbeat, 15*time.Second)
	setDefault(&c.WriteTimeout, 10*time.Second)
	setDefault(&c.QueueBytes, 256<<10)
	setDefault(&c.Retry, 2*time.Second)
	setDefault(&c.Writers, runtime.GOMAXPROCS(0))
	setDefault(&c.MaxSymbols, 100)
	setDefault(&c.MaxQueryBytes, 4096)
	setDefault(&c.MaxStreams, 10000)
	setDefault(&c.MaxStreamsPerAddr, 100)
	if c.MaxPriceJump == 0 {
		c.MaxPriceJump = 0.2
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func (c *Config) validate() error {
	if len(c.Symbols) == 0 {
		return errors.New("no symbols")
	}
	switch {
	case c.ReplaySize < 0:
		return fmt.Errorf("replay size %d is negative", c.ReplaySize)
	case c.FlushInterval < 0 || c.FlushInterval > time.Second:
		return fmt.Errorf("flush interval %v is outside 0..1s", c.FlushInterval)
	case c.Heartbeat < 100*time.Millisecond:
		return fmt.Errorf("heartbeat %v is shorter than 100ms", c.Heartbeat)
	case c.WriteTimeout < 100*time.Millisecond:
		return fmt.Errorf("write timeout %v is shorter than 100ms", c.WriteTimeout)
	case c.QueueBytes < 4096:
		return fmt.Errorf("queue of %d bytes is smaller than 4096", c.QueueBytes)
	case c.Retry < 0:
		return fmt.Errorf("retry %v is negative", c.Retry)
	case c.Writers < 1 || c.Writers > 256:
		return fmt.Errorf("writers %d is outside 1..256", c.Writers)
	case c.MaxSymbols < 1:
		return fmt.Errorf("max symbols %d is less than 1", c.MaxSymbols)
	case c.MaxQueryBytes < 64:
		return fmt.Errorf("max query bytes %d is less than 64", c.MaxQueryBytes)
	case c.ResumeWait < 0 || c.ResumeWait > time.Minute:
		return fmt.Errorf("resume wait %v is outside 0..1m", c.ResumeWait)
	case c.MaxStreams < 1:
		return fmt.Errorf("max streams %d is less than 1", c.MaxStreams)
	case c.MaxStreamsPerAddr < 1:
		return fmt.Errorf("max streams per address %d is less than 1", c.MaxStreamsPerAddr)
	case !(c.MaxPriceJump > 0 && c.MaxPriceJump <= 100):
		return fmt.Errorf("max price jump %v is outside (0, 100]", c.MaxPriceJump)
	}
	return nil
}

// Hub fans ticks out to streams. Publish encodes each tick once; Run
// gathers what was published every FlushInterval and hands the batch to its
// writers, which make one non-blocking write per stream. The hub keeps the
// latest quote of each symbol and a replay ring for resuming streams.
type Hub struct {
	cfg     Config
	symbols []string
	index   map[string]int
	metrics *metrics
	log     *slog.Logger
	writers []*writer
	limits  *streamLimits
	started chan struct{} // closed once Run serves streams

	mu      sync.Mutex
	pending []byte      // encoded events not yet flushed
	ticks   []feed.Tick // the ticks behind pending
	events  []event     // offsets into pending until flushed
	lastSeq uint64      // newest accepted sequence number
	flushed uint64      // newest flushed sequence number
	quotes  []feed.Quote
	prices  []priceGuard // per symbol, in universe order
	ring    *replayRing
	joining []*client
	waiting []*heldStream // resuming ahead of the feed
	state   hubState
	lastAt  time.Time // when the newest tick was accepted
}

type hubState int

const (
	hubIdle hubState = iota
	hubRunning
	hubStopped
)

// ErrUnavailable is returned for streams that arrive before Run or after it ended.
var ErrUnavailable = errors.New("hub is not running")

// NewHub returns a hub for cfg's universe. It serves streams once Run is called.
func NewHub(cfg Config) (*Hub, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("hub config: %w", err)
	}
	h := &Hub{
		cfg:     cfg,
		symbols: cfg.Symbols,
		index:   make(map[string]int, len(cfg.Symbols)),
		log:     cfg.Logger,
		quotes:  make([]feed.Quote, len(cfg.Symbols)),
		prices:  make([]priceGuard, len(cfg.Symbols)),
		ring:    newReplayRing(cfg.ReplaySize),
		limits:  newStreamLimits(cfg.MaxStreams, cfg.MaxStreamsPerAddr),
		started: make(chan struct{}),
	}
	for i, s := range cfg.Symbols {
		if err := checkSymbolName(s); err != nil {
			return nil, fmt.Errorf("hub config: %w", err)
		}
		if _, dup := h.index[s]; dup {
			return nil, fmt.Errorf("hub config: symbol %s listed twice", s)
		}
		h.index[s] = i
		h.quotes[i].Last.Symbol = s
	}
	m, err := newMetrics(cfg.Registerer, cfg.Symbols)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	for range cfg.Writers {
		h.writers = append(h.writers, newWriter(h))
	}
	return h, nil
}

// Symbols returns the universe in display order.
func (h *Hub) Symbols() []string { return h.symbols }

// Errors Publish returns for ticks it rejects.
var (
	ErrUnknownSymbol = errors.New("unknown symbol")
	ErrSequence      = errors.New("sequence number not after the previous tick's")
	ErrBadPrice      = errors.New("price not positive and finite, or bid not below ask")
	ErrPriceJump     = errors.New("price implausibly far from the symbol's last")
)

// Publish accepts one tick for every stream subscribed to its symbol. A tick
// for a symbol outside the universe, with a sequence number not above the
// previous one, with impossible prices, or with a price more than
// MaxPriceJump from the symbol's last is rejected and counted; it never
// reaches a stream, the quotes or the replay ring.
func (h *Hub) Publish(t feed.Tick) error {
	i, ok := h.index[t.Symbol]
	if !ok {
		h.metrics.ticksRejected.WithLabelValues("unknown_symbol").Inc()
		return fmt.Errorf("%w %q", ErrUnknownSymbol, t.Symbol)
	}
	if !validPrice(t.Price) || !validPrice(t.Bid) || !validPrice(t.Ask) || t.Bid >= t.Ask || t.Size <= 0 {
		h.metrics.ticksRejected.WithLabelValues("bad_price").Inc()
		return fmt.Errorf("%w: %s px=%v bid=%v ask=%v size=%d", ErrBadPrice, t.Symbol, t.Price, t.Bid, t.Ask, t.Size)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.Seq <= h.lastSeq {
		h.metrics.ticksRejected.WithLabelValues("sequence").Inc()
		return fmt.Errorf("%w: %d after %d", ErrSequence, t.Seq, h.lastSeq)
	}
	if last, ok := h.prices[i].admit(t.Price, h.cfg.MaxPriceJump); !ok {
		h.metrics.ticksRejected.WithLabelValues("price_jump").Inc()
		return fmt.Errorf("%w: %s px=%v after %v", ErrPriceJump, t.Symbol, t.Price, last)
	}
	h.lastSeq = t.Seq
	h.lastAt = time.Now()
	h.pending = appendTickEvent(h.pending, &t)
	// data is set in takeBatch, once pending has stopped growing.
	h.events = append(h.events, event{seq: t.Seq, sym: int32(i), ts: t.Time.UnixNano(), end: len(h.pending)})
	h.ticks = append(h.ticks, t)
	h.metrics.ticks[i].Inc()
	h.metrics.lastTick.Set(float64(t.Time.UnixNano()) / 1e9)
	return nil
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

// appendTickEvent appends t as an SSE tick event.
func appendTickEvent(dst []byte, t *feed.Tick) []byte {
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, t.Seq, 10)
	dst = append(dst, "\nevent: tick\ndata: "...)
	dst = t.AppendJSON(dst)
	return append(dst, "\n\n"...)
}

// Quotes returns the latest quote of every symbol, in universe order, and
// the sequence number they are current to.
func (h *Hub) Quotes() ([]feed.Quote, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]feed.Quote(nil), h.quotes...), h.flushed
}

// Quote returns the latest quote of one symbol.
func (h *Hub) Quote(symbol string) (feed.Quote, bool) {
	i, ok := h.index[symbol]
	if !ok {
		return feed.Quote{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.quotes[i], true
}

// Status describes the hub for readiness checks.
type Status struct {
	Running  bool
	LastTick time.Time // when the newest tick was accepted; zero before the first
	Clients  int
}

// Status reports whether the hub serves streams and when its last tick was made.
func (h *Hub) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Status{Running: h.state == hubRunning, LastTick: h.lastAt, Clients: int(h.metrics.clientsNow.Load())}
}

// Started is closed once Run serves streams: a stream request before it is
// answered 503.
func (h *Hub) Started() <-chan struct{} { return h.started }

// Run flushes published ticks to the streams every FlushInterval until ctx is
// done, then closes every stream so that its client reconnects (elsewhere,
// behind a load balancer) and returns nil. Run owns the writer goroutines and
// waits for them.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.state != hubIdle {
		h.mu.Unlock()
		return errors.New("hub: Run called twice")
	}
	h.state = hubRunning
	close(h.started)
	h.mu.Unlock()

	var wg sync.WaitGroup
	for _, w := range h.writers {
		wg.Go(w.run)
	}
	defer wg.Wait()

	ticker := time.NewTicker(h.cfg.FlushInterval)
	defer ticker.Stop()
	var (
		lastHousekeeping time.Time
		backlogged       bool
		nextWriter       int
	)
	for {
		select {
		case <-ctx.Done():
			h.stop()
			return nil
		case <-ticker.C:
		}
		now := time.Now()
		b, joins := h.takeBatch(now)
		housekeeping := now.Sub(lastHousekeeping) >= h.housekeepingInterval()
		if len(b.events) == 0 && len(joins) == 0 && !backlogged && !housekeeping {
			continue
		}
		if housekeeping {
			lastHousekeeping = now
		}
		for _, c := range joins {
			w := h.writers[nextWriter%len(h.writers)]
			nextWriter++
			w.joins = append(w.joins, c)
		}
		h.dispatch(cycle{batch: b, now: now, housekeeping: housekeeping})
		backlogged = false
		conflating := 0
		for _, w := range h.writers {
			backlogged = backlogged || w.backlogged > 0
			conflating += w.conflating
		}
		h.metrics.conflating.Set(float64(conflating))
	}
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

// stop refuses new streams, closes every stream and ends the writers.
func (h *Hub) stop() {
	h.mu.Lock()
	h.state = hubStopped
	for _, w := range h.waiting {
		w.c.queue(w.buf, 0, h.cfg.QueueBytes)
		h.joining = append(h.joining, w.c)
	}
	h.waiting = nil
	joins := h.joining
	h.joining = nil
	h.mu.Unlock()
	for i, c := range joins {
		h.writers[i%len(h.writers)].joins = append(h.writers[i%len(h.writers)].joins, c)
	}
	h.dispatch(cycle{now: time.Now(), shutdown: true})
	for _, w := range h.writers {
		close(w.cycles)
	}
}

// batch is one flush's worth of events, encoded back to back in buf.
type batch struct {
	buf    []byte
	events []event
}

// takeBatch moves the pending ticks into the replay ring and the quotes and
// returns them with the streams that joined since the last flush. Doing both
// under one lock is what makes a joining stream's replay or snapshot meet
// its first live batch with no gap and no duplicate.
func (h *Hub) takeBatch(now time.Time) (batch, []*client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	// Held streams start from the state before this batch, which then
	// continues them like any other joining stream.
	if len(h.waiting) > 0 {
		h.startHeld(now)
	}
	b := batch{buf: h.pending, events: h.events}
	start := 0
	for i := range b.events {
		e := &b.events[i]
		e.data = b.buf[start:e.end:e.end]
		start = e.end
		h.ring.push(*e)
	}
	for _, t := range h.ticks {
		h.quotes[h.index[t.Symbol]].Apply(t)
	}
	if len(b.events) > 0 {
		h.flushed = b.events[len(b.events)-1].seq
		// The replay ring keeps this buffer alive while it holds any of its
		// events, so the next one is sized by this batch, not grown to the
		// largest burst ever seen.
		h.pending = make([]byte, 0, len(b.buf)+len(b.buf)/4)
		h.events = make([]event, 0, len(b.events)+len(b.events)/4)
		h.ticks = h.ticks[:0]
	}
	joins := h.joining
	h.joining = nil
	return b, joins
}

// resumeKind says how a new stream starts.
type resumeKind int

const (
	startSnapshot resumeKind = iota // no usable Last-Event-ID: snapshot, then live
	startReplay                     // every missed tick is in the ring: replay, then live
	startResync                     // missed ticks are gone: resync snapshot, then live
)

func (k resumeKind) String() string {
	return [...]string{"snapshot", "replay", "resync"}[k]
}

// streamRequest is what a client asked of its stream, and what the events
// handler settled about it.
type streamRequest struct {
	sub     *subscription // nil: every symbol
	lastID  uint64        // resume after this tick, if resume
	resume  bool
	maxFreq float64      // most ticks per second per symbol; 0: no cap
	addr    netip.Prefix // the per-address limit it holds until it closes
	until   time.Time    // when its credentials expire; zero: never
}

// attach registers a stream on conn. head is the HTTP response head to write
// first. The stream begins with a retry hint and then a snapshot, a replay of
// the ticks after lastID, or a resync snapshot; attach composes that under
// the hub lock, so the next batch continues it exactly. A stream resuming
// from an id the hub has not reached yet is held for up to ResumeWait first.
func (h *Hub) attach(conn net.Conn, head []byte, req streamRequest) error {
	sub, lastID, resume := req.sub, req.lastID, req.resume
	c := newClient(conn, sub)
	c.addr = req.addr
	if !req.until.IsZero() {
		c.until = req.until.UnixNano()
	}
	if req.maxFreq > 0 {
		c.throttle = newThrottle(req.maxFreq, len(h.symbols))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != hubRunning {
		return ErrUnavailable
	}
	buf := append(head, "retry: "...)
	buf = strconv.AppendInt(buf, h.cfg.Retry.Milliseconds(), 10)
	buf = append(buf, "\n\n"...)
	h.metrics.clientsNow.Add(1)
	h.metrics.streamsOpened.Inc()
	if resume && lastID > h.flushed && h.cfg.ResumeWait > 0 {
		h.waiting = append(h.waiting, &heldStream{c: c, buf: buf, lastID: lastID, until: time.Now().Add(h.cfg.ResumeWait)})
		h.metrics.resumeHeld.Inc()
		return nil
	}
	h.start(c, buf, lastID, resume)
	return nil
}

// heldStream is a stream whose Last-Event-ID is ahead of the hub, waiting
// for the feed to reach it.
type heldStream struct {
	c      *client
	buf    []byte // response head and retry hint
	lastID uint64
	until  time.Time
}

// start queues the beginning of c's stream after buf (a snapshot, a replay
// of the ticks after lastID, or a resync snapshot) and has it join at the
// next batch. h.mu is held.
func (h *Hub) start(c *client, buf []byte, lastID uint64, resume bool) resumeKind {
	kind := startSnapshot
	if resume && lastID <= h.flushed {
		kind = startResync
		if h.ring.covers(lastID) {
			kind = startReplay
		}
	}
	switch kind {
	case startReplay:
		h.ring.after(lastID, func(e *event) {
			if c.sub.has(int(e.sym)) {
				buf = append(buf, e.data...)
			}
		})
		h.metrics.replays.Inc()
	case startResync:
		buf = h.appendSnapshot(buf, c.sub, true)
		h.metrics.resyncs.Inc()
	default:
		buf = h.appendSnapshot(buf, c.sub, false)
	}
	c.queue(buf, 0, h.cfg.QueueBytes)
	h.joining = append(h.joining, c)
	return kind
}

// startHeld starts the held streams that the hub has caught up with, or
// that waited ResumeWait (with a snapshot: their id is not one the hub
// knows). h.mu is held.
func (h *Hub) startHeld(now time.Time) {
	kept := h.waiting[:0]
	for _, w := range h.waiting {
		switch {
		case w.lastID <= h.flushed:
			h.start(w.c, w.buf, w.lastID, true)
		case !now.Before(w.until):
			h.start(w.c, w.buf, 0, false)
		default:
			kept = append(kept, w)
		}
	}
	clear(h.waiting[len(kept):])
	h.waiting = kept
}

// appendSnapshot appends a snapshot event with the latest quote of every
// symbol in sub. Its id is the sequence number it is current to, so a client
// that reconnects after it resumes from there.
func (h *Hub) appendSnapshot(dst []byte, sub *subscription, resync bool) []byte {
	if h.flushed > 0 {
		dst = append(dst, "id: "...)
		dst = strconv.AppendUint(dst, h.flushed, 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, "event: snapshot\ndata: {\"seq\":"...)
	dst = strconv.AppendUint(dst, h.flushed, 10)
	dst = append(dst, `,"resync":`...)
	dst = strconv.AppendBool(dst, resync)
	dst = append(dst, `,"quotes":[`...)
	first := true
	for i := range h.quotes {
		if !sub.has(i) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = h.quotes[i].AppendJSON(dst)
	}
	return append(dst, "]}\n\n"...)
}
