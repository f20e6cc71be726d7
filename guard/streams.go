package guard

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/internal/setting"
)

// Defaults of StreamsConfig.
const (
	DefaultMaxStreams        = 10000
	DefaultMaxStreamsPerAddr = 100
)

// StreamsConfig sets up Streams.
type StreamsConfig struct {
	MaxStreams        int            // streams open at once; more get 503 (at least 1)
	MaxStreamsPerAddr int            // streams open at once from one client address (an IPv6 /64); more get 429 (at least 1)
	TrustedProxies    []netip.Prefix // peers whose X-Forwarded-For names the client
	Registerer        prometheus.Registerer
}

// Reason is why a stream request was refused: a label value of
// tickerd_streams_rejected_total.
type Reason int

// Reasons a stream request is refused.
const (
	RejectBadRequest      Reason = iota // the query is malformed
	RejectUnknownSymbol                 // it names a symbol outside the universe
	RejectUnavailable                   // the engine is not streaming
	RejectOverLimit                     // every stream is taken
	RejectOverClientLimit               // the client address has its share
	RejectUnauthorized                  // no valid credentials
	RejectForbidden                     // symbols the credentials do not cover
	rejectReasons
)

var reasonNames = [rejectReasons]string{
	"bad_request", "unknown_symbol", "unavailable", "over_limit", "over_client_limit", "unauthorized", "forbidden",
}

func (r Reason) String() string { return reasonNames[r] }

// LimitRetryAfter is what a stream refused for a limit is told to wait.
const LimitRetryAfter = 10 * time.Second

// Streams admits event streams of every transport against the limits, in
// all and per client address, so that one client cannot take every
// socket, and counts the stream requests that any transport refuses. A
// stream holds its place from Admit until the release function Admit
// returned is called (when its writer closes it). The lock is taken only
// when a stream starts or ends, never per event.
type Streams struct {
	cfg      StreamsConfig
	rejected *prometheus.CounterVec

	mu     sync.Mutex
	total  int
	byAddr map[netip.Prefix]int
}

// NewStreams returns the admission of cfg; a bad setting is a *setting.Error.
func NewStreams(cfg StreamsConfig) (*Streams, error) {
	switch {
	case cfg.MaxStreams < 1:
		return nil, setting.Bad("MaxStreams", cfg.MaxStreams, "at least 1 stream")
	case cfg.MaxStreamsPerAddr < 1:
		return nil, setting.Bad("MaxStreamsPerAddr", cfg.MaxStreamsPerAddr, "at least 1 stream")
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tickerd_streams_rejected_total",
		Help: "Stream requests refused, by transport (sse, ws, poll) and reason: bad_request, unknown_symbol, unavailable, over_limit (all streams), over_client_limit (streams of one address), unauthorized (no valid token), forbidden (symbols not entitled, or a page of an origin that may not connect).",
	}, []string{"transport", "reason"})
	if err := cfg.Registerer.Register(rejected); err != nil {
		return nil, fmt.Errorf("register stream metrics: %w", err)
	}
	return &Streams{cfg: cfg, rejected: rejected, byAddr: make(map[netip.Prefix]int)}, nil
}

// Gate is the admission of one transport: the shared limits, with its
// refusals counted under its name.
type Gate struct {
	*Streams
	rejected [rejectReasons]prometheus.Counter
}

// Gate returns the admission of transport (a bounded name: sse, ws, poll).
func (s *Streams) Gate(transport string) *Gate {
	g := &Gate{Streams: s}
	for r := range rejectReasons {
		g.rejected[r] = s.rejected.WithLabelValues(transport, r.String())
	}
	return g
}

// Errors of acquire for a stream over a limit.
var (
	errOverLimit       = errors.New("too many streams")
	errOverClientLimit = errors.New("too many streams from this address")
)

// Admit counts a new stream from r's client against the limits and
// returns the function that gives its place back; over a limit it answers
// 503 (every stream taken) or 429 (this address has its share) itself and
// returns false.
func (s *Gate) Admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release, refusal := s.TryAdmit(r)
	if refusal != nil {
		if refusal.Reason == RejectOverLimit {
			s.answer(w, http.StatusServiceUnavailable, LimitRetryAfter, refusal.Message)
		} else {
			s.answer(w, http.StatusTooManyRequests, LimitRetryAfter, refusal.Message)
		}
		return nil, false
	}
	return release, true
}

// Refusal says why TryAdmit refused a stream.
type Refusal struct {
	Reason  Reason // RejectOverLimit or RejectOverClientLimit
	Message string
}

// TryAdmit is Admit for a transport that answers a refusal its own way
// (a WebSocket closes with a code): it counts the refusal but writes
// nothing.
func (s *Gate) TryAdmit(r *http.Request) (release func(), refusal *Refusal) {
	key := AddrKey(ClientAddr(r, s.cfg.TrustedProxies))
	switch err := s.acquire(key); {
	case errors.Is(err, errOverLimit):
		s.Count(RejectOverLimit)
		return nil, &Refusal{RejectOverLimit, "the service has all the streams it can take; retry later"}
	case errors.Is(err, errOverClientLimit):
		s.Count(RejectOverClientLimit)
		return nil, &Refusal{RejectOverClientLimit, "too many streams from your address (at most " + strconv.Itoa(s.cfg.MaxStreamsPerAddr) + "); close one and retry"}
	}
	var once sync.Once
	return func() { once.Do(func() { s.release(key) }) }, nil
}

// Reject counts a refused stream request and answers it with status, a
// Retry-After when retry is set, and a JSON error.
func (s *Gate) Reject(w http.ResponseWriter, reason Reason, status int, retry time.Duration, message string, symbols ...string) {
	s.Count(reason)
	s.answer(w, status, retry, message, symbols...)
}

func (s *Gate) answer(w http.ResponseWriter, status int, retry time.Duration, message string, symbols ...string) {
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	httpjson.WriteError(w, status, message, symbols...)
}

// Count counts a stream request refused for reason that its transport
// answered itself.
func (s *Gate) Count(reason Reason) { s.rejected[reason].Inc() }

// acquire counts one more stream from key, or refuses it.
func (s *Streams) acquire(key netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.cfg.MaxStreams {
		return errOverLimit
	}
	if s.byAddr[key] >= s.cfg.MaxStreamsPerAddr {
		return errOverClientLimit
	}
	s.total++
	s.byAddr[key]++
	return nil
}

func (s *Streams) release(key netip.Prefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if n := s.byAddr[key] - 1; n > 0 {
		s.byAddr[key] = n
	} else {
		delete(s.byAddr, key)
	}
}

// Counts returns the streams held in all and the client addresses holding them.
func (s *Streams) Counts() (total, addrs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, len(s.byAddr)
}

// Authenticate is the package's Authenticate for a stream request,
// counting a refusal at g.
func (g *Gate) Authenticate(a Authenticator, w http.ResponseWriter, r *http.Request) (*auth.Grant, bool) {
	grant, ok := Authenticate(a, w, r)
	if !ok {
		g.Count(RejectUnauthorized)
	}
	return grant, ok
}

// NotStreaming is what a stream request is told while the engine does
// not stream (before it starts, or after it stopped).
const NotStreaming = "the service is not streaming now; retry shortly"

// Unavailable answers a stream request that came while the engine does
// not stream: 503 with Retry-After, and counts it.
func (g *Gate) Unavailable(w http.ResponseWriter) {
	g.Reject(w, RejectUnavailable, http.StatusServiceUnavailable, 2*time.Second, NotStreaming)
}
