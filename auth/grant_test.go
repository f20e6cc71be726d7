package auth

import (
	"slices"
	"strings"
	"testing"
)

func TestGrantPatterns(t *testing.T) {
	for _, tc := range []struct {
		claim    any
		patterns []string
		allows   []string
		denies   []string
	}{
		{nil, nil, nil, []string{"AAPL", ""}},
		{[]any{}, nil, nil, []string{"AAPL"}},
		{[]any{"*"}, []string{"*"}, []string{"AAPL", "NASDAQ:MSFT", "X"}, nil},
		{[]any{"aapl", "NV*"}, []string{"AAPL", "NV*"}, []string{"AAPL", "NVDA", "NV"}, []string{"AAP", "AAPLX", "MSFT", "ANVDA"}},
		{[]any{"NASDAQ:*", "BRK.B"}, []string{"BRK.B", "NASDAQ:*"}, []string{"NASDAQ:AAPL", "NASDAQ:NVDA", "NASDAQ:BRK.B", "BRK.B"}, []string{"NYSE:IBM", "BRK.A", "NASDAQ", "AAPL", "NASDAQX:AAPL"}},
		{[]any{"nasdaq:nv*", "NYSE:BRK.*", "NYSE:IBM"}, []string{"NYSE:IBM", "NASDAQ:NV*", "NYSE:BRK.*"}, []string{"NASDAQ:NVDA", "NASDAQ:NV", "NYSE:BRK.A", "NYSE:BRK.B", "NYSE:IBM"}, []string{"NVDA", "NASDAQ:AAPL", "NYSE:BRK", "BRK.B", "NYSE:IBMX"}},
		{[]any{"NV*"}, []string{"NV*"}, []string{"NVDA", "NV", "NVR"}, []string{"NASDAQ:NVDA", "ANV"}},
		{[]any{"N*", "ABCDEFGHIJK:*", "A23456789012*", "ABCDEFGHIJK:A23456789012"}, []string{"ABCDEFGHIJK:A23456789012", "A23456789012*", "ABCDEFGHIJK:*", "N*"}, []string{"NYSE:IBM", "ABCDEFGHIJK:A", "A23456789012"}, []string{"AAPL"}},
		{[]any{"NV*", "nv*", "AAPL", "AAPL", "A*"}, []string{"AAPL", "A*", "NV*"}, []string{"AMD"}, []string{"MSFT"}},
	} {
		g, err := parseEntitlements(tc.claim)
		if err != nil {
			t.Fatalf("%v: %v", tc.claim, err)
		}
		if got := g.Patterns(); !slices.Equal(got, tc.patterns) {
			t.Errorf("%v: patterns %v, want %v", tc.claim, got, tc.patterns)
		}
		for _, s := range tc.allows {
			if !g.Allows(s) {
				t.Errorf("%v does not allow %s", tc.claim, s)
			}
		}
		for _, s := range tc.denies {
			if g.Allows(s) {
				t.Errorf("%v allows %s", tc.claim, s)
			}
		}
	}
	for _, bad := range []any{"*", 1.0, map[string]any{}, []any{""}, []any{"**"}, []any{"*A"}, []any{"A B"}, []any{"<script>"},
		[]any{strings.Repeat("A", 33)}, []any{nil}, []any{"ÄPPLE"}, make([]any, maxPatterns+1),
		// Patterns follow the symbol rule of package feed.
		[]any{"BRK..B"}, []any{"X."}, []any{"1ABC"}, []any{"NASDAQ:"}, []any{":AAPL"}, []any{"A:B:C"}, []any{"N1:AAPL"},
		[]any{":*"}, []any{"N1:*"}, []any{"BRK..*"}, []any{"A:B:*"}, []any{"1*"}, []any{".*"}, []any{"ABCDEFGHIJKL:*"},
		[]any{strings.Repeat("A", 13) + "*"}, []any{"ABCDEFGHIJK:A2345678901.*"}, []any{"AAPL**"}} {
		if _, err := parseEntitlements(bad); err == nil {
			t.Errorf("claim %v accepted", bad)
		}
	}
}
