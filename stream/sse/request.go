package sse

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/subscribe"
)

// request is what a client asked of its stream, read from its query and
// headers and not yet checked against the universe or its credentials.
type request struct {
	symbols []string // nil: every symbol (the grant's, with authentication on)
	maxFreq float64
	bars    stream.BarSet
	lastID  uint64
	resume  bool
}

// parse reads r's query (bounded, the symbols, maxfreq) and the resume
// point. A bad query is answered 400 here.
func (h *handler) parse(w http.ResponseWriter, r *http.Request) (request, bool) {
	q, err := subscribe.ParseQuery(r.URL.RawQuery, h.cfg.MaxQueryBytes, h.cfg.MaxSymbols)
	if err != nil {
		h.gate.Reject(w, guard.RejectBadRequest, http.StatusBadRequest, 0, err.Error())
		return request{}, false
	}
	req := request{symbols: q.Symbols, maxFreq: q.MaxFreq, bars: q.Bars}
	req.lastID, req.resume = ParseLastEventID(r.Header.Get("Last-Event-ID"), q.Values.Get("lastEventId"))
	return req, true
}

// ParseLastEventID reads the resume point a client sent: the Last-Event-ID
// header, else the lastEventId query parameter. Anything that is not a
// decimal sequence number is treated as absent (0, false), never as an
// error: a browser's EventSource gives up for good on a non-200 answer.
func ParseLastEventID(header, query string) (uint64, bool) {
	for _, s := range []string{header, query} {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if id, err := strconv.ParseUint(s, 10, 64); err == nil {
			return id, true
		}
	}
	return 0, false
}
