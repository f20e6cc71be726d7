package sse

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/internal/setting"
	"github.com/tickerd/tickerd/stream"
)

// Defaults of Config.
const (
	DefaultMaxSymbols    = 100
	DefaultMaxQueryBytes = 4096
	DefaultRetry         = 2 * time.Second
)

// Config sets up the SSE edge.
type Config struct {
	MaxSymbols    int                 // symbols one stream may name (at least 1)
	MaxQueryBytes int                 // longest accepted query string (at least 64)
	Retry         time.Duration       // reconnect delay advertised to clients, each stream a jittered one (see jitter); 0: at once
	Auth          guard.Authenticator // checks every stream; nil lets everyone read everything
	Streams       *guard.Streams      // the stream limits, shared with the other transports; required
}

// validate reports the first setting of c the edge cannot run with, as a
// *setting.Error.
func (c *Config) validate() error {
	switch {
	case c.MaxSymbols < 1:
		return setting.Bad("MaxSymbols", c.MaxSymbols, "at least 1 symbol")
	case c.MaxQueryBytes < 64:
		return setting.Bad("MaxQueryBytes", c.MaxQueryBytes, "at least 64 bytes")
	case c.Retry < 0:
		return setting.Bad("Retry", c.Retry, "0 (reconnect at once) or more")
	case c.Streams == nil:
		return setting.Bad("Streams", "nil", "the stream limits")
	}
	return nil
}

// handler serves GET /events over one hub.
type handler struct {
	hub  *stream.Hub
	cfg  Config
	gate *guard.Gate
}

// NewHandler serves the event stream, GET /events:
//
//	?symbols=AAPL,MSFT   the symbols to receive (absent: every symbol)
//	?lastEventId=N       resume point for clients that cannot send Last-Event-ID
//	?maxfreq=N           at most N ticks per second per symbol, the latest winning
//	?access_token=T      the token (with Config.Auth) of a client that can send neither header nor cookie
//
// The stream is a snapshot (or, when resuming, the missed ticks, or a
// resync snapshot when they are gone), then live ticks; the block of its
// first event carries the retry hint, a reconnect delay spread around
// Config.Retry (see jitter). Bad
// queries get 400, missing or bad credentials 401, unentitled symbols 403,
// unknown symbols 404, a client address over its share of streams 429 and
// a service without room for another stream 503, each with a JSON error; a
// bad Last-Event-ID is ignored, because EventSource gives up for good on
// any answer but 200. A stream opened with credentials ends when they
// expire. hub must frame with Framing{}.
func NewHandler(hub *stream.Hub, cfg Config) (http.Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	return httpjson.AllowGet(&handler{hub: hub, cfg: cfg, gate: cfg.Streams.Gate(Framing{}.Name())}), nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := h.parse(w, r)
	if !ok {
		return
	}
	sub, ok := h.authorize(w, r, req)
	if !ok {
		return
	}
	if !h.hub.Status().Running {
		h.gate.Unavailable(w)
		return
	}
	release, ok := h.gate.Admit(w, r)
	if !ok {
		return
	}
	h.attach(w, r, sub, release)
}

// attach answers 200, takes the connection over from net/http and hands
// it to the engine, which from then on writes the stream and calls
// release when it ends.
func (h *handler) attach(w http.ResponseWriter, r *http.Request, sub stream.Subscription, release func()) {
	header := w.Header()
	header.Set("Content-Type", "text/event-stream; charset=utf-8")
	header.Set("Cache-Control", "no-cache")
	header.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		release()
		w.WriteHeader(http.StatusOK)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		release()
		h.gate.Count(guard.RejectBadRequest)
		httpjson.WriteError(w, http.StatusHTTPVersionNotSupported, "event streams are served over HTTP/1.1")
		return
	}
	_ = conn.SetDeadline(time.Time{})
	// The body runs until the connection closes, so the head says so.
	header.Set("Connection", "close")
	// Room for the head at once, rather than the buffer growing through
	// four sizes for every stream.
	head := bytes.NewBuffer(make([]byte, 0, 512))
	head.WriteString("HTTP/1.1 200 OK\r\n")
	_ = header.Write(head)
	// The retry field opens the block of the stream's first event: a block
	// of its own is delivered as an empty event by some clients (go-sse,
	// launchdarkly's).
	head.WriteString("\r\nretry: ")
	head.WriteString(strconv.FormatInt(jitter(h.cfg.Retry).Milliseconds(), 10))
	head.WriteString("\n")
	if _, err := h.hub.Attach(sub, stream.Sink{Conn: conn, Framing: Framing{}, Head: head.Bytes(), OnClose: release}); err != nil {
		release()
		h.gate.Count(guard.RejectUnavailable)
		_, _ = conn.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		_ = conn.Close()
	}
}

// jitter returns the reconnect delay one stream is told: uniform between
// half and one and a half times retry, in whole milliseconds, so the
// clients of a closing server (a restart, a drain) come back spread over
// a retry's length rather than all at once. 0 stays 0.
func jitter(retry time.Duration) time.Duration {
	if retry < 2*time.Millisecond {
		return retry
	}
	ms := retry.Milliseconds()
	return time.Duration(ms/2+rand.Int64N(ms+1)) * time.Millisecond
}
