package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/market"
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
}

func (m *marketFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.session, "session", sessionAlways, "trading hours of the simulated market: always (trades around the clock) or exchange (the New York exchanges' sessions, holidays and early closes)")
	fs.StringVar(&m.clockStart, "clock-start", "", "time the simulated market's clock starts at, RFC 3339 (2026-12-24T12:55:00-05:00); empty: now")
	fs.Float64Var(&m.clockSpeed, "clock-speed", 1, "how many times as fast as real time the simulated market's clock runs (60: a minute a second)")
	fs.Float64Var(&m.haltRate, "halt-rate", 0, "news halts per hour of the simulated market's regular session, over all symbols; 0: none")
}

// validate checks the market flags and returns the start of the clock
// (zero: now).
func (m *marketFlags) validate() (time.Time, error) {
	if m.session != sessionAlways && m.session != sessionExchange {
		return time.Time{}, fmt.Errorf("-session %q: want always or exchange", m.session)
	}
	if !(m.clockSpeed > 0 && m.clockSpeed <= feed.MaxSpeed) {
		return time.Time{}, fmt.Errorf("-clock-speed %v: want a speed above 0 and at most %v", m.clockSpeed, float64(feed.MaxSpeed))
	}
	if !(m.haltRate >= 0 && m.haltRate <= feed.MaxNewsHalts) {
		return time.Time{}, fmt.Errorf("-halt-rate %v: want 0 to %d halts an hour", m.haltRate, feed.MaxNewsHalts)
	}
	if m.clockStart == "" {
		return time.Time{}, nil
	}
	start, err := time.Parse(time.RFC3339, m.clockStart)
	if err != nil {
		return time.Time{}, fmt.Errorf("-clock-start %q: %w; want an RFC 3339 time such as 2026-12-24T12:55:00-05:00", m.clockStart, err)
	}
	return start, nil
}

// simulator fills the market part of a simulator's configuration: its
// clock, and its sessions and halts unless the market trades around the
// clock without halts.
func (m *marketFlags) simulator(cfg *feed.SimulatorConfig) error {
	start, err := m.validate()
	if err != nil {
		return err
	}
	if !start.IsZero() || m.clockSpeed != 1 {
		if start.IsZero() {
			start = time.Now()
		}
		cfg.Clock = feed.NewScaledClock(feed.SystemClock{}, start, m.clockSpeed)
		cfg.Speed = m.clockSpeed
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
