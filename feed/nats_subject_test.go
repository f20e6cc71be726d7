package feed_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tickerd/tickerd/feed"
)

// symbolOfSubject reads a symbol back from its subject, undoing Subject's
// escapes; ok is false for a subject Subject does not make.
func symbolOfSubject(subject string) (symbol string, ok bool) {
	token, ok := strings.CutPrefix(subject, feed.SubjectPrefix)
	if !ok || token == "" {
		return "", false
	}
	var b []byte
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '_':
			if i+2 >= len(token) || strings.ContainsAny(token[i+1:i+3], "abcdef") {
				return "", false
			}
			v, err := strconv.ParseUint(token[i+1:i+3], 16, 8)
			if err != nil {
				return "", false
			}
			b = append(b, byte(v))
			i += 2
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
			b = append(b, c)
		default:
			return "", false
		}
	}
	return string(b), true
}

func TestSubject(t *testing.T) {
	for _, tc := range []struct{ symbol, subject string }{
		{"AAPL", "ticks.AAPL"},
		{"RDS-A", "ticks.RDS-A"},
		{"BRK.B", "ticks.BRK_2EB"},
		{"NASDAQ:AAPL", "ticks.NASDAQ_3AAAPL"},
		{"NYSE:BRK.B", "ticks.NYSE_3ABRK_2EB"},
		{"ABCDEFGHIJK:A2345678.0-12", "ticks.ABCDEFGHIJK_3AA2345678_2E0-12"},
		// Not symbols, but the mapping is defined for them too.
		{"A_2EB", "ticks.A_5F2EB"},
		{"BRK..B", "ticks.BRK_2E_2EB"},
		{"a b*>", "ticks.a_20b_2A_3E"},
		{"Ä", "ticks._C3_84"},
	} {
		if got := feed.Subject(tc.symbol); got != tc.subject {
			t.Errorf("Subject(%q) = %s, want %s", tc.symbol, got, tc.subject)
		}
	}
}

// FuzzSubject checks that every non-empty string, each name of the symbol
// rule among them, makes a valid one-token subject that it can be read back
// from, so no two share one.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"AAPL", "BRK.B", "NASDAQ:AAPL", "NYSE:BRK.B", "RDS-A", "A_2EB", "A.B", "_", "..", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, symbol string) {
		if symbol == "" {
			return
		}
		subject := feed.Subject(symbol)
		if !server.IsValidLiteralSubject(subject) || strings.Count(subject, ".") != 1 {
			t.Fatalf("Subject(%q) = %q: not one literal token after %s", symbol, subject, feed.SubjectPrefix)
		}
		if back, ok := symbolOfSubject(subject); !ok || back != symbol {
			t.Fatalf("Subject(%q) = %q reads back as %q, %v", symbol, subject, back, ok)
		}
	})
}
