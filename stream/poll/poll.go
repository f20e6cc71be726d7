// Package poll is the polling edge of the engine, GET /api/ticks: the
// fallback for clients behind a proxy that buffers or cuts streams. A
// client asks for the ticks after the last sequence number it saw and
// gets them from the engine's replay ring at once, or, with wait, as soon
// as one arrives; wait=0 is plain polling.
//
// A request flows one way: parse (the query, since and wait), authorize
// (credentials and entitlements, as for GET /events), admit (a held poll
// counts against the stream limits shared by every transport), answer.
// Package poll must never hold a request longer than its wait, nor keep
// state of its own between requests: the client carries its place.
package poll

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/internal/setting"
	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/subscribe"
)

// Defaults of Config.
const (
	DefaultMaxWait  = 30 * time.Second
	DefaultMaxTicks = 5000
)

// Config sets up the polling edge.
type Config struct {
	MaxSymbols    int                 // symbols one poll may name (at least 1)
	MaxQueryBytes int                 // longest accepted query string (at least 64)
	MaxWait       time.Duration       // longest wait a poll may ask for (0: polls are never held)
	MaxTicks      int                 // most ticks in one answer; the next poll gets the rest (at least 1)
	Auth          guard.Authenticator // checks every poll; nil lets everyone read everything
	Streams       *guard.Streams      // the stream limits, shared with the other transports; required
}

func (c *Config) validate() error {
	switch {
	case c.MaxSymbols < 1:
		return setting.Bad("MaxSymbols", c.MaxSymbols, "at least 1 symbol")
	case c.MaxQueryBytes < 64:
		return setting.Bad("MaxQueryBytes", c.MaxQueryBytes, "at least 64 bytes")
	case c.MaxWait < 0 || c.MaxWait > 5*time.Minute:
		return setting.Bad("MaxWait", c.MaxWait, "0 (never held) to 5m")
	case c.MaxTicks < 1:
		return setting.Bad("MaxTicks", c.MaxTicks, "at least 1 tick")
	case c.Streams == nil:
		return setting.Bad("Streams", "nil", "the stream limits")
	}
	return nil
}

// Framing frames events for a poll answer: each is its JSON object with
// its type first, followed by a comma, so that an answer is the events
// between brackets.
type Framing struct{}

var _ stream.Framing = Framing{}

// AppendEvent appends {"type":"tick",...}, and a comma.
func (Framing) AppendEvent(dst []byte, kind stream.Kind, id uint64, body []byte) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, kind.String()...)
	dst = append(dst, '"')
	if len(body) > 2 {
		dst = append(dst, ',')
	}
	dst = append(dst, body[1:]...)
	return append(dst, ',')
}

// Heartbeat is never sent: nothing streams.
func (Framing) Heartbeat() []byte { return nil }

// Closing is never sent: nothing streams.
func (Framing) Closing(stream.CloseReason) []byte { return nil }

type handler struct {
	hub  *stream.Hub
	cfg  Config
	gate *guard.Gate
}

// NewHandler serves GET /api/ticks over hub, which must frame with
// Framing{}:
//
//	?symbols=AAPL,MSFT   the symbols to receive (absent: every symbol the client may read)
//	?bars=1s,1m          the bar events of these intervals too, made while the poll is held and for stream.PollBarGrace after
//	?since=N             the seq of the last answer (absent: start with a snapshot)
//	?wait=25s            hold the poll until a tick comes, at most this long (absent or 0: answer at once)
//	?maxfreq             not accepted: a poll gets every tick
//
// It answers {"seq":N,"events":[...]}: the ticks after since, oldest
// first, each as on the WebSocket ({"type":"tick",...}); a snapshot
// ({"type":"snapshot",...}) instead without since, or when since is
// older than the replay ring (with "resync":true); an empty list when the
// wait ran out. seq is what to send as since next. Errors are those of
// GET /events, as JSON; over the stream limits 429 or 503 with
// Retry-After.
func NewHandler(hub *stream.Hub, cfg Config) (http.Handler, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("poll: %w", err)
	}
	return httpjson.AllowGet(&handler{hub: hub, cfg: cfg, gate: cfg.Streams.Gate(Framing{}.Name())}), nil
}

// request is what a poll asks for.
type request struct {
	symbols []string
	bars    stream.BarSet
	since   uint64
	resume  bool
	wait    time.Duration
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := h.parse(w, r)
	if !ok {
		return
	}
	set, ok := h.authorize(w, r, req)
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
	defer release()
	defer h.hub.Hold(Framing{})()
	defer h.hub.HoldBars(req.bars)()
	h.answer(w, r, req, set)
}

// parse reads the query; a bad one is answered 400.
func (h *handler) parse(w http.ResponseWriter, r *http.Request) (request, bool) {
	q, err := subscribe.ParseQuery(r.URL.RawQuery, h.cfg.MaxQueryBytes, h.cfg.MaxSymbols)
	if err == nil && q.Values.Has("maxfreq") {
		err = fmt.Errorf("%w: maxfreq is for streams; a poll gets every tick after since", stream.ErrBadSubscription)
	}
	req := request{symbols: q.Symbols, bars: q.Bars}
	if err == nil {
		req.since, req.resume, err = parseSince(q.Values["since"])
	}
	if err == nil {
		req.wait, err = parseWait(q.Values["wait"], h.cfg.MaxWait)
	}
	if err != nil {
		h.gate.Reject(w, guard.RejectBadRequest, http.StatusBadRequest, 0, err.Error())
		return request{}, false
	}
	return req, true
}

func parseSince(values []string) (uint64, bool, error) {
	if len(values) == 0 {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(values[0]), 10, 64)
	if len(values) > 1 || err != nil {
		return 0, false, fmt.Errorf("%w: since %.24q is not one sequence number", stream.ErrBadSubscription, strings.Join(values, ","))
	}
	return n, true, nil
}

func parseWait(values []string, maxWait time.Duration) (time.Duration, error) {
	if len(values) == 0 {
		return 0, nil
	}
	d, err := time.ParseDuration(values[0])
	if len(values) > 1 || err != nil || d < 0 || d > maxWait {
		return 0, fmt.Errorf("%w: wait %.24q is not a duration from 0s to %v", stream.ErrBadSubscription, strings.Join(values, ","), maxWait)
	}
	return d, nil
}

// authorize checks r's credentials and the symbols: 401, 404, 403.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request, req request) (*stream.SymbolSet, bool) {
	grant, ok := h.gate.Authenticate(h.cfg.Auth, w, r)
	if !ok {
		return nil, false
	}
	set, err := subscribe.Entitle(h.hub, grant, req.symbols)
	if err != nil {
		subscribe.Refuse(w, h.gate, err)
		return nil, false
	}
	return set, true
}

// answer writes the events after req.since, waiting for the first up to
// req.wait.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, req request, set *stream.SymbolSet) {
	var timer <-chan time.Time
	if req.wait > 0 {
		t := time.NewTimer(req.wait)
		defer t.Stop()
		timer = t.C
	}
	body := append(make([]byte, 0, 512), `{"events":[`...)
	for {
		flushed := h.hub.Flushes() // before reading the ring: a batch after it closes it
		events, next, ticks, snapshot := h.hub.AppendSince(body, Framing{}, set, req.bars, req.since, req.resume, h.cfg.MaxTicks)
		if ticks > 0 || snapshot || timer == nil {
			h.write(w, events, next)
			return
		}
		select {
		case <-flushed:
		case <-timer:
			h.write(w, body, next)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// write ends the answer: the events (a trailing comma dropped) and seq.
func (h *handler) write(w http.ResponseWriter, events []byte, next uint64) {
	if events[len(events)-1] == ',' {
		events = events[:len(events)-1]
	}
	events = append(events, `],"seq":`...)
	events = strconv.AppendUint(events, next, 10)
	events = append(events, "}\n"...)
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(events))
}

// Name is the transport's label in metrics.
func (Framing) Name() string { return "poll" }
