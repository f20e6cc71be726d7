// Package api is tickerd's REST edge over the engine: the universe with
// its quotes (GET /api/symbols), one quote (GET /api/quotes/{symbol}),
// bars (GET /api/history), and the probes GET /healthz and GET /readyz.
//
// Each handler authenticates (when authentication is on), reads from the
// engine and answers JSON, errors in the one shape of internal/httpjson.
// Package api must never write to the engine or hold a request open.
package api
