package guard

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the stream admission's.
type metrics struct {
	rejected *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, limit int) (*metrics, error) {
	m := &metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickerd_streams_rejected_total",
			Help: "Stream requests refused, by transport (sse, ws, poll) and reason: bad_request, unknown_symbol, unavailable, over_limit (all streams), over_client_limit (streams of one address), unauthorized (no valid token), forbidden (symbols not entitled, or a page of an origin that may not connect), fd_limit (the open-file limit holds no more streams), over_rate (new streams in all came faster than -stream-rate), over_client_rate (new streams of one address came faster than -stream-rate-per-addr).",
		}, []string{"transport", "reason"}),
	}
	limitGauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tickerd_streams_limit",
		Help: "Most streams open at once: -max-streams, or fewer when the open-file limit cannot hold that many with -fd-reserve descriptors to spare. Open descriptors and their limit are process_open_fds and process_max_fds.",
	})
	limitGauge.Set(float64(limit))
	for _, c := range []prometheus.Collector{m.rejected, limitGauge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register stream metrics: %w", err)
		}
	}
	return m, nil
}
