package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/feed"
)

func TestMarketFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-session", "exchange", "-clock-start", "2026-12-24T12:55:00-05:00", "-clock-speed", "60"}, ""},
		{[]string{"-halt-rate", "12"}, ""},
		{[]string{"-session", "weekdays"}, `-session "weekdays": want always or exchange`},
		{[]string{"-clock-start", "2026-12-24 12:55"}, `-clock-start "2026-12-24 12:55": parsing time`},
		{[]string{"-clock-start", "tomorrow"}, `want an RFC 3339 time such as 2026-12-24T12:55:00-05:00`},
		{[]string{"-clock-speed", "-1"}, "-clock-speed -1: want a speed above 0 and at most 100000"},
		{[]string{"-clock-speed", "0"}, "-clock-speed 0: want a speed above 0"},
		{[]string{"-clock-speed", "NaN"}, "-clock-speed NaN: want a speed above 0"},
		{[]string{"-halt-rate", "-2"}, "-halt-rate -2: want 0 to 3600 halts an hour"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseConfig(roleServe, tt.args, func(string) string { return "" }, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parseConfig: %v", err)
				}
				return
			}
			var u usageError
			if err == nil || !errors.As(err, &u) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseConfig = %v; want a usage error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestMarketFlagsConfigureTheSimulator(t *testing.T) {
	var m marketFlags
	m.session, m.clockSpeed = sessionAlways, 1
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	var cfg feed.SimulatorConfig
	if err := m.simulator(&cfg); err != nil || cfg.Market != nil || cfg.Clock != nil {
		t.Fatalf("always, no halts: market %+v clock %v err %v; want the bare random walk on the system clock", cfg.Market, cfg.Clock, err)
	}
	m.session, m.clockStart, m.clockSpeed = sessionExchange, "2026-12-24T12:55:00-05:00", 60
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	if err := m.simulator(&cfg); err != nil || cfg.Market == nil || cfg.Market.Calendar == nil || cfg.Speed != 60 {
		t.Fatalf("exchange: market %+v speed %v err %v", cfg.Market, cfg.Speed, err)
	}
	start := time.Date(2026, 12, 24, 17, 55, 0, 0, time.UTC)
	if now := cfg.Clock.Now(); now.Before(start) || now.After(start.Add(time.Hour)) {
		t.Errorf("clock reads %v; want just after %v", now, start)
	}
}
