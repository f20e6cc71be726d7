package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/market"
	"github.com/tickerd/tickerd/stream"
)

// Values of -session.
const (
	sessionAlways   = "always"
	sessionExchange = "exchange"
)

// marketFlags are the flags of the simulated market's sessions and clock.
type marketFlags struct {
	session    string
	clockStart string // RFC 3339; empty: now
	clockSpeed float64
	haltRate   float64

	clock feed.Clock // the market's, made by validate; nil: the system's
}

func (m *marketFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.session, "session", sessionAlways, "trading hours of the simulated market: always (trades around the clock) or exchange (the New York exchanges' sessions, holidays and early closes)")
	fs.StringVar(&m.clockStart, "clock-start", "", "time the simulated market's clock starts at, RFC 3339 (2026-12-24T12:55:00-05:00); empty: now")
	fs.Float64Var(&m.clockSpeed, "clock-speed", 1, "how many times as fast as real time the simulated market's clock runs (60: a minute a second)")
	fs.Float64Var(&m.haltRate, "halt-rate", 0, "news halts per hour of the simulated market's regular session, over all symbols; 0: none")
}

// validate checks the market flags and makes the market's clock: the
// system's, or a scaled one when -clock-start or -clock-speed is given.
func (m *marketFlags) validate() error {
	if m.session != sessionAlways && m.session != sessionExchange {
		return fmt.Errorf("-session %q: want always or exchange", m.session)
	}
	if !(m.clockSpeed > 0 && m.clockSpeed <= feed.MaxSpeed) {
		return fmt.Errorf("-clock-speed %v: want a speed above 0 and at most %v", m.clockSpeed, float64(feed.MaxSpeed))
	}
	if !(m.haltRate >= 0 && m.haltRate <= feed.MaxNewsHalts) {
		return fmt.Errorf("-halt-rate %v: want 0 to %d halts an hour", m.haltRate, feed.MaxNewsHalts)
	}
	m.clock = nil
	if m.clockStart == "" && m.clockSpeed == 1 {
		return nil
	}
	start := time.Now()
	if m.clockStart != "" {
		var err error
		if start, err = time.Parse(time.RFC3339, m.clockStart); err != nil {
			return fmt.Errorf("-clock-start %q: %w; want an RFC 3339 time such as 2026-12-24T12:55:00-05:00", m.clockStart, err)
		}
	}
	m.clock = feed.NewScaledClock(feed.SystemClock{}, start, m.clockSpeed)
	return nil
}

// api returns what GET /api/market knows of the market: the calendar of
// -session and the clock of -clock-start and -clock-speed. A replica has
// the publisher's flags, so it answers the same schedule.
func (m *marketFlags) api() api.MarketConfig {
	var cfg api.MarketConfig
	if m.session == sessionExchange {
		cfg.Calendar = market.NewYork()
	}
	cfg.Clock = m.clock
	return cfg
}

// simulator fills the market part of a simulator's configuration: its
// clock, and its sessions and halts unless the market trades around the
// clock without halts.
func (m *marketFlags) simulator(cfg *feed.SimulatorConfig) error {
	if m.clock != nil {
		cfg.Clock, cfg.Speed = m.clock, m.clockSpeed
	}
	// Around the clock and without halts, the market is the bare random
	// walk it always was: no statuses, no bands.
	if m.session == sessionAlways && m.haltRate == 0 {
		return nil
	}
	cfg.Market = &feed.MarketConfig{NewsHalts: m.haltRate}
	if m.session == sessionExchange {
		cfg.Market.Calendar = market.NewYork()
	}
	return nil
}

// runSource feeds hub from source until ctx is done: its ticks through
// publish, and its statuses and bands when it is a market.
func runSource(ctx context.Context, source feed.Source, hub *stream.Hub, publish func(feed.Tick), log *slog.Logger) error {
	events := hubEvents{hub: hub, tick: publish, log: log}
	if m, ok := source.(feed.MarketSource); ok {
		return m.RunMarket(ctx, events)
	}
	return source.Run(ctx, events.Tick)
}

// hubEvents hands a source's events to the hub and logs those it rejects.
type hubEvents struct {
	hub  *stream.Hub
	tick func(feed.Tick)
	log  *slog.Logger
}

func (e hubEvents) Tick(t feed.Tick) { e.tick(t) }

func (e hubEvents) Status(s market.Status) {
	if err := e.hub.PublishStatus(s); err != nil {
		e.log.Debug("status rejected", "err", err)
	}
}

func (e hubEvents) Bands(b market.Bands) {
	if err := e.hub.PublishBands(b); err != nil {
		e.log.Debug("bands rejected", "err", err)
	}
}
