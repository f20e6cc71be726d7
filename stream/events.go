package stream

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// NewEventsHandler serves the event stream, GET /events:
//
//	?symbols=AAPL,MSFT   the symbols to receive (absent: every symbol)
//	?lastEventId=N       resume point for clients that cannot send Last-Event-ID
//	?maxfreq=N           at most N ticks per second per symbol, the latest winning
//
// The stream is a retry hint, then a snapshot (or, when resuming, the missed
// ticks, or a resync snapshot when they are gone), then live ticks. Bad
// queries get 400 and unknown symbols 404, with a JSON error; a bad
// Last-Event-ID is ignored, because EventSource gives up for good on any
// answer but 200.
func NewEventsHandler(h *Hub) http.Handler {
	return allowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := h.parseStreamQuery(w, r)
		if !ok {
			return
		}
		if !h.Status().Running {
			h.metrics.rejected.WithLabelValues("unavailable").Inc()
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "the service is not streaming now; retry shortly")
			return
		}
		header := w.Header()
		header.Set("Content-Type", "text/event-stream; charset=utf-8")
		header.Set("Cache-Control", "no-cache")
		header.Set("X-Accel-Buffering", "no")
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		req.lastID, req.resume = parseLastEventID(r.Header.Get("Last-Event-ID"), r.URL.Query().Get("lastEventId"))
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			h.metrics.rejected.WithLabelValues("bad_request").Inc()
			writeError(w, http.StatusHTTPVersionNotSupported, "event streams are served over HTTP/1.1")
			return
		}
		_ = conn.SetDeadline(time.Time{})
		// The body runs until the connection closes, so the head says so.
		header.Set("Connection", "close")
		var head bytes.Buffer
		head.WriteString("HTTP/1.1 200 OK\r\n")
		_ = header.Write(&head)
		head.WriteString("\r\n")
		if err := h.attach(conn, head.Bytes(), req); err != nil {
			h.metrics.rejected.WithLabelValues("unavailable").Inc()
			_, _ = conn.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			_ = conn.Close()
		}
	}))
}

// parseStreamQuery validates the query of a stream request and answers
// bad ones itself.
func (h *Hub) parseStreamQuery(w http.ResponseWriter, r *http.Request) (streamRequest, bool) {
	if len(r.URL.RawQuery) > h.cfg.MaxQueryBytes {
		h.metrics.rejected.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, "query longer than "+strconv.Itoa(h.cfg.MaxQueryBytes)+" bytes")
		return streamRequest{}, false
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.metrics.rejected.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, "malformed query: "+err.Error())
		return streamRequest{}, false
	}
	sub, _, err := parseSymbols(query["symbols"], h.index, h.cfg.MaxSymbols)
	var unknown *unknownSymbolsError
	switch {
	case errors.As(err, &unknown):
		h.metrics.rejected.WithLabelValues("unknown_symbol").Inc()
		writeError(w, http.StatusNotFound, "unknown symbols", unknown.symbols...)
		return streamRequest{}, false
	case err != nil:
		h.metrics.rejected.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, err.Error())
		return streamRequest{}, false
	}
	maxFreq, err := parseMaxFreq(query["maxfreq"])
	if err != nil {
		h.metrics.rejected.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, err.Error())
		return streamRequest{}, false
	}
	return streamRequest{sub: sub, maxFreq: maxFreq}, true
}
