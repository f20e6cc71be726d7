package feed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/tickerd/tickerd/internal/setting"
)

// NATSPublisherConfig configures a [NATSPublisher].
type NATSPublisherConfig struct {
	NATSConfig
	Symbols []string // the universe published; each name must follow [CheckSymbol]
	// MaxPerSymbol and MaxAge bound what the stream keeps: the newest
	// MaxPerSymbol ticks of each symbol, none older than MaxAge, and, when
	// MaxBytes is not 0, at most MaxBytes in all, the oldest ticks going
	// first: per-symbol limits alone grow with the universe (10,000 ticks
	// of each of 10,000 symbols is 15 GB).
	MaxPerSymbol int64
	MaxAge       time.Duration
	MaxBytes     int64
	// Window is how many publications may await their acknowledgement at
	// once, 1 to [MaxPublishWindow] (e.g. [DefaultPublishWindow]). With 1
	// the publisher waits for each tick to be stored before the next.
	Window int
}

// minStreamBytes is the smallest byte limit of the stream a publisher accepts.
const minStreamBytes = 1 << 20

// DefaultPublishWindow and MaxPublishWindow bound the publications in
// flight: enough to keep a loopback or LAN round trip busy at a real
// market's rate (see BENCHMARKS.md, "Bus"), little enough that a window
// resent after an outage is a fraction of a second of ticks.
const (
	DefaultPublishWindow = 1024
	MaxPublishWindow     = 65536
)

// ackTimeout is how long a publication waits for its acknowledgement
// before it counts as failed and is sent again.
const ackTimeout = 2 * time.Second

// dedupWindow is how long JetStream remembers message ids, so that a
// publication retried within it is stored once. It is capped at MaxAge.
const dedupWindow = 2 * time.Minute

// NATSPublisher publishes ticks to the TICKS stream for replicas to serve.
// It creates the stream (or updates its limits) and publishes each tick
// with a message id, up to Window of them awaiting their acknowledgement
// at once, and retries each one until it is stored: a retry of a tick that
// was stored but whose acknowledgement was lost is recognised by its id,
// so one tick never gets two sequence numbers.
//
// The stream stores the ticks in the order they were made, every symbol's
// and all together, even though many are in flight and any of them may
// fail. Each publication in the window expects (Nats-Expected-Last-Msg-Id)
// the one before it to be the last the stream stored, so the server
// refuses every tick after one it did not store, instead of letting a
// later tick of the same symbol overtake it. When a publication fails
// (an error, a lost acknowledgement, a lost connection), the publisher
// stops sending, waits until every publication in flight has been
// answered or has timed out, and then sends every unacknowledged one
// again, one at a time and in order, with its own id: those that were
// stored are recognised as duplicates, the others are stored after them.
// Only then does it go on with new ticks. The connection keeps no
// buffer of its own while reconnecting, so nothing is sent behind that.
//
// The chain of expectations assumes the publisher is the stream's only
// writer; another writer's message makes the publications in flight fail
// and be resent one at a time, which keeps the order but not the pace.
type NATSPublisher struct {
	cfg     NATSPublisherConfig
	metrics *publisherMetrics
	ran     atomic.Bool // Run has been called: a publisher runs once
	conn    atomic.Pointer[nats.Conn]
	ok      atomic.Bool // the stream exists and the last publication was stored
	mark    storedMark
}

// NewNATSPublisher returns a publisher for cfg; Run connects.
func NewNATSPublisher(cfg NATSPublisherConfig) (*NATSPublisher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := checkSymbols(cfg.Symbols); err != nil {
		return nil, err
	}
	if cfg.MaxPerSymbol < 1 {
		return nil, setting.Bad("MaxPerSymbol", cfg.MaxPerSymbol, "at least 1 tick kept per symbol")
	}
	if cfg.MaxAge < time.Second {
		return nil, setting.Bad("MaxAge", cfg.MaxAge, "a tick retention of at least 1s")
	}
	if cfg.MaxBytes < 0 || cfg.MaxBytes > 0 && cfg.MaxBytes < minStreamBytes {
		return nil, setting.Bad("MaxBytes", cfg.MaxBytes, fmt.Sprintf("0 (no limit) or at least %d bytes", minStreamBytes))
	}
	if cfg.Window < 1 || cfg.Window > MaxPublishWindow {
		return nil, setting.Bad("Window", cfg.Window, fmt.Sprintf("1 to %d publications in flight", MaxPublishWindow))
	}
	m, err := newPublisherMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &NATSPublisher{cfg: cfg, metrics: m}, nil
}

// ErrPublishFailing is what Ready reports while publications fail.
var ErrPublishFailing = errors.New("ticks are not being stored in JetStream")

// Ready reports whether the publisher is connected and storing ticks.
func (p *NATSPublisher) Ready() error {
	nc := p.conn.Load()
	switch {
	case nc == nil || !nc.IsConnected():
		return ErrBusDisconnected
	case !p.ok.Load():
		return ErrPublishFailing
	}
	return nil
}

// Run connects, sets up the stream and then runs src, publishing each of
// its ticks, until ctx is done. While a tick cannot be stored, src waits:
// a simulated market then skips ahead instead of bursting (see
// [Simulator.Run]). A publisher runs once.
func (p *NATSPublisher) Run(ctx context.Context, src Source) error {
	if !p.ran.CompareAndSwap(false, true) {
		return errors.New("NATS publisher runs once: it is running or has run")
	}
	defer p.mark.stop() // after the settler has answered what was in flight
	// No reconnect buffer: a publication made while the connection is
	// down fails at once and waits in the window, in order, instead of
	// going out on the new connection ahead of those lost with the old.
	nc, err := connect(p.cfg.NATSConfig, p.metrics.busMetrics, func() {}, nats.ReconnectBufSize(-1))
	if err != nil {
		return err
	}
	p.conn.Store(nc)
	defer closeConn(nc)
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(p.cfg.Window),
		jetstream.WithPublishAsyncTimeout(ackTimeout))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	wait := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	for first := true; ; first = false {
		err := p.ensureStream(ctx, js)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		p.cfg.Logger.Warn("cannot set up the tick stream yet; retrying", "err", err)
		wait.sleep(ctx, first)
	}
	p.ok.Store(true)

	w := newPublishWindow(p, js)
	var settler sync.WaitGroup
	settler.Go(func() { w.settle(ctx) })
	defer settler.Wait()
	defer w.close() // the settler answers what is in flight, then returns

	runID := nuid.Next() // message ids are unique to this run, whatever Seq starts at
	// Each message keeps its own bytes: it may be sent again.
	events := &publishedEvents{store: func(msg *nats.Msg, key string) { w.send(ctx, msg, runID+"-"+key) }}
	if m, ok := src.(MarketSource); ok {
		return m.RunMarket(ctx, events)
	}
	return src.Run(ctx, events.Tick)
}

// ensureStream creates the stream, or brings its limits to the configured ones.
func (p *NATSPublisher) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              StreamName,
		Description:       "tickerd ticks, one subject per symbol",
		Subjects:          []string{subjectsAll},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: p.cfg.MaxPerSymbol,
		MaxAge:            p.cfg.MaxAge,
		MaxBytes:          streamBytes(p.cfg.MaxBytes),
		Duplicates:        min(dedupWindow, p.cfg.MaxAge),
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", StreamName, err)
	}
	return nil
}

// streamBytes is JetStream's MaxBytes for a configured limit: -1 for none.
func streamBytes(limit int64) int64 {
	if limit == 0 {
		return -1
	}
	return limit
}

// publish stores one tick, waiting for its acknowledgement and retrying
// with the same message id until it is acknowledged or ctx is done, and
// reports whether it was acknowledged.
func (p *NATSPublisher) publish(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, id string) bool {
	wait := backoff{min: 50 * time.Millisecond, max: time.Second}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			p.metrics.retries.Inc()
		}
		// An attempt under way finishes even when ctx ends, so that a
		// stopped publisher has stored, or given up on, every tick it sent.
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		ack, err := js.PublishMsg(callCtx, msg, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			p.stored(ack)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		p.failing(err)
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			// The stream may be gone (a server that lost its store): set it up again.
			if err := p.ensureStream(ctx, js); err != nil {
				p.cfg.Logger.Debug("stream set-up failed", "err", err)
			}
		}
		wait.sleep(ctx, attempt == 0)
	}
	return false
}

// stored counts a publication the stream acknowledged.
func (p *NATSPublisher) stored(ack *jetstream.PubAck) {
	if ack.Duplicate {
		p.metrics.duplicates.Inc()
	} else {
		p.metrics.published.Inc()
	}
	p.metrics.lastSeq.Set(float64(ack.Sequence))
	if !p.ok.Swap(true) {
		p.cfg.Logger.Info("storing ticks again", "seq", ack.Sequence)
	}
}

// failing notes that a publication was not acknowledged.
func (p *NATSPublisher) failing(err error) {
	if p.ok.Swap(false) {
		p.cfg.Logger.Warn("cannot store ticks; retrying", "err", err)
	}
}
