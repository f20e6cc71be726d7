package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/poll"
	"github.com/tickerd/tickerd/stream/sse"
	"github.com/tickerd/tickerd/stream/ws"
)

// Limits of the HTTP server that are not worth a flag.
const (
	readTimeout = 30 * time.Second // a whole request, body included; streams clear it once taken over
	idleTimeout = 2 * time.Minute
)

// run is tickerd: it serves until ctx is done, then shuts down within the
// grace period and returns nil. Its first argument may name another role:
// publish, watch, record or healthcheck.
//
// bound, if not nil, is told the address of each listener once it takes
// requests there, by the flag that named it: "addr", and "debug-addr" when
// set. It is how a caller that asked for port 0 learns the port; main
// passes nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer,
	bound func(flag string, addr net.Addr)) (err error) {
	if bound == nil {
		bound = func(string, net.Addr) {}
	}
	if len(args) > 0 {
		switch args[0] {
		case "watch":
			return runWatch(ctx, args[1:], getenv, stdout, stderr)
		case "publish":
			return nameEnvironment(rolePublish, args[1:], getenv, runPublish(ctx, args[1:], getenv, stderr, bound))
		case "record":
			return runRecord(ctx, args[1:], getenv, stderr)
		case "healthcheck":
			return runHealthcheck(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	defer func() { err = nameEnvironment(roleServe, args, getenv, err) }()
	cfg, err := parseConfig(roleServe, args, getenv, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	applyGCPercent(cfg.gcPercent)
	log := cfg.logger(stderr)

	universe, names, err := cfg.universe()
	if err != nil {
		return err
	}

	verifier, err := cfg.verifier()
	if err != nil {
		return usageError{cfg.settingError(err)}
	}
	var authn guard.Authenticator // a nil *auth.Verifier must not become a non-nil interface
	if verifier != nil {
		authn = verifier
	}
	cors, err := cfg.cors()
	if err != nil {
		return usageError{err}
	}

	var (
		reg     *prometheus.Registry
		source  feed.Source
		checks  []api.ReadinessCheck
		logArgs []any
	)
	switch cfg.feed {
	case feedNATS:
		reg = newRegistry(0)
		src, err := feed.NewNATSSource(feed.NATSSourceConfig{
			NATSConfig: feed.NATSConfig{URL: cfg.natsURL, Name: "tickerd-replica", Registerer: reg, Logger: log},
			Symbols:    names,
			Replay:     cfg.replay,
		})
		if err != nil {
			return usageError{cfg.settingError(err)}
		}
		source = src
		checks = append(checks, src.Ready)
		logArgs = []any{"feed", feedNATS, "nats", cfg.natsURL}
	case feedHTTP:
		reg = newRegistry(0)
		logArgs = []any{"feed", feedHTTP}
	default:
		if source, reg, names, logArgs, err = newLocalSource(cfg, universe, names, 1, log); err != nil {
			return err
		}
	}

	engine := stream.DefaultConfig(names, sse.Framing{}, ws.Framing{}, poll.Framing{})
	engine.ReplaySize = cfg.replay
	engine.FlushInterval = cfg.flushInterval
	engine.Heartbeat = cfg.heartbeat
	engine.WriteTimeout = cfg.writeTimeout
	engine.QueueBytes = cfg.queueBytes
	engine.SendBuffer = cfg.sendBuffer
	engine.ResumeWait = cfg.resumeWait
	engine.MaxPriceJump = cfg.maxPriceJump / 100
	engine.BarBytes = cfg.barBytes
	engine.SymbolSeries = cfg.symbolSeries
	engine.Firehose = cfg.firehose
	engine.LearnSymbols = cfg.learnSymbols
	engine.DrainWindow = cfg.drainWindow
	engine.Registerer = reg
	engine.Logger = log
	if err := engine.Validate(); err != nil {
		return cfg.settingError(err)
	}
	// With its own market a server is the authority on ids: one ahead of it
	// is from nowhere, and waiting for it would only delay a snapshot.
	if cfg.feed != feedNATS {
		engine.ResumeWait = 0
	}
	if hubNumbers(cfg) {
		engine.FirstSeq = startSeq(cfg)
	}
	hub, err := stream.NewHub(engine)
	if err != nil {
		return cfg.settingError(err)
	}
	for _, s := range universe {
		if err := hub.SetPrevClose(s.Name, s.Price); err != nil {
			return usageError{fmt.Errorf("-symbols: %w", err)}
		}
	}
	fdStreams, err := descriptorStreams(cfg.maxStreams, cfg.fdReserve, log)
	if err != nil {
		return err
	}
	streams, err := guard.NewStreams(guard.StreamsConfig{
		MaxStreams:         cfg.maxStreams,
		MaxStreamsPerAddr:  cfg.maxPerAddr,
		TrustedProxies:     cfg.trustProxies,
		DescriptorStreams:  fdStreams,
		StreamRate:         cfg.streamRate,
		StreamBurst:        cfg.streamBurst,
		StreamRatePerAddr:  cfg.addrRate,
		StreamBurstPerAddr: cfg.addrBurst,
		Registerer:         reg,
		Logger:             log,
	})
	if err != nil {
		return cfg.settingError(err)
	}
	events, err := sse.NewHandler(hub, sse.Config{
		MaxSymbols:    cfg.maxSymbols,
		MaxQueryBytes: cfg.maxQueryBytes,
		Retry:         cfg.retry,
		Auth:          authn,
		Streams:       streams,
	})
	if err != nil {
		return cfg.settingError(err)
	}
	sockets, err := ws.NewHandler(hub, ws.Config{
		MaxSymbols:      cfg.maxSymbols,
		MaxQueryBytes:   cfg.maxQueryBytes,
		MaxMessageBytes: ws.DefaultMaxMessageBytes,
		MessageRate:     cfg.wsMessageRate,
		MessageBurst:    2 * cfg.wsMessageRate,
		PingInterval:    cfg.heartbeat,
		PongTimeout:     cfg.wsPongTimeout,
		Origins:         cors,
		Auth:            authn,
		Streams:         streams,
		Registerer:      reg,
	})
	if err != nil {
		return cfg.settingError(err)
	}
	polls, err := poll.NewHandler(hub, poll.Config{
		MaxSymbols:    cfg.maxSymbols,
		MaxQueryBytes: cfg.maxQueryBytes,
		MaxWait:       cfg.pollMaxWait,
		MaxTicks:      poll.DefaultMaxTicks,
		Auth:          authn,
		Streams:       streams,
	})
	if err != nil {
		return cfg.settingError(err)
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on -addr: %w", err)
	}
	var debugLn net.Listener
	if cfg.debugAddr != "" {
		if debugLn, err = net.Listen("tcp", cfg.debugAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on -debug-addr: %w", err)
		}
	}
	publish, publishAPI, err := newIntake(cfg, hub, verifier, reg, log)
	if err != nil {
		ln.Close()
		if debugLn != nil {
			debugLn.Close()
		}
		return err
	}
	srv := newServer(routes(hub, transports{events: events, sockets: sockets, polls: polls, publish: publishAPI, market: cfg.market.api()}, reg, authn, cors, cfg.stallAfter, checks...), cfg, log)
	// When ctx is done the hub drains: /readyz fails at once and the
	// streams close over -drain-window. Everything else goes on until the
	// hub has returned: the feed, so that streams still open get ticks; the
	// WebSocket readers; the HTTP server, for probes, metrics and requests
	// (new streams are answered 503), which then shuts down within -grace.
	g, gctx := errgroup.WithContext(ctx)
	serving, drained := context.WithCancel(context.Background())
	defer drained()
	g.Go(func() error {
		defer drained()
		return hub.Run(gctx)
	})
	g.Go(func() error { return sockets.Run(serving) })
	if source != nil { // -feed http: only the publish API feeds the hub
		g.Go(func() error { return runSource(serving, source, hub, publish, log) })
	}
	// Requests wait in the listen queue until the hub serves streams: a
	// stream answered 503 at start would end a browser's EventSource.
	serve(serving, g, srv, ln, cfg.grace, log, hub.Started(), func() {
		base := "http://" + displayAddr(ln.Addr())
		log.Info("tickerd serving", append([]any{
			"page", base + "/", "events", base + "/events", "metrics", base + "/metrics",
			"symbols", len(names), "auth", authn != nil, "cors_origins", cfg.corsOrigins, "publish_api", publishAPI != nil}, logArgs...)...)
		bound("addr", ln.Addr())
	})
	if debugLn != nil {
		log.Info("profiling served", "pprof", "http://"+displayAddr(debugLn.Addr())+"/debug/pprof/")
		serve(serving, g, newServer(debugRoutes(), cfg, log), debugLn, cfg.grace, log, nil,
			func() { bound("debug-addr", debugLn.Addr()) })
	}
	err = g.Wait()
	log.Info("tickerd stopped")
	return err
}

// newLocalSource makes the source of a process that makes its ticks
// itself: the file replay, whose ticks are numbered from firstSeq, or the
// simulated market. It returns the registry the process's metrics go to,
// the universe's names (the file's symbols when -symbols names none) and
// what the log says of the feed.
func newLocalSource(cfg config, universe []feed.Symbol, names []string, firstSeq uint64, log *slog.Logger) (
	feed.Source, *prometheus.Registry, []string, []any, error) {
	if cfg.feed == feedReplay {
		replay, err := newReplay(cfg, firstSeq, log)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if cfg.symbols == "" {
			names = replay.Symbols()
		}
		return replay, newRegistry(0), names, []any{"feed", feedReplay, "file", cfg.replayFile, "ticks", replay.Ticks(),
			"speed", cfg.replaySpeed, "loop", cfg.replayLoop}, nil
	}
	sim, seed, first, err := newSimulator(cfg, universe)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return sim, newRegistry(cfg.rate), names, []any{"feed", feedMemory, "rate", cfg.rate, "seed", seed, "first_seq", first}, nil
}

// newSimulator builds the simulated market of cfg, picking the seed and the
// first sequence number from the clock when they are not set.
func newSimulator(cfg config, universe []feed.Symbol) (sim *feed.Simulator, seed, firstSeq uint64, err error) {
	seed, firstSeq = cfg.seed, cfg.firstSeq
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if firstSeq == 0 {
		firstSeq = uint64(time.Now().UnixMicro())
	}
	simCfg := feed.SimulatorConfig{Symbols: universe, Rate: cfg.rate, Seed: seed, FirstSeq: firstSeq}
	if err := cfg.market.simulator(&simCfg); err != nil {
		return nil, 0, 0, usageError{err}
	}
	sim, err = feed.NewSimulator(simCfg)
	if err != nil {
		return nil, 0, 0, usageError{cfg.settingError(err)}
	}
	return sim, seed, firstSeq, nil
}

// newServer returns the HTTP server of every serving role, with cfg's
// limits on reading requests.
func newServer(h http.Handler, cfg config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.readHeader,
		ReadTimeout:       max(readTimeout, cfg.readHeader),
		MaxHeaderBytes:    cfg.maxHeader,
		IdleTimeout:       idleTimeout,
		ErrorLog:          serverErrorLog(log),
	}
}

// serve runs srv on ln in g until ctx is done, then shuts it down within
// grace. It takes requests once ready is closed (nil: at once), and calls
// started (if not nil) then.
func serve(ctx context.Context, g *errgroup.Group, srv *http.Server, ln net.Listener, grace time.Duration, log *slog.Logger,
	ready <-chan struct{}, started func()) {
	g.Go(func() error {
		if ready != nil {
			select {
			case <-ready:
			case <-ctx.Done():
				_ = ln.Close()
				return nil
			}
		}
		if started != nil {
			started()
		}
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		log.Info("tickerd shutting down", "grace", grace)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Warn("requests still in flight after the grace period; closing them", "err", err)
			_ = srv.Close()
		}
		return nil
	})
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		host := "localhost"
		if ok {
			return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
		}
		return host
	}
	return tcp.String()
}
