package stream

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
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
			h.reject(w, rejectUnavailable, http.StatusServiceUnavailable, 2*time.Second, "the service is not streaming now; retry shortly")
			return
		}
		addr := addrKey(clientAddr(r, h.cfg.TrustedProxies))
		if !h.acquireStream(w, addr) {
			return
		}
		header := w.Header()
		header.Set("Content-Type", "text/event-stream; charset=utf-8")
		header.Set("Cache-Control", "no-cache")
		header.Set("X-Accel-Buffering", "no")
		if r.Method == http.MethodHead {
			h.limits.release(addr)
			w.WriteHeader(http.StatusOK)
			return
		}
		req.addr = addr
		req.lastID, req.resume = parseLastEventID(r.Header.Get("Last-Event-ID"), r.URL.Query().Get("lastEventId"))
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			h.limits.release(addr)
			h.metrics.rejected.WithLabelValues(rejectBadRequest).Inc()
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
			h.limits.release(addr)
			h.metrics.rejected.WithLabelValues(rejectUnavailable).Inc()
			_, _ = conn.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			_ = conn.Close()
		}
	}))
}

// limitRetryAfter is what a stream refused for a limit is told to wait.
const limitRetryAfter = 10 * time.Second

// acquireStream counts a new stream from addr against the limits, or
// answers 503 (every stream taken) or 429 (this address has its share).
func (h *Hub) acquireStream(w http.ResponseWriter, addr netip.Prefix) bool {
	switch err := h.limits.acquire(addr); {
	case errors.Is(err, errOverLimit):
		h.reject(w, rejectOverLimit, http.StatusServiceUnavailable, limitRetryAfter, "the service has all the streams it can take; retry later")
		return false
	case errors.Is(err, errOverClientLimit):
		h.reject(w, rejectOverClientLimit, http.StatusTooManyRequests, limitRetryAfter,
			"too many streams from your address (at most "+strconv.Itoa(h.cfg.MaxStreamsPerAddr)+"); close one and retry")
		return false
	}
	return true
}

// reject counts a refused stream request and answers it with status, a
// Retry-After when retry is set, and a JSON error.
func (h *Hub) reject(w http.ResponseWriter, reason string, status int, retry time.Duration, message string, symbols ...string) {
	h.metrics.rejected.WithLabelValues(reason).Inc()
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	writeError(w, status, message, symbols...)
}

// parseStreamQuery validates the query of a stream request and answers
// bad ones itself.
func (h *Hub) parseStreamQuery(w http.ResponseWriter, r *http.Request) (streamRequest, bool) {
	if len(r.URL.RawQuery) > h.cfg.MaxQueryBytes {
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, "query longer than "+strconv.Itoa(h.cfg.MaxQueryBytes)+" bytes")
		return streamRequest{}, false
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, "malformed query: "+err.Error())
		return streamRequest{}, false
	}
	sub, _, err := parseSymbols(query["symbols"], h.index, h.cfg.MaxSymbols)
	var unknown *unknownSymbolsError
	switch {
	case errors.As(err, &unknown):
		h.reject(w, rejectUnknownSymbol, http.StatusNotFound, 0, "unknown symbols", unknown.symbols...)
		return streamRequest{}, false
	case err != nil:
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, err.Error())
		return streamRequest{}, false
	}
	maxFreq, err := parseMaxFreq(query["maxfreq"])
	if err != nil {
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, err.Error())
		return streamRequest{}, false
	}
	return streamRequest{sub: sub, maxFreq: maxFreq}, true
}
