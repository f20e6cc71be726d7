package stream

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tickerd/tickerd/feed"
)

// quoteList is the body of GET /api/symbols and of snapshot events.
type quoteList struct {
	Seq    uint64       `json:"seq"`
	Quotes []feed.Quote `json:"quotes"`
}

// NewSymbolsHandler serves GET /api/symbols: the universe with the latest
// quote of each symbol, in display order. With authentication on, it lists
// only the symbols the caller is entitled to.
func NewSymbolsHandler(h *Hub) http.Handler {
	return allowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grant, ok := authenticate(h.cfg.Auth, w, r)
		if !ok {
			return
		}
		quotes, seq := h.Quotes()
		if grant != nil && !grant.AllowsAll() {
			quotes = slices.DeleteFunc(quotes, func(q feed.Quote) bool { return !grant.Allows(q.Last.Symbol) })
		}
		writeJSON(w, http.StatusOK, quoteList{Seq: seq, Quotes: quotes})
	}))
}

// NewQuoteHandler serves GET /api/quotes/{symbol}: one symbol's latest
// quote; 403 for a symbol the caller is not entitled to.
func NewQuoteHandler(h *Hub) http.Handler {
	return allowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grant, ok := authenticate(h.cfg.Auth, w, r)
		if !ok {
			return
		}
		symbol := strings.ToUpper(r.PathValue("symbol"))
		if err := checkSymbolName(symbol); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		q, ok := h.Quote(symbol)
		if !ok {
			writeError(w, http.StatusNotFound, "unknown symbols", symbol)
			return
		}
		if denied := unentitled(grant, []string{symbol}); denied != nil {
			forbid(w, "not entitled to symbols", denied...)
			return
		}
		writeJSON(w, http.StatusOK, q)
	}))
}

// NewHealthHandler serves GET /healthz: the process is up.
func NewHealthHandler() http.Handler {
	return allowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
}

// readiness is the body of GET /readyz.
type readiness struct {
	Status      string   `json:"status"` // ready, degraded or stopped
	Reason      string   `json:"reason,omitempty"`
	LastTickAge *float64 `json:"last_tick_age_seconds"` // null before the first tick
	Clients     int      `json:"clients"`
	StallAfter  float64  `json:"stall_after_seconds"`
}

// ReadinessCheck reports why the server should not take new clients now
// (say, its feed has lost its bus), or nil.
type ReadinessCheck func() error

// NewReadyHandler serves GET /readyz: 200 while the hub streams, the feed
// has produced a tick within stallAfter and every check passes; 503
// otherwise, saying why.
func NewReadyHandler(h *Hub, stallAfter time.Duration, checks ...ReadinessCheck) http.Handler {
	return allowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := h.Status()
		body := readiness{Status: "ready", Clients: st.Clients, StallAfter: stallAfter.Seconds()}
		if !st.LastTick.IsZero() {
			age := time.Since(st.LastTick).Seconds()
			body.LastTickAge = &age
		}
		switch {
		case !st.Running:
			body.Status, body.Reason = "stopped", "the hub is not streaming"
		case st.LastTick.IsZero():
			body.Status, body.Reason = "degraded", "no tick from the feed yet"
		case time.Since(st.LastTick) > stallAfter:
			body.Status, body.Reason = "degraded", "the feed has stalled"
		default:
			for _, check := range checks {
				if err := check(); err != nil {
					body.Status, body.Reason = "degraded", err.Error()
					break
				}
			}
		}
		status := http.StatusOK
		if body.Status != "ready" {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, body)
	}))
}

// NewNotFoundHandler answers unknown API paths with a JSON 404.
func NewNotFoundHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
}
