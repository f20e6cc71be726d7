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

	"golang.org/x/sync/errgroup"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/stream"
)

// Limits of the HTTP server that are not worth a flag.
const (
	readHeaderTimeout = 10 * time.Second
	maxHeaderBytes    = 16 << 10
	idleTimeout       = 2 * time.Minute
	barCapacity       = 720 // bars kept per symbol and interval
)

// run is tickerd: it serves until ctx is done, then shuts down within the
// grace period and returns nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "watch" {
		return runWatch(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := cfg.logger(stderr)

	universe, err := feed.ParseSymbols(cfg.symbols)
	if err != nil {
		return usageError{fmt.Errorf("-symbols: %w", err)}
	}
	seed, firstSeq := cfg.seed, cfg.firstSeq
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if firstSeq == 0 {
		firstSeq = uint64(time.Now().UnixMicro())
	}
	sim, err := feed.NewSimulator(feed.SimulatorConfig{Symbols: universe, Rate: cfg.rate, Seed: seed, FirstSeq: firstSeq})
	if err != nil {
		return usageError{err}
	}
	names := make([]string, len(universe))
	for i, s := range universe {
		names[i] = s.Name
	}

	reg := newRegistry(cfg.rate)
	hub, err := stream.NewHub(stream.Config{
		Symbols:       names,
		ReplaySize:    cfg.replay,
		FlushInterval: cfg.flushInterval,
		Heartbeat:     cfg.heartbeat,
		WriteTimeout:  cfg.writeTimeout,
		QueueBytes:    cfg.queueBytes,
		Retry:         cfg.retry,
		MaxSymbols:    cfg.maxSymbols,
		MaxQueryBytes: cfg.maxQueryBytes,
		Registerer:    reg,
		Logger:        log,
	})
	if err != nil {
		return usageError{err}
	}
	bars := stream.NewBarStore(names, barCapacity)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           routes(hub, bars, reg, cfg.stallAfter),
		ReadHeaderTimeout: readHeaderTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	base := "http://" + displayAddr(ln.Addr())
	log.Info("tickerd serving",
		"page", base+"/", "events", base+"/events", "metrics", base+"/metrics",
		"symbols", len(names), "rate", cfg.rate, "seed", seed, "first_seq", firstSeq)

	publish := func(t feed.Tick) {
		if err := hub.Publish(t); err != nil {
			log.Debug("tick rejected", "err", err)
			return
		}
		bars.Add(t)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return hub.Run(gctx) })
	g.Go(func() error { return sim.Run(gctx, publish) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("tickerd shutting down", "grace", cfg.grace)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.grace)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Warn("requests still in flight after the grace period; closing them", "err", err)
			_ = srv.Close()
		}
		return nil
	})
	err = g.Wait()
	log.Info("tickerd stopped")
	return err
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
