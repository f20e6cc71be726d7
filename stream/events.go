package stream

import (
	"bytes"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/auth"
)

// NewEventsHandler serves the event stream, GET /events:
//
//	?symbols=AAPL,MSFT   the symbols to receive (absent: every symbol)
//	?lastEventId=N       resume point for clients that cannot send Last-Event-ID
//	?maxfreq=N           at most N ticks per second per symbol, the latest winning
//	?access_token=T      the token (with Config.Auth) of a client that can send neither header nor cookie
//
// The stream is a retry hint, then a snapshot (or, when resuming, the missed
// ticks, or a resync snapshot when they are gone), then live ticks. Bad
// queries get 400, missing or bad credentials 401, unentitled symbols 403,
// unknown symbols 404, a client address over its share of streams 429 and
// a service without room for another stream 503, each with a JSON error; a
// bad Last-Event-ID is ignored, because EventSource gives up for good on
// any answer but 200. A stream opened with credentials ends when they
// expire.
func NewEventsHandler(h *Hub) http.Handler {
	return allowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query, ok := h.checkQuery(w, r)
		if !ok {
			return
		}
		grant, ok := authenticate(h.cfg.Auth, w, r)
		if !ok {
			h.metrics.rejected.WithLabelValues(rejectUnauthorized).Inc()
			return
		}
		req, ok := h.parseStreamRequest(w, query, grant)
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
		if grant != nil {
			req.until = grant.Until
		}
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

// checkQuery bounds and parses the query of a stream request and answers
// bad ones itself.
func (h *Hub) checkQuery(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if len(r.URL.RawQuery) > h.cfg.MaxQueryBytes {
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, "query longer than "+strconv.Itoa(h.cfg.MaxQueryBytes)+" bytes")
		return nil, false
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, "malformed query: "+err.Error())
		return nil, false
	}
	return query, true
}

// parseStreamRequest reads what a stream request asks for, within what
// grant (nil: everything) entitles to, and answers bad ones itself.
func (h *Hub) parseStreamRequest(w http.ResponseWriter, query url.Values, grant *auth.Grant) (streamRequest, bool) {
	maxFreq, err := parseMaxFreq(query["maxfreq"])
	if err != nil {
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, err.Error())
		return streamRequest{}, false
	}
	sub, ok := h.subscribe(w, query, grant)
	if !ok {
		return streamRequest{}, false
	}
	return streamRequest{sub: sub, maxFreq: maxFreq}, true
}

// subscribe turns the symbols of a stream request into a subscription that
// grant (nil: everything) entitles to, and answers bad, unknown (404) and
// unentitled (403) symbols itself. Without a symbols parameter the stream
// gets every symbol the grant covers.
func (h *Hub) subscribe(w http.ResponseWriter, query url.Values, grant *auth.Grant) (*subscription, bool) {
	sub, names, err := parseSymbols(query["symbols"], h.index, h.cfg.MaxSymbols)
	var unknown *unknownSymbolsError
	switch {
	case errors.As(err, &unknown):
		h.reject(w, rejectUnknownSymbol, http.StatusNotFound, 0, "unknown symbols", unknown.symbols...)
		return nil, false
	case err != nil:
		h.reject(w, rejectBadRequest, http.StatusBadRequest, 0, err.Error())
		return nil, false
	case grant == nil || (sub == nil && grant.AllowsAll()):
		return sub, true
	case sub == nil:
		sub = h.entitledSubscription(grant)
		if sub == nil {
			h.metrics.rejected.WithLabelValues(rejectForbidden).Inc()
			forbid(w, "not entitled to any symbol")
			return nil, false
		}
		return sub, true
	}
	if denied := unentitled(grant, names); len(denied) > 0 {
		h.metrics.rejected.WithLabelValues(rejectForbidden).Inc()
		forbid(w, "not entitled to symbols", denied...)
		return nil, false
	}
	return sub, true
}

// entitledSubscription subscribes to every symbol of the universe that g
// allows; nil if it allows none.
func (h *Hub) entitledSubscription(g *auth.Grant) *subscription {
	sub := &subscription{bits: make([]uint64, (len(h.symbols)+63)/64)}
	found := false
	for i, s := range h.symbols {
		if g.Allows(s) {
			sub.add(i)
			found = true
		}
	}
	if !found {
		return nil
	}
	return sub
}
