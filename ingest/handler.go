package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/internal/setting"
	"github.com/tickerd/tickerd/stream"
)

// MinKeyBytes is the shortest API key accepted.
const MinKeyBytes = 32

// ContentType is the media type of a publish request's body.
const ContentType = "application/x-ndjson"

// Defaults of the handler's limits, which tickerd's flags take as theirs.
const (
	DefaultMaxBodyBytes  = 16 << 20
	DefaultMaxLines      = 100_000
	DefaultRequestRate   = 10
	DefaultMaxPublishers = 100
	DefaultIdleTimeout   = 30 * time.Second
)

// Engine is where ticks go; *stream.Hub is one, numbering what it takes
// in (stream.Config.FirstSeq). Publish reports why it rejects a tick.
type Engine interface {
	Publish(feed.Tick) error
}

// A StoringEngine is an Engine whose Publish hands ticks on to a store
// (tickerd publish's, JetStream): a request is answered once Stored
// reports that every tick its Publish took before the call is stored, so
// that an accepted line is in the store when its answer comes, and a
// program that writes to the store itself after the answer comes after
// it. Stored returns ErrStopped when the engine stops first.
type StoringEngine interface {
	Engine
	Stored(ctx context.Context) error
}

// TokenVerifier checks a subscriber's token; *auth.Verifier is one.
type TokenVerifier interface {
	Verify(token string) (*auth.Grant, error)
}

// Config sets up a Handler.
type Config struct {
	Key    []byte        // the API key publishers send as Authorization: Bearer; at least MinKeyBytes
	Tokens TokenVerifier // with subscriber authentication on, tokens with "publish": true are accepted too; nil: off
	Engine Engine        // where ticks go, to be numbered there

	MaxBodyBytes int64   // largest body; more is answered 413
	MaxLines     int     // most lines of one body; more is answered 413
	RequestRate  float64 // requests per second of one publisher (twice as many at once); more are answered 429
	// MaxPublishers bounds the publishers told apart, each with its own
	// rate limit and metric label; those beyond share one.
	MaxPublishers int
	// IdleTimeout is how long a body may stay silent between two lines,
	// so that a publisher can stream one body for as long as it writes.
	IdleTimeout time.Duration
	Registerer  prometheus.Registerer
}

// Validate reports the first setting of c that the handler cannot run
// with, as a *setting.Error.
func (c *Config) Validate() error {
	switch {
	case len(c.Key) < MinKeyBytes:
		return setting.Bad("Key", fmt.Sprintf("of %d bytes", len(c.Key)), fmt.Sprintf("a key of at least %d bytes", MinKeyBytes))
	case c.Engine == nil:
		return setting.Bad("Engine", "nil", "an engine")
	case c.MaxBodyBytes < 1024:
		return setting.Bad("MaxBodyBytes", c.MaxBodyBytes, "at least 1024 bytes")
	case c.MaxLines < 1:
		return setting.Bad("MaxLines", c.MaxLines, "at least 1 line")
	case !(c.RequestRate > 0 && c.RequestRate <= 1e6):
		return setting.Bad("RequestRate", c.RequestRate, "requests per second above 0 and at most 1000000")
	case c.MaxPublishers < 1:
		return setting.Bad("MaxPublishers", c.MaxPublishers, "at least 1 publisher")
	case c.IdleTimeout < time.Second:
		return setting.Bad("IdleTimeout", c.IdleTimeout, "at least 1s")
	case c.Registerer == nil:
		return setting.Bad("Registerer", "nil", "a registerer")
	}
	return nil
}

// Handler serves POST /api/publish.
type Handler struct {
	cfg     Config
	keyHash [sha256.Size]byte
	metrics *metrics

	mu         sync.Mutex
	publishers map[string]*publisher
	other      *publisher // every publisher past MaxPublishers
}

// publisher is what the handler keeps of one publisher identity, or of
// all those past MaxPublishers together.
type publisher struct {
	label   string // its identity, or otherPublishers; its metric label
	limiter *rate.Limiter
}

// NewHandler returns the publish edge of cfg.
func NewHandler(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, keyHash: sha256.Sum256(cfg.Key), metrics: m, publishers: map[string]*publisher{}}
	h.other = h.newPublisher(otherPublishers)
	return h, nil
}

func (h *Handler) newPublisher(label string) *publisher {
	burst := max(1, int(math.Ceil(2*h.cfg.RequestRate)))
	return &publisher{label: label, limiter: rate.NewLimiter(rate.Limit(h.cfg.RequestRate), burst)}
}

// Result is the answer to a publish request that was read: the lines
// accepted and each one rejected. Error is set when reading stopped
// early (a body over a limit), after the lines counted.
type Result struct {
	Error    string         `json:"error,omitempty"`
	Accepted int            `json:"accepted"`
	Rejected []RejectedLine `json:"rejected"`
}

// RejectedLine is a line of the body that was not published, and why.
type RejectedLine struct {
	Line  int    `json:"line"` // from 1
	Error string `json:"error"`
}

// authRealm names the publish API in its challenges: its credentials are
// not a subscriber's.
const authRealm = `Bearer realm="tickerd publish"`

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.fail(w, resultMethod, http.StatusMethodNotAllowed, "method not allowed: publish with POST")
		return
	}
	id, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	pub := h.publisher(id)
	if res := pub.limiter.Reserve(); !res.OK() || res.Delay() > 0 {
		wait := res.Delay()
		res.Cancel()
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		h.fail(w, resultRateLimited, http.StatusTooManyRequests,
			fmt.Sprintf("more than %v publish requests per second", h.cfg.RequestRate))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != ContentType {
		h.fail(w, resultUnsupported, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Type %q: want %s, one JSON tick a line", r.Header.Get("Content-Type"), ContentType))
		return
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		h.fail(w, resultTooLarge, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body of %d bytes is larger than %d", r.ContentLength, h.cfg.MaxBodyBytes))
		return
	}
	h.read(w, r, pub)
}

// read publishes the body's ticks as their lines arrive and answers.
func (h *Handler) read(w http.ResponseWriter, r *http.Request, pub *publisher) {
	body := http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	ticks := feed.NewNDJSONReader(idleReader{r: body, rc: http.NewResponseController(w), idle: h.cfg.IdleTimeout})
	res := Result{Rejected: []RejectedLine{}}
	defer func() {
		if res.Accepted > 0 {
			h.metrics.last.WithLabelValues(pub.label).SetToCurrentTime()
		}
	}()
	for {
		t, err := ticks.Next()
		var line *feed.LineError
		switch {
		case (err == nil || errors.As(err, &line)) && ticks.Line() > h.cfg.MaxLines:
			h.answerStored(w, r, resultTooLarge, http.StatusRequestEntityTooLarge, res,
				fmt.Sprintf("more than %d lines; the lines before were read", h.cfg.MaxLines))
			return
		case err == nil:
			if err := h.cfg.Engine.Publish(t); errors.Is(err, ErrStopped) {
				h.answer(w, resultUnavailable, http.StatusServiceUnavailable, res, err.Error())
				return
			} else if err != nil {
				h.reject(&res, ticks.Line(), err)
				continue
			}
			res.Accepted++
			h.metrics.lines[lineAccepted].Inc()
		case line != nil:
			if errors.Is(err, feed.ErrNotObject) && res.Accepted == 0 && len(res.Rejected) == 0 {
				h.fail(w, resultBadRequest, http.StatusBadRequest,
					fmt.Sprintf("body is not NDJSON (%s: one JSON tick a line): %v", ContentType, err))
				return
			}
			h.reject(&res, line.Line, line.Err)
		case errors.Is(err, io.EOF):
			if res.Accepted == 0 && len(res.Rejected) == 0 {
				h.fail(w, resultBadRequest, http.StatusBadRequest, "empty body: want NDJSON ticks, one JSON object a line")
				return
			}
			h.answerStored(w, r, resultOK, http.StatusOK, res, "")
			return
		default:
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				h.answerStored(w, r, resultTooLarge, http.StatusRequestEntityTooLarge, res,
					fmt.Sprintf("body larger than %d bytes; the lines before were read", h.cfg.MaxBodyBytes))
				return
			}
			h.answerStored(w, r, resultBadRequest, http.StatusBadRequest, res, "reading the body: "+err.Error())
			return
		}
	}
}

// ErrStopped is what an Engine returns once it takes no more ticks: the
// server is stopping.
var ErrStopped = errors.New("not taking ticks: the server is stopping")

// reject records a rejected line.
func (h *Handler) reject(res *Result, line int, err error) {
	res.Rejected = append(res.Rejected, RejectedLine{Line: line, Error: err.Error()})
	h.metrics.lines[outcome(err)].Inc()
}

// outcome is the metric outcome of a line's error.
func outcome(err error) string {
	switch {
	case errors.Is(err, feed.ErrMalformed):
		return lineMalformed
	case errors.Is(err, stream.ErrUnknownSymbol):
		return lineUnknownSymbol
	case errors.Is(err, stream.ErrBadPrice):
		return lineBadPrice
	case errors.Is(err, stream.ErrBidNotBelowAsk):
		return lineBidNotBelowAsk
	case errors.Is(err, stream.ErrPriceJump):
		return linePriceJump
	}
	return lineOther
}

// answer writes a read body's result.
func (h *Handler) answer(w http.ResponseWriter, result string, status int, res Result, message string) {
	h.metrics.requests[result].Inc()
	res.Error = message
	httpjson.Write(w, status, res)
}

// answerStored answers a request whose body has been read, once its
// accepted lines are stored when the engine stores them elsewhere; if the
// engine stops first, or the request ends first (its publisher has gone),
// it answers 503, with what was accepted.
func (h *Handler) answerStored(w http.ResponseWriter, r *http.Request, result string, status int, res Result, message string) {
	if se, ok := h.cfg.Engine.(StoringEngine); ok && res.Accepted > 0 {
		// The body's idle deadline would end the request's context while
		// it waits, however long the store takes.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		if err := se.Stored(r.Context()); err != nil {
			result := resultUnavailable
			if r.Context().Err() != nil {
				result = resultGone
			}
			h.answer(w, result, http.StatusServiceUnavailable, res,
				fmt.Sprintf("%v; the %d accepted lines may not be stored", err, res.Accepted))
			return
		}
	}
	h.answer(w, result, status, res, message)
}

// fail answers a request refused before its body was read.
func (h *Handler) fail(w http.ResponseWriter, result string, status int, message string) {
	h.metrics.requests[result].Inc()
	httpjson.WriteError(w, status, message)
}

// authenticate returns the identity of r's publisher: "key" for the API
// key, token:SUBJECT for a token with the publish permission. Otherwise it
// answers 401 or 403 and returns false.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", authRealm)
		h.fail(w, resultUnauthorized, http.StatusUnauthorized, "authentication required: send the API key as Authorization: Bearer")
		return "", false
	}
	given := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(given[:], h.keyHash[:]) == 1 {
		return "key", true
	}
	if h.cfg.Tokens == nil || strings.Count(token, ".") != 2 {
		w.Header().Set("WWW-Authenticate", authRealm+`, error="invalid_token"`)
		h.fail(w, resultUnauthorized, http.StatusUnauthorized, "wrong API key")
		return "", false
	}
	g, err := h.cfg.Tokens.Verify(token)
	switch {
	case errors.Is(err, auth.ErrExpired):
		w.Header().Set("WWW-Authenticate", authRealm+`, error="invalid_token", error_description="the token has expired"`)
		h.fail(w, resultUnauthorized, http.StatusUnauthorized, "token expired")
		return "", false
	case err != nil:
		w.Header().Set("WWW-Authenticate", authRealm+`, error="invalid_token"`)
		message := auth.ErrInvalid.Error()
		if errors.Is(err, auth.ErrInvalid) {
			message = err.Error()
		}
		h.fail(w, resultUnauthorized, http.StatusUnauthorized, message)
		return "", false
	case !g.Publish:
		h.metrics.requests[resultForbidden].Inc()
		guard.Forbid(w, `token does not allow publishing: it needs the claim "`+auth.PublishClaim+`": true`)
		return "", false
	}
	subject := g.Subject
	if len(subject) > 64 {
		subject = subject[:64]
	}
	return "token:" + subject, true
}

// publisher returns what the handler keeps of identity id.
func (h *Handler) publisher(id string) *publisher {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.publishers[id]; ok {
		return p
	}
	if len(h.publishers) >= h.cfg.MaxPublishers {
		return h.other
	}
	p := h.newPublisher(id)
	h.publishers[id] = p
	return p
}

// idleReader reads a request body, giving each read the idle timeout from
// its start, so that a body may last as long as its lines keep coming.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (r idleReader) Read(p []byte) (int, error) {
	_ = r.rc.SetReadDeadline(time.Now().Add(r.idle)) // unsupported only where there is no connection to time out
	return r.r.Read(p)
}
