package ws

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of tickerd_ws_messages_total.
var (
	messageOps     = []string{opSubscribe, opUnsubscribe, opMaxFreq, "invalid", "flood"}
	messageResults = []string{"ok", "error"}
)

// metrics holds every metric of package ws.
type metrics struct {
	messages map[[2]string]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tickerd_ws_messages_total",
		Help: "WebSocket client messages received, by op (subscribe, unsubscribe, maxfreq; invalid: not a well-formed message; flood: over the message rate) and result (ok, error: answered with an error message, or the connection closed).",
	}, []string{"op", "result"})
	if err := reg.Register(vec); err != nil {
		return nil, fmt.Errorf("register ws metrics: %w", err)
	}
	m := &metrics{messages: make(map[[2]string]prometheus.Counter)}
	for _, op := range messageOps {
		for _, r := range messageResults {
			m.messages[[2]string{op, r}] = vec.WithLabelValues(op, r)
		}
	}
	return m, nil
}

// message counts one client message.
func (m *metrics) message(op, result string) {
	if c, ok := m.messages[[2]string{op, result}]; ok {
		c.Inc()
	}
}
