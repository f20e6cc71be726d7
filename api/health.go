package api

import (
	"net/http"
	"time"

	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/stream"
)

// NewHealthHandler serves GET /healthz: the process is up.
func NewHealthHandler() http.Handler {
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
}

// Readiness is the body of GET /readyz.
type Readiness struct {
	Status      string   `json:"status"` // ready, degraded, draining or stopped
	Reason      string   `json:"reason,omitempty"`
	LastTickAge *float64 `json:"last_tick_age_seconds"` // null before the first tick
	Clients     int      `json:"clients"`
	StallAfter  float64  `json:"stall_after_seconds"`
}

// ReadinessCheck reports why the server should not take new clients now
// (say, its feed has lost its bus), or nil.
type ReadinessCheck func() error

// NewReadyHandler serves GET /readyz: 200 while the hub streams, the feed
// has produced a tick within stallAfter and every check passes; 503
// otherwise, saying why. It fails from the first moment of a drain, so a
// load balancer stops sending clients while the streams are closed.
func NewReadyHandler(h *stream.Hub, stallAfter time.Duration, checks ...ReadinessCheck) http.Handler {
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := h.Status()
		body := Readiness{Status: "ready", Clients: st.Clients, StallAfter: stallAfter.Seconds()}
		if !st.LastTick.IsZero() {
			age := time.Since(st.LastTick).Seconds()
			body.LastTickAge = &age
		}
		switch {
		case st.Draining:
			body.Status, body.Reason = "draining", "the service is stopping; its streams are being closed"
		case !st.Running:
			body.Status, body.Reason = "stopped", "the hub is not streaming"
		case st.LastTick.IsZero():
			body.Status, body.Reason = "degraded", "no tick from the feed yet"
		case time.Since(st.LastTick) > stallAfter:
			body.Status, body.Reason = "degraded", "the feed has stalled"
		default:
			for _, check := range checks {
				if err := check(); err != nil {
					body.Status, body.Reason = "degraded", err.Error()
					break
				}
			}
		}
		status := http.StatusOK
		if body.Status != "ready" {
			status = http.StatusServiceUnavailable
		}
		httpjson.Write(w, status, body)
	}))
}
