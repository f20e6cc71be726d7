package guard

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/internal/setting"
)

// Defaults of StreamsConfig.
const (
	DefaultMaxStreams        = 10000
	DefaultMaxStreamsPerAddr = 100
	// The buckets' sizes, for when their rates are turned on: a whole
	// address's share of streams may come back at once (a page reload
	// behind one NAT), and a tenth of all.
	DefaultStreamBurst        = DefaultMaxStreams / 10
	DefaultStreamBurstPerAddr = DefaultMaxStreamsPerAddr
)

// StreamsConfig sets up Streams. A zero rate turns its token bucket off.
type StreamsConfig struct {
	MaxStreams        int            // streams open at once; more get 503 (at least 1)
	MaxStreamsPerAddr int            // streams open at once from one client address (an IPv6 /64); more get 429 (at least 1)
	TrustedProxies    []netip.Prefix // peers whose X-Forwarded-For names the client

	// DescriptorStreams is how many streams the process's open-file limit
	// can hold with descriptors to spare for everything else (0: not
	// counted). Below MaxStreams it is the limit, and the streams it
	// refuses are counted as fd_limit and logged at WARN.
	DescriptorStreams int

	// New streams per second, in all (over it: 503) and from one client
	// address (over it: 429), as token buckets of Burst tokens (at least 1
	// when the rate is on). Polls are requests, not connections: they
	// pass no bucket.
	StreamRate         float64
	StreamBurst        int
	StreamRatePerAddr  float64
	StreamBurstPerAddr int

	Now        func() time.Time // the clock of the token buckets; nil: time.Now
	Registerer prometheus.Registerer
	Logger     *slog.Logger // where refusals for descriptors are told, at most every FDWarnInterval; nil: nowhere
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
	RejectFDLimit                       // the open-file limit holds no more streams
	RejectOverRate                      // new streams in all come faster than StreamRate
	RejectOverClientRate                // new streams of the client address come faster than StreamRatePerAddr
	rejectReasons
)

var reasonNames = [rejectReasons]string{
	"bad_request", "unknown_symbol", "unavailable", "over_limit", "over_client_limit", "unauthorized", "forbidden",
	"fd_limit", "over_rate", "over_client_rate",
}

func (r Reason) String() string { return reasonNames[r] }

// LimitRetryAfter is what a stream refused for a limit is told to wait.
const LimitRetryAfter = 10 * time.Second

// FDWarnInterval is how often at most streams refused for descriptors are
// logged.
const FDWarnInterval = 10 * time.Second

// pollTransport is the transport whose requests pass no token bucket.
const pollTransport = "poll"

// Streams admits event streams of every transport against the limits, in
// all and per client address, so that one client cannot take every
// socket, and counts the stream requests that any transport refuses. A
// stream holds its place from Admit until the release function Admit
// returned is called (when its writer closes it). The lock is taken only
// when a stream starts or ends, never per event.
type Streams struct {
	cfg     StreamsConfig
	metrics *metrics
	rate    *connRate
	limit   int  // streams open at once: MaxStreams, or DescriptorStreams below it
	fdBound bool // limit is DescriptorStreams

	fdRefused atomic.Int64   // refused for descriptors since the last warning
	fdWarn    rate.Sometimes // when that warning is due

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
	case cfg.DescriptorStreams < 0:
		return nil, setting.Bad("DescriptorStreams", cfg.DescriptorStreams, "0 (not counted) or more streams")
	case !validRate(cfg.StreamRate):
		return nil, setting.Bad("StreamRate", cfg.StreamRate, "0 (off) or more new streams per second")
	case cfg.StreamRate > 0 && cfg.StreamBurst < 1:
		return nil, setting.Bad("StreamBurst", cfg.StreamBurst, "at least 1 stream while the stream rate is on")
	case !validRate(cfg.StreamRatePerAddr):
		return nil, setting.Bad("StreamRatePerAddr", cfg.StreamRatePerAddr, "0 (off) or more new streams per second")
	case cfg.StreamRatePerAddr > 0 && cfg.StreamBurstPerAddr < 1:
		return nil, setting.Bad("StreamBurstPerAddr", cfg.StreamBurstPerAddr, "at least 1 stream while the stream rate per address is on")
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Streams{
		cfg:    cfg,
		rate:   newConnRate(cfg.StreamRate, cfg.StreamBurst, cfg.StreamRatePerAddr, cfg.StreamBurstPerAddr),
		limit:  cfg.MaxStreams,
		fdWarn: rate.Sometimes{First: 1, Interval: FDWarnInterval},
		byAddr: make(map[netip.Prefix]int),
	}
	if cfg.DescriptorStreams > 0 && cfg.DescriptorStreams < cfg.MaxStreams {
		s.limit, s.fdBound = cfg.DescriptorStreams, true
	}
	m, err := newMetrics(cfg.Registerer, s.limit)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	return s, nil
}

func validRate(r float64) bool { return r >= 0 && !math.IsInf(r, 0) }

// Limit returns the most streams open at once: MaxStreams, or
// DescriptorStreams when that is lower.
func (s *Streams) Limit() int { return s.limit }

// Gate is the admission of one transport: the shared limits, with its
// refusals counted under its name.
type Gate struct {
	*Streams
	rated    bool // new streams pass the token buckets
	rejected [rejectReasons]prometheus.Counter
}

// Gate returns the admission of transport (a bounded name: sse, ws, poll).
// Every transport's streams pass the token buckets but polls': a poll is a
// request answered from memory, which a polling client repeats at the
// feed's pace, while a held poll holds its place in the limits like a
// stream.
func (s *Streams) Gate(transport string) *Gate {
	g := &Gate{Streams: s, rated: transport != pollTransport}
	for r := range rejectReasons {
		g.rejected[r] = s.metrics.rejected.WithLabelValues(transport, r.String())
	}
	return g
}

// Errors of acquire for a stream over a limit.
var (
	errOverLimit       = errors.New("too many streams")
	errFDLimit         = errors.New("no descriptor for another stream")
	errOverClientLimit = errors.New("too many streams from this address")
)

// Admit counts a new stream from r's client against the limits and
// returns the function that gives its place back; over a limit it answers
// itself, with Retry-After, and returns false: 429 when the client address
// has its share of streams or opens them too fast, 503 when the service
// has every stream it can take or takes new ones too fast.
func (s *Gate) Admit(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release, refusal := s.TryAdmit(r)
	if refusal != nil {
		status := http.StatusServiceUnavailable
		if refusal.Reason == RejectOverClientLimit || refusal.Reason == RejectOverClientRate {
			status = http.StatusTooManyRequests
		}
		s.answer(w, status, refusal.RetryAfter, refusal.Message)
		return nil, false
	}
	return release, true
}

// Refusal says why TryAdmit refused a stream.
type Refusal struct {
	Reason     Reason // RejectOverLimit, RejectFDLimit, RejectOverClientLimit, RejectOverRate or RejectOverClientRate
	Message    string
	RetryAfter time.Duration // at least a second
}

// TryAdmit is Admit for a transport that answers a refusal its own way
// (a WebSocket closes with a code): it counts the refusal but writes
// nothing.
func (s *Gate) TryAdmit(r *http.Request) (release func(), refusal *Refusal) {
	key := AddrKey(ClientAddr(r, s.cfg.TrustedProxies))
	if s.rated {
		if refused, reason, wait := s.rate.take(key, s.cfg.Now()); refused {
			s.Count(reason)
			retry := max(time.Second, wait)
			secs := strconv.Itoa(int((retry + time.Second - 1) / time.Second))
			if reason == RejectOverRate {
				return nil, &Refusal{reason, "the service is taking new streams more slowly; retry in " + secs + "s", retry}
			}
			return nil, &Refusal{reason, "too many new streams from your address; retry in " + secs + "s", retry}
		}
	}
	switch err := s.acquire(key); {
	case errors.Is(err, errOverLimit):
		s.Count(RejectOverLimit)
		return nil, &Refusal{RejectOverLimit, "the service has all the streams it can take; retry later", LimitRetryAfter}
	case errors.Is(err, errFDLimit):
		s.Count(RejectFDLimit)
		s.warnFD()
		return nil, &Refusal{RejectFDLimit, "the service has all the streams it can take; retry later", LimitRetryAfter}
	case errors.Is(err, errOverClientLimit):
		s.Count(RejectOverClientLimit)
		return nil, &Refusal{RejectOverClientLimit, "too many streams from your address (at most " + strconv.Itoa(s.cfg.MaxStreamsPerAddr) + "); close one and retry", LimitRetryAfter}
	}
	var once sync.Once
	return func() { once.Do(func() { s.release(key) }) }, nil
}

// warnFD logs, at most every FDWarnInterval, that streams were refused
// for want of descriptors.
func (s *Streams) warnFD() {
	s.fdRefused.Add(1)
	s.fdWarn.Do(func() {
		s.cfg.Logger.Warn("streams refused: the open-file limit holds no more with the descriptor reserve kept",
			"refused", s.fdRefused.Swap(0), "streams_limit", s.limit, "max_streams", s.cfg.MaxStreams)
	})
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
	if s.total >= s.limit {
		if s.fdBound {
			return errFDLimit
		}
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
