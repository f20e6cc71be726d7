package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/ingest"
	"github.com/tickerd/tickerd/stream"
)

// startSeq is the first sequence number of -first-seq: the start time in
// Unix microseconds when it is 0, so that ids keep growing across restarts.
func startSeq(cfg config) uint64 {
	if cfg.firstSeq != 0 {
		return cfg.firstSeq
	}
	return uint64(time.Now().UnixMicro())
}

// newPublishAPI returns the POST /api/publish handler of cfg over engine,
// or nil when -publish-key-file is not set (the API is off). With
// subscriber authentication on (verifier not nil), tokens that carry the
// publish permission are accepted beside the key.
func newPublishAPI(cfg config, engine ingest.Engine, verifier *auth.Verifier, reg prometheus.Registerer) (http.Handler, error) {
	if cfg.publishKeyFile == "" {
		return nil, nil
	}
	key, err := os.ReadFile(cfg.publishKeyFile)
	if err != nil {
		return nil, usageError{fmt.Errorf("-publish-key-file: %w", err)}
	}
	key = bytes.TrimRight(key, "\r\n")
	if len(key) < ingest.MinKeyBytes {
		return nil, usageError{fmt.Errorf("-publish-key-file %s: a key of %d bytes; want at least %d", cfg.publishKeyFile, len(key), ingest.MinKeyBytes)}
	}
	var tokens ingest.TokenVerifier // a nil *auth.Verifier must not become a non-nil interface
	if verifier != nil {
		tokens = verifier
	}
	h, err := ingest.NewHandler(ingest.Config{
		Key:           key,
		Tokens:        tokens,
		Engine:        engine,
		MaxBodyBytes:  cfg.publishMaxBytes,
		MaxLines:      cfg.publishMaxLines,
		RequestRate:   cfg.publishRate,
		MaxPublishers: ingest.DefaultMaxPublishers,
		IdleTimeout:   ingest.DefaultIdleTimeout,
		Registerer:    reg,
	})
	if err != nil {
		return nil, cfg.settingError(err)
	}
	return h, nil
}

// newReplay returns the replay of -replay-file, numbered from first.
func newReplay(cfg config, first uint64, log *slog.Logger) (*feed.Replay, error) {
	r, err := feed.NewReplay(feed.ReplayConfig{
		Path:       cfg.replayFile,
		Speed:      cfg.replaySpeed,
		Loop:       cfg.replayLoop,
		First:      first,
		MaxSymbols: feed.MaxSymbols,
		Clock:      feed.SystemClock{},
		Logger:     log,
	})
	if err != nil {
		return nil, usageError{fmt.Errorf("-replay-file: %w", err)}
	}
	return r, nil
}

// hubNumbers reports whether cfg's server has its hub number the events
// it takes in (stream.Config.FirstSeq): once they come from outside (the
// publish API, a file), whoever sent them, so that they reach the streams
// in one increasing order beside the simulated market's statuses and
// bands. A server fed only by its own simulator takes its numbers; a
// replica, the bus's.
func hubNumbers(cfg config) bool {
	return cfg.publishKeyFile != "" || cfg.feed == feedHTTP || cfg.feed == feedReplay
}

// newIntake returns how a server's source publishes to hub, and its
// publish API (nil: off).
func newIntake(cfg config, hub *stream.Hub, verifier *auth.Verifier, reg prometheus.Registerer, log *slog.Logger) (func(feed.Tick), http.Handler, error) {
	publishAPI, err := newPublishAPI(cfg, hub, verifier, reg)
	if err != nil {
		return nil, nil, err
	}
	return func(t feed.Tick) {
		if err := hub.Publish(t); err != nil {
			log.Debug("tick rejected", "err", err)
		}
	}, publishAPI, nil
}
