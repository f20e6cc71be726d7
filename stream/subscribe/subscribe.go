// Package subscribe turns what a client of any transport asks for (the
// query of a stream request, a WebSocket message) into the engine's
// symbol sets that its credentials allow, and gives the HTTP answer to a
// request refused for its symbols before any stream starts. A transport
// turns what is refused later (a WebSocket message) into its own answer.
package subscribe

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tickerd/tickerd/auth"
	"github.com/tickerd/tickerd/guard"
	"github.com/tickerd/tickerd/stream"
)

// Query is what a stream request's query asks for.
type Query struct {
	Symbols []string // nil: not given, or "*" (every symbol)
	All     bool     // symbols=* was given: every symbol, as when none are named
	MaxFreq float64  // 0: no cap
	Bars    stream.BarSet
	Values  url.Values
}

// ParseQuery bounds raw (at most maxBytes), parses it and reads symbols
// (at most maxSymbols names, or * for every symbol), maxfreq and bars (the
// bar intervals whose bar events it receives: bars=1s,1m). Its errors wrap
// stream.ErrBadSubscription and say what was wrong.
func ParseQuery(raw string, maxBytes, maxSymbols int) (Query, error) {
	if len(raw) > maxBytes {
		return Query{}, badQuery(fmt.Sprintf("query longer than %d bytes", maxBytes))
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return Query{}, badQuery("malformed query: " + err.Error())
	}
	q := Query{Values: values}
	if q.MaxFreq, err = stream.ParseMaxFreq(values["maxfreq"]); err != nil {
		return Query{}, err
	}
	if q.Bars, err = stream.ParseBars(values["bars"]); err != nil {
		return Query{}, err
	}
	if s := values["symbols"]; len(s) == 1 && s[0] == "*" {
		q.All = true
		return q, nil
	}
	if q.Symbols, err = stream.ParseSymbolList(values["symbols"], maxSymbols); err != nil {
		return Query{}, err
	}
	return q, nil
}

// badQuery is a query that is not one at all: its message is what the
// client is told, and it wraps stream.ErrBadSubscription.
type badQuery string

func (e badQuery) Error() string { return string(e) }
func (e badQuery) Unwrap() error { return stream.ErrBadSubscription }

// ForbiddenError names the symbols a grant does not cover; with none
// named, the grant covers no symbol at all.
type ForbiddenError struct{ Symbols []string }

func (e *ForbiddenError) Error() string {
	if len(e.Symbols) == 0 {
		return "not entitled to any symbol"
	}
	return "not entitled to symbols"
}

// Entitle returns the set of names (nil: every symbol) that grant (nil:
// authentication off) allows: an *stream.UnknownSymbolsError for names
// outside the universe, a *ForbiddenError for names the grant does not
// cover. Every symbol, under a grant that does not cover every symbol, is
// every symbol it covers; more of them than the hub streams that way is a
// *stream.FirehoseError.
func Entitle(h *stream.Hub, grant *auth.Grant, names []string) (*stream.SymbolSet, error) {
	set, err := h.Select(names)
	if err != nil {
		return nil, err
	}
	switch {
	case set == nil && (grant == nil || grant.AllowsAll()):
		if err := h.CheckFirehose(len(h.Symbols())); err != nil {
			return nil, err
		}
		return nil, nil
	case grant == nil:
		return set, nil
	case set == nil:
		set, n := h.SelectFunc(grant.Allows)
		if n == 0 {
			return nil, &ForbiddenError{}
		}
		if err := h.CheckFirehose(n); err != nil {
			return nil, err
		}
		return set, nil
	}
	var denied []string
	for _, n := range names {
		if !grant.Allows(n) {
			denied = append(denied, n)
		}
	}
	if len(denied) > 0 {
		return nil, &ForbiddenError{Symbols: denied}
	}
	return set, nil
}

// Refuse answers a request whose symbols Entitle refused with err: 404
// naming the unknown ones, or 403 naming those the grant does not cover,
// and counts it at gate.
func Refuse(w http.ResponseWriter, gate *guard.Gate, err error) {
	var unknown *stream.UnknownSymbolsError
	var forbidden *ForbiddenError
	switch {
	case errors.As(err, &unknown):
		gate.Reject(w, guard.RejectUnknownSymbol, http.StatusNotFound, 0, "unknown symbols", unknown.Symbols...)
	case errors.As(err, &forbidden):
		gate.Count(guard.RejectForbidden)
		guard.Forbid(w, forbidden.Error(), forbidden.Symbols...)
	default:
		gate.Reject(w, guard.RejectBadRequest, http.StatusBadRequest, 0, err.Error())
	}
}
