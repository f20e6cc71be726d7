package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/stream"
)

// QuoteList is the body of GET /api/symbols.
type QuoteList struct {
	Seq    uint64       `json:"seq"`
	Quotes []feed.Quote `json:"quotes"`
}

// NewSymbolsHandler serves GET /api/symbols: the universe with the latest
// quote of each symbol, in display order. With authentication on (a
// non-nil a), it lists only the symbols the caller is entitled to.
func NewSymbolsHandler(h *stream.Hub, a guard.Authenticator) http.Handler {
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grant, ok := guard.Authenticate(a, w, r)
		if !ok {
			return
		}
		quotes, seq := h.Quotes()
		if grant != nil && !grant.AllowsAll() {
			quotes = slices.DeleteFunc(quotes, func(q feed.Quote) bool { return !grant.Allows(q.Last.Symbol) })
		}
		httpjson.Write(w, http.StatusOK, QuoteList{Seq: seq, Quotes: quotes})
	}))
}

// NewQuoteHandler serves GET /api/quotes/{symbol}: one symbol's latest
// quote; 403 for a symbol the caller is not entitled to.
func NewQuoteHandler(h *stream.Hub, a guard.Authenticator) http.Handler {
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grant, ok := guard.Authenticate(a, w, r)
		if !ok {
			return
		}
		symbol := strings.ToUpper(r.PathValue("symbol"))
		if err := feed.CheckSymbol(symbol); err != nil {
			httpjson.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		q, ok := h.Quote(symbol)
		if !ok {
			httpjson.WriteError(w, http.StatusNotFound, "unknown symbols", symbol)
			return
		}
		if denied := guard.Unentitled(grant, []string{symbol}); denied != nil {
			guard.Forbid(w, "not entitled to symbols", denied...)
			return
		}
		httpjson.Write(w, http.StatusOK, q)
	}))
}

// NewNotFoundHandler answers unknown API paths with a JSON 404.
func NewNotFoundHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.WriteError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
}
