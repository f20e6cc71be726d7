package stream

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/setting"
)

// Defaults of the engine's settings: DefaultConfig's values, which
// tickerd's flags take as theirs.
const (
	DefaultReplaySize    = 65536
	DefaultFlushInterval = 5 * time.Millisecond
	DefaultHeartbeat     = 15 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultQueueBytes    = 256 << 10
	DefaultSendBuffer    = 4 << 10
	DefaultResumeWait    = 2 * time.Second
	DefaultMaxPriceJump  = 0.2
	DefaultBarCapacity   = 720
	DefaultBarBytes      = 128 << 20
	DefaultSymbolSeries  = 1000
	DefaultFirehose      = 1000
)

// MaxLearnSymbols is the largest Config.LearnSymbols.
const MaxLearnSymbols = 100_000

// MaxDrainWindow is the longest Config.DrainWindow.
const MaxDrainWindow = 10 * time.Minute

// Config sets up a Hub. Start from DefaultConfig: a zero value is taken as
// it is, never replaced by a default, and Validate refuses what makes no
// sense.
type Config struct {
	Symbols []string // the universe, in display order; required
	// LearnSymbols is how many symbols beyond Symbols the hub takes up from
	// the feed: a tick of a symbol it does not know, whose name follows
	// feed.CheckSymbol, makes it the next symbol of the universe (after
	// Symbols, in the order of their first accepted tick) while fewer than
	// LearnSymbols have been; past that it is rejected. Memory and metric
	// series are sized for Symbols plus LearnSymbols from the start (0: the
	// universe is Symbols, a tick of another symbol is rejected).
	LearnSymbols  int
	ReplaySize    int           // ticks kept for resuming streams; 0 turns replay off: every resume is a resync
	FlushInterval time.Duration // while a cycle is being written, how long the ticks that arrive are gathered for the next; an idle hub writes a tick at once
	Heartbeat     time.Duration // an idle stream gets its framing's heartbeat this often
	WriteTimeout  time.Duration // a stream whose socket accepts nothing this long is closed
	QueueBytes    int           // undelivered bytes per stream before its delivery is conflated
	Writers       int           // goroutines writing to sockets
	// SendBuffer is the kernel send buffer (SO_SNDBUF) each stream's TCP
	// socket starts with, in bytes; 0 leaves the kernel's default, which
	// grows with the connection (to 4 MiB on Linux). A small one makes the
	// queue and the write timeout count from soon after a client stops
	// reading, and bounds the kernel memory a client that never reads can
	// hold. Linux doubles it for its bookkeeping and keeps about one and a
	// half times it in bytes; one stream's throughput is at most about
	// that per round trip and per FlushInterval. So a stream's buffer
	// grows, by powers of two up to 1 MiB, to hold a quarter second of
	// what the stream delivers (the lower rate of its last two measures,
	// of a second or so each) while its client keeps reading: whatever
	// the rate, a client up to about 375 ms away reads at the full rate,
	// and one that stops reading fills its buffer in about a third of a
	// second.
	SendBuffer int
	// ResumeWait is how long a stream whose resume point is ahead of the
	// hub is held while the feed catches up to it, before it starts with a
	// resync snapshot instead (0: not held). Replicas fed from one bus run a few
	// milliseconds apart, so a client that moves from one to another can
	// arrive ahead of the one it lands on.
	ResumeWait   time.Duration
	MaxPriceJump float64 // largest accepted move from a symbol's last price, as a fraction
	BarCapacity  int     // bars kept per symbol and interval, at most
	// BarBytes is the most memory the bars of all symbols take: each
	// symbol's intervals get an equal share of it (BarsPerInterval), at most
	// BarCapacity bars each. 128 MiB keeps 720 bars up to about 970 symbols
	// and 69 per interval at 10,000.
	BarBytes int
	// SymbolSeries is the largest universe whose tickerd_feed_ticks_total
	// has a series per symbol; a larger one gets one series for all
	// symbols (0: always one series).
	SymbolSeries int
	// Firehose is the most symbols a stream that asks for every symbol (no
	// symbols, or *) may get: past it such a stream is refused and told to
	// name its symbols. Its snapshot is a quote per symbol, composed under
	// the engine's lock: 10,000 are 1.7 MB per connection (0: every-symbol
	// streams are always refused).
	Firehose int
	// DrainWindow is how long Run takes, once its context is done, to
	// close the streams: evenly spread over the window, ticks still flowing
	// to those not closed yet, so that their clients do not all reconnect
	// at once. 0 closes every stream at once.
	DrainWindow time.Duration
	// FirstSeq, when not 0, makes the hub the one that numbers: every event
	// it takes in (a tick, a status, bands) gets the next sequence number,
	// from FirstSeq on, in place of the one it came with, so that events
	// of several sources (the publish API beside the simulated market)
	// reach the streams in one increasing order. A rejected event uses no
	// number. 0: events bring their own numbers, each above the one before
	// (a replica's are the bus's sequence), and the hub checks them.
	FirstSeq uint64

	// Framings are the transports' ways of framing events; a stream
	// attaches with one of them. Each tick is framed once per framing.
	Framings []Framing

	Clock      feed.Clock // the time of heartbeats, deadlines and throttling
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// DefaultConfig returns the engine's defaults for symbols, framed by
// framings, on the system clock, with metrics registered nowhere.
func DefaultConfig(symbols []string, framings ...Framing) Config {
	return Config{
		Symbols:       symbols,
		ReplaySize:    DefaultReplaySize,
		FlushInterval: DefaultFlushInterval,
		Heartbeat:     DefaultHeartbeat,
		WriteTimeout:  DefaultWriteTimeout,
		QueueBytes:    DefaultQueueBytes,
		SendBuffer:    DefaultSendBuffer,
		Writers:       runtime.GOMAXPROCS(0),
		MaxPriceJump:  DefaultMaxPriceJump,
		BarCapacity:   DefaultBarCapacity,
		BarBytes:      DefaultBarBytes,
		SymbolSeries:  DefaultSymbolSeries,
		Firehose:      DefaultFirehose,
		Framings:      framings,
		Clock:         feed.SystemClock{},
		Registerer:    prometheus.NewRegistry(),
		Logger:        slog.New(slog.DiscardHandler),
	}
}

// capacity is how many symbols the universe may hold: those configured and
// those it may learn.
func (c *Config) capacity() int { return len(c.Symbols) + c.LearnSymbols }

// Validate reports the first setting of c that the engine cannot run
// with, as a *setting.Error.
func (c *Config) Validate() error {
	bad := func(name string, value any, want string) error { return setting.Bad(name, value, want) }
	switch {
	case len(c.Symbols) == 0:
		return bad("Symbols", "[]", "at least one symbol")
	case c.ReplaySize < 0:
		return bad("ReplaySize", c.ReplaySize, "0 (replay off) or more ticks")
	case c.FlushInterval <= 0 || c.FlushInterval > time.Second:
		return bad("FlushInterval", c.FlushInterval, "a duration above 0 and at most 1s")
	case c.Heartbeat < 100*time.Millisecond:
		return bad("Heartbeat", c.Heartbeat, "at least 100ms")
	case c.WriteTimeout < 100*time.Millisecond:
		return bad("WriteTimeout", c.WriteTimeout, "at least 100ms")
	case c.QueueBytes < 4096:
		return bad("QueueBytes", c.QueueBytes, "at least 4096 bytes")
	case c.SendBuffer != 0 && (c.SendBuffer < 4096 || c.SendBuffer > 64<<20):
		return bad("SendBuffer", c.SendBuffer, "0 (the kernel's default) or 4096 to 67108864 bytes")
	case c.Writers < 1 || c.Writers > 256:
		return bad("Writers", c.Writers, "1 to 256 writers")
	case c.ResumeWait < 0 || c.ResumeWait > time.Minute:
		return bad("ResumeWait", c.ResumeWait, "a resume wait from 0 (not held) to 1m")
	case !(c.MaxPriceJump > 0 && c.MaxPriceJump <= 100):
		return bad("MaxPriceJump", c.MaxPriceJump, "a fraction above 0 and at most 100")
	case c.BarCapacity < 1:
		return bad("BarCapacity", c.BarCapacity, "at least 1 bar")
	case c.LearnSymbols < 0 || c.LearnSymbols > MaxLearnSymbols:
		return bad("LearnSymbols", c.LearnSymbols, fmt.Sprintf("0 (the universe is Symbols) to %d symbols", MaxLearnSymbols))
	case BarsPerInterval(c.BarBytes, c.capacity(), c.BarCapacity) < 1:
		n := c.capacity()
		return bad("BarBytes", c.BarBytes, fmt.Sprintf("at least %d bytes: one bar of each interval for each of the %d symbols", barSize*len(barIntervals)*n, n))
	case c.SymbolSeries < 0:
		return bad("SymbolSeries", c.SymbolSeries, "0 (one series for all symbols) or more symbols")
	case c.Firehose < 0:
		return bad("Firehose", c.Firehose, "0 (no stream of every symbol) or more symbols")
	case c.DrainWindow < 0 || c.DrainWindow > MaxDrainWindow:
		return bad("DrainWindow", c.DrainWindow, "0 (close every stream at once) to "+MaxDrainWindow.String())
	case len(c.Framings) == 0:
		return bad("Framings", "[]", "at least one framing")
	case c.Clock == nil:
		return bad("Clock", "nil", "a clock")
	case c.Registerer == nil:
		return bad("Registerer", "nil", "a registerer")
	case c.Logger == nil:
		return bad("Logger", "nil", "a logger")
	}
	for i, f := range c.Framings {
		if f == nil {
			return bad("Framings", c.Framings, "no nil framing")
		}
		for _, g := range c.Framings[:i] {
			if f == g {
				return bad("Framings", c.Framings, "each framing once")
			}
		}
	}
	return nil
}
