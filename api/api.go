package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/internal/httpjson"
	"github.com/tickerd/tickerd/stream"
)

// QuoteList is the body of GET /api/symbols.
type QuoteList struct {
	Seq    uint64       `json:"seq"`
	Total  int          `json:"total"`          // symbols the caller may read, in every page
	Next   *int         `json:"next,omitempty"` // offset of the next page; nil on the last
	Quotes []feed.Quote `json:"quotes"`
}

// QuoteColumns is the body of GET /api/symbols?form=compact: what a board
// of the whole market shows of each symbol, a column per field, about a
// seventh the size of a QuoteList (230 KB for 10,000 symbols).
type QuoteColumns struct {
	Seq           uint64    `json:"seq"`
	Total         int       `json:"total"`
	Next          *int      `json:"next,omitempty"`
	Symbols       []string  `json:"sym"`
	Price         []float64 `json:"px"`
	Change        []float64 `json:"chg"`
	ChangePercent []float64 `json:"chg_pct"`
	Volume        []int64   `json:"vol"`
}

// MaxSymbolsPage is the largest page of GET /api/symbols; it is also the
// largest universe a tickerd serves (feed.MaxSymbols), so one page can
// always hold every symbol.
const MaxSymbolsPage = feed.MaxSymbols

// symbolsQuery is what a GET /api/symbols asks for.
type symbolsQuery struct {
	offset, limit int // limit 0: every symbol from offset on
	compact       bool
}

// parseSymbolsQuery reads offset, limit and form; each at most once.
func parseSymbolsQuery(q url.Values) (symbolsQuery, error) {
	var sq symbolsQuery
	number := func(name string, lowest, highest int) (int, error) {
		v := q[name]
		if len(v) == 0 {
			return 0, nil
		}
		n, err := strconv.Atoi(v[0])
		if len(v) > 1 || err != nil || n < lowest || n > highest {
			return 0, fmt.Errorf("invalid %s: want one whole number from %d to %d", name, lowest, highest)
		}
		return n, nil
	}
	var err error
	if sq.offset, err = number("offset", 0, math.MaxInt32); err != nil {
		return sq, err
	}
	if sq.limit, err = number("limit", 1, MaxSymbolsPage); err != nil {
		return sq, err
	}
	switch form := q["form"]; {
	case len(form) == 0 || len(form) == 1 && form[0] == "full":
	case len(form) == 1 && form[0] == "compact":
		sq.compact = true
	default:
		return sq, errors.New("invalid form: want full or compact, once")
	}
	return sq, nil
}

// NewSymbolsHandler serves GET /api/symbols: the universe with the latest
// quote of each symbol, in display order, with how many symbols there are
// in all. With authentication on (a non-nil a), it lists only the symbols
// the caller is entitled to. ?offset=N&limit=M asks for a page of at most M
// symbols from the Nth (0 first); the answer names the offset of the next
// page, if there is one. ?form=compact answers with QuoteColumns instead of
// whole quotes. A bad parameter is answered 400.
func NewSymbolsHandler(h *stream.Hub, a guard.Authenticator) http.Handler {
	return httpjson.AllowGet(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grant, ok := guard.Authenticate(a, w, r)
		if !ok {
			return
		}
		sq, err := parseSymbolsQuery(r.URL.Query())
		if err != nil {
			httpjson.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		var allow func(string) bool
		if grant != nil && !grant.AllowsAll() {
			allow = grant.Allows
		}
		page, total, seq := h.QuotePage(sq.offset, sq.limit, allow)
		var next *int
		if n := sq.offset + len(page); sq.limit > 0 && n < total {
			next = &n
		}
		if !sq.compact {
			httpjson.Write(w, http.StatusOK, QuoteList{Seq: seq, Total: total, Next: next, Quotes: page})
			return
		}
		c := QuoteColumns{
			Seq: seq, Total: total, Next: next,
			Symbols:       make([]string, len(page)),
			Price:         make([]float64, len(page)),
			Change:        make([]float64, len(page)),
			ChangePercent: make([]float64, len(page)),
			Volume:        make([]int64, len(page)),
		}
		for i, q := range page {
			c.Symbols[i], c.Price[i], c.Change[i], c.ChangePercent[i], c.Volume[i] = q.Last.Symbol, q.Last.Price, q.Change, q.ChangePercent, q.Volume
		}
		httpjson.Write(w, http.StatusOK, c)
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
