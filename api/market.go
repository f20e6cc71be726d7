package api

import (
	"net/http"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/market"
	"github.com/tickerd/tickerd/stream"
)

// MarketConfig is what GET /api/market knows of the market beside the hub.
type MarketConfig struct {
	Calendar *market.Calendar // the exchanges' sessions; nil: one session around the clock
	Clock    feed.Clock       // the market's clock; nil: the system's
}

// Market is the body of GET /api/market. Times are RFC 3339 in New York
// time.
type Market struct {
	Mode      string     `json:"mode"`       // always (trades around the clock) or exchange
	Session   string     `json:"session"`    // pre, trading, post or closed
	Now       time.Time  `json:"now"`        // the market's clock
	NextOpen  *time.Time `json:"next_open"`  // the next regular session's open; null around the clock
	NextClose *time.Time `json:"next_close"` // the next regular session's close; null around the clock
	Today     *MarketDay `json:"today"`      // today's schedule; null around the clock
}

// MarketDay is one day's schedule; the times are null on a day without trading.
type MarketDay struct {
	Date       string     `json:"date"` // 2026-12-24
	Trading    bool       `json:"trading"`
	Holiday    string     `json:"holiday,omitempty"`
	EarlyClose bool       `json:"early_close"`
	PreOpen    *time.Time `json:"pre_open"`
	Open       *time.Time `json:"open"`
	Close      *time.Time `json:"close"`
	PostClose  *time.Time `json:"post_close"`
}

// NewMarketHandler returns the handler of GET /api/market: the session now
// (as the feed last said, else as the calendar has it), the next open and
// close, and today's schedule, on the market's clock.
func NewMarketHandler(h *stream.Hub, cfg MarketConfig) http.Handler {
	clock := cfg.Clock
	if clock == nil {
		clock = feed.SystemClock{}
	}
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, marketAt(h, cfg.Calendar, clock.Now()))
	}))
}

func marketAt(h *stream.Hub, cal *market.Calendar, now time.Time) Market {
	m := Market{Mode: "always", Session: market.StateTrading, Now: now}
	if cal != nil {
		m.Mode = "exchange"
		m.Now = now.In(cal.Location())
		m.Session = cal.SessionAt(now).String()
		open, closeAt := cal.NextOpen(now).In(cal.Location()), cal.NextClose(now).In(cal.Location())
		m.NextOpen, m.NextClose = &open, &closeAt
		day := cal.Day(now)
		m.Today = &MarketDay{Date: day.Date.Format(time.DateOnly), Trading: day.Trading, Holiday: day.Holiday, EarlyClose: day.EarlyClose}
		if day.Trading {
			m.Today.PreOpen, m.Today.Open, m.Today.Close, m.Today.PostClose = &day.PreOpen, &day.Open, &day.Close, &day.PostClose
		}
	}
	if s, ok := h.Session(); ok {
		m.Session = s.State
	}
	return m
}
