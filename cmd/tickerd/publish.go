package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/sse"
)

// runPublish is tickerd publish: the ticks of -feed (the simulated market,
// the publish API or a replayed file) published to NATS JetStream for
// replicas, with probes, metrics and the publish API on -addr, which it
// tells bound as run does.
func runPublish(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer,
	bound func(flag string, addr net.Addr)) error {
	cfg, err := parseConfig(rolePublish, args, getenv, stderr)
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
	var (
		reg     *prometheus.Registry
		source  feed.Source
		checker *checkedRelay // the publish API's ticks, on their way to the bus
		logArgs []any
	)
	switch cfg.feed {
	case feedHTTP:
		reg = newRegistry(0)
		relay := ingest.NewRelay()
		source = relay
		if checker, err = newCheckedRelay(names, cfg.learnSymbols, startSeq(cfg), reg, relay); err != nil {
			return cfg.settingError(err)
		}
		logArgs = []any{"feed", feedHTTP}
	default:
		if source, reg, names, logArgs, err = newLocalSource(cfg, universe, names, startSeq(cfg), log); err != nil {
			return err
		}
	}
	source = newBarSource(source, names, cfg.barBytes)
	pub, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{
		NATSConfig:   feed.NATSConfig{URL: cfg.natsURL, Name: "tickerd-publisher", Registerer: reg, Logger: log},
		Symbols:      names,
		MaxPerSymbol: cfg.natsMaxPerSymbol,
		MaxAge:       cfg.natsMaxAge,
		MaxBytes:     cfg.natsMaxBytes,
		Window:       cfg.natsPublishWindow,
	})
	if err != nil {
		return usageError{cfg.settingError(err)}
	}
	var publishAPI http.Handler
	if checker != nil {
		checker.pub = pub
		verifier, err := cfg.verifier()
		if err != nil {
			return usageError{err}
		}
		if publishAPI, err = newPublishAPI(cfg, checker, verifier, reg); err != nil {
			return err
		}
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
	srv := newServer(publisherRoutes(pub.Ready, reg, publishAPI), cfg, log)
	base := "http://" + displayAddr(ln.Addr())
	log.Info("tickerd publishing", append([]any{"metrics", base + "/metrics", "nats", cfg.natsURL, "stream", feed.StreamName,
		"symbols", len(names), "publish_api", publishAPI != nil}, logArgs...)...)

	g, gctx := errgroup.WithContext(ctx)
	if checker != nil {
		g.Go(func() error { return checker.hub.Run(gctx) })
	}
	g.Go(func() error {
		if checker != nil {
			// Requests waiting to hand a tick on are answered 503
			// however the publisher ended, even before it ran the relay.
			defer checker.relay.Stop()
		}
		return pub.Run(gctx, source)
	})
	serve(gctx, g, srv, ln, cfg.grace, log, nil, func() { bound("addr", ln.Addr()) })
	if debugLn != nil {
		log.Info("profiling served", "pprof", "http://"+displayAddr(debugLn.Addr())+"/debug/pprof/")
		serve(gctx, g, newServer(debugRoutes(), cfg, log), debugLn, cfg.grace, log, nil,
			func() { bound("debug-addr", debugLn.Addr()) })
	}
	err = g.Wait()
	log.Info("tickerd stopped")
	return err
}

// checkedRelay holds the publish API's ticks to the feed hygiene a
// replica applies, so that a publisher reads each line's verdict, and
// hands those it accepts, numbered by its engine from firstSeq, to the
// relay the NATS publisher runs on, in the order of their numbers; a
// request is answered once its ticks are stored in JetStream. Its engine
// serves no streams.
type checkedRelay struct {
	hub   *stream.Hub
	relay *ingest.Relay
	pub   *feed.NATSPublisher // runs on relay
	mu    sync.Mutex          // keeps the relay's order that of the numbers
}

func newCheckedRelay(names []string, learn int, firstSeq uint64, reg prometheus.Registerer, relay *ingest.Relay) (*checkedRelay, error) {
	cfg := stream.DefaultConfig(names, sse.Framing{})
	cfg.LearnSymbols = learn
	cfg.FirstSeq = firstSeq
	cfg.ReplaySize = 0
	cfg.BarCapacity = 1
	cfg.Writers = 1
	cfg.Registerer = reg
	hub, err := stream.NewHub(cfg)
	if err != nil {
		return nil, err
	}
	return &checkedRelay{hub: hub, relay: relay}, nil
}

// Publish checks and numbers t, then hands it to the relay.
func (c *checkedRelay) Publish(t feed.Tick) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.hub.Accept(t)
	if err != nil {
		return err
	}
	return c.relay.Publish(t)
}

// Stored waits until every tick handed to the relay so far is stored in
// JetStream, or returns ingest.ErrStopped when the publisher stops first.
func (c *checkedRelay) Stored(ctx context.Context) error {
	err := c.pub.WaitStored(ctx, c.pub.Sent())
	if errors.Is(err, feed.ErrPublisherStopped) {
		return ingest.ErrStopped
	}
	return err
}

var _ ingest.StoringEngine = (*checkedRelay)(nil)

// newPublisherReadyHandler serves GET /readyz for the publisher: 200 while
// ticks are being stored, 503 with the reason otherwise.
func newPublisherReadyHandler(ready func() error) http.Handler {
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ready(); err != nil {
			httpjson.Write(w, http.StatusServiceUnavailable, map[string]string{"status": "degraded", "reason": err.Error()})
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ready"})
	}))
}
