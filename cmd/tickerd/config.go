package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/ingest"
	"github.com/tickerd/tickerd/internal/setting"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/poll"
	"github.com/tickerd/tickerd/stream/sse"
	"github.com/tickerd/tickerd/stream/ws"
)

// config is everything tickerd can be told on its command line or in its
// environment. Every flag -some-name has the variable TICKERD_SOME_NAME;
// a flag given on the command line wins over the variable.
type config struct {
	addr          string
	debugAddr     string
	symbols       string
	rate          float64
	seed          uint64
	firstSeq      uint64
	replay        int
	heartbeat     time.Duration
	writeTimeout  time.Duration
	flushInterval time.Duration
	queueBytes    int
	sendBuffer    int
	retry         time.Duration
	maxSymbols    int
	maxQueryBytes int
	maxPriceJump  float64
	maxStreams    int
	maxPerAddr    int
	fdReserve     int
	gcPercent     int
	streamRate    float64
	streamBurst   int
	addrRate      float64
	addrBurst     int
	drainWindow   time.Duration
	trustProxies  prefixList
	readHeader    time.Duration
	maxHeader     int
	corsOrigins   string
	authSecret    string // file
	authJWKS      string // file
	authIssuer    string
	authAudience  string
	authCookie    string
	authClaim     string
	stallAfter    time.Duration
	wsPongTimeout time.Duration
	wsMessageRate float64
	pollMaxWait   time.Duration
	grace         time.Duration
	logLevel      slog.Level
	logFormat     string

	feed             string        // where a server's ticks come from: memory or nats
	resumeWait       time.Duration // how long a resume ahead of the feed is held
	natsURL          string
	natsMaxPerSymbol int64         // ticks the stream keeps per symbol (publish)
	natsMaxAge       time.Duration // and for how long at most (publish)
	natsMaxBytes     int64         // and in how many bytes in all (publish)

	barBytes          int // memory for all symbols' bars
	symbolSeries      int // largest universe with a tick series per symbol
	firehose          int // most symbols a stream of every symbol may get
	natsPublishWindow int // publications awaiting acknowledgement at once (publish)

	publishKeyFile  string // the publish API's key; empty: the API is off
	publishMaxBytes int64
	publishMaxLines int
	publishRate     float64
	replayFile      string  // -feed replay
	replaySpeed     float64 // -feed replay
	replayLoop      bool    // -feed replay
	learnSymbols    int     // symbols a server fed from outside may learn from its feed

	market marketFlags // the simulated market's sessions and clock
}

// Defaults of the flags that only the program has.
const (
	defaultFDReserve   = 128
	defaultDrainWindow = 5 * time.Second
)

// role is what the process does: serve clients (all-in-one or replica,
// by -feed) or publish the simulated market to NATS.
type role int

const (
	roleServe role = iota
	rolePublish
)

// Values of -feed.
const (
	feedMemory = "memory"
	feedNATS   = "nats"
	feedHTTP   = "http"   // only the publish API feeds the hub
	feedReplay = "replay" // a recorded tick file
)

// errHelp is returned when -h was asked for; the usage is already printed.
var errHelp = flag.ErrHelp

// usageError is a command-line or environment mistake: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// newFlagSet returns the flags of role r, each set into c, with a usage
// message on stderr that names every flag's environment variable.
func newFlagSet(r role, c *config, stderr io.Writer) *flag.FlagSet {
	name := "tickerd"
	if r == rolePublish {
		name = "tickerd publish"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", ":8080", "listen address")
	fs.StringVar(&c.debugAddr, "debug-addr", "", "serve Go profiling (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; empty: off. Keep it off the public network")
	fs.StringVar(&c.symbols, "symbols", "", "symbols to simulate: empty for the default universe, a comma list (NAME or NAME=price/volatility), @file.json, or synthetic:N[/SEED] for N generated symbols; fed from outside (-feed http, replay, nats) any NAME, and for replay empty means the file's symbols")
	fs.Float64Var(&c.rate, "rate", 100, "total ticks per second across all symbols")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed of the simulated market; 0 picks one from the clock")
	fs.Uint64Var(&c.firstSeq, "first-seq", 0, "sequence number of the first event (tick, status or bands); 0 means the start time in Unix microseconds, so ids keep growing across restarts")
	fs.IntVar(&c.replay, "replay", stream.DefaultReplaySize, "ticks kept for resuming streams with Last-Event-ID; 0 turns replay off (every resume gets a resync snapshot)")
	fs.DurationVar(&c.heartbeat, "heartbeat", stream.DefaultHeartbeat, "heartbeat comment on streams idle this long")
	fs.DurationVar(&c.writeTimeout, "write-timeout", stream.DefaultWriteTimeout, "close a stream whose client accepts no bytes for this long")
	fs.DurationVar(&c.flushInterval, "flush-interval", stream.DefaultFlushInterval, "while streams are being written, how long new ticks are gathered for one write per stream; a tick that finds the hub idle is written at once")
	fs.IntVar(&c.queueBytes, "queue-bytes", stream.DefaultQueueBytes, "bytes queued for a slow stream before it gets only the latest tick per symbol")
	fs.IntVar(&c.sendBuffer, "send-buffer", stream.DefaultSendBuffer, "kernel send buffer (SO_SNDBUF) each stream's socket starts with, in bytes, so that a client that stops reading is conflated and closed in seconds; it grows to a quarter second of the stream (at most 1 MiB) while the client reads; 0: the kernel's default, which grows to megabytes")
	fs.DurationVar(&c.retry, "retry", sse.DefaultRetry, "reconnect delay advertised to clients; 0: reconnect at once")
	fs.IntVar(&c.maxSymbols, "max-symbols", sse.DefaultMaxSymbols, "most symbols one subscription may name")
	fs.IntVar(&c.maxQueryBytes, "max-query-bytes", sse.DefaultMaxQueryBytes, "longest query string accepted on /events")
	fs.IntVar(&c.maxStreams, "max-streams", guard.DefaultMaxStreams, "most event streams open at once; more are answered 503")
	fs.IntVar(&c.maxPerAddr, "max-streams-per-addr", guard.DefaultMaxStreamsPerAddr, "most event streams open at once from one client address (an IPv6 /64); more are answered 429")
	fs.IntVar(&c.gcPercent, "gc-percent", defaultGCPercent, "how far, in percent, the heap may grow past what the last garbage collection found live before the next one (Go's GOGC, which this replaces): lower holds less memory for more collecting; 10 to 1000")
	fs.IntVar(&c.fdReserve, "fd-reserve", defaultFDReserve, "open files kept out of the streams' reach for probes, metrics, API requests and the answers that refuse streams; -max-streams is lowered, with a warning, when the open-file limit cannot hold it and these")
	fs.Float64Var(&c.streamRate, "stream-rate", 0, "new streams per second in all, a token bucket of -stream-burst; more are answered 503 with Retry-After; 0: off")
	fs.IntVar(&c.streamBurst, "stream-burst", guard.DefaultStreamBurst, "new streams let in at once when -stream-rate is on")
	fs.Float64Var(&c.addrRate, "stream-rate-per-addr", 0, "new streams per second from one client address (an IPv6 /64), a token bucket of -stream-burst-per-addr; more are answered 429 with Retry-After; 0: off. Polls pass neither bucket")
	fs.IntVar(&c.addrBurst, "stream-burst-per-addr", guard.DefaultStreamBurstPerAddr, "new streams one address may open at once when -stream-rate-per-addr is on")
	fs.DurationVar(&c.drainWindow, "drain-window", defaultDrainWindow, "on SIGTERM, /readyz fails at once and the streams are closed evenly over this long, ticks flowing to those still open, before the server stops; 0: every stream closed at once")
	fs.Var(&c.trustProxies, "trust-proxies", "comma list of proxy addresses or CIDR prefixes whose X-Forwarded-For names the client; empty trusts none")
	fs.DurationVar(&c.readHeader, "read-header-timeout", 5*time.Second, "time a client has to send a request's headers")
	fs.IntVar(&c.maxHeader, "max-header-bytes", 16<<10, "largest request line and headers accepted; larger requests are answered 431")
	fs.StringVar(&c.corsOrigins, "cors-origins", "", "comma list of origins (https://app.example) whose pages may read tickerd's answers, or * for any origin without cookies; empty: same origin only")
	fs.StringVar(&c.authSecret, "auth-secret-file", "", "file holding the HS256 secret (at least 32 bytes) that signs subscribers' tokens; setting it turns authentication on")
	fs.StringVar(&c.authJWKS, "auth-jwks-file", "", "JWKS file with the RS256/ES256 public keys that sign subscribers' tokens; setting it turns authentication on")
	fs.StringVar(&c.authIssuer, "auth-issuer", "", "required iss claim of tokens; empty: not checked")
	fs.StringVar(&c.authAudience, "auth-audience", "", "required aud claim of tokens; empty: not checked")
	fs.StringVar(&c.authCookie, "auth-cookie", auth.DefaultCookie, "cookie that may carry the token (the page's EventSource cannot send headers)")
	fs.StringVar(&c.authClaim, "auth-claim", auth.DefaultClaim, "claim listing the symbol patterns a token entitles to (*, NV*, AAPL)")
	fs.Float64Var(&c.maxPriceJump, "max-price-jump", stream.DefaultMaxPriceJump*100, "reject a tick whose price is more than this percentage away from its symbol's last")
	fs.DurationVar(&c.wsPongTimeout, "ws-pong-timeout", ws.DefaultPongTimeout, "close a WebSocket that has not answered a ping (sent after -heartbeat of silence) within this long")
	fs.Float64Var(&c.wsMessageRate, "ws-message-rate", ws.DefaultMessageRate, "client messages per second a WebSocket may send on average (twice as many at once); more close it with 1008")
	fs.DurationVar(&c.pollMaxWait, "poll-max-wait", poll.DefaultMaxWait, "longest wait a poll of /api/ticks may ask for; 0: polls are answered at once")
	fs.DurationVar(&c.stallAfter, "stall-after", 10*time.Second, "/readyz reports the feed stalled after this long without a tick")
	// Every role has every flag and ignores those it does not use, so one
	// environment can configure them all.
	fs.StringVar(&c.feed, "feed", feedMemory, "where ticks come from: memory (the simulated market, in process), nats (a replica: the JetStream stream a publisher fills), http (only POST /api/publish) or replay (-replay-file); tickerd publish takes memory, http or replay")
	fs.DurationVar(&c.resumeWait, "resume-wait", stream.DefaultResumeWait, "replicas (-feed nats): how long a stream resuming from an id this server has not reached yet waits for the feed to reach it (replicas run a little apart)")
	fs.StringVar(&c.natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS server URL (a comma list for a cluster), for -feed nats and publish")
	fs.Int64Var(&c.natsMaxPerSymbol, "nats-max-per-symbol", 10000, "publish: ticks the JetStream stream keeps per symbol")
	fs.DurationVar(&c.natsMaxAge, "nats-max-age", time.Hour, "publish: longest a tick stays in the JetStream stream")
	fs.Int64Var(&c.natsMaxBytes, "nats-max-bytes", 1<<30, "publish: most bytes the JetStream stream keeps in all, the oldest ticks going first (at least 1048576)")
	fs.IntVar(&c.barBytes, "bar-bytes", stream.DefaultBarBytes, "most memory the bars of all symbols take (/api/history); each symbol gets an equal share, at most 720 bars per interval")
	fs.IntVar(&c.symbolSeries, "symbol-series", stream.DefaultSymbolSeries, "largest universe whose tickerd_feed_ticks_total has a series per symbol; a larger one gets one series for all symbols; 0: always one series")
	fs.IntVar(&c.firehose, "firehose", stream.DefaultFirehose, "most symbols a stream that asks for every symbol (no symbols, or *) may get; past it such a stream is refused with 400 and told to name its symbols; 0: always refused")
	fs.IntVar(&c.natsPublishWindow, "nats-publish-window", feed.DefaultPublishWindow, "publish: ticks sent to JetStream and not yet acknowledged at most; 1 waits for each acknowledgement")
	fs.StringVar(&c.publishKeyFile, "publish-key-file", "", "file holding the API key (at least 32 bytes) that publishers send to POST /api/publish as Authorization: Bearer; setting it turns the publish API on")
	fs.Int64Var(&c.publishMaxBytes, "publish-max-bytes", ingest.DefaultMaxBodyBytes, "largest body of one POST /api/publish; larger are answered 413")
	fs.IntVar(&c.publishMaxLines, "publish-max-lines", ingest.DefaultMaxLines, "most tick lines in one POST /api/publish; more are answered 413")
	fs.Float64Var(&c.publishRate, "publish-rate", ingest.DefaultRequestRate, "POST /api/publish requests per second one publisher may send on average (twice as many at once); more are answered 429")
	fs.StringVar(&c.replayFile, "replay-file", "", "with -feed replay: the tick file to play (NDJSON or CSV, .gz or not), as tickerd record writes")
	fs.Float64Var(&c.replaySpeed, "replay-speed", 1, "with -feed replay: how many times faster than recorded the file plays")
	fs.BoolVar(&c.replayLoop, "replay-loop", false, "with -feed replay: play the file again from its start after its end")
	fs.IntVar(&c.learnSymbols, "learn-symbols", 0, "with -feed http, replay or nats (and tickerd publish -feed http): how many symbols beyond -symbols the universe takes up from the feed, on each one's first accepted tick; past them a tick of an unknown symbol is rejected; 0: the universe is -symbols")
	c.market.register(fs)
	fs.DurationVar(&c.grace, "grace", 10*time.Second, "how long shutdown waits for requests in flight")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickerd [flags]                    serve: all-in-one, or a replica with -feed nats\n"+
			"       tickerd publish [flags]            run the simulated market into NATS JetStream\n"+
			"       tickerd watch [flags]              print a running tickerd's ticks\n"+
			"       tickerd record -o FILE [flags]     write a running tickerd's ticks to a file -feed replay plays\n"+
			"       tickerd healthcheck [flags]        exit 0 if a running tickerd is ready\n\n"+
			"Flags of %s (each also read from the environment variable shown):\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(fs.Output(), "  -%s (%s, default %q)\n    \t%s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
	}
	return fs
}

func parseConfig(r role, args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := newFlagSet(r, &c, stderr)
	if err := applyEnv(fs, getenv); err != nil {
		return c, usageError{err}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, usageError{err}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, usageError{fmt.Errorf("-log-format %q: want text or json", c.logFormat)}
	}
	if c.grace <= 0 {
		return c, usageError{fmt.Errorf("-grace %v: want a positive duration", c.grace)}
	}
	if c.readHeader <= 0 {
		return c, usageError{fmt.Errorf("-read-header-timeout %v: want a positive duration", c.readHeader)}
	}
	if c.maxHeader < 1024 {
		return c, usageError{fmt.Errorf("-max-header-bytes %d: want at least 1024", c.maxHeader)}
	}
	if c.gcPercent < 10 || c.gcPercent > 1000 {
		return c, usageError{fmt.Errorf("-gc-percent %d: want 10 to 1000 percent", c.gcPercent)}
	}
	if c.fdReserve < 0 {
		return c, usageError{fmt.Errorf("-fd-reserve %d: want 0 (no reserve) or more open files", c.fdReserve)}
	}
	if c.stallAfter <= 0 {
		return c, usageError{fmt.Errorf("-stall-after %v: want a positive duration", c.stallAfter)}
	}
	switch {
	case r == roleServe && c.feed != feedMemory && c.feed != feedNATS && c.feed != feedHTTP && c.feed != feedReplay:
		return c, usageError{fmt.Errorf("-feed %q: want memory, nats, http or replay", c.feed)}
	case r == rolePublish && c.feed != feedMemory && c.feed != feedHTTP && c.feed != feedReplay:
		return c, usageError{fmt.Errorf("-feed %q: tickerd publish wants memory, http or replay", c.feed)}
	case c.feed == feedHTTP && c.publishKeyFile == "":
		return c, usageError{errors.New("-feed http: needs -publish-key-file, the key publishers send")}
	case c.feed == feedReplay && c.replayFile == "":
		return c, usageError{errors.New("-feed replay: needs -replay-file, the file to play")}
	case c.learnSymbols < 0 || c.learnSymbols > stream.MaxLearnSymbols:
		return c, usageError{fmt.Errorf("-learn-symbols %d: want 0 (the universe is -symbols) to %d symbols", c.learnSymbols, stream.MaxLearnSymbols)}
	case c.learnSymbols != 0 && c.feed == feedMemory:
		return c, usageError{fmt.Errorf("-learn-symbols %d: with -feed memory the universe is the simulated one (-symbols); symbols are learned from -feed http, replay or nats", c.learnSymbols)}
	case c.learnSymbols != 0 && r == rolePublish && c.feed != feedHTTP:
		return c, usageError{fmt.Errorf("-learn-symbols %d: tickerd publish checks the symbols of -feed http only; a file is published as it is, and the replicas learn its symbols", c.learnSymbols)}
	case !(c.replaySpeed >= feed.MinReplaySpeed && c.replaySpeed <= feed.MaxReplaySpeed):
		return c, usageError{fmt.Errorf("-replay-speed %v: want %v to %d", c.replaySpeed, feed.MinReplaySpeed, int64(feed.MaxReplaySpeed))}
	}
	if r == rolePublish && c.natsMaxBytes < 1<<20 {
		return c, usageError{fmt.Errorf("-nats-max-bytes %d: want at least 1048576 bytes", c.natsMaxBytes)}
	}
	if err := c.market.validate(); err != nil {
		return c, usageError{err}
	}
	if (r == rolePublish || c.feed == feedNATS) && c.natsURL == "" {
		return c, usageError{errors.New("-nats-url: want the URL of a NATS server")}
	}
	return c, nil
}

// authLeeway is the clock skew allowed between tickerd and the token issuer.
const authLeeway = 5 * time.Second

// verifier returns the token verifier the auth flags describe, or nil when
// authentication is off (neither a secret nor a JWKS file).
func (c config) verifier() (*auth.Verifier, error) {
	if c.authSecret == "" && c.authJWKS == "" {
		return nil, nil
	}
	cfg := auth.Config{Issuer: c.authIssuer, Audience: c.authAudience, Cookie: c.authCookie, Claim: c.authClaim, Leeway: authLeeway}
	if c.authSecret != "" {
		b, err := os.ReadFile(c.authSecret)
		if err != nil {
			return nil, fmt.Errorf("-auth-secret-file: %w", err)
		}
		cfg.Secret = bytes.TrimRight(b, "\r\n")
	}
	if c.authJWKS != "" {
		b, err := os.ReadFile(c.authJWKS)
		if err != nil {
			return nil, fmt.Errorf("-auth-jwks-file: %w", err)
		}
		cfg.JWKS = b
	}
	return auth.New(cfg)
}

// cors returns the CORS allow-list of -cors-origins.
func (c config) cors() (*guard.CORS, error) {
	var origins []string
	for o := range strings.SplitSeq(c.corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	cors, err := guard.NewCORS(origins)
	if err != nil {
		return nil, fmt.Errorf("-cors-origins: %w", err)
	}
	return cors, nil
}

// prefixList is a flag holding a comma list of addresses or CIDR prefixes.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, p := range *l {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (l *prefixList) Set(s string) error {
	*l = nil
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			*l = append(*l, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return fmt.Errorf("%q is neither an address nor a CIDR prefix", item)
		}
		*l = append(*l, p.Masked())
	}
	return nil
}

// envName is the environment variable of a flag: -write-timeout → TICKERD_WRITE_TIMEOUT.
func envName(flagName string) string {
	return "TICKERD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag whose variable is set, before the command line is parsed.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v := getenv(name); v != "" && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s (-%s): %w", envSetting(name, v), f.Name, e)
			}
		}
	})
	return err
}

// envSetting is how a message shows the variable name set to v:
// TICKERD_REPLAY=-1, or the value quoted when it has spaces or quotes.
func envSetting(name, v string) string {
	if strings.ContainsAny(v, " \t\n\"'\\") || !utf8.ValidString(v) {
		return fmt.Sprintf("%s=%q", name, v)
	}
	return name + "=" + v
}

// fromEnvironment returns the flags of role r whose value comes from the
// environment, the command line args not overriding it, with that value.
func fromEnvironment(r role, args []string, getenv func(string) string) map[string]string {
	values := map[string]string{}
	newFlagSet(r, &config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" {
			values[f.Name] = v
		}
	})
	given := newFlagSet(r, &config{}, io.Discard)
	_ = given.Parse(args) // a command line it refuses was refused before, in an error that names no variable
	given.Visit(func(f *flag.Flag) { delete(values, f.Name) })
	return values
}

// namedError is an error whose message names where a value came from.
type namedError struct {
	msg string
	err error
}

func (e namedError) Error() string { return e.msg }
func (e namedError) Unwrap() error { return e.err }

// nameEnvironment makes err, if it begins by naming a flag of role r whose
// value came from the environment ("-replay -1: want ..."), name the
// variable and its value instead, then the flag: "TICKERD_REPLAY=-1
// (-replay): want ...". Every refusal of a setting names the flag first,
// so this is the one place where a refusal learns the variable. Any other
// error is returned as it is, a usage error still one.
func nameEnvironment(r role, args []string, getenv func(string) string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "-") {
		return err
	}
	end := strings.IndexAny(msg, " :")
	if end < 0 {
		return err
	}
	name, rest := msg[1:end], msg[end:]
	v, ok := fromEnvironment(r, args, getenv)[name]
	if !ok {
		return err
	}
	// The value as the message shows it, quoted or not, gives way to the
	// variable's.
	if strings.HasPrefix(rest, " ") {
		if q, qerr := strconv.QuotedPrefix(rest[1:]); qerr == nil && strings.HasPrefix(rest[1+len(q):], ":") {
			rest = rest[1+len(q):]
		} else if i := strings.Index(rest, ": "); i > 0 && !strings.Contains(rest[1:i], " ") {
			rest = rest[i:]
		}
	}
	named := namedError{msg: fmt.Sprintf("%s (-%s)%s", envSetting(envName(name), v), name, rest), err: err}
	var u usageError
	if errors.As(err, &u) {
		return usageError{named}
	}
	return named
}

func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// universe is the symbols of -symbols, and their names in the same order.
// Fed from outside (-feed http, replay or nats), a server needs only
// names, and takes any: the universe is nil.
func (c config) universe() ([]feed.Symbol, []string, error) {
	if c.feed == feedHTTP || c.feed == feedReplay || c.feed == feedNATS {
		names, err := feed.ParseSymbolNames(c.symbols)
		if err != nil {
			return nil, nil, usageError{fmt.Errorf("-symbols: %w", err)}
		}
		return nil, names, nil
	}
	universe, err := feed.ParseSymbols(c.symbols)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("-symbols: %w", err)}
	}
	names := make([]string, len(universe))
	for i, s := range universe {
		names[i] = s.Name
	}
	return universe, names, nil
}

// settingFlags names the flag of each setting that the engine, the
// edges, the stream limits and the feeds validate, which they name by
// field.
var settingFlags = map[string]string{
	"Symbols":            "symbols",
	"ReplaySize":         "replay",
	"FlushInterval":      "flush-interval",
	"Heartbeat":          "heartbeat",
	"WriteTimeout":       "write-timeout",
	"Rate":               "rate",
	"QueueBytes":         "queue-bytes",
	"SendBuffer":         "send-buffer",
	"ResumeWait":         "resume-wait",
	"MaxPriceJump":       "max-price-jump",
	"MaxSymbols":         "max-symbols",
	"MaxQueryBytes":      "max-query-bytes",
	"Retry":              "retry",
	"MaxStreams":         "max-streams",
	"MaxStreamsPerAddr":  "max-streams-per-addr",
	"PingInterval":       "heartbeat",
	"PongTimeout":        "ws-pong-timeout",
	"MessageRate":        "ws-message-rate",
	"MaxWait":            "poll-max-wait",
	"MaxPerSymbol":       "nats-max-per-symbol",
	"Secret":             "auth-secret-file",
	"JWKS":               "auth-jwks-file",
	"Cookie":             "auth-cookie",
	"Claim":              "auth-claim",
	"MaxAge":             "nats-max-age",
	"StreamRate":         "stream-rate",
	"StreamBurst":        "stream-burst",
	"StreamRatePerAddr":  "stream-rate-per-addr",
	"StreamBurstPerAddr": "stream-burst-per-addr",
	"DrainWindow":        "drain-window",
	"BarBytes":           "bar-bytes",
	"SymbolSeries":       "symbol-series",
	"Firehose":           "firehose",
	"MaxBytes":           "nats-max-bytes",
	"Window":             "nats-publish-window",
	"Key":                "publish-key-file",
	"MaxBodyBytes":       "publish-max-bytes",
	"MaxLines":           "publish-max-lines",
	"RequestRate":        "publish-rate",
	"LearnSymbols":       "learn-symbols",
}

// settingError turns a setting a package refused into a usage error that
// names the flag and the value given to it.
func (c config) settingError(err error) error {
	var bad *setting.Error
	if !errors.As(err, &bad) {
		return err
	}
	name, ok := settingFlags[bad.Name]
	if !ok {
		return err
	}
	value := any(bad.Value)
	switch name {
	case "max-price-jump":
		value = c.maxPriceJump // the flag is a percentage, the setting a fraction
		bad.Want = "a percentage above 0 and at most 10000"
	case "auth-secret-file": // the flag names a file, the setting is its content
		value = fmt.Sprintf("%s: the secret %v", c.authSecret, bad.Value)
	case "auth-jwks-file":
		value = fmt.Sprintf("%s %v", c.authJWKS, bad.Value)
	}
	return usageError{fmt.Errorf("-%s %v: want %s", name, value, bad.Want)}
}
