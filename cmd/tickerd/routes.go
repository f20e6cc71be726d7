package main

import (
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/static"
	"github.com/tickerd/tickerd/stream"
)

// transports are the edges that push ticks to clients, each over the hub.
type transports struct {
	events  http.Handler // Server-Sent Events, GET /events
	sockets http.Handler // WebSocket, GET /ws
	polls   http.Handler // polling, GET /api/ticks
	publish http.Handler // the way in beside them, POST /api/publish; nil: off (404)

	market api.MarketConfig // the calendar and clock of the market the statuses come from, for GET /api/market
}

// routes is tickerd's whole HTTP surface when it serves clients: the
// transports, the REST edge and the page over hub. authn (nil: authentication off) guards the
// streams and the market data API; the
// page's files, health, readiness, metrics and the contract (OpenAPI and
// AsyncAPI) need no token. checks are
// what else /readyz asks (a replica's bus). Every answer passes the CORS
// allow-list and carries the security headers, the page's with its own
// Content-Security-Policy.
func routes(hub *stream.Hub, t transports, reg *prometheus.Registry, authn guard.Authenticator, cors *guard.CORS, stallAfter time.Duration, checks ...api.ReadinessCheck) http.Handler {
	headers := guard.Headers(guard.APIContentSecurityPolicy)
	page := guard.Headers(static.ContentSecurityPolicy)
	mux := http.NewServeMux()
	mux.Handle("/events", headers(t.events))
	mux.Handle("/ws", headers(t.sockets))
	mux.Handle("/api/ticks", headers(t.polls))
	mux.Handle("/api/symbols", headers(api.NewSymbolsHandler(hub, authn)))
	mux.Handle("/api/quotes/{symbol}", headers(api.NewQuoteHandler(hub, authn)))
	mux.Handle("/api/history", headers(api.NewHistoryHandler(hub, authn)))
	mux.Handle("/api/publish", headers(orNotFound(t.publish)))
	mux.Handle("/api/market", headers(api.NewMarketHandler(hub, t.market)))
	mux.Handle("/api/openapi.yaml", headers(api.NewOpenAPIHandler()))
	mux.Handle("/api/asyncapi.yaml", headers(api.NewAsyncAPIHandler()))
	mux.Handle("/api/", headers(api.NewNotFoundHandler()))
	mux.Handle("/healthz", headers(api.NewHealthHandler()))
	mux.Handle("/readyz", headers(api.NewReadyHandler(hub, stallAfter, checks...)))
	mux.Handle("/metrics", headers(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	mux.Handle("/", page(static.Handler()))
	return cors.Wrap(mux)
}

// orNotFound is h, or the API's 404 when h is nil (an endpoint turned off).
func orNotFound(h http.Handler) http.Handler {
	if h == nil {
		return api.NewNotFoundHandler()
	}
	return h
}

// publisherRoutes is the HTTP surface of tickerd publish: probes, metrics
// and, when it is on (not nil), the publish API.
func publisherRoutes(ready func() error, reg *prometheus.Registry, publish http.Handler) http.Handler {
	mux := http.NewServeMux()
	headers := guard.Headers(guard.APIContentSecurityPolicy)
	if publish != nil {
		mux.Handle("/api/publish", headers(publish))
	}
	mux.Handle("/healthz", headers(api.NewHealthHandler()))
	mux.Handle("/readyz", headers(newPublisherReadyHandler(ready)))
	mux.Handle("/metrics", headers(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	return mux
}

// debugRoutes is the profiling surface, served only on -debug-addr.
func debugRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
