package main

import (
	"fmt"
	"strings"

	"github.com/tickerd/tickerd/feed"
)

// symbolNames reads -symbols: a comma list of names, or a universe spec
// of tickerd's -symbols that names many symbols at once, synthetic:N[/SEED]
// or @file.json (see feed.ParseSymbols), so that -mode random draws each
// client's symbols from the same universe a tickerd started with that spec
// serves, 10,000 symbols without a 60 KB command line.
func symbolNames(list string) ([]string, error) {
	if !strings.HasPrefix(list, "synthetic:") && !strings.HasPrefix(list, "@") {
		return strings.Split(list, ","), nil
	}
	universe, err := feed.ParseSymbols(list)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(universe))
	for i, s := range universe {
		names[i] = s.Name
	}
	return names, nil
}

// universeError names -symbols for an error of symbolNames.
func universeError(err error) error { return fmt.Errorf("-symbols: %w", err) }
