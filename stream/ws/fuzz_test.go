package ws

import (
	"errors"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

// FuzzParseMessage feeds arbitrary client messages to the parser: it
// either refuses them with an error that says so, or returns an op it
// knows with what that op needs, every symbol upper-case, well-formed,
// once, and within the bound.
func FuzzParseMessage(f *testing.F) {
	for _, m := range []string{
		`{"op":"subscribe","symbols":["AAPL"]}`, `{"op":"unsubscribe","symbols":["aapl","AAPL","nasdaq:msft"]}`,
		`{"op":"maxfreq","n":4}`, `{"op":"maxfreq","n":0}`, `{"op":"maxfreq","n":1e308}`, `{"op":"subscribe","symbols":["*"]}`,
		`{"op":"subscribe","symbols":["*","AAPL"]}`, `{"op":"subscribe"}`, `{}`, `[]`, `null`, `"op"`, `{"op":"x"}`,
		`{"op":"subscribe","symbols":["A","B","C","D"]}`, `{"op":"subscribe","symbols":[1]}`, `{"op":"maxfreq","n":"4"}`,
		`{"op":"subscribe","symbols":["AAPL"]}{}`, "{\"op\":\"subscribe\",\"symbols\":[\"\u0131BM\"]}",
	} {
		f.Add([]byte(m))
	}
	const maxSymbols = 3
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMessage(data, maxSymbols)
		if err != nil {
			if !errors.Is(err, errBadMessage) {
				t.Fatalf("error %v does not wrap errBadMessage", err)
			}
			return
		}
		switch m.Op {
		case opSubscribe, opUnsubscribe:
			if len(m.Symbols) == 0 || len(m.Symbols) > maxSymbols || m.N != nil {
				t.Fatalf("%s with %d symbols and n %v", m.Op, len(m.Symbols), m.N)
			}
			seen := map[string]bool{}
			for _, s := range m.Symbols {
				if s == "*" {
					if len(m.Symbols) != 1 {
						t.Fatalf("* among %v", m.Symbols)
					}
					continue
				}
				if err := feed.CheckSymbol(s); err != nil || s != strings.ToUpper(s) || seen[s] {
					t.Fatalf("symbol %q (%v), repeated %v", s, err, seen[s])
				}
				seen[s] = true
			}
		case opMaxFreq:
			if m.N == nil || !(*m.N >= 0 && *m.N <= 1000) || m.Symbols != nil {
				t.Fatalf("maxfreq %+v", m)
			}
		default:
			t.Fatalf("op %q accepted", m.Op)
		}
	})
}
