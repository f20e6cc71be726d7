package ws

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	gobwas "github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/internal/setting"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/sse"
	"github.com/tickerd/tickerd/stream/subscribe"
)

// Defaults of Config.
const (
	DefaultMaxMessageBytes = 4096
	DefaultMessageRate     = 20 // messages per second, on average
	DefaultMessageBurst    = 40
	DefaultPingInterval    = 15 * time.Second
	DefaultPongTimeout     = 10 * time.Second
)

// Config sets up the WebSocket edge.
type Config struct {
	MaxSymbols      int                 // symbols one subscription may hold (at least 1)
	MaxQueryBytes   int                 // longest accepted query string (at least 64)
	MaxMessageBytes int                 // largest client message, fragments together (at least 128)
	MessageRate     float64             // client messages per second a connection may send on average (above 0)
	MessageBurst    float64             // and at once (at least 1)
	PingInterval    time.Duration       // a client silent this long is pinged (at least 100ms)
	PongTimeout     time.Duration       // and closed when it has not answered this long after (at least 100ms)
	Origins         *guard.CORS         // whose pages may connect, besides the same origin; required
	Auth            guard.Authenticator // checks every connection; nil lets everyone read everything
	Streams         *guard.Streams      // the stream limits, shared with the other transports; required
	Registerer      prometheus.Registerer
}

// validate reports the first setting the edge cannot run with, as a
// *setting.Error.
func (c *Config) validate() error {
	switch {
	case c.MaxSymbols < 1:
		return setting.Bad("MaxSymbols", c.MaxSymbols, "at least 1 symbol")
	case c.MaxQueryBytes < 64:
		return setting.Bad("MaxQueryBytes", c.MaxQueryBytes, "at least 64 bytes")
	case c.MaxMessageBytes < 128:
		return setting.Bad("MaxMessageBytes", c.MaxMessageBytes, "at least 128 bytes")
	case !(c.MessageRate > 0):
		return setting.Bad("MessageRate", c.MessageRate, "messages per second above 0")
	case !(c.MessageBurst >= 1):
		return setting.Bad("MessageBurst", c.MessageBurst, "at least 1 message")
	case c.PingInterval < 100*time.Millisecond:
		return setting.Bad("PingInterval", c.PingInterval, "at least 100ms")
	case c.PongTimeout < 100*time.Millisecond:
		return setting.Bad("PongTimeout", c.PongTimeout, "at least 100ms")
	case c.Origins == nil:
		return setting.Bad("Origins", "nil", "an origin allow-list")
	case c.Streams == nil:
		return setting.Bad("Streams", "nil", "the stream limits")
	case c.Registerer == nil:
		return setting.Bad("Registerer", "nil", "a registerer")
	}
	return nil
}

// Handler serves GET /ws over one hub. Its Run reads every connection.
type Handler struct {
	hub     *stream.Hub
	cfg     Config
	gate    *guard.Gate
	metrics *metrics
	poller  *poller
}

// NewHandler returns the WebSocket edge over hub, which must frame with
// Framing{}. Connections are read only while Run runs.
func NewHandler(hub *stream.Hub, cfg Config) (*Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	p, err := newPoller()
	if err != nil {
		return nil, fmt.Errorf("ws: %w", err)
	}
	return &Handler{hub: hub, cfg: cfg, gate: cfg.Streams.Gate(Framing{}.Name()), metrics: m, poller: p}, nil
}

// Run reads the connections until ctx is done, and pings and closes
// silent ones; then it returns nil. The engine closes the connections.
func (h *Handler) Run(ctx context.Context) error {
	return h.poller.run(ctx, h)
}

// ServeHTTP serves GET /ws:
//
//	?symbols=AAPL,MSFT   a first subscription (absent: none; *: every symbol the token allows)
//	?maxfreq=N           at most N ticks per second per symbol
//	?lastEventId=N       resume after the tick with seq N
//	?access_token=T      the token, for a client that can send neither header nor cookie
//
// A request that cannot be a stream is answered before the handshake, as
// GET /events would be (400, 401, 403 for a page of an origin that may
// not connect, 404, 405, 426 for a version other than 13, 503 before the
// engine streams), with a JSON error. Over the stream limits the
// connection is upgraded and closed at once with 1013 and the reason.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		httpjson.WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !h.handshake(w, r) {
		return
	}
	q, err := subscribe.ParseQuery(r.URL.RawQuery, h.cfg.MaxQueryBytes, h.cfg.MaxSymbols)
	if err != nil {
		h.gate.Reject(w, guard.RejectBadRequest, http.StatusBadRequest, 0, err.Error())
		return
	}
	if !h.cfg.Origins.AllowsWebSocket(r) {
		h.gate.Count(guard.RejectForbidden)
		httpjson.WriteError(w, http.StatusForbidden, "pages of origin "+r.Header.Get("Origin")+" may not connect")
		return
	}
	grant, ok := h.gate.Authenticate(h.cfg.Auth, w, r)
	if !ok {
		return
	}
	set := h.hub.Empty()
	if q.Symbols != nil || q.All {
		if set, ok = h.authorize(w, r, q, grant); !ok {
			return
		}
	}
	if !h.hub.Status().Running {
		h.gate.Unavailable(w)
		return
	}
	release, refusal := h.gate.TryAdmit(r)
	netConn, rw, _, err := gobwas.HTTPUpgrader{}.Upgrade(r, w)
	if err != nil {
		if release != nil {
			release()
		}
		return
	}
	if refusal != nil {
		_ = netConn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = netConn.Write(closeFrame(CodeTryAgainLater, refusal.Message))
		_ = netConn.Close()
		return
	}
	lastID, resume := sse.ParseLastEventID("", q.Values.Get("lastEventId"))
	sub := stream.Subscription{Symbols: set, Resume: resume, LastID: lastID, MaxFreq: q.MaxFreq, Bars: q.Bars}
	if grant != nil {
		sub.Until = grant.Until
	}
	var buffered []byte
	if n := rw.Reader.Buffered(); n > 0 {
		buffered, _ = rw.Reader.Peek(n)
		buffered = append([]byte(nil), buffered...)
	}
	h.attach(netConn, sub, grant, buffered, release)
}

// handshake checks what gobwas/ws would refuse in a plain-text answer, so
// that the client gets a JSON error like every other.
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request) bool {
	bad := func(status int, message string) bool {
		h.gate.Count(guard.RejectBadRequest)
		httpjson.WriteError(w, status, message)
		return false
	}
	switch {
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !headerHasToken(r.Header, "Connection", "upgrade"):
		w.Header().Set("Upgrade", "websocket")
		return bad(http.StatusUpgradeRequired, "GET /ws is a WebSocket: send Upgrade: websocket and Connection: Upgrade")
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		return bad(http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version: want 13")
	case !validKey(r.Header.Get("Sec-WebSocket-Key")):
		return bad(http.StatusBadRequest, "missing or malformed Sec-WebSocket-Key")
	case r.ProtoMajor != 1 || r.ProtoMinor < 1:
		return bad(http.StatusHTTPVersionNotSupported, "WebSocket handshakes are served over HTTP/1.1")
	}
	return true
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func validKey(k string) bool {
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
}

// authorize resolves the symbols of the upgrade URL: 404 for unknown
// ones, 403 for ones the grant does not cover.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, q subscribe.Query, grant *auth.Grant) (*stream.SymbolSet, bool) {
	set, err := subscribe.Entitle(h.hub, grant, q.Symbols)
	if err != nil {
		subscribe.Refuse(w, h.gate, err)
		return nil, false
	}
	if set == nil { // every symbol: a connection's set is always explicit
		set, _ = h.hub.SelectFunc(func(string) bool { return true })
	}
	return set, true
}

// attach hands the upgraded connection to the engine and its reading side
// to the poller.
func (h *Handler) attach(netConn net.Conn, sub stream.Subscription, grant *auth.Grant, buffered []byte, release func()) {
	sc, ok := netConn.(syscall.Conn)
	var raw syscall.RawConn
	var err error
	if ok {
		raw, err = sc.SyscallConn()
	}
	if !ok || err != nil {
		release()
		_ = netConn.Close()
		return
	}
	now := time.Now().UnixNano()
	c := &conn{raw: raw, grant: grant, symbols: sub.Symbols, maxFreq: sub.MaxFreq,
		lastRead: now, tokens: h.cfg.MessageBurst, tokensAt: now}
	var once sync.Once
	onClose := func() {
		once.Do(func() {
			h.poller.remove(c)
			release()
		})
	}
	// The first subscription follows the start, before any live tick.
	greeting := appendMessage(nil, "subscription", h.subscription(c))
	st, err := h.hub.Attach(sub, stream.Sink{Conn: netConn, Framing: Framing{}, OnClose: onClose, Greeting: greeting})
	if err != nil {
		h.gate.Count(guard.RejectUnavailable)
		_ = netConn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = netConn.Write(closeFrame(CodeGoingAway, guard.NotStreaming))
		_ = netConn.Close()
		onClose()
		return
	}
	c.stream = st
	if len(buffered) > 0 {
		rest, err := h.frames(c, buffered, now)
		if err == nil && len(rest) > 0 {
			c.in = append([]byte(nil), rest...)
		}
	}
	if err := h.poller.watch(c); err != nil {
		c.stream.Close(closeFrame(CodeGoingAway, "cannot read this connection"), stream.CloseProtocol)
	}
}
