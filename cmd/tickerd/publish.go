package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/httpjson"
)

// runPublish is tickerd publish: the simulated market, published to NATS
// JetStream for replicas, with probes and metrics on -addr, which it tells
// bound as run does.
func runPublish(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer,
	bound func(flag string, addr net.Addr)) error {
	cfg, err := parseConfig(rolePublish, args, getenv, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := cfg.logger(stderr)
	universe, names, err := cfg.universe()
	if err != nil {
		return err
	}
	sim, seed, firstSeq, err := newSimulator(cfg, universe)
	if err != nil {
		return err
	}
	reg := newRegistry(cfg.rate)
	pub, err := feed.NewNATSPublisher(feed.NATSPublisherConfig{
		NATSConfig:   feed.NATSConfig{URL: cfg.natsURL, Name: "tickerd-publisher", Registerer: reg, Logger: log},
		Symbols:      names,
		MaxPerSymbol: cfg.natsMaxPerSymbol,
		MaxAge:       cfg.natsMaxAge,
		Window:       cfg.natsPublishWindow,
	})
	if err != nil {
		return usageError{cfg.settingError(err)}
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on -addr: %w", err)
	}
	srv := newServer(publisherRoutes(pub.Ready, reg), cfg, log)
	base := "http://" + displayAddr(ln.Addr())
	log.Info("tickerd publishing", "metrics", base+"/metrics", "nats", cfg.natsURL, "stream", feed.StreamName,
		"symbols", len(universe), "rate", cfg.rate, "seed", seed, "first_seq", firstSeq)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return pub.Run(gctx, sim) })
	serve(gctx, g, srv, ln, cfg.grace, log, nil, func() { bound("addr", ln.Addr()) })
	err = g.Wait()
	log.Info("tickerd stopped")
	return err
}

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
