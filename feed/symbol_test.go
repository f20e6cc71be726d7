package feed_test

import (
	"strings"
	"testing"

	"github.com/tickerd/tickerd/feed"
)

func TestCheckSymbol(t *testing.T) {
	for _, name := range []string{
		"A", "V", "AAPL", "GOOGL", "BRK.B", "BF.B", "RDS-A", "X-Y.Z", "A1", "BMW3",
		"A23456789012", // the longest ticker
		"NASDAQ:AAPL", "NYSE:BRK.B", "NYSE:RDS-A", "L:A", "EURONEXT:AIR",
		"ABCDEFGHIJK:A23456789012", // the longest name
	} {
		if err := feed.CheckSymbol(name); err != nil {
			t.Errorf("CheckSymbol(%q) = %v, want nil", name, err)
		}
	}
	if n := len("ABCDEFGHIJK:A23456789012"); n != feed.MaxSymbolLen {
		t.Errorf("the longest name has %d characters, MaxSymbolLen is %d", n, feed.MaxSymbolLen)
	}

	for _, tc := range []struct{ name, want string }{
		{"", `symbol "": empty`},
		{strings.Repeat("A", 25), `symbol "AAAAAAAAAAAAAAAAAAAAAAAA"...: longer than 24 characters`},
		{"aapl", `symbol "aapl": lower-case 'a'; names are upper-case`},
		{"NASDAQ:aapl", `symbol "NASDAQ:aapl": lower-case 'a'; names are upper-case`},
		{"A B", `symbol "A B": ' ' is not one of A-Z 0-9 . - :`},
		{"BRK/B", `symbol "BRK/B": '/' is not one of A-Z 0-9 . - :`},
		{"A_B", `symbol "A_B": '_' is not one of A-Z 0-9 . - :`},
		{"NV*", `symbol "NV*": '*' is not one of A-Z 0-9 . - :`},
		{"ÄPPLE", `symbol "ÄPPLE": 'Ä' is not one of A-Z 0-9 . - :`},
		{"1ABC", `symbol "1ABC": ticker "1ABC" does not start with a letter`},
		{".A", `symbol ".A": ticker ".A" does not start with a letter`},
		{"-A", `symbol "-A": ticker "-A" does not start with a letter`},
		{"A234567890123", `symbol "A234567890123": ticker "A234567890123" is longer than 12 characters`},
		{"X.", `symbol "X.": ticker "X." has a '.' that is not between two letters or digits`},
		{"BRK..B", `symbol "BRK..B": ticker "BRK..B" has a '.' that is not between two letters or digits`},
		{"A.-B", `symbol "A.-B": ticker "A.-B" has a '.' that is not between two letters or digits`},
		{"A-", `symbol "A-": ticker "A-" has a '-' that is not between two letters or digits`},
		{":AAPL", `symbol ":AAPL": no exchange before ':'`},
		{"NASDAQ:", `symbol "NASDAQ:": no ticker after ':'`},
		{":", `symbol ":": no ticker after ':'`},
		{"A:B:C", `symbol "A:B:C": more than one ':'`},
		{"NASDAQ::AAPL", `symbol "NASDAQ::AAPL": more than one ':'`},
		{"N1:AAPL", `symbol "N1:AAPL": exchange "N1" has '1'; an exchange code is letters only`},
		{"N.Y:AAPL", `symbol "N.Y:AAPL": exchange "N.Y" has '.'; an exchange code is letters only`},
		{"ABCDEFGHIJKL:A", `symbol "ABCDEFGHIJKL:A": exchange "ABCDEFGHIJKL" is longer than 11 letters`},
		{"NYSE:1A", `symbol "NYSE:1A": ticker "1A" does not start with a letter`},
		{"NYSE:BRK.", `symbol "NYSE:BRK.": ticker "BRK." has a '.' that is not between two letters or digits`},
		{"A:A23456789012X", `symbol "A:A23456789012X": ticker "A23456789012X" is longer than 12 characters`},
	} {
		err := feed.CheckSymbol(tc.name)
		if err == nil || err.Error() != tc.want {
			t.Errorf("CheckSymbol(%q) = %v, want %s", tc.name, err, tc.want)
		}
	}
}
