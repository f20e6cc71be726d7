package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tickerd/tickerd/static"
	"github.com/tickerd/tickerd/stream"
)

// routes is tickerd's whole HTTP surface when it serves clients; checks are
// what else /readyz asks (a replica's bus).
func routes(hub *stream.Hub, bars *stream.BarStore, reg *prometheus.Registry, stallAfter time.Duration, checks ...stream.ReadinessCheck) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/events", stream.NewEventsHandler(hub))
	mux.Handle("/api/symbols", stream.NewSymbolsHandler(hub))
	mux.Handle("/api/quotes/{symbol}", stream.NewQuoteHandler(hub))
	mux.Handle("/api/history", stream.NewHistoryHandler(bars, nil))
	mux.Handle("/api/", stream.NewNotFoundHandler())
	mux.Handle("/healthz", stream.NewHealthHandler())
	mux.Handle("/readyz", stream.NewReadyHandler(hub, stallAfter, checks...))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", static.Handler())
	return mux
}

// publisherRoutes is the HTTP surface of tickerd publish: probes and metrics.
func publisherRoutes(ready func() error, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/healthz", stream.NewHealthHandler())
	mux.Handle("/readyz", newPublisherReadyHandler(ready))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
