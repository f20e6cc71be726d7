package feed

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxSymbolLen is the length of the longest symbol name: an exchange code
// of 11 letters, a colon and a ticker of 12 characters (see [CheckSymbol]).
const MaxSymbolLen = 24

const (
	maxTickerLen   = 12
	maxExchangeLen = MaxSymbolLen - 1 - maxTickerLen // 11: NYSEARCA, EURONEXT and BMFBOVESPA fit
)

// CheckSymbol reports whether name is a symbol name, and if not what is
// wrong with it; the error quotes the name, cut to MaxSymbolLen characters.
// A name is a ticker, optionally preceded by the code of its exchange and a
// colon:
//
//	NAME      [EXCHANGE:]TICKER               AAPL, BRK.B, NASDAQ:AAPL, NYSE:BRK.B
//	EXCHANGE  1 to 11 letters A-Z             NYSE, NASDAQ, NYSEARCA, EURONEXT
//	TICKER    1 to 12 of A-Z 0-9 . -,         V, GOOGL, RDS-A, BF.B, BRK.B
//	          starting with a letter, each
//	          . or - between letters or digits
//
// Names are upper-case: whoever takes a name from a person upper-cases it
// before checking it.
func CheckSymbol(name string) error {
	switch {
	case name == "":
		return errors.New(`symbol "": empty`)
	case len(name) > MaxSymbolLen:
		return fmt.Errorf("symbol %.*q...: longer than %d characters", MaxSymbolLen, name, MaxSymbolLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isUpper(c) || isDigit(c) || c == '.' || c == '-' || c == ':' {
			continue
		}
		if 'a' <= c && c <= 'z' {
			return fmt.Errorf("symbol %q: lower-case %q; names are upper-case", name, c)
		}
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf("symbol %q: %q is not one of A-Z 0-9 . - :", name, r)
	}
	ticker := name
	if exchange, rest, prefixed := strings.Cut(name, ":"); prefixed {
		switch {
		case strings.Contains(rest, ":"):
			return fmt.Errorf("symbol %q: more than one ':'", name)
		case rest == "":
			return fmt.Errorf("symbol %q: no ticker after ':'", name)
		}
		if err := checkExchange(exchange); err != nil {
			return fmt.Errorf("symbol %q: %w", name, err)
		}
		ticker = rest
	}
	if err := checkTicker(ticker); err != nil {
		return fmt.Errorf("symbol %q: %w", name, err)
	}
	return nil
}

// checkExchange checks the exchange code of a name of at most
// MaxSymbolLen characters of A-Z 0-9 . - :, without the colon.
func checkExchange(exchange string) error {
	switch {
	case exchange == "":
		return errors.New("no exchange before ':'")
	case len(exchange) > maxExchangeLen:
		return fmt.Errorf("exchange %q is longer than %d letters", exchange, maxExchangeLen)
	}
	for i := 0; i < len(exchange); i++ {
		if !isUpper(exchange[i]) {
			return fmt.Errorf("exchange %q has %q; an exchange code is letters only", exchange, exchange[i])
		}
	}
	return nil
}

// checkTicker checks the ticker of a name of at most MaxSymbolLen
// characters of A-Z 0-9 . - :; the ticker is not empty and has no colon.
func checkTicker(ticker string) error {
	switch {
	case len(ticker) > maxTickerLen:
		return fmt.Errorf("ticker %q is longer than %d characters", ticker, maxTickerLen)
	case !isUpper(ticker[0]):
		return fmt.Errorf("ticker %q does not start with a letter", ticker)
	}
	for i := 1; i < len(ticker); i++ {
		if c := ticker[i]; (c == '.' || c == '-') && (i == len(ticker)-1 || !isUpper(ticker[i+1]) && !isDigit(ticker[i+1])) {
			return fmt.Errorf("ticker %q has a %q that is not between two letters or digits", ticker, c)
		}
	}
	return nil
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
