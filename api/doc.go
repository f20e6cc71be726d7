// Package api is tickerd's REST edge over the engine: the universe with
// its quotes (GET /api/symbols), one quote (GET /api/quotes/{symbol}),
// bars (GET /api/history), the probes GET /healthz and GET /readyz, and
// the contract: the OpenAPI document of these endpoints, polling and the
// streams' opening requests (GET /api/openapi.yaml, openapi.yaml here) and
// the AsyncAPI document of the streams' messages (GET /api/asyncapi.yaml).
//
// Each handler of market data authenticates (when authentication is on),
// reads from the engine and answers JSON, errors in the one shape of
// internal/httpjson; the contract documents are YAML and need no token.
// Package api must never write to the engine or hold a request open.
package api
