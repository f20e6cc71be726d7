package feed

import (
	"fmt"
	"strings"
)

// ParseSymbolNames returns the names of the universe spec describes, for
// a server whose ticks come from outside (a publisher or a file) and so
// need no simulation parameters. It takes what [ParseSymbols] takes, and
// also bare names outside the default universe: "AAPL,ACME,NYSE:XYZ".
// Every name follows the symbol rule ([CheckSymbol]); the list is
// between 1 and [MaxSymbols] distinct names.
func ParseSymbolNames(spec string) ([]string, error) {
	if spec == "" || strings.HasPrefix(spec, "@") || strings.HasPrefix(spec, syntheticPrefix) {
		syms, err := ParseSymbols(spec)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(syms))
		for i, s := range syms {
			names[i] = s.Name
		}
		return names, nil
	}
	items := strings.Split(spec, ",")
	if len(items) > MaxSymbols {
		return nil, fmt.Errorf("too many symbols: %d, at most %d", len(items), MaxSymbols)
	}
	names := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("symbol %d: empty item", i+1)
		}
		name, params, hasParams := strings.Cut(item, "=")
		if err := CheckSymbol(name); err != nil {
			return nil, err
		}
		if hasParams {
			s, err := parseSymbolParams(name, params)
			if err != nil {
				return nil, err
			}
			if err := s.validate(); err != nil {
				return nil, err
			}
		}
		if seen[name] {
			return nil, fmt.Errorf("symbol %q: listed twice", name)
		}
		seen[name] = true
		names = append(names, name)
	}
	return names, nil
}
