package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Grant is what a verified token entitles its holder to.
type Grant struct {
	Subject string    // the token's "sub"; may be empty
	Until   time.Time // when the token stops being accepted: its expiry plus the leeway

	all      bool            // "*"
	exact    map[string]bool // "AAPL"
	prefixes []string        // "NV*" as "NV"
}

// Allows reports whether the grant entitles to symbol, an upper-case name.
func (g *Grant) Allows(symbol string) bool {
	if g.all || g.exact[symbol] {
		return true
	}
	for _, p := range g.prefixes {
		if strings.HasPrefix(symbol, p) {
			return true
		}
	}
	return false
}

// AllowsAll reports whether the grant entitles to every symbol there is.
func (g *Grant) AllowsAll() bool { return g.all }

// Patterns returns the grant's patterns in a canonical order: "*" alone,
// or the exact names then the prefix patterns, each sorted.
func (g *Grant) Patterns() []string {
	if g.all {
		return []string{"*"}
	}
	var out []string
	for s := range g.exact {
		out = append(out, s)
	}
	slices.Sort(out)
	n := len(out)
	for _, p := range g.prefixes {
		out = append(out, p+"*")
	}
	slices.Sort(out[n:])
	return slices.Compact(out)
}

// maxPatterns and maxPatternLen bound an entitlement claim.
const (
	maxPatterns   = 1024
	maxPatternLen = 32
)

var errClaim = errors.New("not an array of symbol patterns")

// parseEntitlements reads the entitlement claim as decoded from JSON: nil
// (absent) or an array of patterns.
func parseEntitlements(claim any) (*Grant, error) {
	g := &Grant{exact: map[string]bool{}}
	if claim == nil {
		return g, nil
	}
	list, ok := claim.([]any)
	if !ok {
		return nil, errClaim
	}
	if len(list) > maxPatterns {
		return nil, fmt.Errorf("more than %d patterns", maxPatterns)
	}
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, errClaim
		}
		if err := g.add(strings.ToUpper(s)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// add records one upper-cased pattern.
func (g *Grant) add(p string) error {
	if p == "*" {
		g.all = true
		return nil
	}
	name, prefix := strings.CutSuffix(p, "*")
	if name == "" || len(name) > maxPatternLen || !symbolChars(name) {
		return fmt.Errorf("pattern %.40q is not a symbol, a symbol prefix followed by *, or *", p)
	}
	if prefix {
		g.prefixes = append(g.prefixes, name)
	} else {
		g.exact[name] = true
	}
	return nil
}

// symbolChars reports whether s has only the characters of symbol names:
// A-Z, 0-9, '.', ':' and '-'.
func symbolChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}
