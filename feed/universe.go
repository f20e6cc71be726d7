package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Symbol is one tradable instrument of the simulated market and the
// parameters of its price process.
type Symbol struct {
	Name       string  `json:"name"`       // e.g. AAPL or NASDAQ:AAPL; see [CheckSymbol]
	Price      float64 `json:"price"`      // start price in dollars, > 0
	Volatility float64 `json:"volatility"` // annualised volatility of the log-price, in (0, 5]; 0.28 is 28%
	Drift      float64 `json:"drift"`      // annualised mean log-return, in [-5, 5]; see the package doc
}

// Limits on a universe, enforced by [ParseSymbols] and [NewSimulator].
// MaxSymbols is ten times the largest national equity market's listing
// count; the memory a symbol costs is measured in BENCHMARKS.md.
const (
	MaxSymbols    = 100_000
	MaxVolatility = 5.0
	MaxDrift      = 5.0
	// MaxPrice keeps every price, in cents, exactly representable in a
	// float64 with room for the price to wander.
	MaxPrice = 1e9
)

// maxSymbolsFile bounds the size of a file read by ParseSymbols("@path"):
// MaxSymbols entries of the longest names and parameters written out in
// full (about 140 bytes each) fit in it.
const maxSymbolsFile = 16 << 20

// DefaultUniverse returns about fifty large US stocks with plausible start
// prices and volatilities and zero drift. Each call returns a new slice.
func DefaultUniverse() []Symbol {
	return []Symbol{
		{Name: "AAPL", Price: 229.87, Volatility: 0.28},
		{Name: "MSFT", Price: 417.46, Volatility: 0.25},
		{Name: "NVDA", Price: 131.38, Volatility: 0.52},
		{Name: "AMZN", Price: 191.33, Volatility: 0.33},
		{Name: "GOOGL", Price: 168.95, Volatility: 0.30},
		{Name: "META", Price: 563.09, Volatility: 0.38},
		{Name: "TSLA", Price: 251.44, Volatility: 0.60},
		{Name: "BRK.B", Price: 461.12, Volatility: 0.17},
		{Name: "JPM", Price: 221.49, Volatility: 0.24},
		{Name: "V", Price: 289.65, Volatility: 0.20},
		{Name: "MA", Price: 502.31, Volatility: 0.21},
		{Name: "UNH", Price: 540.22, Volatility: 0.26},
		{Name: "XOM", Price: 114.87, Volatility: 0.25},
		{Name: "JNJ", Price: 155.06, Volatility: 0.16},
		{Name: "PG", Price: 165.42, Volatility: 0.16},
		{Name: "HD", Price: 389.77, Volatility: 0.23},
		{Name: "AVGO", Price: 169.52, Volatility: 0.45},
		{Name: "LLY", Price: 851.40, Volatility: 0.33},
		{Name: "COST", Price: 902.13, Volatility: 0.21},
		{Name: "WMT", Price: 80.24, Volatility: 0.19},
		{Name: "KO", Price: 64.93, Volatility: 0.15},
		{Name: "PEP", Price: 160.18, Volatility: 0.17},
		{Name: "MRK", Price: 100.35, Volatility: 0.22},
		{Name: "ABBV", Price: 180.63, Volatility: 0.24},
		{Name: "CVX", Price: 150.71, Volatility: 0.26},
		{Name: "BAC", Price: 42.16, Volatility: 0.28},
		{Name: "ORCL", Price: 171.08, Volatility: 0.35},
		{Name: "CRM", Price: 289.90, Volatility: 0.35},
		{Name: "ADBE", Price: 498.57, Volatility: 0.34},
		{Name: "AMD", Price: 150.12, Volatility: 0.52},
		{Name: "NFLX", Price: 701.35, Volatility: 0.40},
		{Name: "INTC", Price: 22.41, Volatility: 0.48},
		{Name: "CSCO", Price: 56.02, Volatility: 0.20},
		{Name: "QCOM", Price: 164.77, Volatility: 0.36},
		{Name: "TXN", Price: 195.30, Volatility: 0.27},
		{Name: "DIS", Price: 99.84, Volatility: 0.28},
		{Name: "NKE", Price: 80.55, Volatility: 0.30},
		{Name: "MCD", Price: 294.18, Volatility: 0.17},
		{Name: "PFE", Price: 28.37, Volatility: 0.24},
		{Name: "T", Price: 22.06, Volatility: 0.20},
		{Name: "VZ", Price: 42.45, Volatility: 0.19},
		{Name: "IBM", Price: 219.92, Volatility: 0.22},
		{Name: "GS", Price: 521.48, Volatility: 0.27},
		{Name: "MS", Price: 119.76, Volatility: 0.28},
		{Name: "WFC", Price: 64.88, Volatility: 0.29},
		{Name: "C", Price: 67.93, Volatility: 0.30},
		{Name: "BA", Price: 170.26, Volatility: 0.38},
		{Name: "CAT", Price: 381.04, Volatility: 0.29},
		{Name: "UBER", Price: 74.62, Volatility: 0.45},
		{Name: "PYPL", Price: 80.31, Volatility: 0.40},
		{Name: "PLTR", Price: 44.85, Volatility: 0.70},
		{Name: "COIN", Price: 221.70, Volatility: 0.70},
	}
}

// ParseSymbols returns the universe that spec describes. spec is one of:
//
//   - empty: the [DefaultUniverse];
//   - a comma-separated list of items, each either a NAME of the default
//     universe or such a name with an exchange prefix (NASDAQ:AAPL), which
//     keeps the parameters of that name, or NAME=PRICE/VOLATILITY or
//     NAME=PRICE/VOLATILITY/DRIFT for any name (overriding the default
//     parameters of a known one), e.g. "AAPL,NYSE:IBM,ACME=12.50/0.4";
//     blanks around items are ignored;
//   - @PATH: a JSON file holding an array of
//     {"name":"ACME","price":12.5,"volatility":0.4,"drift":0}, where drift
//     may be omitted (0) and other fields are rejected;
//   - synthetic:N or synthetic:N/SEED: the universe of [SyntheticUniverse]
//     (N symbols, seed 1 when none is given).
//
// The result has between 1 and [MaxSymbols] symbols with distinct names
// that follow the symbol rule ([CheckSymbol]), prices in (0, [MaxPrice]],
// volatilities in (0, [MaxVolatility]] and drifts in [-MaxDrift, MaxDrift].
// An error names the offending item.
func ParseSymbols(spec string) ([]Symbol, error) {
	switch {
	case spec == "":
		return DefaultUniverse(), nil
	case strings.HasPrefix(spec, "@"):
		return readSymbolsFile(spec[1:])
	case strings.HasPrefix(spec, syntheticPrefix):
		return parseSynthetic(spec[len(syntheticPrefix):])
	default:
		return parseSymbolList(spec)
	}
}

func parseSymbolList(spec string) ([]Symbol, error) {
	items := strings.Split(spec, ",")
	if len(items) > MaxSymbols {
		return nil, fmt.Errorf("too many symbols: %d, at most %d", len(items), MaxSymbols)
	}
	known := make(map[string]Symbol)
	for _, s := range DefaultUniverse() {
		known[s.Name] = s
	}
	syms := make([]Symbol, 0, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("symbol %d: empty item", i+1)
		}
		name, params, hasParams := strings.Cut(item, "=")
		if err := CheckSymbol(name); err != nil {
			return nil, err
		}
		if !hasParams {
			s, ok := known[name]
			if _, ticker, prefixed := strings.Cut(name, ":"); prefixed && !ok {
				s, ok = known[ticker] // NASDAQ:AAPL is AAPL, on its exchange
			}
			if !ok {
				return nil, fmt.Errorf("symbol %q: not in the default universe; give its parameters as %s=PRICE/VOLATILITY", name, name)
			}
			s.Name = name
			syms = append(syms, s)
			continue
		}
		s, err := parseSymbolParams(name, params)
		if err != nil {
			return nil, err
		}
		syms = append(syms, s)
	}
	if err := validateSymbols(syms); err != nil {
		return nil, err
	}
	return syms, nil
}

// parseSymbolParams parses PRICE/VOLATILITY[/DRIFT] for the named symbol.
func parseSymbolParams(name, params string) (Symbol, error) {
	fields := strings.Split(params, "/")
	if len(fields) < 2 || len(fields) > 3 {
		return Symbol{}, fmt.Errorf("symbol %q: parameters %q must be PRICE/VOLATILITY or PRICE/VOLATILITY/DRIFT", name, params)
	}
	s := Symbol{Name: name}
	targets := []struct {
		what string
		dst  *float64
	}{{"price", &s.Price}, {"volatility", &s.Volatility}, {"drift", &s.Drift}}
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return Symbol{}, fmt.Errorf("symbol %q: %s %q is not a number", name, targets[i].what, f)
		}
		*targets[i].dst = v
	}
	return s, nil
}

func readSymbolsFile(path string) ([]Symbol, error) {
	if path == "" {
		return nil, errors.New("symbols file: empty path after @")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("symbols file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSymbolsFile+1))
	if err != nil {
		return nil, fmt.Errorf("symbols file %s: %w", path, err)
	}
	if len(b) > maxSymbolsFile {
		return nil, fmt.Errorf("symbols file %s: larger than %d bytes", path, maxSymbolsFile)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var syms []Symbol
	if err := dec.Decode(&syms); err != nil {
		return nil, fmt.Errorf("symbols file %s: decode: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("symbols file %s: data after the JSON array", path)
	}
	if err := validateSymbols(syms); err != nil {
		return nil, fmt.Errorf("symbols file %s: %w", path, err)
	}
	return syms, nil
}

// validateSymbols reports the first symbol that breaks a limit of the
// universe, or a universe that is empty, too large or has a duplicate.
func validateSymbols(syms []Symbol) error {
	if len(syms) == 0 {
		return errors.New("no symbols")
	}
	if len(syms) > MaxSymbols {
		return fmt.Errorf("too many symbols: %d, at most %d", len(syms), MaxSymbols)
	}
	seen := make(map[string]bool, len(syms))
	for _, s := range syms {
		if err := s.validate(); err != nil {
			return err
		}
		if seen[s.Name] {
			return fmt.Errorf("symbol %q: listed twice", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

func (s Symbol) validate() error {
	if err := CheckSymbol(s.Name); err != nil {
		return err
	}
	switch {
	case !(s.Price > 0 && s.Price <= MaxPrice): // false for NaN
		return fmt.Errorf("symbol %q: price %v must be in (0, %v]", s.Name, s.Price, float64(MaxPrice))
	case !(s.Volatility > 0 && s.Volatility <= MaxVolatility):
		return fmt.Errorf("symbol %q: volatility %v must be in (0, %v]", s.Name, s.Volatility, MaxVolatility)
	case !(math.Abs(s.Drift) <= MaxDrift):
		return fmt.Errorf("symbol %q: drift %v must be in [-%v, %v]", s.Name, s.Drift, MaxDrift, MaxDrift)
	}
	return nil
}
