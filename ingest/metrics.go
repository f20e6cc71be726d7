package ingest

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a publish request, the values of the result label.
const (
	resultOK           = "ok"           // 200: the body was read, whatever its lines held
	resultBadRequest   = "bad_request"  // 400: not NDJSON, or unreadable
	resultUnauthorized = "unauthorized" // 401
	resultForbidden    = "forbidden"    // 403
	resultMethod       = "bad_method"   // 405
	resultTooLarge     = "too_large"    // 413: over the body size or the line count
	resultUnsupported  = "bad_type"     // 415
	resultRateLimited  = "rate_limited" // 429
	resultUnavailable  = "unavailable"  // 503: the engine is not taking ticks
	resultGone         = "gone"         // 503: the request ended (its publisher went away) before its accepted lines were stored
)

var requestResults = []string{resultOK, resultBadRequest, resultUnauthorized, resultForbidden, resultMethod,
	resultTooLarge, resultUnsupported, resultRateLimited, resultUnavailable, resultGone}

// Outcomes of a line, the values of the outcome label.
const (
	lineAccepted       = "accepted"
	lineMalformed      = "malformed"
	lineUnknownSymbol  = "unknown_symbol"
	lineBadPrice       = "bad_price"
	lineBidNotBelowAsk = "bid_not_below_ask"
	linePriceJump      = "price_jump"
	lineOther          = "other"
)

var lineOutcomes = []string{lineAccepted, lineMalformed, lineUnknownSymbol, lineBadPrice, lineBidNotBelowAsk, linePriceJump, lineOther}

// otherPublishers is the publisher label of every publisher beyond
// MaxPublishers.
const otherPublishers = "other"

type metrics struct {
	requests map[string]prometheus.Counter
	lines    map[string]prometheus.Counter
	// last has a series per publisher label: the Handler's bound on the
	// publishers it tells apart is this one's.
	last *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tickerd_publish_requests_total",
		Help: "Requests to POST /api/publish, by result: ok (answered 200, whatever the lines held), bad_request, unauthorized, forbidden, bad_method, too_large, bad_type, rate_limited, unavailable, gone (the publisher went away before its lines were stored).",
	}, []string{"result"})
	lines := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tickerd_publish_lines_total",
		Help: "Tick lines read from publish requests, by outcome: accepted, or the reason of the rejection (malformed, unknown_symbol, bad_price, bid_not_below_ask, price_jump, other).",
	}, []string{"outcome"})
	last := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "tickerd_publish_last_timestamp_seconds",
		Help: "When each publisher last had a tick accepted, in Unix seconds; publisher is \"key\" for the API key, the subject of a token, or \"other\" past the bound on distinct publishers.",
	}, []string{"publisher"})
	for _, c := range []prometheus.Collector{requests, lines, last} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("publish metrics: %w", err)
		}
	}
	m := &metrics{
		requests: map[string]prometheus.Counter{},
		lines:    map[string]prometheus.Counter{},
		last:     last,
	}
	for _, r := range requestResults {
		m.requests[r] = requests.WithLabelValues(r)
	}
	for _, o := range lineOutcomes {
		m.lines[o] = lines.WithLabelValues(o)
	}
	return m, nil
}
