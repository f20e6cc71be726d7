package stream

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/tickerd/tickerd/feed"
)

// SymbolSet is the set of symbols one stream receives, as a bit set over
// the hub's symbol indices. A nil *SymbolSet means every symbol. A set of
// a few symbols also lists them, so that a stream's writer can tell from a
// batch's symbols, with a test per symbol of the stream, that no event of
// the batch is for it: in a large universe most batches are not, and
// testing each event's bit instead reads the whole of a bit set that grows
// with the universe (1.25 KB at 10,000 symbols) for every stream.
type SymbolSet struct {
	bits   []uint64
	few    []int32 // the symbols, when listed
	listed bool    // few holds every symbol of the set
}

// maxListed is the most symbols a set lists.
const maxListed = 32

// Has reports whether the set holds the symbol at index i of the universe.
func (s *SymbolSet) Has(i int) bool {
	return s == nil || s.bits[i>>6]&(1<<(uint(i)&63)) != 0
}

// add puts symbol i in a set being built, which seal then finishes.
func (s *SymbolSet) add(i int) {
	s.bits[i>>6] |= 1 << (uint(i) & 63)
	s.listed = false
}

// seal lists the set's symbols if they are few, and returns s.
func (s *SymbolSet) seal() *SymbolSet {
	s.few, s.listed = nil, false
	n := 0
	for _, w := range s.bits {
		if n += bits.OnesCount64(w); n > maxListed {
			return s
		}
	}
	s.few = make([]int32, 0, n)
	s.each(func(i int) { s.few = append(s.few, int32(i)) })
	s.listed = true
	return s
}

// meets reports whether the events of a batch whose symbols are batch (nil:
// not known) may include one for s: false only when s lists its symbols and
// none is in batch.
func (s *SymbolSet) meets(batch *SymbolSet) bool {
	if s == nil || !s.listed || batch == nil {
		return true
	}
	for _, i := range s.few {
		if batch.Has(int(i)) {
			return true
		}
	}
	return false
}

// batchSymbols returns the set of the symbols of events, or nil if one of
// them is not about a symbol of the universe.
func (h *Hub) batchSymbols(events []event) *SymbolSet {
	set := h.newSymbolSet()
	for i := range events {
		sym := int(events[i].sym)
		if sym < 0 || sym >= len(h.symbols) {
			return nil
		}
		set.add(sym)
	}
	return set
}

// Len returns the number of symbols in the set; -1 for every symbol (nil).
func (s *SymbolSet) Len() int {
	if s == nil {
		return -1
	}
	n := 0
	for _, w := range s.bits {
		n += bits.OnesCount64(w)
	}
	return n
}

// Union returns a new set of the symbols in s or in o; nil if either is
// every symbol.
func (s *SymbolSet) Union(o *SymbolSet) *SymbolSet {
	if s == nil || o == nil {
		return nil
	}
	u := &SymbolSet{bits: slices.Clone(s.bits)}
	for i, w := range o.bits {
		u.bits[i] |= w
	}
	return u.seal()
}

// Minus returns a new set of the symbols in s and not in o. s and o must
// not be nil (every symbol).
func (s *SymbolSet) Minus(o *SymbolSet) *SymbolSet {
	m := &SymbolSet{bits: slices.Clone(s.bits)}
	for i, w := range o.bits {
		m.bits[i] &^= w
	}
	return m.seal()
}

// Empty returns a set of no symbol.
func (h *Hub) Empty() *SymbolSet { return h.newSymbolSet().seal() }

// Names returns the names of the set's symbols in universe order (every
// symbol for nil).
func (h *Hub) Names(s *SymbolSet) []string {
	if s == nil {
		return append([]string{}, h.symbols...)
	}
	names := []string{}
	s.each(func(i int) { names = append(names, h.symbols[i]) })
	return names
}

// each calls fn with the index of every symbol in the non-nil set s, in
// universe order. It skips empty words, so a set of a few symbols in a
// large universe costs a pass over its words, not a test per symbol.
func (s *SymbolSet) each(fn func(i int)) {
	for w, word := range s.bits {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			fn(w<<6 | b)
			word &= word - 1
		}
	}
}

func (h *Hub) newSymbolSet() *SymbolSet {
	return &SymbolSet{bits: make([]uint64, (len(h.symbols)+63)/64)}
}

// ErrBadSubscription is wrapped by every error about a malformed
// subscription; ErrUnknownSymbols by the one for symbols outside the universe.
var (
	ErrBadSubscription = errors.New("bad request")
	ErrUnknownSymbols  = errors.New("unknown symbols")
)

// UnknownSymbolsError names the requested symbols that are not in the universe.
type UnknownSymbolsError struct{ Symbols []string }

func (e *UnknownSymbolsError) Error() string {
	return "unknown symbols: " + strings.Join(e.Symbols, ",")
}

func (e *UnknownSymbolsError) Unwrap() error { return ErrUnknownSymbols }

// ParseSymbolList reads the symbols a client named, each value a comma
// separated list (several values are merged), into upper-case names in the
// order given, duplicates folded. No values at all (nil) means every
// symbol and returns nil; more than maxSymbols names is an error.
func ParseSymbolList(values []string, maxSymbols int) ([]string, error) {
	if values == nil {
		return nil, nil
	}
	names := []string{}
	seen := make(map[string]bool)
	for _, value := range values {
		if value == "" {
			return nil, fmt.Errorf("%w: symbols is empty", ErrBadSubscription)
		}
		for item := range strings.SplitSeq(value, ",") {
			name := strings.ToUpper(item)
			if err := checkSymbolName(name); err != nil {
				return nil, err
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			if len(seen) > maxSymbols {
				return nil, fmt.Errorf("%w: more than %d symbols", ErrBadSubscription, maxSymbols)
			}
			names = append(names, name)
		}
	}
	return names, nil
}

// Select returns the set of the named symbols (nil names: every symbol, a
// nil set), or an *UnknownSymbolsError naming those outside the universe.
func (h *Hub) Select(names []string) (*SymbolSet, error) {
	if names == nil {
		return nil, nil
	}
	set := h.newSymbolSet()
	var unknown []string
	for _, name := range names {
		i, ok := h.index[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		set.add(i)
	}
	if len(unknown) > 0 {
		return nil, &UnknownSymbolsError{Symbols: unknown}
	}
	return set.seal(), nil
}

// SelectFunc returns the set of the universe's symbols that keep accepts,
// and how many there are.
func (h *Hub) SelectFunc(keep func(symbol string) bool) (*SymbolSet, int) {
	set := h.newSymbolSet()
	n := 0
	for i, s := range h.symbols {
		if keep(s) {
			set.add(i)
			n++
		}
	}
	return set.seal(), n
}

// FirehoseError refuses a stream of every symbol (no symbols, or *) whose
// symbols are more than the hub serves that way (Config.Firehose).
type FirehoseError struct {
	Symbols int // symbols the stream would get
	Max     int // Config.Firehose
}

func (e *FirehoseError) Error() string {
	if e.Max == 0 {
		return fmt.Sprintf("%v: streams of every symbol are off; name the symbols wanted", ErrBadSubscription)
	}
	return fmt.Sprintf("%v: every symbol is %d symbols, more than the %d a stream of every symbol may have; name the symbols wanted", ErrBadSubscription, e.Symbols, e.Max)
}

func (e *FirehoseError) Unwrap() error { return ErrBadSubscription }

// CheckFirehose reports, as a *FirehoseError, whether a stream that asked
// for every symbol and would get n of them is refused.
func (h *Hub) CheckFirehose(n int) error {
	if n > h.cfg.Firehose {
		return &FirehoseError{Symbols: n, Max: h.cfg.Firehose}
	}
	return nil
}

// checkSymbolName applies feed's one symbol rule to a name a client sent.
func checkSymbolName(name string) error {
	if err := feed.CheckSymbol(name); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSubscription, err)
	}
	return nil
}

// MaxMaxFreq is the largest useful maxfreq: a cap above it caps nothing.
const MaxMaxFreq = 1000

// ParseMaxFreq reads a maxfreq parameter: absent means no cap (0);
// otherwise one number of ticks per second per symbol, above 0 and at most
// MaxMaxFreq.
func ParseMaxFreq(values []string) (float64, error) {
	if len(values) == 0 {
		return 0, nil
	}
	if len(values) > 1 {
		return 0, fmt.Errorf("%w: maxfreq given %d times", ErrBadSubscription, len(values))
	}
	f, err := strconv.ParseFloat(values[0], 64)
	if err != nil || !(f > 0) || f > MaxMaxFreq {
		return 0, fmt.Errorf("%w: maxfreq %.20q is not a number of ticks per second in (0, %d]", ErrBadSubscription, values[0], MaxMaxFreq)
	}
	return f, nil
}
