package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/stream"
)

// History is the body of a successful GET /api/history.
type History struct {
	Symbol   string       `json:"sym"`
	Interval string       `json:"interval"`
	Seq      uint64       `json:"seq"` // newest tick in the bars; later ticks are not in them
	Bars     []stream.Bar `json:"bars"`
}

// NewHistoryHandler returns the handler of
//
//	GET /api/history?symbol=AAPL&interval=5s&limit=90
//
// which answers {"sym":"AAPL","interval":"5s","seq":184467,"bars":[<Bar>...]}
// with the bars oldest first; the last one may still be open. seq is the
// sequence number of the symbol's newest tick folded into the bars (0 before
// its first trade), so a client that also follows GET /events applies only
// the ticks after it. interval is one of 1s, 5s, 1m and 5m, and defaults to
// 5s; limit, if given, keeps the newest that many bars. A missing or
// malformed symbol, an unknown interval or a bad limit is answered with
// 400, a symbol outside the universe with 404, both with a JSON error body.
// Symbols are case-insensitive, as in GET /events. With authentication on
// (a non-nil a), a request needs valid credentials (401) that cover the
// symbol (403).
func NewHistoryHandler(h *stream.Hub, a guard.Authenticator) http.Handler {
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grant, ok := guard.Authenticate(a, w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		symbol := strings.ToUpper(q.Get("symbol"))
		if symbol == "" {
			httpjson.WriteError(w, http.StatusBadRequest, "missing symbol parameter")
			return
		}
		if err := feed.CheckSymbol(symbol); err != nil {
			httpjson.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		name := q.Get("interval")
		if name == "" {
			name = "5s"
		}
		interval, ok := stream.BarInterval(name)
		if !ok {
			httpjson.WriteError(w, http.StatusBadRequest, "invalid interval: want one of "+stream.BarIntervalNames())
			return
		}
		limit, err := parseLimit(q["limit"])
		if err != nil {
			httpjson.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		bars, seq, err := h.Bars(symbol, interval)
		if errors.Is(err, stream.ErrNoHistory) {
			httpjson.WriteError(w, http.StatusNotFound, "unknown symbol", symbol)
			return
		}
		if denied := guard.Unentitled(grant, []string{symbol}); denied != nil {
			guard.Forbid(w, "not entitled to symbols", denied...)
			return
		}
		if err != nil {
			httpjson.WriteError(w, http.StatusInternalServerError, "history unavailable")
			return
		}
		if limit > 0 && len(bars) > limit {
			bars = bars[len(bars)-limit:]
		}
		httpjson.Write(w, http.StatusOK, History{Symbol: symbol, Interval: name, Seq: seq, Bars: bars})
	}))
}

// maxHistoryLimit bounds ?limit; no store keeps more bars than this.
const maxHistoryLimit = 100000

// parseLimit reads ?limit, the number of newest bars wanted: absent means
// all that are kept.
func parseLimit(values []string) (int, error) {
	if len(values) == 0 {
		return 0, nil
	}
	n, err := strconv.Atoi(values[0])
	if len(values) > 1 || err != nil || n < 1 || n > maxHistoryLimit {
		return 0, fmt.Errorf("invalid limit: want one whole number of bars from 1 to %d", maxHistoryLimit)
	}
	return n, nil
}
