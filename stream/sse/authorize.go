package sse

import (
	"net/http"

	"github.com/tickerd/tickerd/stream"
	"github.com/tickerd/tickerd/stream/subscribe"
)

// authorize checks r's credentials and turns req into the subscription
// they entitle to: 401 without valid credentials, 404 for symbols outside
// the universe, 403 for symbols the credentials do not cover. Without
// symbols the stream gets every symbol the grant covers.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request, req request) (stream.Subscription, bool) {
	grant, ok := h.gate.Authenticate(h.cfg.Auth, w, r)
	if !ok {
		return stream.Subscription{}, false
	}
	set, err := subscribe.Entitle(h.hub, grant, req.symbols)
	if err != nil {
		subscribe.Refuse(w, h.gate, err)
		return stream.Subscription{}, false
	}
	sub := stream.Subscription{Symbols: set, Resume: req.resume, LastID: req.lastID, MaxFreq: req.maxFreq, Bars: req.bars}
	if grant != nil {
		sub.Until = grant.Until
	}
	return sub, true
}
