package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// Subscription modes: what each client asks for.
const (
	modeFirehose = "firehose" // the URL as given: every symbol
	modeOne      = "one"      // one symbol of -symbols, round robin over clients
	modeRandom   = "random"   // -k symbols of -symbols drawn per client
)

// Transports: how each client connects.
const (
	transportSSE  = "sse"  // GET -url, an event stream
	transportWS   = "ws"   // a WebSocket handshake on -url, then frames
	transportPoll = "poll" // GET -url again and again, with since and wait
)

// reservedFiles is the number of open files kept for everything but the
// client connections (stdio, the runtime's poller, /proc reads).
const reservedFiles = 64

// config is a validated set of flags.
type config struct {
	url            *url.URL
	addr           string // host:port to dial
	transport      string
	pollWait       time.Duration // long polling: the wait each poll asks for
	pollInterval   time.Duration // plain polling: one poll (wait=0) this often
	clients        int
	mode           string
	symbols        []string
	k              int
	ramp           time.Duration
	warmup         time.Duration
	duration       time.Duration
	sample         int // clients that parse every event for latency
	stall          int // clients that connect and never read
	stallRcvBuf    int // SO_RCVBUF of stalled clients; 0 keeps the kernel's
	pid            int
	jsonOnly       bool
	seed           uint64
	bufSize        int
	cpuProfile     string // file for a CPU profile of the measured window
	connectTimeout time.Duration
	backoff        time.Duration
	readEvery      time.Duration // pause between reads of counting clients
	sources        []net.IP      // local addresses to dial from, round robin over clients; nil: the kernel's choice
}

// maxSources is how many loopback source addresses -sources may name:
// 127.0.0.2 to 127.0.0.254.
const maxSources = 253

// parseConfig parses and validates args (without the program name).
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("tickload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tickload -url URL [flags]\n\n"+
			"Opens -clients connections to URL (SSE, WebSocket or polling: -transport),\n"+
			"measures for -duration after the ramp and a warm-up, and reports delivered\n"+
			"tick events, latency, requests and bytes per tick, and the server's CPU/RSS.\n\n")
		fs.PrintDefaults()
	}
	var (
		c       config
		rawURL  = fs.String("url", "", "endpoint, http://host:port/path?query (required): tickerd's /events, /ws or /api/ticks")
		symbols = fs.String("symbols", "", "comma-separated symbols for -mode one and random, or a universe as tickerd's -symbols takes it: synthetic:N[/SEED] or @file.json")
		sample  = fs.String("sample", "50", "clients that parse every event for latency: a count, or a percentage like 5% of the clients that read")
		stall   = fs.Float64("stall", 0, "fraction of clients, in [0,1), that connect and never read")
		seed    = fs.Uint64("seed", 1, "seed for client roles, symbol choice and reconnect jitter")
		sources = fs.Int("sources", 0, "dial from this many loopback addresses, 127.0.0.2 and up, round robin over clients (each gives its own range of ephemeral ports); 0: the kernel chooses; needs a loopback -url")
	)
	fs.IntVar(&c.clients, "clients", 100, "concurrent clients, each on its own connection")
	fs.StringVar(&c.transport, "transport", transportSSE, "sse (an event stream), ws (a WebSocket; firehose clients subscribe to \"*\" unless -url names symbols) or poll (-poll-wait or -poll-interval)")
	fs.DurationVar(&c.pollWait, "poll-wait", 0, "-transport poll: long polling, each poll asks the server to wait this long for a tick (e.g. 25s) and the next follows its answer at once")
	fs.DurationVar(&c.pollInterval, "poll-interval", 0, "-transport poll: plain polling, one poll with wait=0 this often (e.g. 1s)")
	fs.StringVar(&c.mode, "mode", modeFirehose, "subscription per client: firehose (all symbols), one (one of -symbols, round robin), random (-k of -symbols)")
	fs.IntVar(&c.k, "k", 3, "symbols per client in -mode random")
	fs.DurationVar(&c.ramp, "ramp", 5*time.Second, "time over which connections are opened, evenly spaced")
	fs.DurationVar(&c.warmup, "warmup", 5*time.Second, "wait after every client has connected before measuring")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the measured window")
	fs.IntVar(&c.pid, "pid", 0, "server process to sample for CPU and RSS (0: none)")
	fs.BoolVar(&c.jsonOnly, "json", false, "print only the JSON line, not the table")
	fs.IntVar(&c.bufSize, "bufsize", 16<<10, "read buffer per connection, bytes")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of tickload over the measured window to this file")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 10*time.Second, "limit on dial plus response headers")
	fs.DurationVar(&c.backoff, "backoff", time.Second, "first reconnect delay; doubles per failed attempt up to 10x, ±50% jitter")
	fs.DurationVar(&c.readEvery, "read-every", 50*time.Millisecond, "pause after each read of a counting (not sampled) stream client, so one read takes several events; 0 reads at once")
	fs.IntVar(&c.stallRcvBuf, "stall-rcvbuf", 0, "SO_RCVBUF in bytes for stalled clients (0: kernel default)")

	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.seed = *seed

	if err := c.checkTransport(); err != nil {
		return nil, err
	}
	var err error
	if c.url, c.addr, err = parseTarget(*rawURL, c.transport); err != nil {
		return nil, err
	}
	if c.clients < 1 {
		return nil, fmt.Errorf("-clients must be at least 1, got %d", c.clients)
	}
	if err := c.parseSources(*sources); err != nil {
		return nil, err
	}
	limit, err := raiseOpenFileLimit()
	if err != nil {
		return nil, err
	}
	if need := uint64(c.clients) + reservedFiles; need > limit {
		return nil, fmt.Errorf("-clients %d needs %d open files but the hard limit is %d (raise it with ulimit -Hn, or in limits.conf)", c.clients, need, limit)
	}
	if err := c.parseSymbols(*symbols); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"ramp", c.ramp, 0}, {"warmup", c.warmup, 0}, {"duration", c.duration, time.Millisecond},
		{"connect-timeout", c.connectTimeout, time.Millisecond}, {"backoff", c.backoff, time.Millisecond},
		{"read-every", c.readEvery, 0},
	} {
		if d.v < d.min {
			return nil, fmt.Errorf("-%s must be at least %v, got %v", d.name, d.min, d.v)
		}
	}
	if *stall < 0 || *stall >= 1 {
		return nil, fmt.Errorf("-stall must be in [0,1), got %v", *stall)
	}
	if *stall > 0 && c.transport == transportPoll {
		return nil, errors.New("-stall is for streams (-transport sse or ws); a poll that is never read is one request")
	}
	c.stall = int(*stall * float64(c.clients))
	if c.sample, err = parseSample(*sample, c.clients-c.stall); err != nil {
		return nil, err
	}
	if c.stallRcvBuf < 0 {
		return nil, fmt.Errorf("-stall-rcvbuf must not be negative, got %d", c.stallRcvBuf)
	}
	if c.bufSize < 4<<10 || c.bufSize > 1<<20 {
		return nil, fmt.Errorf("-bufsize must be between 4096 and 1048576 bytes, got %d", c.bufSize)
	}
	if c.pid < 0 {
		return nil, fmt.Errorf("-pid must be a process id, got %d", c.pid)
	}
	if c.pid > 0 {
		if _, err := processCPU(c.pid); err != nil {
			return nil, fmt.Errorf("-pid %d: %w", c.pid, err)
		}
	}
	return &c, nil
}

// checkTransport checks -transport and the polling flags against it.
func (c *config) checkTransport() error {
	switch c.transport {
	case transportSSE, transportWS:
		if c.pollWait != 0 || c.pollInterval != 0 {
			return fmt.Errorf("-poll-wait and -poll-interval are used only with -transport %s", transportPoll)
		}
	case transportPoll:
		switch {
		case c.pollWait < 0 || c.pollInterval < 0:
			return errors.New("-poll-wait and -poll-interval must not be negative")
		case c.pollWait == 0 && c.pollInterval == 0:
			return fmt.Errorf("-transport %s needs -poll-wait (long polling, e.g. 25s) or -poll-interval (plain polling, e.g. 1s)", transportPoll)
		case c.pollWait > 0 && c.pollInterval > 0:
			return errors.New("-poll-wait (long polling) and -poll-interval (plain polling) exclude each other")
		}
	default:
		return fmt.Errorf("-transport must be %s, %s or %s, got %q", transportSSE, transportWS, transportPoll, c.transport)
	}
	return nil
}

// exampleURL is an endpoint URL for each transport, for messages.
var exampleURL = map[string]string{
	transportSSE:  "http://127.0.0.1:8080/events",
	transportWS:   "http://127.0.0.1:8080/ws",
	transportPoll: "http://127.0.0.1:8080/api/ticks",
}

// parseTarget checks the endpoint URL and returns it with the address to
// dial. A WebSocket URL may be given as ws://.
func parseTarget(raw, transport string) (*url.URL, string, error) {
	if raw == "" {
		return nil, "", fmt.Errorf("-url is required, e.g. -url %s", exampleURL[transport])
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("-url: %w", err)
	}
	if u.Scheme == "ws" && transport == transportWS {
		u.Scheme = "http"
	}
	if u.Scheme != "http" {
		return nil, "", fmt.Errorf("-url %q: only http:// is supported (and ws:// with -transport %s)", raw, transportWS)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, "", fmt.Errorf("-url %q: want http://host:port/path?query", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, addr, nil
}

// parseSources checks -sources against the target: loopback source
// addresses reach only a loopback server.
func (c *config) parseSources(n int) error {
	switch {
	case n == 0:
		return nil
	case n < 0 || n > maxSources:
		return fmt.Errorf("-sources must be between 0 and %d, got %d", maxSources, n)
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return fmt.Errorf("-sources dials from 127.0.0.2 and up, which reach only a server on an IPv4 loopback address; -url names %s", host)
	}
	for i := range n {
		c.sources = append(c.sources, net.IPv4(127, 0, 0, byte(2+i)))
	}
	return nil
}

// parseSymbols checks -symbols against -mode and -k.
func (c *config) parseSymbols(list string) error {
	switch c.mode {
	case modeFirehose:
		if list != "" {
			return fmt.Errorf("-symbols is used only with -mode %s or %s", modeOne, modeRandom)
		}
		return nil
	case modeOne, modeRandom:
	default:
		return fmt.Errorf("-mode must be %s, %s or %s, got %q", modeFirehose, modeOne, modeRandom, c.mode)
	}
	if list == "" {
		return fmt.Errorf("-mode %s needs -symbols, e.g. -symbols AAPL,MSFT,NVDA", c.mode)
	}
	if c.url.Query().Has("symbols") {
		return fmt.Errorf("-mode %s sets the symbols parameter; remove it from -url", c.mode)
	}
	names, err := symbolNames(list)
	if err != nil {
		return universeError(err)
	}
	seen := map[string]bool{}
	for _, s := range names {
		if err := feed.CheckSymbol(s); err != nil {
			return fmt.Errorf("-symbols: %w", err)
		}
		if seen[s] {
			return fmt.Errorf("-symbols: %s listed twice", s)
		}
		seen[s] = true
		c.symbols = append(c.symbols, s)
	}
	if c.mode == modeRandom && (c.k < 1 || c.k > len(c.symbols)) {
		return fmt.Errorf("-k must be between 1 and the %d symbols given, got %d", len(c.symbols), c.k)
	}
	return nil
}

// parseSample turns "50" or "5%" into a number of the n reading clients.
func parseSample(s string, n int) (int, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f > 100 {
			return 0, fmt.Errorf("-sample %q: want a count or a percentage in [0%%,100%%]", s)
		}
		return min(n, int(f*float64(n)/100+0.5)), nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("-sample %q: want a count or a percentage in [0%%,100%%]", s)
	}
	return min(n, v), nil
}
