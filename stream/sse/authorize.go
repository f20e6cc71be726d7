package sse

import (
	"errors"
	"net/http"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/stream"
)

// authorize checks r's credentials and turns req into the subscription
// they entitle to: 401 without valid credentials, 404 for symbols outside
// the universe, 403 for symbols the credentials do not cover. Without
// symbols the stream gets every symbol the grant covers.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request, req request) (stream.Subscription, bool) {
	grant, ok := guard.Authenticate(h.cfg.Auth, w, r)
	if !ok {
		h.cfg.Streams.Count(guard.RejectUnauthorized)
		return stream.Subscription{}, false
	}
	set, err := h.hub.Select(req.symbols)
	var unknown *stream.UnknownSymbolsError
	if errors.As(err, &unknown) {
		h.cfg.Streams.Reject(w, guard.RejectUnknownSymbol, http.StatusNotFound, 0, "unknown symbols", unknown.Symbols...)
		return stream.Subscription{}, false
	}
	if set, ok = h.entitled(w, grant, set, req.symbols); !ok {
		h.cfg.Streams.Count(guard.RejectForbidden)
		return stream.Subscription{}, false
	}
	sub := stream.Subscription{Symbols: set, Resume: req.resume, LastID: req.lastID, MaxFreq: req.maxFreq}
	if grant != nil {
		sub.Until = grant.Until
	}
	return sub, true
}

// entitled narrows set (nil: every symbol) to what grant (nil:
// authentication off) covers, answering 403 when it covers none of an
// unnamed set or not all of the named ones.
func (h *handler) entitled(w http.ResponseWriter, grant *auth.Grant, set *stream.SymbolSet, names []string) (*stream.SymbolSet, bool) {
	switch {
	case grant == nil || (set == nil && grant.AllowsAll()):
		return set, true
	case set == nil:
		set, n := h.hub.SelectFunc(grant.Allows)
		if n == 0 {
			guard.Forbid(w, "not entitled to any symbol")
			return nil, false
		}
		return set, true
	}
	if denied := guard.Unentitled(grant, names); len(denied) > 0 {
		guard.Forbid(w, "not entitled to symbols", denied...)
		return nil, false
	}
	return set, true
}
