package stream

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseSymbols feeds arbitrary query strings to the subscription parser
// of the streams and checks what it returns against the query.
func FuzzParseSymbols(f *testing.F) {
	universe := []string{"AAPL", "MSFT", "NVDA", "BRK.B", "NASDAQ:TSLA", "X-1"}
	h, err := NewHub(DefaultConfig(universe, testFraming{}))
	if err != nil {
		f.Fatal(err)
	}
	index := h.index
	const maxSymbols = 4
	for _, q := range []string{
		"", "symbols=", "symbols=AAPL", "symbols=aapl,msft", "symbols=AAPL&symbols=NVDA", "symbols=AAPL,,MSFT",
		"symbols=AAPL,", "symbols=FOO,AAPL,BAR", "symbols=brk.b,nasdaq:tsla,x-1", "symbols=%zz", "symbols=AA%20PL",
		"symbols=AAPL,AAPL,AAPL,AAPL,AAPL", "symbols=A,B,C,D,E", "symbols=%3Cscript%3E", "symbols=ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"symbols=\u0131bm", "lastEventId=5&symbols=MSFT", "symbols=AAPL;MSFT",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		query, err := url.ParseQuery(raw)
		if err != nil {
			return // answered 400 before the parser runs
		}
		values := query["symbols"]
		names, err := ParseSymbolList(values, maxSymbols)
		var sub *SymbolSet
		if err == nil {
			sub, err = h.Select(names)
			if err != nil {
				names = nil
			}
		}
		if err != nil {
			bad, unknown := errors.Is(err, ErrBadSubscription), errors.Is(err, ErrUnknownSymbols)
			if bad == unknown || sub != nil || names != nil {
				t.Fatalf("error %v: bad %v, unknown %v, sub %v, names %v", err, bad, unknown, sub, names)
			}
			var u *UnknownSymbolsError
			if errors.As(err, &u) {
				for _, s := range u.Symbols {
					if _, known := index[s]; known || checkSymbolName(s) != nil {
						t.Fatalf("%q reported unknown", s)
					}
				}
			}
			return
		}
		if values == nil {
			if sub != nil || names != nil {
				t.Fatalf("no symbols parameter gave %v %v, want every symbol (nil)", sub, names)
			}
			return
		}
		if len(names) > maxSymbols || len(names) == 0 {
			t.Fatalf("%d names from %q", len(names), raw)
		}
		seen := map[string]bool{}
		for _, n := range names {
			i, ok := index[n]
			if !ok || seen[n] || !sub.Has(i) {
				t.Fatalf("name %q: known %v, repeated %v, in the subscription %v", n, ok, seen[n], ok && sub.Has(i))
			}
			seen[n] = true
			if !strings.Contains(strings.ToUpper(strings.Join(values, ",")), n) {
				t.Fatalf("%q is not in the query %q", n, raw)
			}
		}
		for i, s := range universe {
			if sub.Has(i) != seen[s] {
				t.Fatalf("subscription has %s = %v, names %v", s, sub.Has(i), names)
			}
		}
	})
}
