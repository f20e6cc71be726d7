package stream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// subscription is the set of symbols one stream receives, as a bit set over
// the hub's symbol indices. A nil *subscription means every symbol.
type subscription struct {
	bits []uint64
}

func (s *subscription) has(i int) bool {
	return s == nil || s.bits[i>>6]&(1<<(uint(i)&63)) != 0
}

func (s *subscription) add(i int) { s.bits[i>>6] |= 1 << (uint(i) & 63) }

// errBadQuery is wrapped by every error that parseSymbols returns for a
// malformed list; errUnknownSymbols by the one for symbols not in the universe.
var (
	errBadQuery       = errors.New("bad request")
	errUnknownSymbols = errors.New("unknown symbols")
)

// unknownSymbolsError names the requested symbols that are not in the universe.
type unknownSymbolsError struct{ symbols []string }

func (e *unknownSymbolsError) Error() string {
	return "unknown symbols: " + strings.Join(e.symbols, ",")
}

func (e *unknownSymbolsError) Unwrap() error { return errUnknownSymbols }

// parseSymbols turns the values of the symbols query parameter (each a comma
// separated list; several parameters are merged) into a subscription over
// index. Symbols are case-insensitive; duplicates are folded. No values at all
// means every symbol (nil).
func parseSymbols(values []string, index map[string]int, maxSymbols int) (*subscription, []string, error) {
	if values == nil {
		return nil, nil, nil
	}
	sub := &subscription{bits: make([]uint64, (len(index)+63)/64)}
	var names, unknown []string
	seen := make(map[string]bool)
	for _, value := range values {
		if value == "" {
			return nil, nil, fmt.Errorf("%w: symbols is empty", errBadQuery)
		}
		for item := range strings.SplitSeq(value, ",") {
			name := strings.ToUpper(item)
			if err := checkSymbolName(name); err != nil {
				return nil, nil, err
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			if len(seen) > maxSymbols {
				return nil, nil, fmt.Errorf("%w: more than %d symbols", errBadQuery, maxSymbols)
			}
			i, ok := index[name]
			if !ok {
				unknown = append(unknown, name)
				continue
			}
			sub.add(i)
			names = append(names, name)
		}
	}
	if len(unknown) > 0 {
		return nil, nil, &unknownSymbolsError{symbols: unknown}
	}
	return sub, names, nil
}

// maxSymbolLen bounds one symbol name.
const maxSymbolLen = 16

// checkSymbolName accepts an upper-case symbol of letters, digits, '.', ':' and '-'.
func checkSymbolName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty symbol in list", errBadQuery)
	}
	if len(name) > maxSymbolLen {
		return fmt.Errorf("%w: symbol %.16q... longer than %d characters", errBadQuery, name, maxSymbolLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != ':' && c != '-' {
			return fmt.Errorf("%w: symbol %q has a character other than A-Z 0-9 . : -", errBadQuery, name)
		}
	}
	return nil
}

// parseLastEventID reads the resume point a client sent: the Last-Event-ID
// header, else the lastEventId query parameter. Anything that is not a
// decimal sequence number is treated as absent (0, false), never as an error:
// a browser's EventSource gives up for good on a non-200 answer.
func parseLastEventID(header, query string) (uint64, bool) {
	for _, s := range []string{header, query} {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if id, err := strconv.ParseUint(s, 10, 64); err == nil {
			return id, true
		}
	}
	return 0, false
}

// maxMaxFreq is the largest useful ?maxfreq: a cap above it caps nothing.
const maxMaxFreq = 1000

// parseMaxFreq reads ?maxfreq: absent means no cap; otherwise one number of
// ticks per second per symbol, above 0 and at most maxMaxFreq.
func parseMaxFreq(values []string) (float64, error) {
	if len(values) == 0 {
		return 0, nil
	}
	if len(values) > 1 {
		return 0, fmt.Errorf("%w: maxfreq given %d times", errBadQuery, len(values))
	}
	f, err := strconv.ParseFloat(values[0], 64)
	if err != nil || !(f > 0) || f > maxMaxFreq {
		return 0, fmt.Errorf("%w: maxfreq %.20q is not a number of ticks per second in (0, %d]", errBadQuery, values[0], maxMaxFreq)
	}
	return f, nil
}
