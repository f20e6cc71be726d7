package sse

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseLastEventID checks that any resume point a client sends is either
// a decimal sequence number or treated as absent, and never an error.
func FuzzParseLastEventID(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"42", ""}, {"", "42"}, {"42", "7"}, {"abc", "7"}, {" 42 ", ""}, {"-1", ""}, {"1e3", ""},
		{"18446744073709551615", ""}, {"18446744073709551616", ""}, {"0x10", ""}, {"+5", ""}, {"\t9\n", ""},
		{"0", ""}, {"007", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, header, query string) {
		id, ok := ParseLastEventID(header, query)
		want, wantOK := uint64(0), false
		for _, s := range []string{header, query} {
			if n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err == nil {
				want, wantOK = n, true
				break
			}
		}
		if ok != wantOK || id != want {
			t.Fatalf("ParseLastEventID(%q, %q) = %d, %v; want %d, %v", header, query, id, ok, want, wantOK)
		}
		if ok {
			if again, ok := ParseLastEventID(strconv.FormatUint(id, 10), ""); !ok || again != id {
				t.Fatalf("id %d does not round-trip", id)
			}
		}
	})
}
