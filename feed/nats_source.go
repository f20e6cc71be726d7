package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/internal/setting"
)

// NATSSourceConfig configures a [NATSSource].
type NATSSourceConfig struct {
	NATSConfig
	// Symbols is the universe served, names that follow [CheckSymbol]. A
	// starting replica reads back far enough to have the last tick of
	// each, so its quotes are complete.
	Symbols []string
	// Replay is how many of the newest ticks a starting replica reads to fill
	// its replay ring, so clients can resume on it at once.
	Replay int
	// Heartbeat is how often the server proves an idle consumer alive
	// (1s, at least 500ms); two missed mean the consumer is recreated.
	Heartbeat time.Duration
	// Batch is how many messages one pull request asks for, 1 to
	// [MaxConsumeBatch]; 0 means [DefaultConsumeBatch]. The next request
	// goes out when half of them have arrived, so the stream keeps
	// flowing while the replica hands ticks on.
	Batch int
}

// DefaultConsumeBatch and MaxConsumeBatch bound a replica's pull requests.
const (
	DefaultConsumeBatch = 1000
	MaxConsumeBatch     = 10000
)

// NATSSource is the replica's [Source]: it consumes the TICKS stream in
// stream order and hands each tick on with Seq set to its stream sequence,
// which is the same on every replica. It starts by reading back the newest
// Replay ticks (further, if a symbol's last tick is older), then follows
// the stream live. When the bus goes away it keeps reconnecting and then
// resumes after the last sequence it handed on: no gap, no duplicate.
type NATSSource struct {
	cfg     NATSSourceConfig
	metrics *sourceMetrics
	running atomic.Bool
	conn    atomic.Pointer[nats.Conn]
	warm    atomic.Bool // read up to the stream's end as it was at the start

	mu      sync.Mutex
	restart func() // stops the current consumer so that it is recreated
}

// NewNATSSource returns a source for cfg; Run connects.
func NewNATSSource(cfg NATSSourceConfig) (*NATSSource, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.Replay < 0 {
		return nil, setting.Bad("ReplaySize", cfg.Replay, "0 (replay off) or more ticks")
	}
	if err := checkSymbols(cfg.Symbols); err != nil {
		return nil, err
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Heartbeat < 500*time.Millisecond || cfg.Heartbeat > 30*time.Second {
		return nil, fmt.Errorf("consumer heartbeat %v is outside 500ms..30s", cfg.Heartbeat)
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultConsumeBatch
	}
	if cfg.Batch < 1 || cfg.Batch > MaxConsumeBatch {
		return nil, setting.Bad("Batch", cfg.Batch, fmt.Sprintf("1 to %d messages per pull", MaxConsumeBatch))
	}
	m, err := newSourceMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &NATSSource{cfg: cfg, metrics: m}, nil
}

// ErrWarmingUp is what Ready reports until the source has read the ticks
// that were in the stream when it started.
var ErrWarmingUp = errors.New("reading recent ticks from JetStream")

// Ready reports whether the source is connected and has read the ticks
// that were in the stream when it started: a replica should not take
// clients before.
func (s *NATSSource) Ready() error {
	nc := s.conn.Load()
	switch {
	case nc == nil || !nc.IsConnected():
		return ErrBusDisconnected
	case !s.warm.Load():
		return ErrWarmingUp
	}
	return nil
}

// ErrStreamReset is returned by Run when the stream's sequence numbers went
// back below ones already handed on: the stream was deleted and created
// again. Ids cannot stay monotonic across that, so the replica must restart.
var ErrStreamReset = errors.New("the tick stream restarted its sequence numbers")

// Run consumes the stream until ctx is done, handing on its ticks.
func (s *NATSSource) Run(ctx context.Context, publish func(Tick)) error {
	return s.RunMarket(ctx, ticksOnly(publish))
}

// RunMarket consumes the stream until ctx is done, handing on its ticks
// and the market's statuses and bands, each with its stream sequence.
func (s *NATSSource) RunMarket(ctx context.Context, events MarketEvents) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("NATS source is already running")
	}
	defer s.running.Store(false)
	log := s.cfg.Logger
	nc, err := connect(s.cfg.NATSConfig, s.metrics.busMetrics, s.restartConsumer)
	if err != nil {
		return err
	}
	s.conn.Store(nc)
	defer closeConn(nc)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	var pos position
	wait := backoff{min: 100 * time.Millisecond, max: 2 * time.Second}
	failing := false
	for ctx.Err() == nil {
		before := pos.last
		err := s.consume(ctx, js, &pos, events)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, ErrStreamReset):
			return err
		default:
			progressed := pos.last != before || errors.Is(err, errRestart)
			if progressed {
				failing = false
			}
			level := slog.LevelDebug
			if !failing && !errors.Is(err, errRestart) {
				level = slog.LevelWarn
			}
			failing = !progressed
			log.Log(ctx, level, "tick stream interrupted; resuming", "after_seq", pos.last, "err", err)
			wait.sleep(ctx, progressed)
		}
	}
	return nil
}

// position is how far a replica has read the stream.
type position struct {
	last   uint64 // stream sequence of the last tick handed on (or the one before the warm-up start)
	warmTo uint64 // the stream's last sequence when the replica started
	warm   bool   // the warm-up start was chosen
}

// errRestart ends a consumer on purpose: the connection came back.
var errRestart = errors.New("consumer restarted after a reconnect")

// restartConsumer makes the running consume call return so that Run
// creates a new consumer after the last sequence handed on.
func (s *NATSSource) restartConsumer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restart != nil {
		s.restart()
	}
}

// consume creates a consumer that starts after pos.last (or, the first
// time, at the warm-up start) and hands its ticks on until it fails.
func (s *NATSSource) consume(ctx context.Context, js jetstream.JetStream, pos *position, events MarketEvents) error {
	log := s.cfg.Logger
	callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stream, err := js.Stream(callCtx, StreamName)
	if err != nil {
		return fmt.Errorf("stream %s: %w", StreamName, err)
	}
	info, err := stream.Info(callCtx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", StreamName, err)
	}
	from := pos.last + 1
	switch {
	case !pos.warm:
		from, err = s.warmStart(callCtx, stream, info.State)
		if err != nil {
			return err
		}
		pos.warm, pos.warmTo, pos.last = true, info.State.LastSeq, from-1
		log.Info("reading recent ticks from JetStream", "from_seq", from, "to_seq", pos.warmTo)
	case info.State.LastSeq < pos.last:
		return fmt.Errorf("%w: its last sequence is %d, this replica has handed on %d", ErrStreamReset, info.State.LastSeq, pos.last)
	case info.State.FirstSeq > from && pos.last > 0:
		log.Warn("ticks expired from the stream while this replica was away", "missing_from", from, "missing_to", info.State.FirstSeq-1)
	}
	if pos.warmTo < from {
		s.markWarm()
	}

	cons, err := stream.CreateOrUpdateConsumer(callCtx, jetstream.ConsumerConfig{
		Description:       "tickerd replica " + s.cfg.Name,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     subjectsAll,
		MemoryStorage:     true,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}
	name := cons.CachedInfo().Name
	defer func() {
		if !js.Conn().IsConnected() {
			return // the server drops it after InactiveThreshold
		}
		delCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(delCtx, name)
	}()
	// Messages pulls in batches of Batch and asks for more when half of
	// a batch has arrived; Next hands them on one by one, in order.
	it, err := cons.Messages(
		jetstream.PullMaxMessages(s.cfg.Batch),
		jetstream.PullHeartbeat(s.cfg.Heartbeat),
		jetstream.PullExpiry(max(5*time.Second, 4*s.cfg.Heartbeat)))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	defer it.Stop()
	var restarted atomic.Bool
	s.mu.Lock()
	s.restart = func() { restarted.Store(true); it.Stop() }
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.restart = nil
		s.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	var delivered uint64 // consumer sequence: exactly one more per message
	for {
		msg, err := it.Next()
		if err != nil {
			if restarted.Load() {
				return errRestart
			}
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("message metadata: %w", err)
		}
		if meta.Sequence.Consumer != delivered+1 {
			return fmt.Errorf("consumer delivered %d after %d", meta.Sequence.Consumer, delivered)
		}
		delivered = meta.Sequence.Consumer
		seq := meta.Sequence.Stream
		if seq <= pos.last {
			continue
		}
		pos.last = seq
		s.metrics.consumed.Set(float64(seq))
		s.metrics.lag.Set(float64(meta.NumPending))
		var bars []byte
		if v := msg.Headers()[BarsHeader]; len(v) > 0 {
			bars = []byte(v[0])
		}
		if err := handOn(msg.Subject(), bars, msg.Data(), seq, events); err != nil {
			s.metrics.bad.Inc()
			log.Warn("skipping a message that is not a tick, status or bands", "subject", msg.Subject(), "seq", seq, "err", err)
		}
		if seq >= pos.warmTo || meta.NumPending == 0 {
			s.markWarm()
		}
	}
}

func (s *NATSSource) markWarm() {
	if s.warm.CompareAndSwap(false, true) {
		s.cfg.Logger.Info("caught up with JetStream; following live ticks")
	}
}

// warmStart returns the sequence a starting replica reads from: the newest
// Replay ticks, or further back to the last tick of any symbol older than
// those, within what the stream still holds.
func (s *NATSSource) warmStart(ctx context.Context, stream jetstream.Stream, st jetstream.StreamState) (uint64, error) {
	if st.Msgs == 0 {
		return st.LastSeq + 1, nil
	}
	from := st.FirstSeq
	if n := uint64(s.cfg.Replay); st.LastSeq >= n && st.LastSeq-n+1 > from {
		from = st.LastSeq - n + 1
	}
	// The market's session too, so that a starting replica knows it.
	if m, err := stream.GetLastMsgForSubject(ctx, marketStatusSubject); err == nil {
		from = min(from, m.Sequence)
	} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, fmt.Errorf("last status of the market: %w", err)
	}
	for _, sym := range s.cfg.Symbols {
		m, err := stream.GetLastMsgForSubject(ctx, Subject(sym))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("last tick of %s: %w", sym, err)
		}
		from = min(from, m.Sequence)
	}
	return from, nil
}
